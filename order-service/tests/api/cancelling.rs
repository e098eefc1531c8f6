//! Cancelling orders: stock released exactly once; a dependency fault changes nothing.

use serde_json::Value;

use crate::helpers::{assert_error, spawn_app};

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
async fn cancel_with_product_service_failing_is_a_503_and_the_order_stays_confirmed() {
    let app = spawn_app().await;
    let order = app.placed_order(1).await;
    let id = order["id"].as_str().unwrap();
    // product-service answers every release with a 503.
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(503))
        .mount(&app.products)
        .await;
    let code = assert_error(app.post_empty(&format!("/orders/{id}/cancel")).await, 503).await;
    assert_eq!(code, "product_service_unavailable");
    let fetched: Value = app
        .get(&format!("/orders/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["status"], "confirmed");
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
