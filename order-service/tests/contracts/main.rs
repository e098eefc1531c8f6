//! Consumer-driven contracts: order-service's real clients (`UserClient`, `ProductClient`)
//! driven against Pact mock servers. Passing tests write `contracts/order-service-*.json`,
//! which user-service and product-service verify in their own tests.
//!
//! Regenerate deterministically with `cargo xtask contracts` (it deletes the files first, so
//! stale interactions disappear, then fails if the result differs from what is committed).

mod product_service;
mod user_service;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use pact_consumer::prelude::*;
use telemetry::CorrelationId;

/// The consumer's name in every contract.
pub const CONSUMER: &str = "order-service";
/// An example correlation ID; the contracts require the header, not this value.
pub const CORRELATION_ID: &str = "3f2b6c1e-8d4a-4f7b-9a2e-5c1d0e9f8a7b";
/// Pattern of the correlation ID header order-service sends.
pub const CORRELATION_ID_PATTERN: &str = r"^[\x21-\x7e]{1,128}$";
/// Pattern of a UUID in a path or body.
pub const UUID_PATTERN: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/// The folder the contracts are written to: `<workspace>/contracts`.
pub fn contracts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts")
}

/// A Pact V4 builder for `provider` that writes into [`contracts_dir`].
pub fn pact(provider: &str) -> PactBuilder {
    testkit::install_crypto_provider();
    let mut builder = PactBuilder::new_v4(CONSUMER, provider);
    builder.with_output_dir(contracts_dir());
    builder
}

/// Serialises the tests: each one merges its interactions into a shared contract file.
pub fn file_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The correlation ID the clients are called with.
pub fn correlation_id() -> CorrelationId {
    CorrelationId::parse(CORRELATION_ID).expect("a valid correlation ID")
}

/// Runs a client future to completion (the Pact mock server runs on its own runtime).
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// The plain-HTTP client the service builds, with its default attempt timeout.
pub fn http() -> reqwest::Client {
    let settings = order_service::clients::ResilienceSettings::default();
    order_service::clients::http_client(std::time::Duration::from_millis(
        settings.attempt_timeout_ms,
    ))
}

/// A remote service with the default breaker, bulkhead and retries.
pub fn downstream(name: &'static str) -> order_service::clients::Downstream {
    order_service::clients::Downstream::new(name, Default::default())
}

/// The default request deadline, from now.
pub fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(2)
}

/// The request header every call carries.
pub fn correlation_header() -> StringPattern {
    term!(CORRELATION_ID_PATTERN, CORRELATION_ID).into()
}
