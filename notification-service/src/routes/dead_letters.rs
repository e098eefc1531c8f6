//! `/dead-letters`: the events the consumer gave up on, listed and replayed.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use http_plumbing::ErrorBody;
use http_plumbing::db::Db;
use http_plumbing::pagination::PageParams;
use serde::{Deserialize, Serialize};
use telemetry::CorrelationId;
use utoipa::ToSchema;

use crate::clients::{Broker, DeadLetter as StoredDeadLetter, Mailer};
use crate::errors::ApiError;
use crate::notifying::{Handled, Notifier, NotifyError};

/// An event in the dead-letter stream.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": 3, "subject": "orders.created",
    "reason": "not a CloudEvents order event: expected value at line 1 column 1",
    "event_id": null, "correlation_id": "3f2b6c1e-8d4a-4f7b-9a2e-5c1d0e9f8a7b",
    "deliveries": 1, "dead_lettered_at": "2026-11-26T12:00:02Z", "body": "{not json"}))]
pub struct DeadLetter {
    /// Its id: its sequence number in the dead-letter stream.
    pub id: u64,
    /// The subject the event was published to.
    pub subject: String,
    /// Why it was dead-lettered.
    pub reason: String,
    /// The message's `Nats-Msg-Id` (the event id), when it had one.
    pub event_id: Option<String>,
    /// The message's `X-Correlation-ID`, when it had one.
    pub correlation_id: Option<String>,
    /// How many times it had been delivered.
    pub deliveries: i64,
    /// When it was dead-lettered (RFC 3339, UTC).
    pub dead_lettered_at: DateTime<Utc>,
    /// The message body as text (invalid UTF-8 replaced).
    pub body: String,
}

impl From<StoredDeadLetter> for DeadLetter {
    fn from(letter: StoredDeadLetter) -> Self {
        Self {
            id: letter.id,
            subject: letter.subject,
            reason: letter.reason,
            event_id: letter.message_id,
            correlation_id: letter.correlation_id,
            deliveries: letter.deliveries,
            dead_lettered_at: letter.dead_lettered_at,
            body: String::from_utf8_lossy(&letter.payload).into_owned(),
        }
    }
}

/// One page of dead letters.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterPage {
    /// The dead letters on this page, oldest first.
    pub items: Vec<DeadLetter>,
    /// The page size used.
    pub limit: i64,
    /// How many were skipped.
    pub offset: i64,
    /// How many there are in all.
    pub total: i64,
}

/// What a replay did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": 3, "outcome": "sent"}))]
pub struct Replayed {
    /// The dead letter replayed; it has been removed from the dead-letter stream.
    pub id: u64,
    /// `sent` (the email went out now), `already_sent` (it had been sent before) or `ignored`
    /// (an event type this service does not act on).
    pub outcome: String,
}

/// List the dead-lettered events, oldest first.
#[utoipa::path(
    tag = "dead-letters",
    params(PageParams),
    responses(
        (status = 200, description = "A page of dead letters", body = DeadLetterPage),
        (status = 400, description = "limit or offset out of range", body = ErrorBody),
        (status = 503, description = "NATS unavailable", body = ErrorBody,
            example = json!({"code": "broker_unavailable", "message": "the message broker is unavailable; try again shortly"})),
    )
)]
#[get("/dead-letters")]
pub async fn list_dead_letters(
    broker: web::Data<Broker>,
    params: web::Query<PageParams>,
) -> Result<web::Json<DeadLetterPage>, ApiError> {
    let page = params.into_inner().parse().map_err(ApiError::BadRequest)?;
    let (letters, total) = broker
        .list_dead_letters(page.limit as usize, page.offset as usize)
        .await?;
    Ok(web::Json(DeadLetterPage {
        items: letters.into_iter().map(DeadLetter::from).collect(),
        limit: page.limit,
        offset: page.offset,
        total: i64::try_from(total).unwrap_or(i64::MAX),
    }))
}

/// Replay a dead letter: handle it again now, exactly as the consumer would.
///
/// An email already sent for the event is not sent again. On success the dead letter is
/// removed; on failure it stays, and the answer says why.
#[utoipa::path(
    tag = "dead-letters",
    params(("id" = u64, Path, description = "The dead letter's id", minimum = 1, example = 3)),
    responses(
        (status = 200, description = "Handled; the dead letter is removed", body = Replayed),
        (status = 400, description = "The id is not a positive integer", body = ErrorBody),
        (status = 404, description = "No such dead letter", body = ErrorBody,
            example = json!({"code": "dead_letter_not_found", "message": "dead letter 42 does not exist"})),
        (status = 409, description = "A cancellation whose order's confirmation has not been sent: replay that first", body = ErrorBody),
        (status = 422, description = "The event still cannot be handled (undecodable, or refused by the SMTP server)", body = ErrorBody),
        (status = 503, description = "NATS, the SMTP server or the database is unavailable", body = ErrorBody),
    )
)]
#[post("/dead-letters/{id}/replay")]
pub async fn replay_dead_letter(
    broker: web::Data<Broker>,
    mailer: web::Data<Mailer>,
    db: web::Data<Db>,
    id: web::Path<u64>,
    request_correlation: CorrelationId,
) -> Result<web::Json<Replayed>, ApiError> {
    let id = id.into_inner();
    if id == 0 {
        return Err(ApiError::BadRequest(
            "dead letter ids start at 1".to_owned(),
        ));
    }
    let letter = broker
        .dead_letter_by_id(id)
        .await?
        .ok_or(ApiError::DeadLetterNotFound(id))?;
    // The email carries the event's own correlation ID when it had one, so the event's path
    // stays joined up; the replay request's ID is on this request's log lines.
    let correlation_id = letter
        .correlation_id
        .clone()
        .unwrap_or_else(|| request_correlation.to_string());
    let notifier = Notifier::new(db.get_ref().clone(), mailer.get_ref().clone());
    let handled = notifier
        .handle(&letter.payload, &correlation_id)
        .await
        .map_err(|e| match e {
            NotifyError::Undecodable(_) | NotifyError::Refused(_) => {
                ApiError::StillPoison(e.to_string())
            }
            NotifyError::CreatedNotSentYet(_) => ApiError::CreatedNotSentYet(e.to_string()),
            NotifyError::MailUnavailable(cause) => {
                tracing::warn!(error = %cause, "replay: SMTP unavailable");
                ApiError::MailUnavailable
            }
            NotifyError::Store(e) => ApiError::Store(e),
        })?;
    broker.delete_dead_letter(id).await?;
    tracing::info!(
        dead_letter = id,
        outcome = handled.as_str(),
        "dead letter replayed"
    );
    Ok(web::Json(Replayed {
        id,
        outcome: match handled {
            Handled::Sent | Handled::AlreadySent | Handled::Ignored(_) => {
                handled.as_str().to_owned()
            }
        },
    }))
}
