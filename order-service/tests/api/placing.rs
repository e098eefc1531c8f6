//! Placing orders: the happy path, every refusal, dependency faults and compensation.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{assert_error, dead_url, spawn_app, spawn_app_with};

#[tokio::test]
async fn the_seed_order_is_placed_with_snapshots_and_an_exact_total() {
    let app = spawn_app().await;
    app.seed_dependencies(1).await;
    let response = app.place_order(1, 101, 1).await;
    assert_eq!(response.status().as_u16(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "confirmed");
    assert_eq!(
        order["user"],
        json!({"id": 1, "name": "Alice Johnson", "email": "alice@example.com"})
    );
    assert_eq!(
        order["product"],
        json!({"id": 101, "name": "Wireless Keyboard", "unit_price_cents": 4999})
    );
    assert_eq!(order["quantity"], 1);
    assert_eq!(order["total_cents"], 4999);
    assert_eq!(
        location,
        format!("/orders/{}", order["id"].as_str().unwrap())
    );
    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, order);
}

#[tokio::test]
async fn the_reservation_carries_the_quantity_and_the_order_id() {
    let app = spawn_app().await;
    app.seed_dependencies(1).await;
    let order: Value = app.place_order(1, 101, 3).await.json().await.unwrap();
    assert_eq!(order["total_cents"], 14_997);
    let reserve = &app.product_calls("PUT").await[0];
    assert_eq!(
        reserve.url.path(),
        format!("/reservations/{}", order["id"].as_str().unwrap())
    );
    let body: Value = serde_json::from_slice(&reserve.body).unwrap();
    assert_eq!(body, json!({"product_id": 101, "quantity": 3}));
}

#[tokio::test]
async fn the_correlation_id_is_forwarded_to_both_services() {
    let app = spawn_app().await;
    app.seed_dependencies(1).await;
    let response = app
        .client
        .post(format!("{}/orders", app.address))
        .header("x-correlation-id", "order-flow-42")
        .json(&json!({"user_id": 1, "product_id": 101, "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["x-correlation-id"], "order-flow-42");
    let mut seen = app.user_calls().await;
    seen.extend(app.product_calls("PUT").await);
    seen.extend(app.product_calls("POST").await);
    // Two calls per order: the user, then the reservation (which carries the product).
    let calls: Vec<String> = seen
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0], "GET /users/1");
    assert!(calls[1].starts_with("PUT /reservations/"), "{calls:?}");
    for request in seen {
        assert_eq!(
            request.headers["x-correlation-id"], "order-flow-42",
            "{}",
            request.url
        );
    }
}

#[tokio::test]
async fn the_seed_curl_without_a_json_content_type_works() {
    let app = spawn_app().await;
    app.seed_dependencies(1).await;
    let body = r#"{"user_id": 1, "product_id": 101, "quantity": 1}"#;
    let response = app
        .post_raw("/orders", "application/x-www-form-urlencoded", body)
        .await;
    assert_eq!(response.status().as_u16(), 201);
}

#[tokio::test]
async fn an_unknown_user_is_a_422_nothing_is_reserved_and_no_order_is_placed() {
    let app = spawn_app().await;
    app.user_is_missing(42).await;
    app.reservations_succeed(0).await;
    let code = assert_error(app.place_order(42, 101, 1).await, 422).await;
    assert_eq!(code, "unknown_user");
    assert_eq!(app.order_count().await, 0);
    // The saga is kept as rejected, with its reason and nothing to release.
    assert_eq!(
        app.only_saga().await,
        (
            "rejected".to_owned(),
            Some("unknown_user".to_owned()),
            false
        )
    );
}

#[tokio::test]
async fn an_unknown_product_is_a_422_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.user_exists(1).await;
    app.product_is_missing(999).await;
    let code = assert_error(app.place_order(1, 999, 1).await, 422).await;
    assert_eq!(code, "unknown_product");
    assert_eq!(app.order_count().await, 0);
    // product-service refused the reservation outright: there is nothing to release.
    assert_eq!(
        app.only_saga().await,
        (
            "rejected".to_owned(),
            Some("unknown_product".to_owned()),
            false
        )
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.product_calls("POST").await.is_empty());
}

