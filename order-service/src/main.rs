//! order-service binary: `order-service` serves; `order-service healthcheck` probes a running one.

use std::process::ExitCode;

use order_service::configuration::{DEFAULT_PORT, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = http_plumbing::healthcheck::run_if_requested(DEFAULT_PORT) {
        return code;
    }
    // One process-wide TLS crypto provider (ring, which async-nats uses already). Builds in
    // which a dev-dependency (the Pact crates) unifies reqwest's `rustls-no-provider` feature
    // in — the binary the crash tests start — need it before any HTTP client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    telemetry::init_logging("order-service");
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "order-service stopped with an error"
            );
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let settings: Settings = http_plumbing::settings::load()?;
    let app = order_service::startup::build(settings).await?;
    tracing::info!(port = app.port(), "order-service listening");
    app.run_until_stopped().await?;
    Ok(())
}
