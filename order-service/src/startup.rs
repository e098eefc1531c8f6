//! Builds the application: database pool, migrations, service clients, listener and routes.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::web;
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

/// What this service contributes to the shared server.
pub fn api(deps: Dependencies) -> ServiceApi<impl Fn(&mut ServiceConfig) + Clone + Send + 'static> {
    let deps = web::Data::new(deps);
    ServiceApi {
        name: "order-service",
        openapi: ApiDoc::openapi(),
        configure: move |cfg: &mut ServiceConfig| {
            cfg.app_data(deps.clone());
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
    let http = http_client(Duration::from_millis(settings.downstream_timeout_ms));
    let deps = Dependencies {
        users: UserClient::new(&settings.user_service_url, http.clone()),
        products: ProductClient::new(&settings.product_service_url, http),
    };
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
    Ok(serve(listener, pool, api(deps))?)
}
