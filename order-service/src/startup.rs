//! Builds the application: database pool, migrations, service clients, the NATS connection,
//! the recovery worker and the outbox relay, listener and routes.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::web;
use chrono::TimeDelta;
use http_plumbing::db::{DatabaseSettings, Db};
use http_plumbing::server::{Application, ServerOptions, ServiceApi, serve_with};
use sqlx::migrate::Migrator;
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::clients::broker::{Broker, BrokerSettings};
use crate::clients::{Downstream, ProductClient, UserClient, http_client, products, users};
use crate::configuration::Settings;
use crate::routes;
use crate::saga::{Saga, SagaSettings};
use crate::store::{OrderStore, Retention};
use crate::workers::recovery::{Recovery, RecoverySettings};
use crate::workers::relay::{Relay, RelaySettings};

/// The service's base OpenAPI document; paths and schemas are collected from the routes.
#[derive(OpenApi)]
#[openapi(
    info(title = "order-service"),
    tags(
        (name = "orders", description = "Place, fetch, list and cancel orders"),
        (name = "operations", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// This service's migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The services order-service calls, as the whole process shares them (one breaker and one
/// bulkhead each), and what each worker needs to build its clients.
#[derive(Debug, Clone)]
pub struct Remotes {
    /// Base URL of user-service.
    pub user_service_url: String,
    /// Base URL of product-service.
    pub product_service_url: String,
    /// user-service's breaker and bulkhead.
    pub users: Downstream,
    /// product-service's breaker and bulkhead.
    pub products: Downstream,
    /// Longest one attempt may take.
    pub attempt_timeout: Duration,
}

impl Remotes {
    /// The remote services named in `settings`, with fresh breakers and bulkheads.
    pub fn new(settings: &Settings) -> Self {
        let resilience = settings.resilience();
        Self {
            user_service_url: settings.user_service_url.clone(),
            product_service_url: settings.product_service_url.clone(),
            users: Downstream::new(users::SERVICE, resilience.clone()),
            products: Downstream::new(products::SERVICE, resilience.clone()),
            attempt_timeout: Duration::from_millis(resilience.attempt_timeout_ms),
        }
    }

    /// A product-service client over a new HTTP client (for the thread that calls this).
    pub fn product_client(&self) -> ProductClient {
        ProductClient::new(
            &self.product_service_url,
            self.products.clone(),
            http_client(self.attempt_timeout),
        )
    }

    /// A user-service client over a new HTTP client (for the thread that calls this).
    pub fn user_client(&self) -> UserClient {
        UserClient::new(
            &self.user_service_url,
            self.users.clone(),
            http_client(self.attempt_timeout),
        )
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// What this service contributes to the shared server.
///
/// `configure` runs once per worker thread, so the store (with its batchers) and the HTTP
/// clients are per worker, driven by the worker's own runtime; breakers and bulkheads are
/// shared by all workers.
pub fn api(
    remotes: Remotes,
    saga: SagaSettings,
    retention: Retention,
) -> ServiceApi<impl Fn(&mut ServiceConfig, &Db) + Clone + Send + 'static> {
    ServiceApi {
        name: "order-service",
        openapi: ApiDoc::openapi(),
        configure: move |cfg: &mut ServiceConfig, db: &Db| {
            let store = web::Data::new(OrderStore::new(db.clone(), retention));
            cfg.app_data(store.clone()).app_data(web::Data::new(Saga {
                store,
                users: remotes.user_client(),
                products: remotes.product_client(),
                settings: saga,
            }));
            routes::configure(cfg);
        },
    }
}

/// Connects to the database, applies migrations, builds the clients, the recovery worker and
/// the relay (whose NATS connection is made in the background), and binds.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let pool = http_plumbing::db::connect_and_migrate(
        &settings.database_url,
        settings.database_max_connections,
        Duration::from_secs(settings.database_connect_wait_secs),
        &MIGRATOR,
    )
    .await?;
    pool.close().await;
    let remotes = Remotes::new(&settings);
    let deadline = settings.request_deadline();
    let hours = |h: u64| Duration::from_secs(h.saturating_mul(3600));
    let lease = Duration::from_millis(settings.release_lease_ms);
    let recovery = Recovery {
        db: Db::connect_lazy(&settings.database_url, 1)?,
        products: remotes.product_client(),
        settings: RecoverySettings {
            interval: Duration::from_millis(settings.recovery_interval_ms),
            grace: Duration::from_millis(settings.recovery_grace_ms),
            lease,
            call_deadline: deadline,
            key_retention: hours(settings.idempotency_key_retention_hours),
            rejected_retention: hours(settings.rejected_retention_hours),
        },
    };
    let retention = Retention {
        idempotency_keys: delta(hours(settings.idempotency_key_retention_hours)),
        release_lease: delta(lease),
    };
    let broker = Broker::connect(BrokerSettings {
        url: settings.nats_url.clone(),
        stream: settings.orders_stream.clone(),
        subject_prefix: settings.orders_subject_prefix.clone(),
        replicas: settings.stream_replicas,
        ack_timeout: Duration::from_millis(settings.outbox_ack_timeout_ms),
    })
    .await?;
    let relay = Relay {
        db: Db::connect_lazy(&settings.database_url, 1)?,
        broker,
        settings: RelaySettings {
            poll_interval: Duration::from_millis(settings.outbox_poll_interval_ms),
            ack_timeout: Duration::from_millis(settings.outbox_ack_timeout_ms),
            retention: hours(settings.outbox_retention_hours),
        },
    };
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
    // One connection is the recovery worker's and one the relay's; the server's workers share
    // the rest.
    let database = DatabaseSettings {
        url: settings.database_url,
        max_connections: settings.database_max_connections.saturating_sub(2).max(1),
    };
    let options = ServerOptions {
        shutdown_grace: Duration::from_secs(settings.shutdown_grace_secs),
    };
    let app = serve_with(
        listener,
        database,
        api(remotes, SagaSettings { deadline }, retention),
        options,
    )?;
    Ok(app
        .with_background(recovery.run())
        .with_background(relay.run()))
}
