//! The benchmark: Postgres and NATS in containers, release builds of the three services on
//! this machine (order-service's outbox relay publishing to NATS), wrk driving `POST /orders` (without and then with a unique `Idempotency-Key` per
//! request) and then `GET /products/{id}`, then freezes product-service (SIGSTOP) under the
//! same load to measure how fast orders are refused while its circuit breaker is open and how
//! soon they succeed after the thaw. Between them it measures the outbox relay: its lag under
//! the order load (commit to JetStream ack) and, with NATS stopped for 5 s of orders and
//! started again, how many events per second it publishes on its own. Prints orders/s,
//! latency percentiles, errors and each service's peak RSS (VmHWM), and two calibration figures
//! for comparing machines: `GET /health` (HTTP alone) and `pgbench -S` (Postgres alone).
//!
//! `cargo xtask bench [--duration SECS] [--connections N] [--products N]`; the Postgres image
//! is `$PG_TEST_IMAGE` or `postgres:16-bookworm`. Orders are spread over `--products` products
//! (default 100); `--products 1` measures one hot product, whose row lock serialises every
//! reservation. Postgres runs with host networking on 127.0.0.1 so that no port proxy sits
//! between the services and their database, with its data on a Docker volume (fsync on).
//! `--socket` connects the services to Postgres over its Unix socket instead of TCP.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::run::{root, run as sh};

const SERVICES: [(&str, u16, &str); 3] = [
    ("user-service", 15001, "users"),
    ("product-service", 15002, "products"),
    ("order-service", 15003, "orders"),
];
const PG_PORT: u16 = 15432;
const CONTAINER: &str = "shop-bench-postgres";
const NATS_PORT: u16 = 14222;
const NATS_MONITOR_PORT: u16 = 18222;
const NATS_CONTAINER: &str = "shop-bench-nats";

