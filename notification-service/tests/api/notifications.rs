//! `GET /notifications`: what was sent, per order, paginated; bad input and a missing database.

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn notifications_of_an_order_show_what_was_sent() {
    let app = spawn_app().await;
    let (order, other) = (Uuid::new_v4(), Uuid::new_v4());
    let (created, cancelled) = (Uuid::new_v4(), Uuid::new_v4());
    app.publish_event("created", created, order, "alice@example.com")
        .await;
    app.publish_event("created", Uuid::new_v4(), other, "bob@example.com")
        .await;
    app.publish_event("cancelled", cancelled, order, "alice@example.com")
        .await;
    app.smtp.wait_for(3, Duration::from_secs(15)).await;

    let page: Value = app
        .notifications(&format!("?order_id={order}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["limit"], 20);
    assert_eq!(page["offset"], 0);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["event_id"], created.to_string());
    assert_eq!(items[0]["event_type"], "order.created");
    assert_eq!(items[0]["recipient"], "alice@example.com");
    assert_eq!(items[0]["correlation_id"], format!("corr-{created}"));
    assert_eq!(
        items[0]["message_id"],
        format!("<{created}@notification-service>")
    );
    assert_eq!(items[1]["event_id"], cancelled.to_string());
    assert_eq!(items[1]["event_type"], "order.cancelled");

    let all: Value = app
        .notifications("?limit=1&offset=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 3);
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    let none: Value = app
        .notifications(&format!("?order_id={}", Uuid::new_v4()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn a_malformed_order_id_or_page_is_400() {
    let app = spawn_app().await;
    assert_eq!(
        assert_error(app.notifications("?order_id=42").await, 400).await,
        "invalid_query"
    );
    assert_eq!(
        assert_error(app.notifications("?limit=101").await, 400).await,
        "invalid_request"
    );
}

#[tokio::test]
async fn notifications_answer_503_not_500_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.drop_database().await;
    let started = std::time::Instant::now();
    let code = assert_error(app.notifications("").await, 503).await;
    assert_eq!(code, "database_unavailable");
    assert!(started.elapsed() < Duration::from_secs(3));
}
