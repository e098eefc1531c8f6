//! The order saga: placing and cancelling orders durably, with compensation.
//!
//! Placing an order, all inside one deadline (`APP_REQUEST_DEADLINE_MS`):
//! 1. **Begin**: record the order as `pending`, with its deadline, before anything else (and,
//!    in the same statement, claim the client's idempotency key).
//! 2. Fetch the user from user-service.
//! 3. Reserve the stock at product-service under the order's id (idempotent, so retried on
//!    transient failures); the answer names the product and the price the stock was taken at.
//! 4. **Confirm**: store the snapshots and mark the order `confirmed`, only if it is still
//!    pending and its deadline has not passed (checked by the database in the same statement).
//!
//! Any refusal or fault marks the order `rejected` with its reason; when the reservation may
//! exist its release is due, tried at once in the background and then by the recovery worker
//! (`workers::recovery`) with backoff until it succeeds. A request cut short at any point (a
//! crash, a client that went away) leaves a pending order that the recovery worker rejects
//! once its deadline has passed. So a client answered 503 can rely on it: nothing was placed,
//! and any stock taken is given back; an order is never confirmed after its deadline.
//!
//! Cancelling marks the order `cancelling` (the release is then due), releases the stock and
//! marks it `cancelled`; if the release cannot be done within the deadline, the recovery worker
//! finishes it and the client is told so (202).

use std::time::{Duration, SystemTime};

use chrono::{DateTime, TimeDelta, Utc};
use http_plumbing::batch::Withdrawn;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{Jitter, RetryDecision, RetryPolicy};
use telemetry::CorrelationId;
use tokio::time::Instant;
use uuid::Uuid;

use crate::clients::resilience::NotSent;
use crate::clients::{CallError, ProductClient, ProductClientError, UserClient, UserClientError};
use crate::domain::{IdempotencyKey, OrderRequest, OrderStatus, RejectionReason, total_cents};
use crate::store::orders::{
    self as store, Begin, Begun, Confirmation, KeyHolder, PlacedOrder, Rejection,
};
use crate::store::{OrderStore, StoreError};

/// How long a rejection may still take to be written after the deadline has passed; past it
/// the client is answered anyway and the recovery worker rejects the order.
const REJECT_GRACE: Duration = Duration::from_millis(50);

/// Why an order was not placed, in words the client is given. The message of a refusal is
/// stored with the rejected order, so that a repeat with the same idempotency key answers it
/// again word for word.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// user-service has no such user.
    #[error("user {0} does not exist")]
    UnknownUser(i64),
    /// product-service has no such product.
    #[error("product {0} does not exist")]
    UnknownProduct(i64),
    /// Not enough stock; the message is product-service's.
    #[error("{0}")]
    InsufficientStock(String),
    /// user-service failed, was too slow, or its breaker is open.
    #[error("user-service is unavailable; no order was placed. Try again shortly")]
    UserServiceUnavailable(#[source] CallError),
    /// product-service failed, was too slow, or its breaker is open.
    #[error(
        "product-service is unavailable; no order was placed and any stock taken is being given back. Try again shortly"
    )]
    ProductServiceUnavailable(#[source] CallError),
    /// The deadline passed before the order could be confirmed.
    #[error(
        "the order could not be completed in time; no order was placed and any stock taken is being given back. Try again shortly"
    )]
    TimedOut,
    /// This service's database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault of this service's own; the cause is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// The idempotency key was used for a different request.
    #[error(
        "this Idempotency-Key was already used for a different request; use a new key for a new request"
    )]
    KeyReused,
    /// The request with this idempotency key is still being processed.
    #[error("a request with this Idempotency-Key is still being processed; try again shortly")]
    KeyInFlight,
    /// A repeat of a request that was refused: the same refusal, as stored.
    #[error("{message}")]
    Replayed {
        /// The stored reason.
        reason: RejectionReason,
        /// The stored message.
        message: String,
    },
}

impl PlaceError {
    /// The reason an order is rejected with for this error (and so its answer's code).
    pub fn rejection_reason(&self) -> RejectionReason {
        match self {
            Self::UnknownUser(_) => RejectionReason::UnknownUser,
            Self::UnknownProduct(_) => RejectionReason::UnknownProduct,
            Self::InsufficientStock(_) => RejectionReason::InsufficientStock,
            Self::UserServiceUnavailable(_) => RejectionReason::UserServiceUnavailable,
            Self::ProductServiceUnavailable(_) => RejectionReason::ProductServiceUnavailable,
            Self::TimedOut => RejectionReason::DeadlineExceeded,
            Self::Store(StoreError::Query(_)) => RejectionReason::Internal,
            Self::Store(_) => RejectionReason::DatabaseUnavailable,
            Self::Internal(_) | Self::KeyReused | Self::KeyInFlight => RejectionReason::Internal,
            Self::Replayed { reason, .. } => *reason,
        }
    }
}

