//! HTTP routes, one file per resource.

pub mod orders;
pub mod outbox;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every route of the service (its store and saga are registered by `startup`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(orders::place_order)
        .service(orders::get_order)
        .service(orders::list_orders)
        .service(orders::cancel_order)
        .service(outbox::outbox_status);
}
