//! Builds the application: database, migrations, NATS streams and consumer, the HTTP server
//! and the consumer worker beside it, and the shutdown that stops both.

use std::net::TcpListener;
use std::time::Duration;

use http_plumbing::db::{DatabaseSettings, Db};
use http_plumbing::server::{ServiceApi, serve};
use sqlx::migrate::Migrator;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::clients::{Broker, Mailer};
use crate::configuration::Settings;
use crate::notifying::Notifier;
use crate::routes;
use crate::workers::consumer::ConsumerWorker;

/// The service's base OpenAPI document; paths and schemas are collected from the routes.
#[derive(OpenApi)]
#[openapi(
    info(title = "notification-service"),
    tags(
        (name = "notifications", description = "The emails sent for order events"),
        (name = "dead-letters", description = "Events the consumer gave up on: list and replay"),
        (name = "operations", description = "Liveness and readiness (readiness needs the database and NATS; 503 `broker_unavailable` without NATS)"),
    )
)]
pub struct ApiDoc;

/// What this service contributes to the shared server.
pub fn api(
    broker: Broker,
    mailer: Mailer,
) -> ServiceApi<impl Fn(&mut ServiceConfig, &Db) + Clone + Send + 'static> {
    ServiceApi {
        name: "notification-service",
        openapi: ApiDoc::openapi(),
        configure: move |cfg: &mut ServiceConfig, _: &Db| routes::configure(cfg, &broker, &mailer),
    }
}

/// This service's migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Connections the consumer worker holds (it handles one message at a time; the second
/// serves the ordering check while the first is in a transaction).
const WORKER_CONNECTIONS: u32 = 2;

/// The running service: the HTTP server and the consumer worker.
#[allow(missing_debug_implementations)] // the shared Application is not Debug.
pub struct Application {
    server: http_plumbing::server::Application,
    worker: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

impl Application {
    /// The HTTP port actually bound.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Serves until SIGTERM/SIGINT: the worker stops pulling and finishes the message in
    /// hand while the server drains its requests; returns when both are done.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            server,
            worker,
            stop,
        } = self;
        let served = server.run_until_stopped().await;
        let _ = stop.send(true);
        if let Err(e) = worker.await {
            tracing::error!(error = %e, "the consumer worker panicked");
        }
        served
    }
}

/// Connects to the database and NATS, applies migrations, creates the streams and the
/// consumer, binds the listener, and starts the consumer worker.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let pool = http_plumbing::db::connect_and_migrate(
        &settings.database_url,
        settings.database_max_connections,
        Duration::from_secs(settings.database_connect_wait_secs),
        &MIGRATOR,
    )
    .await?;
    pool.close().await;
    let mailer = Mailer::new(&settings)?;
    let broker = Broker::connect(&settings).await?;
    broker.ensure_orders_stream().await?;
    broker.ensure_dead_letter_stream().await?;
    let consumer = broker.consumer().await?;
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;

    let (stop, stopped) = watch::channel(false);
    let worker = ConsumerWorker {
        consumer,
        broker: broker.clone(),
        notifier: Notifier::new(
            Db::connect_lazy(&settings.database_url, WORKER_CONNECTIONS)?,
            mailer.clone(),
        ),
        settings: settings.clone(),
    };
    let worker = tokio::spawn(worker.run(stopped));
    tokio::spawn(stop_on_signal(stop.clone()));

    let database = DatabaseSettings {
        url: settings.database_url,
        max_connections: settings.database_max_connections,
    };
    let server = serve(listener, database, api(broker, mailer))?;
    Ok(Application {
        server,
        worker,
        stop,
    })
}

/// Stops the worker on SIGTERM or SIGINT, the signals on which actix stops the server.
async fn stop_on_signal(stop: watch::Sender<bool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot listen for SIGTERM/SIGINT");
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = stop.closed() => return,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = stop.closed() => return,
        }
    }
    tracing::info!("shutdown requested: the consumer stops pulling");
    let _ = stop.send(true);
}
