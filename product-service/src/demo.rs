//! The seed tutorial's demo products, loaded at start-up when `APP_DEMO_DATA` is true.

use http_plumbing::db::Db;

use crate::domain::{NewProduct, PriceCents, ProductId, ProductName, Stock};
use crate::store::StoreError;
use crate::store::products::{insert_product_with_id, sync_product_id_sequence};

/// The seed's products: id, name, price in cents, stock.
pub const DEMO_PRODUCTS: [(i64, &str, i64, i64); 3] = [
    (101, "Wireless Keyboard", 4999, 150),
    (102, "USB-C Hub", 3499, 75),
    (103, "Monitor Stand", 8999, 30),
];

/// Inserts each demo product that is missing; existing rows (and their stock) are kept.
pub async fn insert_demo_products(db: &Db) -> Result<(), StoreError> {
    for (id, name, price_cents, stock) in DEMO_PRODUCTS {
        let product = NewProduct {
            name: ProductName::parse(name).expect("demo names are valid"),
            price: PriceCents::parse(price_cents).expect("demo prices are valid"),
            stock: Stock::parse(stock).expect("demo stock is valid"),
        };
        insert_product_with_id(
            db,
            ProductId::parse(id).expect("demo ids are valid"),
            &product,
        )
        .await?;
    }
    sync_product_id_sequence(db).await
}
