//! The `orders` table.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use http_plumbing::batch::{BatchResults, Batcher};
use http_plumbing::db::{Db, is_unavailable};
use http_plumbing::pagination::Page;
use uuid::Uuid;

use crate::domain::OrderStatus;
use crate::store::StoreError;

/// A stored order, with its user and product snapshots.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrderRow {
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
    /// `confirmed` or `cancelled`.
    pub status: String,
    /// When the order was placed.
    pub created_at: DateTime<Utc>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// An order to insert.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// The order's id, already used as the reservation id.
    pub id: Uuid,
    /// Who orders.
    pub user_id: i64,
    /// User name snapshot.
    pub user_name: String,
    /// User email snapshot.
    pub user_email: String,
    /// What is ordered.
    pub product_id: i64,
    /// Product name snapshot.
    pub product_name: String,
    /// Unit price snapshot, in cents.
    pub unit_price_cents: i64,
    /// Units ordered.
    pub quantity: i32,
    /// Exact total, in cents.
    pub total_cents: i64,
}

/// Inserts a confirmed order.
pub async fn insert_order(db: &Db, order: &NewOrder) -> Result<OrderRow, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query_as::<_, OrderRow>(
                "INSERT INTO orders (id, user_id, user_name, user_email, product_id, \
                 product_name, unit_price_cents, quantity, total_cents, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *",
            )
            .bind(order.id)
            .bind(order.user_id)
            .bind(&order.user_name)
            .bind(&order.user_email)
            .bind(order.product_id)
            .bind(&order.product_name)
            .bind(order.unit_price_cents)
            .bind(order.quantity)
            .bind(order.total_cents)
            .bind(OrderStatus::Confirmed.as_str())
            .fetch_one(conn)
            .await
        })
        .await?)
}

/// Inserts confirmed orders with one statement, one commit: the batch function of
/// [`OrderInserts`]. Answers each order in order.
///
/// When the database is unavailable every order gets that error. When the statement fails
/// for another reason, one bad order may be the cause: each order is then inserted on its
/// own, so that only the orders that cannot be stored fail.
pub async fn insert_orders(db: Db, orders: Vec<NewOrder>) -> BatchResults<OrderRow> {
    if let [order] = orders.as_slice() {
        return vec![insert_order(&db, order).await];
    }
    let ids = column(&orders, |o| o.id);
    let inserted = db
        .run(async |conn| {
            sqlx::query_as::<_, OrderRow>(
                "INSERT INTO orders (id, user_id, user_name, user_email, product_id, \
                 product_name, unit_price_cents, quantity, total_cents, status) \
                 SELECT *, $10 FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], \
                     $5::int8[], $6::text[], $7::int8[], $8::int4[], $9::int8[]) \
                 RETURNING *",
            )
            .bind(&ids)
            .bind(column(&orders, |o| o.user_id))
            .bind(column(&orders, |o| o.user_name.as_str()))
            .bind(column(&orders, |o| o.user_email.as_str()))
            .bind(column(&orders, |o| o.product_id))
            .bind(column(&orders, |o| o.product_name.as_str()))
            .bind(column(&orders, |o| o.unit_price_cents))
            .bind(column(&orders, |o| o.quantity))
            .bind(column(&orders, |o| o.total_cents))
            .bind(OrderStatus::Confirmed.as_str())
            .fetch_all(conn)
            .await
        })
        .await;
    match inserted {
        Ok(rows) => {
            let mut by_id: HashMap<Uuid, OrderRow> = rows.into_iter().map(|r| (r.id, r)).collect();
            ids.iter()
                .map(|id| by_id.remove(id).ok_or_else(StoreError::unanswered))
                .collect()
        }
        Err(e) if is_unavailable(&e) => {
            let e = StoreError::from(e);
            orders.iter().map(|_| Err(e.clone())).collect()
        }
        Err(e) => {
            tracing::warn!(error = %e, orders = orders.len(), "batched insert failed; inserting one by one");
            let mut results = Vec::with_capacity(orders.len());
            for order in &orders {
                results.push(insert_order(&db, order).await);
            }
            results
        }
    }
}

/// One field of every order, as an array parameter.
fn column<'a, T>(orders: &'a [NewOrder], field: impl Fn(&'a NewOrder) -> T) -> Vec<T> {
    orders.iter().map(field).collect()
}

/// `POST /orders` inserts of one worker, batched ([`http_plumbing::batch`]).
pub type OrderInserts = Batcher<Db, NewOrder, OrderRow>;

/// Fetches one order by id.
pub async fn fetch_order(db: &Db, id: Uuid) -> Result<Option<OrderRow>, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query_as::<_, OrderRow>("SELECT * FROM orders WHERE id = $1")
                .bind(id)
                .fetch_optional(conn)
                .await
        })
        .await?)
}

/// Lists a user's orders, newest first, with the total count.
pub async fn list_orders_of_user(
    db: &Db,
    user_id: i64,
    page: Page,
) -> Result<(Vec<OrderRow>, i64), StoreError> {
    Ok(db
        .run(async |conn| {
            let rows = sqlx::query_as::<_, OrderRow>(
                "SELECT * FROM orders WHERE user_id = $1 \
                 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
            )
            .bind(user_id)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *conn)
            .await?;
            let total: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(conn)
                .await?;
            Ok((rows, total))
        })
        .await?)
}

/// Marks a confirmed order cancelled; `None` if it is not (or no longer) confirmed.
pub async fn mark_order_cancelled(db: &Db, id: Uuid) -> Result<Option<OrderRow>, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query_as::<_, OrderRow>(
                "UPDATE orders SET status = 'cancelled', cancelled_at = now() \
                 WHERE id = $1 AND status = 'confirmed' RETURNING *",
            )
            .bind(id)
            .fetch_optional(conn)
            .await
        })
        .await?)
}
