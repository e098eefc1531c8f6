//! The `reservations` table, and the stock it takes from and gives back to `products`.
//!
//! Reserving and releasing are each one SQL statement, hence one transaction; a batch of
//! reservations is one call of the SQL function `reserve_stock_batch`, which runs the same
//! guarded `UPDATE` per request inside one transaction. The `stock >= quantity` guard in the
//! `UPDATE` that decrements stock, with the row lock it takes, is what makes overselling
//! impossible under any concurrency; the `CHECK (stock >= 0)` constraint is the backstop.
//!
//! Releasing an id that holds nothing leaves a tombstone (a row with status `void`, migration
//! 0004), so a reservation under that id arriving later takes nothing: a caller that gave up on
//! a reservation and released it can be sure no stock stays held under that id, whatever the
//! order in which the two requests reach the database.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use http_plumbing::batch::{BatchResults, Batcher};
use http_plumbing::db::{Db, is_unavailable, is_unique_violation};
use uuid::Uuid;

use crate::domain::{ProductId, Quantity, ReservationState};
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
    /// Whether the stock is still held.
    #[sqlx(try_from = "String")]
    pub status: ReservationState,
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
    /// The id was released (or released before it held anything, which leaves it void): it
    /// can never hold stock again.
    Released,
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
    /// No reservation has this id. The id is now void: a later reservation under it is refused.
    NotFound,
}

/// What a reservation id names, tombstones included.
#[derive(Debug)]
enum Lookup {
    /// A reservation, held or released.
    Reservation(ReservationRow),
    /// A tombstone: the id was released before it held anything.
    Void,
}

/// A row of `reservations` as stored: a tombstone has no terms.
#[derive(sqlx::FromRow)]
struct StoredRow {
    id: Uuid,
    product_id: Option<i64>,
    quantity: Option<i32>,
    product_name: Option<String>,
    unit_price_cents: Option<i64>,
    status: String,
    created_at: DateTime<Utc>,
    released_at: Option<DateTime<Utc>>,
}

impl TryFrom<StoredRow> for Lookup {
    type Error = StoreError;

    fn try_from(row: StoredRow) -> Result<Self, StoreError> {
        let StoredRow {
            id,
            product_id,
            quantity,
            product_name,
            unit_price_cents,
            status,
            created_at,
            released_at,
        } = row;
        if status == "void" {
            return Ok(Self::Void);
        }
        let corrupt = |what: String| {
            StoreError::Query(std::sync::Arc::new(sqlx::Error::Decode(
                format!("reservation {id}: {what}").into(),
            )))
        };
        let (Some(product_id), Some(quantity), Some(product_name), Some(unit_price_cents)) =
            (product_id, quantity, product_name, unit_price_cents)
        else {
            return Err(corrupt(format!("status {status} without terms")));
        };
        Ok(Self::Reservation(ReservationRow {
            id,
            product_id,
            quantity,
            product_name,
            unit_price_cents,
            status: ReservationState::try_from(status).map_err(corrupt)?,
            created_at,
            released_at,
        }))
    }
}

/// Looks an id up, tombstones included.
async fn lookup(db: &Db, id: Uuid) -> Result<Option<Lookup>, StoreError> {
    let row = db
        .run(async |conn| {
            sqlx::query_as::<_, StoredRow>(
                "SELECT id, product_id, quantity, product_name, unit_price_cents, status, \
                     created_at, released_at \
                 FROM reservations WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(conn)
            .await
        })
        .await?;
    row.map(Lookup::try_from).transpose()
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

/// Says why a reservation took no stock: the id was already used (or released), or the
/// product has too little stock, or there is no such product.
async fn why_not_taken(
    db: &Db,
    id: Uuid,
    product: ProductId,
    quantity: Quantity,
) -> Result<Reserved, StoreError> {
    match lookup(db, id).await? {
        Some(Lookup::Void) => return Ok(Reserved::Released),
        Some(Lookup::Reservation(existing)) => {
            let same = existing.product_id == product.get() && existing.quantity == quantity.get();
            return Ok(if existing.status == ReservationState::Released {
                Reserved::Released
            } else if same {
                Reserved::Existing(existing)
            } else {
                Reserved::Conflict(existing)
            });
        }
        None => {}
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
///
/// Releasing an id that names nothing makes the id void (a tombstone), so that a reservation
/// under it arriving later takes nothing.
pub async fn release_reservation(db: &Db, id: Uuid) -> Result<Released, StoreError> {
    // A reservation being inserted concurrently under the same id makes the tombstone insert
    // wait for it and then conflict; the next round then releases what it took. Two rounds
    // settle any race (a void id or a committed reservation cannot change back); the third
    // is a margin.
    for _ in 0..3 {
        if let Some(row) = release_held(db, id).await? {
            return Ok(Released::Now(row));
        }
        if insert_tombstone(db, id).await? {
            return Ok(Released::NotFound);
        }
        match lookup(db, id).await? {
            Some(Lookup::Void) => return Ok(Released::NotFound),
            Some(Lookup::Reservation(r)) if r.status == ReservationState::Released => {
                return Ok(Released::Already(r));
            }
            // Held: it appeared after the release above looked. Release it.
            Some(Lookup::Reservation(_)) | None => {}
        }
    }
    Err(StoreError::Query(std::sync::Arc::new(
        sqlx::Error::Protocol(format!(
            "reservation {id} kept changing while it was being released"
        )),
    )))
}

/// Flips a held reservation to released and restocks, in one statement; `None` if the id
/// holds nothing now.
async fn release_held(db: &Db, id: Uuid) -> Result<Option<ReservationRow>, StoreError> {
    // Both updates are one statement: the status flip and the restock commit together, and
    // only the call that flips `reserved` to `released` restocks.
    Ok(db
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
        .await?)
}

/// Makes `id` void unless a row already has it; true if the tombstone was inserted.
async fn insert_tombstone(db: &Db, id: Uuid) -> Result<bool, StoreError> {
    let inserted = db
        .run(async |conn| {
            sqlx::query(
                "INSERT INTO reservations (id, status, released_at) VALUES ($1, 'void', now()) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .execute(conn)
            .await
        })
        .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Fetches one reservation by id; a void id is no reservation.
pub async fn fetch_reservation(db: &Db, id: Uuid) -> Result<Option<ReservationRow>, StoreError> {
    Ok(match lookup(db, id).await? {
        Some(Lookup::Reservation(row)) => Some(row),
        Some(Lookup::Void) | None => None,
    })
}
