//! order-service → user-service: every call `UserClient` makes.

use pact_consumer::prelude::*;
use serde_json::json;

use order_service::clients::users::User;
use order_service::clients::{UserClient, UserClientError};

use crate::{correlation_header, correlation_id, deadline, downstream, file_lock, http, pact, run};

const PROVIDER: &str = "user-service";

#[test]
fn fetching_an_existing_user_returns_its_id_name_and_email() {
    let _guard = file_lock();
    let server = pact(PROVIDER)
        .interaction("a request for an existing user", "", |mut i| {
            i.given_with_params(
                "a user exists",
                &json!({"id": 1, "name": "Alice Johnson", "email": "alice@example.com"}),
            );
            i.request
                .get()
                .path(term!("^/users/[1-9][0-9]*$", "/users/1"))
                .header("x-correlation-id", correlation_header());
            i.response
                .ok()
                .content_type("application/json")
                .json_body(json_pattern!({
                    "id": like!(1),
                    "name": like!("Alice Johnson"),
                    "email": term!("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", "alice@example.com"),
                }));
            i
        })
        .start_mock_server(None, None);
    let client = UserClient::new(server.url().as_str(), downstream("user-service"), http());
    let user = run(client.fetch_user(1, &correlation_id(), deadline())).expect("the user");
    assert_eq!(
        user,
        User {
            id: 1,
            name: "Alice Johnson".to_owned(),
            email: "alice@example.com".to_owned()
        }
    );
}

#[test]
fn fetching_a_missing_user_is_not_found() {
    let _guard = file_lock();
    let server = pact(PROVIDER)
        .interaction("a request for a user that does not exist", "", |mut i| {
            i.given_with_params("no user exists", &json!({"id": 999}));
            i.request
                .get()
                .path(term!("^/users/[1-9][0-9]*$", "/users/999"))
                .header("x-correlation-id", correlation_header());
            i.response
                .not_found()
                .content_type("application/json")
                .json_body(json_pattern!({
                    "code": "user_not_found",
                    "message": like!("user 999 does not exist"),
                }));
            i
        })
        .start_mock_server(None, None);
    let client = UserClient::new(server.url().as_str(), downstream("user-service"), http());
    let outcome = run(client.fetch_user(999, &correlation_id(), deadline()));
    assert!(
        matches!(outcome, Err(UserClientError::NotFound(999))),
        "{outcome:?}"
    );
}
