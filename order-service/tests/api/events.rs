//! Events: confirming and cancelling orders write `order.created` and `order.cancelled` to the
//! outbox in the same statement, and the relay publishes them to a real NATS JetStream, once
//! each, one order's events in order, through broker outages and crashes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use order_service::clients::broker::{Broker, BrokerSettings, acknowledged};
use order_service::events::EventMessage;
use order_service::store::outbox;
use serde_json::Value;
use testkit::nats::NatsServer;
use uuid::Uuid;

use crate::helpers::{EventNames, TestApp, spawn_app_with, stream_events, wait_for_empty_outbox};

/// How long the broker stays down in the outage test (the figure).
const OUTAGE: Duration = Duration::from_secs(30);

async fn app_on_nats(url: &str, names: &EventNames) -> TestApp {
    let (url, names) = (url.to_owned(), names.clone());
    spawn_app_with(move |s| names.apply(s, &url)).await
}

/// Asserts every event was stored once and `ids` have exactly one event of `kind` each.
fn assert_once_each(events: &[crate::helpers::StoredEvent], kind: &str, ids: &HashSet<String>) {
    let mut message_ids = HashSet::new();
    for event in events {
        assert!(
            message_ids.insert(event.message_id.clone().expect("a Nats-Msg-Id")),
            "event {:?} is stored twice",
            event.message_id
        );
    }
    let mut per_order: HashMap<String, usize> = HashMap::new();
    for event in events.iter().filter(|e| e.kind() == kind) {
        *per_order.entry(event.order_id()).or_default() += 1;
    }
    let published: HashSet<String> = per_order.keys().cloned().collect();
    assert_eq!(
        &published,
        ids,
        "{kind}: {} orders, {} with an event; missing {:?}, unexpected {:?}",
        ids.len(),
        published.len(),
        ids.difference(&published).take(5).collect::<Vec<_>>(),
        published.difference(ids).take(5).collect::<Vec<_>>()
    );
    let twice: Vec<_> = per_order.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{kind} published more than once: {twice:?}"
    );
}

#[tokio::test]
async fn a_placed_order_publishes_one_order_created_event_with_the_agreed_envelope() {
    let url = testkit::nats::url();
    let names = EventNames::unique();
    let app = app_on_nats(&url, &names).await;
    app.seed_dependencies(1).await;
    let response = app.place_order_correlated(2, "events-test-1").await;
    assert_eq!(response.status().as_u16(), 201);
    let order: Value = response.json().await.expect("order JSON");
    assert!(wait_for_empty_outbox(&app, Duration::from_secs(10)).await);

    let events = stream_events(&url, &names.stream).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.subject, format!("{}.created", names.prefix));
    assert_eq!(event.correlation_id.as_deref(), Some("events-test-1"));
    assert_eq!(
        event.content_type.as_deref(),
        Some("application/cloudevents+json")
    );
    let body = &event.body;
    assert_eq!(event.message_id.as_deref(), body["id"].as_str());
    assert_eq!(body["specversion"], "1.0");
    assert_eq!(body["type"], "order.created");
    assert_eq!(body["source"], "/order-service");
    assert_eq!(body["subject"], order["id"]);
    assert_eq!(body["datacontenttype"], "application/json");
    assert!(body["time"].is_string());
    let data = &body["data"];
    assert_eq!(data["order_id"], order["id"]);
    assert_eq!(data["status"], "confirmed");
    assert_eq!(data["user"], order["user"]);
    assert_eq!(data["product"], order["product"]);
    assert_eq!(data["quantity"], 2);
    assert_eq!(data["total_cents"], 9998);
    assert_eq!(data["created_at"], order["created_at"]);
    assert!(data["cancelled_at"].is_null());

    let status: Value = app.get("/outbox").await.json().await.expect("JSON");
    assert_eq!(status["unpublished"], 0);
    assert!(status["oldest_unpublished_age_ms"].is_null());
}

