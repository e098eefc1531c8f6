//! All of product-service's SQL. Functions are named after the statement they run.

pub mod products;
pub mod reservations;

pub use http_plumbing::db::StoreError;
