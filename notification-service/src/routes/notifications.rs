//! `/notifications`: what was sent, per order.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use http_plumbing::ErrorBody;
use http_plumbing::db::Db;
use http_plumbing::pagination::PageParams;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::errors::ApiError;
use crate::store::notifications::{self as store, NotificationRow};

/// An email the SMTP server accepted.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"event_id": "7d1c5a8e-2f3b-4c6d-9e0f-1a2b3c4d5e6f",
    "event_type": "order.created", "order_id": "0b5e3f9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    "recipient": "alice@example.com",
    "subject": "Your order 0b5e3f9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b is confirmed",
    "message_id": "<7d1c5a8e-2f3b-4c6d-9e0f-1a2b3c4d5e6f@notification-service>",
    "correlation_id": "3f2b6c1e-8d4a-4f7b-9a2e-5c1d0e9f8a7b", "sent_at": "2026-11-26T12:00:01Z"}))]
pub struct Notification {
    /// The id of the event it answered (one notification per event).
    pub event_id: Uuid,
    /// `order.created` (a confirmation) or `order.cancelled` (a cancellation).
    pub event_type: String,
    /// The order it is about.
    pub order_id: Uuid,
    /// The address it was sent to.
    pub recipient: String,
    /// Its subject line.
    pub subject: String,
    /// Its `Message-ID` header, derived from the event id.
    pub message_id: String,
    /// The correlation ID the event carried.
    pub correlation_id: Option<String>,
    /// When it was recorded, right after the SMTP server accepted it (RFC 3339, UTC).
    pub sent_at: DateTime<Utc>,
}

impl From<NotificationRow> for Notification {
    fn from(row: NotificationRow) -> Self {
        Self {
            event_id: row.event_id,
            event_type: row.event_type,
            order_id: row.order_id,
            recipient: row.recipient,
            subject: row.subject,
            message_id: row.message_id,
            correlation_id: row.correlation_id,
            sent_at: row.sent_at,
        }
    }
}

/// One page of notifications.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationPage {
    /// The notifications on this page, oldest first.
    pub items: Vec<Notification>,
    /// The page size used.
    pub limit: i64,
    /// How many were skipped.
    pub offset: i64,
    /// How many match in all.
    pub total: i64,
}

/// Query parameters of `GET /notifications`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListNotifications {
    /// Only the notifications of this order (a UUID); all when absent.
    #[param(example = "0b5e3f9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b")]
    pub order_id: Option<Uuid>,
    /// How many to return, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// How many to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<u32>,
}

/// List the notifications sent, oldest first, optionally for one order.
#[utoipa::path(
    tag = "notifications",
    params(ListNotifications),
    responses(
        (status = 200, description = "A page of notifications", body = NotificationPage),
        (status = 400, description = "order_id is not a UUID, or paging out of range", body = ErrorBody,
            example = json!({"code": "invalid_query", "message": "order_id: UUID parsing failed"})),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[get("/notifications")]
pub async fn list_notifications(
    db: web::Data<Db>,
    query: web::Query<ListNotifications>,
) -> Result<web::Json<NotificationPage>, ApiError> {
    let query = query.into_inner();
    let page = PageParams {
        limit: query.limit,
        offset: query.offset,
    }
    .parse()
    .map_err(ApiError::BadRequest)?;
    let (rows, total) = store::list_notifications(&db, query.order_id, page).await?;
    Ok(web::Json(NotificationPage {
        items: rows.into_iter().map(Notification::from).collect(),
        limit: page.limit,
        offset: page.offset,
        total,
    }))
}
