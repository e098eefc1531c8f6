//! The `reservations` table, and the stock it takes from and gives back to `products`.
//!
//! Reserving and releasing are each one SQL statement, hence one transaction; a batch of
//! reservations is one call of the SQL function `reserve_stock_batch`, which runs the same
//! guarded `UPDATE` per request inside one transaction. The `stock >= quantity` guard in the
//! `UPDATE` that decrements stock, with the row lock it takes, is what makes overselling
//! impossible under any concurrency; the `CHECK (stock >= 0)` constraint is the backstop.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use http_plumbing::batch::{BatchResults, Batcher};
use http_plumbing::db::{Db, is_unavailable, is_unique_violation};
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
    /// The product's name when the stock was taken.
    pub product_name: String,
    /// The product's unit price in cents when the stock was taken.
    pub unit_price_cents: i64,
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

/// Reserves `quantity` units of `product` under the idempotency key `id`.
pub async fn reserve_stock(
    db: &Db,
    id: Uuid,
    product: ProductId,
    quantity: Quantity,
) -> Result<Reserved, StoreError> {
    // One statement, so one round trip and the shortest possible hold on the product's row
    // lock. A concurrent request with the same id passes the NOT EXISTS check in its own
    // snapshot, then fails on the primary key and rolls its decrement back with it.
    let inserted = db
        .run(async |conn| {
            sqlx::query_as::<_, ReservationRow>(
                "WITH taken AS ( \
                     UPDATE products SET stock = stock - $3 \
                     WHERE id = $2 AND stock >= $3 \
                       AND NOT EXISTS (SELECT 1 FROM reservations WHERE id = $1) \
                     RETURNING id, name, price_cents) \
                 INSERT INTO reservations \
                     (id, product_id, quantity, product_name, unit_price_cents, status) \
                 SELECT $1, id, $3, name, price_cents, 'reserved' FROM taken \
                 RETURNING id, product_id, quantity, product_name, unit_price_cents, status, \
                     created_at, released_at",
            )
            .bind(id)
            .bind(product.get())
            .bind(quantity.get())
            .fetch_optional(conn)
            .await
        })
        .await;
    match inserted {
        Ok(Some(reservation)) => Ok(Reserved::Created(reservation)),
        Ok(None) => why_not_taken(db, id, product, quantity).await,
        Err(e) if is_unique_violation(&e, "reservations_pkey") => {
            why_not_taken(db, id, product, quantity).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Says why a reservation took no stock: the id was already used, or the product has too
/// little stock, or there is no such product.
async fn why_not_taken(
    db: &Db,
    id: Uuid,
    product: ProductId,
    quantity: Quantity,
) -> Result<Reserved, StoreError> {
    if let Some(existing) = fetch_reservation(db, id).await? {
        let same = existing.product_id == product.get() && existing.quantity == quantity.get();
        return Ok(if same {
            Reserved::Existing(existing)
        } else {
            Reserved::Conflict(existing)
        });
    }
    let available: Option<i32> = db
        .run(async |conn| {
            sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
                .bind(product.get())
                .fetch_optional(conn)
                .await
        })
        .await?;
    Ok(match available {
        Some(available) => Reserved::InsufficientStock { available },
        None => Reserved::ProductNotFound,
    })
}

/// A reservation to make: the item of a [`ReservationBatcher`].
#[derive(Debug, Clone, Copy)]
pub struct ReserveRequest {
    /// The caller's idempotency key.
    pub id: Uuid,
    /// The product to take stock from.
    pub product: ProductId,
    /// Units to take.
    pub quantity: Quantity,
}

/// A reservation made by `reserve_stock_batch`, with the position of its request (from 1).
#[derive(sqlx::FromRow)]
struct TakenRow {
    item: i64,
    #[sqlx(flatten)]
    reservation: ReservationRow,
}

/// Makes reservations with one statement, one commit: the batch function of
/// [`ReservationBatcher`]. The SQL function `reserve_stock_batch` (migration 0003) takes
/// each request as [`reserve_stock`] would; a request that took nothing is then explained
/// on its own. A lone request runs [`reserve_stock`] itself.
///
/// When the database is unavailable every request gets that error. When the statement fails
/// for another reason (a deadlock with a concurrent retry of the same id, say), nothing of
/// the batch was committed, and each request is made again on its own.
pub async fn reserve_stock_batch(db: Db, requests: Vec<ReserveRequest>) -> BatchResults<Reserved> {
    if let [r] = requests.as_slice() {
        return vec![reserve_stock(&db, r.id, r.product, r.quantity).await];
    }
    let ids: Vec<Uuid> = requests.iter().map(|r| r.id).collect();
    let products: Vec<i64> = requests.iter().map(|r| r.product.get()).collect();
    let quantities: Vec<i32> = requests.iter().map(|r| r.quantity.get()).collect();
    let taken = db
        .run(async |conn| {
            sqlx::query_as::<_, TakenRow>(
                "SELECT * FROM reserve_stock_batch($1, $2, $3) AS t (item, id, product_id, \
                     quantity, product_name, unit_price_cents, status, created_at, released_at)",
            )
            .bind(&ids)
            .bind(&products)
            .bind(&quantities)
            .fetch_all(conn)
            .await
        })
        .await;
    let mut results = Vec::with_capacity(requests.len());
    match taken {
        Ok(rows) => {
            let mut taken: HashMap<i64, ReservationRow> =
                rows.into_iter().map(|t| (t.item, t.reservation)).collect();
            for (item, r) in (1..).zip(&requests) {
                results.push(match taken.remove(&item) {
                    Some(row) => Ok(Reserved::Created(row)),
                    None => why_not_taken(&db, r.id, r.product, r.quantity).await,
                });
            }
        }
        Err(e) if is_unavailable(&e) => {
            let e = StoreError::from(e);
            results.extend(requests.iter().map(|_| Err(e.clone())));
        }
        Err(e) => {
            tracing::warn!(error = %e, requests = requests.len(), "batched reservation failed; reserving one by one");
            for r in &requests {
                results.push(reserve_stock(&db, r.id, r.product, r.quantity).await);
            }
        }
    }
    results
}

/// `PUT /reservations/{id}` requests of one worker, batched ([`http_plumbing::batch`]).
pub type ReservationBatcher = Batcher<Db, ReserveRequest, Reserved>;

/// Releases a reservation, returning its stock exactly once however often it is called.
pub async fn release_reservation(db: &Db, id: Uuid) -> Result<Released, StoreError> {
    // Both updates are one statement: the status flip and the restock commit together, and
    // only the call that flips `reserved` to `released` restocks.
    let released = db
        .run(async |conn| {
            sqlx::query_as::<_, ReservationRow>(
                "WITH released AS ( \
                     UPDATE reservations SET status = 'released', released_at = now() \
                     WHERE id = $1 AND status = 'reserved' \
                     RETURNING id, product_id, quantity, product_name, unit_price_cents, \
                         status, created_at, released_at), \
                 restocked AS ( \
                     UPDATE products p SET stock = p.stock + r.quantity \
                     FROM released r WHERE p.id = r.product_id) \
                 SELECT * FROM released",
            )
            .bind(id)
            .fetch_optional(conn)
            .await
        })
        .await?;
    if let Some(r) = released {
        return Ok(Released::Now(r));
    }
    Ok(fetch_reservation(db, id)
        .await?
        .map_or(Released::NotFound, Released::Already))
}

/// Fetches one reservation by id.
pub async fn fetch_reservation(db: &Db, id: Uuid) -> Result<Option<ReservationRow>, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query_as::<_, ReservationRow>(
        "SELECT id, product_id, quantity, product_name, unit_price_cents, status, created_at, \
         released_at FROM reservations WHERE id = $1",
    )
        .bind(id)
        .fetch_optional(conn).await
        })
        .await?)
}
