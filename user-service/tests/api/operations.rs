//! Health, readiness, correlation IDs, unknown routes, Swagger UI.

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn health_answers_the_seed_body() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "healthy", "service": "user-service"})
    );
}

#[tokio::test]
async fn ready_is_200_with_a_database_and_503_without_one() {
    let app = spawn_app().await;
    assert_eq!(app.get("/ready").await.status().as_u16(), 200);
    app.drop_database().await;
    let started = std::time::Instant::now();
    assert_eq!(
        assert_error(app.get("/ready").await, 503).await,
        "database_unavailable"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "503 took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn requests_get_503_not_500_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.drop_database().await;
    let code = assert_error(app.get("/users/1").await, 503).await;
    assert_eq!(code, "database_unavailable");
}

#[tokio::test]
async fn a_supplied_correlation_id_is_echoed_and_a_missing_one_is_created() {
    let app = spawn_app().await;
    let echoed = app
        .client
        .get(format!("{}/health", app.address))
        .header("x-correlation-id", "test-corr-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-correlation-id"], "test-corr-123");
    let created = app.get("/health").await;
    let id = created.headers()["x-correlation-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a generated id is a UUID, got {id}");
}

#[tokio::test]
async fn unknown_routes_get_a_json_404() {
    let app = spawn_app().await;
    assert_eq!(
        assert_error(app.get("/nope").await, 404).await,
        "route_not_found"
    );
}

#[tokio::test]
async fn swagger_ui_is_served() {
    let app = spawn_app().await;
    let response = app.get("/swagger-ui/").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.unwrap().contains("swagger-ui"));
}
