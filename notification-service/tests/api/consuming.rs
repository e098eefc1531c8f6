//! The consumer: one email per event, to the right person, saying the right thing; duplicates
//! and redeliveries send nothing twice; one order's events keep their order.

use std::time::Duration;

use uuid::Uuid;

use crate::helpers::{event_id_of, order_event, publish, spawn_app};

const WAIT: Duration = Duration::from_secs(15);
const QUIET: Duration = Duration::from_millis(1_500);

#[tokio::test]
async fn an_order_created_event_sends_one_confirmation_to_the_user_snapshot_address() {
    let app = spawn_app().await;
    let (event_id, order_id) = (Uuid::new_v4(), Uuid::new_v4());
    app.publish_event("created", event_id, order_id, "carol@example.com")
        .await;
    app.smtp.wait_for(1, WAIT).await;
    let emails = app.smtp.settle(QUIET).await;
    assert_eq!(emails.len(), 1, "exactly one email");
    let email = &emails[0];
    assert_eq!(email.rcpt_to, ["carol@example.com"]);
    assert_eq!(
        email.header("Subject").as_deref(),
        Some(format!("Your order {order_id} is confirmed").as_str())
    );
    assert!(email.header("To").unwrap().contains("carol@example.com"));
    assert!(
        email
            .header("From")
            .unwrap()
            .contains("orders@shop.example")
    );
    assert_eq!(
        email.header("Message-ID"),
        Some(format!("<{event_id}@notification-service>"))
    );
    assert_eq!(
        email.header("X-Correlation-ID"),
        Some(format!("corr-{event_id}"))
    );
    let body = email.body();
    assert!(body.contains("Hello Alice Johnson"), "{body}");
    assert!(
        body.contains("2 x Wireless Keyboard, total 99.98"),
        "{body}"
    );
    assert_eq!(event_id_of(email), event_id.to_string());
}

#[tokio::test]
async fn an_order_cancelled_event_sends_a_cancellation_after_the_confirmation() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();
    app.publish_event("created", Uuid::new_v4(), order_id, "alice@example.com")
        .await;
    app.publish_event("cancelled", Uuid::new_v4(), order_id, "alice@example.com")
        .await;
    let emails = app.smtp.wait_for(2, WAIT).await;
    assert_eq!(
        emails[0].header("Subject"),
        Some(format!("Your order {order_id} is confirmed"))
    );
    assert_eq!(
        emails[1].header("Subject"),
        Some(format!("Your order {order_id} has been cancelled"))
    );
    assert!(emails[1].body().contains("has been cancelled"));
}

#[tokio::test]
async fn the_same_event_published_twice_sends_one_email() {
    let app = spawn_app().await;
    let (event_id, order_id) = (Uuid::new_v4(), Uuid::new_v4());
    let body = order_event("created", event_id, order_id, "alice@example.com").to_string();
    // Same Nats-Msg-Id: JetStream drops the second publish within its duplicate window.
    let id = event_id.to_string();
    assert!(
        !publish(
            &app.jetstream,
            app.names.created(),
            Some(&id),
            "c",
            body.clone().into()
        )
        .await
    );
    assert!(
        publish(
            &app.jetstream,
            app.names.created(),
            Some(&id),
            "c",
            body.clone().into()
        )
        .await
    );
    // No (or another) Nats-Msg-Id, as a relay that lost its publish ack might send: JetStream
    // stores both, and the service's record of the event id stops the second email.
    publish(
        &app.jetstream,
        app.names.created(),
        None,
        "c",
        body.clone().into(),
    )
    .await;
    publish(
        &app.jetstream,
        app.names.created(),
        Some("other-id"),
        "c",
        body.into(),
    )
    .await;
    app.smtp.wait_for(1, WAIT).await;
    let emails = app.smtp.settle(QUIET).await;
    assert_eq!(emails.len(), 1, "one email for one event");
    assert_eq!(app.notification_count().await, 1);
}

#[tokio::test]
async fn an_event_redelivered_after_a_failed_attempt_sends_one_email() {
    let app = spawn_app().await;
    // The first transaction is refused (451): the attempt fails, the message is nak'ed and
    // JetStream delivers it again after the backoff.
    app.smtp.refuse_next(1);
    let event_id = Uuid::new_v4();
    app.publish_event("created", event_id, Uuid::new_v4(), "alice@example.com")
        .await;
    app.smtp.wait_for(1, WAIT).await;
    let emails = app.smtp.settle(QUIET).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(event_id_of(&emails[0]), event_id.to_string());
}

#[tokio::test]
async fn a_cancellation_never_overtakes_a_confirmation_that_is_being_retried() {
    let app = spawn_app().await;
    // The confirmation's first attempt fails; its cancellation, right behind it in the
    // stream, must wait for it rather than go first.
    app.smtp.refuse_next(1);
    let order_id = Uuid::new_v4();
    app.publish_event("created", Uuid::new_v4(), order_id, "alice@example.com")
        .await;
    app.publish_event("cancelled", Uuid::new_v4(), order_id, "alice@example.com")
        .await;
    let emails = app.smtp.wait_for(2, WAIT).await;
    let subjects: Vec<String> = emails.iter().filter_map(|e| e.header("Subject")).collect();
    assert_eq!(
        subjects,
        [
            format!("Your order {order_id} is confirmed"),
            format!("Your order {order_id} has been cancelled")
        ]
    );
}

#[tokio::test]
async fn many_orders_each_get_their_confirmation_before_their_cancellation() {
    let app = spawn_app().await;
    let orders: Vec<Uuid> = (0..20).map(|_| Uuid::new_v4()).collect();
    for order in &orders {
        app.publish_event("created", Uuid::new_v4(), *order, "alice@example.com")
            .await;
    }
    // The next three SMTP transactions fail, whichever events they carry, so retries
    // interleave with first attempts.
    app.smtp.refuse_next(3);
    for order in &orders {
        app.publish_event("cancelled", Uuid::new_v4(), *order, "alice@example.com")
            .await;
    }
    let emails = app.smtp.wait_for(40, Duration::from_secs(30)).await;
    for order in &orders {
        let position = |word: &str| {
            emails
                .iter()
                .position(|e| e.header("Subject") == Some(format!("Your order {order} {word}")))
                .unwrap_or_else(|| panic!("no '{word}' email for {order}"))
        };
        assert!(position("is confirmed") < position("has been cancelled"));
    }
    assert_eq!(app.smtp.settle(QUIET).await.len(), 40);
}

#[tokio::test]
async fn an_event_of_a_type_it_does_not_handle_is_acked_and_ignored() {
    let app = spawn_app().await;
    let mut other = order_event(
        "created",
        Uuid::new_v4(),
        Uuid::new_v4(),
        "alice@example.com",
    );
    other["type"] = serde_json::json!("order.shipped");
    publish(
        &app.jetstream,
        app.names.created(),
        Some("shipped-1"),
        "c",
        other.to_string().into(),
    )
    .await;
    let next = Uuid::new_v4();
    app.publish_event("created", next, Uuid::new_v4(), "alice@example.com")
        .await;
    let emails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(event_id_of(&emails[0]), next.to_string());
    assert_eq!(app.smtp.settle(QUIET).await.len(), 1);
    assert_eq!(app.dead_letters().await["total"], 0, "not a poison message");
}
