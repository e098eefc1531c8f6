//! Starting and driving the system: one private network, Postgres, three service containers.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, GenericImage, ImageExt};
use testkit::http::Api;
use tokio::sync::Mutex;

/// Image tag of the service images (`SHOP_IMAGE_TAG`, default `dev`).
fn tag() -> String {
    std::env::var("SHOP_IMAGE_TAG").unwrap_or_else(|_| "dev".to_owned())
}

const SERVICES: [(&str, u16, &str); 3] = [
    ("user-service", 5001, "users"),
    ("product-service", 5002, "products"),
    ("order-service", 5003, "orders"),
];

/// A running system; containers and network are removed when it is dropped.
pub struct System {
    prefix: String,
    _postgres: ContainerAsync<Postgres>,
    pg_port: u16,
    services: HashMap<&'static str, Mutex<ContainerAsync<GenericImage>>>,
}

impl System {
    /// Starts Postgres and the three services, each ready to serve.
    pub async fn start() -> System {
        testkit::install_crypto_provider();
        let prefix = format!("shop-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let network = format!("{prefix}-net");
        let (pg_name, pg_tag) = testkit::postgres::image();
        let postgres = Postgres::default()
            .with_name(pg_name.clone())
            .with_tag(pg_tag.clone())
            .with_network(network.clone())
            .with_container_name(format!("{prefix}-postgres"))
            .start()
            .await
            .unwrap_or_else(|e| panic!("start {pg_name}:{pg_tag} (Docker needed): {e}"));
        let pg_port = postgres
            .get_host_port_ipv4(5432)
            .await
            .expect("Postgres port");
        let mut admin = PgConnection::connect(&format!(
            "postgres://postgres:postgres@127.0.0.1:{pg_port}/postgres"
        ))
        .await
        .expect("connect to Postgres");
        for (_, _, db) in SERVICES {
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
                .await
                .expect("create a service database");
        }
        let mut services = HashMap::new();
        for (name, port, db) in SERVICES {
            let image = GenericImage::new(format!("shop/{name}"), tag())
                .with_exposed_port(port.tcp())
                .with_wait_for(WaitFor::message_on_stdout(format!("{name} listening")))
                .with_network(network.clone())
                .with_container_name(format!("{prefix}-{name}"))
                .with_env_var(
                    "APP_DATABASE_URL",
                    format!("postgres://postgres:postgres@{prefix}-postgres:5432/{db}"),
                )
                .with_env_var(
                    "APP_USER_SERVICE_URL",
                    format!("http://{prefix}-user-service:5001"),
                )
                .with_env_var(
                    "APP_PRODUCT_SERVICE_URL",
                    format!("http://{prefix}-product-service:5002"),
                )
                .with_env_var("APP_DOWNSTREAM_TIMEOUT_MS", "2000")
                .with_env_var("RUST_LOG", "info")
                .with_startup_timeout(Duration::from_secs(60));
            let container = image.start().await.unwrap_or_else(|e| {
                panic!(
                    "start shop/{name}:{} ({e}). Build the images first: `cargo xtask test` does",
                    tag()
                )
            });
            services.insert(name, Mutex::new(container));
        }
        System {
            prefix,
            _postgres: postgres,
            pg_port,
            services,
        }
    }

    async fn api(&self, name: &str) -> Api {
        let (_, port, _) = SERVICES
            .iter()
            .find(|(n, _, _)| *n == name)
            .expect("a service");
        let container = self.services[name].lock().await;
        Api::on_port(
            container
                .get_host_port_ipv4(*port)
                .await
                .expect("a mapped port"),
        )
    }

    /// order-service's API on its current host port.
    pub async fn orders(&self) -> Api {
        self.api("order-service").await
    }

    /// product-service's API on its current host port.
    pub async fn products(&self) -> Api {
        self.api("product-service").await
    }

    /// The seed tutorial's order.
    pub async fn place_seed_order(&self) -> reqwest::Response {
        self.orders()
            .await
            .post_json(
                "/orders",
                &serde_json::json!({"user_id": 1, "product_id": 101, "quantity": 1}),
            )
            .await
    }

    /// Stops a service's container (SIGTERM, then SIGKILL after 5 s).
    pub async fn stop(&self, name: &str) {
        let container = self.services[name].lock().await;
        container
            .stop_with_timeout(Some(5))
            .await
            .expect("stop the container");
    }

    /// Starts a stopped service's container again and waits until it answers `/health`.
    pub async fn restart(&self, name: &str) {
        self.services[name]
            .lock()
            .await
            .start()
            .await
            .expect("start the container");
        let started = Instant::now();
        loop {
            let api = self.api(name).await;
            let healthy = api
                .client
                .get(format!("{}/health", api.address))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{name} did not come back in {}",
                self.prefix
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Rows in `table` of the service database `db`, read directly.
    pub async fn count(&self, db: &str, table: &str) -> i64 {
        let url = format!(
            "postgres://postgres:postgres@127.0.0.1:{}/{db}",
            self.pg_port
        );
        let mut conn = PgConnection::connect(&url)
            .await
            .expect("connect to a service database");
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&mut conn)
            .await
            .expect("count rows")
    }
}
