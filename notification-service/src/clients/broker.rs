//! NATS JetStream: the streams and consumer this service needs, and the dead-letter stream.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::context::{CreateStreamErrorKind, GetStreamErrorKind};
use async_nats::jetstream::stream::RawMessageErrorKind;
use async_nats::jetstream::{self, Context};
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::configuration::Settings;
use crate::events::streams::{
    consumer_config, dead_letter_stream_config, orders_stream_config, orders_stream_differences,
};
use crate::events::{CORRELATION_ID_HEADER, MESSAGE_ID_HEADER};

/// Header of a dead letter: why it was dead-lettered.
pub const REASON_HEADER: &str = "Dead-Letter-Reason";
/// Header of a dead letter: the subject it was published to.
pub const SUBJECT_HEADER: &str = "Dead-Letter-Subject";
/// Header of a dead letter: its sequence number in the orders stream.
pub const SEQUENCE_HEADER: &str = "Dead-Letter-Stream-Sequence";
/// Header of a dead letter: how many times it had been delivered.
pub const DELIVERIES_HEADER: &str = "Dead-Letter-Deliveries";

/// How long one JetStream API request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest reason kept in a dead letter's header.
const MAX_REASON_LEN: usize = 1_000;

/// A broker failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// NATS cannot be reached or did not answer in time.
    #[error("NATS is unavailable: {0}")]
    Unavailable(String),
    /// JetStream refused a request (a configuration conflict, say).
    #[error("JetStream refused the request: {0}")]
    Refused(String),
}

/// A message of the dead-letter stream.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Its sequence number in the dead-letter stream: the id the API uses.
    pub id: u64,
    /// The subject the event was published to.
    pub subject: String,
    /// Why it was dead-lettered.
    pub reason: String,
    /// The original `Nats-Msg-Id` (the event id), when it had one.
    pub message_id: Option<String>,
    /// The original `X-Correlation-ID`, when it had one.
    pub correlation_id: Option<String>,
    /// Deliveries before it was dead-lettered.
    pub deliveries: i64,
    /// When it was dead-lettered.
    pub dead_lettered_at: DateTime<Utc>,
    /// The original body, byte for byte.
    pub payload: Bytes,
}

/// What the worker dead-letters: the original message and why.
#[derive(Debug)]
pub struct Poison<'a> {
    /// The subject it arrived on.
    pub subject: &'a str,
    /// Its headers.
    pub headers: Option<&'a HeaderMap>,
    /// Its body.
    pub payload: &'a Bytes,
    /// Its sequence number in the orders stream.
    pub stream_sequence: u64,
    /// Deliveries so far.
    pub deliveries: i64,
    /// Why it cannot be handled.
    pub reason: &'a str,
}

/// The service's connection to NATS and the names of its streams.
#[derive(Clone)]
pub struct Broker {
    client: async_nats::Client,
    jetstream: Context,
    settings: Settings,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("state", &self.client.connection_state())
            .finish()
    }
}

/// A header's value, looked up exactly and then regardless of case.
pub fn header<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    let headers = headers?;
    if let Some(value) = headers.get(name) {
        return Some(value.as_str());
    }
    headers
        .iter()
        .find(|(key, _)| AsRef::<str>::as_ref(key).eq_ignore_ascii_case(name))
        .and_then(|(_, values)| values.first())
        .map(|v| v.as_str())
}

fn one_line(text: &str) -> String {
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.len() > MAX_REASON_LEN {
        let mut end = MAX_REASON_LEN;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
    }
    line
}

fn unavailable(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(e.to_string())
}

