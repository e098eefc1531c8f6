//! `order.created` and `order.cancelled`: CloudEvents 1.0 in structured-mode JSON, and the NATS
//! message that carries one. The relay publishes exactly what [`EventMessage::from_outbox`]
//! builds, and the message-contract verification checks exactly that.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{
    CLOUDEVENTS_JSON, CONTENT_TYPE_HEADER, CORRELATION_ID_HEADER, MESSAGE_ID_HEADER, SOURCE,
};

/// What happened to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `order.created`: the order was confirmed (placed).
    Created,
    /// `order.cancelled`: the placed order was cancelled and its stock given back.
    Cancelled,
}

impl EventKind {
    /// The CloudEvents `type`, as stored in the outbox.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "order.created",
            Self::Cancelled => "order.cancelled",
        }
    }

    /// The last part of the NATS subject: `<prefix>.created` or `<prefix>.cancelled`.
    pub fn subject_suffix(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Cancelled => "cancelled",
        }
    }

    /// The order's status the event announces.
    fn status(self) -> &'static str {
        match self {
            Self::Created => "confirmed",
            Self::Cancelled => "cancelled",
        }
    }
}

impl TryFrom<String> for EventKind {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        match raw.as_str() {
            "order.created" => Ok(Self::Created),
            "order.cancelled" => Ok(Self::Cancelled),
            _ => Err(format!("unknown event type {raw:?}")),
        }
    }
}

/// One event of the outbox with the snapshot of its order: everything its message needs.
///
/// The snapshot never changes once an order is placed; the status and cancellation time the
/// event announces follow from its kind and [`OrderEvent::occurred_at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    /// The event id: CloudEvents `id` and `Nats-Msg-Id`.
    pub id: Uuid,
    /// Created or cancelled.
    pub kind: EventKind,
    /// When the change committed: CloudEvents `time`.
    pub occurred_at: DateTime<Utc>,
    /// The correlation ID of the request that caused it, if a request did.
    pub correlation_id: Option<String>,
    /// The order.
    pub order_id: Uuid,
    /// Who ordered.
    pub user_id: i64,
    /// The user's name when the order was placed.
    pub user_name: String,
    /// The user's email when the order was placed: where a notification goes.
    pub user_email: String,
    /// What was ordered.
    pub product_id: i64,
    /// The product's name when the order was placed.
    pub product_name: String,
    /// The unit price, in cents, the stock was reserved at.
    pub unit_price_cents: i64,
    /// Units ordered.
    pub quantity: i32,
    /// `unit_price_cents × quantity`, in cents.
    pub total_cents: i64,
    /// When the order was placed.
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    specversion: &'static str,
    id: Uuid,
    source: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    subject: String,
    time: DateTime<Utc>,
    datacontenttype: &'static str,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    order_id: Uuid,
    status: &'static str,
    user: User<'a>,
    product: Product<'a>,
    quantity: i32,
    total_cents: i64,
    created_at: DateTime<Utc>,
    cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct User<'a> {
    id: i64,
    name: &'a str,
    email: &'a str,
}

#[derive(Serialize)]
struct Product<'a> {
    id: i64,
    name: &'a str,
    unit_price_cents: i64,
}

impl OrderEvent {
    /// The CloudEvents envelope as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.envelope()).unwrap_or_else(|e| {
            // Every field is a plain string, number or timestamp: this cannot fail.
            unreachable!("an order event always serialises: {e}")
        })
    }

    /// The CloudEvents envelope as the bytes of a message body, serialised once.
    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.envelope())
            .unwrap_or_else(|e| unreachable!("an order event always serialises: {e}"))
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            specversion: "1.0",
            id: self.id,
            source: SOURCE,
            kind: self.kind.as_str(),
            subject: self.order_id.to_string(),
            time: self.occurred_at,
            datacontenttype: "application/json",
            data: Data {
                order_id: self.order_id,
                status: self.kind.status(),
                user: User {
                    id: self.user_id,
                    name: &self.user_name,
                    email: &self.user_email,
                },
                product: Product {
                    id: self.product_id,
                    name: &self.product_name,
                    unit_price_cents: self.unit_price_cents,
                },
                quantity: self.quantity,
                total_cents: self.total_cents,
                created_at: self.created_at,
                cancelled_at: match self.kind {
                    EventKind::Created => None,
                    EventKind::Cancelled => Some(self.occurred_at),
                },
            },
        }
    }
}

/// A NATS message carrying one event: its subject, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMessage {
    /// `<prefix>.created` or `<prefix>.cancelled`.
    pub subject: String,
    /// `Nats-Msg-Id` (the event id), `Content-Type`, and `X-Correlation-ID` when known.
    pub headers: Vec<(&'static str, String)>,
    /// The CloudEvents JSON.
    pub payload: Bytes,
}

impl EventMessage {
    /// The message the relay publishes for `event`, on the subjects under `subject_prefix`.
    pub fn from_outbox(event: &OrderEvent, subject_prefix: &str) -> Self {
        let mut headers = vec![
            (MESSAGE_ID_HEADER, event.id.to_string()),
            (CONTENT_TYPE_HEADER, CLOUDEVENTS_JSON.to_owned()),
        ];
        if let Some(correlation_id) = &event.correlation_id {
            headers.push((CORRELATION_ID_HEADER, correlation_id.clone()));
        }
        Self {
            subject: format!("{subject_prefix}.{}", event.kind.subject_suffix()),
            headers,
            payload: Bytes::from(event.to_bytes()),
        }
    }

    /// The value of header `name`, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> OrderEvent {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("a time");
        OrderEvent {
            id: Uuid::nil(),
            kind,
            occurred_at: at("2026-12-03T12:00:05Z"),
            correlation_id: Some("abc".to_owned()),
            order_id: Uuid::from_u128(7),
            user_id: 1,
            user_name: "Alice Johnson".to_owned(),
            user_email: "alice@example.com".to_owned(),
            product_id: 101,
            product_name: "Wireless Keyboard".to_owned(),
            unit_price_cents: 4999,
            quantity: 2,
            total_cents: 9998,
            created_at: at("2026-12-03T12:00:00Z"),
        }
    }

    #[test]
    fn a_created_event_is_a_cloudevent_with_the_order_snapshot() {
        let json = event(EventKind::Created).to_json();
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "order.created");
        assert_eq!(json["source"], "/order-service");
        assert_eq!(json["subject"], Uuid::from_u128(7).to_string());
        assert_eq!(json["data"]["status"], "confirmed");
        assert_eq!(json["data"]["user"]["email"], "alice@example.com");
        assert_eq!(json["data"]["total_cents"], 9998);
        assert!(json["data"]["total_cents"].is_i64());
        assert!(json["data"]["cancelled_at"].is_null());
    }

    #[test]
    fn a_cancelled_event_says_when_and_goes_to_its_own_subject() {
        let message = EventMessage::from_outbox(&event(EventKind::Cancelled), "orders");
        assert_eq!(message.subject, "orders.cancelled");
        assert_eq!(
            message.header("nats-msg-id"),
            Some(&*Uuid::nil().to_string())
        );
        assert_eq!(message.header("X-Correlation-ID"), Some("abc"));
        let json: serde_json::Value = serde_json::from_slice(&message.payload).expect("JSON");
        assert_eq!(json["data"]["status"], "cancelled");
        assert_eq!(json["data"]["cancelled_at"], "2026-12-03T12:00:05Z");
    }
}