#[tokio::test]
async fn a_cancelled_order_publishes_order_cancelled_after_its_order_created() {
    let url = testkit::nats::url();
    let names = EventNames::unique();
    let app = app_on_nats(&url, &names).await;
    let order = app.placed_order(1).await;
    let id = order["id"].as_str().expect("an id");
    app.releases_succeed(1).await;
    let cancelled = app.post_empty(&format!("/orders/{id}/cancel")).await;
    assert_eq!(cancelled.status().as_u16(), 200);
    let cancelled: Value = cancelled.json().await.expect("JSON");
    assert!(wait_for_empty_outbox(&app, Duration::from_secs(10)).await);

    let events = stream_events(&url, &names.stream).await;
    let kinds: Vec<String> = events.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, ["order.created", "order.cancelled"]);
    let cancel = &events[1];
    assert_eq!(cancel.subject, format!("{}.cancelled", names.prefix));
    assert_eq!(cancel.body["data"]["status"], "cancelled");
    assert_eq!(cancel.body["data"]["order_id"], id);
    assert_eq!(
        cancel.body["data"]["cancelled_at"],
        cancelled["cancelled_at"]
    );
    assert_ne!(cancel.message_id, events[0].message_id);

    // Both messages, exactly as published, are what asyncapi.json documents (strictly: every
    // required field there).
    let document: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/asyncapi.json"))
            .expect("read asyncapi.json"),
    )
    .expect("asyncapi.json is JSON");
    for event in &events {
        let subject = event.subject.replacen(&names.prefix, "orders", 1);
        let mut headers = serde_json::json!({
            "Nats-Msg-Id": event.message_id,
            "Content-Type": event.content_type,
        });
        if let Some(correlation_id) = &event.correlation_id {
            headers["X-Correlation-ID"] = Value::from(correlation_id.as_str());
        }
        let problems = testkit::asyncapi_check::published_message_problems(
            &document,
            &subject,
            event.content_type.as_deref().unwrap_or_default(),
            &event.body,
            &headers,
        );
        assert!(problems.is_empty(), "{subject}: {problems:#?}");
    }
}

