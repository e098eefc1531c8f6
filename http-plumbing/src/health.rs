//! Liveness and readiness routes. Register both with `.service(..)` on a utoipa app.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::Db;
use crate::error::{ErrorBody, database_unavailable};

/// The name a service reports from `/health`; register it with `app_data(web::Data::new(..))`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceName(pub &'static str);

/// Liveness answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"status": "healthy", "service": "user-service"}))]
pub struct Health {
    /// Always `healthy` when the process answers.
    pub status: String,
    /// The service's name.
    pub service: String,
}

/// Readiness answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"status": "ready"}))]
pub struct Ready {
    /// `ready` when the service's database answers.
    pub status: String,
}

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health))
)]
#[get("/health")]
pub async fn health(name: web::Data<ServiceName>) -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "healthy".to_owned(),
        service: name.0.to_owned(),
    })
}

/// Readiness: the service can reach its database. 503 while it cannot.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve traffic", body = Ready),
        (status = 503, description = "The database is unreachable", body = ErrorBody,
            example = json!({"code": "database_unavailable", "message": "the service's database is unavailable; try again shortly"})),
    )
)]
#[get("/ready")]
pub async fn ready(db: web::Data<Db>) -> HttpResponse {
    let probe = db.run(async |conn| sqlx::query("SELECT 1").execute(conn).await);
    match tokio::time::timeout(Duration::from_secs(1), probe).await {
        Ok(Ok(_)) => HttpResponse::Ok().json(Ready {
            status: "ready".to_owned(),
        }),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness probe failed");
            database_unavailable()
        }
        Err(_) => {
            tracing::warn!("readiness probe timed out");
            database_unavailable()
        }
    }
}
