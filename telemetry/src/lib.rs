//! Telemetry plumbing shared by the services: structured JSON logs and correlation IDs.
//!
//! - [`init_logging`] installs a JSON `tracing` subscriber filtered by `RUST_LOG`.
//! - [`correlation_middleware`] accepts an incoming `X-Correlation-ID` (or makes one), stores it
//!   in the request, echoes it on the response, and [`RootSpan`] puts it on the request's root
//!   span so that every log line written while serving the request carries it.
//! - [`CorrelationId`] is an actix extractor handlers use to forward the ID on outbound calls.

mod correlation;
mod logging;

pub use correlation::{CORRELATION_ID_HEADER, CorrelationId, RootSpan, correlation_middleware};
pub use logging::{init_logging, init_test_logging};
