//! `spawn_app()` and the `TestApp` handle every test drives the service through: the real
//! application on a random port, a fresh database, its own streams on the shared NATS server,
//! and an SMTP sink.

use std::ops::Deref;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, Context};
use notification_service::configuration::Settings;
use reqwest::Response;
use serde_json::{Value, json};
use sqlx::PgPool;
use testkit::http::Api;
use uuid::Uuid;

pub use testkit::http::assert_error;
pub use testkit::smtp::{Received, SmtpSink};

/// The names one test's application uses, unique per test so tests sharing a NATS server
/// never see each other's events.
#[derive(Debug, Clone)]
pub struct Names {
    pub orders_stream: String,
    pub orders_prefix: String,
    pub dead_letter_stream: String,
    pub dead_letter_prefix: String,
}

impl Names {
    pub fn unique() -> Self {
        let tag = Uuid::new_v4().simple().to_string()[..10].to_owned();
        Self {
            orders_stream: format!("ORDERS_{}", tag.to_uppercase()),
            orders_prefix: format!("t{tag}.orders"),
            dead_letter_stream: format!("NOTIFICATIONS_DLQ_{}", tag.to_uppercase()),
            dead_letter_prefix: format!("t{tag}.notifications.dlq"),
        }
    }

    pub fn created(&self) -> String {
        format!("{}.created", self.orders_prefix)
    }

    pub fn cancelled(&self) -> String {
        format!("{}.cancelled", self.orders_prefix)
    }
}

/// Knobs a test may turn; everything else is the production default.
#[derive(Debug, Clone)]
pub struct Options {
    pub max_deliver: u32,
    pub backoff_ms: u64,
    pub ack_wait_ms: u64,
    /// A NATS server of the test's own instead of the shared one.
    pub nats_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_deliver: 5,
            backoff_ms: 100,
            ack_wait_ms: 5_000,
            nats_url: None,
        }
    }
}

/// The settings a test application runs with.
pub fn settings(
    database_url: &str,
    nats_url: &str,
    names: &Names,
    smtp_port: u16,
    options: &Options,
) -> Settings {
    Settings {
        host: "127.0.0.1".to_owned(),
        port: 0,
        database_url: database_url.to_owned(),
        database_max_connections: 4,
        database_connect_wait_secs: 5,
        nats_url: nats_url.to_owned(),
        nats_connect_wait_secs: 5,
        orders_stream: names.orders_stream.clone(),
        orders_subject_prefix: names.orders_prefix.clone(),
        dead_letter_stream: names.dead_letter_stream.clone(),
        dead_letter_subject_prefix: names.dead_letter_prefix.clone(),
        consumer_max_deliver: options.max_deliver,
        consumer_backoff_ms: options.backoff_ms,
        consumer_backoff_max_ms: 1_000,
        consumer_ack_wait_ms: options.ack_wait_ms,
        smtp_host: "127.0.0.1".to_owned(),
        smtp_port,
        smtp_timeout_ms: 3_000,
        ..Settings::default()
    }
}

/// A running notification-service with its own database, streams and SMTP sink.
pub struct TestApp {
    pub api: Api,
    pub pool: PgPool,
    pub database_url: String,
    pub names: Names,
    pub smtp: SmtpSink,
    pub jetstream: Context,
}

impl Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// Starts the real application with the default test options.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// Starts the real application against a new database, new streams and a new SMTP sink.
pub async fn spawn_app_with(options: Options) -> TestApp {
    spawn(options, Names::unique()).await
}

/// Starts the real application on streams of the given names (which may exist already).
pub async fn spawn_named(names: Names) -> TestApp {
    spawn(Options::default(), names).await
}

async fn spawn(options: Options, names: Names) -> TestApp {
    telemetry::init_test_logging();
    let database_url = testkit::postgres::fresh_database().await;
    let nats_url = options.nats_url.clone().unwrap_or_else(testkit::nats::url);
    let smtp = SmtpSink::start().await;
    let app = notification_service::startup::build(settings(
        &database_url,
        &nats_url,
        &names,
        smtp.port(),
        &options,
    ))
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
        names,
        smtp,
        jetstream: jetstream_for(&nats_url).await,
    }
}

