//! Liveness and readiness routes. Register both with `.service(..)` on a utoipa app.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::Db;
use crate::error::{ErrorBody, database_unavailable, error_response};

/// The name a service reports from `/health`; register it with `app_data(web::Data::new(..))`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceName(pub &'static str);

/// Why a [`ReadinessCheck`] failed: the code and message of the 503 envelope `/ready` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    /// Error code, e.g. `broker_unavailable`.
    pub code: &'static str,
    /// What is unreachable, in words an operator can act on.
    pub message: String,
}

type CheckFn = dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), NotReady>>>> + Send + Sync;

/// A readiness condition beyond the database (a broker, say) that `GET /ready` also checks.
///
/// A service registers at most one with `app_data(web::Data::new(..))` in its `configure`;
/// without one, `/ready` checks the database alone. The check gets the same 1 s as the
/// database probe; a check that takes longer counts as failed.
#[derive(Clone)]
pub struct ReadinessCheck(Arc<CheckFn>);

impl std::fmt::Debug for ReadinessCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadinessCheck")
    }
}

impl ReadinessCheck {
    /// Wraps `check`, which is called once per `GET /ready`.
    pub fn new<F, Fut>(check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), NotReady>> + 'static,
    {
        Self(Arc::new(move || Box::pin(check())))
    }
}

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
pub async fn ready(db: web::Data<Db>, extra: Option<web::Data<ReadinessCheck>>) -> HttpResponse {
    let probe = db.run(async |conn| sqlx::query("SELECT 1").execute(conn).await);
    match tokio::time::timeout(Duration::from_secs(1), probe).await {
        Ok(Ok(_)) => match extra {
            None => ready_answer(),
            Some(check) => match tokio::time::timeout(Duration::from_secs(1), (check.0)()).await {
                Ok(Ok(())) => ready_answer(),
                Ok(Err(not_ready)) => {
                    tracing::warn!(code = not_ready.code, "readiness check failed");
                    error_response(
                        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                        not_ready.code,
                        not_ready.message,
                    )
                }
                Err(_) => {
                    tracing::warn!("readiness check timed out");
                    error_response(
                        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                        "dependency_unavailable",
                        "a dependency of the service did not answer in time; try again shortly",
                    )
                }
            },
        },
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

fn ready_answer() -> HttpResponse {
    HttpResponse::Ok().json(Ready {
        status: "ready".to_owned(),
    })
}
