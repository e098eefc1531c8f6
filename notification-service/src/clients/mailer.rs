//! The SMTP client: one email per call, over a few kept-open SMTP connections (lettre).

use std::time::Duration;

use std::sync::Arc;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use crate::configuration::Settings;
use crate::domain::EmailContent;

/// How the connection to the SMTP server is secured (`APP_SMTP_TLS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain SMTP (a local catcher such as Mailpit, or a relay on a trusted network).
    Off,
    /// Plain connection upgraded with STARTTLS, which is required.
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl TlsMode {
    /// Parses `off`, `starttls` or `tls`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "off" | "none" => Ok(Self::Off),
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            other => Err(format!(
                "APP_SMTP_TLS must be off, starttls or tls, got {other:?}"
            )),
        }
    }
}

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The recipient address cannot be used; sending again will not help.
    #[error("the recipient address {0:?} is not valid")]
    InvalidRecipient(String),
    /// The server refused the message for good (a 5xx reply).
    #[error("the SMTP server refused the message: {0}")]
    Rejected(String),
    /// The server could not be reached, timed out or answered 4xx: worth trying again.
    #[error("the SMTP server is unavailable: {0}")]
    Unavailable(String),
}

impl MailError {
    /// True when another attempt cannot succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::InvalidRecipient(_) | Self::Rejected(_))
    }
}

/// The `X-Correlation-ID` header of outgoing mail, so a mail log can be joined with ours.
const CORRELATION_HEADER: HeaderName = HeaderName::new_from_ascii_str("X-Correlation-ID");

/// SMTP connections kept open between emails.
const IDLE_CONNECTIONS: usize = 4;

/// Where and how to reach the SMTP server.
#[derive(Clone)]
struct Server {
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<Credentials>,
    timeout: Duration,
}

