//! Batched lookups: many `GET /users/{id}` served by one statement give each request its own
//! answer. The store-level test calls the batch function directly, so the batch path is taken
//! whatever the timing; the API test sends a burst that the batcher groups as load allows.

use futures_util::future::join_all;
use http_plumbing::db::Db;
use serde_json::Value;
use user_service::domain::UserId;
use user_service::store::users::fetch_users;

use crate::helpers::spawn_app;

#[tokio::test]
async fn one_batch_of_lookups_answers_each_id_with_its_own_user() {
    let app = spawn_app().await;
    let db = Db::connect_lazy(&app.database_url, 2).expect("the test database URL is valid");
    let ids = [2, 42, 1, 2].map(|id| UserId::parse(id).unwrap()).to_vec();
    let found: Vec<Option<String>> = fetch_users(db, ids)
        .await
        .into_iter()
        .map(|r| r.unwrap().map(|u| u.email))
        .collect();
    assert_eq!(
        found,
        [
            Some("bob@example.com"),
            None,
            Some("alice@example.com"),
            Some("bob@example.com")
        ]
        .map(|e| e.map(str::to_owned))
    );
}

#[tokio::test]
async fn a_burst_of_lookups_gets_each_request_its_own_answer() {
    let app = spawn_app().await;
    let ids: Vec<i64> = (0..60).map(|i| [1, 2, 42][i % 3]).collect();
    let paths: Vec<String> = ids.iter().map(|id| format!("/users/{id}")).collect();
    let responses = join_all(paths.iter().map(|p| app.get(p))).await;
    for (id, response) in ids.iter().zip(responses) {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        match id {
            1 => assert_eq!(
                (status, &body["name"]),
                (200, &Value::from("Alice Johnson"))
            ),
            2 => assert_eq!((status, &body["name"]), (200, &Value::from("Bob Smith"))),
            _ => assert_eq!(
                (status, &body["code"]),
                (404, &Value::from("user_not_found"))
            ),
        }
    }
}
