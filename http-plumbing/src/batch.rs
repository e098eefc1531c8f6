//! Micro-batching: concurrent requests for the same statement share one database round trip.
//!
//! Under load, most of the cost of a short statement is not the work it does but what
//! surrounds it: a round trip between two processes, the executor starting up, a commit. A
//! [`Batcher`] collects the items that handlers on one worker submit while its batch is
//! running, and hands up to [`MAX_BATCH_ITEMS`] of them to one function that serves them all
//! with one statement (a `WHERE id = ANY($1)`, a multi-row `INSERT`, a function looping in the
//! database).
//!
//! No item waits for a timer. When no batch is running, a submitted item starts one at once
//! (alone, at low load); otherwise it joins the queue that the running batch drains when it
//! finishes. One batch at a time per batcher measured faster than two (bigger batches, fewer
//! statements: BENCHMARKS.md). Every item is served by a statement sent after the item was
//! submitted, so a batched read sees every write that was acknowledged before it.
//!
//! What the queue guarantees:
//! - An item whose requester has gone (the request was dropped: client disconnect, a deadline)
//!   before its batch starts is never run: no work is done for a request nobody waits for.
//! - The queue holds at most [`MAX_QUEUED_ITEMS`]; past that, [`StoreError::Overloaded`] (a 503)
//!   at once, so an overloaded database sheds load instead of growing a queue without bound.
//! - When a batch finds the database *unreachable* (a connection-level failure), the items
//!   queued behind it get the same 503 at once rather than each waiting out the fault again.
//!   Any other failure (one statement timing out, say) fails only the batch it happened in.
//! - A batch runs inside a span that is a child of the span of the request that started it and
//!   follows from the spans of every request it serves, so its log lines carry a correlation ID.
//!
//! A batcher belongs to one actix worker (it is not `Send`): build one per worker in the
//! service's `configure` function, inside the service's store.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{Instrument, Span};

use crate::db::{Db, StoreError};

/// The most items one batch serves.
pub const MAX_BATCH_ITEMS: usize = 64;

/// The most items that may wait in one batcher's queue; one more is refused with
/// [`StoreError::Overloaded`]. At 64 items a batch, this is 16 batches of work.
pub const MAX_QUEUED_ITEMS: usize = 1024;

/// What a batch function returns: one result per item, in the order of the items.
pub type BatchResults<T> = Vec<Result<T, StoreError>>;

type BatchFn<C, I, T> = dyn Fn(C, Vec<I>) -> Pin<Box<dyn Future<Output = BatchResults<T>>>>;

/// Answers a batch of lookups by id with one statement, `sql`, that takes the ids as an
/// array (`... WHERE id = ANY($1)`): each id in order gets its row, or `None` when no row has
/// that id; when the statement fails, every id gets its error.
pub async fn fetch_by_ids<R>(
    db: &Db,
    sql: &'static str,
    ids: &[i64],
    id_of: impl Fn(&R) -> i64,
) -> BatchResults<Option<R>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Clone + Send + Unpin,
{
    let rows = db
        .run(async |conn| sqlx::query_as::<_, R>(sql).bind(ids).fetch_all(conn).await)
        .await;
    match rows {
        Ok(rows) => {
            let by_id: HashMap<i64, R> = rows.into_iter().map(|r| (id_of(&r), r)).collect();
            ids.iter().map(|id| Ok(by_id.get(id).cloned())).collect()
        }
        Err(e) => {
            let e = StoreError::from(e);
            ids.iter().map(|_| Err(e.clone())).collect()
        }
    }
}

/// The deadline of [`Batcher::submit_until`] passed while the item was still queued: it was
/// withdrawn and will never run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the deadline passed before the statement was sent; nothing was done")]
pub struct Withdrawn;

/// Serves items of type `I` in batches with a function of a context `C` (a database handle)
/// and the items, answering each with a `T` or a [`StoreError`].
pub struct Batcher<C, I, T> {
    shared: Rc<Shared<C, I, T>>,
}

impl<C, I, T> std::fmt::Debug for Batcher<C, I, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("running", &self.shared.running.get())
            .field("queued", &self.shared.queue.borrow().len())
            .finish()
    }
}

/// A submitted item, where its answer goes, and the span of the request that submitted it.
struct Entry<I, T> {
    item: I,
    answer: oneshot::Sender<Result<T, StoreError>>,
    span: Span,
    /// Set when a batch takes the item: from then on its statement may run.
    taken: Rc<Cell<bool>>,
}

struct Shared<C, I, T> {
    running: Cell<bool>,
    queue: RefCell<VecDeque<Entry<I, T>>>,
    run: Box<BatchFn<C, I, T>>,
}

