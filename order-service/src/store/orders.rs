//! The `orders` table: each row is one order saga, from `pending` to its end state.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use http_plumbing::batch::BatchResults;
use http_plumbing::db::{Db, is_unavailable};
use http_plumbing::pagination::Page;
use uuid::Uuid;

use crate::domain::{IdempotencyKey, OrderRequest, OrderStatus, RejectionReason};
use crate::store::StoreError;

/// The columns every query that reads whole orders names, in [`SagaRow`]'s order.
macro_rules! order_columns {
    ($prefix:literal) => {
        concat!(
            $prefix,
            "id, ",
            $prefix,
            "user_id, ",
            $prefix,
            "user_name, ",
            $prefix,
            "user_email, ",
            $prefix,
            "product_id, ",
            $prefix,
            "product_name, ",
            $prefix,
            "unit_price_cents, ",
            $prefix,
            "quantity, ",
            $prefix,
            "total_cents, ",
            $prefix,
            "status, ",
            $prefix,
            "rejection_reason, ",
            $prefix,
            "rejection_message, ",
            $prefix,
            "deadline, ",
            $prefix,
            "created_at, ",
            $prefix,
            "cancelled_at"
        )
    };
}

/// A stored order saga in any state. The snapshots are filled in when it is confirmed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SagaRow {
    /// Primary key; also the id of the order's stock reservation.
    pub id: Uuid,
    /// Who orders.
    pub user_id: i64,
    /// The user's name when the order was confirmed.
    pub user_name: Option<String>,
    /// The user's email when the order was confirmed.
    pub user_email: Option<String>,
    /// What is ordered.
    pub product_id: i64,
    /// The product's name when its stock was reserved.
    pub product_name: Option<String>,
    /// The unit price, in cents, the stock was reserved at.
    pub unit_price_cents: Option<i64>,
    /// Units ordered.
    pub quantity: i32,
    /// `unit_price_cents × quantity`.
    pub total_cents: Option<i64>,
    /// Where the saga stands.
    #[sqlx(try_from = "String")]
    pub status: OrderStatus,
    /// Why it was rejected (the stored [`RejectionReason`]).
    pub rejection_reason: Option<String>,
    /// What the client was told when it was rejected.
    pub rejection_message: Option<String>,
    /// By when a pending saga had to be confirmed.
    pub deadline: Option<DateTime<Utc>>,
    /// When the saga began.
    pub created_at: DateTime<Utc>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl SagaRow {
    /// The stored rejection reason, parsed; a corrupt value is an error, never a default.
    pub fn rejection(&self) -> Result<Option<RejectionReason>, StoreError> {
        self.rejection_reason
            .clone()
            .map(RejectionReason::try_from)
            .transpose()
            .map_err(corrupt)
    }
}

/// A placed order (confirmed, cancelling or cancelled), with its user and product snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrder {
    /// Primary key; also the id of the order's stock reservation.
    pub id: Uuid,
    /// Who ordered.
    pub user_id: i64,
    /// The user's name when the order was placed.
    pub user_name: String,
    /// The user's email when the order was placed.
    pub user_email: String,
    /// What was ordered.
    pub product_id: i64,
    /// The product's name when the order was placed.
    pub product_name: String,
    /// The unit price, in cents, when the order was placed.
    pub unit_price_cents: i64,
    /// Units ordered.
    pub quantity: i32,
    /// `unit_price_cents × quantity`.
    pub total_cents: i64,
    /// `Confirmed`, `Cancelling` or `Cancelled`.
    pub status: OrderStatus,
    /// When the order was placed.
    pub created_at: DateTime<Utc>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl PlacedOrder {
    /// The order as it was when it was confirmed: what the `POST /orders` that placed it
    /// answered, and what a repeat of that request with the same idempotency key answers.
    pub fn as_confirmed(&self) -> Self {
        Self {
            status: OrderStatus::Confirmed,
            cancelled_at: None,
            ..self.clone()
        }
    }
}

impl TryFrom<SagaRow> for PlacedOrder {
    type Error = StoreError;

