//! What every call to another service goes through: a bulkhead, retries with backoff and
//! jitter inside the caller's deadline, a per-attempt timeout, and a circuit breaker.
//!
//! The layers, outermost first:
//! 1. **Bulkhead** ([`Downstream::enter`]): at most `max_concurrent` calls in flight per remote
//!    service, process-wide; one more is refused at once (nothing is sent).
//! 2. **Retries** (reqwest-retry's `RetryTransientMiddleware`, exponential backoff with
//!    bounded jitter): transient failures (connect errors, timeouts, 5xx, 408, 429) are tried
//!    again, at most `retries` times. Every call order-service makes is idempotent by design
//!    (a user lookup, a reservation under the order's id, a release), so every call may be
//!    retried; a call that is not idempotent must not use these clients.
//! 3. **Deadline** ([`AttemptDeadline`]): each attempt gets `attempt_timeout` or what is left of
//!    the caller's [`Deadline`], whichever is shorter; with no time left no attempt starts.
//! 4. **Circuit breaker** ([`Breaker`], recloser): per remote service, process-wide. It opens
//!    when the failure rate over the last `window` attempts reaches `failure_rate` (a 5xx or a
//!    transport failure is a failure); while open, attempts fail at once without being sent;
//!    after `open` it lets calls through again (half-open) and closes when `half_open_calls` of
//!    them mostly succeed, else opens again. recloser keeps a true ring buffer of the last
//!    `window` outcomes. tower-resilience-circuitbreaker 0.14 was tried and measured: its
//!    count-based window counts every call since the last state change (it never opened in the
//!    freeze test after a few thousand successes: p50 1.2 s instead of 25 ms), and its
//!    time-based window scans every recorded call on every call.
//!
//! recloser does not expose its state, so [`Downstream::open_for`] reports what the clients
//! observed: the breaker refused a call within the last [`OBSERVED_OPEN`]. The saga asks it
//! before writing anything, to refuse an order at once while a breaker is open. A call still
//! reaches the breaker at least every [`OBSERVED_OPEN`], so the view follows the breaker into
//! half-open within that time.
//!
//! Every attempt handed to the transport, and every one of those whose connection was refused,
//! is counted in the call's extensions ([`Attempts`]), so that the caller knows whether the
//! remote service may have acted on the call (and a compensating call is needed).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::Extensions;
use recloser::{AsyncRecloser, Recloser};
use reqwest::{Request, Response};
use reqwest_middleware::{ClientWithMiddleware, Middleware, Next};
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{Jitter, RetryTransientMiddleware};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Resilience settings shared by the clients of every remote service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResilienceSettings {
    /// Longest one attempt may take (connect, send, wait, read), in milliseconds.
    pub attempt_timeout_ms: u64,
    /// Retries after the first attempt, for transient failures only.
    pub retries: u32,
    /// Shortest pause before a retry, in milliseconds (doubled per retry, with jitter).
    pub retry_backoff_ms: u64,
    /// Calls in flight to one remote service at most; one more is a 503 at once.
    pub max_concurrent: usize,
    /// Attempts the breaker judges its failure rate over.
    pub breaker_window: usize,
    /// Failure rate (0 to 1) over the window at which the breaker opens.
    pub breaker_failure_rate: f32,
    /// How long the breaker stays open before it lets calls through again, in milliseconds.
    pub breaker_open_ms: u64,
    /// Calls judged in the half-open state before the breaker closes or opens again.
    pub breaker_half_open_calls: usize,
}

impl Default for ResilienceSettings {
    fn default() -> Self {
        Self {
            attempt_timeout_ms: 600,
            retries: 2,
            retry_backoff_ms: 25,
            max_concurrent: 256,
            breaker_window: 20,
            breaker_failure_rate: 0.5,
            breaker_open_ms: 5000,
            breaker_half_open_calls: 5,
        }
    }
}

/// The moment by which a call must be over; put on a request as an extension.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Instant);

/// The attempts of one call that were handed to the transport, and how many of those were
/// refused at connect (so never reached the remote service).
#[derive(Debug, Clone, Copy, Default)]
pub struct Attempts {
    sent: u32,
    refused: u32,
}

impl Attempts {
    /// True when at least one attempt may have reached the remote service: it was handed to
    /// the transport and not refused at connect (it timed out, was cut short, or answered).
    pub fn maybe_acted(&self) -> bool {
        self.sent > self.refused
    }
}

