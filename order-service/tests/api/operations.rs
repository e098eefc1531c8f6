//! Health, readiness, correlation IDs, unknown routes, Swagger UI, the OpenAPI drift check.

use testkit::checks;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn health_answers_the_seed_body() {
    let app = spawn_app().await;
    checks::health_answers_the_seed_body(&app, "order-service").await;
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
    let code = assert_error(
        app.get(&format!("/orders/{}", uuid::Uuid::new_v4())).await,
        503,
    )
    .await;
    assert_eq!(code, "database_unavailable");
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