    fn try_from(row: SagaRow) -> Result<Self, StoreError> {
        let id = row.id;
        let missing = || corrupt(format!("placed order {id} lacks a snapshot"));
        if !row.status.is_placed() {
            return Err(corrupt(format!(
                "order {id} is {} and not placed",
                row.status.as_str()
            )));
        }
        Ok(Self {
            id,
            user_id: row.user_id,
            user_name: row.user_name.ok_or_else(missing)?,
            user_email: row.user_email.ok_or_else(missing)?,
            product_id: row.product_id,
            product_name: row.product_name.ok_or_else(missing)?,
            unit_price_cents: row.unit_price_cents.ok_or_else(missing)?,
            quantity: row.quantity,
            total_cents: row.total_cents.ok_or_else(missing)?,
            status: row.status,
            created_at: row.created_at,
            cancelled_at: row.cancelled_at,
        })
    }
}

/// A stored value this code cannot have written: a 500, never a silent default.
fn corrupt(what: String) -> StoreError {
    StoreError::Query(Arc::new(sqlx::Error::Decode(what.into())))
}

fn placed(row: Option<SagaRow>) -> Result<Option<PlacedOrder>, StoreError> {
    row.map(PlacedOrder::try_from).transpose()
}

/// A saga to begin: recorded as `pending` before any stock is taken.
#[derive(Debug, Clone)]
pub struct Begin {
    /// The new order's id, which is also its reservation id.
    pub id: Uuid,
    /// What is ordered.
    pub request: OrderRequest,
    /// By when the order must be confirmed.
    pub deadline: DateTime<Utc>,
    /// The client's idempotency key, if it sent one.
    pub key: Option<IdempotencyKey>,
}

/// Outcome of beginning a saga.
#[derive(Debug)]
pub enum Begun {
    /// The pending order is stored (and the key, if any, names it).
    Started,
    /// The idempotency key already names a saga.
    KeyTaken(Box<KeyHolder>),
}

/// What an idempotency key already names.
#[derive(Debug, Clone)]
pub struct KeyHolder {
    /// The request the key is bound to ([`OrderRequest::fingerprint`]).
    pub request: String,
    /// Older than the retention period: it may be taken over whatever it names.
    pub expired: bool,
    /// The saga is pending and its deadline has not passed.
    pub in_flight: bool,
    /// The saga the key names.
    pub saga: SagaRow,
}

/// Begins sagas with one statement, one commit: the batch function of the store's begins.
///
/// Each pending order is inserted, with its idempotency key when it has one; an order whose
/// key is already taken is not inserted, and is answered with what the key names.
pub async fn begin_sagas(
    db: Db,
    begins: Vec<Begin>,
    key_retention: TimeDelta,
) -> BatchResults<Begun> {
    let ids: Vec<Uuid> = begins.iter().map(|b| b.id).collect();
    let inserted = db
        .run(async |conn| {
            sqlx::query_scalar::<_, Uuid>(
                "WITH input AS ( \
                     SELECT * FROM unnest($1::uuid[], $2::int8[], $3::int8[], $4::int4[], \
                         $5::timestamptz[], $6::text[], $7::text[]) \
                         AS i (id, user_id, product_id, quantity, deadline, key, request)), \
                 claimed AS ( \
                     INSERT INTO idempotency_keys (key, request, order_id) \
                     SELECT key, request, id FROM input WHERE key IS NOT NULL \
                     ON CONFLICT (key) DO NOTHING \
                     RETURNING order_id) \
                 INSERT INTO orders (id, user_id, product_id, quantity, status, deadline) \
                 SELECT id, user_id, product_id, quantity, 'pending', deadline FROM input \
                 WHERE key IS NULL OR id IN (SELECT order_id FROM claimed) \
                 RETURNING id",
            )
            .bind(&ids)
            .bind(
                begins
                    .iter()
                    .map(|b| b.request.user_id.get())
                    .collect::<Vec<_>>(),
            )
            .bind(
                begins
                    .iter()
                    .map(|b| b.request.product_id.get())
                    .collect::<Vec<_>>(),
            )
            .bind(
                begins
                    .iter()
                    .map(|b| b.request.quantity.get())
                    .collect::<Vec<_>>(),
            )
            .bind(begins.iter().map(|b| b.deadline).collect::<Vec<_>>())
            .bind(
                begins
                    .iter()
                    .map(|b| b.key.as_ref().map(IdempotencyKey::as_str))
                    .collect::<Vec<_>>(),
            )
            .bind(
                begins
                    .iter()
                    .map(|b| b.request.fingerprint())
                    .collect::<Vec<_>>(),
            )
            .fetch_all(conn)
            .await
        })
        .await;
    let inserted = match inserted {
        Ok(ids) => ids,
        Err(e) if is_unavailable(&e) => {
            let e = StoreError::from(e);
            return begins.iter().map(|_| Err(e.clone())).collect();
        }
        Err(e) if begins.len() > 1 => {
            tracing::warn!(error = %e, sagas = begins.len(), "batched begin failed; beginning one by one");
            let mut results = Vec::with_capacity(begins.len());
            for begin in begins {
                results.extend(Box::pin(begin_sagas(db.clone(), vec![begin], key_retention)).await);
            }
            return results;
        }
        Err(e) => return vec![Err(e.into())],
    };
    let mut results = Vec::with_capacity(begins.len());
    for begin in &begins {
        results.push(if inserted.contains(&begin.id) {
            Ok(Begun::Started)
        } else {
            match &begin.key {
                Some(key) => key_holder(&db, key, key_retention)
                    .await
                    .and_then(|holder| {
                        // The key vanished between the two statements (pruned): the client may
                        // simply try again.
                        holder
                            .map(|h| Begun::KeyTaken(Box::new(h)))
                            .ok_or_else(StoreError::unanswered)
                    }),
                None => Err(StoreError::unanswered()),
            }
        });
    }
    results
}

