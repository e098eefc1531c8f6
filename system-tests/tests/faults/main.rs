//! Fault tests of the whole system in containers, under load: order-service killed (`kill -9`),
//! a provider frozen past the deadline, a reservation that commits after its caller gave up,
//! order-service stopped with SIGTERM. Each checks what a user relies on: every order answered
//! 201 is stored and confirmed, no saga is left unfinished, and the units held by live
//! reservations are exactly the units of confirmed orders (no stock leaked).
//!
//! They target only this test's own containers, are bounded in count and time, and run one
//! at a time (`cargo xtask test` passes `--test-threads=1`): their timing checks assume the
//! machine is not also running other systems.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use system_tests::load::{Load, Outcome, quantile};
use system_tests::system::System;

/// order-service's request deadline (its default).
const DEADLINE: Duration = Duration::from_millis(2000);
/// Stock of the product the load orders: more than any test sells.
const STOCK: i64 = 1_000_000;
/// Concurrent clients.
const CLIENTS: usize = 32;

/// A pseudo-random duration in `[from, to)`, from a random UUID (no extra dependency).
fn random_between(from: Duration, to: Duration) -> Duration {
    let span = (to - from).as_millis();
    from + Duration::from_millis((uuid::Uuid::new_v4().as_u128() % span.max(1)) as u64)
}

fn count(outcomes: &[Outcome], status: u16) -> usize {
    outcomes.iter().filter(|o| o.status == Some(status)).count()
}

/// The ids of the confirmed orders.
async fn confirmed_orders(system: &System) -> HashSet<String> {
    system
        .texts(
            "orders",
            "SELECT id::text FROM orders WHERE status = 'confirmed'",
        )
        .await
        .into_iter()
        .collect()
}

