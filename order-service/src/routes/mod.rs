//! HTTP routes, one file per resource.

pub mod orders;

use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::store::orders::{OrderInserts, insert_orders};

/// Registers every route of the service, and the per-worker batcher of order inserts.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.app_data(web::Data::new(OrderInserts::new(insert_orders)))
        .service(orders::place_order)
        .service(orders::get_order)
        .service(orders::list_orders)
        .service(orders::cancel_order);
}
