//! The events this service consumes, as it sees them, and the streams they travel on.
//!
//! - [`streams`]: the `ORDERS` stream (order-service's; created here only when missing), this
//!   service's pull consumer on it and its dead-letter stream, as JetStream configurations.
//! - [`order_event`]: this service's minimal view of order-service's CloudEvents envelope.

pub mod order_event;
pub mod streams;

pub use order_event::{DecodeError, EventKind, OrderEvent};
pub use streams::{
    CONSUMER_NAME, DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECT_PREFIX, ORDERS_STREAM,
    ORDERS_SUBJECT_PREFIX,
};

/// Header carrying the event id, which JetStream uses to drop duplicate publishes.
pub const MESSAGE_ID_HEADER: &str = "Nats-Msg-Id";
/// Header carrying the correlation ID of the request that caused the event.
pub const CORRELATION_ID_HEADER: &str = "X-Correlation-ID";
