//! `spawn_app()` and the `TestApp` handle every test drives the service through.

use std::ops::Deref;

use reqwest::Response;
use serde_json::json;
use sqlx::PgPool;
use testkit::http::Api;
use user_service::configuration::Settings;

pub use testkit::http::assert_error;

/// A running user-service on a random port with its own fresh database.
pub struct TestApp {
    pub api: Api,
    pub pool: PgPool,
    pub database_url: String,
}

impl Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// Starts the real application against a new database, with the seed's demo users loaded.
pub async fn spawn_app() -> TestApp {
    telemetry::init_test_logging();
    let database_url = testkit::postgres::fresh_database().await;
    let settings = Settings {
        host: "127.0.0.1".to_owned(),
        port: 0,
        database_url: database_url.clone(),
        database_max_connections: 5,
        database_connect_wait_secs: 5,
        demo_data: true,
    };
    let app = user_service::startup::build(settings)
        .await
        .expect("build the application");
    let api = Api::on_port(app.port());
    tokio::spawn(app.run_until_stopped());
    let pool = PgPool::connect(&database_url)
        .await
        .expect("connect to the test database");
    TestApp {
        api,
        pool,
        database_url,
    }
}

impl TestApp {
    pub async fn create_user(&self, name: &str, email: &str) -> Response {
        self.post_json("/users", &json!({"name": name, "email": email}))
            .await
    }

    pub async fn user_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .expect("count users")
    }

    /// Makes the service's database vanish, as if its server were gone.
    pub async fn drop_database(&self) {
        self.pool.close().await;
        testkit::postgres::drop_database(&self.database_url).await;
    }
}
