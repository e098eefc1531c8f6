//! One real Postgres container per test binary, a fresh database per test.
//!
//! The first call to [`fresh_database`] in a test binary starts a Postgres container through
//! testcontainers; every call creates a new, UUID-named database in it and returns its URL.
//! The container is removed when the test binary exits.
//!
//! The image is `postgres:16-bookworm` (pulled automatically where a registry is reachable)
//! unless [`IMAGE_ENV`] names another `name:tag`, for example the image that
//! `docker/offline-images.sh` builds from Debian's packages on a machine with no registry.
//! Without a Docker engine every test that needs a database fails, loudly: there is no skip.

use std::sync::{Mutex, OnceLock};

use sqlx::{Connection, Executor, PgConnection};
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::runners::SyncRunner;
use testcontainers_modules::testcontainers::{Container, ImageExt};

/// Environment variable naming the Postgres image (`name:tag`) the tests start.
pub const IMAGE_ENV: &str = "PG_TEST_IMAGE";
/// Image used when [`IMAGE_ENV`] is not set.
pub const DEFAULT_IMAGE: &str = "postgres:16-bookworm";

struct Server {
    container: Mutex<Option<Container<Postgres>>>,
    host: String,
    port: u16,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// The Postgres image the tests use, as (name, tag): [`IMAGE_ENV`] or [`DEFAULT_IMAGE`].
pub fn image() -> (String, String) {
    let spec = std::env::var(IMAGE_ENV).unwrap_or_else(|_| DEFAULT_IMAGE.to_owned());
    match spec.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_owned(), tag.to_owned()),
        _ => (spec, "latest".to_owned()),
    }
}

fn start() -> Server {
    let (name, tag) = image();
    // SyncRunner owns a runtime of its own, which cannot be created inside the async test's
    // runtime; a plain thread keeps the two apart.
    let started = std::thread::spawn(move || {
        let container = Postgres::default()
            .with_name(name.clone())
            .with_tag(tag.clone())
            .with_startup_timeout(std::time::Duration::from_secs(120))
            .start()
            .map_err(|e| format!("{name}:{tag}: {e}"))?;
        let host = container.get_host().map_err(|e| e.to_string())?.to_string();
        let port = container
            .get_host_port_ipv4(5432)
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(Server {
            container: Mutex::new(Some(container)),
            host,
            port,
        })
    })
    .join();
    match started {
        Ok(Ok(server)) => server,
        Ok(Err(e)) => panic!(
            "testkit could not start a Postgres container ({e}).\n\
             These tests need a running Docker engine. On a machine that cannot pull images, \
             build one with `docker/offline-images.sh` and set {IMAGE_ENV} to its name:tag."
        ),
        Err(_) => panic!("testkit: the thread starting Postgres panicked"),
    }
}

fn server() -> &'static Server {
    SERVER.get_or_init(start)
}

/// URL of the server's `postgres` maintenance database (for tests that need superuser SQL).
pub fn admin_url() -> String {
    let s = server();
    format!(
        "postgres://postgres:postgres@{}:{}/postgres",
        s.host, s.port
    )
}

/// Creates a new, empty database and returns its connection URL.
pub async fn fresh_database() -> String {
    let admin = admin_url();
    let name = uuid::Uuid::new_v4().to_string();
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("connect to the test Postgres server");
    conn.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .await
        .expect("create a test database");
    let s = server();
    format!("postgres://postgres:postgres@{}:{}/{name}", s.host, s.port)
}

// Statics are never dropped, so the container is removed explicitly when the binary exits.
#[allow(unsafe_code)]
#[dtor::dtor(unsafe)]
fn remove_container() {
    if let Some(server) = SERVER.get()
        && let Ok(mut slot) = server.container.lock()
    {
        drop(slot.take());
    }
}

/// Drops the database at `url` and cuts its connections, as if its server were gone.
pub async fn drop_database(url: &str) {
    let name = url.rsplit('/').next().expect("database name in the URL");
    let mut conn = PgConnection::connect(&admin_url())
        .await
        .expect("connect to the test Postgres server");
    conn.execute(sqlx::AssertSqlSafe(format!(
        r#"DROP DATABASE "{name}" WITH (FORCE)"#
    )))
    .await
    .expect("drop a test database");
}
