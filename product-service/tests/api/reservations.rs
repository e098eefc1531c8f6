//! Reserving and releasing stock: quantity honoured, atomic, idempotent, exactly-once release.

use futures_util::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn reserve_takes_exactly_the_quantity_asked_for() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    let response = app.reserve(id, 101, 3).await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], id.to_string());
    assert_eq!(body["quantity"], 3);
    assert_eq!(body["status"], "reserved");
    assert_eq!(app.stock_of(101).await, 147);
}

#[tokio::test]
async fn a_reservation_records_the_name_and_price_the_stock_was_taken_at() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    let created: Value = app.reserve(id, 102, 2).await.json().await.unwrap();
    assert_eq!(created["product_name"], "USB-C Hub");
    assert_eq!(created["unit_price_cents"], 3499);
    // The snapshot is the reservation's own: a later change to the product leaves it alone.
    sqlx::query("UPDATE products SET name = 'USB-C Hub v2', price_cents = 3999 WHERE id = 102")
        .execute(&app.pool)
        .await
        .unwrap();
    let repeated: Value = app.reserve(id, 102, 2).await.json().await.unwrap();
    let released: Value = app.release(id).await.json().await.unwrap();
    for body in [&repeated, &released] {
        assert_eq!(body["product_name"], "USB-C Hub");
        assert_eq!(body["unit_price_cents"], 3499);
    }
}

#[tokio::test]
async fn fifty_concurrent_reservations_against_stock_10_sell_exactly_10() {
    let app = spawn_app().await;
    let product = app.create_product("Limited Edition", 1000, 10).await;
    let product_id = product["id"].as_i64().unwrap();
    let attempts = (0..50).map(|_| app.reserve(Uuid::new_v4(), product_id, 1));
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        40,
        "{statuses:?}"
    );
    assert_eq!(app.stock_of(product_id).await, 0);
    assert_eq!(app.count("reservations").await, 10);
}

#[tokio::test]
async fn thirty_concurrent_reservations_of_3_against_stock_30_sell_exactly_30_units() {
    // The seed tutorial sold 90 units from a stock of 30 in exactly this test.
    let app = spawn_app().await;
    let attempts = (0..30).map(|_| app.reserve(Uuid::new_v4(), 103, 3));
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(app.stock_of(103).await, 0);
}

#[tokio::test]
async fn repeating_a_reservation_returns_it_again_and_takes_no_more_stock() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    let first: Value = app.reserve(id, 102, 5).await.json().await.unwrap();
    let again = app.reserve(id, 102, 5).await;
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(app.stock_of(102).await, 70);
}

#[tokio::test]
async fn concurrent_repeats_of_one_reservation_take_stock_once() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    let attempts = (0..20).map(|_| app.reserve(id, 102, 5));
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(app.stock_of(102).await, 70);
}

#[tokio::test]
async fn a_repeat_still_succeeds_after_the_stock_ran_out() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    assert_eq!(app.reserve(id, 103, 30).await.status().as_u16(), 201);
    assert_eq!(app.reserve(id, 103, 30).await.status().as_u16(), 200);
    assert_eq!(app.stock_of(103).await, 0);
}

#[tokio::test]
async fn reusing_an_id_with_other_terms_is_a_409_and_changes_nothing() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    app.reserve(id, 101, 1).await;
    let code = assert_error(app.reserve(id, 101, 2).await, 409).await;
    assert_eq!(code, "reservation_conflict");
    assert_error(app.reserve(id, 102, 1).await, 409).await;
    assert_eq!(app.stock_of(101).await, 149);
    assert_eq!(app.stock_of(102).await, 75);
}

#[tokio::test]
async fn insufficient_stock_is_a_409_and_takes_nothing() {
    let app = spawn_app().await;
    let code = assert_error(app.reserve(Uuid::new_v4(), 103, 31).await, 409).await;
    assert_eq!(code, "insufficient_stock");
    assert_eq!(app.stock_of(103).await, 30);
    assert_eq!(app.count("reservations").await, 0);
}

#[tokio::test]
async fn reserving_an_unknown_product_is_a_404() {
    let app = spawn_app().await;
    let code = assert_error(app.reserve(Uuid::new_v4(), 999, 1).await, 404).await;
    assert_eq!(code, "product_not_found");
}

#[tokio::test]
async fn bad_reservation_requests_are_rejected_and_change_nothing() {
    let app = spawn_app().await;
    for quantity in [0, -5, 1001] {
        let code = assert_error(app.reserve(Uuid::new_v4(), 101, quantity).await, 422).await;
        assert_eq!(code, "invalid_input");
    }
    assert_error(app.reserve(Uuid::new_v4(), 0, 1).await, 422).await;
    let wrong_type = app
        .put_json(
            &format!("/reservations/{}", Uuid::new_v4()),
            &json!({"product_id": 101, "quantity": "3"}),
        )
        .await;
    assert_eq!(assert_error(wrong_type, 422).await, "invalid_body");
    let bad_id = app
        .put_json(
            "/reservations/not-a-uuid",
            &json!({"product_id": 101, "quantity": 1}),
        )
        .await;
    assert_eq!(assert_error(bad_id, 400).await, "invalid_path");
    assert_eq!(app.stock_of(101).await, 150);
    assert_eq!(app.count("reservations").await, 0);
}

