//! The SMTP client: one email per call, over a small pool of SMTP connections (lettre).

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

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

/// Sends emails through the configured SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// Builds the transport from the `APP_SMTP_*` settings. Nothing is connected until the
    /// first email.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let tls = TlsMode::parse(&settings.smtp_tls).map_err(anyhow::Error::msg)?;
        let host = settings.smtp_host.as_str();
        let builder = match tls {
            TlsMode::Off => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            TlsMode::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
        };
        let mut builder = builder
            .port(settings.smtp_port)
            .timeout(Some(Duration::from_millis(settings.smtp_timeout_ms)))
            .pool_config(PoolConfig::new().max_size(4));
        match (
            settings.smtp_username.is_empty(),
            settings.smtp_password.is_empty(),
        ) {
            (true, true) => {}
            (false, false) => {
                builder = builder.credentials(Credentials::new(
                    settings.smtp_username.clone(),
                    settings.smtp_password.clone(),
                ));
            }
            _ => anyhow::bail!("set both APP_SMTP_USERNAME and APP_SMTP_PASSWORD, or neither"),
        }
        let from: Mailbox = settings
            .smtp_from
            .parse()
            .map_err(|e| anyhow::anyhow!("APP_SMTP_FROM {:?}: {e}", settings.smtp_from))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
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
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Rejected(e.to_string())),
            Err(e) => Err(MailError::Unavailable(e.to_string())),
        }
    }
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
