//! The service's one API error type and its mapping onto HTTP responses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use http_plumbing::db::StoreError;
use http_plumbing::error::error_response;

use crate::clients::BrokerError;

/// Everything a handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path or query parameter is malformed or out of range (400).
    #[error("{0}")]
    BadRequest(String),
    /// No dead letter has this id (404).
    #[error("dead letter {0} does not exist")]
    DeadLetterNotFound(u64),
    /// A dead letter that still cannot be handled (422), with the reason.
    #[error("{0}")]
    StillPoison(String),
    /// A replayed cancellation whose confirmation has not been sent (409).
    #[error("{0}")]
    CreatedNotSentYet(String),
    /// The SMTP server is unreachable (503).
    #[error("the SMTP server is unavailable; try again shortly")]
    MailUnavailable,
    /// NATS is unreachable (503).
    #[error("the message broker is unavailable; try again shortly")]
    Broker(#[from] BrokerError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::DeadLetterNotFound(_) => StatusCode::NOT_FOUND,
            Self::StillPoison(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::CreatedNotSentYet(_) => StatusCode::CONFLICT,
            Self::MailUnavailable | Self::Broker(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(e) => e.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            Self::BadRequest(m) => error_response(status, "invalid_request", m.clone()),
            Self::DeadLetterNotFound(_) => {
                error_response(status, "dead_letter_not_found", self.to_string())
            }
            Self::StillPoison(m) => error_response(status, "still_undeliverable", m.clone()),
            Self::CreatedNotSentYet(m) => error_response(status, "created_not_sent", m.clone()),
            Self::MailUnavailable => error_response(status, "smtp_unavailable", self.to_string()),
            Self::Broker(e) => {
                tracing::error!(error = %e, "broker failure");
                error_response(status, "broker_unavailable", self.to_string())
            }
            Self::Store(e) => e.to_response(),
        }
    }
}
