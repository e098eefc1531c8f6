//! The `notifications` table: one row per event whose email was sent.

use chrono::{DateTime, Utc};
use http_plumbing::db::Db;
use http_plumbing::pagination::Page;
use sqlx::Connection;
use uuid::Uuid;

use crate::store::StoreError;

/// A sent notification.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    /// The event it answered.
    pub event_id: Uuid,
    /// `order.created` or `order.cancelled`.
    pub event_type: String,
    /// The order it is about.
    pub order_id: Uuid,
    /// Where it went.
    pub recipient: String,
    /// Its subject line.
    pub subject: String,
    /// Its `Message-ID`.
    pub message_id: String,
    /// The correlation ID the event carried.
    pub correlation_id: Option<String>,
    /// When the SMTP server accepted it (as recorded right after).
    pub sent_at: DateTime<Utc>,
}

/// A notification about to be sent.
#[derive(Debug, Clone)]
pub struct NewNotification {
    /// The event id: the idempotency key.
    pub event_id: Uuid,
    /// `order.created` or `order.cancelled`.
    pub event_type: &'static str,
    /// The order.
    pub order_id: Uuid,
    /// The recipient's address.
    pub recipient: String,
    /// The subject line.
    pub subject: String,
    /// The `Message-ID`.
    pub message_id: String,
    /// The event's correlation ID.
    pub correlation_id: Option<String>,
}

/// What [`insert_notification_once`] did.
#[derive(Debug)]
pub enum Recorded<E> {
    /// The row was inserted and `send` succeeded; both are done.
    Sent,
    /// A row for this event already exists: it was sent before; `send` was not called.
    AlreadySent,
    /// `requires_created` was set and the order's `order.created` email has not been sent;
    /// `send` was not called.
    CreatedNotSentYet,
    /// `send` failed; nothing was recorded.
    SendFailed(E),
}

/// Inserts the row and calls `send` inside one transaction, committed only if `send`
/// succeeded; a row that exists already means the email was sent, and `send` is not called.
///
/// The row lock taken by the insert makes a concurrent attempt for the same event (another
/// replica, a redelivery) wait for this one and then find the row. A crash before the commit
/// rolls the row back, so the event is sent on redelivery: the one window for a duplicate is
/// between the SMTP server accepting the email and the `COMMIT` leaving this process.
///
/// With `requires_created`, the order's `order.created` notification must be recorded first
/// (checked in the same transaction): this keeps a cancellation from overtaking its
/// confirmation when the confirmation is being retried.
pub async fn insert_notification_once<E>(
    db: &Db,
    new: &NewNotification,
    requires_created: bool,
    send: impl AsyncFnOnce() -> Result<(), E>,
) -> Result<Recorded<E>, StoreError> {
    let mut send = Some(send);
    let outcome = db
        .run(async |conn| {
            let mut tx = conn.begin().await?;
            if requires_created {
                let created: Option<i32> = sqlx::query_scalar(
                    "SELECT 1 FROM notifications WHERE order_id = $1 AND event_type = 'order.created'",
                )
                .bind(new.order_id)
                .fetch_optional(&mut *tx)
                .await?;
                if created.is_none() {
                    tx.rollback().await?;
                    return Ok(Recorded::CreatedNotSentYet);
                }
            }
            let inserted: Option<Uuid> = sqlx::query_scalar(
                "INSERT INTO notifications \
                 (event_id, event_type, order_id, recipient, subject, message_id, correlation_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            )
            .bind(new.event_id)
            .bind(new.event_type)
            .bind(new.order_id)
            .bind(&new.recipient)
            .bind(&new.subject)
            .bind(&new.message_id)
            .bind(&new.correlation_id)
            .fetch_optional(&mut *tx)
            .await?;
            if inserted.is_none() {
                tx.rollback().await?;
                return Ok(Recorded::AlreadySent);
            }
            let send = send.take().expect("the closure runs once");
            match send().await {
                Ok(()) => {
                    tx.commit().await?;
                    Ok(Recorded::Sent)
                }
                // Rolled back now, not when the connection is next used: a dropped
                // transaction's rollback waits for that, and its row lock with it.
                Err(e) => {
                    tx.rollback().await?;
                    Ok(Recorded::SendFailed(e))
                }
            }
        })
        .await?;
    Ok(outcome)
}

/// Lists notifications, oldest first, of one order or of all, with the total count.
pub async fn list_notifications(
    db: &Db,
    order_id: Option<Uuid>,
    page: Page,
) -> Result<(Vec<NotificationRow>, i64), StoreError> {
    Ok(db
        .run(async |conn| {
            let rows = sqlx::query_as::<_, NotificationRow>(
                "SELECT event_id, event_type, order_id, recipient, subject, message_id, \
                        correlation_id, sent_at \
                 FROM notifications WHERE $1::uuid IS NULL OR order_id = $1 \
                 ORDER BY sent_at, event_id LIMIT $2 OFFSET $3",
            )
            .bind(order_id)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *conn)
            .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM notifications WHERE $1::uuid IS NULL OR order_id = $1",
            )
            .bind(order_id)
            .fetch_one(conn)
            .await?;
            Ok((rows, total))
        })
        .await?)
}