/// Every order answered 201 is stored and confirmed; no saga is unsettled; the units held by
/// live reservations are the units of confirmed orders, and with the stock left they add up to
/// the stock the product started with. Returns (held, ordered).
async fn assert_consistent(system: &System, product: i64, outcomes: &[Outcome]) -> (i64, i64) {
    let settled_in = system.wait_settled(Duration::from_secs(90)).await;
    println!("all sagas settled {settled_in:?} after the load stopped");
    let placed: HashSet<String> = outcomes
        .iter()
        .filter(|o| o.status == Some(201))
        .filter_map(|o| o.order_id.clone())
        .collect();
    let confirmed = confirmed_orders(system).await;
    let lost: Vec<_> = placed.difference(&confirmed).collect();
    assert!(
        lost.is_empty(),
        "orders answered 201 but not confirmed: {lost:?}"
    );
    let (held, ordered) = system.held_and_ordered_units(product).await;
    assert_eq!(
        held, ordered,
        "units held by reservations != units of confirmed orders"
    );
    let stock = system
        .scalar(
            "products",
            &format!("SELECT stock::int8 FROM products WHERE id = {product}"),
        )
        .await;
    assert_eq!(stock + held, STOCK, "stock + held units != starting stock");
    (held, ordered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_kills_of_order_service_under_load_lose_no_order_and_leak_no_stock() {
    let system = System::start().await;
    let product = system.create_product(STOCK).await;
    let load = Load::start(system.orders().await.port(), CLIENTS, product);
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..10 {
        tokio::time::sleep(random_between(
            Duration::from_millis(300),
            Duration::from_millis(1500),
        ))
        .await;
        system.signal("order-service", "KILL").await;
        system
            .wait_exited("order-service", Duration::from_secs(10))
            .await;
        system.restart("order-service").await;
        load.set_port(system.orders().await.port());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let outcomes = load.stop().await;
    let (held, ordered) = assert_consistent(&system, product, &outcomes).await;
    let rejected = system
        .scalar(
            "orders",
            "SELECT count(*) FROM orders WHERE status = 'rejected'",
        )
        .await;
    println!(
        "kill -9 x10 under {CLIENTS} clients: {} requests, {} placed (201), {} answered 5xx, \
         {} without an answer; {rejected} sagas rejected by recovery or faults; \
         units held {held} = units ordered {ordered}, leaked 0",
        outcomes.len(),
        count(&outcomes, 201),
        outcomes
            .iter()
            .filter(|o| o.status.is_some_and(|s| s >= 500))
            .count(),
        outcomes.iter().filter(|o| o.status.is_none()).count(),
    );
    assert!(count(&outcomes, 201) > 100, "the load barely ran");
}

/// Freezes `provider` three times for longer than the deadline under load and checks the
/// answers; returns the outcomes for the caller's own checks.
async fn freeze_three_times(system: &System, provider: &str, product: i64) -> Vec<Outcome> {
    let load = Load::start(system.orders().await.port(), CLIENTS, product);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut freezes = Vec::new();
    for _ in 0..3 {
        let frozen = Instant::now();
        system.freeze(provider).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        system.thaw(provider).await;
        let thawed = Instant::now();
        // Wait until an order placed after the thaw succeeds again.
        let recovered = loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let api = system.orders().await;
            let response = api
                .post_json(
                    "/orders",
                    &serde_json::json!({"user_id": 1, "product_id": product, "quantity": 1}),
                )
                .await;
            if response.status().as_u16() == 201 {
                break thawed.elapsed();
            }
            assert!(
                thawed.elapsed() < Duration::from_secs(20),
                "orders still fail 20 s after {provider} thawed"
            );
        };
        println!("{provider} frozen 3 s: orders succeed again {recovered:?} after the thaw");
        assert!(
            recovered < Duration::from_secs(10),
            "recovery took {recovered:?}"
        );
        freezes.push((frozen, thawed));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let outcomes = load.stop().await;
    for (frozen, thawed) in freezes {
        let during: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.started_within(frozen, thawed))
            .collect();
        let slowest = during.iter().map(|o| o.latency).max().unwrap_or_default();
        assert!(
            during.iter().all(|o| o.status.is_some()),
            "a request during the freeze got no answer"
        );
        assert!(
            slowest <= DEADLINE + Duration::from_millis(100),
            "an answer during the freeze took {slowest:?}"
        );
        // From a second into the freeze the breaker is open (attempts time out after 600 ms).
        let mut open: Vec<Duration> = outcomes
            .iter()
            .filter(|o| o.started_within(frozen + Duration::from_secs(1), thawed))
            .map(|o| o.latency)
            .collect();
        let answered = open.len();
        let p99 = quantile(&mut open, 0.99);
        println!(
            "  freeze: {} answers, slowest {slowest:?}; with the breaker open: {answered} answers, \
             p50 {:?}, p99 {p99:?}",
            during.len(),
            quantile(&mut open, 0.5)
        );
        assert!(
            answered > 50,
            "only {answered} answers while the breaker was open"
        );
        assert!(
            p99 <= Duration::from_millis(50),
            "p99 {p99:?} with the breaker open"
        );
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_service_frozen_past_the_deadline_gets_fast_503s_and_leaks_no_stock() {
    let system = System::start().await;
    let product = system.create_product(STOCK).await;
    let outcomes = freeze_three_times(&system, "product-service", product).await;
    let (held, ordered) = assert_consistent(&system, product, &outcomes).await;
    println!(
        "product-service frozen 3 x 3 s under {CLIENTS} clients: {} requests, {} placed, {} 503; \
         units held {held} = units ordered {ordered}, leaked 0",
        outcomes.len(),
        count(&outcomes, 201),
        count(&outcomes, 503)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_service_frozen_past_the_deadline_gets_fast_503s_and_takes_no_stock() {
    let system = System::start().await;
    let product = system.create_product(STOCK).await;
    let outcomes = freeze_three_times(&system, "user-service", product).await;
    let (held, ordered) = assert_consistent(&system, product, &outcomes).await;
    // No saga refused for user-service ever reserved anything.
    let reserved_for_rejected = system
        .scalar(
            "orders",
            "SELECT count(*) FROM orders WHERE rejection_reason = 'user_service_unavailable' \
             AND release_attempts > 0",
        )
        .await;
    assert_eq!(reserved_for_rejected, 0);
    println!(
        "user-service frozen 3 x 3 s under {CLIENTS} clients: {} requests, {} placed, {} 503; \
         units held {held} = units ordered {ordered}, leaked 0",
        outcomes.len(),
        count(&outcomes, 201),
        count(&outcomes, 503)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_that_commits_after_its_caller_gave_up_ends_released() {
    let system = System::start().await;
    // Another transaction holds product 101's row: reservations of it wait.
    let mut holder = system.connect("products").await;
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT stock FROM products WHERE id = 101 FOR UPDATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let started = Instant::now();
    let response = system.place_seed_order().await;
    let took = started.elapsed();
    assert_eq!(response.status().as_u16(), 503);
    assert!(
        took <= DEADLINE + Duration::from_millis(100),
        "answered after {took:?}"
    );
    // The caller gave up; its compensation released the id while the reservations were still
    // waiting. Now they get the row.
    tokio::time::sleep(Duration::from_millis(500)).await;
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    system.wait_settled(Duration::from_secs(30)).await;
    let (held, ordered) = system.held_and_ordered_units(101).await;
    assert_eq!((held, ordered), (0, 0));
    let stock = system
        .scalar(
            "products",
            "SELECT stock::int8 FROM products WHERE id = 101",
        )
        .await;
    assert_eq!(stock, 150, "the late reservation took stock");
    let statuses = system
        .texts("products", "SELECT status FROM reservations")
        .await;
    assert!(
        statuses.iter().all(|s| s == "void" || s == "released"),
        "{statuses:?}"
    );
    assert_eq!(
        system
            .scalar(
                "orders",
                "SELECT count(*) FROM orders WHERE status = 'rejected'"
            )
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_fails_no_request_it_accepted_and_leaks_no_stock() {
    let system = System::start().await;
    let product = system.create_product(STOCK).await;
    let load = Load::start(system.orders().await.port(), CLIENTS, product);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stopping = Instant::now();
    system.signal("order-service", "TERM").await;
    let code = system
        .wait_exited("order-service", Duration::from_secs(20))
        .await;
    let drained = stopping.elapsed();
    let outcomes = load.stop().await;
    system.restart("order-service").await;
    let (held, ordered) = assert_consistent(&system, product, &outcomes).await;
    let failed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.status.is_some_and(|s| s != 201))
        .collect();
    assert!(
        failed.is_empty(),
        "answers other than 201: {:?}",
        &failed[..failed.len().min(5)]
    );
    // Every saga the service began was answered: none was cut off by the shutdown.
    let sagas = system.scalar("orders", "SELECT count(*) FROM orders").await;
    let placed = count(&outcomes, 201) as i64;
    assert_eq!(sagas, placed, "sagas begun != orders answered 201");
    println!(
        "SIGTERM under {CLIENTS} clients: exited with {code} {drained:?} after the signal; \
         {placed} orders placed, 0 failed by the shutdown, {} requests refused while it was \
         down; units held {held} = units ordered {ordered}, leaked 0",
        outcomes.iter().filter(|o| o.status.is_none()).count()
    );
}

/// How long the broker is down in the outage test.
const BROKER_OUTAGE: Duration = Duration::from_secs(30);

/// The order ids in the subjects of the emails received ("Your order <id> is confirmed").
fn emailed_orders(received: &[testkit::smtp::Received]) -> Vec<String> {
    received
        .iter()
        .filter_map(|r| r.header("Subject"))
        .filter_map(|subject| {
            subject
                .strip_prefix("Your order ")
                .and_then(|rest| rest.strip_suffix(" is confirmed"))
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_30_s_broker_outage_loses_no_order_and_every_order_is_emailed_once() {
    let system = System::start_with_events().await;
    let product = system.create_product(STOCK).await;
    // Paced clients: a steady flow of orders, not a flood of emails to wait for.
    let load = Load::start_paced(
        system.orders().await.port(),
        8,
        product,
        Duration::from_millis(50),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    system.stop_nats().await;
    let stopped = Instant::now();
    tokio::time::sleep(BROKER_OUTAGE / 2).await;
    let backlog: serde_json::Value = system
        .orders()
        .await
        .get("/outbox")
        .await
        .json()
        .await
        .expect("outbox JSON");
    tokio::time::sleep(BROKER_OUTAGE.saturating_sub(stopped.elapsed())).await;
    system.start_nats().await;
    let restarted = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let outcomes = load.stop().await;

    let during: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.started_within(stopped, restarted))
        .collect();
    let not_placed: Vec<&&Outcome> = during.iter().filter(|o| o.status != Some(201)).collect();
    assert!(
        not_placed.is_empty(),
        "orders not placed while NATS was down: {:?}",
        &not_placed[..not_placed.len().min(5)]
    );
    assert!(
        backlog["unpublished"].as_i64().unwrap_or(0) > 0,
        "no backlog while NATS was down: {backlog}"
    );
    assert_consistent(&system, product, &outcomes).await;

    let confirmed = confirmed_orders(&system).await;
    let emails = system
        .events()
        .smtp
        .wait_for(confirmed.len(), Duration::from_secs(120))
        .await;
    let emailed = emailed_orders(&emails);
    let unique: HashSet<String> = emailed.iter().cloned().collect();
    assert_eq!(
        emailed.len(),
        unique.len(),
        "an order was emailed more than once"
    );
    assert_eq!(
        unique,
        confirmed,
        "emailed orders differ from confirmed orders: {} missing, {} unexpected",
        confirmed.difference(&unique).count(),
        unique.difference(&confirmed).count()
    );
    // Nothing more arrives late.
    let settled = system.events().smtp.settle(Duration::from_secs(2)).await;
    assert_eq!(emailed_orders(&settled).len(), confirmed.len());
    println!(
        "broker outage: NATS down for {BROKER_OUTAGE:?} under 8 paced clients; {} orders placed \
         during it, 0 refused; backlog at half-time {}; {} orders confirmed, {} emails, each \
         order emailed once, the last {:?} after NATS returned",
        during.len(),
        backlog["unpublished"],
        confirmed.len(),
        emailed.len(),
        restarted.elapsed()
    );
}
