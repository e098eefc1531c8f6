//! Poison messages: dead-lettered with their reason without holding up the rest, listed and
//! replayed through the API.

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{Options, assert_error, event_id_of, spawn_app, spawn_app_with};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn an_undecodable_message_is_dead_lettered_with_its_reason_and_later_events_still_flow() {
    let app = spawn_app().await;
    app.publish_raw("poison-1", b"{this is not json").await;
    let good = Uuid::new_v4();
    app.publish_event("created", good, Uuid::new_v4(), "alice@example.com")
        .await;
    let emails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(event_id_of(&emails[0]), good.to_string());
    let letters = app.wait_for_dead_letters(1, WAIT).await;
    assert_eq!(letters["total"], 1);
    let letter = &letters["items"][0];
    assert_eq!(letter["subject"], app.names.created());
    assert_eq!(letter["event_id"], "poison-1");
    assert_eq!(letter["correlation_id"], "corr-raw");
    assert_eq!(letter["body"], "{this is not json");
    assert_eq!(letter["deliveries"], 1, "undecodable means no retries");
    let reason = letter["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("not a CloudEvents order event"),
        "{reason}"
    );
}

#[tokio::test]
async fn an_event_the_smtp_server_keeps_refusing_is_dead_lettered_after_max_deliver_attempts() {
    let app = spawn_app_with(Options {
        max_deliver: 3,
        backoff_ms: 50,
        ..Options::default()
    })
    .await;
    app.smtp.refuse(true);
    let stuck = Uuid::new_v4();
    app.publish_event("created", stuck, Uuid::new_v4(), "alice@example.com")
        .await;
    let letters = app.wait_for_dead_letters(1, WAIT).await;
    let letter = &letters["items"][0];
    assert_eq!(letter["event_id"], stuck.to_string());
    assert_eq!(letter["deliveries"], 3);
    let reason = letter["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("gave up after 3 attempts: the SMTP server is unavailable"),
        "{reason}"
    );
    assert_eq!(app.notification_count().await, 0);
    // The consumer was not blocked: the next event goes out once SMTP is back.
    app.smtp.refuse(false);
    let next = Uuid::new_v4();
    app.publish_event("created", next, Uuid::new_v4(), "alice@example.com")
        .await;
    let emails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(event_id_of(&emails[0]), next.to_string());
}

