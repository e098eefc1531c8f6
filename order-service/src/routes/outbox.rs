//! `/outbox`: how many order events wait to be published to NATS, and for how long.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use http_plumbing::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ApiError;
use crate::store::OrderStore;

/// The outbox's backlog: events written with their orders and not yet acknowledged by
/// JetStream. It grows while NATS is unreachable and drains when it is back.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"unpublished": 0, "oldest_unpublished_at": null,
    "oldest_unpublished_age_ms": null}))]
pub struct OutboxStatus {
    /// Events not yet published.
    pub unpublished: i64,
    /// When the oldest unpublished event was written, if any waits.
    pub oldest_unpublished_at: Option<DateTime<Utc>>,
    /// How long the oldest unpublished event has waited, in milliseconds.
    pub oldest_unpublished_age_ms: Option<i64>,
}

/// The outbox's backlog.
///
/// A steady 0 (or a few events, briefly) means events reach NATS as orders change; a growing
/// backlog means the relay cannot publish (NATS down), and nothing is lost meanwhile.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "The backlog", body = OutboxStatus),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
#[get("/outbox")]
pub async fn outbox_status(store: web::Data<OrderStore>) -> Result<HttpResponse, ApiError> {
    let backlog = store.outbox_backlog().await?;
    Ok(HttpResponse::Ok().json(OutboxStatus {
        unpublished: backlog.unpublished,
        oldest_unpublished_at: backlog.oldest_unpublished_at,
        oldest_unpublished_age_ms: backlog
            .oldest_unpublished_at
            .map(|at| (backlog.now - at).num_milliseconds().max(0)),
    }))
}
