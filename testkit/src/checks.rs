//! Checks every service must pass, written once and called from each service's tests.

use std::path::Path;

use serde_json::{Value, json};

use crate::http::{Api, assert_error};

/// `GET /health` answers 200 with the seed tutorial's body.
pub async fn health_answers_the_seed_body(api: &Api, service: &str) {
    let response = api.get("/health").await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("health body is JSON");
    assert_eq!(body, json!({"status": "healthy", "service": service}));
}

/// `GET /ready` answers 200 while the database is there.
pub async fn ready_is_200(api: &Api) {
    assert_eq!(api.get("/ready").await.status().as_u16(), 200);
}

/// `GET /ready` answers a 503 envelope within 3 s once the database is gone.
pub async fn ready_is_503_fast(api: &Api) {
    let started = std::time::Instant::now();
    assert_eq!(
        assert_error(api.get("/ready").await, 503).await,
        "database_unavailable"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "503 took {:?}",
        started.elapsed()
    );
}

/// A supplied `X-Correlation-ID` is echoed; a missing one is created (a UUID).
pub async fn correlation_ids_are_echoed_or_created(api: &Api) {
    let echoed = api
        .client
        .get(format!("{}/health", api.address))
        .header("x-correlation-id", "test-corr-123")
        .send()
        .await
        .expect("send GET");
    assert_eq!(echoed.headers()["x-correlation-id"], "test-corr-123");
    let created = api.get("/health").await;
    let id = created.headers()["x-correlation-id"]
        .to_str()
        .expect("ASCII header");
    assert_eq!(id.len(), 36, "a generated id is a UUID, got {id}");
}

/// An unknown route answers a 404 envelope, not an empty body.
pub async fn unknown_routes_get_a_json_404(api: &Api) {
    assert_eq!(
        assert_error(api.get("/nope").await, 404).await,
        "route_not_found"
    );
}

/// Swagger UI is served from the binary (vendored assets).
pub async fn swagger_ui_is_served(api: &Api) {
    let response = api.get("/swagger-ui/").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response
            .text()
            .await
            .expect("UI body")
            .contains("swagger-ui")
    );
}

/// The served OpenAPI 3.1 document equals `<manifest_dir>/openapi.json`.
pub async fn served_openapi_matches_the_committed_file(api: &Api, manifest_dir: &str) {
    let response = api.get("/api-docs/openapi.json").await;
    assert_eq!(response.status().as_u16(), 200);
    let served: Value = response.json().await.expect("OpenAPI document is JSON");
    assert_eq!(served["openapi"], "3.1.0");
    let committed = Path::new(manifest_dir).join("openapi.json");
    crate::openapi::assert_matches_committed(&served, &committed);
}
