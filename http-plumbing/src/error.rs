//! The JSON error envelope: `{"code": "...", "message": "..."}` on every 4xx and 5xx.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Body of every error response of every service.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({"code": "not_found", "message": "user 42 does not exist"}))]
pub struct ErrorBody {
    /// Stable, machine-readable error code in snake_case (for example `insufficient_stock`).
    pub code: String,
    /// What went wrong, in words a client can act on. Never contains internal details.
    pub message: String,
}

/// Builds an error response carrying the envelope.
pub fn error_response(status: StatusCode, code: &str, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        code: code.to_owned(),
        message: message.into(),
    })
}

/// Fallback for unknown routes: a 404 with the envelope rather than an empty body.
pub async fn route_not_found(req: actix_web::HttpRequest) -> HttpResponse {
    error_response(
        StatusCode::NOT_FOUND,
        "route_not_found",
        format!("no route for {} {}", req.method(), req.path()),
    )
}

/// The 503 every service answers when its own database cannot be reached.
pub fn database_unavailable() -> HttpResponse {
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "the service's database is unavailable; try again shortly",
    );
    response.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from_static("1"),
    );
    response
}

/// The 503 every service answers when more requests wait for its database than it queues.
pub fn overloaded() -> HttpResponse {
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "the service has more requests waiting than it accepts; try again shortly",
    );
    response.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from_static("1"),
    );
    response
}

/// The 500 for a fault that is this service's own bug; the cause is logged, never sent.
pub fn internal_error() -> HttpResponse {
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the service failed to handle the request; it has been logged",
    )
}