#[tokio::test]
async fn insufficient_stock_is_a_409_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.user_exists(1).await;
    app.reservations_lack_stock().await;
    let code = assert_error(app.place_order(1, 103, 3).await, 409).await;
    assert_eq!(code, "insufficient_stock");
    assert_eq!(app.order_count().await, 0);
    assert_eq!(
        app.only_saga().await,
        (
            "rejected".to_owned(),
            Some("insufficient_stock".to_owned()),
            false
        )
    );
}

#[tokio::test]
async fn user_service_down_is_a_fast_503_and_nothing_is_reserved_or_stored() {
    let app = spawn_app_with(|s| s.user_service_url = dead_url()).await;
    app.reservations_succeed(0).await;
    app.assert_fast_503("user_service_unavailable", Duration::from_secs(2))
        .await;
}

#[tokio::test]
async fn product_service_down_is_a_fast_503_and_nothing_is_stored() {
    let app = spawn_app_with(|s| s.product_service_url = dead_url()).await;
    app.user_exists(1).await;
    app.assert_fast_503("product_service_unavailable", Duration::from_secs(2))
        .await;
    // Every attempt was refused at connect: no reservation can exist, none is to be released.
    assert_eq!(
        app.only_saga().await,
        (
            "rejected".to_owned(),
            Some("product_service_unavailable".to_owned()),
            false
        )
    );
}

