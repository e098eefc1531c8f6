//! HTTP routes, one file per resource.

pub mod products;
pub mod reservations;

use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

/// Batches of product lookups a worker runs at a time: one. Requests that arrive while it
/// runs go together in the next (two at a time measured slower: BENCHMARKS.md).
const READ_BATCHES: usize = 1;

/// Batches of reservations a worker runs at a time: one. Requests that arrive while it
/// runs go together in the next (two at a time measured slower: BENCHMARKS.md).
const RESERVATION_BATCHES: usize = 1;

/// Registers every route of the service, and the per-worker batchers they use.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.app_data(web::Data::new(crate::store::products::product_reads(
        READ_BATCHES,
    )))
    .app_data(web::Data::new(
        crate::store::reservations::reservation_batcher(RESERVATION_BATCHES),
    ))
    .service(products::create_product)
    .service(products::get_product)
    .service(products::list_products)
    .service(reservations::reserve_stock)
    .service(reservations::get_reservation)
    .service(reservations::release_reservation);
}
