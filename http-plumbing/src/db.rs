//! Postgres pool creation and the classification of database errors.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// How long a request waits for a pooled connection before the service answers 503.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Connects a pool to `url`, retrying for up to `wait` while the server is still starting.
///
/// Start-up must survive a database that comes up a few seconds after the service (compose,
/// Kubernetes); after `wait` the last error is returned and the service exits.
pub async fn connect(
    url: &str,
    max_connections: u32,
    wait: Duration,
) -> Result<PgPool, sqlx::Error> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let attempt = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await;
        match attempt {
            Ok(pool) => return Ok(pool),
            Err(e) if tokio::time::Instant::now() < deadline && is_unavailable(&e) => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Where the service's database is and how many connections it may hold in all.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Connection URL.
    pub url: String,
    /// Connections across all worker threads.
    pub max_connections: u32,
}

/// A pool that opens connections on first use, on the runtime of the thread that uses it.
pub fn lazy_pool(url: &str, max_connections: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy(url)
        .expect("the database URL was already used to connect at start-up")
}

/// Connects as [`connect`] does, then applies the service's migrations.
pub async fn connect_and_migrate(
    url: &str,
    max_connections: u32,
    wait: Duration,
    migrator: &sqlx::migrate::Migrator,
) -> Result<PgPool, anyhow::Error> {
    let pool = connect(url, max_connections, wait).await?;
    migrator.run(&pool).await?;
    Ok(pool)
}

/// SQLSTATE classes that mean the server cannot serve this service right now: connection
/// exceptions (08), a missing database (3D), rejected credentials (28), exhausted resources
/// such as connection slots (53), and operator intervention such as shutdown (57P).
const UNAVAILABLE_SQLSTATE_CLASSES: [&str; 5] = ["08", "3D", "28", "53", "57P"];

/// True when the error means the database cannot be reached right now (a 503), as opposed to
/// a fault in the query itself (a 500).
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
    ) || matches!(e, sqlx::Error::Database(db) if db.code().is_some_and(|c| UNAVAILABLE_SQLSTATE_CLASSES.iter().any(|class| c.starts_with(class))))
}

/// True when the error is a violation of the named unique constraint.
pub fn is_unique_violation(e: &sqlx::Error, constraint: &str) -> bool {
    matches!(e, sqlx::Error::Database(db)
        if db.is_unique_violation() && db.constraint() == Some(constraint))
}

/// A database failure, classified once so that every service maps it the same way.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now: the service answers 503.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The query itself failed: a bug, the service answers 500.
    #[error("a database query failed")]
    Query(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            Self::Unavailable(e)
        } else {
            Self::Query(e)
        }
    }
}

impl StoreError {
    /// The response for this failure: a 503 or a 500 envelope. Logs the cause chain once.
    pub fn to_response(&self) -> actix_web::HttpResponse {
        let cause = match self {
            Self::Unavailable(e) | Self::Query(e) => e,
        };
        tracing::error!(error = %self, cause = %cause, "store failure");
        match self {
            Self::Unavailable(_) => crate::error::database_unavailable(),
            Self::Query(_) => crate::error::internal_error(),
        }
    }

    /// The status [`StoreError::to_response`] answers with.
    pub fn status(&self) -> actix_web::http::StatusCode {
        match self {
            Self::Unavailable(_) => actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            Self::Query(_) => actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
