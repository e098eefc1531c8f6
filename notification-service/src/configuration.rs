//! Typed settings: the defaults below, overridden by `APP_`-prefixed environment variables.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The port notification-service listens on.
pub const DEFAULT_PORT: u16 = 5004;

/// Settings of notification-service. Each field `x` is overridden by the variable `APP_X`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Address to bind (`APP_HOST`).
    pub host: String,
    /// Port to bind (`APP_PORT`); 0 picks a free port.
    pub port: u16,
    /// Postgres connection URL of this service's own database (`APP_DATABASE_URL`).
    pub database_url: String,
    /// Size of the connection pool of the HTTP workers (`APP_DATABASE_MAX_CONNECTIONS`).
    pub database_max_connections: u32,
    /// Seconds to keep retrying the database at start-up (`APP_DATABASE_CONNECT_WAIT_SECS`).
    pub database_connect_wait_secs: u64,
    /// NATS server URL(s), comma-separated (`APP_NATS_URL`).
    pub nats_url: String,
    /// Seconds to keep retrying NATS at start-up (`APP_NATS_CONNECT_WAIT_SECS`).
    pub nats_connect_wait_secs: u64,
    /// Replicas of the streams this service creates when they are missing
    /// (`APP_STREAM_REPLICAS`): 1 on one server, 3 on a three-node JetStream cluster.
    pub stream_replicas: usize,
    /// Name of order-service's event stream (`APP_ORDERS_STREAM`).
    pub orders_stream: String,
    /// First token of the event subjects, `<prefix>.created` and `<prefix>.cancelled`
    /// (`APP_ORDERS_SUBJECT_PREFIX`).
    pub orders_subject_prefix: String,
    /// Durable name of this service's pull consumer on the orders stream (`APP_CONSUMER_NAME`).
    pub consumer_name: String,
    /// Attempts per event before it is dead-lettered (`APP_CONSUMER_MAX_DELIVER`).
    pub consumer_max_deliver: u32,
    /// Milliseconds JetStream waits for an ack before it redelivers (`APP_CONSUMER_ACK_WAIT_MS`);
    /// longer than one attempt can take (the SMTP timeout plus the database's).
    pub consumer_ack_wait_ms: u64,
    /// Delay before the second attempt, doubled for each further one (`APP_CONSUMER_BACKOFF_MS`).
    pub consumer_backoff_ms: u64,
    /// Longest delay between two attempts (`APP_CONSUMER_BACKOFF_MAX_MS`).
    pub consumer_backoff_max_ms: u64,
    /// Messages pulled per request (`APP_CONSUMER_BATCH`).
    pub consumer_batch: usize,
    /// Name of the dead-letter stream (`APP_DEAD_LETTER_STREAM`).
    pub dead_letter_stream: String,
    /// Subject prefix of dead letters: `<prefix>.<original subject>` (`APP_DEAD_LETTER_SUBJECT_PREFIX`).
    pub dead_letter_subject_prefix: String,
    /// SMTP server host (`APP_SMTP_HOST`).
    pub smtp_host: String,
    /// SMTP server port (`APP_SMTP_PORT`).
    pub smtp_port: u16,
    /// `off` (plain SMTP), `starttls` or `tls` (implicit TLS) (`APP_SMTP_TLS`).
    pub smtp_tls: String,
    /// SMTP user name; empty for none (`APP_SMTP_USERNAME`).
    pub smtp_username: String,
    /// SMTP password; empty for none (`APP_SMTP_PASSWORD`).
    pub smtp_password: String,
    /// The `From` of every email, `Name <address>` or an address (`APP_SMTP_FROM`).
    pub smtp_from: String,
    /// Milliseconds one email may take, connecting included, before the attempt fails
    /// (`APP_SMTP_TIMEOUT_MS`).
    pub smtp_timeout_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".to_owned(),
            port: DEFAULT_PORT,
            database_url: "postgres://postgres:postgres@localhost:5432/notifications".to_owned(),
            database_max_connections: 4,
            database_connect_wait_secs: 30,
            nats_url: "nats://localhost:4222".to_owned(),
            nats_connect_wait_secs: 30,
            stream_replicas: 1,
            orders_stream: crate::events::ORDERS_STREAM.to_owned(),
            orders_subject_prefix: crate::events::ORDERS_SUBJECT_PREFIX.to_owned(),
            consumer_name: crate::events::CONSUMER_NAME.to_owned(),
            consumer_max_deliver: 5,
            consumer_ack_wait_ms: 30_000,
            consumer_backoff_ms: 1_000,
            consumer_backoff_max_ms: 60_000,
            consumer_batch: 16,
            dead_letter_stream: crate::events::DEAD_LETTER_STREAM.to_owned(),
            dead_letter_subject_prefix: crate::events::DEAD_LETTER_SUBJECT_PREFIX.to_owned(),
            smtp_host: "localhost".to_owned(),
            smtp_port: 1025,
            smtp_tls: "off".to_owned(),
            smtp_username: String::new(),
            smtp_password: String::new(),
            smtp_from: "Shop <orders@shop.example>".to_owned(),
            smtp_timeout_ms: 10_000,
        }
    }
}

impl Settings {
    /// The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self
            .consumer_backoff_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
        Duration::from_millis(doubled.min(self.consumer_backoff_max_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let settings = Settings {
            consumer_backoff_ms: 100,
            consumer_backoff_max_ms: 1_000,
            ..Settings::default()
        };
        let delays: Vec<u128> = (1..=6).map(|a| settings.backoff(a).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1_000, 1_000]);
    }
}
