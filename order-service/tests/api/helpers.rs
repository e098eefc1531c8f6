//! `spawn_app()`, the `TestApp` handle, and the fakes of user-service and product-service.

use std::ops::Deref;

use order_service::configuration::Settings;
use reqwest::Response;
use serde_json::{Value, json};
use sqlx::PgPool;
use testkit::http::Api;
use wiremock::matchers::{body_partial_json, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub use testkit::http::assert_error;

/// A running order-service on a random port with its own fresh database, talking to fakes.
pub struct TestApp {
    pub api: Api,
    pub pool: PgPool,
    pub database_url: String,
    pub users: MockServer,
    pub products: MockServer,
}

impl Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// Starts the application with a 2 s downstream timeout against fresh fakes.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the application with settings adjusted by `adjust` (after the fakes' URLs are set).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    telemetry::init_test_logging();
    testkit::install_crypto_provider();
    let users = MockServer::start().await;
    let products = MockServer::start().await;
    let database_url = testkit::postgres::fresh_database().await;
    let mut settings = Settings {
        host: "127.0.0.1".to_owned(),
        port: 0,
        database_url: database_url.clone(),
        database_max_connections: 5,
        database_connect_wait_secs: 5,
        user_service_url: users.uri(),
        product_service_url: products.uri(),
        downstream_timeout_ms: 2000,
    };
    adjust(&mut settings);
    let app = order_service::startup::build(settings)
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
        users,
        products,
    }
}

/// A user-service user body.
pub fn user_body(id: i64) -> Value {
    json!({"id": id, "name": "Alice Johnson", "email": "alice@example.com", "created_at": "2026-11-26T12:00:00Z"})
}

/// A product-service product body.
fn error_body(code: &str, message: &str) -> Value {
    json!({"code": code, "message": message})
}

/// Answers a reservation request as product-service would: echoing id and quantity, with
/// product 101's name and a unit price of 4999 cents.
fn reservation_echo(status: &'static str, code: u16) -> impl Fn(&Request) -> ResponseTemplate {
    move |request: &Request| {
        let id = request
            .url
            .path()
            .split('/')
            .nth(2)
            .unwrap_or_default()
            .to_owned();
        // A release has no body; product-service then answers with the reserved terms.
        let body: Value = serde_json::from_slice(&request.body)
            .unwrap_or_else(|_| json!({"product_id": 101, "quantity": 1}));
        ResponseTemplate::new(code).set_body_json(json!({
            "id": id, "product_id": body["product_id"], "quantity": body["quantity"],
            "product_name": "Wireless Keyboard", "unit_price_cents": 4999, "status": status, "created_at": "2026-11-26T12:00:00Z", "released_at": null
        }))
    }
}

impl TestApp {
    pub async fn place_order(&self, user_id: i64, product_id: i64, quantity: i64) -> Response {
        self.post_json(
            "/orders",
            &json!({"user_id": user_id, "product_id": product_id, "quantity": quantity}),
        )
        .await
    }

    pub async fn user_exists(&self, id: i64) {
        Mock::given(method("GET"))
            .and(path(format!("/users/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(user_body(id)))
            .mount(&self.users)
            .await;
    }

    pub async fn user_is_missing(&self, id: i64) {
        Mock::given(method("GET"))
            .and(path(format!("/users/{id}")))
            .respond_with(ResponseTemplate::new(404).set_body_json(error_body(
                "user_not_found",
                &format!("user {id} does not exist"),
            )))
            .mount(&self.users)
            .await;
    }

    /// product-service has no product `id`: reservations of it are refused with a 404.
    pub async fn product_is_missing(&self, id: i64) {
        Mock::given(method("PUT"))
            .and(path_regex(r"^/reservations/"))
            .and(body_partial_json(json!({"product_id": id})))
            .respond_with(ResponseTemplate::new(404).set_body_json(error_body(
                "product_not_found",
                &format!("product {id} does not exist"),
            )))
            .mount(&self.products)
            .await;
    }

    /// Reservations succeed; expects exactly `times` of them.
    pub async fn reservations_succeed(&self, times: u64) {
        Mock::given(method("PUT"))
            .and(path_regex(r"^/reservations/[0-9a-f-]{36}$"))
            .respond_with(reservation_echo("reserved", 201))
            .expect(times)
            .mount(&self.products)
            .await;
    }

    /// Reservations are refused for lack of stock.
    pub async fn reservations_lack_stock(&self) {
        Mock::given(method("PUT"))
            .and(path_regex(r"^/reservations/"))
            .respond_with(ResponseTemplate::new(409).set_body_json(error_body(
                "insufficient_stock",
                "product 103 has 2 units in stock, 3 were requested",
            )))
            .mount(&self.products)
            .await;
    }

    /// Releases succeed; expects exactly `times` of them.
    pub async fn releases_succeed(&self, times: u64) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/reservations/[0-9a-f-]{36}/release$"))
            .respond_with(reservation_echo("released", 200))
            .expect(times)
            .mount(&self.products)
            .await;
    }

    /// The fake product-service saw no calls of `verb` at all.
    pub async fn product_calls(&self, verb: &str) -> Vec<Request> {
        self.products
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == verb)
            .collect()
    }

    pub async fn order_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM orders")
            .fetch_one(&self.pool)
            .await
            .expect("count orders")
    }

    /// Makes the service's database vanish, as if its server were gone.
    pub async fn drop_database(&self) {
        self.pool.close().await;
        testkit::postgres::drop_database(&self.database_url).await;
    }

    /// Fakes user 1, and reservations priced like product 101 (4999 cents); expects exactly
    /// `reservations` reservations.
    pub async fn seed_dependencies(&self, reservations: u64) {
        self.user_exists(1).await;
        self.reservations_succeed(reservations).await;
    }

    /// Places user 1's order of product 101 and asserts a 503 with `code`, answered within
    /// `limit`, with no order stored.
    pub async fn assert_fast_503(&self, code: &str, limit: std::time::Duration) {
        let started = std::time::Instant::now();
        assert_eq!(
            assert_error(self.place_order(1, 101, 1).await, 503).await,
            code
        );
        assert!(
            started.elapsed() < limit,
            "503 took {:?}",
            started.elapsed()
        );
        assert_eq!(self.order_count().await, 0);
    }

    /// Places a successful order of product 101 for user 1 and returns its body.
    pub async fn placed_order(&self, quantity: i64) -> Value {
        self.seed_dependencies(1).await;
        let response = self.place_order(1, 101, quantity).await;
        assert_eq!(response.status().as_u16(), 201);
        response.json().await.expect("order JSON")
    }
}

/// A base URL where nothing listens: a port bound and closed again.
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}