/// Why an attempt was not sent at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotSent {
    /// The circuit breaker is open.
    #[error("the circuit breaker is open")]
    BreakerOpen,
    /// The caller's deadline has passed.
    #[error("no time was left before the deadline")]
    DeadlineExceeded,
    /// Too many calls are in flight to the remote service.
    #[error("too many calls are in flight (bulkhead full)")]
    BulkheadFull,
}

/// How long after the breaker last refused a call it is taken to be still open.
pub const OBSERVED_OPEN: Duration = Duration::from_millis(100);

/// When the breaker last refused a call, and when the current run of refusals began, in
/// milliseconds since `epoch` (0: never).
#[derive(Debug)]
struct Refusals {
    epoch: Instant,
    last: AtomicU64,
    since: AtomicU64,
}

impl Refusals {
    fn now(&self) -> u64 {
        // Never 0, which means "never".
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    fn record(&self) {
        let now = self.now();
        let last = self.last.swap(now, Ordering::Relaxed);
        if last == 0 || now.saturating_sub(last) > OBSERVED_OPEN.as_millis() as u64 {
            self.since.store(now, Ordering::Relaxed);
        }
    }

    /// How long the current run of refusals has lasted, if the last was within
    /// [`OBSERVED_OPEN`].
    fn open_for(&self) -> Option<Duration> {
        let last = self.last.load(Ordering::Relaxed);
        let now = self.now();
        (last != 0 && now.saturating_sub(last) < OBSERVED_OPEN.as_millis() as u64)
            .then(|| Duration::from_millis(now.saturating_sub(self.since.load(Ordering::Relaxed))))
    }
}

/// One remote service as the process sees it: its breaker and bulkhead, shared by every
/// worker's client, and the settings.
#[derive(Clone)]
pub struct Downstream {
    /// The remote service's name, for errors and logs.
    pub name: &'static str,
    breaker: AsyncRecloser,
    refusals: Arc<Refusals>,
    bulkhead: Arc<Semaphore>,
    settings: ResilienceSettings,
}

impl std::fmt::Debug for Downstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Downstream")
            .field("name", &self.name)
            .field("observed_open", &self.refusals.open_for().is_some())
            .field("in_flight_permits", &self.bulkhead.available_permits())
            .finish()
    }
}

impl Downstream {
    /// A remote service with a fresh breaker and bulkhead.
    pub fn new(name: &'static str, settings: ResilienceSettings) -> Self {
        let breaker = Recloser::custom()
            .closed_len(settings.breaker_window.max(1))
            .half_open_len(settings.breaker_half_open_calls.max(1))
            .error_rate(settings.breaker_failure_rate)
            .open_wait(Duration::from_millis(settings.breaker_open_ms))
            .build();
        Self {
            name,
            breaker: AsyncRecloser::from(breaker),
            refusals: Arc::new(Refusals {
                epoch: Instant::now(),
                last: AtomicU64::new(0),
                since: AtomicU64::new(0),
            }),
            bulkhead: Arc::new(Semaphore::new(settings.max_concurrent.max(1))),
            settings,
        }
    }

    /// Takes a place in the bulkhead for one call (its retries included), or refuses at once.
    pub fn enter(&self) -> Result<OwnedSemaphorePermit, NotSent> {
        Arc::clone(&self.bulkhead)
            .try_acquire_owned()
            .map_err(|_| NotSent::BulkheadFull)
    }

    /// While the breaker is (observed) open, about how long it stays open; `None` when a call
    /// should be let through to the breaker.
    pub fn open_for(&self) -> Option<Duration> {
        let open = Duration::from_millis(self.settings.breaker_open_ms);
        self.refusals
            .open_for()
            .map(|lasted| open.saturating_sub(lasted).max(Duration::from_secs(1)))
    }

    /// How long a client refused by the breaker should wait: about what is left of its open
    /// time, at least a second.
    pub fn retry_after(&self) -> Duration {
        self.open_for()
            .unwrap_or(Duration::from_millis(self.settings.breaker_open_ms))
    }

