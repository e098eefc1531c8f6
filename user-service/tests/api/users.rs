//! Creating, fetching and listing users, and every way a request can be wrong.

use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn the_seed_demo_users_are_loaded() {
    let app = spawn_app().await;
    let alice: Value = app.get("/users/1").await.json().await.unwrap();
    assert_eq!(alice["name"], "Alice Johnson");
    assert_eq!(alice["email"], "alice@example.com");
    let bob: Value = app.get("/users/2").await.json().await.unwrap();
    assert_eq!(bob["name"], "Bob Smith");
    assert_eq!(bob["email"], "bob@example.com");
}

#[tokio::test]
async fn create_user_returns_201_with_location_and_the_user_can_be_fetched() {
    let app = spawn_app().await;
    let response = app.create_user("  Carol White ", "Carol@Example.com").await;
    assert_eq!(response.status().as_u16(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Carol White");
    assert_eq!(created["email"], "carol@example.com");
    assert!(
        created["id"].as_i64().unwrap() > 2,
        "new ids never collide with demo ids"
    );
    assert_eq!(location, format!("/users/{}", created["id"]));
    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn create_user_returns_409_when_the_email_is_taken_in_any_case() {
    let app = spawn_app().await;
    let response = app.create_user("Another Alice", "ALICE@example.com").await;
    assert_eq!(assert_error(response, 409).await, "email_taken");
    assert_eq!(app.user_count().await, 2);
}

#[tokio::test]
async fn create_user_returns_422_for_invalid_names_and_emails_and_stores_nothing() {
    let app = spawn_app().await;
    let cases = [
        json!({"name": "", "email": "x@example.com"}),
        json!({"name": "   ", "email": "x@example.com"}),
        json!({"name": "x".repeat(101), "email": "x@example.com"}),
        json!({"name": "Dan", "email": "not-an-email"}),
        json!({"name": "Dan", "email": "dan@localhost"}),
        json!({"name": "Dan"}),
        json!({"email": "dan@example.com"}),
        json!({"name": 5, "email": "dan@example.com"}),
        json!({"name": "Dan", "email": ["dan@example.com"]}),
        json!([]),
    ];
    for body in cases {
        let code = assert_error(app.post_json("/users", &body).await, 422).await;
        assert!(
            code == "invalid_input" || code == "invalid_body",
            "{body}: {code}"
        );
    }
    assert_eq!(app.user_count().await, 2);
}

#[tokio::test]
async fn malformed_json_is_400_non_json_is_415_and_oversized_is_413() {
    let app = spawn_app().await;
    let malformed = app
        .post_raw("/users", "application/json", "{\"name\": \"Dan\",")
        .await;
    assert_eq!(assert_error(malformed, 400).await, "malformed_json");
    let text = app.post_raw("/users", "text/plain", "name=Dan").await;
    assert_eq!(assert_error(text, 415).await, "unsupported_media_type");
    let huge = json!({"name": "Dan", "email": "dan@example.com", "pad": "x".repeat(17 * 1024)});
    assert_eq!(
        assert_error(app.post_json("/users", &huge).await, 413).await,
        "payload_too_large"
    );
    assert_eq!(app.user_count().await, 2);
}

#[tokio::test]
async fn a_json_body_sent_as_curls_default_form_type_is_accepted() {
    let app = spawn_app().await;
    let body = r#"{"name": "Erin", "email": "erin@example.com"}"#;
    let response = app
        .post_raw("/users", "application/x-www-form-urlencoded", body)
        .await;
    assert_eq!(response.status().as_u16(), 201);
}

#[tokio::test]
async fn get_user_returns_404_for_an_unknown_id_and_400_for_a_bad_one() {
    let app = spawn_app().await;
    assert_eq!(
        assert_error(app.get("/users/999").await, 404).await,
        "user_not_found"
    );
    for bad in ["abc", "0", "-3", "1.5", "99999999999999999999"] {
        let code = assert_error(app.get(&format!("/users/{bad}")).await, 400).await;
        assert!(
            code == "invalid_path" || code == "invalid_request",
            "{bad}: {code}"
        );
    }
}

#[tokio::test]
async fn list_users_paginates_in_id_order() {
    let app = spawn_app().await;
    app.create_user("Carol", "carol@example.com").await;
    let page: Value = app
        .get("/users?limit=2&offset=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 3);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["offset"], 1);
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bob Smith", "Carol"]);
    let default_page: Value = app.get("/users").await.json().await.unwrap();
    assert_eq!(default_page["limit"], 20);
}

#[tokio::test]
async fn list_users_rejects_out_of_range_paging_with_400() {
    let app = spawn_app().await;
    for query in ["limit=0", "limit=101", "limit=abc", "offset=-1"] {
        let code = assert_error(app.get(&format!("/users?{query}")).await, 400).await;
        assert!(
            code == "invalid_query" || code == "invalid_request",
            "{query}: {code}"
        );
    }
}