#[tokio::test]
async fn a_slow_user_service_is_a_503_within_the_deadline() {
    let app = spawn_app_with(|s| s.request_deadline_ms = 500).await;
    Mock::given(method("GET"))
        .and(path("/users/1"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
        .mount(&app.users)
        .await;
    app.reservations_succeed(0).await;
    app.assert_fast_503("user_service_unavailable", Duration::from_millis(1500))
        .await;
}

#[tokio::test]
async fn a_reservation_that_times_out_is_released_and_nothing_is_stored() {
    let app = spawn_app_with(|s| s.request_deadline_ms = 500).await;
    app.user_exists(1).await;
    Mock::given(method("PUT"))
        .and(path_regex(r"^/reservations/"))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(10)))
        .mount(&app.products)
        .await;
    app.releases_succeed(1).await;
    // The deadline is 500 ms: the answer comes within it (and a little for the rejection).
    app.assert_fast_503("product_service_unavailable", Duration::from_millis(600))
        .await;
    // The reservation may have been made: it is released, beside the request.
    let released = app.wait_for_releases(1, Duration::from_secs(5)).await;
    let reserved = app.product_calls("PUT").await;
    assert_eq!(
        released[0].url.path(),
        format!("{}/release", reserved[0].url.path())
    );
    assert!(app.wait_until_settled(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_product_service_500_is_a_503_without_internals() {
    let app = spawn_app().await;
    app.user_exists(1).await;
    Mock::given(method("PUT"))
        .and(path_regex(r"^/reservations/"))
        .respond_with(ResponseTemplate::new(500).set_body_string("stack trace: secret"))
        .mount(&app.products)
        .await;
    app.releases_succeed(1).await;
    let response = app.place_order(1, 101, 1).await;
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let text = response.text().await.unwrap();
    assert!(!text.contains("secret"), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["code"], "product_service_unavailable");
    // A 500 is transient: the reservation was tried three times (two retries), then released.
    assert_eq!(app.product_calls("PUT").await.len(), 3);
    assert_eq!(
        app.wait_for_releases(1, Duration::from_secs(5)).await.len(),
        1
    );
    assert_eq!(app.order_count().await, 0);
}

#[tokio::test]
async fn when_confirming_the_order_fails_it_is_a_500_and_the_reservation_is_released() {
    let app = spawn_app().await;
    app.seed_dependencies(1).await;
    app.releases_succeed(1).await;
    // Make every confirmation fail, as a broken database would; rejecting still works.
    sqlx::query(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN IF NEW.status = 'confirmed' THEN RAISE EXCEPTION 'storage is broken'; END IF; \
         RETURN NEW; END $$",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION refuse()",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let response = app.place_order(1, 101, 2).await;
    assert_eq!(response.status().as_u16(), 500);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("storage is broken"),
        "internals leaked: {text}"
    );
    assert_eq!(app.order_count().await, 0);
    let released = app.wait_for_releases(1, Duration::from_secs(5)).await;
    let reserved = app.product_calls("PUT").await;
    assert_eq!(released.len(), 1);
    assert_eq!(
        released[0].url.path(),
        format!("{}/release", reserved[0].url.path())
    );
    assert!(app.wait_until_settled(Duration::from_secs(5)).await);
    assert_eq!(app.only_saga().await.0, "rejected");
}

#[tokio::test]
async fn bad_input_is_rejected_with_the_envelope_and_calls_nothing() {
    let app = spawn_app().await;
    let cases = [
        (json!({"user_id": 1, "product_id": 101, "quantity": 0}), 422),
        (
            json!({"user_id": 1, "product_id": 101, "quantity": -5}),
            422,
        ),
        (
            json!({"user_id": 1, "product_id": 101, "quantity": 1001}),
            422,
        ),
        (json!({"user_id": 0, "product_id": 101, "quantity": 1}), 422),
        (
            json!({"user_id": 1, "product_id": -101, "quantity": 1}),
            422,
        ),
        (
            json!({"user_id": 1, "product_id": 101, "quantity": 1.5}),
            422,
        ),
        (
            json!({"user_id": "1", "product_id": 101, "quantity": 1}),
            422,
        ),
        (json!({"user_id": 1, "product_id": 101}), 422),
        (
            json!({"user_id": 1e30, "product_id": 101, "quantity": 1}),
            422,
        ),
        (json!({}), 422),
        (json!("order"), 422),
    ];
    for (body, status) in cases {
        let code = assert_error(app.post_json("/orders", &body).await, status).await;
        assert!(
            code == "invalid_input" || code == "invalid_body",
            "{body}: {code}"
        );
    }
    let malformed = app
        .post_raw("/orders", "application/json", "{\"user_id\": 1,")
        .await;
    assert_eq!(assert_error(malformed, 400).await, "malformed_json");
    let big = json!({"user_id": 1, "product_id": 101, "quantity": 1, "note": "x".repeat(20_000)});
    assert_eq!(
        assert_error(app.post_json("/orders", &big).await, 413).await,
        "payload_too_large"
    );
    let xml = app.post_raw("/orders", "application/xml", "<order/>").await;
    assert_eq!(assert_error(xml, 415).await, "unsupported_media_type");
    assert_eq!(app.order_count().await, 0);
    assert!(app.user_calls().await.is_empty());
    assert!(app.product_calls("PUT").await.is_empty());
    // Refused before the saga began: not even a rejected saga is recorded.
    assert_eq!(app.saga_count("rejected").await, 0);
}

#[tokio::test]
async fn get_order_is_404_for_an_unknown_id_and_400_for_a_bad_one() {
    let app = spawn_app().await;
    let unknown = format!("/orders/{}", uuid::Uuid::new_v4());
    assert_eq!(
        assert_error(app.get(&unknown).await, 404).await,
        "order_not_found"
    );
    assert_eq!(
        assert_error(app.get("/orders/12").await, 400).await,
        "invalid_path"
    );
}

#[tokio::test]
async fn a_users_orders_are_listed_newest_first() {
    let app = spawn_app().await;
    app.seed_dependencies(2).await;
    let first: Value = app.place_order(1, 101, 1).await.json().await.unwrap();
    let second: Value = app.place_order(1, 101, 2).await.json().await.unwrap();
    let page: Value = app.get("/orders?user_id=1").await.json().await.unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["id"], second["id"]);
    assert_eq!(page["items"][1]["id"], first["id"]);
    let nobody: Value = app.get("/orders?user_id=2").await.json().await.unwrap();
    assert_eq!(nobody["total"], 0);
    for bad in [
        "/orders",
        "/orders?user_id=0",
        "/orders?user_id=x",
        "/orders?user_id=1&limit=500",
    ] {
        assert_error(app.get(bad).await, 400).await;
    }
}
