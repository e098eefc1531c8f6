//! The only code that makes HTTP calls: one client per remote service, each with its own
//! minimal view of that service's responses (extra fields are ignored, per Postel's law).

pub mod products;
pub mod users;

use std::time::Duration;

use reqwest::{RequestBuilder, Response};
use serde::de::DeserializeOwned;
use telemetry::{CORRELATION_ID_HEADER, CorrelationId};

pub use products::{ProductClient, ProductClientError};
pub use users::{UserClient, UserClientError};

/// Builds the HTTP client shared by the service clients.
///
/// `timeout` bounds each whole call (connect, send, wait, read); connecting alone gets at most
/// a second of it, so a dependency that is down is reported at once, not after the timeout.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(1)))
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(128)
        .build()
        .expect("a plain-HTTP reqwest client always builds")
}

/// A failed call to another service that no client-specific outcome explains.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No connection could be made: the request was never sent.
    #[error("{service} is unreachable: {reason}")]
    Unreachable {
        /// The remote service's name.
        service: &'static str,
        /// What happened, for logs.
        reason: String,
    },
    /// The service was too slow or answered 5xx: it may or may not have acted.
    #[error("{service} is unavailable: {reason}")]
    Unavailable {
        /// The remote service's name.
        service: &'static str,
        /// What happened, for logs.
        reason: String,
    },
    /// The service answered something this client does not expect.
    #[error("{service} answered unexpectedly: {reason}")]
    Unexpected {
        /// The remote service's name.
        service: &'static str,
        /// What happened, for logs.
        reason: String,
    },
}

impl CallError {
    /// True when the remote service may have acted on the request before failing
    /// (it was sent), so that a compensating call is needed to be safe.
    pub fn is_ambiguous(&self) -> bool {
        !matches!(self, Self::Unreachable { .. })
    }
}

/// Sends `request` with the correlation ID; a transport failure or 5xx is `Unavailable`,
/// any other response is returned for the caller to interpret.
async fn send(
    service: &'static str,
    request: RequestBuilder,
    correlation_id: &CorrelationId,
) -> Result<Response, CallError> {
    let response = request
        .header(CORRELATION_ID_HEADER, correlation_id.as_str())
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() {
                CallError::Unreachable {
                    service,
                    reason: e.to_string(),
                }
            } else {
                CallError::Unavailable {
                    service,
                    reason: describe(&e),
                }
            }
        })?;
    if response.status().is_server_error() {
        return Err(CallError::Unavailable {
            service,
            reason: format!("answered {}", response.status()),
        });
    }
    Ok(response)
}

/// Reads a JSON body; a body of the wrong shape is `Unexpected`.
async fn read_json<T: DeserializeOwned>(
    service: &'static str,
    response: Response,
) -> Result<T, CallError> {
    let status = response.status();
    response.json().await.map_err(|e| CallError::Unexpected {
        service,
        reason: format!("{status} with an unreadable body: {e}"),
    })
}

fn unexpected(service: &'static str, response: &Response) -> CallError {
    CallError::Unexpected {
        service,
        reason: format!("status {}", response.status()),
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else {
        format!("request failed: {e}")
    }
}
