//! notification-service binary: serves and consumes; `notification-service healthcheck` probes
//! a running one.

use std::process::ExitCode;

use notification_service::configuration::{DEFAULT_PORT, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = http_plumbing::healthcheck::run_if_requested(DEFAULT_PORT) {
        return code;
    }
    telemetry::init_logging("notification-service");
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "notification-service stopped with an error"
            );
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let settings: Settings = http_plumbing::settings::load()?;
    let app = notification_service::startup::build(settings).await?;
    tracing::info!(port = app.port(), "notification-service listening");
    app.run_until_stopped().await?;
    Ok(())
}