impl<C, I, T> Batcher<C, I, T>
where
    C: Clone + 'static,
    I: 'static,
    T: 'static,
{
    /// A batcher that serves its items with `run`, one batch at a time.
    ///
    /// `run` must answer every item, in order; an item it leaves unanswered gets a
    /// [`StoreError::Query`] (a 500). When one statement fails for the whole batch, `run`
    /// answers every item with a clone of that error.
    pub fn new<F, Fut>(run: F) -> Self
    where
        F: Fn(C, Vec<I>) -> Fut + 'static,
        Fut: Future<Output = BatchResults<T>> + 'static,
    {
        Self {
            shared: Rc::new(Shared {
                running: Cell::new(false),
                queue: RefCell::new(VecDeque::new()),
                run: Box::new(move |context, items| Box::pin(run(context, items))),
            }),
        }
    }

    /// Submits `item` and waits for its answer. Must be called on an actix worker (or inside a
    /// tokio `LocalSet`): batches run as local tasks, so an answer is not lost when the
    /// request that started a batch goes away.
    ///
    /// Dropping the returned future before the item's batch starts withdraws the item.
    pub async fn submit(&self, context: &C, item: I) -> Result<T, StoreError> {
        let (answered, _taken) = self.enqueue(context, item)?;
        answered
            .await
            .unwrap_or_else(|_| Err(StoreError::unanswered()))
    }

    /// Submits `item` and waits for its answer, withdrawing it if `deadline` passes while it
    /// is still queued.
    ///
    /// Once a batch has taken the item its statement may commit, so from then on the answer
    /// is awaited whatever the deadline: the caller never reports "not done" for work that
    /// was done. (Statements are bounded by the database's statement timeout.)
    pub async fn submit_until(
        &self,
        context: &C,
        item: I,
        deadline: Instant,
    ) -> Result<Result<T, StoreError>, Withdrawn> {
        let (mut answered, taken) = match self.enqueue(context, item) {
            Ok(queued) => queued,
            Err(e) => return Ok(Err(e)),
        };
        tokio::select! {
            answer = &mut answered => {
                return Ok(answer.unwrap_or_else(|_| Err(StoreError::unanswered())));
            }
            () = tokio::time::sleep_until(deadline) => {}
        }
        if !taken.get() {
            // Dropping the receiver closes the channel: the drain loop skips closed entries.
            return Err(Withdrawn);
        }
        Ok(answered
            .await
            .unwrap_or_else(|_| Err(StoreError::unanswered())))
    }

    /// Queues `item`, starting a batch if none is running.
    #[allow(clippy::type_complexity)]
    fn enqueue(
        &self,
        context: &C,
        item: I,
    ) -> Result<(oneshot::Receiver<Result<T, StoreError>>, Rc<Cell<bool>>), StoreError> {
        let (answer, answered) = oneshot::channel();
        let taken = Rc::new(Cell::new(false));
        {
            let mut queue = self.shared.queue.borrow_mut();
            if queue.len() >= MAX_QUEUED_ITEMS {
                return Err(StoreError::Overloaded);
            }
            queue.push_back(Entry {
                item,
                answer,
                span: Span::current(),
                taken: Rc::clone(&taken),
            });
        }
        if !self.shared.running.replace(true) {
            let slot = RunningSlot(Rc::clone(&self.shared));
            tokio::task::spawn_local(drain(slot, context.clone()));
        }
        Ok((answered, taken))
    }
}

/// The running batch loop; marks the batcher idle when the loop ends, even by a panic.
struct RunningSlot<C, I, T>(Rc<Shared<C, I, T>>);

impl<C, I, T> Drop for RunningSlot<C, I, T> {
    fn drop(&mut self) {
        self.0.running.set(false);
        // The loop ends normally only with the queue empty. After a panic, dropping what is
        // still queued answers each waiter with an error instead of leaving it to wait.
        if let Ok(mut queue) = self.0.queue.try_borrow_mut() {
            queue.clear();
        }
    }
}

/// Takes the next batch: up to [`MAX_BATCH_ITEMS`] entries whose requester still waits.
fn take_batch<I, T>(queue: &mut VecDeque<Entry<I, T>>) -> Vec<Entry<I, T>> {
    let mut batch = Vec::with_capacity(queue.len().min(MAX_BATCH_ITEMS));
    while batch.len() < MAX_BATCH_ITEMS {
        let Some(entry) = queue.pop_front() else {
            break;
        };
        if entry.answer.is_closed() {
            // Nobody waits for this answer any more: do not run its statement.
            continue;
        }
        entry.taken.set(true);
        batch.push(entry);
    }
    batch
}

