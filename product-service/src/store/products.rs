//! The `products` table.

use chrono::{DateTime, Utc};
use http_plumbing::batch::{BatchResults, Batcher, fetch_by_ids};
use http_plumbing::db::Db;
use http_plumbing::pagination::Page;

use crate::domain::{NewProduct, ProductId};
use crate::store::StoreError;

/// A stored product.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    /// Primary key.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Unit price in cents.
    pub price_cents: i64,
    /// Units available to reserve.
    pub stock: i32,
    /// When the row was inserted.
    pub created_at: DateTime<Utc>,
}

/// Inserts a product.
pub async fn insert_product(db: &Db, product: &NewProduct) -> Result<ProductRow, StoreError> {
    Ok(db
        .run(async |conn| {
            sqlx::query_as::<_, ProductRow>(
                "INSERT INTO products (name, price_cents, stock) VALUES ($1, $2, $3) \
                 RETURNING id, name, price_cents, stock, created_at",
            )
            .bind(product.name.as_str())
            .bind(product.price.get())
            .bind(product.stock.get())
            .fetch_one(conn)
            .await
        })
        .await?)
}

/// Fetches one product by id.
pub async fn fetch_product(db: &Db, id: ProductId) -> Result<Option<ProductRow>, StoreError> {
    let mut found = fetch_products(db.clone(), vec![id]).await;
    found.pop().unwrap_or_else(|| Err(StoreError::unanswered()))
}

/// Fetches products by id with one statement: the batch function of [`ProductReads`].
///
/// Answers each id in order, with `None` for an id that names no product; when the statement
/// fails, every id gets its error.
pub async fn fetch_products(db: Db, ids: Vec<ProductId>) -> BatchResults<Option<ProductRow>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    let sql = "SELECT id, name, price_cents, stock, created_at FROM products WHERE id = ANY($1)";
    fetch_by_ids(&db, sql, &ids, |row: &ProductRow| row.id).await
}

/// `GET /products/{id}` lookups of one worker, batched ([`http_plumbing::batch`]).
pub type ProductReads = Batcher<Db, ProductId, Option<ProductRow>>;

/// Lists products by ascending id, with the total count.
pub async fn list_products(db: &Db, page: Page) -> Result<(Vec<ProductRow>, i64), StoreError> {
    Ok(db
        .run(async |conn| {
            let rows = sqlx::query_as::<_, ProductRow>(
                "SELECT id, name, price_cents, stock, created_at FROM products \
                 ORDER BY id LIMIT $1 OFFSET $2",
            )
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *conn)
            .await?;
            let total: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
                .fetch_one(conn)
                .await?;
            Ok((rows, total))
        })
        .await?)
}

/// Inserts a product under a given id unless that id is taken; true if it was inserted.
///
/// Call [`sync_product_id_sequence`] afterwards so that generated ids skip past it.
pub async fn insert_product_with_id(
    db: &Db,
    id: ProductId,
    product: &NewProduct,
) -> Result<bool, StoreError> {
    let inserted = db
        .run(async |conn| {
            sqlx::query(
                "INSERT INTO products (id, name, price_cents, stock) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id.get())
            .bind(product.name.as_str())
            .bind(product.price.get())
            .bind(product.stock.get())
            .execute(conn)
            .await
        })
        .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Moves the id sequence past the highest id in use.
pub async fn sync_product_id_sequence(db: &Db) -> Result<(), StoreError> {
    db.run(async |conn| {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('products', 'id'), \
             GREATEST((SELECT max(id) FROM products), 1))",
        )
        .execute(conn)
        .await
    })
    .await?;
    Ok(())
}