#[tokio::test]
async fn release_gives_the_stock_back_exactly_once() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    app.reserve(id, 101, 4).await;
    assert_eq!(app.stock_of(101).await, 146);
    let first = app.release(id).await;
    assert_eq!(first.status().as_u16(), 200);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["status"], "released");
    assert!(body["released_at"].is_string());
    assert_eq!(app.release(id).await.status().as_u16(), 200);
    let concurrent = join_all((0..10).map(|_| app.release(id))).await;
    assert!(concurrent.iter().all(|r| r.status().as_u16() == 200));
    assert_eq!(app.stock_of(101).await, 150);
}

#[tokio::test]
async fn concurrent_first_releases_give_the_stock_back_once() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    app.reserve(id, 102, 10).await;
    let releases = join_all((0..20).map(|_| app.release(id))).await;
    assert!(releases.iter().all(|r| r.status().as_u16() == 200));
    assert_eq!(app.stock_of(102).await, 75);
}

#[tokio::test]
async fn releasing_an_unknown_reservation_is_a_404_and_voids_the_id() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    let code = assert_error(app.release(id).await, 404).await;
    assert_eq!(code, "reservation_not_found");
    // A reservation under the released id, arriving late, takes nothing.
    let code = assert_error(app.reserve(id, 101, 3).await, 409).await;
    assert_eq!(code, "reservation_released");
    assert_eq!(app.stock_of(101).await, 150);
    // The void id is no reservation, and releasing it again changes nothing.
    assert_error(app.get(&format!("/reservations/{id}")).await, 404).await;
    assert_eq!(
        assert_error(app.release(id).await, 404).await,
        "reservation_not_found"
    );
    assert_eq!(app.stock_of(101).await, 150);
}

#[tokio::test]
async fn a_released_reservation_cannot_be_reserved_again() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    assert_eq!(app.reserve(id, 101, 4).await.status().as_u16(), 201);
    assert_eq!(app.release(id).await.status().as_u16(), 200);
    let code = assert_error(app.reserve(id, 101, 4).await, 409).await;
    assert_eq!(code, "reservation_released");
    assert_eq!(app.stock_of(101).await, 150);
}

#[tokio::test]
async fn a_reservation_that_reaches_the_database_after_its_release_takes_nothing() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    // The reservation request is on its way but stuck: another transaction holds the row.
    let mut holder = app.pool.begin().await.unwrap();
    sqlx::query("SELECT stock FROM products WHERE id = 101 FOR UPDATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let late = tokio::spawn({
        let api = app.api.clone();
        async move {
            api.put_json(
                &format!("/reservations/{id}"),
                &serde_json::json!({"product_id": 101, "quantity": 5}),
            )
            .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Its caller gives up and releases the id: nothing is held yet, so the id becomes void.
    let code = assert_error(app.release(id).await, 404).await;
    assert_eq!(code, "reservation_not_found");
    holder.rollback().await.unwrap();
    let late = tokio::time::timeout(std::time::Duration::from_secs(10), late)
        .await
        .expect("the late reservation was answered")
        .unwrap();
    assert_eq!(assert_error(late, 409).await, "reservation_released");
    assert_eq!(app.stock_of(101).await, 150);
}

#[tokio::test]
async fn a_release_racing_an_uncommitted_reservation_waits_for_it_and_gives_its_stock_back() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    // A reservation is being made and has not committed yet.
    let mut reserving = app.pool.begin().await.unwrap();
    sqlx::query("UPDATE products SET stock = stock - 2 WHERE id = 101")
        .execute(&mut *reserving)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO reservations (id, product_id, quantity, product_name, unit_price_cents, \
         status) VALUES ($1, 101, 2, 'Wireless Keyboard', 4999, 'reserved')",
    )
    .bind(id)
    .execute(&mut *reserving)
    .await
    .unwrap();
    let release = tokio::spawn({
        let api = app.api.clone();
        async move { api.post_empty(&format!("/reservations/{id}/release")).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    reserving.commit().await.unwrap();
    let release = tokio::time::timeout(std::time::Duration::from_secs(10), release)
        .await
        .expect("the release was answered")
        .unwrap();
    assert_eq!(release.status().as_u16(), 200);
    let body: Value = release.json().await.unwrap();
    assert_eq!(body["status"], "released");
    assert_eq!(app.stock_of(101).await, 150);
}

#[tokio::test]
async fn a_reservation_can_be_looked_up() {
    let app = spawn_app().await;
    let id = Uuid::new_v4();
    let made: Value = app.reserve(id, 101, 2).await.json().await.unwrap();
    let fetched: Value = app
        .get(&format!("/reservations/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, made);
    assert_error(
        app.get(&format!("/reservations/{}", Uuid::new_v4())).await,
        404,
    )
    .await;
}
