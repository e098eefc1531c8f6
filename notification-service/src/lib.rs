//! notification-service: emails for order-service's events, consumed from NATS JetStream and
//! sent once per event, with its own Postgres database, over HTTP on port 5004.
//!
//! See `README.md` in this folder for the event path, the API and its settings.

pub mod clients;
pub mod configuration;
pub mod domain;
pub mod errors;
pub mod events;
pub mod notifying;
pub mod routes;
pub mod startup;
pub mod store;
pub mod workers;
