//! `Idempotency-Key` on `POST /orders`: at most one order per key, the first answer repeated,
//! conflicts and misuse refused.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::Response;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{TestApp, assert_error, spawn_app};

impl TestApp {
    async fn place_with_key(&self, key: &str, quantity: i64) -> Response {
        self.client
            .post(format!("{}/orders", self.address))
            .header("idempotency-key", key)
            .json(&json!({"user_id": 1, "product_id": 101, "quantity": quantity}))
            .send()
            .await
            .expect("order-service answers")
    }
}

fn replayed(response: &Response) -> bool {
    response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

#[tokio::test]
async fn a_repeat_with_the_same_key_and_body_gets_the_first_answer_and_places_nothing_more() {
    let app = spawn_app().await;
    app.seed_dependencies(1).await;
    let first = app.place_with_key("order-abc-1", 2).await;
    assert_eq!(first.status().as_u16(), 201);
    assert!(!replayed(&first));
    let location = first.headers()["location"].clone();
    let first: Value = first.json().await.unwrap();
    let again = app.place_with_key("order-abc-1", 2).await;
    assert_eq!(again.status().as_u16(), 201);
    assert!(replayed(&again));
    assert_eq!(again.headers()["location"], location);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    // The key in the IETF draft's quoted form is the same key.
    let quoted = app.place_with_key("\"order-abc-1\"", 2).await;
    assert!(replayed(&quoted));
    assert_eq!(app.order_count().await, 1);
    assert_eq!(app.product_calls("PUT").await.len(), 1, "stock taken once");
}

#[tokio::test]
async fn twenty_concurrent_requests_with_one_key_place_one_order_and_take_stock_once() {
    let app = spawn_app().await;
    app.user_exists(1).await;
    // The reservation takes a while, so the first request is still in flight when the others
    // arrive.
    app.reservations_take(Duration::from_millis(300)).await;
    let responses = join_all((0..20).map(|_| app.place_with_key("burst-key", 1))).await;
    let mut placed = HashSet::new();
    let mut in_progress = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => {
                let order: Value = response.json().await.unwrap();
                placed.insert(order["id"].as_str().unwrap().to_owned());
            }
            409 => {
                assert!(response.headers().contains_key("retry-after"));
                assert_eq!(assert_error(response, 409).await, "request_in_progress");
                in_progress += 1;
            }
            other => panic!(
                "unexpected answer {other}: {}",
                response.text().await.unwrap()
            ),
        }
    }
    assert_eq!(placed.len(), 1, "every 201 names the same order");
    assert!(in_progress < 20);
    assert_eq!(app.order_count().await, 1);
    assert_eq!(app.product_calls("PUT").await.len(), 1);
    // Once it is done, a repeat gets the order.
    let again = app.place_with_key("burst-key", 1).await;
    assert!(replayed(&again));
    let order: Value = again.json().await.unwrap();
    assert!(placed.contains(order["id"].as_str().unwrap()));
}

#[tokio::test]
async fn the_same_key_with_another_body_is_a_422_and_places_nothing() {
    let app = spawn_app().await;
    app.seed_dependencies(1).await;
    assert_eq!(app.place_with_key("k-1", 1).await.status().as_u16(), 201);
    let code = assert_error(app.place_with_key("k-1", 2).await, 422).await;
    assert_eq!(code, "idempotency_key_reused");
    assert_eq!(app.order_count().await, 1);
    assert_eq!(app.product_calls("PUT").await.len(), 1);
}

#[tokio::test]
async fn a_replay_after_a_restart_returns_the_stored_answer() {
    let app = spawn_app().await;
    app.seed_dependencies(1).await;
    let first: Value = app
        .place_with_key("survives-restart", 3)
        .await
        .json()
        .await
        .unwrap();
    // The service goes away; a new instance serves the same database.
    app.server.stop(true).await;
    let restarted = app.another_instance().await;
    let again = restarted.place_with_key("survives-restart", 3).await;
    assert_eq!(again.status().as_u16(), 201);
    assert!(replayed(&again));
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(restarted.order_count().await, 1);
}

#[tokio::test]
async fn a_replay_of_an_order_cancelled_since_answers_it_as_it_was_placed() {
    let app = spawn_app().await;
    app.seed_dependencies(1).await;
    app.releases_succeed(1).await;
    let first: Value = app
        .place_with_key("then-cancelled", 1)
        .await
        .json()
        .await
        .unwrap();
    let id = first["id"].as_str().unwrap();
    let cancelled = app.post_empty(&format!("/orders/{id}/cancel")).await;
    assert_eq!(cancelled.status().as_u16(), 200);
    let again: Value = app
        .place_with_key("then-cancelled", 1)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(again["status"], "confirmed");
}

#[tokio::test]
async fn a_request_that_ended_in_a_5xx_does_not_fix_the_keys_answer() {
    let app = spawn_app().await;
    // user-service fails the first request (all its attempts), then works.
    Mock::given(method("GET"))
        .and(path("/users/1"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .mount(&app.users)
        .await;
    app.user_exists(1).await;
    app.reservations_succeed(1).await;
    let code = assert_error(app.place_with_key("retry-me", 1).await, 503).await;
    assert_eq!(code, "user_service_unavailable");
    let retried = app.place_with_key("retry-me", 1).await;
    assert_eq!(retried.status().as_u16(), 201);
    assert!(!replayed(&retried), "processed anew, not replayed");
    let order: Value = retried.json().await.unwrap();
    assert_eq!(order["status"], "confirmed");
    assert!(replayed(&app.place_with_key("retry-me", 1).await));
    assert_eq!(app.order_count().await, 1);
}

#[tokio::test]
async fn a_refusal_is_the_keys_answer_even_after_the_cause_is_gone() {
    let app = spawn_app().await;
    app.user_exists(1).await;
    app.reservations_lack_stock().await;
    let first = app.place_with_key("no-stock", 3).await;
    let first_body: Value = {
        assert_eq!(first.status().as_u16(), 409);
        first.json().await.unwrap()
    };
    assert_eq!(first_body["code"], "insufficient_stock");
    // Stock arrives; the same request under the same key still gets the first answer.
    app.products.reset().await;
    app.reservations_succeed(0).await;
    let again = app.place_with_key("no-stock", 3).await;
    assert_eq!(again.status().as_u16(), 409);
    assert!(replayed(&again));
    assert_eq!(again.json::<Value>().await.unwrap(), first_body);
    assert_eq!(app.order_count().await, 0);
}

#[tokio::test]
async fn malformed_keys_are_a_400_and_change_nothing() {
    let app = spawn_app().await;
    app.user_exists(1).await;
    for key in ["", "   ", "\"\"", &"k".repeat(256)] {
        let code = assert_error(app.place_with_key(key, 1).await, 400).await;
        assert_eq!(code, "invalid_idempotency_key", "{key:?}");
    }
    let non_ascii = app
        .client
        .post(format!("{}/orders", app.address))
        .header(
            "idempotency-key",
            reqwest::header::HeaderValue::from_bytes("clé".as_bytes()).unwrap(),
        )
        .json(&json!({"user_id": 1, "product_id": 101, "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error(non_ascii, 400).await,
        "invalid_idempotency_key"
    );
    assert_eq!(
        app.saga_count("pending").await + app.saga_count("rejected").await,
        0
    );
    assert!(app.user_calls().await.is_empty());
    // The longest key allowed works.
    app.reservations_succeed(1).await;
    assert_eq!(
        app.place_with_key(&"k".repeat(255), 1)
            .await
            .status()
            .as_u16(),
        201
    );
}
