//! HTTP routes, one file per resource.

pub mod orders;

use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

/// Batches of order inserts a worker runs at a time: one. Requests that arrive while it
/// runs go together in the next (two at a time measured slower: BENCHMARKS.md).
const INSERT_BATCHES: usize = 1;

/// Registers every route of the service, and the per-worker batcher of order inserts.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.app_data(web::Data::new(crate::store::orders::order_inserts(
        INSERT_BATCHES,
    )))
    .service(orders::place_order)
    .service(orders::get_order)
    .service(orders::list_orders)
    .service(orders::cancel_order);
}
