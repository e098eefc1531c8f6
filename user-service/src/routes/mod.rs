//! HTTP routes, one file per resource.

pub mod users;

use actix_web::web;
use http_plumbing::db::Db;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::store::users::{UserReads, fetch_users};

/// Registers every route of the service, and the per-worker batcher of user lookups.
pub fn configure(cfg: &mut ServiceConfig, _db: &Db) {
    cfg.app_data(web::Data::new(UserReads::new(fetch_users)))
        .service(users::create_user)
        .service(users::get_user)
        .service(users::list_users);
}
