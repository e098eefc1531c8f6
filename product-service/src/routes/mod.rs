//! HTTP routes, one file per resource.

pub mod products;
pub mod reservations;

use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::store::products::{ProductReads, fetch_products};
use crate::store::reservations::{ReservationBatcher, reserve_stock_batch};

/// Registers every route of the service, and the per-worker batchers they use.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.app_data(web::Data::new(ProductReads::new(fetch_products)))
        .app_data(web::Data::new(ReservationBatcher::new(reserve_stock_batch)))
        .service(products::create_product)
        .service(products::get_product)
        .service(products::list_products)
        .service(reservations::reserve_stock)
        .service(reservations::get_reservation)
        .service(reservations::release_reservation);
}
