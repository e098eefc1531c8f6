//! The JetStream stream `ORDERS`, which order-service owns: it creates it at start-up (or when
//! NATS first answers) with exactly [`orders_stream_config`], the configuration agreed with
//! notification-service (which creates it too when it is missing, and never changes it).

use std::time::Duration;

use async_nats::jetstream::stream::{Config, DiscardPolicy, RetentionPolicy, StorageType};

/// The stream order-service publishes its events to.
pub const ORDERS_STREAM: &str = "ORDERS";
/// Subjects are `orders.created` and `orders.cancelled`.
pub const ORDERS_SUBJECT_PREFIX: &str = "orders";
/// How long JetStream remembers a `Nats-Msg-Id` to drop a duplicate publish of it.
pub const ORDERS_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// The `ORDERS` stream: subjects `<prefix>.created` and `<prefix>.cancelled`, file storage,
/// limits retention (every consumer sees every event), a 2-minute duplicate window,
/// `replicas` copies. Everything else is JetStream's default.
pub fn orders_stream_config(name: &str, subject_prefix: &str, replicas: usize) -> Config {
    Config {
        name: name.to_owned(),
        description: Some("order-service: order.created and order.cancelled events".to_owned()),
        subjects: vec![
            format!("{subject_prefix}.created"),
            format!("{subject_prefix}.cancelled"),
        ],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::Old,
        duplicate_window: ORDERS_DUPLICATE_WINDOW,
        num_replicas: replicas,
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
        assert_eq!(config.retention, RetentionPolicy::Limits);
        assert_eq!(config.duplicate_window, Duration::from_secs(120));
        assert_eq!(config.num_replicas, 3);
    }
}
