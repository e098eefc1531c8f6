//! HTTP routes, one file per resource.

pub mod products;
pub mod reservations;

use actix_web::web;
use http_plumbing::db::Db;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::store::Store;

/// Registers every route of the service, and the worker's store that they call.
pub fn configure(cfg: &mut ServiceConfig, db: &Db) {
    cfg.app_data(web::Data::new(Store::new(db.clone())))
        .service(products::create_product)
        .service(products::get_product)
        .service(products::list_products)
        .service(reservations::reserve_stock)
        .service(reservations::get_reservation)
        .service(reservations::release_reservation);
}
