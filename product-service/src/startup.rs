//! Builds the application: database pool, migrations, demo data, listener and routes.

use std::net::TcpListener;
use std::time::Duration;

use http_plumbing::db::DatabaseSettings;
use http_plumbing::server::{Application, ServiceApi, serve};
use sqlx::migrate::Migrator;
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::configuration::Settings;
use crate::routes;

/// The service's base OpenAPI document; paths and schemas are collected from the routes.
#[derive(OpenApi)]
#[openapi(
    info(title = "product-service"),
    tags(
        (name = "products", description = "Create, fetch and list products"),
        (name = "reservations", description = "Reserve and release stock, idempotently per reservation id"),
        (name = "operations", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// What this service contributes to the shared server.
pub fn api() -> ServiceApi<fn(&mut ServiceConfig, &http_plumbing::db::Db)> {
    ServiceApi {
        name: "product-service",
        openapi: ApiDoc::openapi(),
        configure: routes::configure,
    }
}

/// This service's migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Connects to the database, applies migrations, loads demo data if enabled, and binds.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let pool = http_plumbing::db::connect_and_migrate(
        &settings.database_url,
        settings.database_max_connections,
        Duration::from_secs(settings.database_connect_wait_secs),
        &MIGRATOR,
    )
    .await?;
    if settings.demo_data {
        let db = http_plumbing::db::Db::connect_lazy(&settings.database_url, 1)?;
        crate::demo::insert_demo_products(&db).await?;
    }
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
    pool.close().await;
    let database = DatabaseSettings {
        url: settings.database_url,
        max_connections: settings.database_max_connections,
    };
    Ok(serve(listener, database, api())?)
}