/// Serves queued items, a batch at a time, until the queue is empty.
async fn drain<C: Clone, I, T>(slot: RunningSlot<C, I, T>, context: C) {
    let shared = &slot.0;
    loop {
        let batch = take_batch(&mut shared.queue.borrow_mut());
        let Some(first) = batch.first() else {
            return;
        };
        let span = tracing::debug_span!(parent: &first.span, "batch", items = batch.len());
        for entry in &batch[1..] {
            span.follows_from(&entry.span);
        }
        let (items, answers): (Vec<I>, Vec<_>) =
            batch.into_iter().map(|e| (e.item, e.answer)).unzip();
        let results = (shared.run)(context.clone(), items).instrument(span).await;
        let unreachable = results.iter().find_map(|r| match r {
            Err(e) if e.is_connection_failure() => Some(e.clone()),
            _ => None,
        });
        let mut results = results.into_iter();
        for answer in answers {
            // The submitter may have gone away meanwhile (client disconnected): nothing to tell.
            let _ = answer.send(
                results
                    .next()
                    .unwrap_or_else(|| Err(StoreError::unanswered())),
            );
        }
        if let Some(e) = unreachable {
            // The database could not be reached. What queued meanwhile would only wait for the
            // same fault (up to the acquire timeout again): it gets the 503 now.
            for entry in shared.queue.borrow_mut().drain(..) {
                let _ = entry.answer.send(Err(e.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Records each batch it is given and answers each item with its double, after `delay`.
    fn doubling(log: Rc<RefCell<Vec<Vec<u32>>>>, delay: Duration) -> Batcher<(), u32, u32> {
        Batcher::new(move |(), items: Vec<u32>| {
            let log = Rc::clone(&log);
            async move {
                log.borrow_mut().push(items.clone());
                tokio::time::sleep(delay).await;
                items.into_iter().map(|i| Ok(i * 2)).collect()
            }
        })
    }

    /// Runs `f` on a paused clock inside a `LocalSet`, failing instead of hanging.
    async fn local<F: Future>(f: F) -> F::Output {
        tokio::time::timeout(
            Duration::from_secs(60),
            tokio::task::LocalSet::new().run_until(f),
        )
        .await
        .expect("the test finished (on the paused clock) instead of hanging")
    }

    fn unreachable_error() -> StoreError {
        StoreError::from(sqlx::Error::PoolTimedOut)
    }

    fn statement_timeout_error() -> StoreError {
        StoreError::TimedOut(std::sync::Arc::new(sqlx::Error::Protocol(
            "canceling statement due to statement timeout".to_owned(),
        )))
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_item_runs_at_once_in_a_batch_of_its_own() {
        local(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let batcher = doubling(Rc::clone(&log), Duration::ZERO);
            assert_eq!(batcher.submit(&(), 21).await.unwrap(), 42);
            assert_eq!(*log.borrow(), vec![vec![21]]);
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn items_submitted_while_a_batch_runs_share_the_next_in_order_and_within_the_cap() {
        local(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let batcher = doubling(Rc::clone(&log), Duration::from_millis(20));
            let answers =
                futures_util::future::join_all((1..=150).map(|i| batcher.submit(&(), i))).await;
            let answers: Vec<u32> = answers.into_iter().map(Result::unwrap).collect();
            assert_eq!(answers, (1..=150).map(|i| i * 2).collect::<Vec<_>>());
            // Items submitted before the batch task first runs share its first batch, up to
            // the cap; the rest queue behind it and go together, in order, as it finishes.
            assert_eq!(
                *log.borrow(),
                vec![
                    (1..=64).collect::<Vec<_>>(),
                    (65..=128).collect(),
                    (129..=150).collect()
                ]
            );
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn when_the_database_is_unreachable_the_queue_behind_the_batch_fails_fast() {
        local(async {
            let calls = Rc::new(Cell::new(0));
            let counted = Rc::clone(&calls);
            let batcher: Batcher<(), u32, u32> = Batcher::new(move |(), items: Vec<u32>| {
                counted.set(counted.get() + 1);
                async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let e = unreachable_error();
                    items.iter().map(|_| Err(e.clone())).collect()
                }
            });
            // Item 0 starts a batch; items 1 to 5 arrive while it runs and queue behind it.
            let (first, queued) = tokio::join!(batcher.submit(&(), 0), async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                futures_util::future::join_all((1..6).map(|i| batcher.submit(&(), i))).await
            });
            let answers: Vec<_> = std::iter::once(first).chain(queued).collect();
            assert!(
                answers
                    .iter()
                    .all(|a| matches!(a, Err(StoreError::Unavailable(_)))),
                "{answers:?}"
            );
            // One batch ran; the five queued behind it were answered without one.
            assert_eq!(calls.get(), 1);
            // The next item is tried again.
            assert!(batcher.submit(&(), 7).await.is_err());
            assert_eq!(calls.get(), 2);
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_statement_timeout_fails_only_its_own_batch_not_the_queue_behind_it() {
        local(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let logged = Rc::clone(&log);
            let batcher: Batcher<(), u32, u32> = Batcher::new(move |(), items: Vec<u32>| {
                logged.borrow_mut().push(items.clone());
                async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if items == [0] {
                        let e = statement_timeout_error();
                        items.iter().map(|_| Err(e.clone())).collect()
                    } else {
                        items.into_iter().map(|i| Ok(i * 2)).collect()
                    }
                }
            });
            let (first, queued) = tokio::join!(batcher.submit(&(), 0), async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                futures_util::future::join_all((1..6).map(|i| batcher.submit(&(), i))).await
            });
            assert!(matches!(first, Err(StoreError::TimedOut(_))), "{first:?}");
            let queued: Vec<u32> = queued.into_iter().map(Result::unwrap).collect();
            assert_eq!(queued, vec![2, 4, 6, 8, 10]);
            assert_eq!(*log.borrow(), vec![vec![0], vec![1, 2, 3, 4, 5]]);
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_item_whose_requester_went_away_before_its_batch_started_is_never_run() {
        local(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let batcher = doubling(Rc::clone(&log), Duration::from_millis(100));
            let first = batcher.submit(&(), 1);
            let (answer, ()) = tokio::join!(first, async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                // Item 2 queues behind the running batch, and its requester gives up at once.
                let abandoned = batcher.submit(&(), 2);
                let _ = tokio::time::timeout(Duration::from_millis(1), abandoned).await;
                batcher.submit(&(), 3).await.unwrap();
            });
            assert_eq!(answer.unwrap(), 2);
            assert_eq!(*log.borrow(), vec![vec![1], vec![3]]);
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn submit_until_withdraws_a_queued_item_at_the_deadline_but_waits_for_a_running_one() {
        local(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let batcher = doubling(Rc::clone(&log), Duration::from_millis(100));
            let start = Instant::now();
            let running = batcher.submit_until(&(), 1, start + Duration::from_millis(50));
            let queued = async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                batcher
                    .submit_until(&(), 2, start + Duration::from_millis(50))
                    .await
            };
            let (running, queued) = tokio::join!(running, queued);
            // Item 1's statement was running when its deadline passed: its answer counts.
            assert_eq!(running.unwrap().unwrap(), 2);
            assert_eq!(start.elapsed(), Duration::from_millis(100));
            // Item 2 was still queued at its deadline: withdrawn, and never run.
            assert!(matches!(queued, Err(Withdrawn)), "{queued:?}");
            assert_eq!(*log.borrow(), vec![vec![1]]);
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_refuses_the_next_item_at_once() {
        local(async {
            let batcher = doubling(Rc::new(RefCell::new(Vec::new())), Duration::from_secs(1));
            let (first, (queued, refused)) = tokio::join!(batcher.submit(&(), 0), async {
                // Item 0's batch is running; the next MAX_QUEUED_ITEMS fill the queue behind it.
                tokio::time::sleep(Duration::from_millis(10)).await;
                let queued = futures_util::future::join_all(
                    (1..=MAX_QUEUED_ITEMS as u32).map(|i| batcher.submit(&(), i)),
                );
                let refused = async {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    batcher.submit(&(), 9999).await
                };
                tokio::join!(queued, refused)
            });
            assert!(
                matches!(refused, Err(StoreError::Overloaded)),
                "{refused:?}"
            );
            assert!(first.is_ok());
            assert!(queued.iter().all(Result::is_ok));
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn when_a_batch_panics_its_items_and_the_queue_behind_it_get_errors() {
        local(async {
            let batcher: Batcher<(), u32, u32> = Batcher::new(|(), _items: Vec<u32>| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                panic!("a bug in the batch function");
            });
            let (first, queued) = tokio::join!(batcher.submit(&(), 0), async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                futures_util::future::join_all((1..4).map(|i| batcher.submit(&(), i))).await
            });
            let answers: Vec<_> = std::iter::once(first).chain(queued).collect();
            assert!(
                answers
                    .iter()
                    .all(|a| matches!(a, Err(StoreError::Query(_)))),
                "{answers:?}"
            );
            assert!(!batcher.shared.running.get());
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_item_the_batch_function_leaves_unanswered_gets_an_error() {
        local(async {
            let batcher: Batcher<(), u32, u32> =
                Batcher::new(|(), _items: Vec<u32>| async { Vec::new() });
            let answer = batcher.submit(&(), 1).await;
            assert!(matches!(answer, Err(StoreError::Query(_))), "{answer:?}");
            // The batcher went idle again: the next item is served too.
            assert!(batcher.submit(&(), 2).await.is_err());
            assert!(!batcher.shared.running.get());
        })
        .await;
    }
}
