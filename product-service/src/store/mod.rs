//! All of product-service's SQL. Functions are named after the statement they run; handlers
//! go through [`Store`], which owns the worker's database handle and its batchers.

pub mod products;
pub mod reservations;

use http_plumbing::db::Db;
use http_plumbing::pagination::Page;
use uuid::Uuid;

pub use http_plumbing::db::StoreError;

use crate::domain::{NewProduct, ProductId};
use products::{ProductReads, ProductRow};
use reservations::{Released, ReservationBatcher, ReservationRow, ReserveRequest, Reserved};

/// One worker's access to the products database: what the handlers call.
///
/// Lookups and reservations are batched ([`http_plumbing::batch`]); that is the store's
/// business, invisible to the routes.
#[derive(Debug)]
pub struct Store {
    db: Db,
    reads: ProductReads,
    reservations: ReservationBatcher,
}

impl Store {
    /// The store of one worker, over its database handle.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            reads: ProductReads::new(products::fetch_products),
            reservations: ReservationBatcher::new(reservations::reserve_stock_batch),
        }
    }

    /// Inserts a product.
    pub async fn insert_product(&self, product: &NewProduct) -> Result<ProductRow, StoreError> {
        products::insert_product(&self.db, product).await
    }

    /// Fetches a product, batched with the worker's concurrent lookups.
    pub async fn fetch_product(&self, id: ProductId) -> Result<Option<ProductRow>, StoreError> {
        self.reads.submit(&self.db, id).await
    }

    /// Lists products by ascending id, with the total count.
    pub async fn list_products(&self, page: Page) -> Result<(Vec<ProductRow>, i64), StoreError> {
        products::list_products(&self.db, page).await
    }

    /// Reserves stock, batched with the worker's concurrent reservations.
    pub async fn reserve(&self, request: ReserveRequest) -> Result<Reserved, StoreError> {
        self.reservations.submit(&self.db, request).await
    }

    /// Fetches a reservation; a void id is none.
    pub async fn fetch_reservation(&self, id: Uuid) -> Result<Option<ReservationRow>, StoreError> {
        reservations::fetch_reservation(&self.db, id).await
    }

    /// Releases a reservation (or makes the id void).
    pub async fn release(&self, id: Uuid) -> Result<Released, StoreError> {
        reservations::release_reservation(&self.db, id).await
    }
}
