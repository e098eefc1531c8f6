//! HTTP routes, one file per resource.

pub mod users;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every route of the service.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(users::create_user)
        .service(users::get_user)
        .service(users::list_users);
}