struct Services(Vec<(&'static str, Child)>);

impl Drop for Services {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", CONTAINER, NATS_CONTAINER])
            .output();
    }
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let duration = flag(args, "--duration").unwrap_or(20);
    let connections = flag(args, "--connections").unwrap_or(64);
    let products = flag(args, "--products").unwrap_or(100).max(1);
    let socket_dir = std::env::temp_dir().join("shop-bench-socket");
    let use_socket = args.iter().any(|a| a == "--socket");
    std::fs::create_dir_all(&socket_dir)?;
    // The server runs as the image's postgres user and must be able to create its socket here.
    std::fs::set_permissions(
        &socket_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )?;
    let socket_mount = format!("{}:/var/run/postgresql", socket_dir.display());
    sh(
        "cargo",
        &[
            "build",
            "--release",
            "-p",
            "user-service",
            "-p",
            "product-service",
            "-p",
            "order-service",
        ],
    )?;
    let image =
        std::env::var("PG_TEST_IMAGE").unwrap_or_else(|_| "postgres:16-bookworm".to_owned());
    let _ = Command::new("docker")
        .args(["rm", "-f", "-v", CONTAINER, NATS_CONTAINER])
        .output();
    let mut services = Services(Vec::new());
    // NATS with JetStream for order-service's relay, on 127.0.0.1 like Postgres.
    let nats_image =
        std::env::var("NATS_TEST_IMAGE").unwrap_or_else(|_| "nats:2.15-alpine".to_owned());
    sh(
        "docker",
        &[
            "run",
            "-d",
            "--name",
            NATS_CONTAINER,
            "--network",
            "host",
            &nats_image,
            "-js",
            "-sd",
            "/tmp/jetstream",
            "-a",
            "127.0.0.1",
            "-p",
            &NATS_PORT.to_string(),
            "-m",
            &NATS_MONITOR_PORT.to_string(),
        ],
    )?;
    wait_for("NATS", Duration::from_secs(30), || {
        http_ok(NATS_MONITOR_PORT, "/healthz?js-enabled-only=true")
    })?;
    sh(
        "docker",
        &[
            "run",
            "-d",
            "--name",
            CONTAINER,
            "--network",
            "host",
            "-v",
            &socket_mount,
            "-e",
            "POSTGRES_PASSWORD=postgres",
            &image,
            "-c",
            &format!("port={PG_PORT}"),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=200",
        ],
    )?;
    wait_for("Postgres", Duration::from_secs(60), || {
        Command::new("docker")
            .args([
                "exec",
                CONTAINER,
                "pg_isready",
                "-U",
                "postgres",
                "-h",
                "127.0.0.1",
                "-p",
                &PG_PORT.to_string(),
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    })?;
    for (_, _, db) in SERVICES {
        psql("postgres", &format!("CREATE DATABASE {db}"))?;
    }
    let pgbench_tps = calibrate_postgres()?;
    for (name, port, db) in SERVICES {
        let child = Command::new(root().join(format!("target/release/{name}")))
            .env("APP_HOST", "127.0.0.1")
            .env("APP_PORT", port.to_string())
            .env(
                "APP_DATABASE_URL",
                if use_socket {
                    format!(
                        "postgres://postgres:postgres@localhost:{PG_PORT}/{db}?host={}",
                        socket_dir.display()
                    )
                } else {
                    format!("postgres://postgres:postgres@127.0.0.1:{PG_PORT}/{db}")
                },
            )
            .env(
                "APP_USER_SERVICE_URL",
                format!("http://127.0.0.1:{}", SERVICES[0].1),
            )
            .env(
                "APP_PRODUCT_SERVICE_URL",
                format!("http://127.0.0.1:{}", SERVICES[1].1),
            )
            .env("APP_NATS_URL", format!("nats://127.0.0.1:{NATS_PORT}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("start {name}"))?;
        services.0.push((name, child));
        wait_for(name, Duration::from_secs(30), || http_ok(port, "/ready"))?;
    }
    let first = create_bench_product()?;
    for _ in 1..products {
        create_bench_product()?;
    }
    let product_id = first;
    let script = std::env::temp_dir().join("shop-bench-order.lua");
    std::fs::write(
        &script,
        format!(
            "local first, n = {first}, {products}\n\
             request = function()\n\
               local body = string.format('{{\"user_id\": 1, \"product_id\": %d, \"quantity\": 1}}', first + math.random(0, n - 1))\n\
               return wrk.format(\"POST\", \"/orders\", {{[\"Content-Type\"] = \"application/json\"}}, body)\n\
             end\n"
        ),
    )?;
    let orders = wrk(
        connections,
        duration,
        &format!("http://127.0.0.1:{}/orders", SERVICES[2].1),
        Some(&script.display().to_string()),
    )?;
    // The same orders, each with a key of its own: the key's row is written in the statement
    // that begins the saga. Keys are unique per wrk thread, request and run.
    let keyed_script = std::env::temp_dir().join("shop-bench-order-keyed.lua");
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    std::fs::write(
        &keyed_script,
        format!(
            "local first, n, threads, sent = {first}, {products}, 0, 0\n\
             function setup(thread)\n\
               threads = threads + 1\n\
               thread:set(\"tid\", threads)\n\
             end\n\
             request = function()\n\
               sent = sent + 1\n\
               local key = string.format('bench-{nonce}-%d-%d', tid, sent)\n\
               local body = string.format('{{\"user_id\": 1, \"product_id\": %d, \"quantity\": 1}}', first + math.random(0, n - 1))\n\
               return wrk.format(\"POST\", \"/orders\", {{[\"Content-Type\"] = \"application/json\", [\"Idempotency-Key\"] = key}}, body)\n\
             end\n"
        ),
    )?;
    let keyed = wrk(
        connections,
        duration,
        &format!("http://127.0.0.1:{}/orders", SERVICES[2].1),
        Some(&keyed_script.display().to_string()),
    )?;
    // The relay's lag under that load: from the commit that wrote each event to JetStream's
    // acknowledgement (published_at is set right after it, so this is an upper bound).
    wait_for_empty_outbox(Duration::from_secs(60))?;
    let lag = relay_lag("TRUE")?;
    let relay_alone = relay_throughput(connections, &script)?;
    let reads = wrk(
        connections,
        duration,
        &format!("http://127.0.0.1:{}/products/{product_id}", SERVICES[1].1),
        None,
    )?;
    let frozen = freeze_product_service(&services, connections, &script, first)?;
    let health = wrk(
        connections,
        CALIBRATION_SECS,
        &format!("http://127.0.0.1:{}/health", SERVICES[1].1),
        None,
    )?;
    println!(
        "\nbenchmark: {connections} connections, {duration} s per run, wrk with 2 threads, \
         orders spread over {products} product(s), database over {}, RUST_LOG=warn",
        if use_socket {
            "Unix socket"
        } else {
            "TCP 127.0.0.1"
        }
    );
    println!("  POST /orders:         {}", orders.summary());
    println!("  POST /orders, keyed:  {}", keyed.summary());
    println!("  outbox relay lag (commit -> JetStream ack) during both order runs: {lag}");
    println!(
        "  relay alone: {} events queued while NATS was stopped, published in {:.2} s: \
         {:.0} events/s",
        relay_alone.events,
        relay_alone.seconds,
        relay_alone.events as f64 / relay_alone.seconds.max(0.001)
    );
    println!("  GET /products/{{id}}:  {}", reads.summary());
    println!(
        "  product-service frozen (SIGSTOP): the first {FREEZE_START_SECS} s: {} (max {}); \
         then, breaker open: {}; orders succeed again {:.1} s after the thaw",
        frozen.start.summary(),
        frozen.start.max,
        frozen.open.summary(),
        frozen.recovered.as_secs_f64()
    );
    println!(
        "  calibration of this machine: GET /health (no database) {:.0} req/s; \
         pgbench -S -M prepared, 16 clients: {pgbench_tps:.0} selects/s",
        health.requests_per_sec
    );
    for (name, child) in &services.0 {
        println!(
            "  {name:<16} peak RSS {:.1} MB",
            peak_rss_kb(child.id())? as f64 / 1024.0
        );
    }
    // The releases of orders refused during the freeze are retried with backoff: wait until
    // every saga has settled before counting.
    wait_for("every saga to settle", Duration::from_secs(120), || {
        psql(
            "orders",
            "SELECT count(*) FROM orders WHERE status = 'pending' OR release_due",
        )
        .is_ok_and(|n| n == "0")
    })?;
    println!(
        "  orders confirmed: {}; sagas rejected: {}, pending: {}; idempotency keys: {}",
        psql(
            "orders",
            "SELECT count(*) FROM orders WHERE status = 'confirmed'"
        )?,
        psql(
            "orders",
            "SELECT count(*) FROM orders WHERE status = 'rejected'"
        )?,
        psql(
            "orders",
            "SELECT count(*) FROM orders WHERE status = 'pending'"
        )?,
        psql("orders", "SELECT count(*) FROM idempotency_keys")?,
    );
    let held = psql(
        "products",
        "SELECT count(*) FROM reservations WHERE status = 'reserved'",
    )?;
    println!("  reservations held: {held}");
    let negative = psql("products", "SELECT count(*) FROM products WHERE stock < 0")?;
    println!("  products with negative stock: {negative}");
    wait_for_empty_outbox(Duration::from_secs(60))?;
    println!(
        "  events: {} in the outbox, {} unpublished; {} messages in the stream ORDERS",
        psql("orders", "SELECT count(*) FROM outbox")?,
        psql(
            "orders",
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )?,
        stream_messages()?
    );
    Ok(())
}

fn wait_for_empty_outbox(limit: Duration) -> anyhow::Result<()> {
    wait_for("the outbox to drain", limit, || {
        psql(
            "orders",
            "SELECT count(*) FROM outbox WHERE published_at IS NULL",
        )
        .is_ok_and(|n| n == "0")
    })
}

/// p50, p99 and max of (published_at - occurred_at) over the outbox rows matching `filter`.
fn relay_lag(filter: &str) -> anyhow::Result<String> {
    let row = psql(
        "orders",
        &format!(
            "SELECT count(*), \
                 round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1), \
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), \
                 round(max(ms)::numeric, 1) \
             FROM (SELECT extract(epoch FROM published_at - occurred_at) * 1000 AS ms \
                   FROM outbox WHERE published_at IS NOT NULL AND {filter}) lags"
        ),
    )?;
    let parts: Vec<&str> = row.split('|').collect();
    match parts.as_slice() {
        [n, p50, p99, max] => Ok(format!(
            "{n} events, p50 {p50} ms, p99 {p99} ms, max {max} ms"
        )),
        _ => bail!("unexpected lag row {row:?}"),
    }
}

struct RelayAlone {
    events: u64,
    seconds: f64,
}

/// Stops NATS, places orders for 5 s (their events wait in the outbox), starts NATS again and
/// measures how fast the relay publishes the backlog, from its first publish to its last.
fn relay_throughput(connections: u64, script: &std::path::Path) -> anyhow::Result<RelayAlone> {
    let marker = psql("orders", "SELECT coalesce(max(seq), 0) FROM outbox")?;
    sh("docker", &["stop", NATS_CONTAINER])?;
    let url = format!("http://127.0.0.1:{}/orders", SERVICES[2].1);
    let queued = wrk(connections, 5, &url, Some(&script.display().to_string()));
    sh("docker", &["start", NATS_CONTAINER])?;
    queued?;
    wait_for_empty_outbox(Duration::from_secs(120))?;
    let row = psql(
        "orders",
        &format!(
            "SELECT count(*), extract(epoch FROM max(published_at) - min(published_at)) \
             FROM outbox WHERE seq > {marker}"
        ),
    )?;
    let (events, seconds) = row.split_once('|').context("a count and a span")?;
    Ok(RelayAlone {
        events: events.parse()?,
        seconds: seconds.parse()?,
    })
}

/// Messages in the stream ORDERS, from NATS's monitoring endpoint.
fn stream_messages() -> anyhow::Result<u64> {
    let out = Command::new("curl")
        .args([
            "-sf",
            &format!("http://127.0.0.1:{NATS_MONITOR_PORT}/jsz?streams=true"),
        ])
        .output()?;
    let jsz: Value = serde_json::from_slice(&out.stdout).context("NATS /jsz")?;
    jsz["account_details"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["stream_detail"].as_array().into_iter().flatten())
        .find(|s| s["name"] == "ORDERS")
        .and_then(|s| s["state"]["messages"].as_u64())
        .context("the stream ORDERS in /jsz")
}

/// Seconds of each calibration run.
const CALIBRATION_SECS: u64 = 10;

/// Seconds of the load run that starts when product-service is frozen (the breaker opens in
/// it), and of the run right after it (the breaker is open all through). Together they stay
/// under the breaker's open time (5 s), so that no half-open probe falls in the second run.
const FREEZE_START_SECS: u64 = 2;
const FREEZE_OPEN_SECS: u64 = 2;

struct Frozen {
    start: WrkResult,
    open: WrkResult,
    recovered: Duration,
}

/// Freezes product-service with SIGSTOP under the order load, measures the answers while it
/// is frozen, thaws it, and measures how long until an order succeeds again.
fn freeze_product_service(
    services: &Services,
    connections: u64,
    script: &std::path::Path,
    product: i64,
) -> anyhow::Result<Frozen> {
    let pid = services
        .0
        .iter()
        .find(|(name, _)| *name == "product-service")
        .map(|(_, child)| child.id().to_string())
        .context("product-service runs")?;
    let url = format!("http://127.0.0.1:{}/orders", SERVICES[2].1);
    let script = script.display().to_string();
    sh("kill", &["-STOP", &pid])?;
    let measured = (|| {
        let start = wrk(connections, FREEZE_START_SECS, &url, Some(&script))?;
        let open = wrk(connections, FREEZE_OPEN_SECS, &url, Some(&script))?;
        Ok::<_, anyhow::Error>((start, open))
    })();
    sh("kill", &["-CONT", &pid])?;
    let (start, open) = measured?;
    let thawed = Instant::now();
    wait_for("an order after the thaw", Duration::from_secs(30), || {
        Command::new("curl")
            .args([
                "-sf",
                "-o",
                "/dev/null",
                "-H",
                "Content-Type: application/json",
                "-d",
                &format!(r#"{{"user_id": 1, "product_id": {product}, "quantity": 1}}"#),
                &url,
            ])
            .status()
            .is_ok_and(|s| s.success())
    })?;
    Ok(Frozen {
        start,
        open,
        recovered: thawed.elapsed(),
    })
}

/// What this machine's Postgres does on its own: `pgbench -S` (prepared primary-key selects,
/// 16 clients, over TCP on 127.0.0.1) in a scratch database. Printed beside the results so that
/// figures taken on different machines can be compared.
fn calibrate_postgres() -> anyhow::Result<f64> {
    psql("postgres", "CREATE DATABASE calibration")?;
    let port = PG_PORT.to_string();
    let pgbench = |extra: &[&str]| -> anyhow::Result<String> {
        let mut args = vec![
            "exec",
            CONTAINER,
            "pgbench",
            "-U",
            "postgres",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
        ];
        args.extend_from_slice(extra);
        args.push("calibration");
        let out = Command::new("docker").args(&args).output()?;
        if !out.status.success() {
            bail!("pgbench failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    };
    pgbench(&["-i", "-q", "-s", "1"])?;
    let secs = CALIBRATION_SECS.to_string();
    let text = pgbench(&[
        "-S", "-M", "prepared", "-n", "-c", "16", "-j", "2", "-T", &secs,
    ])?;
    println!("\n==> pgbench -S -M prepared -c 16 -j 2 -T {secs}\n{text}");
    psql("postgres", "DROP DATABASE calibration")?;
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .context("pgbench printed no tps")
}

fn psql(db: &str, sql: &str) -> anyhow::Result<String> {
    let port = PG_PORT.to_string();
    let out = Command::new("docker")
        .args([
            "exec",
            CONTAINER,
            "psql",
            "-U",
            "postgres",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-d",
            db,
            "-tAc",
            sql,
        ])
        .output()?;
    if !out.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn flag(args: &[String], name: &str) -> Option<u64> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn wait_for(what: &str, limit: Duration, ready: impl Fn() -> bool) -> anyhow::Result<()> {
    let started = Instant::now();
    while !ready() {
        if started.elapsed() > limit {
            bail!("{what} was not ready within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn http_ok(port: u16, path: &str) -> bool {
    Command::new("curl")
        .args([
            "-sf",
            "-o",
            "/dev/null",
            &format!("http://127.0.0.1:{port}{path}"),
        ])
        .status()
        .is_ok_and(|s| s.success())
}

/// Creates a product with stock enough for any run and returns its id.
fn create_bench_product() -> anyhow::Result<i64> {
    let out = Command::new("curl")
        .args([
            "-sf",
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"name": "Benchmark Widget", "price_cents": 1999, "stock": 1000000000}"#,
            &format!("http://127.0.0.1:{}/products", SERVICES[1].1),
        ])
        .output()?;
    let body: Value =
        serde_json::from_slice(&out.stdout).context("create the benchmark product")?;
    body["id"].as_i64().context("the product has an id")
}

struct WrkResult {
    requests_per_sec: f64,
    p50: String,
    p99: String,
    max: String,
    non_2xx: u64,
    socket_errors: String,
    total: u64,
}

impl WrkResult {
    fn summary(&self) -> String {
        format!(
            "{:.0} req/s, p50 {}, p99 {}, {} requests, non-2xx {}, socket errors {}",
            self.requests_per_sec, self.p50, self.p99, self.total, self.non_2xx, self.socket_errors
        )
    }
}

fn wrk(
    connections: u64,
    duration: u64,
    url: &str,
    script: Option<&str>,
) -> anyhow::Result<WrkResult> {
    let mut args = vec![
        "-t2".to_owned(),
        format!("-c{connections}"),
        format!("-d{duration}s"),
        "--latency".to_owned(),
    ];
    if let Some(script) = script {
        args.extend(["-s".to_owned(), script.to_owned()]);
    }
    args.push(url.to_owned());
    println!("\n==> wrk {}", args.join(" "));
    let out = Command::new("wrk")
        .args(&args)
        .output()
        .context("run wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    println!("{text}");
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map(|l| l.trim_start()[prefix.len()..].trim().to_owned())
    };
    Ok(WrkResult {
        requests_per_sec: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50: field("50%").unwrap_or_default(),
        // "Latency   <avg>  <stdev>  <max>  <+/- stdev>"
        max: field("Latency")
            .and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
            .unwrap_or_default(),
        p99: field("99%").unwrap_or_default(),
        non_2xx: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        socket_errors: field("Socket errors:").unwrap_or_else(|| "none".to_owned()),
        total: text
            .lines()
            .find(|l| l.contains("requests in"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    })
}

fn peak_rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .context("VmHWM in /proc status")
}
