//! Domain types: parsed, valid values. No actix, sqlx or reqwest here.

mod idempotency;
mod order;

pub use idempotency::{IdempotencyKey, MAX_KEY_LEN};
pub use order::{
    MAX_QUANTITY, OrderRequest, OrderStatus, Quantity, RejectionReason, ResourceId, total_cents,
};