/// A JetStream context of the test's own, to publish with.
pub async fn jetstream_for(nats_url: &str) -> Context {
    jetstream::new(
        async_nats::connect(nats_url)
            .await
            .expect("connect the test's NATS client"),
    )
}

/// An event of order-service's agreed format. `kind` is `created` or `cancelled`.
pub fn order_event(kind: &str, event_id: Uuid, order_id: Uuid, email: &str) -> Value {
    let cancelled = kind == "cancelled";
    json!({
        "specversion": "1.0",
        "id": event_id,
        "source": "/order-service",
        "type": format!("order.{kind}"),
        "subject": order_id,
        "time": "2026-11-26T12:00:00Z",
        "datacontenttype": "application/json",
        "data": {
            "order_id": order_id,
            "status": if cancelled { "cancelled" } else { "confirmed" },
            "user": {"id": 1, "name": "Alice Johnson", "email": email},
            "product": {"id": 101, "name": "Wireless Keyboard", "unit_price_cents": 4999},
            "quantity": 2,
            "total_cents": 9998,
            "created_at": "2026-11-26T12:00:00Z",
            "cancelled_at": if cancelled { json!("2026-11-26T12:05:00Z") } else { Value::Null },
        }
    })
}

/// Publishes raw bytes with headers to `subject` and waits for JetStream's ack; returns
/// whether JetStream reported the publish as a duplicate.
pub async fn publish(
    jetstream: &Context,
    subject: String,
    message_id: Option<&str>,
    correlation_id: &str,
    body: Vec<u8>,
) -> bool {
    let mut headers = HeaderMap::new();
    if let Some(id) = message_id {
        headers.insert("Nats-Msg-Id", id);
    }
    headers.insert("X-Correlation-ID", correlation_id);
    headers.insert("Content-Type", "application/cloudevents+json");
    jetstream
        .publish_with_headers(subject, headers, body.into())
        .await
        .expect("publish")
        .await
        .expect("JetStream acked the publish")
        .duplicate
}

impl TestApp {
    /// Publishes an order event as order-service does (`Nats-Msg-Id` = event id).
    pub async fn publish_event(&self, kind: &str, event_id: Uuid, order_id: Uuid, email: &str) {
        let subject = if kind == "cancelled" {
            self.names.cancelled()
        } else {
            self.names.created()
        };
        let body = order_event(kind, event_id, order_id, email).to_string();
        publish(
            &self.jetstream,
            subject,
            Some(&event_id.to_string()),
            &format!("corr-{event_id}"),
            body.into_bytes(),
        )
        .await;
    }

    /// Publishes arbitrary bytes to the created subject.
    pub async fn publish_raw(&self, message_id: &str, body: &[u8]) {
        publish(
            &self.jetstream,
            self.names.created(),
            Some(message_id),
            "corr-raw",
            body.to_vec(),
        )
        .await;
    }

    pub async fn notifications(&self, query: &str) -> Response {
        self.get(&format!("/notifications{query}")).await
    }

    pub async fn dead_letters(&self) -> Value {
        let response = self.get("/dead-letters").await;
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.expect("dead letters JSON")
    }

    /// Waits until the dead-letter stream holds `n` letters, or panics after `limit`.
    pub async fn wait_for_dead_letters(&self, n: usize, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let letters = self.dead_letters().await;
            if letters["items"].as_array().map_or(0, Vec::len) >= n {
                return letters;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} dead letters within {limit:?}, got {letters}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn replay(&self, id: &str) -> Response {
        self.post_empty(&format!("/dead-letters/{id}/replay")).await
    }

    pub async fn notification_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM notifications")
            .fetch_one(&self.pool)
            .await
            .expect("count notifications")
    }

    /// Makes the service's database vanish, as if its server were gone.
    pub async fn drop_database(&self) {
        self.pool.close().await;
        testkit::postgres::drop_database(&self.database_url).await;
    }
}

/// The event id an email was sent for, read from its `Message-ID`.
pub fn event_id_of(email: &Received) -> String {
    email
        .header("Message-ID")
        .expect("a Message-ID")
        .trim_start_matches('<')
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned()
}
