//! Health, readiness (database and NATS), start-up stream handling, correlation IDs, unknown
//! routes, Swagger UI, the OpenAPI drift check.

use std::time::Duration;

use async_nats::jetstream::stream::{Config, StorageType};
use testkit::checks;

use crate::helpers::{Names, Options, assert_error, jetstream_for, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_answers_the_seed_body() {
    let app = spawn_app().await;
    checks::health_answers_the_seed_body(&app, "notification-service").await;
}

#[tokio::test]
async fn ready_is_200_with_a_database_and_503_without_one() {
    let app = spawn_app().await;
    checks::ready_is_200(&app).await;
    app.drop_database().await;
    checks::ready_is_503_fast(&app).await;
}

#[tokio::test]
async fn ready_is_503_broker_unavailable_fast_while_nats_is_down() {
    let nats = testkit::nats::NatsServer::start();
    let app = spawn_app_with(Options {
        nats_url: Some(nats.url().to_owned()),
        ..Options::default()
    })
    .await;
    checks::ready_is_200(&app).await;
    nats.stop();
    let started = std::time::Instant::now();
    let code = assert_error(app.get("/ready").await, 503).await;
    assert_eq!(code, "broker_unavailable");
    assert!(started.elapsed() < Duration::from_secs(3));
    let letters = app.get("/dead-letters").await;
    assert_eq!(assert_error(letters, 503).await, "broker_unavailable");
}

#[tokio::test]
async fn start_up_creates_the_orders_stream_exactly_as_agreed() {
    let app = spawn_app().await;
    let mut stream = app
        .jetstream
        .get_stream(&app.names.orders_stream)
        .await
        .expect("the orders stream exists");
    let config = stream.info().await.expect("stream info").config.clone();
    assert_eq!(
        config.subjects,
        [app.names.created(), app.names.cancelled()]
    );
    assert_eq!(config.storage, StorageType::File);
    assert_eq!(config.duplicate_window, Duration::from_secs(120));
    assert_eq!(config.num_replicas, 1);
    let consumer = stream
        .consumer_info("notification-service")
        .await
        .expect("the durable consumer exists");
    assert_eq!(consumer.config.max_deliver, 6);
    assert!(
        app.jetstream
            .get_stream(&app.names.dead_letter_stream)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_existing_orders_stream_is_left_as_it_is() {
    let names = Names::unique();
    let jetstream = jetstream_for(&testkit::nats::url()).await;
    // order-service got there first, with a memory stream (not the agreement, but its own).
    jetstream
        .create_stream(Config {
            name: names.orders_stream.clone(),
            subjects: vec![names.created(), names.cancelled()],
            storage: StorageType::Memory,
            duplicate_window: Duration::from_secs(300),
            ..Default::default()
        })
        .await
        .expect("create the stream first");
    let app = crate::helpers::spawn_named(names.clone()).await;
    let config = app
        .jetstream
        .get_stream(&names.orders_stream)
        .await
        .expect("stream")
        .cached_info()
        .config
        .clone();
    assert_eq!(config.storage, StorageType::Memory);
    assert_eq!(config.duplicate_window, Duration::from_secs(300));
}

#[tokio::test]
async fn a_supplied_correlation_id_is_echoed_and_a_missing_one_is_created() {
    let app = spawn_app().await;
    checks::correlation_ids_are_echoed_or_created(&app).await;
}

#[tokio::test]
async fn unknown_routes_get_a_json_404() {
    let app = spawn_app().await;
    checks::unknown_routes_get_a_json_404(&app).await;
}

#[tokio::test]
async fn swagger_ui_is_served() {
    let app = spawn_app().await;
    checks::swagger_ui_is_served(&app).await;
}

#[tokio::test]
async fn served_openapi_matches_the_committed_file() {
    let app = spawn_app().await;
    checks::served_openapi_matches_the_committed_file(&app, env!("CARGO_MANIFEST_DIR")).await;
}
