//! HTTP routes, one file per resource.

pub mod dead_letters;
pub mod notifications;

use actix_web::web;
use http_plumbing::health::{NotReady, ReadinessCheck};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::clients::{Broker, Mailer};

/// Registers every route of the service, the broker and mailer handles, and the readiness
/// check of NATS (`/ready` answers 503 `broker_unavailable` while it is unreachable).
pub fn configure(cfg: &mut ServiceConfig, broker: &Broker, mailer: &Mailer) {
    let probe = broker.clone();
    let readiness = ReadinessCheck::new(move || {
        let connected = probe.is_connected();
        async move {
            if connected {
                Ok(())
            } else {
                Err(NotReady {
                    code: "broker_unavailable",
                    message: "the service cannot reach NATS; try again shortly".to_owned(),
                })
            }
        }
    });
    cfg.app_data(web::Data::new(broker.clone()))
        .app_data(web::Data::new(mailer.with_own_connections()))
        .app_data(web::Data::new(readiness))
        .service(notifications::list_notifications)
        .service(dead_letters::list_dead_letters)
        .service(dead_letters::replay_dead_letter);
}
