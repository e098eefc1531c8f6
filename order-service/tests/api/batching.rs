//! Batched statements: sagas begun or confirmed at the same moment are written by one
//! statement, and each request still gets exactly its own outcome. The store-level tests call
//! the batch functions directly, so the batch path is taken whatever the timing; the API tests
//! send bursts that the batchers group as load allows.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use futures_util::future::join_all;
use http_plumbing::db::{Db, StoreError};
use order_service::domain::{IdempotencyKey, OrderRequest, Quantity, ResourceId};
use order_service::store::orders::{Begin, Begun, Confirmation, begin_sagas, confirm_orders};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

fn db(app: &TestApp) -> Db {
    Db::connect_lazy(&app.database_url, 2).expect("the test database URL is valid")
}

fn request(quantity: i64) -> OrderRequest {
    OrderRequest {
        user_id: ResourceId::parse(1, "user_id").unwrap(),
        product_id: ResourceId::parse(101, "product_id").unwrap(),
        quantity: Quantity::parse(quantity).unwrap(),
    }
}

fn begin(quantity: i64, key: Option<&str>, deadline: TimeDelta) -> Begin {
    Begin {
        id: Uuid::new_v4(),
        request: request(quantity),
        deadline: Utc::now() + deadline,
        key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
    }
}

fn confirmation(id: Uuid, user_name: &str, quantity: i64) -> Confirmation {
    Confirmation {
        id,
        user_name: user_name.to_owned(),
        user_email: "alice@example.com".to_owned(),
        product_name: "Wireless Keyboard".to_owned(),
        unit_price_cents: 4999,
        total_cents: 4999 * quantity,
        correlation_id: None,
    }
}

const RETENTION: TimeDelta = TimeDelta::hours(24);

#[tokio::test]
async fn one_batch_of_begins_records_each_saga_and_answers_a_taken_key_with_its_holder() {
    let app = spawn_app().await;
    let minute = TimeDelta::minutes(1);
    let begins = vec![
        begin(1, None, minute),
        begin(2, Some("key-a"), minute),
        begin(3, None, minute),
        // The same key twice in one batch: the first claims it, the second finds it taken.
        begin(2, Some("key-a"), minute),
        begin(4, Some("key-b"), minute),
    ];
    let results = begin_sagas(db(&app), begins.clone(), RETENTION).await;
    for i in [0, 1, 2, 4] {
        assert!(
            matches!(results[i], Ok(Begun::Started)),
            "{i}: {:?}",
            results[i]
        );
    }
    match &results[3] {
        Ok(Begun::KeyTaken(holder)) => {
            assert_eq!(holder.saga.id, begins[1].id);
            assert!(holder.in_flight && !holder.expired);
            assert_eq!(holder.request, begins[1].request.fingerprint());
        }
        other => panic!("the repeated key was not found taken: {other:?}"),
    }
    assert_eq!(app.saga_count("pending").await, 4);
}

#[tokio::test]
async fn one_batch_of_confirmations_answers_each_saga_with_its_own_row() {
    let app = spawn_app().await;
    let begins: Vec<Begin> = (1..=5)
        .map(|q| begin(q, None, TimeDelta::minutes(1)))
        .collect();
    let started = begin_sagas(db(&app), begins.clone(), RETENTION).await;
    assert!(started.iter().all(|r| matches!(r, Ok(Begun::Started))));
    let confirmations: Vec<Confirmation> = begins
        .iter()
        .zip(1..)
        .map(|(b, q)| confirmation(b.id, "Alice Johnson", q))
        .collect();
    let results = confirm_orders(db(&app), confirmations.clone()).await;
    for (c, result) in confirmations.iter().zip(results) {
        let order = result.unwrap().expect("confirmed");
        assert_eq!((order.id, order.total_cents), (c.id, c.total_cents));
    }
    assert_eq!(app.order_count().await, 5);
}

#[tokio::test]
async fn a_saga_past_its_deadline_is_never_confirmed() {
    let app = spawn_app().await;
    let late = begin(1, None, TimeDelta::milliseconds(-1));
    let timely = begin(1, None, TimeDelta::minutes(1));
    begin_sagas(db(&app), vec![late.clone(), timely.clone()], RETENTION).await;
    let results = confirm_orders(
        db(&app),
        vec![
            confirmation(late.id, "Alice Johnson", 1),
            confirmation(timely.id, "Alice Johnson", 1),
        ],
    )
    .await;
    assert!(matches!(results[0], Ok(None)), "{:?}", results[0]);
    assert!(matches!(results[1], Ok(Some(_))), "{:?}", results[1]);
    assert_eq!(app.order_count().await, 1);
}

#[tokio::test]
async fn one_confirmation_that_cannot_be_stored_fails_alone() {
    let app = spawn_app().await;
    // Refuses to confirm any order whose user is named `Mallory`, as a constraint would.
    sqlx::query(
        "CREATE FUNCTION refuse_mallory() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN IF NEW.user_name = 'Mallory' THEN RAISE EXCEPTION 'refused'; END IF; \
         RETURN NEW; END $$",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_mallory BEFORE UPDATE ON orders \
         FOR EACH ROW EXECUTE FUNCTION refuse_mallory()",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let begins: Vec<Begin> = (0..3)
        .map(|_| begin(1, None, TimeDelta::minutes(1)))
        .collect();
    begin_sagas(db(&app), begins.clone(), RETENTION).await;
    let results = confirm_orders(
        db(&app),
        vec![
            confirmation(begins[0].id, "Alice Johnson", 1),
            confirmation(begins[1].id, "Mallory", 1),
            confirmation(begins[2].id, "Bob Smith", 1),
        ],
    )
    .await;
    assert_eq!(
        results[0].as_ref().unwrap().as_ref().unwrap().id,
        begins[0].id
    );
    assert!(
        matches!(results[1], Err(StoreError::Query(_))),
        "{:?}",
        results[1]
    );
    assert_eq!(
        results[2].as_ref().unwrap().as_ref().unwrap().id,
        begins[2].id
    );
    assert_eq!(app.order_count().await, 2);
}

#[tokio::test]
async fn a_burst_of_orders_places_each_once_with_its_own_terms() {
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
    assert_eq!(app.saga_count("pending").await, 0);
}

#[tokio::test]
async fn when_a_burst_of_orders_cannot_be_confirmed_every_reservation_is_released() {
    let app = spawn_app().await;
    app.seed_dependencies(30).await;
    app.releases_succeed(30).await;
    // Every confirmation now fails, whether alone or in a batch; rejecting still works.
    sqlx::query(
        "ALTER TABLE orders ADD CONSTRAINT no_orders_now CHECK (status <> 'confirmed') NOT VALID",
    )
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
    let released: HashSet<String> = app
        .wait_for_releases(30, Duration::from_secs(10))
        .await
        .iter()
        .map(|r| r.url.path().trim_end_matches("/release").to_owned())
        .collect();
    let reserved: HashSet<String> = app
        .product_calls("PUT")
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(reserved.len(), 30);
    assert_eq!(released, reserved);
    assert!(app.wait_until_settled(Duration::from_secs(5)).await);
    assert_eq!(app.saga_count("rejected").await, 30);
}
