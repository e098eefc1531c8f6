//! All of order-service's SQL. Functions are named after the statement they run; handlers and
//! the saga go through [`OrderStore`], which owns the worker's database handle and batchers.

pub mod orders;
pub mod outbox;

use chrono::TimeDelta;
use http_plumbing::batch::{Batcher, Withdrawn};
use http_plumbing::db::Db;
use http_plumbing::pagination::Page;
use tokio::time::Instant;
use uuid::Uuid;

pub use http_plumbing::db::StoreError;

use crate::domain::IdempotencyKey;
use orders::{Begin, Begun, Confirmation, KeyHolder, PlacedOrder, Rejection, SagaRow};

/// How long the store keeps what it keeps, and how it schedules releases.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Idempotency keys are kept at least this long.
    pub idempotency_keys: TimeDelta,
    /// How long a request that scheduled a release has to do it before the recovery worker
    /// may take it over.
    pub release_lease: TimeDelta,
}

/// One worker's access to the orders database: what the handlers and the saga call.
///
/// Beginning, confirming and rejecting sagas are batched ([`http_plumbing::batch`]): that is
/// the store's business, invisible to its callers.
#[derive(Debug)]
pub struct OrderStore {
    db: Db,
    begins: Batcher<Db, Begin, Begun>,
    confirmations: Batcher<Db, Confirmation, Option<PlacedOrder>>,
    rejections: Batcher<Db, Rejection, bool>,
    retention: Retention,
}

impl OrderStore {
    /// The store of one worker, over its database handle.
    pub fn new(db: Db, retention: Retention) -> Self {
        let keys = retention.idempotency_keys;
        let lease = retention.release_lease;
        Self {
            db,
            begins: Batcher::new(move |db, begins| orders::begin_sagas(db, begins, keys)),
            confirmations: Batcher::new(orders::confirm_orders),
            rejections: Batcher::new(move |db, rejections| {
                orders::reject_orders(db, rejections, lease)
            }),
            retention,
        }
    }

    /// The database handle, for work the store has no method for (tests, provider states).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Records a pending saga (and claims its idempotency key), unless `deadline` passes
    /// before the statement is sent.
    pub async fn begin(
        &self,
        begin: Begin,
        deadline: Instant,
    ) -> Result<Result<Begun, StoreError>, Withdrawn> {
        self.begins.submit_until(&self.db, begin, deadline).await
    }

    /// What `key` names now.
    pub async fn key_holder(&self, key: &IdempotencyKey) -> Result<Option<KeyHolder>, StoreError> {
        orders::key_holder(&self.db, key, self.retention.idempotency_keys).await
    }

    /// Moves `begin`'s key from the saga `from` to the new pending saga `begin`.
    pub async fn take_over_key(&self, from: Uuid, begin: &Begin) -> Result<bool, StoreError> {
        orders::take_over_key(&self.db, from, begin).await
    }

    /// Confirms a pending saga whose deadline has not passed, unless `deadline` passes before
    /// the statement is sent; `None` if it could not be confirmed.
    pub async fn confirm(
        &self,
        confirmation: Confirmation,
        deadline: Instant,
    ) -> Result<Result<Option<PlacedOrder>, StoreError>, Withdrawn> {
        self.confirmations
            .submit_until(&self.db, confirmation, deadline)
            .await
    }

    /// Rejects a pending saga; false if it was not pending.
    pub async fn reject(&self, rejection: Rejection) -> Result<bool, StoreError> {
        self.rejections.submit(&self.db, rejection).await
    }

    /// A saga in any state.
    pub async fn fetch_saga(&self, id: Uuid) -> Result<Option<SagaRow>, StoreError> {
        orders::fetch_saga(&self.db, id).await
    }

    /// A placed order.
    pub async fn fetch_order(&self, id: Uuid) -> Result<Option<PlacedOrder>, StoreError> {
        orders::fetch_order(&self.db, id).await
    }

    /// A user's placed orders, newest first, and their count.
    pub async fn list_orders_of_user(
        &self,
        user_id: i64,
        page: Page,
    ) -> Result<(Vec<PlacedOrder>, i64), StoreError> {
        orders::list_orders_of_user(&self.db, user_id, page).await
    }

    /// Marks a confirmed order `cancelling`; `None` if it is not confirmed.
    pub async fn begin_cancel(&self, id: Uuid) -> Result<Option<PlacedOrder>, StoreError> {
        orders::begin_cancel(&self.db, id, self.retention.release_lease).await
    }

    /// The outbox's backlog.
    pub async fn outbox_backlog(&self) -> Result<outbox::Backlog, StoreError> {
        outbox::backlog(&self.db).await
    }

    /// Records a successful release (and, for a cancellation, its event); the saga as it now
    /// is.
    pub async fn record_release(
        &self,
        id: Uuid,
        correlation_id: Option<&str>,
    ) -> Result<Option<SagaRow>, StoreError> {
        orders::record_release(&self.db, id, correlation_id).await
    }
}
