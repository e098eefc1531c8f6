//! order-service → product-service: every call `ProductClient` makes.

use pact_consumer::prelude::*;
use serde_json::json;
use uuid::Uuid;

use order_service::clients::products::Product;
use order_service::clients::{ProductClient, ProductClientError};

use crate::{UUID_PATTERN, correlation_header, correlation_id, file_lock, http, pact, run};

const PROVIDER: &str = "product-service";
/// The example reservation id (an order id) used in the contract.
const RESERVATION: &str = "0b5e3f9a-6f0c-4d1e-9a63-4f1f2b8c7d10";

fn reservation_path(suffix: &str) -> StringPattern {
    term!(
        format!("^/reservations/{UUID_PATTERN}{suffix}$"),
        format!("/reservations/{RESERVATION}{suffix}")
    )
    .into()
}

fn reservation_id() -> Uuid {
    RESERVATION.parse().expect("a valid UUID")
}

#[test]
fn fetching_an_existing_product_returns_its_name_and_integer_price() {
    let _guard = file_lock();
    let server = pact(PROVIDER)
        .interaction("a request for an existing product", "", |mut i| {
            i.given_with_params(
                "a product exists",
                &json!({"id": 101, "name": "Wireless Keyboard", "price_cents": 4999, "stock": 150}),
            );
            i.request
                .get()
                .path(term!("^/products/[1-9][0-9]*$", "/products/101"))
                .header("x-correlation-id", correlation_header());
            i.response
                .ok()
                .content_type("application/json")
                .json_body(json_pattern!({
                    "id": like!(101),
                    "name": like!("Wireless Keyboard"),
                    "price_cents": like!(4999),
                }));
            i
        })
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), http());
    let product = run(client.fetch_product(101, &correlation_id())).expect("the product");
    assert_eq!(
        product,
        Product {
            id: 101,
            name: "Wireless Keyboard".to_owned(),
            price_cents: 4999
        }
    );
}

#[test]
fn fetching_a_missing_product_is_not_found() {
    let _guard = file_lock();
    let server = pact(PROVIDER)
        .interaction(
            "a request for a product that does not exist",
            "",
            |mut i| {
                i.given_with_params("no product exists", &json!({"id": 999}));
                i.request
                    .get()
                    .path(term!("^/products/[1-9][0-9]*$", "/products/999"))
                    .header("x-correlation-id", correlation_header());
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
    let client = ProductClient::new(server.url().as_str(), http());
    let outcome = run(client.fetch_product(999, &correlation_id()));
    assert!(
        matches!(outcome, Err(ProductClientError::ProductNotFound(999))),
        "{outcome:?}"
    );
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
                    .path(reservation_path(""))
                    .header("x-correlation-id", correlation_header())
                    .content_type("application/json")
                    .json_body(json_pattern!({"product_id": like!(101), "quantity": 3}));
                i.response
                    .created()
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "id": term!(format!("^{UUID_PATTERN}$"), RESERVATION),
                        "quantity": 3,
                        "status": "reserved",
                    }));
                i
            },
        )
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), http());
    let reservation =
        run(client.reserve(reservation_id(), 101, 3, &correlation_id())).expect("a reservation");
    assert_eq!(reservation.id, reservation_id());
    assert_eq!(reservation.quantity, 3);
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
                    &json!({"reservation_id": RESERVATION, "product_id": 101, "quantity": 3}),
                );
                i.request
                    .put()
                    .path(reservation_path(""))
                    .header("x-correlation-id", correlation_header())
                    .content_type("application/json")
                    .json_body(json_pattern!({"product_id": like!(101), "quantity": 3}));
                i.response
                    .ok()
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "id": term!(format!("^{UUID_PATTERN}$"), RESERVATION),
                        "quantity": 3,
                        "status": "reserved",
                    }));
                i
            },
        )
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), http());
    let reservation =
        run(client.reserve(reservation_id(), 101, 3, &correlation_id())).expect("a reservation");
    assert_eq!(reservation.status, "reserved");
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
                    .path(reservation_path(""))
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
    let client = ProductClient::new(server.url().as_str(), http());
    let outcome = run(client.reserve(reservation_id(), 103, 3, &correlation_id()));
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
                    .path(reservation_path(""))
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
    let client = ProductClient::new(server.url().as_str(), http());
    let outcome = run(client.reserve(reservation_id(), 999, 1, &correlation_id()));
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
                &json!({"reservation_id": RESERVATION, "product_id": 101, "quantity": 3}),
            );
            i.request
                .post()
                .path(reservation_path("/release"))
                .header("x-correlation-id", correlation_header());
            i.response
                .ok()
                .content_type("application/json")
                .json_body(json_pattern!({
                    "id": term!(format!("^{UUID_PATTERN}$"), RESERVATION),
                    "quantity": like!(3),
                    "status": "released",
                }));
            i
        })
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), http());
    let reservation = run(client.release(reservation_id(), &correlation_id())).expect("released");
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
                    &json!({"reservation_id": RESERVATION}),
                );
                i.request
                    .post()
                    .path(reservation_path("/release"))
                    .header("x-correlation-id", correlation_header());
                i.response
                    .not_found()
                    .content_type("application/json")
                    .json_body(json_pattern!({
                        "code": "reservation_not_found",
                        "message": like!(format!("reservation {RESERVATION} does not exist")),
                    }));
                i
            },
        )
        .start_mock_server(None, None);
    let client = ProductClient::new(server.url().as_str(), http());
    let outcome = run(client.release(reservation_id(), &correlation_id()));
    assert!(
        matches!(outcome, Err(ProductClientError::ReservationNotFound(_))),
        "{outcome:?}"
    );
}