#[tokio::test]
async fn orders_are_placed_while_nats_is_down_and_every_event_is_published_once_when_it_returns() {
    let nats = NatsServer::start();
    let names = EventNames::unique();
    let app = Arc::new(app_on_nats(nats.url(), &names).await);
    app.user_exists(1).await;
    app.reservations_succeed(..).await;
    assert_eq!(app.place_order(1, 101, 1).await.status().as_u16(), 201);
    assert!(wait_for_empty_outbox(&app, Duration::from_secs(10)).await);

    nats.stop();
    let down = Arc::new(AtomicBool::new(true));
    let (placed, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (app, down, placed, failed) = (
                Arc::clone(&app),
                Arc::clone(&down),
                Arc::clone(&placed),
                Arc::clone(&failed),
            );
            tokio::spawn(async move {
                // At most 500 orders per client, one every 50 ms or so, while NATS is down.
                for _ in 0..500 {
                    if !down.load(Ordering::Relaxed) {
                        break;
                    }
                    if app.place_order(1, 101, 1).await.status().as_u16() == 201 {
                        placed.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(OUTAGE / 2).await;
    let during: Value = app.get("/outbox").await.json().await.expect("JSON");
    assert!(during["unpublished"].as_i64().unwrap_or(0) > 0, "{during}");
    assert!(
        during["oldest_unpublished_age_ms"].as_i64().unwrap_or(0) > 1_000,
        "{during}"
    );
    tokio::time::sleep(OUTAGE / 2).await;
    down.store(false, Ordering::Relaxed);
    for client in clients {
        client.await.expect("a client");
    }
    let placed_during_outage = placed.load(Ordering::Relaxed);
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "orders failed while NATS was down"
    );
    assert!(placed_during_outage > 50, "{placed_during_outage} orders");

    let restarted = Instant::now();
    nats.restart();
    assert!(
        wait_for_empty_outbox(&app, Duration::from_secs(60)).await,
        "the backlog did not drain within 60 s of NATS returning"
    );
    let drained = restarted.elapsed();
    let events = stream_events(nats.url(), &names.stream).await;
    let confirmed = app.order_ids("confirmed").await;
    assert_eq!(confirmed.len(), placed_during_outage + 1);
    assert_once_each(&events, "order.created", &confirmed);
    eprintln!(
        "outage: {placed_during_outage} orders placed while NATS was down for {OUTAGE:?}; \
         all {} events published once, {drained:?} after NATS was restarted",
        events.len()
    );
}

#[tokio::test]
async fn an_event_published_before_a_crash_could_mark_it_is_stored_once() {
    let url = testkit::nats::url();
    let names = EventNames::unique();
    // The relay of this instance cannot reach NATS: the event waits in the outbox.
    let app = spawn_app_with(|_| {}).await;
    let order = app.placed_order(1).await;
    let id: Uuid = order["id"].as_str().expect("id").parse().expect("a UUID");
    let events = outbox::events_of_order(&app.store_db(), id)
        .await
        .expect("the outbox");
    assert_eq!(events.len(), 1);

    // A relay published it and died before marking it published: publish the same message.
    let broker = Broker::connect(BrokerSettings {
        url: url.clone(),
        stream: names.stream.clone(),
        subject_prefix: names.prefix.clone(),
        replicas: 1,
        ack_timeout: Duration::from_secs(5),
    })
    .await
    .expect("connect");
    let started = Instant::now();
    while !broker.is_connected() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "NATS unreachable"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    broker.ensure_stream().await.expect("the stream");
    let message = EventMessage::from_outbox(&events[0].event, &names.prefix);
    acknowledged(broker.send(&message).await.expect("sent"))
        .await
        .expect("acknowledged");

    // The restarted service's relay publishes it again; JetStream keeps one.
    let restarted = app.another_instance_with(|s| names.apply(s, &url)).await;
    assert!(wait_for_empty_outbox(&restarted, Duration::from_secs(10)).await);
    let stored = stream_events(&url, &names.stream).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].body, events_json(&message));
}

fn events_json(message: &EventMessage) -> Value {
    serde_json::from_slice(&message.payload).expect("JSON")
}

#[tokio::test]
async fn two_relays_never_publish_one_orders_events_out_of_order() {
    let nats = NatsServer::start();
    let names = EventNames::unique();
    let app = app_on_nats(nats.url(), &names).await;
    let second = app.another_instance().await;
    app.user_exists(1).await;
    app.reservations_succeed(..).await;
    app.releases_succeed(..).await;
    // With NATS down, every created event is written before every cancelled one: more than
    // one claim's worth, so the two relays split them between them when NATS is back.
    nats.stop();
    let mut ids = Vec::new();
    for _ in 0..300 {
        let response = app.place_order(1, 101, 1).await;
        assert_eq!(response.status().as_u16(), 201);
        let order: Value = response.json().await.expect("JSON");
        ids.push(order["id"].as_str().expect("id").to_owned());
    }
    for id in &ids {
        let response = second.post_empty(&format!("/orders/{id}/cancel")).await;
        assert_eq!(response.status().as_u16(), 200);
    }
    nats.restart();
    assert!(wait_for_empty_outbox(&app, Duration::from_secs(60)).await);

    let events = stream_events(nats.url(), &names.stream).await;
    let all: HashSet<String> = ids.iter().cloned().collect();
    assert_once_each(&events, "order.created", &all);
    assert_once_each(&events, "order.cancelled", &all);
    let mut seen_created = HashSet::new();
    for event in &events {
        if event.kind() == "order.created" {
            seen_created.insert(event.order_id());
        } else {
            assert!(
                seen_created.contains(&event.order_id()),
                "order {} was cancelled in the stream before it was created",
                event.order_id()
            );
        }
    }
}

#[tokio::test]
async fn published_events_past_their_retention_are_pruned_and_others_kept() {
    let url = testkit::nats::url();
    let names = EventNames::unique();
    let app = app_on_nats(&url, &names).await;
    app.placed_order(1).await;
    assert!(wait_for_empty_outbox(&app, Duration::from_secs(10)).await);
    let db = app.store_db();
    assert_eq!(
        outbox::prune_published(&db, TimeDelta::hours(1), 100)
            .await
            .expect("prune"),
        0,
        "a fresh event is kept"
    );
    sqlx::query("UPDATE outbox SET published_at = now() - interval '2 hours'")
        .execute(&app.pool)
        .await
        .expect("age the event");
    assert_eq!(
        outbox::prune_published(&db, TimeDelta::hours(1), 100)
            .await
            .expect("prune"),
        1
    );
}

#[tokio::test]
async fn an_orders_later_event_is_not_claimed_until_its_earlier_one_is_published() {
    // No NATS: both events wait in the outbox, as during an outage.
    let app = spawn_app_with(|_| {}).await;
    let order = app.placed_order(1).await;
    let id = order["id"].as_str().expect("id");
    app.releases_succeed(1).await;
    assert_eq!(
        app.post_empty(&format!("/orders/{id}/cancel"))
            .await
            .status()
            .as_u16(),
        200
    );
    // Keep the service's own relay out of the way: its claims would race the test's.
    app.server.stop(false).await;
    let (db, other) = (app.store_db(), app.store_db());

    let first = outbox::relay_batch(&db, 10, async |events| {
        let kinds: Vec<&str> = events.iter().map(|e| e.event.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["order.created"],
            "only the earlier event is claimable"
        );
        // A second replica meanwhile does not relay: this one holds the relay's lock.
        let second = outbox::relay_batch(&other, 10, async |events| (Vec::new(), events.len()))
            .await
            .expect("a concurrent batch");
        assert!(second.is_none(), "two relays ran at once");
        // Published (acknowledged), the created event is marked in this batch.
        (vec![events[0].seq], ())
    })
    .await
    .expect("a batch")
    .expect("the relay's lock");
    assert_eq!((first.claimed, first.published), (1, 1));

    let next = outbox::relay_batch(&db, 10, async |events| {
        let kinds: Vec<String> = events
            .iter()
            .map(|e| e.event.kind.as_str().to_owned())
            .collect();
        (Vec::new(), kinds)
    })
    .await
    .expect("a batch")
    .expect("the relay's lock");
    assert_eq!(next.outcome, ["order.cancelled"]);
}