impl Broker {
    /// Connects to NATS, retrying for `APP_NATS_CONNECT_WAIT_SECS` while it is not up yet.
    /// Once connected, the client reconnects by itself whenever the connection drops.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs(settings.nats_connect_wait_secs);
        let client = loop {
            let attempt = async_nats::ConnectOptions::new()
                .name("notification-service")
                .connection_timeout(Duration::from_secs(2))
                .request_timeout(Some(REQUEST_TIMEOUT))
                .max_reconnects(None)
                .connect(settings.nats_url.as_str())
                .await;
            match attempt {
                Ok(client) => break client,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, "NATS not reachable yet; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(anyhow::anyhow!("connect to NATS: {e}")),
            }
        };
        let jetstream = jetstream::new(client.clone());
        Ok(Self {
            client,
            jetstream,
            settings: settings.clone(),
        })
    }

    /// True while the client holds a connection to a NATS server.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Creates the orders stream with the agreed configuration if it is missing. An existing
    /// stream is left exactly as it is; differences from the agreement are logged.
    pub async fn ensure_orders_stream(&self) -> Result<(), BrokerError> {
        let s = &self.settings;
        let agreed = orders_stream_config(
            &s.orders_stream,
            &s.orders_subject_prefix,
            s.stream_replicas,
        );
        match self.jetstream.get_stream(&s.orders_stream).await {
            Ok(mut stream) => {
                let info = stream.info().await.map_err(unavailable)?;
                let differences = orders_stream_differences(&info.config, &agreed);
                if differences.is_empty() {
                    tracing::info!(stream = %s.orders_stream, "orders stream exists");
                } else {
                    tracing::warn!(stream = %s.orders_stream, differences = ?differences,
                        "the orders stream differs from the agreed configuration; left unchanged");
                }
                Ok(())
            }
            Err(e) if is_stream_not_found(&e) => {
                match self.jetstream.create_stream(agreed).await {
                    Ok(_) => {
                        tracing::info!(stream = %s.orders_stream, "orders stream created");
                        Ok(())
                    }
                    // order-service created it meanwhile: left as it is, like any existing one.
                    Err(e)
                        if matches!(e.kind(), CreateStreamErrorKind::JetStream(js)
                        if js.error_code() == ErrorCode::STREAM_NAME_EXIST) =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(BrokerError::Refused(e.to_string())),
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Creates or updates this service's dead-letter stream.
    pub async fn ensure_dead_letter_stream(&self) -> Result<(), BrokerError> {
        let s = &self.settings;
        let config = dead_letter_stream_config(
            &s.dead_letter_stream,
            &s.dead_letter_subject_prefix,
            s.stream_replicas,
        );
        self.jetstream
            .create_or_update_stream(config)
            .await
            .map_err(|e| BrokerError::Refused(e.to_string()))?;
        Ok(())
    }

    /// Creates or updates this service's durable pull consumer on the orders stream.
    pub async fn consumer(&self) -> Result<PullConsumer, BrokerError> {
        let s = &self.settings;
        let stream = self
            .jetstream
            .get_stream(&s.orders_stream)
            .await
            .map_err(unavailable)?;
        let config = consumer_config(
            &s.consumer_name,
            s.consumer_max_deliver,
            Duration::from_millis(s.consumer_ack_wait_ms),
        );
        stream
            .create_consumer(config)
            .await
            .map_err(|e| BrokerError::Refused(e.to_string()))
    }

    /// Publishes a poison message to the dead-letter stream and waits for JetStream's ack;
    /// returns its id there. Its headers are the original's (but JetStream's `Nats-*` ones)
    /// and the `Dead-Letter-*` ones. Written twice (a crash before the original was acked), it is
    /// stored once: its `Nats-Msg-Id` names the original stream and sequence.
    pub async fn dead_letter(&self, poison: &Poison<'_>) -> Result<u64, BrokerError> {
        let mut headers = HeaderMap::new();
        if let Some(original) = poison.headers {
            for (name, values) in original.iter() {
                // JetStream's own headers (Nats-Msg-Id, Nats-Expected-…) would make the
                // dead-letter publish a duplicate or fail its expectations.
                let name_text: &str = name.as_ref();
                if name_text.len() >= 5 && name_text[..5].eq_ignore_ascii_case("nats-") {
                    continue;
                }
                for value in values {
                    headers.append(name.clone(), value.clone());
                }
            }
        }
        if let Some(id) = header(poison.headers, MESSAGE_ID_HEADER) {
            headers.insert("Dead-Letter-Message-Id", id);
        }
        headers.insert(
            MESSAGE_ID_HEADER,
            format!(
                "dlq:{}:{}",
                self.settings.orders_stream, poison.stream_sequence
            )
            .as_str(),
        );
        headers.insert(REASON_HEADER, one_line(poison.reason).as_str());
        headers.insert(SUBJECT_HEADER, poison.subject);
        headers.insert(SEQUENCE_HEADER, poison.stream_sequence.to_string().as_str());
        headers.insert(DELIVERIES_HEADER, poison.deliveries.to_string().as_str());
        let subject = format!(
            "{}.{}",
            self.settings.dead_letter_subject_prefix, poison.subject
        );
        let ack = self
            .jetstream
            .publish_with_headers(subject, headers, poison.payload.clone())
            .await
            .map_err(unavailable)?
            .await
            .map_err(unavailable)?;
        Ok(ack.sequence)
    }

    /// One page of dead letters, oldest first, and how many there are in all.
    pub async fn list_dead_letters(
        &self,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<DeadLetter>, u64), BrokerError> {
        let mut stream = self
            .jetstream
            .get_stream(&self.settings.dead_letter_stream)
            .await
            .map_err(unavailable)?;
        let state = stream.info().await.map_err(unavailable)?.state.clone();
        let mut items = Vec::new();
        let mut next = state.first_sequence.max(1);
        let mut skipped = 0;
        while items.len() < limit && next <= state.last_sequence {
            let Some(letter) = self.next_dead_letter(next).await? else {
                break;
            };
            next = letter.id + 1;
            if skipped < offset {
                skipped += 1;
            } else {
                items.push(letter);
            }
        }
        Ok((items, state.messages))
    }

    async fn next_dead_letter(&self, from: u64) -> Result<Option<DeadLetter>, BrokerError> {
        let stream = self
            .jetstream
            .get_stream_no_info(&self.settings.dead_letter_stream)
            .await
            .map_err(unavailable)?;
        let found = stream
            .raw_message_builder()
            .sequence(from)
            .next_by_subject(format!("{}.>", self.settings.dead_letter_subject_prefix))
            .send()
            .await;
        match found {
            Ok(message) => Ok(Some(to_dead_letter(message))),
            Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The dead letter with this id, if it is still there.
    pub async fn dead_letter_by_id(&self, id: u64) -> Result<Option<DeadLetter>, BrokerError> {
        let stream = self
            .jetstream
            .get_stream_no_info(&self.settings.dead_letter_stream)
            .await
            .map_err(unavailable)?;
        match stream.get_raw_message(id).await {
            Ok(message) => Ok(Some(to_dead_letter(message))),
            Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Removes a dead letter (after a successful replay).
    pub async fn delete_dead_letter(&self, id: u64) -> Result<(), BrokerError> {
        let stream = self
            .jetstream
            .get_stream_no_info(&self.settings.dead_letter_stream)
            .await
            .map_err(unavailable)?;
        stream.delete_message(id).await.map_err(unavailable)?;
        Ok(())
    }
}

fn is_stream_not_found(e: &async_nats::jetstream::context::GetStreamError) -> bool {
    matches!(e.kind(), GetStreamErrorKind::JetStream(js) if js.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

fn to_dead_letter(message: async_nats::jetstream::message::StreamMessage) -> DeadLetter {
    let headers = Some(&message.headers);
    let text = |name: &str| header(headers, name).map(str::to_owned);
    let time = message.time;
    DeadLetter {
        id: message.sequence,
        subject: text(SUBJECT_HEADER).unwrap_or_else(|| message.subject.to_string()),
        reason: text(REASON_HEADER).unwrap_or_default(),
        message_id: text("Dead-Letter-Message-Id"),
        correlation_id: text(CORRELATION_ID_HEADER),
        deliveries: text(DELIVERIES_HEADER)
            .and_then(|d| d.parse().ok())
            .unwrap_or(0),
        dead_lettered_at: DateTime::from_timestamp(time.unix_timestamp(), time.nanosecond())
            .unwrap_or_default(),
        payload: message.payload,
    }
}
