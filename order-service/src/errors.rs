//! The service's one API error type and its mapping onto HTTP responses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use http_plumbing::db::StoreError;
use http_plumbing::error::error_response;
use uuid::Uuid;

use crate::clients::CallError;

/// Everything a handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path or query parameter is malformed or out of range (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body is well-formed JSON with invalid values (422).
    #[error("{0}")]
    Invalid(String),
    /// The order's user does not exist in user-service (422).
    #[error("user {0} does not exist")]
    UnknownUser(i64),
    /// The order's product does not exist in product-service (422).
    #[error("product {0} does not exist")]
    UnknownProduct(i64),
    /// Not enough stock (409); the message is product-service's.
    #[error("{0}")]
    InsufficientStock(String),
    /// No order has this id (404).
    #[error("order {0} does not exist")]
    OrderNotFound(Uuid),
    /// user-service failed or is unreachable (503).
    #[error("user-service is unavailable; no order was placed. Try again shortly")]
    UserServiceUnavailable(#[source] CallError),
    /// product-service failed or is unreachable (503).
    #[error("product-service is unavailable; nothing was changed. Try again shortly")]
    ProductServiceUnavailable(#[source] CallError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault of this service's own (500); the cause is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) | Self::UnknownUser(_) | Self::UnknownProduct(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::InsufficientStock(_) => StatusCode::CONFLICT,
            Self::OrderNotFound(_) => StatusCode::NOT_FOUND,
            Self::UserServiceUnavailable(_) | Self::ProductServiceUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Store(e) => e.status(),
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::BadRequest(_) => "invalid_request",
            Self::Invalid(_) => "invalid_input",
            Self::UnknownUser(_) => "unknown_user",
            Self::UnknownProduct(_) => "unknown_product",
            Self::InsufficientStock(_) => "insufficient_stock",
            Self::OrderNotFound(_) => "order_not_found",
            Self::UserServiceUnavailable(e) | Self::ProductServiceUnavailable(e) => {
                tracing::warn!(error = %e, "dependency failure");
                if matches!(self, Self::UserServiceUnavailable(_)) {
                    "user_service_unavailable"
                } else {
                    "product_service_unavailable"
                }
            }
            Self::Store(e) => return e.to_response(),
            Self::Internal(cause) => {
                tracing::error!(cause, "internal error");
                return http_plumbing::error::internal_error();
            }
        };
        error_response(self.status_code(), code, self.to_string())
    }
}
