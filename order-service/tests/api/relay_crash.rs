//! The relay through crashes: order-service's binary killed with SIGKILL between committing
//! orders and publishing their events, and at random moments while orders flow. After each
//! restart every confirmed order's `order.created` is in the stream exactly once.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use testkit::http::Api;
use testkit::nats::NatsServer;
use uuid::Uuid;

use crate::helpers::{EventNames, TestApp, spawn_app_with, stream_events};

/// An order-service process.
struct Process {
    child: Child,
    api: Api,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts the binary with `app`'s database, fakes and NATS settings; waits until it answers.
async fn start(app: &TestApp) -> Process {
    let s = &app.settings;
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_order-service"))
        .env("APP_HOST", "127.0.0.1")
        .env("APP_PORT", port.to_string())
        .env("APP_DATABASE_URL", &s.database_url)
        .env("APP_USER_SERVICE_URL", &s.user_service_url)
        .env("APP_PRODUCT_SERVICE_URL", &s.product_service_url)
        .env("APP_NATS_URL", &s.nats_url)
        .env("APP_ORDERS_STREAM", &s.orders_stream)
        .env("APP_ORDERS_SUBJECT_PREFIX", &s.orders_subject_prefix)
        .env("APP_RECOVERY_INTERVAL_MS", "100")
        .env("APP_RECOVERY_GRACE_MS", "100")
        .env("APP_OUTBOX_POLL_INTERVAL_MS", "20")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start order-service");
    let process = Process {
        child,
        api: Api::on_port(port),
    };
    let started = Instant::now();
    loop {
        if let Ok(Ok(response)) = tokio::time::timeout(
            Duration::from_millis(500),
            reqwest::get(format!("http://127.0.0.1:{port}/health")),
        )
        .await
            && response.status().is_success()
        {
            return process;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "order-service did not start within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The fakes and database of a test, with the in-process service stopped (its relay too).
async fn setup(nats: &NatsServer, names: &EventNames) -> TestApp {
    let (url, names) = (nats.url().to_owned(), names.clone());
    let app = spawn_app_with(move |s| names.apply(s, &url)).await;
    app.server.stop(false).await;
    app.user_exists(1).await;
    app.reservations_succeed(..).await;
    app.releases_succeed(..).await;
    app
}

async fn unpublished(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&app.pool)
        .await
        .expect("count")
}

async fn wait_until_published(app: &TestApp, limit: Duration) {
    let started = Instant::now();
    while unpublished(app).await > 0 {
        assert!(
            started.elapsed() < limit,
            "{} events still unpublished after {limit:?}",
            unpublished(app).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts the stream holds exactly one `order.created` per confirmed order and nothing else.
async fn assert_published_once(app: &TestApp, nats: &NatsServer, names: &EventNames) -> usize {
    let events = stream_events(nats.url(), &names.stream).await;
    let confirmed = app.order_ids("confirmed").await;
    let mut seen = HashSet::new();
    for event in &events {
        assert_eq!(event.kind(), "order.created");
        assert!(
            seen.insert(event.order_id()),
            "order {} has its event in the stream twice",
            event.order_id()
        );
    }
    assert_eq!(
        seen,
        confirmed,
        "{} confirmed orders, {} events",
        confirmed.len(),
        events.len()
    );
    events.len()
}

#[tokio::test]
async fn events_committed_before_a_kill_are_published_once_after_the_restart() {
    let nats = NatsServer::start();
    let names = EventNames::unique();
    let app = setup(&nats, &names).await;
    nats.stop();
    let process = start(&app).await;
    for _ in 0..20 {
        let response = process
            .api
            .post_json(
                "/orders",
                &serde_json::json!({"user_id": 1, "product_id": 101, "quantity": 1}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
    }
    assert_eq!(unpublished(&app).await, 20, "committed, not yet published");
    drop(process); // SIGKILL

    nats.restart();
    let _restarted = start(&app).await;
    wait_until_published(&app, Duration::from_secs(30)).await;
    assert_eq!(assert_published_once(&app, &nats, &names).await, 20);
}

#[tokio::test]
async fn killing_order_service_at_random_moments_loses_and_duplicates_no_event() {
    let nats = NatsServer::start();
    let names = EventNames::unique();
    let app = setup(&nats, &names).await;
    for round in 0..5 {
        let process = start(&app).await;
        let running = Arc::new(AtomicBool::new(true));
        let clients: Vec<_> = (0..8)
            .map(|_| {
                let (api, running) = (Api::on_port(process.api.port()), Arc::clone(&running));
                tokio::spawn(async move {
                    let body = serde_json::json!({"user_id": 1, "product_id": 101, "quantity": 1});
                    // Bounded: at most 200 orders per client and round.
                    for _ in 0..200 {
                        if !running.load(Ordering::Relaxed) {
                            break;
                        }
                        let sent = tokio::time::timeout(
                            Duration::from_secs(3),
                            reqwest::Client::new()
                                .post(format!("http://127.0.0.1:{}/orders", api.port()))
                                .json(&body)
                                .send(),
                        )
                        .await;
                        if !matches!(sent, Ok(Ok(_))) {
                            break;
                        }
                    }
                })
            })
            .collect();
        let pause = 500 + (Uuid::new_v4().as_u128() % 1000) as u64;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        drop(process); // SIGKILL at a random moment of the flow
        running.store(false, Ordering::Relaxed);
        for client in clients {
            client.await.expect("a client");
        }
        eprintln!("round {round}: killed after {pause} ms");
    }
    let _last = start(&app).await;
    wait_until_published(&app, Duration::from_secs(30)).await;
    let published = assert_published_once(&app, &nats, &names).await;
    assert!(published > 20, "only {published} orders were confirmed");
    eprintln!("{published} orders confirmed across 5 kills, each event published once");
}
