//! A closed-loop load generator for the fault tests: N clients each placing orders one after
//! another until told to stop, recording every outcome with its timing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// Longest a client waits for one answer; a hang past it is recorded as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One `POST /orders` and what came of it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// When it was sent.
    pub started: Instant,
    /// How long the answer took (or the failure).
    pub latency: Duration,
    /// The HTTP status, if there was an answer.
    pub status: Option<u16>,
    /// The placed order's id, for a 201.
    pub order_id: Option<String>,
    /// The error envelope's code, for a 4xx/5xx.
    pub code: Option<String>,
    /// The transport failure, if there was no answer (refused, reset, timed out).
    pub error: Option<String>,
}

impl Outcome {
    /// True when the request started within `[from, to)`.
    pub fn started_within(&self, from: Instant, to: Instant) -> bool {
        self.started >= from && self.started < to
    }
}

/// Clients placing orders of one product, 1 unit each, against order-service's current port.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    port: Arc<AtomicU16>,
    clients: Vec<JoinHandle<Vec<Outcome>>>,
}

impl Load {
    /// Starts `clients` clients ordering `product` from order-service on `port`, each placing
    /// its next order as soon as the last was answered.
    pub fn start(port: u16, clients: usize, product: i64) -> Self {
        Self::start_paced(port, clients, product, Duration::ZERO)
    }

    /// Like [`Load::start`], but each client pauses `pause` after every answer.
    pub fn start_paced(port: u16, clients: usize, product: i64, pause: Duration) -> Self {
        testkit::install_crypto_provider();
        let stop = Arc::new(AtomicBool::new(false));
        let port = Arc::new(AtomicU16::new(port));
        let clients = (0..clients)
            .map(|_| {
                let stop = Arc::clone(&stop);
                let port = Arc::clone(&port);
                tokio::spawn(async move { client(stop, port, product, pause).await })
            })
            .collect();
        Self {
            stop,
            port,
            clients,
        }
    }

    /// Points the clients at order-service's new port (after a restart).
    pub fn set_port(&self, port: u16) {
        self.port.store(port, Ordering::SeqCst);
    }

    /// Stops every client after its request in hand; all outcomes, in no particular order.
    pub async fn stop(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::SeqCst);
        let mut outcomes = Vec::new();
        for client in self.clients {
            outcomes.extend(client.await.expect("a load client panicked"));
        }
        outcomes
    }
}

async fn client(
    stop: Arc<AtomicBool>,
    port: Arc<AtomicU16>,
    product: i64,
    pause: Duration,
) -> Vec<Outcome> {
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("a plain-HTTP client");
    let body = json!({"user_id": 1, "product_id": product, "quantity": 1});
    let mut outcomes = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let url = format!("http://127.0.0.1:{}/orders", port.load(Ordering::SeqCst));
        let started = Instant::now();
        let sent = http.post(&url).json(&body).send().await;
        let mut outcome = Outcome {
            started,
            latency: Duration::ZERO,
            status: None,
            order_id: None,
            code: None,
            error: None,
        };
        match sent {
            Ok(response) => {
                outcome.status = Some(response.status().as_u16());
                match response.json::<Value>().await {
                    Ok(body) => {
                        outcome.order_id = body["id"].as_str().map(str::to_owned);
                        outcome.code = body["code"].as_str().map(str::to_owned);
                    }
                    Err(e) => outcome.error = Some(format!("unreadable body: {e}")),
                }
            }
            Err(e) => outcome.error = Some(e.to_string()),
        }
        outcome.latency = started.elapsed();
        let failed = outcome.status.is_none();
        outcomes.push(outcome);
        if failed {
            // The service is down (killed, restarting): do not spin.
            tokio::time::sleep(Duration::from_millis(20)).await;
        } else if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    outcomes
}

/// The `q`-quantile (0 to 1) of `latencies`, or zero when there are none.
pub fn quantile(latencies: &mut [Duration], q: f64) -> Duration {
    if latencies.is_empty() {
        return Duration::ZERO;
    }
    latencies.sort();
    let rank = ((latencies.len() as f64) * q).ceil() as usize;
    latencies[rank.clamp(1, latencies.len()) - 1]
}
