//! Health, readiness, correlation IDs, unknown routes, Swagger UI, the OpenAPI drift check.

use std::time::Duration;

use http_plumbing::db::STATEMENT_TIMEOUT;
use testkit::checks;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn health_answers_the_seed_body() {
    let app = spawn_app().await;
    checks::health_answers_the_seed_body(&app, "product-service").await;
}

#[tokio::test]
async fn ready_is_200_with_a_database_and_503_without_one() {
    let app = spawn_app().await;
    checks::ready_is_200(&app).await;
    app.drop_database().await;
    checks::ready_is_503_fast(&app).await;
}

#[tokio::test]
async fn requests_get_503_not_500_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.drop_database().await;
    let code = assert_error(app.get("/products/101").await, 503).await;
    assert_eq!(code, "database_unavailable");
}

#[tokio::test]
async fn connections_the_database_dropped_cost_at_most_one_503_each_then_reads_recover() {
    let app = spawn_app().await;
    for _ in 0..10 {
        assert_eq!(app.get("/products/101").await.status().as_u16(), 200);
    }
    let dropped = app.terminate_service_connections().await;
    assert!(dropped >= 1, "the service held no connection to drop");
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let response = app.get("/products/101").await;
        let status = response.status().as_u16();
        if status != 200 {
            assert_eq!(assert_error(response, 503).await, "database_unavailable");
        }
        statuses.push(status);
    }
    let failures = statuses.iter().filter(|s| **s != 200).count();
    assert!(
        failures as i64 <= dropped,
        "{failures} failed requests for {dropped} dropped connections: {statuses:?}"
    );
    assert!(
        statuses[20..].iter().all(|s| *s == 200),
        "reads did not recover: {statuses:?}"
    );
}

#[tokio::test]
async fn a_connection_idle_past_the_ping_threshold_is_checked_before_use() {
    let app = spawn_app().await;
    for _ in 0..10 {
        assert_eq!(app.get("/products/101").await.status().as_u16(), 200);
    }
    assert!(app.terminate_service_connections().await >= 1);
    tokio::time::sleep(http_plumbing::db::PING_IDLE_AFTER + Duration::from_millis(200)).await;
    for _ in 0..10 {
        assert_eq!(app.get("/products/101").await.status().as_u16(), 200);
    }
}

#[tokio::test]
async fn a_supplied_correlation_id_is_echoed_and_a_missing_one_is_created() {
    let app = spawn_app().await;
    checks::correlation_ids_are_echoed_or_created(&app).await;
}

#[tokio::test]
async fn unknown_routes_get_a_json_404() {
    let app = spawn_app().await;
    checks::unknown_routes_get_a_json_404(&app).await;
}

#[tokio::test]
async fn swagger_ui_is_served() {
    let app = spawn_app().await;
    checks::swagger_ui_is_served(&app).await;
}

#[tokio::test]
async fn served_openapi_matches_the_committed_file() {
    let app = spawn_app().await;
    checks::served_openapi_matches_the_committed_file(&app, env!("CARGO_MANIFEST_DIR")).await;
}

#[tokio::test]
async fn a_reservation_stuck_behind_a_row_lock_gets_a_503_once_the_statement_times_out() {
    let app = spawn_app().await;
    // Another transaction holds product 101's row and does not let go.
    let mut holder = app.pool.begin().await.unwrap();
    sqlx::query("SELECT stock FROM products WHERE id = 101 FOR UPDATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let response = tokio::time::timeout(
        STATEMENT_TIMEOUT + Duration::from_secs(5),
        app.reserve(uuid::Uuid::new_v4(), 101, 1),
    )
    .await
    .expect("the reservation is still waiting for the lock: no statement timeout");
    let waited = started.elapsed();
    assert_eq!(assert_error(response, 503).await, "database_unavailable");
    assert!(
        waited >= STATEMENT_TIMEOUT && waited < STATEMENT_TIMEOUT + Duration::from_secs(2),
        "answered after {waited:?}"
    );
    holder.rollback().await.unwrap();
    assert_eq!(app.stock_of(101).await, 150);
    assert_eq!(app.count("reservations").await, 0);
    assert_eq!(
        app.reserve(uuid::Uuid::new_v4(), 101, 1)
            .await
            .status()
            .as_u16(),
        201
    );
}
