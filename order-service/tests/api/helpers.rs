//! `spawn_app()`, the `TestApp` handle, and the fakes of user-service and product-service.

use std::ops::Deref;
use std::sync::Arc;

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
    pub users: Arc<MockServer>,
    pub products: Arc<MockServer>,
    /// Stops the server as SIGTERM would.
    pub server: actix_web::dev::ServerHandle,
    /// The settings it runs with.
    pub settings: Settings,
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
///
/// The recovery worker runs every 100 ms and takes over a pending saga 100 ms after its
/// deadline, so that tests of recovery finish quickly; everything else is the default.
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
        recovery_interval_ms: 100,
        recovery_grace_ms: 100,
        release_lease_ms: 500,
        // No NATS unless a test asks for one (never a developer's own on localhost:4222):
        // events wait in the outbox.
        nats_url: dead_url().replace("http", "nats"),
        outbox_poll_interval_ms: 20,
        ..Settings::default()
    };
    adjust(&mut settings);
    start(settings, Arc::new(users), Arc::new(products)).await
}

async fn start(settings: Settings, users: Arc<MockServer>, products: Arc<MockServer>) -> TestApp {
    let app = order_service::startup::build(settings.clone())
        .await
        .expect("build the application");
    let api = Api::on_port(app.port());
    let server = app.handle();
    tokio::spawn(app.run_until_stopped());
    let pool = PgPool::connect(&settings.database_url)
        .await
        .expect("connect to the test database");
    TestApp {
        api,
        pool,
        database_url: settings.database_url.clone(),
        users,
        products,
        server,
        settings,
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

    /// Reservations succeed; expects `times` of them.
    pub async fn reservations_succeed(&self, times: impl Into<wiremock::Times>) {
        Mock::given(method("PUT"))
            .and(path_regex(r"^/reservations/[0-9a-f-]{36}$"))
            .respond_with(reservation_echo("reserved", 201))
            .expect(times)
            .mount(&self.products)
            .await;
    }

    /// Reservations succeed, each answered only after `delay`.
    pub async fn reservations_take(&self, delay: std::time::Duration) {
        Mock::given(method("PUT"))
            .and(path_regex(r"^/reservations/[0-9a-f-]{36}$"))
            .respond_with(move |request: &Request| {
                reservation_echo("reserved", 201)(request).set_delay(delay)
            })
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

    /// Releases succeed; expects `times` of them.
    pub async fn releases_succeed(&self, times: impl Into<wiremock::Times>) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/reservations/[0-9a-f-]{36}/release$"))
            .respond_with(reservation_echo("released", 200))
            .expect(times)
            .mount(&self.products)
            .await;
    }

    /// The calls of `verb` the fake product-service received.
    pub async fn product_calls(&self, verb: &str) -> Vec<Request> {
        self.products
            .received_requests()
            .await
            .expect("the fake product-service records requests")
            .into_iter()
            .filter(|r| r.method.as_str() == verb)
            .collect()
    }

    /// The calls the fake user-service received.
    pub async fn user_calls(&self) -> Vec<Request> {
        self.users
            .received_requests()
            .await
            .expect("the fake user-service records requests")
    }

    /// Waits up to `limit` for the fake product-service to have received `n` releases.
    pub async fn wait_for_releases(&self, n: usize, limit: std::time::Duration) -> Vec<Request> {
        let started = std::time::Instant::now();
        loop {
            let releases = self.product_calls("POST").await;
            if releases.len() >= n || started.elapsed() > limit {
                return releases;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Placed orders (confirmed, cancelling or cancelled) in the database.
    pub async fn order_count(&self) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM orders WHERE status IN ('confirmed', 'cancelling', 'cancelled')",
        )
        .fetch_one(&self.pool)
        .await
        .expect("count orders")
    }

    /// Sagas in `status`, whatever their outcome.
    pub async fn saga_count(&self, status: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = $1")
            .bind(status)
            .fetch_one(&self.pool)
            .await
            .expect("count sagas")
    }

    /// The only saga in the database: its status, rejection reason and whether a release is due.
    pub async fn only_saga(&self) -> (String, Option<String>, bool) {
        sqlx::query_as("SELECT status, rejection_reason, release_due FROM orders")
            .fetch_one(&self.pool)
            .await
            .expect("exactly one saga")
    }

    /// Waits up to `limit` for every saga to be settled: none pending, no release due.
    pub async fn wait_until_settled(&self, limit: std::time::Duration) -> bool {
        let started = std::time::Instant::now();
        loop {
            let due: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM orders WHERE release_due OR status = 'pending'",
            )
            .fetch_one(&self.pool)
            .await
            .expect("count unsettled sagas");
            if due == 0 {
                return true;
            }
            if started.elapsed() > limit {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Another instance of the service on the same database and fakes (a restart, or a
    /// second replica).
    pub async fn another_instance(&self) -> TestApp {
        start(
            self.settings.clone(),
            Arc::clone(&self.users),
            Arc::clone(&self.products),
        )
        .await
    }

    /// Another instance on the same database and fakes, with settings adjusted by `adjust`.
    pub async fn another_instance_with(&self, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.settings.clone();
        adjust(&mut settings);
        start(
            settings,
            Arc::clone(&self.users),
            Arc::clone(&self.products),
        )
        .await
    }

    /// The ids of the orders (sagas) in `status`.
    pub async fn order_ids(&self, status: &str) -> std::collections::HashSet<String> {
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM orders WHERE status = $1")
            .bind(status)
            .fetch_all(&self.pool)
            .await
            .expect("order ids")
            .iter()
            .map(uuid::Uuid::to_string)
            .collect()
    }

    /// A database handle of the test's own, for calling the store directly.
    pub fn store_db(&self) -> http_plumbing::db::Db {
        http_plumbing::db::Db::connect_lazy(&self.database_url, 1).expect("a database handle")
    }

    /// Places user 1's order of `quantity` units of product 101 with a correlation ID.
    pub async fn place_order_correlated(&self, quantity: i64, correlation_id: &str) -> Response {
        self.client
            .post(format!("{}/orders", self.address))
            .header("x-correlation-id", correlation_id)
            .json(&json!({"user_id": 1, "product_id": 101, "quantity": quantity}))
            .send()
            .await
            .expect("order-service answers")
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

/// A JetStream stream and subjects of one test's own, on a NATS server the tests share.
#[derive(Debug, Clone)]
pub struct EventNames {
    pub stream: String,
    pub prefix: String,
}

impl EventNames {
    pub fn unique() -> Self {
        let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        Self {
            stream: format!("ORDERS_{}", tag.to_uppercase()),
            prefix: format!("t{tag}.orders"),
        }
    }

    /// Points `settings` at NATS `url` and these names.
    pub fn apply(&self, settings: &mut Settings, url: &str) {
        settings.nats_url = url.to_owned();
        settings.orders_stream = self.stream.clone();
        settings.orders_subject_prefix = self.prefix.clone();
    }
}

/// One message read back from a stream.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub subject: String,
    pub message_id: Option<String>,
    pub correlation_id: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
}

impl StoredEvent {
    pub fn order_id(&self) -> String {
        self.body["data"]["order_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn kind(&self) -> String {
        self.body["type"].as_str().unwrap_or_default().to_owned()
    }
}

/// Every message of `stream`, in stream order (empty if the stream does not exist).
pub async fn stream_events(nats_url: &str, stream: &str) -> Vec<StoredEvent> {
    let client = async_nats::connect(nats_url)
        .await
        .expect("connect the test's NATS client");
    let jetstream = async_nats::jetstream::new(client);
    let Ok(mut stream) = jetstream.get_stream(stream).await else {
        return Vec::new();
    };
    let last = stream
        .info()
        .await
        .expect("stream info")
        .state
        .last_sequence;
    let mut events = Vec::new();
    for seq in 1..=last {
        let Ok(message) = stream.get_raw_message(seq).await else {
            continue;
        };
        let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_owned());
        events.push(StoredEvent {
            subject: message.subject.to_string(),
            message_id: header("Nats-Msg-Id"),
            correlation_id: header("X-Correlation-ID"),
            content_type: header("Content-Type"),
            body: serde_json::from_slice(&message.payload).expect("a JSON event"),
        });
    }
    events
}

/// Waits until the outbox of `app` has nothing left to publish; false if `limit` passes first.
pub async fn wait_for_empty_outbox(api: &Api, limit: std::time::Duration) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        let response = api.get("/outbox").await;
        if response.status().is_success() {
            let status: Value = response.json().await.expect("outbox JSON");
            if status["unpublished"] == 0 {
                return true;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}
