//! HTTP plumbing shared by the services. Nothing here knows about users, products or orders.
//!
//! - [`batch`]: micro-batching of concurrent requests into one statement.
//! - [`db`]: pool creation with start-up retries; database error classification.
//! - [`error`]: the JSON error envelope every 4xx/5xx body uses, and helpers to build it.
//! - [`extractors`]: JSON/path/query extractor settings whose rejections use the envelope.
//! - [`health`]: `GET /health` (liveness) and `GET /ready` (database readiness).
//! - [`pagination`]: the `limit`/`offset` query convention of every list endpoint.
//! - [`server`]: the HTTP server with the middleware, routes and docs every service shares.
//! - [`settings`]: typed settings from defaults plus `APP_`-prefixed environment variables.
//! - [`healthcheck`]: the `healthcheck` subcommand container health checks run.

pub mod batch;
pub mod db;
pub mod error;
pub mod extractors;
pub mod health;
pub mod healthcheck;
pub mod pagination;
pub mod server;
pub mod settings;

pub use error::{ErrorBody, error_response};