/// A placed order, as `POST /orders` answers it.
#[derive(Debug)]
pub enum Placed {
    /// Placed by this request.
    New(PlacedOrder),
    /// Placed earlier by a request with the same idempotency key; as it was when confirmed.
    Replayed(PlacedOrder),
}

/// What cancelling did.
#[derive(Debug)]
pub enum Cancelled {
    /// The order is cancelled (now or earlier) and its stock released.
    Done(PlacedOrder),
    /// The cancel is recorded but the stock could not be released in time: the recovery
    /// worker finishes it.
    Accepted(PlacedOrder),
}

/// Why an order could not be cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// No placed order has this id.
    #[error("order {0} does not exist")]
    NotFound(Uuid),
    /// This service's database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The saga's settings.
#[derive(Debug, Clone, Copy)]
pub struct SagaSettings {
    /// Placing or cancelling an order answers within this.
    pub deadline: Duration,
}

/// One worker's saga: its store and the clients of the services an order needs.
#[derive(Debug)]
pub struct Saga {
    /// The orders database.
    pub store: actix_web::web::Data<OrderStore>,
    /// user-service.
    pub users: UserClient,
    /// product-service.
    pub products: ProductClient,
    /// Settings.
    pub settings: SagaSettings,
}

impl Saga {
    /// Places an order (see the module documentation).
    pub async fn place(
        &self,
        request: OrderRequest,
        key: Option<IdempotencyKey>,
        correlation_id: &CorrelationId,
    ) -> Result<Placed, PlaceError> {
        // With a breaker open the order cannot succeed: refuse it before writing anything.
        // A request with a key is let through to the key first, so that a repeat is answered.
        if key.is_none()
            && let Some(refused) = self.open_breaker()
        {
            return Err(refused);
        }
        let deadline = Instant::now() + self.settings.deadline;
        let begin = Begin {
            id: Uuid::new_v4(),
            request,
            deadline: Utc::now()
                + TimeDelta::from_std(self.settings.deadline).unwrap_or(TimeDelta::MAX),
            key,
        };
        if let Some(replayed) = self.begin(&begin, deadline).await? {
            return Ok(replayed);
        }
        let id = begin.id;
        if let Some(refused) = self.open_breaker() {
            return self.reject(id, refused, false, deadline).await;
        }

        let user = match self
            .users
            .fetch_user(request.user_id.get(), correlation_id, deadline)
            .await
        {
            Ok(user) => user,
            Err(UserClientError::NotFound(user)) => {
                return self
                    .reject(id, PlaceError::UnknownUser(user), false, deadline)
                    .await;
            }
            Err(UserClientError::Call(e)) => {
                let error = PlaceError::UserServiceUnavailable(e);
                return self.reject(id, error, false, deadline).await;
            }
        };

        let product_id = request.product_id.get();
        let reserved = self
            .products
            .reserve(
                id,
                product_id,
                request.quantity.get(),
                correlation_id,
                deadline,
            )
            .await;
        let reservation = match reserved {
            Ok(reservation) => reservation,
            Err(ProductClientError::ProductNotFound(product)) => {
                let error = PlaceError::UnknownProduct(product);
                return self.reject(id, error, false, deadline).await;
            }
            Err(ProductClientError::InsufficientStock(message)) => {
                let error = PlaceError::InsufficientStock(message);
                return self.reject(id, error, false, deadline).await;
            }
            Err(
                e @ (ProductClientError::ReservationConflict(_)
                | ProductClientError::ReservationReleased(_)
                | ProductClientError::ReservationNotFound(_)),
            ) => {
                // A fresh id refused as taken or released: nothing is held under it.
                let error =
                    PlaceError::Internal(format!("product-service refused the order's id: {e}"));
                return self.reject(id, error, false, deadline).await;
            }
            Err(ProductClientError::Call(e)) => {
                // The reservation may have been made before the failure: release it to be safe.
                let release = e.maybe_acted();
                let error = PlaceError::ProductServiceUnavailable(e);
                return self.reject(id, error, release, deadline).await;
            }
        };

        // The price is the one the stock was reserved at, read by product-service in the same
        // statement that took the stock.
        let Some(total) = total_cents(reservation.unit_price_cents, request.quantity) else {
            let error = PlaceError::Internal(format!(
                "price {} of product {product_id} gives no valid total",
                reservation.unit_price_cents
            ));
            return self.reject(id, error, true, deadline).await;
        };
        let confirmation = Confirmation {
            id,
            user_name: user.name,
            user_email: user.email,
            product_name: reservation.product_name,
            unit_price_cents: reservation.unit_price_cents,
            total_cents: total,
            correlation_id: Some(correlation_id.as_str().to_owned()),
        };
        match self.store.confirm(confirmation, deadline).await {
            Ok(Ok(Some(order))) => Ok(Placed::New(order)),
            // Too late: the deadline passed before the statement was sent, or (by the
            // database's clock) before it ran.
            Err(Withdrawn) | Ok(Ok(None)) => {
                self.reject(id, PlaceError::TimedOut, true, deadline).await
            }
            Ok(Err(e)) => self.reject(id, PlaceError::Store(e), true, deadline).await,
        }
    }

