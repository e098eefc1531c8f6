//! The service's one API error type and its mapping onto HTTP responses.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use http_plumbing::db::StoreError;
use http_plumbing::error::error_response;
use uuid::Uuid;

use crate::clients::DEFAULT_RETRY_AFTER;
use crate::domain::RejectionReason;
use crate::saga::{CancelError, PlaceError};

/// The header marking an answer repeated from an earlier request with the same key.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// Everything a handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path or query parameter is malformed or out of range (400).
    #[error("{0}")]
    BadRequest(String),
    /// The `Idempotency-Key` header is malformed (400).
    #[error("{0}")]
    BadIdempotencyKey(String),
    /// The body is well-formed JSON with invalid values (422).
    #[error("{0}")]
    Invalid(String),
    /// No order has this id (404).
    #[error("order {0} does not exist")]
    OrderNotFound(Uuid),
    /// Placing the order failed.
    #[error(transparent)]
    Place(#[from] PlaceError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CancelError> for ApiError {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::NotFound(id) => Self::OrderNotFound(id),
            CancelError::Store(e) => Self::Store(e),
        }
    }
}

/// Status and code of an order refused for `reason`.
fn refusal(reason: RejectionReason) -> (StatusCode, &'static str) {
    let status = match reason {
        RejectionReason::UnknownUser | RejectionReason::UnknownProduct => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        RejectionReason::InsufficientStock => StatusCode::CONFLICT,
        RejectionReason::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        RejectionReason::UserServiceUnavailable
        | RejectionReason::ProductServiceUnavailable
        | RejectionReason::DatabaseUnavailable
        | RejectionReason::DeadlineExceeded => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, reason.as_str())
}

fn with_retry_after(mut response: HttpResponse, after: Duration) -> HttpResponse {
    let secs = after.as_millis().div_ceil(1000).max(1);
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::BadIdempotencyKey(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::OrderNotFound(_) => StatusCode::NOT_FOUND,
            Self::Store(e) | Self::Place(PlaceError::Store(e)) => e.status(),
            Self::Place(PlaceError::KeyReused) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Place(PlaceError::KeyInFlight) => StatusCode::CONFLICT,
            Self::Place(PlaceError::Replayed { reason, .. }) => refusal(*reason).0,
            Self::Place(PlaceError::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Place(e) => refusal(e.rejection_reason()).0,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = self.to_string();
        match self {
            Self::BadRequest(_) => error_response(status, "invalid_request", message),
            Self::BadIdempotencyKey(_) => {
                error_response(status, "invalid_idempotency_key", message)
            }
            Self::Invalid(_) => error_response(status, "invalid_input", message),
            Self::OrderNotFound(_) => error_response(status, "order_not_found", message),
            Self::Store(e) | Self::Place(PlaceError::Store(e)) => e.to_response(),
            Self::Place(PlaceError::Internal(cause)) => {
                tracing::error!(cause, "internal error");
                http_plumbing::error::internal_error()
            }
            Self::Place(PlaceError::KeyReused) => {
                error_response(status, "idempotency_key_reused", message)
            }
            Self::Place(PlaceError::KeyInFlight) => with_retry_after(
                error_response(status, "request_in_progress", message),
                DEFAULT_RETRY_AFTER,
            ),
            Self::Place(PlaceError::Replayed { reason, message }) => {
                let mut response = error_response(status, refusal(*reason).1, message.clone());
                response.headers_mut().insert(
                    actix_web::http::header::HeaderName::from_static(IDEMPOTENT_REPLAYED),
                    HeaderValue::from_static("true"),
                );
                response
            }
            Self::Place(e) => {
                let code = refusal(e.rejection_reason()).1;
                let retry_after = match e {
                    PlaceError::UserServiceUnavailable(call)
                    | PlaceError::ProductServiceUnavailable(call) => {
                        tracing::warn!(error = %call, "dependency failure");
                        Some(call.retry_after())
                    }
                    PlaceError::TimedOut => Some(DEFAULT_RETRY_AFTER),
                    _ => None,
                };
                let response = error_response(status, code, message);
                match retry_after {
                    Some(after) => with_retry_after(response, after),
                    None => response,
                }
            }
        }
    }
}