/// What `key` names now, if it exists.
pub async fn key_holder(
    db: &Db,
    key: &IdempotencyKey,
    key_retention: TimeDelta,
) -> Result<Option<KeyHolder>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Found {
        request: String,
        expired: bool,
        in_flight: bool,
        #[sqlx(flatten)]
        saga: SagaRow,
    }
    let found = db
        .run(async |conn| {
            sqlx::query_as::<_, Found>(concat!(
                "SELECT k.request, k.created_at < now() - $2::interval AS expired, \
                     (o.status = 'pending' AND o.deadline > now()) AS in_flight, ",
                order_columns!("o."),
                " FROM idempotency_keys k JOIN orders o ON o.id = k.order_id WHERE k.key = $1"
            ))
            .bind(key.as_str())
            .bind(key_retention)
            .fetch_optional(conn)
            .await
        })
        .await?;
    Ok(found.map(|f| KeyHolder {
        request: f.request,
        expired: f.expired,
        in_flight: f.in_flight,
        saga: f.saga,
    }))
}

/// Moves `key` from the saga `from` to a new pending saga `begin`, in one statement; false
/// if the key no longer names `from` (a concurrent request took it over first).
pub async fn take_over_key(db: &Db, from: Uuid, begin: &Begin) -> Result<bool, StoreError> {
    let Some(key) = &begin.key else {
        return Ok(false);
    };
    let moved: i64 = db
        .run(async |conn| {
            sqlx::query_scalar(
                "WITH moved AS ( \
                     UPDATE idempotency_keys SET order_id = $2, request = $3, created_at = now() \
                     WHERE key = $1 AND order_id = $4 RETURNING key), \
                 inserted AS ( \
                     INSERT INTO orders (id, user_id, product_id, quantity, status, deadline) \
                     SELECT $2, $5, $6, $7, 'pending', $8 FROM moved RETURNING id) \
                 SELECT count(*) FROM inserted",
            )
            .bind(key.as_str())
            .bind(begin.id)
            .bind(begin.request.fingerprint())
            .bind(from)
            .bind(begin.request.user_id.get())
            .bind(begin.request.product_id.get())
            .bind(begin.request.quantity.get())
            .bind(begin.deadline)
            .fetch_one(conn)
            .await
        })
        .await?;
    Ok(moved == 1)
}

/// A pending saga to confirm, with the snapshots taken on the way.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// The order.
    pub id: Uuid,
    /// The user's name.
    pub user_name: String,
    /// The user's email.
    pub user_email: String,
    /// The product's name when its stock was reserved.
    pub product_name: String,
    /// The unit price the stock was reserved at, in cents.
    pub unit_price_cents: i64,
    /// Exact total, in cents.
    pub total_cents: i64,
    /// The placing request's correlation ID, carried by the `order.created` event.
    pub correlation_id: Option<String>,
}

