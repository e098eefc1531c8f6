//! JetStream configurations: the `ORDERS` stream, this service's consumer, its dead-letter stream.
//!
//! order-service owns `ORDERS` and creates it with exactly [`orders_stream_config`]; this service
//! creates it too when it is missing (so that either may start first) and never changes an
//! existing one. The consumer and the dead-letter stream are this service's own: they are
//! created or updated at every start-up, so nothing is configured by hand.

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::stream::{Config, DiscardPolicy, RetentionPolicy, StorageType};

/// The stream order-service publishes its events to.
pub const ORDERS_STREAM: &str = "ORDERS";
/// Subjects are `orders.created` and `orders.cancelled`.
pub const ORDERS_SUBJECT_PREFIX: &str = "orders";
/// How long JetStream remembers a `Nats-Msg-Id` to drop a duplicate publish of it.
pub const ORDERS_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Durable name of this service's pull consumer on `ORDERS`.
pub const CONSUMER_NAME: &str = "notification-service";
/// The stream poison messages are moved to, with the reason.
pub const DEAD_LETTER_STREAM: &str = "NOTIFICATIONS_DLQ";
/// Dead letters are published to `<prefix>.<original subject>`.
pub const DEAD_LETTER_SUBJECT_PREFIX: &str = "notifications.dlq";
/// How long dead letters are kept before JetStream drops them.
pub const DEAD_LETTER_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The subjects of the orders stream for a subject prefix (default `orders`).
pub fn orders_subjects(prefix: &str) -> [String; 2] {
    [format!("{prefix}.created"), format!("{prefix}.cancelled")]
}

/// The `ORDERS` stream exactly as order-service creates it: subjects `orders.created` and
/// `orders.cancelled`, file storage, limits retention (every consumer sees every event), a
/// 2-minute duplicate window, `replicas` copies. Everything else is JetStream's default.
pub fn orders_stream_config(name: &str, subject_prefix: &str, replicas: usize) -> Config {
    Config {
        name: name.to_owned(),
        subjects: orders_subjects(subject_prefix).to_vec(),
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::Old,
        duplicate_window: ORDERS_DUPLICATE_WINDOW,
        num_replicas: replicas,
        ..Default::default()
    }
}

/// The differences that matter between an existing orders stream and the agreed
/// configuration, in words; empty when they agree. Used to warn, never to change it.
pub fn orders_stream_differences(existing: &Config, agreed: &Config) -> Vec<String> {
    let mut differences = Vec::new();
    let mut subjects = existing.subjects.clone();
    subjects.sort();
    let mut wanted = agreed.subjects.clone();
    wanted.sort();
    if subjects != wanted {
        differences.push(format!("subjects {subjects:?}, agreed {wanted:?}"));
    }
    if existing.storage != agreed.storage {
        differences.push(format!(
            "storage {:?}, agreed {:?}",
            existing.storage, agreed.storage
        ));
    }
    if existing.retention != agreed.retention {
        differences.push(format!(
            "retention {:?}, agreed {:?}",
            existing.retention, agreed.retention
        ));
    }
    if existing.duplicate_window < agreed.duplicate_window {
        differences.push(format!(
            "duplicate window {:?}, agreed at least {:?}",
            existing.duplicate_window, agreed.duplicate_window
        ));
    }
    if existing.num_replicas != agreed.num_replicas {
        differences.push(format!(
            "replicas {}, agreed {}",
            existing.num_replicas, agreed.num_replicas
        ));
    }
    differences
}

/// This service's durable pull consumer: explicit acks, every event from the start of the
/// stream, `max_deliver` deliveries, redelivery `ack_wait` after a delivery that was neither
/// acked nor nak'ed (a crashed or stuck attempt).
///
/// `max_deliver` is one more than the attempts the service makes: the extra delivery only
/// happens when the process died during its last attempt, and it dead-letters the event on
/// failure instead of JetStream silently giving up on it. Delays between attempts are the
/// service's exponential backoff, sent with each nak.
pub fn consumer_config(name: &str, attempts: u32, ack_wait: Duration) -> pull::Config {
    pull::Config {
        durable_name: Some(name.to_owned()),
        description: Some("notification-service: emails for order events".to_owned()),
        deliver_policy: DeliverPolicy::All,
        ack_policy: AckPolicy::Explicit,
        ack_wait,
        max_deliver: i64::from(attempts) + 1,
        max_ack_pending: 1_000,
        ..Default::default()
    }
}

/// The dead-letter stream: subjects `<prefix>.>`, file storage, kept 30 days, direct gets
/// allowed (the API lists it), a 2-minute duplicate window (a dead letter written twice by a
/// crash between writing it and acking the original is stored once).
pub fn dead_letter_stream_config(name: &str, subject_prefix: &str, replicas: usize) -> Config {
    Config {
        name: name.to_owned(),
        description: Some(
            "notification-service: events it could not handle, with the reason".to_owned(),
        ),
        subjects: vec![format!("{subject_prefix}.>")],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        max_age: DEAD_LETTER_MAX_AGE,
        duplicate_window: ORDERS_DUPLICATE_WINDOW,
        num_replicas: replicas,
        allow_direct: true,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_orders_stream_is_the_agreed_one() {
        let config = orders_stream_config(ORDERS_STREAM, ORDERS_SUBJECT_PREFIX, 3);
        assert_eq!(config.name, "ORDERS");
        assert_eq!(config.subjects, ["orders.created", "orders.cancelled"]);
        assert_eq!(config.storage, StorageType::File);
        assert!(config.duplicate_window >= Duration::from_secs(120));
        assert_eq!(config.num_replicas, 3);
        assert!(orders_stream_differences(&config, &config).is_empty());
        let other = Config {
            num_replicas: 1,
            storage: StorageType::Memory,
            ..config.clone()
        };
        assert_eq!(orders_stream_differences(&other, &config).len(), 2);
    }

    #[test]
    fn the_consumer_keeps_one_delivery_in_reserve() {
        let config = consumer_config(CONSUMER_NAME, 5, Duration::from_secs(30));
        assert_eq!(config.max_deliver, 6);
        assert_eq!(config.ack_policy, AckPolicy::Explicit);
    }
}
