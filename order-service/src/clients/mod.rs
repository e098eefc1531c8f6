//! The only code that makes HTTP calls or talks to NATS: one client per remote service, each
//! with its own minimal view of that service's responses (extra fields are ignored, per
//! Postel's law), and [`broker`], the connection the outbox relay publishes over.
//!
//! Every call goes through [`resilience`]: a bulkhead, retries inside the caller's deadline, a
//! per-attempt timeout and a circuit breaker per remote service.

pub mod broker;
pub mod products;
pub mod resilience;
pub mod users;

use std::time::Duration;

use http::Extensions;
use reqwest::Response;
use serde::de::DeserializeOwned;
use telemetry::{CORRELATION_ID_HEADER, CorrelationId};
use tokio::time::Instant;

pub use products::{ProductClient, ProductClientError};
pub use resilience::{Downstream, ResilienceSettings};
pub use users::{UserClient, UserClientError};

use resilience::{Attempts, Deadline, NotSent};

/// Builds the plain HTTP client under a service client (one per worker thread).
///
/// Each attempt's timeout is set per request ([`resilience`]); connecting alone gets at most a
/// second of it, so a dependency that is down is reported at once, not after the timeout.
pub fn http_client(attempt_timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(attempt_timeout)
        .connect_timeout(attempt_timeout.min(Duration::from_secs(1)))
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(128)
        .build()
        .expect("a plain-HTTP reqwest client always builds")
}

/// How long a client should wait before trying again after a 503 that names no better time.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A failed call to another service that no client-specific outcome explains.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Nothing was sent, or nothing that could have been acted on: the connection was refused,
    /// the breaker is open, too many calls are in flight, or no time was left.
    #[error("{service} is unreachable: {reason}")]
    Unreachable {
        /// The remote service's name.
        service: &'static str,
        /// What happened, for logs.
        reason: String,
        /// When trying again makes sense.
        retry_after: Duration,
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
    /// True when the remote service may have acted on the request before the call failed, so
    /// that a compensating call is needed to be safe.
    pub fn maybe_acted(&self) -> bool {
        !matches!(self, Self::Unreachable { .. })
    }

    /// When a client of order-service should try again.
    pub fn retry_after(&self) -> Duration {
        match self {
            Self::Unreachable { retry_after, .. } => *retry_after,
            Self::Unavailable { .. } | Self::Unexpected { .. } => DEFAULT_RETRY_AFTER,
        }
    }
}

/// Sends `request` to `downstream` with the correlation ID, by `deadline`; a transport failure,
/// a refusal or a 5xx is a [`CallError`], any other response is returned for the caller to
/// interpret.
async fn send(
    downstream: &Downstream,
    request: reqwest_middleware::RequestBuilder,
    correlation_id: &CorrelationId,
    deadline: Instant,
) -> Result<Response, CallError> {
    let service = downstream.name;
    let _permit = match downstream.enter() {
        Ok(permit) => permit,
        Err(reason) => return Err(not_sent(downstream, reason)),
    };
    let (client, request) = request
        .header(CORRELATION_ID_HEADER, correlation_id.as_str())
        .build_split();
    let request = request.map_err(|e| CallError::Unexpected {
        service,
        reason: format!("the request could not be built: {e}"),
    })?;
    let mut extensions = Extensions::new();
    extensions.insert(Deadline(deadline));
    // Every attempt is bounded by the deadline already; this only guards against a layer that
    // does not stop in time.
    let outcome = tokio::time::timeout_at(
        deadline + Duration::from_millis(50),
        client.execute_with_extensions(request, &mut extensions),
    )
    .await;
    let maybe_acted = extensions
        .get::<Attempts>()
        .is_some_and(Attempts::maybe_acted);
    let error = match outcome {
        Ok(Ok(response)) if response.status().is_server_error() => {
            return Err(CallError::Unavailable {
                service,
                reason: format!("answered {}", response.status()),
            });
        }
        Ok(Ok(response)) => return Ok(response),
        Ok(Err(e)) => e,
        Err(_) => {
            let reason = "the deadline passed".to_owned();
            return Err(if maybe_acted {
                CallError::Unavailable { service, reason }
            } else {
                not_sent(downstream, NotSent::DeadlineExceeded)
            });
        }
    };
    if !maybe_acted {
        if let Some(reason) = resilience::not_sent_reason(&error) {
            return Err(not_sent(downstream, reason));
        }
        return Err(CallError::Unreachable {
            service,
            reason: error.to_string(),
            retry_after: DEFAULT_RETRY_AFTER,
        });
    }
    let reason = match resilience::transport_error(&error) {
        Some(e) if e.is_timeout() => "timed out".to_owned(),
        Some(e) => format!("request failed: {e}"),
        None => error.to_string(),
    };
    Err(CallError::Unavailable { service, reason })
}

/// The error for a call that was not sent, and when to try again.
pub fn not_sent(downstream: &Downstream, reason: NotSent) -> CallError {
    CallError::Unreachable {
        service: downstream.name,
        reason: reason.to_string(),
        retry_after: match reason {
            NotSent::BreakerOpen => downstream.retry_after(),
            NotSent::BulkheadFull | NotSent::DeadlineExceeded => DEFAULT_RETRY_AFTER,
        },
    }
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