/// Confirms pending sagas with one statement, one commit: the batch function of the store's
/// confirmations. A saga is confirmed only while it is pending and its deadline has not passed
/// (by the database's clock); any other gets `None`. The same statement writes each confirmed
/// order's `order.created` event to the outbox.
///
/// When the statement fails for a reason other than an unavailable database, one bad row may
/// be the cause: each saga is then confirmed on its own.
pub async fn confirm_orders(
    db: Db,
    confirmations: Vec<Confirmation>,
) -> BatchResults<Option<PlacedOrder>> {
    let ids: Vec<Uuid> = confirmations.iter().map(|c| c.id).collect();
    let confirmed = db
        .run(async |conn| {
            sqlx::query_as::<_, SagaRow>(concat!(
                "WITH confirmed AS ( \
                     UPDATE orders o SET status = 'confirmed', user_name = c.user_name, \
                         user_email = c.user_email, product_name = c.product_name, \
                         unit_price_cents = c.unit_price_cents, total_cents = c.total_cents, \
                         updated_at = now() \
                     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int8[], \
                         $6::int8[], $7::text[]) AS c (id, user_name, user_email, product_name, \
                         unit_price_cents, total_cents, correlation_id) \
                     WHERE o.id = c.id AND o.status = 'pending' \
                       AND o.deadline > clock_timestamp() \
                     RETURNING ",
                order_columns!("o."),
                ", c.correlation_id AS event_correlation_id), \
                 events AS ( \
                     INSERT INTO outbox (order_id, type, correlation_id) \
                     SELECT id, 'order.created', event_correlation_id FROM confirmed) \
                 SELECT ",
                order_columns!(""),
                " FROM confirmed"
            ))
            .bind(&ids)
            .bind(
                confirmations
                    .iter()
                    .map(|c| c.user_name.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                confirmations
                    .iter()
                    .map(|c| c.user_email.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                confirmations
                    .iter()
                    .map(|c| c.product_name.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                confirmations
                    .iter()
                    .map(|c| c.unit_price_cents)
                    .collect::<Vec<_>>(),
            )
            .bind(
                confirmations
                    .iter()
                    .map(|c| c.total_cents)
                    .collect::<Vec<_>>(),
            )
            .bind(
                confirmations
                    .iter()
                    .map(|c| c.correlation_id.as_deref())
                    .collect::<Vec<_>>(),
            )
            .fetch_all(conn)
            .await
        })
        .await;
    match confirmed {
        Ok(rows) => {
            let mut by_id: HashMap<Uuid, SagaRow> = rows.into_iter().map(|r| (r.id, r)).collect();
            ids.iter().map(|id| placed(by_id.remove(id))).collect()
        }
        Err(e) if is_unavailable(&e) => {
            let e = StoreError::from(e);
            ids.iter().map(|_| Err(e.clone())).collect()
        }
        Err(e) if confirmations.len() > 1 => {
            tracing::warn!(error = %e, orders = confirmations.len(), "batched confirmation failed; confirming one by one");
            let mut results = Vec::with_capacity(confirmations.len());
            for confirmation in confirmations {
                results.extend(Box::pin(confirm_orders(db.clone(), vec![confirmation])).await);
            }
            results
        }
        Err(e) => vec![Err(e.into())],
    }
}

/// A pending saga to reject.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// The order.
    pub id: Uuid,
    /// Why.
    pub reason: RejectionReason,
    /// What the client is told.
    pub message: String,
    /// The reservation may exist and must be released.
    pub release_due: bool,
}

/// Rejects pending sagas with one statement: the batch function of the store's rejections.
/// Answers true for each saga that was pending and is now rejected. A rejection whose release
/// is due schedules it `release_lease` from now (the rejecting request tries it at once; the
/// recovery worker takes over if that does not succeed).
pub async fn reject_orders(
    db: Db,
    rejections: Vec<Rejection>,
    release_lease: TimeDelta,
) -> BatchResults<bool> {
    let ids: Vec<Uuid> = rejections.iter().map(|r| r.id).collect();
    let rejected = db
        .run(async |conn| {
            sqlx::query_scalar::<_, Uuid>(
                "UPDATE orders o SET status = 'rejected', rejection_reason = r.reason, \
                     rejection_message = r.message, release_due = r.release_due, \
                     next_attempt_at = CASE WHEN r.release_due THEN now() + $5::interval END, \
                     updated_at = now() \
                 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bool[]) \
                     AS r (id, reason, message, release_due) \
                 WHERE o.id = r.id AND o.status = 'pending' \
                 RETURNING o.id",
            )
            .bind(&ids)
            .bind(
                rejections
                    .iter()
                    .map(|r| r.reason.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                rejections
                    .iter()
                    .map(|r| r.message.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(rejections.iter().map(|r| r.release_due).collect::<Vec<_>>())
            .bind(release_lease)
            .fetch_all(conn)
            .await
        })
        .await;
    match rejected {
        Ok(rejected) => ids.iter().map(|id| Ok(rejected.contains(id))).collect(),
        Err(e) => {
            let e = StoreError::from(e);
            ids.iter().map(|_| Err(e.clone())).collect()
        }
    }
}

/// Fetches a saga in any state.
pub async fn fetch_saga(db: &Db, id: Uuid) -> Result<Option<SagaRow>, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query_as::<_, SagaRow>(concat!(
                "SELECT ",
                order_columns!(""),
                " FROM orders WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(conn)
            .await
        })
        .await?)
}

/// Fetches a placed order; a saga that was never placed is no order.
pub async fn fetch_order(db: &Db, id: Uuid) -> Result<Option<PlacedOrder>, StoreError> {
    let row = db
        .run(async |conn| {
            sqlx::query_as::<_, SagaRow>(concat!(
                "SELECT ",
                order_columns!(""),
                " FROM orders WHERE id = $1 AND status IN ('confirmed', 'cancelling', 'cancelled')"
            ))
            .bind(id)
            .fetch_optional(conn)
            .await
        })
        .await?;
    placed(row)
}

/// Lists a user's placed orders, newest first, with their total count.
pub async fn list_orders_of_user(
    db: &Db,
    user_id: i64,
    page: Page,
) -> Result<(Vec<PlacedOrder>, i64), StoreError> {
    let (rows, total) = db
        .run(async |conn| {
            let rows = sqlx::query_as::<_, SagaRow>(concat!(
                "SELECT ",
                order_columns!(""),
                " FROM orders WHERE user_id = $1 \
                  AND status IN ('confirmed', 'cancelling', 'cancelled') \
                  ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
            ))
            .bind(user_id)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *conn)
            .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM orders WHERE user_id = $1 \
                 AND status IN ('confirmed', 'cancelling', 'cancelled')",
            )
            .bind(user_id)
            .fetch_one(conn)
            .await?;
            Ok((rows, total))
        })
        .await?;
    let rows = rows
        .into_iter()
        .map(PlacedOrder::try_from)
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

/// Marks a confirmed order `cancelling`, with its release due `release_lease` from now (the
/// cancelling request tries it at once). `None` if it is not confirmed.
pub async fn begin_cancel(
    db: &Db,
    id: Uuid,
    release_lease: TimeDelta,
) -> Result<Option<PlacedOrder>, StoreError> {
    let row = db
        .run(async |conn| {
            sqlx::query_as::<_, SagaRow>(concat!(
                "UPDATE orders SET status = 'cancelling', release_due = true, \
                     next_attempt_at = now() + $2::interval, updated_at = now() \
                 WHERE id = $1 AND status = 'confirmed' RETURNING ",
                order_columns!("")
            ))
            .bind(id)
            .bind(release_lease)
            .fetch_optional(conn)
            .await
        })
        .await?;
    placed(row)
}

/// Records that a due release succeeded: a cancelling order becomes cancelled, and the same
/// statement writes its `order.cancelled` event (carrying `correlation_id`) to the outbox.
/// Returns the saga as it now is, or `None` if no release was due (another replica recorded
/// it first).
pub async fn record_release(
    db: &Db,
    id: Uuid,
    correlation_id: Option<&str>,
) -> Result<Option<SagaRow>, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query_as::<_, SagaRow>(concat!(
                "WITH released AS ( \
                     UPDATE orders SET release_due = false, next_attempt_at = NULL, \
                         status = CASE WHEN status = 'cancelling' THEN 'cancelled' \
                             ELSE status END, \
                         cancelled_at = CASE WHEN status = 'cancelling' THEN now() \
                             ELSE cancelled_at END, \
                         updated_at = now() \
                     WHERE id = $1 AND release_due RETURNING ",
                order_columns!(""),
                "), \
                 events AS ( \
                     INSERT INTO outbox (order_id, type, correlation_id) \
                     SELECT id, 'order.cancelled', $2 FROM released WHERE status = 'cancelled') \
                 SELECT ",
                order_columns!(""),
                " FROM released"
            ))
            .bind(id)
            .bind(correlation_id)
            .fetch_optional(conn)
            .await
        })
        .await?)
}