/// Sends emails through the configured SMTP server.
///
/// It keeps its own few SMTP connections rather than lettre's pooled transport, to set
/// `TCP_NODELAY` on them: lettre writes a message and its final `.` in two writes, and with
/// Nagle's algorithm on, the `.` waits for the server's delayed ACK of the message (about 40 ms
/// on Linux). During that wait the `.` is already in the kernel's send buffer, so a process
/// that dies then still delivers the email, unrecorded: the wait would widen the one window in
/// which an email can be sent twice (README, "Exactly once?") and cap a connection at about 20
/// emails a second. Implicit TLS (`tls`) uses lettre's own connection, without `TCP_NODELAY`.
#[derive(Clone)]
pub struct Mailer {
    server: Server,
    hello: ClientId,
    from: Mailbox,
    idle: Arc<Mutex<Vec<AsyncSmtpConnection>>>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// Reads the `APP_SMTP_*` settings. Nothing is connected until the first email.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let tls = TlsMode::parse(&settings.smtp_tls).map_err(anyhow::Error::msg)?;
        let credentials = match (
            settings.smtp_username.is_empty(),
            settings.smtp_password.is_empty(),
        ) {
            (true, true) => None,
            (false, false) => Some(Credentials::new(
                settings.smtp_username.clone(),
                settings.smtp_password.clone(),
            )),
            _ => anyhow::bail!("set both APP_SMTP_USERNAME and APP_SMTP_PASSWORD, or neither"),
        };
        if tls != TlsMode::Off {
            // Fails early on a host name TLS cannot verify.
            TlsParameters::new(settings.smtp_host.clone())?;
        }
        let from: Mailbox = settings
            .smtp_from
            .parse()
            .map_err(|e| anyhow::anyhow!("APP_SMTP_FROM {:?}: {e}", settings.smtp_from))?;
        Ok(Self {
            server: Server {
                host: settings.smtp_host.clone(),
                port: settings.smtp_port,
                tls,
                credentials,
                timeout: Duration::from_millis(settings.smtp_timeout_ms),
            },
            hello: ClientId::default(),
            from,
            idle: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// The same mailer with connections of its own: each actix worker thread (a runtime of its
    /// own) gets one, so that a connection is only ever used on the runtime that opened it.
    pub fn with_own_connections(&self) -> Self {
        Self {
            idle: Arc::new(Mutex::new(Vec::new())),
            ..self.clone()
        }
    }

    /// Sends one email; returns once the server has accepted it (its reply to `DATA`).
    ///
    /// `message_id` becomes the `Message-ID` header: derived from the event id, it is the same
    /// on every attempt, so a copy that a crash made the service send twice is recognisable
    /// as the same message downstream.
    pub async fn send(
        &self,
        to_name: &str,
        to_email: &str,
        content: &EmailContent,
        message_id: &str,
        correlation_id: &str,
    ) -> Result<(), MailError> {
        let address = to_email
            .parse()
            .map_err(|_| MailError::InvalidRecipient(to_email.to_owned()))?;
        let to = Mailbox::new(Some(to_name.to_owned()), address);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(content.subject.clone())
            .message_id(Some(message_id.to_owned()))
            .raw_header(HeaderValue::new(
                CORRELATION_HEADER,
                correlation_id.to_owned(),
            ))
            .header(ContentType::TEXT_PLAIN)
            .body(content.text.clone())
            .map_err(|e| MailError::InvalidRecipient(e.to_string()))?;
        // Connecting, the commands and the message together: a stuck server costs at most this.
        let limit = self.server.timeout;
        match tokio::time::timeout(limit, self.transmit(&message)).await {
            Ok(result) => result,
            Err(_) => Err(MailError::Unavailable(format!(
                "no answer within {limit:?}"
            ))),
        }
    }

    async fn transmit(&self, message: &Message) -> Result<(), MailError> {
        let mut connection = self.connection().await?;
        match connection
            .send(message.envelope(), &message.formatted())
            .await
        {
            Ok(_) => {
                let mut idle = self.idle.lock().await;
                if idle.len() < IDLE_CONNECTIONS {
                    idle.push(connection);
                } else {
                    drop(idle);
                    connection.abort().await;
                }
                Ok(())
            }
            Err(e) => {
                connection.abort().await;
                Err(classify(e))
            }
        }
    }

    /// An idle connection that still answers `NOOP`, or a new one.
    async fn connection(&self) -> Result<AsyncSmtpConnection, MailError> {
        loop {
            let Some(mut connection) = self.idle.lock().await.pop() else {
                return self.connect().await;
            };
            if connection.test_connected().await {
                return Ok(connection);
            }
            connection.abort().await;
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, MailError> {
        let server = &self.server;
        let mut connection = match server.tls {
            TlsMode::Off | TlsMode::StartTls => {
                let stream = tokio::time::timeout(
                    server.timeout,
                    TcpStream::connect((server.host.as_str(), server.port)),
                )
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))
                .and_then(|connected| connected)
                .and_then(|stream| stream.set_nodelay(true).map(|()| stream))
                .map_err(|e| MailError::Unavailable(format!("connect: {e}")))?;
                let mut connection =
                    AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                        .await
                        .map_err(classify)?;
                if server.tls == TlsMode::StartTls {
                    if !connection.can_starttls() {
                        connection.abort().await;
                        return Err(MailError::Unavailable(
                            "the SMTP server does not offer STARTTLS, which APP_SMTP_TLS requires"
                                .to_owned(),
                        ));
                    }
                    connection
                        .starttls(tls_parameters(&server.host)?, &self.hello)
                        .await
                        .map_err(classify)?;
                }
                connection
            }
            TlsMode::Tls => AsyncSmtpConnection::connect_tokio1(
                (server.host.as_str(), server.port),
                Some(server.timeout),
                &self.hello,
                Some(tls_parameters(&server.host)?),
                None,
            )
            .await
            .map_err(classify)?,
        };
        if let Some(credentials) = &server.credentials
            && let Err(e) = connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
        {
            connection.abort().await;
            return Err(classify(e));
        }
        Ok(connection)
    }
}

/// A 5xx reply is the server's final word; everything else may pass.
fn classify(e: SmtpError) -> MailError {
    if e.is_permanent() {
        MailError::Rejected(e.to_string())
    } else {
        MailError::Unavailable(e.to_string())
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailError> {
    TlsParameters::new(host.to_owned()).map_err(|e| MailError::Unavailable(format!("TLS: {e}")))
}

#[cfg(test)]
mod tests {
    use super::TlsMode;

    #[test]
    fn tls_modes_parse() {
        assert_eq!(TlsMode::parse("off"), Ok(TlsMode::Off));
        assert_eq!(TlsMode::parse("STARTTLS"), Ok(TlsMode::StartTls));
        assert_eq!(TlsMode::parse("tls"), Ok(TlsMode::Tls));
        assert!(TlsMode::parse("ssl").is_err());
    }
}
