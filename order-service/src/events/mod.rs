//! The events order-service publishes and the stream they go to.
//!
//! - [`order_event`]: the CloudEvents 1.0 envelope of `order.created` and `order.cancelled`,
//!   built from an outbox row and its order's snapshot, and the NATS message that carries it.
//! - [`streams`]: the JetStream stream `ORDERS`, which this service owns.
//!
//! `asyncapi.json` at the crate root documents both; notification-service's message contract
//! (`contracts/notification-service-order-service.json`) is verified against what
//! [`order_event::EventMessage::from_outbox`] builds.

pub mod order_event;
pub mod streams;

pub use order_event::{EventKind, EventMessage, OrderEvent};
pub use streams::{ORDERS_STREAM, ORDERS_SUBJECT_PREFIX, orders_stream_config};

/// Header carrying the event id, which JetStream uses to drop a duplicate publish.
pub const MESSAGE_ID_HEADER: &str = "Nats-Msg-Id";
/// Header carrying the correlation ID of the request that caused the event.
pub const CORRELATION_ID_HEADER: &str = "X-Correlation-ID";
/// Header naming the body's media type.
pub const CONTENT_TYPE_HEADER: &str = "Content-Type";
/// A CloudEvents structured-mode JSON body.
pub const CLOUDEVENTS_JSON: &str = "application/cloudevents+json";
/// The CloudEvents `source` of every event of this service.
pub const SOURCE: &str = "/order-service";
