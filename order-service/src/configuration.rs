//! Typed settings: the defaults below, overridden by `APP_`-prefixed environment variables.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clients::ResilienceSettings;

/// Port the seed tutorial gave the order service.
pub const DEFAULT_PORT: u16 = 5003;

/// Settings of order-service. Each field `x` is overridden by the variable `APP_X`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Address to bind (`APP_HOST`).
    pub host: String,
    /// Port to bind (`APP_PORT`); 0 picks a free port.
    pub port: u16,
    /// Postgres connection URL of this service's own database (`APP_DATABASE_URL`).
    pub database_url: String,
    /// Connections to the database in all (`APP_DATABASE_MAX_CONNECTIONS`); one of them is the
    /// recovery worker's, one the outbox relay's, the rest are split across the worker threads.
    pub database_max_connections: u32,
    /// Seconds to keep retrying the database at start-up (`APP_DATABASE_CONNECT_WAIT_SECS`).
    pub database_connect_wait_secs: u64,
    /// Base URL of user-service (`APP_USER_SERVICE_URL`).
    pub user_service_url: String,
    /// Base URL of product-service (`APP_PRODUCT_SERVICE_URL`).
    pub product_service_url: String,
    /// Placing or cancelling an order answers within this many milliseconds, retries and
    /// all (`APP_REQUEST_DEADLINE_MS`).
    pub request_deadline_ms: u64,
    /// Longest one attempt of a call to another service may take, in milliseconds
    /// (`APP_DOWNSTREAM_ATTEMPT_TIMEOUT_MS`); connecting gets at most 1 s of it.
    pub downstream_attempt_timeout_ms: u64,
    /// Retries of a call to another service after a transient failure, inside the deadline
    /// (`APP_DOWNSTREAM_RETRIES`).
    pub downstream_retries: u32,
    /// Shortest pause before a retry, in milliseconds; doubled per retry, with jitter
    /// (`APP_DOWNSTREAM_RETRY_BACKOFF_MS`).
    pub downstream_retry_backoff_ms: u64,
    /// Most calls in flight to one other service; one more is a 503 at once
    /// (`APP_DOWNSTREAM_MAX_CONCURRENT`).
    pub downstream_max_concurrent: usize,
    /// Calls the circuit breaker of each other service judges its failure rate over
    /// (`APP_BREAKER_WINDOW`).
    pub breaker_window: usize,
    /// Failure rate, 0 to 1, over the window at which a breaker opens
    /// (`APP_BREAKER_FAILURE_RATE`).
    pub breaker_failure_rate: f32,
    /// Milliseconds a breaker stays open before it lets calls through again
    /// (`APP_BREAKER_OPEN_MS`).
    pub breaker_open_ms: u64,
    /// Calls judged half-open before a breaker closes or opens again
    /// (`APP_BREAKER_HALF_OPEN_CALLS`).
    pub breaker_half_open_calls: usize,
    /// Milliseconds between rounds of the recovery worker (`APP_RECOVERY_INTERVAL_MS`).
    pub recovery_interval_ms: u64,
    /// Milliseconds past its deadline before the recovery worker rejects a pending saga
    /// (`APP_RECOVERY_GRACE_MS`).
    pub recovery_grace_ms: u64,
    /// Milliseconds a scheduled release is left to the request (or replica) that claimed it
    /// before the recovery worker may take it over (`APP_RELEASE_LEASE_MS`).
    pub release_lease_ms: u64,
    /// Hours an idempotency key is kept, at least (`APP_IDEMPOTENCY_KEY_RETENTION_HOURS`).
    pub idempotency_key_retention_hours: u64,
    /// Hours a rejected saga is kept, for inspection (`APP_REJECTED_RETENTION_HOURS`).
    pub rejected_retention_hours: u64,
    /// Seconds in-flight requests get to finish after SIGTERM (`APP_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace_secs: u64,
    /// NATS URL the outbox relay publishes to (`APP_NATS_URL`). order-service takes orders
    /// whether or not NATS is up; their events wait in the outbox meanwhile.
    pub nats_url: String,
    /// The JetStream stream of order events, which this service creates when it is missing
    /// (`APP_ORDERS_STREAM`).
    pub orders_stream: String,
    /// Events go to `<prefix>.created` and `<prefix>.cancelled`
    /// (`APP_ORDERS_SUBJECT_PREFIX`).
    pub orders_subject_prefix: String,
    /// Copies JetStream keeps of each event when this service creates the stream: 1 on one
    /// machine, 3 in a cluster (`APP_STREAM_REPLICAS`).
    pub stream_replicas: usize,
    /// Milliseconds the relay waits after a round that left nothing to publish
    /// (`APP_OUTBOX_POLL_INTERVAL_MS`).
    pub outbox_poll_interval_ms: u64,
    /// Milliseconds the relay waits for JetStream to acknowledge a publish
    /// (`APP_OUTBOX_ACK_TIMEOUT_MS`).
    pub outbox_ack_timeout_ms: u64,
    /// Hours a published event is kept in the outbox before it is pruned
    /// (`APP_OUTBOX_RETENTION_HOURS`).
    pub outbox_retention_hours: u64,
}

impl Default for Settings {
    fn default() -> Self {
        let resilience = ResilienceSettings::default();
        Self {
            host: "0.0.0.0".to_owned(),
            port: DEFAULT_PORT,
            database_url: "postgres://postgres:postgres@localhost:5432/orders".to_owned(),
            database_max_connections: 8,
            database_connect_wait_secs: 30,
            user_service_url: "http://localhost:5001".to_owned(),
            product_service_url: "http://localhost:5002".to_owned(),
            request_deadline_ms: 2000,
            downstream_attempt_timeout_ms: resilience.attempt_timeout_ms,
            downstream_retries: resilience.retries,
            downstream_retry_backoff_ms: resilience.retry_backoff_ms,
            downstream_max_concurrent: resilience.max_concurrent,
            breaker_window: resilience.breaker_window,
            breaker_failure_rate: resilience.breaker_failure_rate,
            breaker_open_ms: resilience.breaker_open_ms,
            breaker_half_open_calls: resilience.breaker_half_open_calls,
            recovery_interval_ms: 1000,
            recovery_grace_ms: 1000,
            release_lease_ms: 5000,
            idempotency_key_retention_hours: 24,
            rejected_retention_hours: 24 * 7,
            shutdown_grace_secs: 10,
            nats_url: "nats://localhost:4222".to_owned(),
            orders_stream: "ORDERS".to_owned(),
            orders_subject_prefix: "orders".to_owned(),
            stream_replicas: 1,
            outbox_poll_interval_ms: 100,
            outbox_ack_timeout_ms: 5_000,
            outbox_retention_hours: 24,
        }
    }
}

impl Settings {
    /// The resilience settings of the calls to other services.
    pub fn resilience(&self) -> ResilienceSettings {
        ResilienceSettings {
            attempt_timeout_ms: self.downstream_attempt_timeout_ms,
            retries: self.downstream_retries,
            retry_backoff_ms: self.downstream_retry_backoff_ms,
            max_concurrent: self.downstream_max_concurrent,
            breaker_window: self.breaker_window,
            breaker_failure_rate: self.breaker_failure_rate,
            breaker_open_ms: self.breaker_open_ms,
            breaker_half_open_calls: self.breaker_half_open_calls,
        }
    }

    /// The deadline of placing and cancelling orders.
    pub fn request_deadline(&self) -> Duration {
        Duration::from_millis(self.request_deadline_ms)
    }
}