/// Records that a due release failed and when to try it next.
pub async fn postpone_release(
    db: &Db,
    id: Uuid,
    next_attempt_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    db.run(async |conn| {
        sqlx::query("UPDATE orders SET next_attempt_at = $2 WHERE id = $1 AND release_due")
            .bind(id)
            .bind(next_attempt_at)
            .execute(conn)
            .await
    })
    .await?;
    Ok(())
}

/// Rejects up to `limit` sagas still pending `grace` after their deadline (their request was
/// cut short: a crash, a client that went away), with their release due at once. Safe with
/// several replicas: rows another transaction holds are skipped.
pub async fn reject_overdue(
    db: &Db,
    grace: TimeDelta,
    limit: i64,
) -> Result<Vec<Uuid>, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query_scalar(
                "UPDATE orders SET status = 'rejected', rejection_reason = 'deadline_exceeded', \
                     rejection_message = 'the order was not confirmed before its deadline', \
                     release_due = true, next_attempt_at = now(), updated_at = now() \
                 WHERE id IN ( \
                     SELECT id FROM orders WHERE status = 'pending' \
                       AND deadline < now() - $1::interval \
                     ORDER BY deadline LIMIT $2 FOR UPDATE SKIP LOCKED) \
                 RETURNING id",
            )
            .bind(grace)
            .bind(limit)
            .fetch_all(conn)
            .await
        })
        .await?)
}

