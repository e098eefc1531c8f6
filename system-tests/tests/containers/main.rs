//! The system in containers: Postgres and the three service images on a private network.
//!
//! Needs the images `shop/<service>:$SHOP_IMAGE_TAG` (default `dev`): `cargo xtask test`
//! builds them with compose first. Without Docker or the images, every test fails and says so.

use system_tests::system;

use std::time::{Duration, Instant};

use serde_json::Value;
use system::System;
use testkit::http::assert_error;

#[tokio::test]
async fn the_seed_order_flow_works_end_to_end() {
    let system = System::start().await;
    let response = system.place_seed_order().await;
    assert_eq!(response.status().as_u16(), 201);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["user"]["name"], "Alice Johnson");
    assert_eq!(order["product"]["unit_price_cents"], 4999);
    assert_eq!(order["total_cents"], 4999);
    let id = order["id"].as_str().unwrap();
    let fetched: Value = system
        .orders()
        .await
        .get(&format!("/orders/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, order);
    let product: Value = system
        .products()
        .await
        .get("/products/101")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(product["stock"], 149);
}

/// No order was placed: the one saga begun is rejected with `reason`, and nothing else is
/// stored (a rejected saga is the saga's record, not an order: `GET /orders/{id}` says 404).
async fn assert_nothing_placed(system: &System, reason: &str) {
    assert_eq!(
        system
            .scalar(
                "orders",
                "SELECT count(*) FROM orders WHERE status <> 'rejected'"
            )
            .await,
        0,
        "an order was placed"
    );
    assert_eq!(
        system
            .texts("orders", "SELECT rejection_reason FROM orders")
            .await,
        [reason]
    );
}

#[tokio::test]
async fn product_service_down_gives_a_fast_503_leaves_nothing_behind_and_recovers() {
    let system = System::start().await;
    system.stop("product-service").await;
    let started = Instant::now();
    let code = assert_error(system.place_seed_order().await, 503).await;
    assert_eq!(code, "product_service_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "503 took {:?}",
        started.elapsed()
    );
    assert_nothing_placed(&system, "product_service_unavailable").await;
    system.restart("product-service").await;
    assert_eq!(
        system.count("products", "reservations").await,
        0,
        "no reservation is left behind"
    );
    let product: Value = system
        .products()
        .await
        .get("/products/101")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(product["stock"], 150);
    assert_eq!(system.place_seed_order().await.status().as_u16(), 201);
}

#[tokio::test]
async fn user_service_down_gives_a_fast_503_leaves_nothing_behind_and_recovers() {
    let system = System::start().await;
    system.stop("user-service").await;
    let started = Instant::now();
    let code = assert_error(system.place_seed_order().await, 503).await;
    assert_eq!(code, "user_service_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "503 took {:?}",
        started.elapsed()
    );
    assert_nothing_placed(&system, "user_service_unavailable").await;
    assert_eq!(system.count("products", "reservations").await, 0);
    system.restart("user-service").await;
    assert_eq!(system.place_seed_order().await.status().as_u16(), 201);
}

#[tokio::test]
async fn orders_survive_an_order_service_restart() {
    let system = System::start().await;
    let order: Value = system.place_seed_order().await.json().await.unwrap();
    let id = order["id"].as_str().unwrap();
    system.stop("order-service").await;
    system.restart("order-service").await;
    let fetched: Value = system
        .orders()
        .await
        .get(&format!("/orders/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, order);
    let listed: Value = system
        .orders()
        .await
        .get("/orders?user_id=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
}
