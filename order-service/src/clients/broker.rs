//! NATS JetStream: the one connection order-service's relay publishes its events over.

use std::time::Duration;

use async_nats::jetstream::context::{
    CreateStreamErrorKind, GetStreamErrorKind, PublishAckFuture, PublishErrorKind,
};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, Context, ErrorCode};

use crate::events::{EventMessage, orders_stream_config};

/// A broker failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// NATS cannot be reached, or did not acknowledge in time.
    #[error("NATS is unavailable: {0}")]
    Unavailable(String),
    /// JetStream refused the request (no stream for the subject, a configuration conflict).
    #[error("JetStream refused the request: {0}")]
    Refused(String),
}

fn unavailable(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(e.to_string())
}

/// Where the events go.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// NATS URL, e.g. `nats://nats:4222`.
    pub url: String,
    /// The stream's name (`ORDERS`).
    pub stream: String,
    /// The subjects' prefix (`orders`).
    pub subject_prefix: String,
    /// Copies JetStream keeps of each event (3 in a cluster).
    pub replicas: usize,
    /// Longest wait for JetStream's acknowledgement of one publish.
    pub ack_timeout: Duration,
}

/// The connection to NATS. Made without waiting: while NATS is down the client keeps trying
/// in the background, and [`Broker::is_connected`] says so.
#[derive(Clone)]
pub struct Broker {
    client: async_nats::Client,
    jetstream: Context,
    settings: BrokerSettings,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("state", &self.client.connection_state())
            .finish()
    }
}

impl Broker {
    /// Starts connecting to NATS; returns at once. Fails only on a malformed URL.
    pub async fn connect(settings: BrokerSettings) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name("order-service")
            .connection_timeout(Duration::from_secs(2))
            .request_timeout(Some(settings.ack_timeout))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connect(settings.url.as_str())
            .await
            .map_err(|e| anyhow::anyhow!("NATS at {}: {e}", settings.url))?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(settings.ack_timeout);
        Ok(Self {
            client,
            jetstream,
            settings,
        })
    }

    /// True while the client holds a connection to a NATS server.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// The subjects' prefix events are published under.
    pub fn subject_prefix(&self) -> &str {
        &self.settings.subject_prefix
    }

    /// Creates the orders stream with the agreed configuration if it is missing; an existing
    /// one is left as it is (an operator may have tuned its limits).
    pub async fn ensure_stream(&self) -> Result<(), BrokerError> {
        let s = &self.settings;
        match self.jetstream.get_stream(&s.stream).await {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(e.kind(), GetStreamErrorKind::JetStream(js)
                if js.error_code() == ErrorCode::STREAM_NOT_FOUND) =>
            {
                let config = orders_stream_config(&s.stream, &s.subject_prefix, s.replicas);
                match self.jetstream.create_stream(config).await {
                    Ok(_) => {
                        tracing::info!(stream = %s.stream, "orders stream created");
                        Ok(())
                    }
                    // notification-service (or another replica) created it meanwhile.
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

    /// Sends `message` to the orders stream and returns the future of JetStream's
    /// acknowledgement. Messages sent one after another on this connection are stored in that
    /// order.
    pub async fn send(&self, message: &EventMessage) -> Result<PublishAckFuture, BrokerError> {
        let mut publish = PublishMessage::build()
            .payload(message.payload.clone())
            .expected_stream(&self.settings.stream);
        for (name, value) in &message.headers {
            publish = publish.header(*name, value.as_str());
        }
        self.jetstream
            .send_publish(message.subject.clone(), publish)
            .await
            .map_err(unavailable)
    }
}

/// Waits for one publish acknowledgement; a duplicate (already stored) counts as success.
pub async fn acknowledged(ack: PublishAckFuture) -> Result<(), BrokerError> {
    match ack.await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == PublishErrorKind::StreamNotFound => {
            Err(BrokerError::Refused(e.to_string()))
        }
        Err(e) => Err(unavailable(e)),
    }
}
