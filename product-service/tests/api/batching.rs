//! Batched statements: many lookups or reservations served by one statement give each
//! request exactly the answer it would get alone.
//!
//! The store-level tests call the batch functions directly, so the batch path is taken
//! whatever the timing; the API tests send bursts that the batchers group as load allows.

use futures_util::future::join_all;
use http_plumbing::db::Db;
use product_service::domain::{ProductId, Quantity};
use product_service::store::products::fetch_products;
use product_service::store::reservations::{ReserveRequest, Reserved, reserve_stock_batch};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

fn db(app: &TestApp) -> Db {
    Db::connect_lazy(&app.database_url, 4).expect("the test database URL is valid")
}

fn request(id: Uuid, product: i64, quantity: i64) -> ReserveRequest {
    ReserveRequest {
        id,
        product: ProductId::parse(product).unwrap(),
        quantity: Quantity::parse(quantity).unwrap(),
    }
}

/// The requests of a batch are taken in product order and, within a product, in the order
/// they came: any order is one that concurrent requests could have had.
#[tokio::test]
async fn one_batch_of_reservations_answers_each_as_if_it_were_alone() {
    let app = spawn_app().await;
    let db = db(&app);
    let earlier = Uuid::new_v4();
    assert_eq!(app.reserve(earlier, 102, 2).await.status().as_u16(), 201);
    let (first, second, third, other) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let results = reserve_stock_batch(
        db,
        vec![
            request(first, 103, 20),         // stock 30 -> 10
            request(second, 103, 15),        // only 10 left: refused
            request(third, 103, 10),         // a later, smaller request still fits: 10 -> 0
            request(first, 103, 20),         // the same id again, same terms: no more stock
            request(first, 103, 5),          // the same id with other terms
            request(Uuid::new_v4(), 999, 1), // no such product
            request(other, 101, 3),          // 150 -> 147
            request(earlier, 102, 2),        // reserved before the batch: no more stock
        ],
    )
    .await;
    let results: Vec<Reserved> = results.into_iter().map(Result::unwrap).collect();
    assert!(
        matches!(&results[0], Reserved::Created(r) if r.id == first && r.quantity == 20
            && r.product_name == "Monitor Stand" && r.unit_price_cents == 8999),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(results[1], Reserved::InsufficientStock { available: 0 }),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(&results[2], Reserved::Created(r) if r.id == third && r.quantity == 10),
        "{:?}",
        results[2]
    );
    assert!(
        matches!(&results[3], Reserved::Existing(r) if r.id == first),
        "{:?}",
        results[3]
    );
    assert!(
        matches!(&results[4], Reserved::Conflict(r) if r.id == first),
        "{:?}",
        results[4]
    );
    assert!(
        matches!(results[5], Reserved::ProductNotFound),
        "{:?}",
        results[5]
    );
    assert!(
        matches!(&results[6], Reserved::Created(r) if r.id == other && r.product_name == "Wireless Keyboard"),
        "{:?}",
        results[6]
    );
    assert!(
        matches!(&results[7], Reserved::Existing(r) if r.id == earlier),
        "{:?}",
        results[7]
    );
    assert_eq!(app.stock_of(101).await, 147);
    assert_eq!(app.stock_of(102).await, 73);
    assert_eq!(app.stock_of(103).await, 0);
    assert_eq!(app.count("reservations").await, 4);
}

#[tokio::test]
async fn concurrent_batches_over_shared_products_never_oversell() {
    let app = spawn_app().await;
    let db = db(&app);
    let mut products = Vec::new();
    for stock in [7, 11, 13] {
        let product = app.create_product("Scarce", 100, stock).await;
        products.push(product["id"].as_i64().unwrap());
    }
    // Twelve batches of ten, each naming the products in its own order, so that concurrent
    // batches ask for the same rows in different orders.
    let batches = (0..12).map(|b| {
        let requests = (0..10)
            .map(|i| {
                let product = products[(b + i) % products.len()];
                request(Uuid::new_v4(), product, 1 + (i % 2) as i64)
            })
            .collect();
        reserve_stock_batch(db.clone(), requests)
    });
    let mut taken = 0;
    for result in join_all(batches).await.into_iter().flatten() {
        match result.unwrap() {
            Reserved::Created(r) => taken += r.quantity,
            Reserved::InsufficientStock { available } => assert!(available >= 0),
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut left = 0;
    for product in &products {
        let stock = app.stock_of(*product).await;
        assert!(stock >= 0);
        left += stock;
    }
    let held: i64 = sqlx::query_scalar("SELECT coalesce(sum(quantity), 0) FROM reservations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(i64::from(taken), held);
    assert_eq!(taken + left, 7 + 11 + 13);
    // 180 units were asked for, 31 exist: at most one unit can be left over per product
    // (a request for 2 against 1 left).
    assert!(left <= 3, "{left} units left unsold");
}

#[tokio::test]
async fn one_batch_of_lookups_answers_each_id_with_its_own_product() {
    let app = spawn_app().await;
    let ids = [103, 999, 101, 103]
        .map(|id| ProductId::parse(id).unwrap())
        .to_vec();
    let found: Vec<Option<String>> = fetch_products(db(&app), ids)
        .await
        .into_iter()
        .map(|r| r.unwrap().map(|p| p.name))
        .collect();
    assert_eq!(
        found,
        [
            Some("Monitor Stand"),
            None,
            Some("Wireless Keyboard"),
            Some("Monitor Stand")
        ]
        .map(|n| n.map(str::to_owned))
    );
}

#[tokio::test]
async fn a_burst_of_lookups_gets_each_request_its_own_answer() {
    let app = spawn_app().await;
    let ids: Vec<i64> = (0..60).map(|i| [101, 102, 103, 999][i % 4]).collect();
    let paths: Vec<String> = ids.iter().map(|id| format!("/products/{id}")).collect();
    let responses = join_all(paths.iter().map(|p| app.get(p))).await;
    for (id, response) in ids.iter().zip(responses) {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if *id == 999 {
            assert_eq!(status, 404);
            assert_eq!(body["code"], "product_not_found");
        } else {
            assert_eq!(status, 200);
            assert_eq!(body["id"], *id);
        }
    }
}

#[tokio::test]
async fn a_burst_of_reservations_gets_each_request_its_own_answer() {
    let app = spawn_app().await;
    let product = app.create_product("Limited", 500, 20).await["id"]
        .as_i64()
        .unwrap();
    // 40 distinct reservations of one unit, each sent twice at once, plus 10 for no product.
    let ids: Vec<Uuid> = (0..40).map(|_| Uuid::new_v4()).collect();
    let attempts = ids
        .iter()
        .chain(&ids)
        .map(|id| app.reserve(*id, product, 1))
        .chain((0..10).map(|_| app.reserve(Uuid::new_v4(), 999, 1)));
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let (pairs, unknown) = statuses.split_at(80);
    assert!(unknown.iter().all(|s| *s == 404), "{unknown:?}");
    // Each id took stock at most once: one 201, and its twin a 200 (or both 409).
    for i in 0..40 {
        let mut pair = [pairs[i], pairs[i + 40]];
        pair.sort_unstable();
        assert!(
            matches!(pair, [200, 201] | [409, 409]),
            "reservation {i}: {pair:?}"
        );
    }
    assert_eq!(pairs.iter().filter(|s| **s == 201).count(), 20);
    assert_eq!(app.stock_of(product).await, 0);
    assert_eq!(app.count("reservations").await, 20);
}
