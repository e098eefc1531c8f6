//! Builds the application: database pool, migrations, service clients, listener and routes.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::web;
use http_plumbing::db::DatabaseSettings;
use http_plumbing::server::{Application, ServiceApi, serve};
use sqlx::migrate::Migrator;
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::clients::{ProductClient, UserClient, http_client};
use crate::configuration::Settings;
use crate::placing::Dependencies;
use crate::routes;

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

/// Where order-service finds the services it calls, and how long it waits for them.
#[derive(Debug, Clone)]
pub struct Downstream {
    /// Base URL of user-service.
    pub user_service_url: String,
    /// Base URL of product-service.
    pub product_service_url: String,
    /// Whole-call timeout of each request.
    pub timeout: Duration,
}

/// What this service contributes to the shared server.
///
/// The clients are built once per worker thread (the server calls `configure` per worker),
/// so that each worker's connections to the other services are driven by its own runtime.
pub fn api(
    downstream: Downstream,
) -> ServiceApi<impl Fn(&mut ServiceConfig) + Clone + Send + 'static> {
    ServiceApi {
        name: "order-service",
        openapi: ApiDoc::openapi(),
        configure: move |cfg: &mut ServiceConfig| {
            let http = http_client(downstream.timeout);
            cfg.app_data(web::Data::new(Dependencies {
                users: UserClient::new(&downstream.user_service_url, http.clone()),
                products: ProductClient::new(&downstream.product_service_url, http),
            }));
            routes::configure(cfg);
        },
    }
}

/// Connects to the database, applies migrations, builds the clients, and binds.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let pool = http_plumbing::db::connect_and_migrate(
        &settings.database_url,
        settings.database_max_connections,
        Duration::from_secs(settings.database_connect_wait_secs),
        &MIGRATOR,
    )
    .await?;
    let downstream = Downstream {
        user_service_url: settings.user_service_url,
        product_service_url: settings.product_service_url,
        timeout: Duration::from_millis(settings.downstream_timeout_ms),
    };
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
    pool.close().await;
    let database = DatabaseSettings {
        url: settings.database_url,
        max_connections: settings.database_max_connections,
    };
    Ok(serve(listener, database, api(downstream))?)
}
