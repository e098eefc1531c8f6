//! The HTTP server every service runs: middleware, extractor settings, health, OpenAPI, Swagger UI.

use std::net::TcpListener;

use crate::db::{DatabaseSettings, Db};
use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use telemetry::{RootSpan, correlation_middleware};
use tracing_actix_web::TracingLogger;
use utoipa::openapi::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::route_not_found;
use crate::extractors::{json_config, path_config, query_config};
use crate::health::{ServiceName, health, ready};

/// Where the generated OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api-docs/openapi.json";

/// Seconds in-flight requests get to finish after SIGTERM/SIGINT before workers stop.
const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// What a service contributes to the shared server.
#[allow(missing_debug_implementations)] // utoipa's OpenApi is not Debug.
#[derive(Clone)]
pub struct ServiceApi<F> {
    /// Name reported by `/health` and logged.
    pub name: &'static str,
    /// The service's base document (info, tags); paths and schemas are collected from routes.
    pub openapi: OpenApi,
    /// Registers the service's own routes and app data. Use `.service(..)` so that
    /// utoipa-actix-web collects each handler's path into the document.
    pub configure: F,
}

/// Builds the service's full OpenAPI document exactly as the server serves it.
pub fn openapi_document<F>(api: &ServiceApi<F>) -> OpenApi
where
    F: Fn(&mut ServiceConfig) + Clone,
{
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(api.openapi.clone())
        .service(health)
        .service(ready)
        .configure(api.configure.clone())
        .split_for_parts();
    doc
}

/// Starts serving on `listener` (bind port 0 in tests) and returns the running server.
///
/// Every request gets a correlation ID and a root span; JSON, path and query rejections use
/// the error envelope; unknown routes get a 404 envelope; the spec is at [`OPENAPI_PATH`] and
/// Swagger UI at `/swagger-ui/`. Graceful shutdown on SIGTERM/SIGINT is actix's.
///
/// Each worker thread gets its own connection pool (a share of `database.max_connections`),
/// and `api.configure` runs once per worker, so anything it builds (HTTP clients) is per
/// worker too. Connections are then opened and polled on the thread that uses them: with one
/// pool shared by all workers, a socket is registered with whichever runtime opened it and
/// most queries pay a cross-thread wake-up (measured here: ~0.25 ms per query).
pub fn serve<F>(
    listener: TcpListener,
    database: DatabaseSettings,
    api: ServiceApi<F>,
) -> std::io::Result<Application>
where
    F: Fn(&mut ServiceConfig) + Clone + Send + 'static,
{
    let port = listener.local_addr()?.port();
    let doc = openapi_document(&api);
    let name = api.name;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_worker = database.max_connections.div_ceil(workers as u32).max(1);
    let server = HttpServer::new(move || {
        let db = Db::connect_lazy(&database.url, per_worker)
            .expect("the database URL was already used to connect at start-up");
        let (app, _) = App::new()
            .into_utoipa_app()
            .app_data(json_config())
            .app_data(path_config())
            .app_data(query_config())
            .app_data(web::Data::new(ServiceName(name)))
            .app_data(web::Data::new(db))
            .service(health)
            .service(ready)
            .configure(api.configure.clone())
            .split_for_parts();
        app.service(SwaggerUi::new("/swagger-ui/{_:.*}").url(OPENAPI_PATH, doc.clone()))
            .default_service(web::to(route_not_found))
            .wrap(Compress::default())
            .wrap(TracingLogger::<RootSpan>::new())
            .wrap(from_fn(correlation_middleware))
    })
    .workers(workers)
    .listen(listener)?
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
    .run();
    Ok(Application { port, server })
}

/// A bound service whose server has not been awaited yet.
#[allow(missing_debug_implementations)] // actix's Server is not Debug.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// The port actually bound (useful when configured with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM/SIGINT, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
