//! `spawn_app()` and the `TestApp` handle every test drives the service through.

use std::ops::Deref;

use product_service::configuration::Settings;
use reqwest::Response;
use serde_json::{Value, json};
use sqlx::PgPool;
use testkit::http::Api;
use uuid::Uuid;

pub use testkit::http::assert_error;

/// A running product-service on a random port with its own fresh database.
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

/// Starts the real application against a new database, with the seed's demo products loaded.
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
    let app = product_service::startup::build(settings)
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
    pub async fn create_product(&self, name: &str, price_cents: i64, stock: i64) -> Value {
        let response = self
            .post_json(
                "/products",
                &json!({"name": name, "price_cents": price_cents, "stock": stock}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
        response.json().await.expect("product JSON")
    }

    pub async fn reserve(&self, reservation: Uuid, product_id: i64, quantity: i64) -> Response {
        self.put_json(
            &format!("/reservations/{reservation}"),
            &json!({"product_id": product_id, "quantity": quantity}),
        )
        .await
    }

    pub async fn release(&self, reservation: Uuid) -> Response {
        self.post_empty(&format!("/reservations/{reservation}/release"))
            .await
    }

    pub async fn stock_of(&self, product_id: i64) -> i32 {
        sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
            .bind(product_id)
            .fetch_one(&self.pool)
            .await
            .expect("read stock")
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&self.pool)
            .await
            .expect("count rows")
    }

    /// Terminates every connection the service holds to its database, as a database restart
    /// or a network fault would; returns how many there were.
    pub async fn terminate_service_connections(&self) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()) terminated",
        )
        .fetch_one(&self.pool)
        .await
        .expect("terminate the service's connections")
    }

    /// Makes the service's database vanish, as if its server were gone.
    pub async fn drop_database(&self) {
        self.pool.close().await;
        testkit::postgres::drop_database(&self.database_url).await;
    }
}
