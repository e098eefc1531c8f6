//! Handling one event: decode it, and send its email exactly once (per event id).
//!
//! Used by the consumer worker for every message and by the replay route for a dead letter.
//! The flow returns its own error enum; callers decide what a failure means (retry later,
//! dead-letter, or an HTTP status).

use http_plumbing::db::Db;

use crate::clients::{MailError, Mailer};
use crate::domain::compose;
use crate::events::{DecodeError, EventKind, OrderEvent};
use crate::store::StoreError;
use crate::store::notifications::{NewNotification, Recorded, insert_notification_once};

/// What handling an event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Its email was sent now.
    Sent,
    /// Its email had been sent before (a redelivery or a duplicate): nothing was sent.
    AlreadySent,
    /// An event of a type this service does not act on: nothing to do.
    Ignored(String),
}

impl Handled {
    /// A short word for logs and API answers.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::AlreadySent => "already_sent",
            Self::Ignored(_) => "ignored",
        }
    }
}

/// Why an event was not handled.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The message is not an order event this service can read.
    #[error(transparent)]
    Undecodable(DecodeError),
    /// The SMTP server refused the email, or the recipient address is unusable.
    #[error(transparent)]
    Refused(MailError),
    /// The SMTP server could not be reached or asked to try again later.
    #[error(transparent)]
    MailUnavailable(MailError),
    /// A cancellation whose order's confirmation has not been sent yet.
    #[error("the order.created email of order {0} has not been sent yet")]
    CreatedNotSentYet(uuid::Uuid),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NotifyError {
    /// True when trying again cannot help: the event goes to the dead-letter stream at once.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Undecodable(_) | Self::Refused(_))
    }
}

/// The `Message-ID` of an event's email: the same on every attempt.
pub fn message_id(event_id: uuid::Uuid) -> String {
    format!("<{event_id}@notification-service>")
}

/// Sends emails for events, once each.
#[derive(Debug, Clone)]
pub struct Notifier {
    db: Db,
    mailer: Mailer,
}

impl Notifier {
    /// A notifier recording in `db` and sending through `mailer`.
    pub fn new(db: Db, mailer: Mailer) -> Self {
        Self { db, mailer }
    }

    /// Handles one message body carrying `correlation_id`.
    pub async fn handle(&self, body: &[u8], correlation_id: &str) -> Result<Handled, NotifyError> {
        let event = match OrderEvent::decode(body) {
            Ok(event) => event,
            Err(DecodeError::UnknownType(kind)) => return Ok(Handled::Ignored(kind)),
            Err(e) => return Err(NotifyError::Undecodable(e)),
        };
        tracing::Span::current().record("event_id", tracing::field::display(event.id));
        let content = compose(&event);
        let new = NewNotification {
            event_id: event.id,
            event_type: event.kind.as_str(),
            order_id: event.order_id,
            recipient: event.user_email.clone(),
            subject: content.subject.clone(),
            message_id: message_id(event.id),
            correlation_id: Some(correlation_id.to_owned()),
        };
        let requires_created = event.kind == EventKind::Cancelled;
        let recorded = insert_notification_once(&self.db, &new, requires_created, async || {
            self.mailer
                .send(
                    &event.user_name,
                    &event.user_email,
                    &content,
                    &new.message_id,
                    correlation_id,
                )
                .await
        })
        .await?;
        match recorded {
            Recorded::Sent => Ok(Handled::Sent),
            Recorded::AlreadySent => Ok(Handled::AlreadySent),
            Recorded::CreatedNotSentYet => Err(NotifyError::CreatedNotSentYet(event.order_id)),
            Recorded::SendFailed(e) if e.is_permanent() => Err(NotifyError::Refused(e)),
            Recorded::SendFailed(e) => Err(NotifyError::MailUnavailable(e)),
        }
    }
}
