//! The `outbox` table: events written by the statements that make the changes they announce,
//! claimed, marked published and pruned by the relay.

use chrono::{DateTime, TimeDelta, Utc};
use http_plumbing::db::Db;
use uuid::Uuid;

use crate::events::{EventKind, OrderEvent};
use crate::store::StoreError;

/// An outbox row with its order's snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// Position in the outbox: one order's events are published in this order.
    pub seq: i64,
    /// The event.
    pub event: OrderEvent,
}

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    id: Uuid,
    #[sqlx(try_from = "String")]
    kind: EventKind,
    occurred_at: DateTime<Utc>,
    correlation_id: Option<String>,
    order_id: Uuid,
    user_id: i64,
    user_name: Option<String>,
    user_email: Option<String>,
    product_id: i64,
    product_name: Option<String>,
    unit_price_cents: Option<i64>,
    quantity: i32,
    total_cents: Option<i64>,
    created_at: DateTime<Utc>,
}

impl TryFrom<Row> for OutboxEvent {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        let order_id = row.order_id;
        let missing = || {
            StoreError::Query(std::sync::Arc::new(sqlx::Error::Decode(
                format!("order {order_id} has an event but lacks a snapshot").into(),
            )))
        };
        Ok(Self {
            seq: row.seq,
            event: OrderEvent {
                id: row.id,
                kind: row.kind,
                occurred_at: row.occurred_at,
                correlation_id: row.correlation_id,
                order_id,
                user_id: row.user_id,
                user_name: row.user_name.ok_or_else(missing)?,
                user_email: row.user_email.ok_or_else(missing)?,
                product_id: row.product_id,
                product_name: row.product_name.ok_or_else(missing)?,
                unit_price_cents: row.unit_price_cents.ok_or_else(missing)?,
                quantity: row.quantity,
                total_cents: row.total_cents.ok_or_else(missing)?,
                created_at: row.created_at,
            },
        })
    }
}

/// The event columns and the order snapshot, for a query over `e` (outbox) joined to `o`.
macro_rules! event_columns {
    () => {
        "e.seq, e.id, e.type AS kind, e.occurred_at, e.correlation_id, e.order_id, o.user_id, \
         o.user_name, o.user_email, o.product_id, o.product_name, o.unit_price_cents, \
         o.quantity, o.total_cents, o.created_at"
    };
}

fn events(rows: Vec<Row>) -> Result<Vec<OutboxEvent>, StoreError> {
    rows.into_iter().map(OutboxEvent::try_from).collect()
}

/// Claims up to `limit` unpublished events for `lease`, oldest first, and returns them with
/// their orders' snapshots.
///
/// An event is claimed only when no earlier event of its order is still unpublished, so one
/// order's events reach the stream in the order they were written, whatever fails and however
/// many replicas relay. Rows another replica holds (locked, or leased) are skipped.
pub async fn claim_events(
    db: &Db,
    lease: TimeDelta,
    limit: i64,
) -> Result<Vec<OutboxEvent>, StoreError> {
    let rows = db
        .run(async |conn| {
            sqlx::query_as::<_, Row>(concat!(
                "WITH claimed AS ( \
                     UPDATE outbox SET leased_until = now() + $1::interval \
                     WHERE seq IN ( \
                         SELECT seq FROM outbox c \
                         WHERE c.published_at IS NULL \
                           AND (c.leased_until IS NULL OR c.leased_until < now()) \
                           AND NOT EXISTS ( \
                               SELECT 1 FROM outbox p WHERE p.order_id = c.order_id \
                                 AND p.seq < c.seq AND p.published_at IS NULL) \
                         ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED) \
                     RETURNING *) \
                 SELECT ",
                event_columns!(),
                " FROM claimed e JOIN orders o ON o.id = e.order_id ORDER BY e.seq"
            ))
            .bind(lease)
            .bind(limit)
            .fetch_all(conn)
            .await
        })
        .await?;
    events(rows)
}

/// Marks events published (JetStream acknowledged them).
pub async fn mark_published(db: &Db, seqs: &[i64]) -> Result<(), StoreError> {
    db.run(async |conn| {
        sqlx::query(
            "UPDATE outbox SET published_at = now(), leased_until = NULL \
             WHERE seq = ANY($1) AND published_at IS NULL",
        )
        .bind(seqs)
        .execute(conn)
        .await
    })
    .await?;
    Ok(())
}

/// Gives up the lease of events that could not be published, so that the next round may
/// claim them again.
pub async fn unlease(db: &Db, seqs: &[i64]) -> Result<(), StoreError> {
    db.run(async |conn| {
        sqlx::query(
            "UPDATE outbox SET leased_until = NULL WHERE seq = ANY($1) AND published_at IS NULL",
        )
        .bind(seqs)
        .execute(conn)
        .await
    })
    .await?;
    Ok(())
}

/// Deletes up to `limit` events published more than `retention` ago; returns how many.
pub async fn prune_published(db: &Db, retention: TimeDelta, limit: i64) -> Result<u64, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query(
                "DELETE FROM outbox WHERE seq IN ( \
                     SELECT seq FROM outbox WHERE published_at < now() - $1::interval LIMIT $2)",
            )
            .bind(retention)
            .bind(limit)
            .execute(conn)
            .await
        })
        .await?
        .rows_affected())
}

/// What is waiting to be published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Backlog {
    /// Events not yet published.
    pub unpublished: i64,
    /// When the oldest of them was written.
    pub oldest_unpublished_at: Option<DateTime<Utc>>,
    /// The database's clock, to measure the oldest one's age by.
    pub now: DateTime<Utc>,
}

/// The outbox's backlog.
pub async fn backlog(db: &Db) -> Result<Backlog, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query_as::<_, Backlog>(
                "SELECT count(*) AS unpublished, min(occurred_at) AS oldest_unpublished_at, \
                     now() AS now \
                 FROM outbox WHERE published_at IS NULL",
            )
            .fetch_one(conn)
            .await
        })
        .await?)
}

/// Every event of one order, published or not, in outbox order.
pub async fn events_of_order(db: &Db, order_id: Uuid) -> Result<Vec<OutboxEvent>, StoreError> {
    let rows = db
        .run(async |conn| {
            sqlx::query_as::<_, Row>(concat!(
                "SELECT ",
                event_columns!(),
                " FROM outbox e JOIN orders o ON o.id = e.order_id \
                  WHERE e.order_id = $1 ORDER BY e.seq"
            ))
            .bind(order_id)
            .fetch_all(conn)
            .await
        })
        .await?;
    events(rows)
}
