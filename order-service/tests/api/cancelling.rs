//! Cancelling orders: stock released exactly once; a dependency fault changes nothing.

use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{assert_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn cancel_releases_the_stock_and_a_second_cancel_is_harmless() {
    let app = spawn_app().await;
    let order = app.placed_order(2).await;
    let id = order["id"].as_str().unwrap();
    app.releases_succeed(1).await;
    let cancelled = app.post_empty(&format!("/orders/{id}/cancel")).await;
    assert_eq!(cancelled.status().as_u16(), 200);
    let body: Value = cancelled.json().await.unwrap();
    assert_eq!(body["status"], "cancelled");
    assert!(body["cancelled_at"].is_string());
    let again = app.post_empty(&format!("/orders/{id}/cancel")).await;
    assert_eq!(again.status().as_u16(), 200);
    let releases = app.product_calls("POST").await;
    assert_eq!(releases.len(), 1, "the stock is released once");
    assert_eq!(
        releases[0].url.path(),
        format!("/reservations/{id}/release")
    );
}

#[tokio::test]
async fn cancel_with_product_service_failing_is_accepted_and_completed_once_it_recovers() {
    let app = spawn_app_with(|s| s.request_deadline_ms = 500).await;
    let order = app.placed_order(1).await;
    let id = order["id"].as_str().unwrap();
    // product-service answers every release with a 503 for now.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&app.products)
        .await;
    let started = Instant::now();
    let accepted = app.post_empty(&format!("/orders/{id}/cancel")).await;
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(accepted.status().as_u16(), 202);
    let body: Value = accepted.json().await.unwrap();
    assert_eq!(body["status"], "cancelling");
    assert!(body["cancelled_at"].is_null());
    // Cancelling again while it is being completed changes nothing.
    assert_eq!(
        app.post_empty(&format!("/orders/{id}/cancel"))
            .await
            .status()
            .as_u16(),
        202
    );
    // product-service recovers; the recovery worker completes the release.
    app.products.reset().await;
    app.releases_succeed(1).await;
    let started = Instant::now();
    let fetched = loop {
        let fetched: Value = app
            .get(&format!("/orders/{id}"))
            .await
            .json()
            .await
            .unwrap();
        if fetched["status"] == "cancelled" || started.elapsed() > Duration::from_secs(10) {
            break fetched;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(fetched["status"], "cancelled", "{fetched}");
    assert!(fetched["cancelled_at"].is_string());
}

#[tokio::test]
async fn cancelling_an_unknown_order_is_a_404() {
    let app = spawn_app().await;
    let path = format!("/orders/{}/cancel", uuid::Uuid::new_v4());
    assert_eq!(
        assert_error(app.post_empty(&path).await, 404).await,
        "order_not_found"
    );
}
