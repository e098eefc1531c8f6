//! The service's one API error type and its mapping onto HTTP responses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use http_plumbing::db::StoreError;
use http_plumbing::error::error_response;
use uuid::Uuid;

/// Everything a handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path or query parameter is malformed or out of range (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body is well-formed JSON with invalid values (422).
    #[error("{0}")]
    Invalid(String),
    /// No product has this id (404).
    #[error("product {0} does not exist")]
    ProductNotFound(i64),
    /// No reservation has this id (404).
    #[error("reservation {0} does not exist")]
    ReservationNotFound(Uuid),
    /// Not enough stock for the reservation (409).
    #[error("product {product_id} has {available} units in stock, {requested} were requested")]
    InsufficientStock {
        /// The product.
        product_id: i64,
        /// Units in stock.
        available: i32,
        /// Units asked for.
        requested: i32,
    },
    /// The reservation id is taken by a reservation with other terms (409).
    #[error(
        "reservation {0} already exists for a different product or quantity; use a new reservation id"
    )]
    ReservationConflict(Uuid),
    /// The reservation id was released (before or after it held stock): it can never hold
    /// stock again (409).
    #[error("reservation {0} was released and can hold no stock again; use a new reservation id")]
    ReservationReleased(Uuid),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::ProductNotFound(_) | Self::ReservationNotFound(_) => StatusCode::NOT_FOUND,
            Self::InsufficientStock { .. }
            | Self::ReservationConflict(_)
            | Self::ReservationReleased(_) => StatusCode::CONFLICT,
            Self::Store(e) => e.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::BadRequest(_) => "invalid_request",
            Self::Invalid(_) => "invalid_input",
            Self::ProductNotFound(_) => "product_not_found",
            Self::ReservationNotFound(_) => "reservation_not_found",
            Self::InsufficientStock { .. } => "insufficient_stock",
            Self::ReservationConflict(_) => "reservation_conflict",
            Self::ReservationReleased(_) => "reservation_released",
            Self::Store(e) => return e.to_response(),
        };
        error_response(self.status_code(), code, self.to_string())
    }
}
