//! The served OpenAPI document must equal the committed `user-service/openapi.json`.

use std::path::Path;

use crate::helpers::spawn_app;

#[tokio::test]
async fn served_openapi_matches_the_committed_file() {
    let app = spawn_app().await;
    let response = app.get("/api-docs/openapi.json").await;
    assert_eq!(response.status().as_u16(), 200);
    let served: serde_json::Value = response.json().await.unwrap();
    assert_eq!(served["openapi"], "3.1.0");
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    testkit::openapi::assert_matches_committed(&served, &committed);
}
