//! Domain types: parsed, valid values. No actix, sqlx or reqwest here.

mod product;

pub use product::{MAX_QUANTITY, NewProduct, PriceCents, ProductId, ProductName, Quantity, Stock};
