//! Liveness and readiness routes. Register both with `.service(..)` on a utoipa app.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::error::{ErrorBody, error_response};

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
            example = json!({"code": "database_unavailable", "message": "the database is unreachable"})),
    )
)]
#[get("/ready")]
pub async fn ready(pool: web::Data<PgPool>) -> HttpResponse {
    let probe = sqlx::query("SELECT 1").execute(pool.get_ref());
    match tokio_timeout(Duration::from_secs(1), probe).await {
        Some(Ok(_)) => HttpResponse::Ok().json(Ready {
            status: "ready".to_owned(),
        }),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "readiness probe failed");
            unavailable()
        }
        None => {
            tracing::warn!("readiness probe timed out");
            unavailable()
        }
    }
}

fn unavailable() -> HttpResponse {
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "the database is unreachable",
    )
}

async fn tokio_timeout<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    actix_web::rt::time::timeout(limit, fut).await.ok()
}
