//! Postgres pool creation and the classification of database errors.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

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

/// How long one statement on a service connection may run before Postgres cancels it and the
/// service answers 503: a statement stuck behind a lock, or a database too slow to answer,
/// never holds a request (or the batch it is in) for longer.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a pooled connection may sit idle before it is pinged on its way out of the pool.
///
/// A connection used within this window is handed out as it is: a connection that broke
/// meanwhile fails its query, answers 503 and is thrown away ([`Db::run`]).
pub const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// The service's connections to its database: a small pool of sqlx connections.
///
/// sqlx's own `PgPool` makes two extra round trips to Postgres per query (a ping when a
/// connection is acquired and another when it is returned): two of every three round trips
/// between a service and Postgres were pings. The services keep their connections in a deadpool
/// pool instead (measured in BENCHMARKS.md): a connection goes back to the pool without a round
/// trip, is pinged only when it has been idle for [`PING_IDLE_AFTER`], and is dropped when a
/// query on it fails because the connection itself failed.
#[derive(Clone)]
pub struct Db {
    pool: deadpool::managed::Pool<Connector>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("Db")
            .field("max_size", &status.max_size)
            .field("size", &status.size)
            .field("available", &status.available)
            .finish()
    }
}

struct Connector {
    options: PgConnectOptions,
}

impl deadpool::managed::Manager for Connector {
    type Type = PgConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PgConnection, sqlx::Error> {
        self.options.connect().await
    }

    async fn recycle(
        &self,
        conn: &mut PgConnection,
        metrics: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<sqlx::Error> {
        if metrics.last_used() >= PING_IDLE_AFTER {
            conn.ping().await?;
        }
        Ok(())
    }
}

impl Db {
    /// A pool of at most `max_connections` that opens connections on first use, on the runtime
    /// of the task that uses them. Waiting for a free connection, opening one and pinging one
    /// each give up after [`ACQUIRE_TIMEOUT`]; a statement is cancelled after
    /// [`STATEMENT_TIMEOUT`].
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        let options: PgConnectOptions = url.parse()?;
        let options = options.options([(
            "statement_timeout",
            format!("{}ms", STATEMENT_TIMEOUT.as_millis()),
        )]);
        let pool = deadpool::managed::Pool::builder(Connector { options })
            .max_size(max_connections.max(1) as usize)
            .wait_timeout(Some(ACQUIRE_TIMEOUT))
            .create_timeout(Some(ACQUIRE_TIMEOUT))
            .recycle_timeout(Some(ACQUIRE_TIMEOUT))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| sqlx::Error::Configuration(e.into()))?;
        Ok(Self { pool })
    }

    /// Runs `query` on a pooled connection.
    ///
    /// A connection that cannot be had in time is a [`sqlx::Error::PoolTimedOut`], or the
    /// error that opening it gave; both are [`StoreError::Unavailable`]. When the query fails
    /// because the connection failed ([`is_unavailable`]), the connection is not reused.
    pub async fn run<T>(
        &self,
        query: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        use deadpool::managed::PoolError;
        let mut conn = self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => e,
            PoolError::Timeout(_) => sqlx::Error::PoolTimedOut,
            PoolError::Closed | PoolError::NoRuntimeSpecified | PoolError::PostCreateHook(_) => {
                sqlx::Error::PoolClosed
            }
        })?;
        let result = query(&mut conn).await;
        if let Err(e) = &result
            && (is_unavailable(e) || matches!(e, sqlx::Error::Protocol(_)))
        {
            drop(deadpool::managed::Object::take(conn));
        }
        result
    }
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
/// such as connection slots (53), operator intervention such as shutdown (57P), and a
/// statement cancelled by [`STATEMENT_TIMEOUT`] (57014).
const UNAVAILABLE_SQLSTATE_CLASSES: [&str; 6] = ["08", "3D", "28", "53", "57P", "57014"];

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

/// SQLSTATE of a statement cancelled by `statement_timeout` ([`STATEMENT_TIMEOUT`]).
const STATEMENT_TIMEOUT_SQLSTATE: &str = "57014";

/// A database failure, classified once so that every service maps it the same way.
///
/// Cloning shares the cause: a statement that served a whole batch of requests
/// ([`crate::batch`]) fails each of them with the same error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now (a connection-level failure): 503.
    #[error("the database is unavailable")]
    Unavailable(#[source] Arc<sqlx::Error>),
    /// The statement was cancelled after [`STATEMENT_TIMEOUT`]; the connection is fine: 503.
    #[error("a database statement timed out")]
    TimedOut(#[source] Arc<sqlx::Error>),
    /// Too many requests are already queued for the database ([`crate::batch`]): 503.
    #[error("the database is overloaded")]
    Overloaded,
    /// The query itself failed: a bug, the service answers 500.
    #[error("a database query failed")]
    Query(#[source] Arc<sqlx::Error>),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let timed_out = matches!(&e, sqlx::Error::Database(db)
            if db.code().as_deref() == Some(STATEMENT_TIMEOUT_SQLSTATE));
        if timed_out {
            Self::TimedOut(Arc::new(e))
        } else if is_unavailable(&e) {
            Self::Unavailable(Arc::new(e))
        } else {
            Self::Query(Arc::new(e))
        }
    }
}

impl StoreError {
    /// A batch ended without answering one of its items (a bug in its batch function).
    pub fn unanswered() -> Self {
        Self::Query(Arc::new(sqlx::Error::Protocol(
            "the batch serving this request ended without answering it".to_owned(),
        )))
    }

    /// True when the database itself could not be reached, so that anything else sent to it
    /// now would fail the same way (as opposed to one statement failing or timing out).
    pub fn is_connection_failure(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// The response for this failure: a 503 or a 500 envelope. Logs the cause chain once.
    pub fn to_response(&self) -> actix_web::HttpResponse {
        match self {
            Self::Unavailable(cause) | Self::TimedOut(cause) | Self::Query(cause) => {
                tracing::error!(error = %self, cause = %cause, "store failure");
            }
            Self::Overloaded => tracing::warn!(error = %self, "store failure"),
        }
        match self {
            Self::Unavailable(_) | Self::TimedOut(_) => crate::error::database_unavailable(),
            Self::Overloaded => crate::error::overloaded(),
            Self::Query(_) => crate::error::internal_error(),
        }
    }

    /// The status [`StoreError::to_response`] answers with.
    pub fn status(&self) -> actix_web::http::StatusCode {
        match self {
            Self::Unavailable(_) | Self::TimedOut(_) | Self::Overloaded => {
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Query(_) => actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