    /// The refusal to answer with while the breaker of a service the order needs is open.
    fn open_breaker(&self) -> Option<PlaceError> {
        let users = self.users.downstream();
        if users.open_for().is_some() {
            let e = crate::clients::not_sent(users, NotSent::BreakerOpen);
            return Some(PlaceError::UserServiceUnavailable(e));
        }
        let products = self.products.downstream();
        if products.open_for().is_some() {
            let e = crate::clients::not_sent(products, NotSent::BreakerOpen);
            return Some(PlaceError::ProductServiceUnavailable(e));
        }
        None
    }

    /// Records the pending order and claims its key. `Some` when the key already answers this
    /// request (a replay); `None` when the saga has begun.
    async fn begin(&self, begin: &Begin, deadline: Instant) -> Result<Option<Placed>, PlaceError> {
        // Each round either begins the saga, answers from the key, or finds that a concurrent
        // request took the key over first; then the next round sees that request's saga.
        for _ in 0..3 {
            let holder = match self.store.begin(begin.clone(), deadline).await {
                Err(Withdrawn) => return Err(PlaceError::TimedOut),
                Ok(Err(e)) => return Err(e.into()),
                Ok(Ok(Begun::Started)) => return Ok(None),
                Ok(Ok(Begun::KeyTaken(holder))) => holder,
            };
            let from = holder.saga.id;
            if let Some(answer) = answer_from_key(*holder, &begin.request)? {
                return Ok(Some(answer));
            }
            if self.store.take_over_key(from, begin).await? {
                return Ok(None);
            }
        }
        Err(PlaceError::KeyInFlight)
    }

