//! product-service: the shop's catalogue and stock, in its own Postgres database, on port 5002.
//!
//! Stock is reserved atomically and idempotently per reservation id, and released exactly
//! once. See `README.md` in this folder for the API and its settings.

pub mod configuration;
pub mod demo;
pub mod domain;
pub mod errors;
pub mod routes;
pub mod startup;
pub mod store;
