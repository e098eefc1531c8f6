//! All of user-service's SQL. Functions are named after the statement they run.

pub mod users;

pub use http_plumbing::db::StoreError;
