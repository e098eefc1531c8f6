//! The outbox relay: publishes the events the outbox holds to JetStream, in order, and marks
//! each published once JetStream has acknowledged it.
//!
//! Each round, in one database transaction, takes up to [`BATCH`] events (one replica relays at
//! a time, by an advisory lock, so several may run the relay safely), sends them one after another on the one NATS
//! connection (JetStream stores them in that order), waits for the acknowledgements together,
//! marks the acknowledged ones published and commits. The event id is the `Nats-Msg-Id`, so an event published again after a crash
//! between the acknowledgement and the mark is dropped by JetStream as a duplicate within the
//! stream's 2-minute window (and notification-service acts on each event id once in any case).
//! An event is claimed only once every earlier event of its order is published, so one order's
//! events are never reordered, whatever fails.
//!
//! While NATS is unreachable nothing is claimed; the relay waits with exponential backoff and
//! jitter, and says every [`REPORT_EVERY`] how many events wait and for how long. Orders go on
//! being placed meanwhile: their events wait in the outbox.

use std::time::Duration;

use chrono::TimeDelta;
use http_plumbing::db::Db;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{Jitter, RetryDecision, RetryPolicy};
use tokio::time::Instant;

use crate::clients::broker::{Broker, BrokerError, acknowledged};
use crate::events::EventMessage;
use crate::store::StoreError;
use crate::store::outbox::{self, OutboxEvent};

/// Most events one round publishes.
pub const BATCH: i64 = 1024;
/// How often a relay that cannot publish reports the backlog.
const REPORT_EVERY: Duration = Duration::from_secs(10);
/// How often published events past their retention are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The relay's settings.
#[derive(Debug, Clone, Copy)]
pub struct RelaySettings {
    /// Pause between rounds that found nothing more to publish.
    pub poll_interval: Duration,
    /// Longest wait for JetStream's acknowledgements of a batch.
    pub ack_timeout: Duration,
    /// Published events are kept this long, then pruned.
    pub retention: Duration,
}

/// Why a round published nothing, or not everything.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// NATS or JetStream did not take the events.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// The outbox could not be read or updated.
    #[error("the outbox is unavailable: {0}")]
    Store(#[from] StoreError),
}

/// The relay: its own database handle and the NATS connection.
#[derive(Debug)]
pub struct Relay {
    /// A database handle of the relay's own.
    pub db: Db,
    /// Where the events go.
    pub broker: Broker,
    /// Settings.
    pub settings: RelaySettings,
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// The pause after the `failures`-th failed round in a row: 100 ms doubling to 5 s, jittered.
fn backoff(failures: u32) -> Duration {
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(100), Duration::from_secs(5))
        .jitter(Jitter::Bounded)
        .build_with_max_retries(u32::MAX);
    let now = std::time::SystemTime::now();
    match policy.should_retry(now, failures.saturating_sub(1)) {
        RetryDecision::Retry { execute_after } => execute_after
            .duration_since(now)
            .unwrap_or(Duration::from_millis(100)),
        RetryDecision::DoNotRetry => Duration::from_secs(5),
    }
}

impl Relay {
    /// Runs rounds until the task is stopped. Stopping at any await point loses nothing: an
    /// event is marked published only after JetStream acknowledged it, in a transaction that a
    /// stopped relay never commits.
    pub async fn run(self) {
        let mut stream_ready = false;
        let mut failures: u32 = 0;
        let mut last_report = Instant::now();
        let mut last_prune: Option<Instant> = None;
        loop {
            match self.round(&mut stream_ready).await {
                Ok(published) => {
                    if failures > 0 {
                        tracing::info!(failures, "relay: publishing again");
                    }
                    failures = 0;
                    if published < BATCH as usize {
                        tokio::time::sleep(self.settings.poll_interval).await;
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    if failures == 1 || last_report.elapsed() >= REPORT_EVERY {
                        last_report = Instant::now();
                        self.report(&e).await;
                    }
                    tokio::time::sleep(backoff(failures)).await;
                }
            }
            if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(Instant::now());
                let retention = delta(self.settings.retention);
                match outbox::prune_published(&self.db, retention, 10_000).await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "relay: pruned published events"),
                    Err(e) => tracing::warn!(error = %e, "relay: could not prune"),
                }
            }
        }
    }

    async fn report(&self, error: &RelayError) {
        match outbox::backlog(&self.db).await {
            Ok(backlog) => {
                let oldest_ms = backlog
                    .oldest_unpublished_at
                    .map(|at| (backlog.now - at).num_milliseconds());
                tracing::warn!(error = %error, unpublished = backlog.unpublished,
                    oldest_unpublished_ms = oldest_ms, "relay: events are waiting to be published");
            }
            Err(e) => tracing::warn!(error = %error, backlog_error = %e, "relay: cannot publish"),
        }
    }

    /// One round: claim, publish, mark, in one transaction. Returns how many events were
    /// published.
    pub async fn round(&self, stream_ready: &mut bool) -> Result<usize, RelayError> {
        if !self.broker.is_connected() {
            return Err(BrokerError::Unavailable("not connected".to_owned()).into());
        }
        if !*stream_ready {
            self.broker.ensure_stream().await?;
            *stream_ready = true;
        }
        let started = Instant::now();
        let relayed = outbox::relay_batch(&self.db, BATCH, async |events| {
            let claimed_in = started.elapsed();
            let published = self.publish(&events).await;
            tracing::debug!(
                events = events.len(),
                claimed_ms = claimed_in.as_millis() as u64,
                published_ms = (started.elapsed() - claimed_in).as_millis() as u64,
                "relay: batch published"
            );
            published
        })
        .await?;
        // Another replica is relaying.
        let Some(relayed) = relayed else {
            return Ok(0);
        };
        match relayed.outcome {
            None => Ok(relayed.published),
            Some(e) => {
                if matches!(e, BrokerError::Refused(_)) {
                    // The stream may have been deleted: make sure of it next round.
                    *stream_ready = false;
                }
                Err(e.into())
            }
        }
    }

    /// Sends `events` one after another on the one connection (JetStream stores them in that
    /// order), then waits for all their acknowledgements; the `seq`s acknowledged, and the
    /// first failure. Bounded by the acknowledgement timeout, so a broker that hangs holds the
    /// batch's transaction no longer than that.
    async fn publish(&self, events: &[OutboxEvent]) -> (Vec<i64>, Option<BrokerError>) {
        let prefix = self.broker.subject_prefix();
        let all = async {
            let mut pending = Vec::with_capacity(events.len());
            let mut failure = None;
            for event in events {
                match self
                    .broker
                    .send(&EventMessage::from_outbox(&event.event, prefix))
                    .await
                {
                    Ok(ack) => pending.push((event.seq, ack)),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            let acks = futures_util::future::join_all(
                pending
                    .into_iter()
                    .map(|(seq, ack)| async move { (seq, acknowledged(ack).await) }),
            )
            .await;
            let mut published = Vec::with_capacity(acks.len());
            for (seq, result) in acks {
                match result {
                    Ok(()) => published.push(seq),
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
            (published, failure)
        };
        let limit = self.settings.ack_timeout + Duration::from_secs(1);
        tokio::time::timeout(limit, all).await.unwrap_or_else(|_| {
            (
                Vec::new(),
                Some(BrokerError::Unavailable(format!(
                    "no acknowledgement within {limit:?}"
                ))),
            )
        })
    }
}
