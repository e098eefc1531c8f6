//! order-service → product-service: every call `ProductClient` makes.

use pact_consumer::prelude::*;
use serde_json::json;
use uuid::Uuid;

use order_service::clients::{ProductClient, ProductClientError};

use crate::{
    UUID_PATTERN, correlation_header, correlation_id, deadline, downstream, file_lock, http, pact,
    run,
};

const PROVIDER: &str = "product-service";
// Example reservation ids (order ids), one per interaction: the provider verifies all
// interactions against one database, so no two may touch the same reservation.
const NEW_RESERVATION: &str = "0b5e3f9a-6f0c-4d1e-9a63-4f1f2b8c7d10";
const REPEATED_RESERVATION: &str = "1c6f4a0b-7a1d-4e2f-8b74-5a2a3c9d8e21";
const REFUSED_RESERVATION: &str = "2d7a5b1c-8b2e-4f3a-9c85-6b3b4d0e9f32";
const UNKNOWN_PRODUCT_RESERVATION: &str = "3e8b6c2d-9c3f-4a4b-8d96-7c4c5e1f0a43";
const RELEASED_RESERVATION: &str = "4f9c7d3e-0d4a-4b5c-9ea7-8d5d6f2a1b54";
const MISSING_RESERVATION: &str = "5a0d8e4f-1e5b-4c6d-8fb8-9e6e7a3b2c65";
const VOIDED_RESERVATION: &str = "6b1e9f5a-2f6c-4d7e-9ac9-0f7f8b4c3d76";

fn reservation_path(example: &str, suffix: &str) -> StringPattern {
    term!(
        format!("^/reservations/{UUID_PATTERN}{suffix}$"),
        format!("/reservations/{example}{suffix}")
    )
    .into()
}

fn uuid(example: &str) -> Uuid {
    example.parse().expect("a valid UUID")
}

#[test]
fn reserving_available_stock_creates_a_reservation_for_the_quantity() {
    let _guard = file_lock();
    let server = pact(PROVIDER)
        .interaction(
            "a request to reserve stock that is available",
            "",
            |mut i| {
                i.given_with_params("a product has stock", &json!({"id": 101, "stock": 10}));
                i.request
                    .put()
                    .path(reservation_path(NEW_RESERVATION, ""))
                    .header("x-correlation-id", correlation_header())
                    .content_type("application/json")
                    .json_body(json_pattern!({"product_id": like!(101), "quantity": 3}));
                i.response
                    .created()
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "id": term!(format!("^{UUID_PATTERN}$"), NEW_RESERVATION),
                        "quantity": 3,
                        "product_name": like!("Wireless Keyboard"),
                        "unit_price_cents": like!(4999),
                        "status": "reserved",
                    }));
                i
            },
        )
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), downstream("product-service"), http());
    let reservation =
        run(client.reserve(uuid(NEW_RESERVATION), 101, 3, &correlation_id(), deadline()))
            .expect("a reservation");
    assert_eq!(reservation.id, uuid(NEW_RESERVATION));
    assert_eq!(reservation.quantity, 3);
    assert_eq!(reservation.product_name, "Wireless Keyboard");
    assert_eq!(reservation.unit_price_cents, 4999);
    assert_eq!(reservation.status, "reserved");
}

#[test]
fn repeating_a_reservation_returns_the_existing_one() {
    let _guard = file_lock();
    let server = pact(PROVIDER)
        .interaction(
            "a repeated request for a reservation that already exists",
            "",
            |mut i| {
                i.given_with_params(
                    "a reservation exists",
                    &json!({"reservation_id": REPEATED_RESERVATION, "product_id": 101, "quantity": 3}),
                );
                i.request
                    .put()
                    .path(reservation_path(REPEATED_RESERVATION, ""))
                    .header("x-correlation-id", correlation_header())
                    .content_type("application/json")
                    .json_body(json_pattern!({"product_id": like!(101), "quantity": 3}));
                i.response
                    .ok()
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "id": term!(format!("^{UUID_PATTERN}$"), REPEATED_RESERVATION),
                        "quantity": 3,
                        "product_name": like!("Wireless Keyboard"),
                        "unit_price_cents": like!(4999),
                        "status": "reserved",
                    }));
                i
            },
        )
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), downstream("product-service"), http());
    let reservation = run(client.reserve(
        uuid(REPEATED_RESERVATION),
        101,
        3,
        &correlation_id(),
        deadline(),
    ))
    .expect("a reservation");
    assert_eq!(reservation.status, "reserved");
    assert_eq!(reservation.unit_price_cents, 4999);
}

