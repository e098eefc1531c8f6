//! The `products` table.

use chrono::{DateTime, Utc};
use http_plumbing::pagination::Page;
use sqlx::PgPool;

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
pub async fn insert_product(pool: &PgPool, product: &NewProduct) -> Result<ProductRow, StoreError> {
    Ok(sqlx::query_as::<_, ProductRow>(
        "INSERT INTO products (name, price_cents, stock) VALUES ($1, $2, $3) \
         RETURNING id, name, price_cents, stock, created_at",
    )
    .bind(product.name.as_str())
    .bind(product.price.get())
    .bind(product.stock.get())
    .fetch_one(pool)
    .await?)
}

/// Fetches one product by id.
pub async fn fetch_product(pool: &PgPool, id: ProductId) -> Result<Option<ProductRow>, StoreError> {
    Ok(sqlx::query_as::<_, ProductRow>(
        "SELECT id, name, price_cents, stock, created_at FROM products WHERE id = $1",
    )
    .bind(id.get())
    .fetch_optional(pool)
    .await?)
}

/// Lists products by ascending id, with the total count.
pub async fn list_products(
    pool: &PgPool,
    page: Page,
) -> Result<(Vec<ProductRow>, i64), StoreError> {
    let rows = sqlx::query_as::<_, ProductRow>(
        "SELECT id, name, price_cents, stock, created_at FROM products ORDER BY id LIMIT $1 OFFSET $2",
    )
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

/// Inserts the seed tutorial's demo products (ids 101 to 103) unless they exist, and moves
/// the id sequence past them so that created products never collide with demo ids.
pub async fn insert_demo_products(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO products (id, name, price_cents, stock) VALUES \
         (101, 'Wireless Keyboard', 4999, 150), \
         (102, 'USB-C Hub', 3499, 75), \
         (103, 'Monitor Stand', 8999, 30) \
         ON CONFLICT DO NOTHING",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('products', 'id'), \
         GREATEST((SELECT max(id) FROM products), 1))",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
