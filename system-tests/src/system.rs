//! Starting and driving the system: one private network, Postgres, three service containers,
//! optionally the event path (NATS and notification-service), and the faults a test can inject
//! into them (kill -9, SIGTERM, a frozen process, a stopped broker).

use std::collections::HashMap;
use std::process::Command;
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
    events: Option<EventPath>,
}

/// The event path beside the system: NATS (JetStream) on the private network, which
/// order-service's relay publishes to, and notification-service, whose emails go to an SMTP
/// listener of the test's own on the loopback interface.
///
/// notification-service runs with the host's network so that it reaches that listener on
/// 127.0.0.1; it reaches Postgres and NATS through their published loopback ports. NATS is
/// published on a fixed port, so that clients find it again after it is stopped and started.
pub struct EventPath {
    nats: Mutex<ContainerAsync<GenericImage>>,
    _notification_service: ContainerAsync<GenericImage>,
    /// Where notification-service sends its emails.
    pub smtp: testkit::smtp::SmtpSink,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

impl System {
    /// Starts Postgres and the three services, each ready to serve.
    pub async fn start() -> System {
        Self::start_with(&[]).await
    }

    /// Starts the system with extra environment variables for order-service.
    pub async fn start_with(order_service_env: &[(&str, &str)]) -> System {
        Self::start_inner(order_service_env, false).await
    }

    /// Starts the system with its event path: NATS, and notification-service emailing to
    /// [`EventPath::smtp`].
    pub async fn start_with_events() -> System {
        Self::start_inner(&[], true).await
    }

    async fn start_inner(order_service_env: &[(&str, &str)], with_events: bool) -> System {
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
        let nats = if with_events {
            admin
                .execute("CREATE DATABASE notifications")
                .await
                .expect("create notification-service's database");
            Some(start_nats(&prefix, &network).await)
        } else {
            None
        };
        let nats_env = format!("nats://{prefix}-nats:4222");
        let mut services = HashMap::new();
        for (name, port, db) in SERVICES {
            let mut image = GenericImage::new(format!("shop/{name}"), tag())
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
                .with_env_var("RUST_LOG", "info")
                .with_startup_timeout(Duration::from_secs(60));
            if name == "order-service" {
                if with_events {
                    image = image.with_env_var("APP_NATS_URL", nats_env.clone());
                }
                for (key, value) in order_service_env {
                    image = image.with_env_var(*key, *value);
                }
            }
            let container = image.start().await.unwrap_or_else(|e| {
                panic!(
                    "start shop/{name}:{} ({e}). Build the images first: `cargo xtask test` does",
                    tag()
                )
            });
            services.insert(name, Mutex::new(container));
        }
        let events = match nats {
            Some((nats, nats_port)) => {
                let smtp = testkit::smtp::SmtpSink::start().await;
                let notification_service =
                    start_notification_service(&prefix, pg_port, nats_port, smtp.port()).await;
                Some(EventPath {
                    nats: Mutex::new(nats),
                    _notification_service: notification_service,
                    smtp,
                })
            }
            None => None,
        };
        System {
            prefix,
            _postgres: postgres,
            pg_port,
            services,
            events,
        }
    }

    /// The event path; panics if the system was started without it.
    pub fn events(&self) -> &EventPath {
        self.events
            .as_ref()
            .expect("the system was started with System::start_with_events")
    }

    /// Stops NATS (SIGTERM, then SIGKILL after 2 s): a broker outage.
    pub async fn stop_nats(&self) {
        self.events()
            .nats
            .lock()
            .await
            .stop_with_timeout(Some(2))
            .await
            .expect("stop NATS");
    }

    /// Starts the stopped NATS again, on the same port, with its JetStream data.
    pub async fn start_nats(&self) {
        self.events()
            .nats
            .lock()
            .await
            .start()
            .await
            .expect("start NATS");
    }

    /// A service's API on its current host port (it changes when the container restarts).
    pub async fn api(&self, name: &str) -> Api {
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
        self.scalar(db, &format!("SELECT count(*) FROM {table}"))
            .await
    }

    /// A direct connection to the service database `db` (for staging and checking state).
    pub async fn connect(&self, db: &str) -> PgConnection {
        let url = format!(
            "postgres://postgres:postgres@127.0.0.1:{}/{db}",
            self.pg_port
        );
        PgConnection::connect(&url)
            .await
            .expect("connect to a service database")
    }

