//! The HTTP server every service runs: middleware, extractor settings, health, OpenAPI, Swagger UI.

use std::future::Future;
use std::net::TcpListener;
use std::pin::Pin;
use std::time::Duration;

use crate::db::{DatabaseSettings, Db};
use actix_web::dev::{Server, ServerHandle};
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

/// How long in-flight requests get to finish after SIGTERM before workers stop, unless a
/// service sets its own ([`ServerOptions::shutdown_grace`]).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How the shared server runs, beyond the service's own routes.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// After SIGTERM the server stops accepting connections at once and gives in-flight
    /// requests this long to finish; what is still running then is dropped.
    pub shutdown_grace: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// What a service contributes to the shared server.
#[allow(missing_debug_implementations)] // utoipa's OpenApi is not Debug.
#[derive(Clone)]
pub struct ServiceApi<F> {
    /// Name reported by `/health` and logged.
    pub name: &'static str,
    /// The service's base document (info, tags); paths and schemas are collected from routes.
    pub openapi: OpenApi,
    /// Registers the service's own routes and app data, given the worker's database handle
    /// (for the service's store and its batchers). Use `.service(..)` so that
    /// utoipa-actix-web collects each handler's path into the document.
    pub configure: F,
}

/// Builds the service's full OpenAPI document exactly as the server serves it.
pub fn openapi_document<F>(api: &ServiceApi<F>) -> OpenApi
where
    F: Fn(&mut ServiceConfig, &Db) + Clone,
{
    // The routes only need a handle to build their stores; a lazy pool never connects.
    let db = Db::connect_lazy("postgres://localhost/openapi-document", 1)
        .expect("a constant, valid database URL");
    let configure = api.configure.clone();
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(api.openapi.clone())
        .service(health)
        .service(ready)
        .configure(|cfg| configure(cfg, &db))
        .split_for_parts();
    doc
}

/// Starts serving on `listener` (bind port 0 in tests) and returns the running server.
///
/// Every request gets a correlation ID and a root span; JSON, path and query rejections use
/// the error envelope; unknown routes get a 404 envelope; the spec is at [`OPENAPI_PATH`] and
/// Swagger UI at `/swagger-ui/`. Graceful shutdown on SIGTERM is actix's, with
/// [`DEFAULT_SHUTDOWN_GRACE`]; [`serve_with`] sets another.
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
    F: Fn(&mut ServiceConfig, &Db) + Clone + Send + 'static,
{
    serve_with(listener, database, api, ServerOptions::default())
}

/// [`serve`] with explicit [`ServerOptions`].
pub fn serve_with<F>(
    listener: TcpListener,
    database: DatabaseSettings,
    api: ServiceApi<F>,
    options: ServerOptions,
) -> std::io::Result<Application>
where
    F: Fn(&mut ServiceConfig, &Db) + Clone + Send + 'static,
{
    let port = listener.local_addr()?.port();
    let doc = openapi_document(&api);
    let name = api.name;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_worker = database.max_connections.div_ceil(workers as u32).max(1);
    let server = HttpServer::new(move || {
        let db = Db::connect_lazy(&database.url, per_worker)
            .expect("the database URL was already used to connect at start-up");
        let configure = api.configure.clone();
        let (app, _) = App::new()
            .into_utoipa_app()
            .app_data(json_config())
            .app_data(path_config())
            .app_data(query_config())
            .app_data(web::Data::new(ServiceName(name)))
            .app_data(web::Data::new(db.clone()))
            .service(health)
            .service(ready)
            .configure(|cfg| configure(cfg, &db))
            .split_for_parts();
        app.service(SwaggerUi::new("/swagger-ui/{_:.*}").url(OPENAPI_PATH, doc.clone()))
            .default_service(web::to(route_not_found))
            .wrap(Compress::default())
            .wrap(TracingLogger::<RootSpan>::new())
            .wrap(from_fn(correlation_middleware))
    })
    .workers(workers)
    .listen(listener)?
    .shutdown_timeout(options.shutdown_grace.as_secs().max(1))
    .run();
    Ok(Application {
        port,
        server,
        background: Vec::new(),
    })
}

/// A background task run beside the server (a recovery worker, a relay).
pub type BackgroundTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A bound service whose server has not been awaited yet.
#[allow(missing_debug_implementations)] // actix's Server is not Debug.
pub struct Application {
    port: u16,
    server: Server,
    background: Vec<BackgroundTask>,
}

impl Application {
    /// The port actually bound (useful when configured with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Adds a task that runs beside the server from [`Application::run_until_stopped`] on,
    /// and is stopped when the server has stopped. It must be safe to stop at any await point.
    pub fn with_background(mut self, task: impl Future<Output = ()> + Send + 'static) -> Self {
        self.background.push(Box::pin(task));
        self
    }

    /// A handle that stops the server (gracefully or not), as SIGTERM would.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM (graceful: in-flight requests finish within the grace period) or
    /// SIGINT/SIGQUIT (immediate), then stops the background tasks.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let tasks: Vec<_> = self.background.into_iter().map(tokio::spawn).collect();
        let served = self.server.await;
        for task in &tasks {
            task.abort();
        }
        served
    }
}
