//! notification-service ← order-service: the two events it acts on, as the consumer reads them.

use notification_service::domain::compose;
use notification_service::events::{EventKind, OrderEvent};
use pact_consumer::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::{EMAIL_PATTERN, UUID_PATTERN, file_lock, integer, pact};

const PROVIDER: &str = "order-service";
const EVENT_ID: &str = "7d1c5a8e-2f3b-4c6d-9e0f-1a2b3c4d5e6f";
const ORDER_ID: &str = "0b5e3f9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

/// What the consumer needs of an event of `kind`: the envelope's `specversion`, `id` and
/// `type`, and in `data` the order id, the user's name and email, the product's name, the
/// quantity and the total in integer cents. Nothing else is read, so nothing else is asked for.
fn event_body(kind: &str) -> JsonPattern {
    json_pattern!({
        "specversion": "1.0",
        "id": term!(UUID_PATTERN, EVENT_ID),
        "type": kind,
        "data": {
            "order_id": term!(UUID_PATTERN, ORDER_ID),
            "user": {
                "name": like!("Alice Johnson"),
                "email": term!(EMAIL_PATTERN, "alice@example.com"),
            },
            "product": {"name": like!("Wireless Keyboard")},
            "quantity": (integer(1)),
            "total_cents": (integer(4999)),
        }
    })
}

/// The provider state's parameters: the order the event is about.
fn order_params(status: &str) -> serde_json::Value {
    json!({
        "order_id": ORDER_ID, "status": status, "user_id": 1, "user_name": "Alice Johnson",
        "user_email": "alice@example.com", "product_id": 101, "product_name": "Wireless Keyboard",
        "unit_price_cents": 4999, "quantity": 1
    })
}

/// Builds the interaction, then feeds each message it yields to the service's own decoding
/// and email composition.
fn check(description: &str, state: &str, status: &str, kind: &str, subject: &str) -> OrderEvent {
    let _guard = file_lock();
    let mut builder = pact(PROVIDER);
    builder.message_interaction(description, |mut i| {
        i.given_with_params(state, &order_params(status));
        i.metadata("contentType", "application/cloudevents+json");
        i.metadata("subject", subject);
        i.json_body(event_body(kind));
        i
    });
    let mut decoded = Vec::new();
    for message in builder.messages() {
        let body = message
            .contents
            .contents
            .value()
            .expect("the message has a body");
        decoded.push(OrderEvent::decode(&body).expect("the service decodes the message"));
    }
    assert_eq!(decoded.len(), 1);
    decoded.remove(0)
}

#[test]
fn an_order_created_event_becomes_a_confirmation_email() {
    let event = check(
        "an order.created event",
        "an order was confirmed",
        "confirmed",
        "order.created",
        "orders.created",
    );
    assert_eq!(event.kind, EventKind::Created);
    assert_eq!(event.id, Uuid::parse_str(EVENT_ID).unwrap());
    assert_eq!(event.user_email, "alice@example.com");
    let email = compose(&event);
    assert_eq!(email.subject, format!("Your order {ORDER_ID} is confirmed"));
    assert!(email.text.contains("1 x Wireless Keyboard, total 49.99"));
}

#[test]
fn an_order_cancelled_event_becomes_a_cancellation_email() {
    let event = check(
        "an order.cancelled event",
        "an order was cancelled",
        "cancelled",
        "order.cancelled",
        "orders.cancelled",
    );
    assert_eq!(event.kind, EventKind::Cancelled);
    assert_eq!(event.order_id, Uuid::parse_str(ORDER_ID).unwrap());
    let email = compose(&event);
    assert_eq!(
        email.subject,
        format!("Your order {ORDER_ID} has been cancelled")
    );
}
