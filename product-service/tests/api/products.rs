//! Creating, fetching and listing products, and every way a request can be wrong.

use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn the_seed_demo_products_are_loaded_with_exact_prices() {
    let app = spawn_app().await;
    let expected = [
        (101, "Wireless Keyboard", 4999, 150),
        (102, "USB-C Hub", 3499, 75),
        (103, "Monitor Stand", 8999, 30),
    ];
    for (id, name, price_cents, stock) in expected {
        let product: Value = app
            .get(&format!("/products/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(product["name"], name);
        assert_eq!(product["price_cents"], price_cents);
        assert_eq!(product["stock"], stock);
    }
}

#[tokio::test]
async fn create_product_returns_201_and_the_product_can_be_fetched() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/products",
            &json!({"name": " Laptop Sleeve ", "price_cents": 1999, "stock": 40}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Laptop Sleeve");
    assert!(
        created["id"].as_i64().unwrap() > 103,
        "new ids never collide with demo ids"
    );
    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn create_product_returns_422_for_invalid_values_and_stores_nothing() {
    let app = spawn_app().await;
    let cases = [
        json!({"name": "", "price_cents": 100, "stock": 1}),
        json!({"name": "x".repeat(201), "price_cents": 100, "stock": 1}),
        json!({"name": "Pen", "price_cents": -1, "stock": 1}),
        json!({"name": "Pen", "price_cents": 100_000_001, "stock": 1}),
        json!({"name": "Pen", "price_cents": 100, "stock": -1}),
        json!({"name": "Pen", "price_cents": 100, "stock": 1_000_000_001}),
        json!({"name": "Pen", "price_cents": 49.99, "stock": 1}),
        json!({"name": "Pen", "price_cents": "100", "stock": 1}),
        json!({"name": "Pen", "stock": 1}),
    ];
    for body in cases {
        let code = assert_error(app.post_json("/products", &body).await, 422).await;
        assert!(
            code == "invalid_input" || code == "invalid_body",
            "{body}: {code}"
        );
    }
    assert_eq!(app.count("products").await, 3);
}

#[tokio::test]
async fn get_product_returns_404_for_an_unknown_id_and_400_for_a_bad_one() {
    let app = spawn_app().await;
    assert_eq!(
        assert_error(app.get("/products/999").await, 404).await,
        "product_not_found"
    );
    for bad in ["abc", "0", "-1", "99999999999999999999"] {
        assert_error(app.get(&format!("/products/{bad}")).await, 400).await;
    }
}

#[tokio::test]
async fn list_products_paginates_in_id_order() {
    let app = spawn_app().await;
    let page: Value = app.get("/products?limit=2").await.json().await.unwrap();
    assert_eq!(page["total"], 3);
    let ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [101, 102]);
    assert_error(app.get("/products?limit=1000").await, 400).await;
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_rejected_with_the_envelope() {
    let app = spawn_app().await;
    let malformed = app
        .post_raw("/products", "application/json", "{\"name\":")
        .await;
    assert_eq!(assert_error(malformed, 400).await, "malformed_json");
    let huge = json!({"name": "x".repeat(20_000), "price_cents": 1, "stock": 1});
    assert_eq!(
        assert_error(app.post_json("/products", &huge).await, 413).await,
        "payload_too_large"
    );
    assert_eq!(app.count("products").await, 3);
}
