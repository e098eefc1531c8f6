//! The JetStream consumer: pulls order events, sends their emails, acks, retries, dead-letters.
//!
//! Messages are handled one at a time, in stream order. A failure that another attempt may
//! cure (SMTP or database unavailable, a cancellation whose confirmation is still pending) is
//! nak'ed with an exponential delay and the next message goes on; one that cannot (an
//! undecodable body, a refused email), or the last allowed attempt, goes to the dead-letter
//! stream and is then terminated, so nothing blocks the messages behind it.
//!
//! On shutdown the worker stops pulling, finishes the message in hand, hands back (naks) the
//! messages already delivered to it, and returns.

use std::time::Duration;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::message::Message;
use futures_util::StreamExt;
use telemetry::CorrelationId;
use tokio::sync::watch;
use tracing::Instrument;

use crate::clients::broker::{Poison, header};
use crate::clients::{Broker, BrokerError};
use crate::configuration::Settings;
use crate::events::CORRELATION_ID_HEADER;
use crate::notifying::{Notifier, NotifyError};

/// How long one pull request waits for messages before the worker asks again.
const PULL_EXPIRES: Duration = Duration::from_secs(1);
/// Pause after a failed pull (NATS unreachable) before the next one.
const PULL_RETRY: Duration = Duration::from_millis(500);

/// The consumer worker and what it needs.
pub struct ConsumerWorker {
    /// The durable pull consumer on the orders stream.
    pub consumer: PullConsumer,
    /// For dead letters.
    pub broker: Broker,
    /// Handles each event.
    pub notifier: Notifier,
    /// Attempts, backoff and batch size.
    pub settings: Settings,
}

impl ConsumerWorker {
    /// Runs until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(
            consumer = %self.settings.consumer_name,
            stream = %self.settings.orders_stream,
            "consumer started"
        );
        while !*stop.borrow() {
            let pulled = tokio::select! {
                pulled = self.consumer
                    .batch()
                    .max_messages(self.settings.consumer_batch.max(1))
                    .expires(PULL_EXPIRES)
                    .messages() => pulled,
                _ = stop.changed() => break,
            };
            let mut batch = match pulled {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %e, "pull request failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(PULL_RETRY) => {}
                        _ = stop.changed() => break,
                    }
                    continue;
                }
            };
            loop {
                let next = tokio::select! {
                    next = batch.next() => next,
                    _ = stop.changed() => break,
                };
                match next {
                    None => break,
                    Some(Ok(message)) => self.handle(message).await,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "pull batch ended with an error");
                        break;
                    }
                }
                if *stop.borrow() {
                    break;
                }
            }
            if *stop.borrow() {
                hand_back(&mut batch).await;
            }
        }
        tracing::info!("consumer stopped");
    }

    /// Handles one message inside a span carrying its correlation ID, like the HTTP root span.
    async fn handle(&self, message: Message) {
        let (stream_sequence, delivered) = match message.info() {
            Ok(info) => (info.stream_sequence, info.delivered),
            Err(e) => {
                tracing::error!(error = %e, "a message without JetStream metadata; skipped");
                return;
            }
        };
        let correlation_id = header(message.headers.as_ref(), CORRELATION_ID_HEADER)
            .and_then(CorrelationId::parse)
            .unwrap_or_else(CorrelationId::new_random);
        let span = tracing::info_span!(
            "message",
            correlation_id = %correlation_id,
            subject = %message.subject,
            stream_sequence,
            delivered,
            event_id = tracing::field::Empty,
        );
        self.handle_in_span(
            &message,
            stream_sequence,
            delivered,
            correlation_id.as_str(),
        )
        .instrument(span)
        .await;
    }

    async fn handle_in_span(
        &self,
        message: &Message,
        stream_sequence: u64,
        delivered: i64,
        correlation_id: &str,
    ) {
        let attempts = i64::from(self.settings.consumer_max_deliver.max(1));
        let error = match self.notifier.handle(&message.payload, correlation_id).await {
            Ok(handled) => {
                tracing::info!(outcome = handled.as_str(), "event handled");
                acknowledge(message, AckKind::Ack).await;
                return;
            }
            Err(e) => e,
        };
        if error.is_permanent() || delivered >= attempts {
            let reason = if error.is_permanent() {
                error.to_string()
            } else {
                format!("gave up after {delivered} attempts: {error}")
            };
            match self
                .dead_letter(message, stream_sequence, delivered, &reason)
                .await
            {
                Ok(id) => {
                    tracing::warn!(reason, dead_letter = id, "event dead-lettered");
                    acknowledge(message, AckKind::Term).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, reason, "could not dead-letter the event; retrying");
                    acknowledge(message, AckKind::Nak(Some(self.delay(delivered)))).await;
                }
            }
            return;
        }
        let delay = self.delay(delivered);
        log_retry(&error, delivered, delay);
        acknowledge(message, AckKind::Nak(Some(delay))).await;
    }

    fn delay(&self, delivered: i64) -> Duration {
        self.settings
            .backoff(u32::try_from(delivered.max(1)).unwrap_or(u32::MAX))
    }

    async fn dead_letter(
        &self,
        message: &Message,
        stream_sequence: u64,
        delivered: i64,
        reason: &str,
    ) -> Result<u64, BrokerError> {
        self.broker
            .dead_letter(&Poison {
                subject: message.subject.as_str(),
                headers: message.headers.as_ref(),
                payload: &message.payload,
                stream_sequence,
                deliveries: delivered,
                reason,
            })
            .await
    }
}

fn log_retry(error: &NotifyError, delivered: i64, delay: Duration) {
    tracing::warn!(
        error = %error,
        attempt = delivered,
        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        "attempt failed; will retry"
    );
}

async fn acknowledge(message: &Message, kind: AckKind) {
    if let Err(e) = message.ack_with(kind).await {
        // JetStream redelivers an unacknowledged message; the event id keeps that harmless.
        tracing::warn!(error = %e, "could not acknowledge the message");
    }
}

/// Naks (without delay) what the current pull already delivered, so that another consumer
/// instance gets it at once instead of after the ack wait.
async fn hand_back(batch: &mut async_nats::jetstream::consumer::pull::Batch) {
    let deadline = tokio::time::Instant::now() + PULL_EXPIRES;
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, batch.next()).await {
        acknowledge(&message, AckKind::Nak(None)).await;
    }
}
