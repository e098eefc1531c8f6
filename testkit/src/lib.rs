//! Test harness shared by the services' integration tests. Never a dependency of production code.
//!
//! - [`postgres`]: one real Postgres container per test binary and a fresh database per test.
//! - [`checks`]: checks every service must pass (health, readiness, correlation IDs, docs).
//! - [`contracts`]: provider-side Pact verification that fails when nothing was verified.
//! - [`http`]: a client for black-box calls and the error-envelope assertion.
//! - [`nats`]: a real NATS server (JetStream) per test binary, or a dedicated one to stop.
//! - [`smtp`]: an SMTP listener on the loopback interface that keeps what it accepts.
//! - [`openapi`]: the drift check between a served OpenAPI document and the committed file.
//! - [`spec_check`]: every contract interaction must be valid against the provider's spec.
//! - [`asyncapi_check`]: every message interaction must be a message the provider's AsyncAPI
//!   document describes.
//! - [`install_crypto_provider`]: makes `reqwest` clients usable in test binaries that link Pact.

pub mod asyncapi_check;
pub mod checks;
pub mod contracts;
pub mod http;
pub mod nats;
pub mod openapi;
pub mod postgres;
pub mod smtp;
pub mod spec_check;

/// Installs rustls' `ring` provider for the process, once; later calls do nothing.
///
/// The Pact crates switch reqwest's rustls on without a crypto provider; in a test binary that
/// links them, building any `reqwest::Client` panics until a provider is installed.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
