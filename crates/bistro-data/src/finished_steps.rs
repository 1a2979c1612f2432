//! Finished checkout steps, deleted together.
//!
//! A placed order's step is done once its bookkeeping ran (cart, stock
//! hold, popularity, `PLACED`). Deleting it is one more write per checkout,
//! and on SQLite one more turn at its single writer lock. So the checkout
//! hands the step over here and answers; whoever finds no deletion running
//! starts one in a task of its own, which deletes everything handed over
//! meanwhile in one statement and repeats until nothing is left (a group
//! commit: no timer, and under load one statement serves many checkouts).
//!
//! Nothing is lost when the process dies first: the step stays committed,
//! and a retry with its key answers with its order, as it does while the
//! bookkeeping runs; recovery deletes it after its lease, repeating the
//! bookkeeping, as for a request that died just before its own delete.

use std::sync::{Arc, Mutex, PoisonError};

use bistro_sql::steps;
use sea_orm::DatabaseConnection;

/// Most steps one statement deletes.
const BATCH: usize = 256;

/// Steps handed over for deletion (see the module documentation).
#[derive(Debug)]
pub(crate) struct FinishedSteps {
    /// The uncounted pool: the deletion belongs to no request.
    db: DatabaseConnection,
    queue: Mutex<Queue>,
    /// Woken when a deletion run ends with nothing left.
    idle: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Queue {
    /// `(step id, lease owner)`: deleted only while still its holder's.
    waiting: Vec<(i64, String)>,
    /// Whether a deletion run is going on.
    running: bool,
}

impl FinishedSteps {
    pub(crate) fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            queue: Mutex::default(),
            idle: tokio::sync::Notify::new(),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands over step `id`, held by `owner`, for deletion.
    pub(crate) fn finish(self: &Arc<Self>, id: i64, owner: String) {
        let mut queue = self.queue();
        queue.waiting.push((id, owner));
        if queue.running {
            return;
        }
        queue.running = true;
        drop(queue);
        let this = Arc::clone(self);
        tokio::spawn(async move { this.run().await });
    }

    async fn run(&self) {
        loop {
            let batch: Vec<(i64, String)> = {
                let mut queue = self.queue();
                if queue.waiting.is_empty() {
                    queue.running = false;
                    self.idle.notify_waiters();
                    return;
                }
                let take = queue.waiting.len().min(BATCH);
                queue.waiting.drain(..take).collect()
            };
            if let Err(error) = steps::finish_many(&self.db, &batch).await {
                // Each stays committed: recovery deletes it after its lease.
                tracing::warn!(%error, steps = batch.len(), "deleting finished checkout steps failed");
            }
        }
    }

    /// Waits until every step handed over so far is deleted (or its
    /// deletion failed): for a server that stops, and for tests.
    pub(crate) async fn settled(&self) {
        loop {
            let mut idle = std::pin::pin!(self.idle.notified());
            idle.as_mut().enable();
            if !self.queue().running {
                return;
            }
            idle.await;
        }
    }
}
