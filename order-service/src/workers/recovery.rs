//! The recovery worker: drives every saga that its request left unfinished to its end.
//!
//! At start-up and then every `interval` it
//! 1. rejects sagas still `pending` a grace period after their deadline (their request was cut
//!    short: a crash, a kill, a client that went away), with their release due;
//! 2. claims due releases (rejected orders whose reservation may exist, cancelling orders) for
//!    a lease, releases them at product-service, and records each success (a cancelling order
//!    becomes cancelled) or schedules the next attempt with exponential backoff and jitter;
//! 3. now and then prunes idempotency keys and rejected sagas past their retention.
//!
//! Several replicas may run it at once: rows are claimed with `FOR UPDATE SKIP LOCKED`, and a
//! claimed release is leased, so no two replicas work on one order at the same time (and if one
//! dies mid-release, another takes over when the lease ends; releasing twice is harmless).

use std::time::Duration;

use chrono::TimeDelta;
use http_plumbing::db::Db;
use telemetry::CorrelationId;
use tokio::time::Instant;

use crate::clients::ProductClient;
use crate::saga::{next_release_attempt, release};
use crate::store::orders;

/// Most rows one step handles at a time.
const BATCH: i64 = 64;

/// Prune once in this many rounds.
const PRUNE_EVERY: u64 = 60;

/// The recovery worker's settings.
#[derive(Debug, Clone, Copy)]
pub struct RecoverySettings {
    /// Time between rounds.
    pub interval: Duration,
    /// How long past its deadline a pending saga is left alone (covers clock skew between
    /// the services and the database).
    pub grace: Duration,
    /// How long a claimed release is the claimer's alone.
    pub lease: Duration,
    /// The deadline of each release call.
    pub call_deadline: Duration,
    /// Idempotency keys older than this are pruned.
    pub key_retention: Duration,
    /// Rejected sagas older than this are pruned.
    pub rejected_retention: Duration,
}

/// The worker: its own database handle and product-service client.
#[derive(Debug)]
pub struct Recovery {
    /// A database handle of the worker's own.
    pub db: Db,
    /// product-service, through the same breaker and bulkhead as the requests.
    pub products: ProductClient,
    /// Settings.
    pub settings: RecoverySettings,
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl Recovery {
    /// Runs rounds until the task is stopped. Every step is idempotent and every row change
    /// commits on its own, so stopping at any point loses nothing.
    pub async fn run(self) {
        let mut round: u64 = 0;
        loop {
            self.round(round.is_multiple_of(PRUNE_EVERY)).await;
            round += 1;
            tokio::time::sleep(self.settings.interval).await;
        }
    }

    /// One round; failures are logged and retried next round.
    pub async fn round(&self, prune: bool) {
        let s = self.settings;
        match orders::reject_overdue(&self.db, delta(s.grace), BATCH).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::warn!(
                    orders = ids.len(),
                    "rejected sagas left pending past their deadline"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "recovery: could not reject overdue sagas"),
        }
        loop {
            let claimed = match orders::claim_due_releases(&self.db, delta(s.lease), BATCH).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "recovery: could not claim due releases");
                    break;
                }
            };
            let full = claimed.len() as i64 == BATCH;
            let outcomes = futures_util::future::join_all(claimed.iter().map(|c| async move {
                let correlation_id = CorrelationId::new_random();
                let deadline = Instant::now() + s.call_deadline;
                (
                    c,
                    release(&self.products, &self.db, c.id, &correlation_id, deadline).await,
                )
            }))
            .await;
            let mut failed = 0;
            for (claim, outcome) in outcomes {
                if let Err(e) = outcome {
                    failed += 1;
                    let attempts = u32::try_from(claim.release_attempts).unwrap_or(1);
                    tracing::warn!(order_id = %claim.id, attempts, error = %e, "recovery: release failed; will retry");
                    let next = next_release_attempt(attempts);
                    if let Err(e) = orders::postpone_release(&self.db, claim.id, next).await {
                        tracing::warn!(order_id = %claim.id, error = %e, "recovery: could not postpone a release");
                    }
                }
            }
            if !claimed.is_empty() {
                tracing::info!(
                    released = claimed.len() - failed,
                    failed,
                    "recovery: releases done"
                );
            }
            if !full || failed > 0 {
                break;
            }
        }
        if prune {
            let retention = (delta(s.key_retention), delta(s.rejected_retention));
            match orders::prune(&self.db, retention.0, retention.1, 1000).await {
                Ok((0, 0)) => {}
                Ok((keys, sagas)) => tracing::info!(keys, sagas, "recovery: pruned"),
                Err(e) => tracing::warn!(error = %e, "recovery: could not prune"),
            }
        }
    }
}
