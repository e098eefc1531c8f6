//! This service's own view of order-service's events: a CloudEvents 1.0 structured-mode JSON
//! envelope, of which it reads only what an email needs (Postel's law: every other field, and
//! any field added later, is ignored).

use serde::Deserialize;
use uuid::Uuid;

/// The event types this service acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `order.created`: an order was confirmed.
    Created,
    /// `order.cancelled`: a confirmed order was cancelled.
    Cancelled,
}

impl EventKind {
    /// The CloudEvents `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "order.created",
            Self::Cancelled => "order.cancelled",
        }
    }

    /// Parses a CloudEvents `type`; `None` for a type this service does not act on.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "order.created" => Some(Self::Created),
            "order.cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// A decoded order event: exactly the fields this service uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    /// The CloudEvents `id`: the key of idempotency.
    pub id: Uuid,
    /// Created or cancelled.
    pub kind: EventKind,
    /// `data.order_id`.
    pub order_id: Uuid,
    /// `data.user.name`.
    pub user_name: String,
    /// `data.user.email`: where the email goes.
    pub user_email: String,
    /// `data.product.name`.
    pub product_name: String,
    /// `data.quantity`.
    pub quantity: i64,
    /// `data.total_cents`: integer cents.
    pub total_cents: i64,
}

/// Why a message is not an event this service can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or a required field is missing or of the wrong type.
    #[error("not a CloudEvents order event: {0}")]
    Malformed(String),
    /// A field has an impossible value.
    #[error("invalid order event: {0}")]
    Invalid(String),
    /// A well-formed event of a type this service does not act on.
    #[error("event type {0:?} is not one this service handles")]
    UnknownType(String),
}

#[derive(Deserialize)]
struct Envelope {
    specversion: String,
    id: Uuid,
    #[serde(rename = "type")]
    kind: String,
    data: serde_json::Value,
}

#[derive(Deserialize)]
struct Data {
    order_id: Uuid,
    user: User,
    product: Product,
    quantity: i64,
    total_cents: i64,
}

#[derive(Deserialize)]
struct User {
    name: String,
    email: String,
}

#[derive(Deserialize)]
struct Product {
    name: String,
}

impl OrderEvent {
    /// Decodes a message body. The type is read before `data`, so that an event of another
    /// type is reported as [`DecodeError::UnknownType`] whatever its data looks like.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let envelope: Envelope =
            serde_json::from_slice(body).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        if envelope.specversion != "1.0" {
            return Err(DecodeError::Invalid(format!(
                "specversion {:?}, expected \"1.0\"",
                envelope.specversion
            )));
        }
        let kind =
            EventKind::parse(&envelope.kind).ok_or(DecodeError::UnknownType(envelope.kind))?;
        let data: Data = serde_json::from_value(envelope.data)
            .map_err(|e| DecodeError::Malformed(format!("data: {e}")))?;
        if data.quantity < 1 {
            return Err(DecodeError::Invalid(format!(
                "quantity {} is not positive",
                data.quantity
            )));
        }
        if data.total_cents < 0 {
            return Err(DecodeError::Invalid(format!(
                "total_cents {} is negative",
                data.total_cents
            )));
        }
        Ok(Self {
            id: envelope.id,
            kind,
            order_id: data.order_id,
            user_name: data.user.name,
            user_email: data.user.email,
            product_name: data.product.name,
            quantity: data.quantity,
            total_cents: data.total_cents,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn created() -> serde_json::Value {
        json!({"specversion": "1.0", "id": "7d1c5a8e-2f3b-4c6d-9e0f-1a2b3c4d5e6f",
            "source": "/order-service", "type": "order.created",
            "subject": "0b5e3f9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "time": "2026-11-26T12:00:00Z",
            "datacontenttype": "application/json",
            "data": {"order_id": "0b5e3f9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "status": "confirmed",
                "user": {"id": 1, "name": "Alice Johnson", "email": "alice@example.com"},
                "product": {"id": 101, "name": "Wireless Keyboard", "unit_price_cents": 4999},
                "quantity": 1, "total_cents": 4999, "created_at": "2026-11-26T12:00:00Z",
                "cancelled_at": null, "a_field_added_later": true}})
    }

    #[test]
    fn the_agreed_event_decodes_and_extra_fields_are_ignored() {
        let event = OrderEvent::decode(created().to_string().as_bytes()).expect("decodes");
        assert_eq!(event.kind, EventKind::Created);
        assert_eq!(event.user_email, "alice@example.com");
        assert_eq!(event.product_name, "Wireless Keyboard");
        assert_eq!((event.quantity, event.total_cents), (1, 4999));
    }

    #[test]
    fn broken_events_are_refused_with_a_reason() {
        assert!(matches!(
            OrderEvent::decode(b"{not json"),
            Err(DecodeError::Malformed(_))
        ));
        let mut no_email = created();
        no_email["data"]["user"]
            .as_object_mut()
            .expect("user")
            .remove("email");
        assert!(matches!(
            OrderEvent::decode(no_email.to_string().as_bytes()),
            Err(DecodeError::Malformed(m)) if m.contains("email")
        ));
        let mut float_total = created();
        float_total["data"]["total_cents"] = json!(49.99);
        assert!(OrderEvent::decode(float_total.to_string().as_bytes()).is_err());
        let mut other = created();
        other["type"] = json!("order.shipped");
        assert!(matches!(
            OrderEvent::decode(other.to_string().as_bytes()),
            Err(DecodeError::UnknownType(_))
        ));
    }
}