#[test]
fn reserving_more_than_the_stock_is_refused() {
    let _guard = file_lock();
    let server = pact(PROVIDER)
        .interaction(
            "a request to reserve more stock than there is",
            "",
            |mut i| {
                i.given_with_params("a product has stock", &json!({"id": 103, "stock": 2}));
                i.request
                    .put()
                    .path(reservation_path(REFUSED_RESERVATION, ""))
                    .header("x-correlation-id", correlation_header())
                    .content_type("application/json")
                    .json_body(json_pattern!({"product_id": like!(103), "quantity": 3}));
                i.response
                    .status(409)
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "code": "insufficient_stock",
                        "message": like!("product 103 has 2 units in stock, 3 were requested"),
                    }));
                i
            },
        )
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), downstream("product-service"), http());
    let outcome = run(client.reserve(
        uuid(REFUSED_RESERVATION),
        103,
        3,
        &correlation_id(),
        deadline(),
    ));
    assert!(
        matches!(outcome, Err(ProductClientError::InsufficientStock(_))),
        "{outcome:?}"
    );
}

#[test]
fn reserving_a_missing_product_is_not_found() {
    let _guard = file_lock();
    let server = pact(PROVIDER)
        .interaction(
            "a request to reserve stock of a product that does not exist",
            "",
            |mut i| {
                i.given_with_params("no product exists", &json!({"id": 999}));
                i.request
                    .put()
                    .path(reservation_path(UNKNOWN_PRODUCT_RESERVATION, ""))
                    .header("x-correlation-id", correlation_header())
                    .content_type("application/json")
                    .json_body(json_pattern!({"product_id": 999, "quantity": like!(1)}));
                i.response
                    .not_found()
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "code": "product_not_found",
                        "message": like!("product 999 does not exist"),
                    }));
                i
            },
        )
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), downstream("product-service"), http());
    let outcome = run(client.reserve(
        uuid(UNKNOWN_PRODUCT_RESERVATION),
        999,
        1,
        &correlation_id(),
        deadline(),
    ));
    assert!(
        matches!(outcome, Err(ProductClientError::ProductNotFound(999))),
        "{outcome:?}"
    );
}

#[test]
fn releasing_a_reservation_marks_it_released() {
    let _guard = file_lock();
    let server = pact(PROVIDER)
        .interaction("a request to release a reservation", "", |mut i| {
            i.given_with_params(
                "a reservation exists",
                &json!({"reservation_id": RELEASED_RESERVATION, "product_id": 101, "quantity": 3}),
            );
            i.request
                .post()
                .path(reservation_path(RELEASED_RESERVATION, "/release"))
                .header("x-correlation-id", correlation_header());
            i.response
                .ok()
                .content_type("application/json")
                .json_body(json_pattern!({
                    "id": term!(format!("^{UUID_PATTERN}$"), RELEASED_RESERVATION),
                    "quantity": like!(3),
                    "product_name": like!("Wireless Keyboard"),
                    "unit_price_cents": like!(4999),
                    "status": "released",
                }));
            i
        })
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), downstream("product-service"), http());
    let reservation =
        run(client.release(uuid(RELEASED_RESERVATION), &correlation_id(), deadline()))
            .expect("released");
    assert_eq!(reservation.status, "released");
}

#[test]
fn releasing_a_missing_reservation_is_not_found() {
    let _guard = file_lock();
    let server = pact(PROVIDER)
        .interaction(
            "a request to release a reservation that does not exist",
            "",
            |mut i| {
                i.given_with_params(
                    "no reservation exists",
                    &json!({"reservation_id": MISSING_RESERVATION}),
                );
                i.request
                    .post()
                    .path(reservation_path(MISSING_RESERVATION, "/release"))
                    .header("x-correlation-id", correlation_header());
                i.response
                    .not_found()
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "code": "reservation_not_found",
                        "message": like!(format!("reservation {MISSING_RESERVATION} does not exist")),
                    }));
                i
            },
        )
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), downstream("product-service"), http());
    let outcome = run(client.release(uuid(MISSING_RESERVATION), &correlation_id(), deadline()));
    assert!(
        matches!(outcome, Err(ProductClientError::ReservationNotFound(_))),
        "{outcome:?}"
    );
}

#[test]
fn reserving_under_a_released_id_is_refused() {
    let _guard = file_lock();
    let server = pact(PROVIDER)
        .interaction(
            "a request to reserve stock under an id that was already released",
            "",
            |mut i| {
                i.given_with_params(
                    "a reservation id was released",
                    &json!({"reservation_id": VOIDED_RESERVATION}),
                );
                i.request
                    .put()
                    .path(reservation_path(VOIDED_RESERVATION, ""))
                    .header("x-correlation-id", correlation_header())
                    .content_type("application/json")
                    .json_body(json_pattern!({"product_id": like!(101), "quantity": like!(1)}));
                i.response
                    .status(409)
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "code": "reservation_released",
                        "message": like!(format!("reservation {VOIDED_RESERVATION} was released and can hold no stock again; use a new reservation id")),
                    }));
                i
            },
        )
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), downstream("product-service"), http());
    let outcome = run(client.reserve(
        uuid(VOIDED_RESERVATION),
        101,
        1,
        &correlation_id(),
        deadline(),
    ));
    assert!(
        matches!(outcome, Err(ProductClientError::ReservationReleased(_))),
        "{outcome:?}"
    );
}
