//! Installation of the process-wide `tracing` subscriber.

use std::sync::Once;

use tracing_subscriber::EnvFilter;

/// Installs a JSON log subscriber writing to stdout, filtered by `RUST_LOG` (default `info`).
///
/// Span fields (among them `correlation_id`) are included on every line, so a request's log
/// lines can be collected by its correlation ID. Call once, at the start of `main`.
pub fn init_logging(service: &'static str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .flatten_event(true)
        .init();
    tracing::info!(service, "logging initialised");
}

/// Installs a subscriber for tests, once per process, only when `TEST_LOG` is set.
///
/// Tests stay quiet by default; `TEST_LOG=1 cargo test` shows the services' JSON logs.
pub fn init_test_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let filter =
                EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("debug"));
            tracing_subscriber::fmt()
                .json()
                .with_env_filter(filter)
                .with_current_span(false)
                .with_span_list(true)
                .flatten_event(true)
                .with_test_writer()
                .init();
        }
    });
}
