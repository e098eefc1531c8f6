//! HTTP routes, one file per resource.

pub mod users;

use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

/// Batches of user lookups a worker runs at a time: one. Requests that arrive while it
/// runs go together in the next (two at a time measured slower: BENCHMARKS.md).
const READ_BATCHES: usize = 1;

/// Registers every route of the service, and the per-worker batcher of user lookups.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.app_data(web::Data::new(crate::store::users::user_reads(
        READ_BATCHES,
    )))
    .service(users::create_user)
    .service(users::get_user)
    .service(users::list_users);
}