/// A release the recovery worker claimed.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct ClaimedRelease {
    /// The order, whose id is its reservation's.
    pub id: Uuid,
    /// Attempts made so far, this one included.
    pub release_attempts: i32,
}

/// Claims up to `limit` due releases for `lease` (no other replica takes them meanwhile), and
/// counts the attempt.
pub async fn claim_due_releases(
    db: &Db,
    lease: TimeDelta,
    limit: i64,
) -> Result<Vec<ClaimedRelease>, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query_as(
                "UPDATE orders SET next_attempt_at = now() + $1::interval, \
                     release_attempts = release_attempts + 1 \
                 WHERE id IN ( \
                     SELECT id FROM orders WHERE release_due AND next_attempt_at <= now() \
                     ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, release_attempts",
            )
            .bind(lease)
            .bind(limit)
            .fetch_all(conn)
            .await
        })
        .await?)
}

/// Deletes up to `limit` idempotency keys older than `key_retention` and rejected sagas (with
/// nothing left to release) older than `rejected_retention`; returns how many of each.
pub async fn prune(
    db: &Db,
    key_retention: TimeDelta,
    rejected_retention: TimeDelta,
    limit: i64,
) -> Result<(u64, u64), StoreError> {
    Ok(db
        .run(async |conn| {
            let keys = sqlx::query(
                "DELETE FROM idempotency_keys WHERE key IN ( \
                     SELECT key FROM idempotency_keys WHERE created_at < now() - $1::interval \
                     LIMIT $2)",
            )
            .bind(key_retention)
            .bind(limit)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            let sagas = sqlx::query(
                "DELETE FROM orders WHERE id IN ( \
                     SELECT id FROM orders WHERE status = 'rejected' AND NOT release_due \
                       AND updated_at < now() - $1::interval LIMIT $2)",
            )
            .bind(rejected_retention)
            .bind(limit)
            .execute(conn)
            .await?
            .rows_affected();
            Ok((keys, sagas))
        })
        .await?)
}