#[tokio::test]
async fn replaying_a_dead_letter_sends_its_email_once_and_removes_it() {
    let app = spawn_app_with(Options {
        max_deliver: 2,
        backoff_ms: 50,
        ..Options::default()
    })
    .await;
    app.smtp.refuse(true);
    let event_id = Uuid::new_v4();
    let order_id = Uuid::new_v4();
    app.publish_event("created", event_id, order_id, "dave@example.com")
        .await;
    let letters = app.wait_for_dead_letters(1, WAIT).await;
    let id = letters["items"][0]["id"].as_u64().unwrap().to_string();
    app.smtp.refuse(false);

    let replayed = app.replay(&id).await;
    assert_eq!(replayed.status().as_u16(), 200);
    let body: Value = replayed.json().await.unwrap();
    assert_eq!(body["outcome"], "sent");
    let emails = app.smtp.wait_for(1, WAIT).await;
    assert_eq!(emails[0].rcpt_to, ["dave@example.com"]);
    assert_eq!(event_id_of(&emails[0]), event_id.to_string());
    assert_eq!(
        emails[0].header("X-Correlation-ID"),
        Some(format!("corr-{event_id}")),
        "the replayed email keeps the event's correlation ID"
    );
    assert_eq!(app.dead_letters().await["total"], 0);
    assert_eq!(
        assert_error(app.replay(&id).await, 404).await,
        "dead_letter_not_found"
    );
    let listed: Value = app
        .notifications(&format!("?order_id={order_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(app.smtp.settle(Duration::from_millis(500)).await.len(), 1);
}

#[tokio::test]
async fn replaying_a_dead_letter_whose_email_was_sent_meanwhile_sends_nothing() {
    let app = spawn_app_with(Options {
        max_deliver: 1,
        backoff_ms: 50,
        ..Options::default()
    })
    .await;
    app.smtp.refuse(true);
    let event_id = Uuid::new_v4();
    app.publish_event("created", event_id, Uuid::new_v4(), "alice@example.com")
        .await;
    let letters = app.wait_for_dead_letters(1, WAIT).await;
    let id = letters["items"][0]["id"].as_u64().unwrap().to_string();
    app.smtp.refuse(false);
    // The same event arrives again (published anew under another message id) and is sent.
    let body =
        crate::helpers::order_event("created", event_id, Uuid::new_v4(), "alice@example.com");
    crate::helpers::publish(
        &app.jetstream,
        app.names.created(),
        Some("again"),
        "c",
        body.to_string().into(),
    )
    .await;
    app.smtp.wait_for(1, WAIT).await;
    let replayed: Value = app.replay(&id).await.json().await.unwrap();
    assert_eq!(replayed["outcome"], "already_sent");
    assert_eq!(app.smtp.settle(Duration::from_millis(500)).await.len(), 1);
}

#[tokio::test]
async fn replaying_an_undecodable_dead_letter_answers_422_and_keeps_it() {
    let app = spawn_app().await;
    app.publish_raw("poison-2", b"[1, 2, 3]").await;
    let letters = app.wait_for_dead_letters(1, WAIT).await;
    let id = letters["items"][0]["id"].as_u64().unwrap().to_string();
    assert_eq!(
        assert_error(app.replay(&id).await, 422).await,
        "still_undeliverable"
    );
    assert_eq!(app.dead_letters().await["total"], 1);
}

#[tokio::test]
async fn replaying_while_smtp_is_down_answers_503_and_keeps_the_dead_letter() {
    let app = spawn_app_with(Options {
        max_deliver: 1,
        backoff_ms: 50,
        ..Options::default()
    })
    .await;
    app.smtp.refuse(true);
    app.publish_event(
        "created",
        Uuid::new_v4(),
        Uuid::new_v4(),
        "alice@example.com",
    )
    .await;
    let letters = app.wait_for_dead_letters(1, WAIT).await;
    let id = letters["items"][0]["id"].as_u64().unwrap().to_string();
    assert_eq!(
        assert_error(app.replay(&id).await, 503).await,
        "smtp_unavailable"
    );
    assert_eq!(app.dead_letters().await["total"], 1);
}

#[tokio::test]
async fn dead_letters_are_paginated_and_bad_ids_get_clear_errors() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.publish_raw(&format!("poison-{i}"), b"nope").await;
    }
    app.wait_for_dead_letters(3, WAIT).await;
    let page: Value = app
        .get("/dead-letters?limit=2&offset=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 3);
    assert_eq!(page["limit"], 2);
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["poison-1", "poison-2"]);
    assert_eq!(
        assert_error(app.get("/dead-letters?limit=0").await, 400).await,
        "invalid_request"
    );
    assert_eq!(
        assert_error(app.replay("abc").await, 400).await,
        "invalid_path"
    );
    assert_eq!(
        assert_error(app.replay("0").await, 400).await,
        "invalid_request"
    );
    assert_eq!(
        assert_error(app.replay("999").await, 404).await,
        "dead_letter_not_found"
    );
}

#[tokio::test]
async fn jetstream_headers_of_the_original_do_not_stop_it_being_dead_lettered() {
    let app = spawn_app().await;
    // A publisher may pin its publish to a stream; copied onto the dead letter, that
    // expectation would fail the dead-letter publish.
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", "poison-pinned");
    headers.insert("Nats-Expected-Stream", app.names.orders_stream.as_str());
    headers.insert("X-Correlation-ID", "corr-pinned");
    app.jetstream
        .publish_with_headers(app.names.created(), headers, "not json".into())
        .await
        .expect("publish")
        .await
        .expect("acked");
    let letters = app.wait_for_dead_letters(1, WAIT).await;
    assert_eq!(letters["items"][0]["event_id"], "poison-pinned");
    assert_eq!(letters["items"][0]["correlation_id"], "corr-pinned");
}

#[tokio::test]
async fn an_email_the_smtp_server_rejects_for_good_is_dead_lettered_at_once() {
    let app = spawn_app().await;
    app.smtp.reject(true);
    let rejected = Uuid::new_v4();
    app.publish_event("created", rejected, Uuid::new_v4(), "gone@example.com")
        .await;
    let letters = app.wait_for_dead_letters(1, WAIT).await;
    let letter = &letters["items"][0];
    assert_eq!(letter["event_id"], rejected.to_string());
    assert_eq!(letter["deliveries"], 1, "a 5xx is not retried");
    let reason = letter["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the SMTP server refused the message"),
        "{reason}"
    );
    assert_eq!(app.notification_count().await, 0);
}