    /// The one integer `sql` answers in the service database `db`.
    pub async fn scalar(&self, db: &str, sql: &str) -> i64 {
        let mut conn = self.connect(db).await;
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The texts `sql` answers, one per row, in the service database `db`.
    pub async fn texts(&self, db: &str, sql: &str) -> Vec<String> {
        let mut conn = self.connect(db).await;
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Sends `signal` (`KILL`, `TERM`) to a service's process, as `docker kill` does.
    pub async fn signal(&self, name: &str, signal: &str) {
        let container = self.services[name].lock().await;
        let status = Command::new("docker")
            .args(["kill", "--signal", signal, container.id()])
            .status()
            .expect("run docker kill");
        assert!(
            status.success(),
            "docker kill --signal {signal} {name} failed"
        );
    }

    /// Waits up to `limit` for a service's container to have exited; its exit code.
    pub async fn wait_exited(&self, name: &str, limit: Duration) -> i64 {
        let started = Instant::now();
        loop {
            {
                let container = self.services[name].lock().await;
                if !container.is_running().await.expect("inspect the container") {
                    return container.exit_code().await.ok().flatten().unwrap_or(-1);
                }
            }
            assert!(
                started.elapsed() < limit,
                "{name} still runs after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Freezes every process of a service (the cgroup freezer, as SIGSTOP would).
    pub async fn freeze(&self, name: &str) {
        let container = self.services[name].lock().await;
        container.pause().await.expect("pause the container");
    }

    /// Thaws a frozen service.
    pub async fn thaw(&self, name: &str) {
        let container = self.services[name].lock().await;
        container.unpause().await.expect("unpause the container");
    }

    /// Creates a product through product-service's API; its id.
    pub async fn create_product(&self, stock: i64) -> i64 {
        let response = self
            .products()
            .await
            .post_json(
                "/products",
                &serde_json::json!({"name": "Load Test Widget", "price_cents": 1000, "stock": stock}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
        let product: serde_json::Value = response.json().await.expect("product JSON");
        product["id"].as_i64().expect("a product id")
    }

    /// Waits up to `limit` for every order saga to be settled (none pending, no release due);
    /// how long that took.
    pub async fn wait_settled(&self, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let unsettled = self
                .scalar(
                    "orders",
                    "SELECT count(*) FROM orders WHERE status = 'pending' OR release_due",
                )
                .await;
            if unsettled == 0 {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "{unsettled} sagas still unsettled after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Units of `product` held by live reservations, and units of its placed orders that
    /// hold stock (confirmed or still cancelling).
    pub async fn held_and_ordered_units(&self, product: i64) -> (i64, i64) {
        let held = self
            .scalar(
                "products",
                &format!(
                    "SELECT coalesce(sum(quantity), 0)::int8 FROM reservations \
                     WHERE status = 'reserved' AND product_id = {product}"
                ),
            )
            .await;
        let ordered = self
            .scalar(
                "orders",
                &format!(
                    "SELECT coalesce(sum(quantity), 0)::int8 FROM orders \
                     WHERE status IN ('confirmed', 'cancelling') AND product_id = {product}"
                ),
            )
            .await;
        (held, ordered)
    }
}

/// NATS with JetStream on the private network as `<prefix>-nats`, published on a fixed free
/// loopback port; the container and that port.
async fn start_nats(prefix: &str, network: &str) -> (ContainerAsync<GenericImage>, u16) {
    let (name, tag) = testkit::nats::image();
    let port = free_port();
    let container = GenericImage::new(name.clone(), tag.clone())
        .with_exposed_port(4222.tcp())
        .with_wait_for(WaitFor::message_on_stderr("Server is ready"))
        .with_cmd(["-js", "-sd", "/data"])
        .with_network(network.to_owned())
        .with_container_name(format!("{prefix}-nats"))
        .with_mapped_port(port, 4222.tcp())
        .with_startup_timeout(Duration::from_secs(60))
        .start()
        .await
        .unwrap_or_else(|e| panic!("start {name}:{tag} (Docker needed): {e}"));
    (container, port)
}

/// notification-service on the host's network (see [`EventPath`]), consuming from NATS on
/// `nats_port` and emailing to the SMTP listener on `smtp_port`; waits for its consumer.
async fn start_notification_service(
    prefix: &str,
    pg_port: u16,
    nats_port: u16,
    smtp_port: u16,
) -> ContainerAsync<GenericImage> {
    let name = "notification-service";
    GenericImage::new(format!("shop/{name}"), tag())
        .with_wait_for(WaitFor::message_on_stdout("consumer started"))
        .with_network("host")
        .with_container_name(format!("{prefix}-{name}"))
        .with_env_var("APP_HOST", "127.0.0.1")
        .with_env_var("APP_PORT", free_port().to_string())
        .with_env_var(
            "APP_DATABASE_URL",
            format!("postgres://postgres:postgres@127.0.0.1:{pg_port}/notifications"),
        )
        .with_env_var("APP_NATS_URL", format!("nats://127.0.0.1:{nats_port}"))
        .with_env_var("APP_SMTP_HOST", "127.0.0.1")
        .with_env_var("APP_SMTP_PORT", smtp_port.to_string())
        .with_env_var("APP_SMTP_TLS", "off")
        .with_env_var("RUST_LOG", "info")
        .with_startup_timeout(Duration::from_secs(60))
        .start()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "start shop/{name}:{} ({e}). Build the images first: `cargo xtask test` does",
                tag()
            )
        })
}
