//! All of order-service's SQL. Functions are named after the statement they run.

pub mod orders;

pub use http_plumbing::db::StoreError;
