//! All of notification-service's SQL. Functions are named after the statement they run.

pub mod notifications;

pub use http_plumbing::db::StoreError;
