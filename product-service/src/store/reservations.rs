//! The `reservations` table, and the stock it takes from and gives back to `products`.
//!
//! Reserving and releasing are each one transaction. The `stock >= quantity` guard in the
//! same `UPDATE` that decrements stock, with the row lock it takes, is what makes overselling
//! impossible under any concurrency; the `CHECK (stock >= 0)` constraint is the backstop.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{ProductId, Quantity};
use crate::store::StoreError;

/// A stored reservation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReservationRow {
    /// The caller's idempotency key (order-service uses the order id).
    pub id: Uuid,
    /// The product reserved.
    pub product_id: i64,
    /// Units reserved.
    pub quantity: i32,
    /// `reserved` or `released`.
    pub status: String,
    /// When the reservation was made.
    pub created_at: DateTime<Utc>,
    /// When it was released, if it was.
    pub released_at: Option<DateTime<Utc>>,
}

/// Outcome of [`reserve_stock`].
#[derive(Debug)]
pub enum Reserved {
    /// A new reservation; the stock was taken.
    Created(ReservationRow),
    /// The same reservation already existed; nothing more was taken.
    Existing(ReservationRow),
    /// The id is already used by a reservation of another product or quantity.
    Conflict(ReservationRow),
    /// No such product.
    ProductNotFound,
    /// Not enough stock; `available` is what there is.
    InsufficientStock {
        /// Units in stock when the reservation was refused.
        available: i32,
    },
}

/// Outcome of [`release_reservation`].
#[derive(Debug)]
pub enum Released {
    /// Released now; the stock came back.
    Now(ReservationRow),
    /// Released earlier; nothing changed.
    Already(ReservationRow),
    /// No reservation has this id.
    NotFound,
}

const SELECT_RESERVATION: &str = "SELECT id, product_id, quantity, status, created_at, released_at \
     FROM reservations WHERE id = $1";

/// Reserves `quantity` units of `product` under the idempotency key `id`.
pub async fn reserve_stock(
    pool: &PgPool,
    id: Uuid,
    product: ProductId,
    quantity: Quantity,
) -> Result<Reserved, StoreError> {
    let mut tx = pool.begin().await?;
    // A concurrent insert of the same id makes this statement wait for that transaction, so
    // a repeated request sees the first one's outcome rather than racing it.
    let inserted = sqlx::query_as::<_, ReservationRow>(
        "INSERT INTO reservations (id, product_id, quantity, status) \
         SELECT $1, p.id, $3, 'reserved' FROM products p WHERE p.id = $2 \
         ON CONFLICT (id) DO NOTHING \
         RETURNING id, product_id, quantity, status, created_at, released_at",
    )
    .bind(id)
    .bind(product.get())
    .bind(quantity.get())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(reservation) = inserted else {
        let existing = sqlx::query_as::<_, ReservationRow>(SELECT_RESERVATION)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.rollback().await?;
        return Ok(match existing {
            Some(r) if r.product_id == product.get() && r.quantity == quantity.get() => {
                Reserved::Existing(r)
            }
            Some(r) => Reserved::Conflict(r),
            None => Reserved::ProductNotFound,
        });
    };
    let taken = sqlx::query("UPDATE products SET stock = stock - $2 WHERE id = $1 AND stock >= $2")
        .bind(product.get())
        .bind(quantity.get())
        .execute(&mut *tx)
        .await?;
    if taken.rows_affected() == 1 {
        tx.commit().await?;
        return Ok(Reserved::Created(reservation));
    }
    tx.rollback().await?;
    let available: Option<i32> = sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
        .bind(product.get())
        .fetch_optional(pool)
        .await?;
    Ok(match available {
        Some(available) => Reserved::InsufficientStock { available },
        None => Reserved::ProductNotFound,
    })
}

/// Releases a reservation, returning its stock exactly once however often it is called.
pub async fn release_reservation(pool: &PgPool, id: Uuid) -> Result<Released, StoreError> {
    let mut tx = pool.begin().await?;
    let released = sqlx::query_as::<_, ReservationRow>(
        "UPDATE reservations SET status = 'released', released_at = now() \
         WHERE id = $1 AND status = 'reserved' \
         RETURNING id, product_id, quantity, status, created_at, released_at",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(r) = released {
        sqlx::query("UPDATE products SET stock = stock + $2 WHERE id = $1")
            .bind(r.product_id)
            .bind(r.quantity)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(Released::Now(r));
    }
    let existing = sqlx::query_as::<_, ReservationRow>(SELECT_RESERVATION)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.rollback().await?;
    Ok(existing.map_or(Released::NotFound, Released::Already))
}

/// Fetches one reservation by id.
pub async fn fetch_reservation(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<ReservationRow>, StoreError> {
    Ok(sqlx::query_as::<_, ReservationRow>(SELECT_RESERVATION)
        .bind(id)
        .fetch_optional(pool)
        .await?)
}
