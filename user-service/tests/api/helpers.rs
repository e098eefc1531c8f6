//! `spawn_app()` and the `TestApp` handle every test drives the service through.

use reqwest::{Client, Response};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgPool};
use user_service::configuration::Settings;

/// A running user-service on a random port with its own fresh database.
pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    pub database_url: String,
    pub client: Client,
}

/// Starts the real application against a new database, with the seed's demo users loaded.
pub async fn spawn_app() -> TestApp {
    telemetry::init_test_logging();
    testkit::install_crypto_provider();
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
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let pool = PgPool::connect(&database_url)
        .await
        .expect("connect to the test database");
    TestApp {
        address,
        pool,
        database_url,
        client: Client::new(),
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("send GET")
    }

    pub async fn create_user(&self, name: &str, email: &str) -> Response {
        self.post_json("/users", &json!({"name": name, "email": email}))
            .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(format!("{}{path}", self.address))
            .json(body)
            .send()
            .await
            .expect("send POST")
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .post(format!("{}{path}", self.address))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("send POST")
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
        let name = self.database_url.rsplit('/').next().expect("database name");
        let mut admin = sqlx::PgConnection::connect(&testkit::postgres::admin_url())
            .await
            .expect("connect as admin");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                r#"DROP DATABASE "{name}" WITH (FORCE)"#
            )))
            .await
            .expect("drop the database");
    }
}

/// Asserts the status and that the body is the JSON error envelope; returns its `code`.
pub async fn assert_error(response: Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "error body is {content_type}, not JSON"
    );
    let body: Value = response.json().await.expect("error body is JSON");
    let code = body["code"]
        .as_str()
        .expect("error envelope has a code")
        .to_owned();
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "error envelope has a message: {body}"
    );
    code
}