    /// A client for this remote service: retries, the attempt deadline and the breaker around
    /// `http` (build one per worker thread; the breaker and bulkhead are shared).
    pub fn client(&self, http: reqwest::Client) -> ClientWithMiddleware {
        let policy = ExponentialBackoff::builder()
            .retry_bounds(
                Duration::from_millis(self.settings.retry_backoff_ms.max(1)),
                Duration::from_millis(self.settings.retry_backoff_ms.max(1) * 8),
            )
            .jitter(Jitter::Bounded)
            .build_with_max_retries(self.settings.retries);
        reqwest_middleware::ClientBuilder::new(http)
            .with(RetryTransientMiddleware::new_with_policy(policy))
            .with(AttemptDeadline {
                attempt_timeout: Duration::from_millis(self.settings.attempt_timeout_ms),
            })
            .with(Breaker {
                breaker: self.breaker.clone(),
                refusals: Arc::clone(&self.refusals),
            })
            .build()
    }
}

/// Bounds each attempt by the attempt timeout and the caller's [`Deadline`].
struct AttemptDeadline {
    attempt_timeout: Duration,
}

/// Shortest time worth starting an attempt with.
const MIN_ATTEMPT: Duration = Duration::from_millis(5);

#[async_trait::async_trait]
impl Middleware for AttemptDeadline {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let mut timeout = self.attempt_timeout;
        if let Some(Deadline(deadline)) = extensions.get::<Deadline>().copied() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < MIN_ATTEMPT {
                return Err(reqwest_middleware::Error::middleware(
                    NotSent::DeadlineExceeded,
                ));
            }
            timeout = timeout.min(left);
        }
        *req.timeout_mut() = Some(timeout);
        next.run(req, extensions).await
    }
}

/// Fails attempts at once while the remote service's breaker is open; records each attempt's
/// outcome (a transport failure or a 5xx counts as a failure).
struct Breaker {
    breaker: AsyncRecloser,
    refusals: Arc<Refusals>,
}

/// An attempt's outcome as the breaker judges it.
enum Judged {
    /// A 5xx: a failure, but the response goes back to the caller as it is.
    ServerError(Response),
    /// No response.
    Failed(reqwest_middleware::Error),
}

#[async_trait::async_trait]
impl Middleware for Breaker {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        // Counted before sending: an attempt cut short by the caller's deadline may have
        // reached the remote service.
        extensions.get_or_insert_default::<Attempts>().sent += 1;
        let attempt = async {
            let result = next.run(req, &mut *extensions).await;
            match result {
                Ok(response) if response.status().is_server_error() => {
                    Err(Judged::ServerError(response))
                }
                Ok(response) => Ok(response),
                Err(e) => Err(Judged::Failed(e)),
            }
        };
        let outcome = self.breaker.call(attempt).await;
        let refused = match &outcome {
            Err(recloser::Error::Rejected) => {
                self.refusals.record();
                true
            }
            Err(recloser::Error::Inner(Judged::Failed(reqwest_middleware::Error::Reqwest(e)))) => {
                e.is_connect()
            }
            _ => false,
        };
        if refused {
            extensions.get_or_insert_default::<Attempts>().refused += 1;
        }
        match outcome {
            Ok(response) => Ok(response),
            Err(recloser::Error::Inner(Judged::ServerError(response))) => Ok(response),
            Err(recloser::Error::Inner(Judged::Failed(e))) => Err(e),
            Err(recloser::Error::Rejected) => {
                Err(reqwest_middleware::Error::middleware(NotSent::BreakerOpen))
            }
        }
    }
}

/// The [`NotSent`] reason behind a failed call, if that is what ended it, looking through
/// reqwest-retry's wrapping.
pub fn not_sent_reason(error: &reqwest_middleware::Error) -> Option<NotSent> {
    let reqwest_middleware::Error::Middleware(e) = error else {
        return None;
    };
    if let Some(reason) = e.downcast_ref::<NotSent>() {
        return Some(*reason);
    }
    match e.downcast_ref::<reqwest_retry::RetryError>()? {
        reqwest_retry::RetryError::WithRetries { err, .. }
        | reqwest_retry::RetryError::Error(err) => not_sent_reason(err),
    }
}

/// The reqwest error behind a failed call, if one ended it, looking through reqwest-retry's
/// wrapping.
pub fn transport_error(error: &reqwest_middleware::Error) -> Option<&reqwest::Error> {
    match error {
        reqwest_middleware::Error::Reqwest(e) => Some(e),
        reqwest_middleware::Error::Middleware(e) => {
            match e.downcast_ref::<reqwest_retry::RetryError>()? {
                reqwest_retry::RetryError::WithRetries { err, .. }
                | reqwest_retry::RetryError::Error(err) => transport_error(err),
            }
        }
    }
}
