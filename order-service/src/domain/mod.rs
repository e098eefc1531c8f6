//! Domain types: parsed, valid values. No actix, sqlx or reqwest here.

mod order;

pub use order::{MAX_QUANTITY, OrderRequest, OrderStatus, Quantity, ResourceId, total_cents};
