//! Domain types: parsed, valid values. No actix, sqlx or reqwest here.

mod product;
mod reservation;

pub use product::{MAX_QUANTITY, NewProduct, PriceCents, ProductId, ProductName, Quantity, Stock};
pub use reservation::ReservationState;
