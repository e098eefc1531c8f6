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
//! When a batch finds the database unavailable, the items queued behind it get the same 503 at
//! once rather than each waiting out the fault again.
//!
//! A batcher belongs to one actix worker (it is not `Send`): build one per worker in the
//! service's `configure` function.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use tokio::sync::oneshot;

use crate::db::{Db, StoreError};

/// The most items one batch serves.
pub const MAX_BATCH_ITEMS: usize = 64;

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

/// A submitted item and where its answer goes.
type Waiting<I, T> = (I, oneshot::Sender<Result<T, StoreError>>);

struct Shared<C, I, T> {
    running: Cell<bool>,
    queue: RefCell<VecDeque<Waiting<I, T>>>,
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
    pub async fn submit(&self, context: &C, item: I) -> Result<T, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.shared.queue.borrow_mut().push_back((item, answer));
        if !self.shared.running.replace(true) {
            let slot = RunningSlot(Rc::clone(&self.shared));
            tokio::task::spawn_local(drain(slot, context.clone()));
        }
        answered
            .await
            .unwrap_or_else(|_| Err(StoreError::unanswered()))
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

/// Serves queued items, a batch at a time, until the queue is empty.
async fn drain<C: Clone, I, T>(slot: RunningSlot<C, I, T>, context: C) {
    let shared = &slot.0;
    loop {
        let (items, answers): (Vec<I>, Vec<_>) = {
            let mut queue = shared.queue.borrow_mut();
            let n = queue.len().min(MAX_BATCH_ITEMS);
            queue.drain(..n).unzip()
        };
        if items.is_empty() {
            return;
        }
        let results = (shared.run)(context.clone(), items).await;
        let unavailable = results.iter().find_map(|r| match r {
            Err(e @ StoreError::Unavailable(_)) => Some(e.clone()),
            _ => None,
        });
        let mut results = results.into_iter();
        for answer in answers {
            // The submitter may have gone away (client disconnected): nothing to tell.
            let _ = answer.send(
                results
                    .next()
                    .unwrap_or_else(|| Err(StoreError::unanswered())),
            );
        }
        if let Some(e) = unavailable {
            // The database could not be reached. What queued meanwhile would only wait for the
            // same fault (up to the acquire timeout again): it gets the 503 now.
            for (_, answer) in shared.queue.borrow_mut().drain(..) {
                let _ = answer.send(Err(e.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Records each batch it is given and answers each item with its double.
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

    async fn local<F: Future>(f: F) -> F::Output {
        tokio::task::LocalSet::new().run_until(f).await
    }

    #[tokio::test]
    async fn a_lone_item_runs_at_once_in_a_batch_of_its_own() {
        local(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let batcher = doubling(Rc::clone(&log), Duration::ZERO);
            assert_eq!(batcher.submit(&(), 21).await.unwrap(), 42);
            assert_eq!(*log.borrow(), vec![vec![21]]);
        })
        .await;
    }

    #[tokio::test]
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

    #[tokio::test]
    async fn when_the_database_is_unavailable_the_queue_behind_the_batch_fails_fast() {
        local(async {
            let calls = Rc::new(Cell::new(0));
            let counted = Rc::clone(&calls);
            let batcher: Batcher<(), u32, u32> = Batcher::new(move |(), items: Vec<u32>| {
                counted.set(counted.get() + 1);
                async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let e = StoreError::from(sqlx::Error::PoolTimedOut);
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

    #[tokio::test]
    async fn when_a_batch_panics_its_items_and_the_queue_behind_it_get_errors() {
        local(async {
            let batcher: Batcher<(), u32, u32> = Batcher::new(|(), _items: Vec<u32>| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                panic!("a bug in the batch function");
            });
            let answers = tokio::time::timeout(Duration::from_secs(5), async {
                let (first, queued) = tokio::join!(batcher.submit(&(), 0), async {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    futures_util::future::join_all((1..4).map(|i| batcher.submit(&(), i))).await
                });
                std::iter::once(first).chain(queued).collect::<Vec<_>>()
            })
            .await
            .expect("items queued behind a panicked batch were left waiting");
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

    #[tokio::test]
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
