//! Batched inserts: orders placed at the same moment are stored by one statement, and each
//! request still gets exactly its own outcome. The store-level tests call the batch function
//! directly, so the batch path is taken whatever the timing; the API tests send bursts that
//! the batcher groups as load allows.

use std::collections::HashSet;

use futures_util::future::join_all;
use http_plumbing::db::{Db, StoreError};
use order_service::store::orders::{NewOrder, insert_orders};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

fn db(app: &TestApp) -> Db {
    Db::connect_lazy(&app.database_url, 2).expect("the test database URL is valid")
}

fn new_order(user_name: &str, quantity: i32) -> NewOrder {
    NewOrder {
        id: Uuid::new_v4(),
        user_id: 1,
        user_name: user_name.to_owned(),
        user_email: "alice@example.com".to_owned(),
        product_id: 101,
        product_name: "Wireless Keyboard".to_owned(),
        unit_price_cents: 4999,
        quantity,
        total_cents: 4999 * i64::from(quantity),
    }
}

/// Refuses to store any order whose user is named `Mallory`, as a constraint would.
async fn refuse_mallory(app: &TestApp) {
    sqlx::query(
        "CREATE FUNCTION refuse_mallory() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN IF NEW.user_name = 'Mallory' THEN RAISE EXCEPTION 'refused'; END IF; \
         RETURN NEW; END $$",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_mallory BEFORE INSERT ON orders \
         FOR EACH ROW EXECUTE FUNCTION refuse_mallory()",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn one_batch_of_inserts_answers_each_order_with_its_own_row() {
    let app = spawn_app().await;
    let orders: Vec<NewOrder> = (1..=5).map(|q| new_order("Alice Johnson", q)).collect();
    let results = insert_orders(db(&app), orders.clone()).await;
    for (order, result) in orders.iter().zip(results) {
        let row = result.unwrap();
        assert_eq!(
            (row.id, row.quantity, row.total_cents, row.status.as_str()),
            (order.id, order.quantity, order.total_cents, "confirmed")
        );
    }
    assert_eq!(app.order_count().await, 5);
}

#[tokio::test]
async fn one_order_that_cannot_be_stored_fails_alone() {
    let app = spawn_app().await;
    refuse_mallory(&app).await;
    let orders = vec![
        new_order("Alice Johnson", 1),
        new_order("Mallory", 2),
        new_order("Bob Smith", 3),
    ];
    let results = insert_orders(db(&app), orders.clone()).await;
    assert_eq!(results[0].as_ref().unwrap().id, orders[0].id);
    assert!(
        matches!(results[1], Err(StoreError::Query(_))),
        "{:?}",
        results[1]
    );
    assert_eq!(results[2].as_ref().unwrap().id, orders[2].id);
    assert_eq!(app.order_count().await, 2);
}

#[tokio::test]
async fn a_burst_of_orders_stores_each_once_with_its_own_terms() {
    let app = spawn_app().await;
    app.seed_dependencies(40).await;
    let quantities: Vec<i64> = (0..40).map(|i| 1 + i % 4).collect();
    let responses = join_all(quantities.iter().map(|q| app.place_order(1, 101, *q))).await;
    let mut ids = HashSet::new();
    for (quantity, response) in quantities.iter().zip(responses) {
        assert_eq!(response.status().as_u16(), 201);
        let order: Value = response.json().await.unwrap();
        assert_eq!(order["quantity"], *quantity);
        assert_eq!(order["total_cents"], 4999 * quantity);
        assert!(ids.insert(order["id"].as_str().unwrap().to_owned()));
    }
    assert_eq!(app.order_count().await, 40);
}

#[tokio::test]
async fn when_a_burst_of_orders_cannot_be_stored_every_reservation_is_released() {
    let app = spawn_app().await;
    app.seed_dependencies(30).await;
    app.releases_succeed(30).await;
    // Every insert now fails, whether alone or in a batch.
    sqlx::query("ALTER TABLE orders ADD CONSTRAINT no_orders_now CHECK (false) NOT VALID")
        .execute(&app.pool)
        .await
        .unwrap();
    let responses = join_all((0..30).map(|_| app.place_order(1, 101, 1))).await;
    for response in responses {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["code"], "internal_error");
    }
    assert_eq!(app.order_count().await, 0);
    let reserved: HashSet<String> = app
        .product_calls("PUT")
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    let released: HashSet<String> = app
        .product_calls("POST")
        .await
        .iter()
        .map(|r| r.url.path().trim_end_matches("/release").to_owned())
        .collect();
    assert_eq!(reserved.len(), 30);
    assert_eq!(released, reserved);
}
