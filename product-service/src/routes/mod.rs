//! HTTP routes, one file per resource.

pub mod products;
pub mod reservations;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every route of the service.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(products::create_product)
        .service(products::get_product)
        .service(products::list_products)
        .service(reservations::reserve_stock)
        .service(reservations::get_reservation)
        .service(reservations::release_reservation);
}
