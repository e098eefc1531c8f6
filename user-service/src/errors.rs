//! The service's one API error type and its mapping onto HTTP responses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use http_plumbing::db::StoreError;
use http_plumbing::error::error_response;

/// Everything a handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path or query parameter is malformed or out of range (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body is well-formed JSON with invalid values (422).
    #[error("{0}")]
    Invalid(String),
    /// No user has this id (404).
    #[error("user {0} does not exist")]
    UserNotFound(i64),
    /// Another user already has this email (409).
    #[error("a user with email {0} already exists")]
    EmailTaken(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UserNotFound(_) => StatusCode::NOT_FOUND,
            Self::EmailTaken(_) => StatusCode::CONFLICT,
            Self::Store(e) => e.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            Self::BadRequest(m) => error_response(status, "invalid_request", m.clone()),
            Self::Invalid(m) => error_response(status, "invalid_input", m.clone()),
            Self::UserNotFound(_) => error_response(status, "user_not_found", self.to_string()),
            Self::EmailTaken(_) => error_response(status, "email_taken", self.to_string()),
            Self::Store(e) => e.to_response(),
        }
    }
}
