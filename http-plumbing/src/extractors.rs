//! Extractor settings whose rejections are JSON envelopes, never actix's plain-text bodies.
//!
//! The rule every service follows: a request that cannot be parsed (malformed JSON, a path or
//! query parameter of the wrong type or out of range) is a 400; a well-formed JSON body with
//! the wrong shape (missing field, wrong type) or invalid values is a 422; a body over
//! [`MAX_BODY_BYTES`] is a 413.

use actix_web::error::{InternalError, JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::web::{JsonConfig, PathConfig, QueryConfig};
use actix_web::{Error, HttpRequest};

use crate::error::error_response;

/// Largest JSON request body accepted, in bytes. Larger bodies get a 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// JSON body settings: size limit, envelope errors, and tolerance of curl's default type.
///
/// `curl -d '{...}'` without `-H 'Content-Type: application/json'` sends
/// `application/x-www-form-urlencoded`; the seed tutorial's documented curl does exactly that,
/// so such a body is parsed as JSON too. Any other non-JSON content type is a 415.
pub fn json_config() -> JsonConfig {
    JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .content_type(|mime| mime == actix_web::mime::APPLICATION_WWW_FORM_URLENCODED)
        .error_handler(json_error)
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> Error {
    let response = match &err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is larger than {limit} bytes"),
        ),
        JsonPayloadError::ContentType => error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "request body must be JSON (Content-Type: application/json)",
        ),
        JsonPayloadError::Deserialize(inner) if inner.is_data() => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("request body has the wrong shape: {inner}"),
        ),
        JsonPayloadError::Deserialize(inner) => error_response(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("request body is not valid JSON: {inner}"),
        ),
        other => error_response(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("request body could not be read: {other}"),
        ),
    };
    InternalError::from_response(err, response).into()
}

/// Path parameter settings: a malformed or out-of-range parameter is a 400 envelope.
pub fn path_config() -> PathConfig {
    PathConfig::default().error_handler(|err: PathError, _req| {
        let response = error_response(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            format!("path parameter is invalid: {err}"),
        );
        InternalError::from_response(err, response).into()
    })
}

/// Query string settings: a malformed or out-of-range parameter is a 400 envelope.
pub fn query_config() -> QueryConfig {
    QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        let response = error_response(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("query string is invalid: {err}"),
        );
        InternalError::from_response(err, response).into()
    })
}