    /// Rejects the pending order `id` with `error`'s reason and message, schedules its release
    /// if `release` (and tries it at once, in the background), and returns `error` to answer
    /// the client with.
    ///
    /// Should the order turn out to be confirmed after all (a confirmation whose commit was
    /// acknowledged after its connection failed), it is answered as placed.
    async fn reject(
        &self,
        id: Uuid,
        error: PlaceError,
        release: bool,
        deadline: Instant,
    ) -> Result<Placed, PlaceError> {
        let rejection = Rejection {
            id,
            reason: error.rejection_reason(),
            message: error.to_string(),
            release_due: release,
        };
        let limit = deadline.max(Instant::now()) + REJECT_GRACE;
        match tokio::time::timeout_at(limit, self.store.reject(rejection)).await {
            Ok(Ok(true)) => {
                if release {
                    self.release_in_background(id);
                }
            }
            Ok(Ok(false)) => {
                if let Ok(Some(saga)) = self.store.fetch_saga(id).await
                    && saga.status.is_placed()
                {
                    return Ok(Placed::New(PlacedOrder::try_from(saga)?));
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(order_id = %id, error = %e, "could not reject the order; the recovery worker will");
            }
            Err(_) => {
                tracing::warn!(order_id = %id, "rejecting the order took too long; the recovery worker will");
            }
        }
        Err(error)
    }

    /// Tries a due release at once, beside the request; on failure it is left to the
    /// recovery worker, with backoff.
    fn release_in_background(&self, id: Uuid) {
        let products = self.products.clone();
        let store = self.store.clone();
        let deadline = self.settings.deadline;
        tokio::task::spawn_local(async move {
            let correlation_id = CorrelationId::new_random();
            let outcome = release(
                &products,
                store.db(),
                id,
                &correlation_id,
                Instant::now() + deadline,
            )
            .await;
            if let Err(e) = outcome {
                tracing::info!(order_id = %id, error = %e, "release deferred to the recovery worker");
                if let Err(e) =
                    store::postpone_release(store.db(), id, next_release_attempt(1)).await
                {
                    tracing::warn!(order_id = %id, error = %e, "could not postpone the release");
                }
            }
        });
    }

    /// Cancels an order (see the module documentation).
    pub async fn cancel(
        &self,
        id: Uuid,
        correlation_id: &CorrelationId,
    ) -> Result<Cancelled, CancelError> {
        let deadline = Instant::now() + self.settings.deadline;
        let order = match self.store.begin_cancel(id).await? {
            Some(order) => order,
            None => match self.store.fetch_order(id).await? {
                None => return Err(CancelError::NotFound(id)),
                Some(order) if order.status == OrderStatus::Cancelled => {
                    return Ok(Cancelled::Done(order));
                }
                // Cancelling already (a concurrent or an earlier cancel): release again.
                Some(order) => order,
            },
        };
        match release(
            &self.products,
            self.store.db(),
            id,
            correlation_id,
            deadline,
        )
        .await
        {
            Ok(Some(order)) => Ok(Cancelled::Done(order)),
            // A concurrent cancel recorded the release first.
            Ok(None) => Ok(Cancelled::Done(
                self.store
                    .fetch_order(id)
                    .await?
                    .ok_or(CancelError::NotFound(id))?,
            )),
            Err(e) => {
                tracing::info!(order_id = %id, error = %e, "release deferred to the recovery worker");
                store::postpone_release(self.store.db(), id, next_release_attempt(1)).await?;
                Ok(Cancelled::Accepted(order))
            }
        }
    }
}

/// Decides what an idempotency key that is already taken means for `request`: an answer
/// (`Some`), or `None` when the key may be taken over by a new saga.
fn answer_from_key(
    holder: KeyHolder,
    request: &OrderRequest,
) -> Result<Option<Placed>, PlaceError> {
    if holder.expired {
        return Ok(None);
    }
    if holder.request != request.fingerprint() {
        return Err(PlaceError::KeyReused);
    }
    let saga = holder.saga;
    match saga.status {
        OrderStatus::Confirmed | OrderStatus::Cancelling | OrderStatus::Cancelled => Ok(Some(
            Placed::Replayed(PlacedOrder::try_from(saga)?.as_confirmed()),
        )),
        OrderStatus::Pending if holder.in_flight => Err(PlaceError::KeyInFlight),
        // Its request was cut short; it can no longer be confirmed.
        OrderStatus::Pending => Ok(None),
        OrderStatus::Rejected => match saga.rejection()? {
            Some(reason) if reason.is_final() => Err(PlaceError::Replayed {
                reason,
                message: saga.rejection_message.unwrap_or_default(),
            }),
            // A fault, not a refusal: the key's answer is not fixed.
            _ => Ok(None),
        },
    }
}

/// A failed release.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// product-service did not release it.
    #[error(transparent)]
    Product(#[from] ProductClientError),
    /// The release could not be recorded.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Releases the reservation of order `id` and records it; the saga as it now is, if placed.
///
/// An id product-service does not know counts as released: nothing is held under it, and the
/// release made the id void, so nothing ever will be.
pub async fn release(
    products: &ProductClient,
    db: &http_plumbing::db::Db,
    id: Uuid,
    correlation_id: &CorrelationId,
    deadline: Instant,
) -> Result<Option<PlacedOrder>, ReleaseError> {
    match products.release(id, correlation_id, deadline).await {
        Ok(_) | Err(ProductClientError::ReservationNotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let saga = store::record_release(db, id, Some(correlation_id.as_str())).await?;
    Ok(saga
        .filter(|s| s.status.is_placed())
        .map(PlacedOrder::try_from)
        .transpose()?)
}

/// When to try a release again after its `attempts`-th failure: exponential backoff from 1 s
/// to 60 s, with jitter.
pub fn next_release_attempt(attempts: u32) -> DateTime<Utc> {
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_secs(1), Duration::from_secs(60))
        .jitter(Jitter::Bounded)
        .build_with_max_retries(u32::MAX);
    let now = SystemTime::now();
    let at = match policy.should_retry(now, attempts.saturating_sub(1)) {
        RetryDecision::Retry { execute_after } => execute_after,
        RetryDecision::DoNotRetry => now + Duration::from_secs(60),
    };
    DateTime::<Utc>::from(at)
}
