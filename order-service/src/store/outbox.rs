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

/// What one relay batch did.
#[derive(Debug)]
pub struct Relayed<T> {
    /// Events claimed.
    pub claimed: usize,
    /// Events marked published.
    pub published: usize,
    /// What the publishing step returned beside the published events (its failure, say).
    pub outcome: T,
}

/// The advisory lock the relaying replica holds for its batch's transaction.
const RELAY_LOCK: i64 = 0x6f75_7462_6f78; // "outbox"

/// Relays one batch in one transaction: takes up to `limit` unpublished events, oldest first,
/// with their orders' snapshots; hands them to `publish`, which returns the `seq`s it
/// published (JetStream acknowledged them) and anything else; marks those published; commits.
/// `None` when another replica is relaying (it holds the relay's advisory lock).
///
/// One replica relays at a time, and an event is taken only when no earlier event of its order
/// is still unpublished (within the batch: an earlier one is always in it), so one order's events reach the stream in the order they were
/// written, whatever fails. If the process dies before the commit, nothing is marked and the
/// events are taken again: JetStream drops the repeats by their `Nats-Msg-Id`. (Locking rows
/// `FOR UPDATE SKIP LOCKED` instead would let replicas relay side by side, at the price of a
/// row-lock write per event, which the order path measurably paid for: BENCHMARKS.md.)
pub async fn relay_batch<T>(
    db: &Db,
    limit: i64,
    publish: impl AsyncFnOnce(Vec<OutboxEvent>) -> (Vec<i64>, T),
) -> Result<Option<Relayed<T>>, StoreError> {
    db.run(async move |conn| {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        // One relay at a time, whichever replica runs it: the others find the lock taken
        // and try again next round.
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !leader {
            return Ok(Ok(None));
        }
        // The first `limit` unpublished events, and of those only the first of each order:
        // any earlier unpublished event of an order is among them (it comes before), so a
        // later one waits for the next batch, after the earlier one is marked published.
        // Done over the batch alone, this costs the same whatever the backlog and whatever
        // the planner's statistics say about it.
        let rows = sqlx::query_as::<_, Row>(concat!(
            "WITH candidates AS ( \
                     SELECT seq, id, order_id, type, occurred_at, correlation_id, \
                         row_number() OVER (PARTITION BY order_id ORDER BY seq) AS nth \
                     FROM (SELECT * FROM outbox WHERE published_at IS NULL \
                           ORDER BY seq LIMIT $1) unpublished) \
                 SELECT ",
            event_columns!(),
            " FROM candidates e JOIN orders o ON o.id = e.order_id \
                  WHERE e.nth = 1 ORDER BY e.seq"
        ))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let claimed = rows.len();
        let events = match events(rows) {
            Ok(events) => events,
            // Rolled back: nothing is marked.
            Err(e) => return Ok(Err(e)),
        };
        let (published, outcome) = publish(events).await;
        if !published.is_empty() {
            sqlx::query("UPDATE outbox SET published_at = now() WHERE seq = ANY($1)")
                .bind(&published)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Ok(Some(Relayed {
            claimed,
            published: published.len(),
            outcome,
        })))
    })
    .await?
}

/// Deletes the events among the `limit` oldest that were published more than `retention` ago;
/// returns how many. Looking at the oldest rows only keeps each pruning cheap however large
/// the outbox is; published events are the oldest, so repeated prunings reach them all.
pub async fn prune_published(db: &Db, retention: TimeDelta, limit: i64) -> Result<u64, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query(
                "DELETE FROM outbox WHERE seq IN ( \
                     SELECT seq FROM outbox ORDER BY seq LIMIT $2) \
                 AND published_at < now() - $1::interval",
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
