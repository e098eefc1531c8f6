//! user-service: the shop's users, in their own Postgres database, over HTTP on port 5001.
//!
//! See `README.md` in this folder for the API and its settings.

pub mod configuration;
pub mod demo;
pub mod domain;
pub mod errors;
pub mod routes;
pub mod startup;
pub mod store;
