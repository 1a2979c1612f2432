//! Request-scoped batching: each key loaded at most once per request, in as
//! few batches as the query's shape allows, whatever the timing.

use bistro_sql::KeyMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};

use tracing::Instrument as _;

use crate::Result;

/// A loader's name in traces: its type's, without the module path.
fn loader_name<L>() -> &'static str {
    let name = std::any::type_name::<L>();
    let name = name.split('<').next().unwrap_or(name);
    name.rsplit("::").next().unwrap_or(name)
}

/// Loads many keys at once: one statement or one key-value round trip per
/// call, whatever the number of keys.
///
/// Keys arrive de-duplicated and in no particular order: results are matched
/// to keys by the returned map, never by position. A key absent from the map
/// has no value. Errors are returned, never panicked (every waiter of the
/// batch receives the error).
pub trait Load<K>: Send + Sync + 'static {
    /// What one key loads to.
    type Value: Clone + Send + Sync + 'static;

    /// Loads `keys`.
    fn load(&self, keys: &[K]) -> impl Future<Output = Result<KeyMap<K, Self::Value>>> + Send;
}

type Flight<V> = Shared<BoxFuture<'static, Result<Option<V>>>>;
type BatchFuture<K, V> = Shared<BoxFuture<'static, Result<Arc<KeyMap<K, V>>>>>;

/// The batch still collecting keys: its key list and its (shared) load.
type OpenBatch<K, V> = (Arc<Mutex<Vec<K>>>, BatchFuture<K, V>);

struct BatchState<K, V> {
    /// How many times the request asked for a key, new or not: the open
    /// batch waits until a yield brings no ask at all (a repeated key means
    /// the request's resolvers are still walking, and new keys may follow).
    asks: u64,
    /// The loads of this request (in flight or done), by key.
    flights: KeyMap<K, Flight<V>>,
    /// The batch still collecting keys, if any.
    open: Option<OpenBatch<K, V>>,
}

/// A batching loader for one request.
///
/// A batch is closed by the request itself, not by a timer: the first
/// caller's batch yields until the request's resolvers stop adding keys
/// (they all run in the request's task, so one yield lets every sibling
/// field register its key), then calls [`Load::load`] once with every key.
/// A key asked for again while its batch is in flight joins that batch.
/// Counts are therefore exact on a busy machine, where a 1 ms timer would
/// split one level of a query into several batches.
///
/// Batches larger than `max_batch_size` are loaded in chunks of that size
/// (one statement each); a size of 1 loads every key on its own, the N+1
/// baseline the benchmarks compare against.
pub struct Batched<L: Load<K>, K: Send + Sync + Hash + Eq + Clone + 'static> {
    loader: Arc<L>,
    max_batch_size: usize,
    state: Arc<Mutex<BatchState<K, L::Value>>>,
}

/// Completes once the task that polls it has been scheduled again: one full
/// round of the request's resolvers.
///
/// `tokio::task::yield_now` is not enough here: the batch future is shared,
/// so within one poll of the request's task it may be polled once per
/// waiting field, and each poll would count as a yield. Here the wake that
/// tokio defers to the end of the task's poll sets a flag, and only then
/// does the future complete, however often it is polled meanwhile. Outside
/// a scheduler's own loop (a multi-thread runtime's `block_on`) tokio wakes
/// at once instead of deferring: the wait then lasts a poll, and batches may
/// split into more statements, never into wrong answers. The server runs
/// every request in a task, where the wait is exact.
async fn next_round() {
    struct Round {
        woken: std::sync::atomic::AtomicBool,
        waker: Mutex<Option<std::task::Waker>>,
    }
    impl std::task::Wake for Round {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.woken.store(true, std::sync::atomic::Ordering::Release);
            if let Some(waker) = lock(&self.waker).take() {
                waker.wake();
            }
        }
    }
    let round = Arc::new(Round {
        woken: std::sync::atomic::AtomicBool::new(false),
        waker: Mutex::new(None),
    });
    let mut deferred = Box::pin(tokio::task::yield_now());
    let mut registered = false;
    std::future::poll_fn(|cx| {
        *lock(&round.waker) = Some(cx.waker().clone());
        if round.woken.load(std::sync::atomic::Ordering::Acquire) {
            return std::task::Poll::Ready(());
        }
        if !registered {
            registered = true;
            // Its first poll asks tokio to wake `round` when this poll of
            // the task is over.
            let waker = std::task::Waker::from(round.clone());
            let _ = deferred
                .as_mut()
                .poll(&mut std::task::Context::from_waker(&waker));
        }
        std::task::Poll::Pending
    })
    .await;
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<L: Load<K>, K: Send + Sync + Hash + Eq + Clone + 'static> Batched<L, K> {
    /// A loader for one request.
    pub fn new(loader: L, max_batch_size: usize) -> Self {
        Self {
            loader: Arc::new(loader),
            max_batch_size: max_batch_size.max(1),
            state: Arc::new(Mutex::new(BatchState {
                asks: 0,
                flights: KeyMap::default(),
                open: None,
            })),
        }
    }

    /// Loads one key, batched with every other key the request asks for meanwhile.
    pub async fn load_one(&self, key: K) -> Result<Option<L::Value>> {
        let flight = {
            let mut state = lock(&self.state);
            state.asks += 1;
            if let Some(flight) = state.flights.get(&key) {
                flight.clone()
            } else {
                let (keys, batch) = match &state.open {
                    Some((keys, batch)) => (keys.clone(), batch.clone()),
                    None => {
                        let keys = Arc::new(Mutex::new(Vec::new()));
                        let batch = self.open_batch(keys.clone());
                        state.open = Some((keys.clone(), batch.clone()));
                        (keys, batch)
                    }
                };
                lock(&keys).push(key.clone());
                let wanted = key.clone();
                let flight = async move { batch.await.map(|values| values.get(&wanted).cloned()) }
                    .boxed()
                    .shared();
                state.flights.insert(key, flight.clone());
                flight
            }
        };
        flight.await
    }

    /// Loads several keys (one batch, shared with whatever else is asked meanwhile).
    pub async fn load_many(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<KeyMap<K, L::Value>> {
        // Keys new to the request join the open batch together and wait on
        // that batch once; keys already asked for wait on their own flight.
        let mut known: Vec<(K, Flight<L::Value>)> = Vec::new();
        let mut fresh: Vec<K> = Vec::new();
        let batch = {
            let mut state = lock(&self.state);
            let mut batch = None;
            for key in keys {
                state.asks += 1;
                if let Some(flight) = state.flights.get(&key) {
                    known.push((key, flight.clone()));
                    continue;
                }
                let (batch_keys, batch_future) = match &state.open {
                    Some((batch_keys, batch_future)) => (batch_keys.clone(), batch_future.clone()),
                    None => {
                        let batch_keys = Arc::new(Mutex::new(Vec::new()));
                        let batch_future = self.open_batch(batch_keys.clone());
                        state.open = Some((batch_keys.clone(), batch_future.clone()));
                        (batch_keys, batch_future)
                    }
                };
                lock(&batch_keys).push(key.clone());
                let wanted = key.clone();
                let from_batch = batch_future.clone();
                let flight =
                    async move { from_batch.await.map(|values| values.get(&wanted).cloned()) }
                        .boxed()
                        .shared();
                state.flights.insert(key.clone(), flight);
                fresh.push(key);
                batch = Some(batch_future);
            }
            batch
        };
        let mut out =
            KeyMap::with_capacity_and_hasher(known.len() + fresh.len(), Default::default());
        if let Some(batch) = batch {
            let values = batch.await?;
            for key in fresh {
                if let Some(value) = values.get(&key) {
                    out.insert(key, value.clone());
                }
            }
        }
        let values = futures_util::future::join_all(known.iter().map(|(_, f)| f.clone())).await;
        for ((key, _), value) in known.into_iter().zip(values) {
            if let Some(value) = value? {
                out.insert(key, value);
            }
        }
        Ok(out)
    }

    fn open_batch(&self, keys: Arc<Mutex<Vec<K>>>) -> BatchFuture<K, L::Value> {
        let loader = self.loader.clone();
        // Weak: the state holds this future (through `open` and the
        // flights), so a strong reference would make a cycle. A request that
        // is dropped mid-batch (its client went away, it timed out) must drop
        // the batch too, and with it any pooled connection the load holds.
        let state = Arc::downgrade(&self.state);
        let max = self.max_batch_size;
        async move {
            // Let the request's other resolvers add their keys: yield until
            // a yield brings no ask, new key or repeated.
            let asks = || state.upgrade().map_or(0, |state| lock(&state).asks);
            let mut seen = asks();
            loop {
                next_round().await;
                let now = asks();
                if now == seen {
                    break;
                }
                seen = now;
            }
            // Close the batch: later keys open the next one.
            if let Some(state) = state.upgrade() {
                lock(&state).open = None;
            }
            let batch = std::mem::take(&mut *lock(&keys));
            // The batch's span (a sampled request): which loader, how many
            // keys. Its statements and key-value commands are its children.
            let span = if bistro_kv::in_sampled_trace() {
                tracing::debug_span!(
                    "loader batch",
                    otel.name = loader_name::<L>(),
                    loader = loader_name::<L>(),
                    keys = batch.len(),
                )
            } else {
                tracing::Span::none()
            };
            async move {
                if batch.len() <= max {
                    return loader.load(&batch).await.map(Arc::new);
                }
                let mut all = KeyMap::with_capacity_and_hasher(batch.len(), Default::default());
                for chunk in batch.chunks(max) {
                    all.extend(loader.load(chunk).await?);
                }
                Ok(Arc::new(all))
            }
            .instrument(span)
            .await
        }
        .boxed()
        .shared()
    }

    /// Records values already read by another query, so loading them costs nothing.
    pub fn prime(&self, values: impl IntoIterator<Item = (K, L::Value)>) {
        let mut state = lock(&self.state);
        for (key, value) in values {
            state.flights.entry(key).or_insert_with(|| {
                futures_util::future::ready(Ok(Some(value)))
                    .boxed()
                    .shared()
            });
        }
    }

    /// Forgets what this request loaded (after a write that changes it).
    pub fn clear(&self) {
        lock(&self.state).flights.clear();
    }
}

/// Groups loader keys by their shared part, keeping the parent ids of each group.
pub(crate) fn group_by<K, S: Eq + Hash>(
    keys: &[K],
    split: impl Fn(&K) -> (S, i64),
) -> Vec<(S, Vec<i64>)> {
    let mut groups: KeyMap<S, Vec<i64>> = KeyMap::default();
    for key in keys {
        let (shared, id) = split(key);
        groups.entry(shared).or_default().push(id);
    }
    groups.into_iter().collect()
}

/// Groups rows by their parent id.
pub(crate) fn group_rows<T>(rows: Vec<T>, parent: impl Fn(&T) -> i64) -> KeyMap<i64, Vec<T>> {
    let mut groups: KeyMap<i64, Vec<T>> = KeyMap::default();
    for row in rows {
        groups.entry(parent(&row)).or_default().push(row);
    }
    groups
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Doubler {
        calls: Arc<AtomicUsize>,
    }

    impl Load<i64> for Doubler {
        type Value = i64;
        async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, i64>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(keys
                .iter()
                .filter(|k| **k >= 0)
                .map(|k| (*k, k * 2))
                .collect())
        }
    }

    #[tokio::test]
    async fn keys_asked_together_load_in_one_batch_and_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let loader = Batched::new(
            Doubler {
                calls: calls.clone(),
            },
            1000,
        );
        let (a, b, c) = tokio::join!(loader.load_one(1), loader.load_one(2), loader.load_one(-1));
        assert_eq!(
            (a.unwrap(), b.unwrap(), c.unwrap()),
            (Some(2), Some(4), None)
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(loader.load_one(2).await.unwrap(), Some(4));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a loaded key is not loaded again"
        );
    }

    /// Holds a "connection" until dropped; never finishes loading.
    struct Stuck {
        held: Arc<AtomicUsize>,
    }

    struct Held(Arc<AtomicUsize>);

    impl Drop for Held {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl Load<i64> for Stuck {
        type Value = i64;
        async fn load(&self, _keys: &[i64]) -> Result<KeyMap<i64, i64>> {
            self.held.fetch_add(1, Ordering::SeqCst);
            let _held = Held(self.held.clone());
            std::future::pending::<()>().await;
            Ok(KeyMap::default())
        }
    }

    #[tokio::test]
    async fn a_request_dropped_mid_batch_releases_what_the_load_holds() {
        let held = Arc::new(AtomicUsize::new(0));
        let loader = Batched::new(Stuck { held: held.clone() }, 1000);
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(50), loader.load_one(1)).await;
        assert!(waited.is_err(), "the load never finishes");
        assert_eq!(
            held.load(Ordering::SeqCst),
            1,
            "the load holds its resource"
        );
        // The request goes away: its loaders with it, and the load's resource.
        drop(loader);
        assert_eq!(
            held.load(Ordering::SeqCst),
            0,
            "nothing outlives the request"
        );
    }

    #[tokio::test]
    async fn repeated_keys_do_not_close_the_batch_early() {
        let calls = Arc::new(AtomicUsize::new(0));
        let loader = Arc::new(Batched::new(
            Doubler {
                calls: calls.clone(),
            },
            1000,
        ));
        // (yields before asking, key): new keys, then a round of repeated
        // keys only, then new keys again, as a list's resolvers polled in
        // slices (FuturesUnordered polls 32 at a time) ask for them.
        let asks = [(0, 1), (0, 2), (0, 1), (1, 1), (1, 2), (2, 3), (3, 4)];
        let futures = asks.iter().map(|(yields, key)| {
            let loader = loader.clone();
            async move {
                for _ in 0..*yields {
                    tokio::task::yield_now().await;
                }
                loader.load_one(*key).await
            }
        });
        let values = futures_util::future::join_all(futures).await;
        assert!(values.iter().all(|v| v.as_ref().is_ok_and(Option::is_some)));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one batch for every key");
    }

    #[tokio::test]
    async fn many_keys_wait_on_their_batch_once_and_known_keys_on_their_flight() {
        let calls = Arc::new(AtomicUsize::new(0));
        let loader = Batched::new(
            Doubler {
                calls: calls.clone(),
            },
            1000,
        );
        loader.prime([(1, 100)]);
        let (many, one) = tokio::join!(loader.load_many([1, 2, 3, 3, -4]), loader.load_one(2));
        let many = many.unwrap();
        assert_eq!(many.len(), 3, "{many:?}");
        assert_eq!((many[&1], many[&2], many[&3]), (100, 4, 6));
        assert_eq!(one.unwrap(), Some(4));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_batch_size_of_one_loads_every_key_on_its_own() {
        let calls = Arc::new(AtomicUsize::new(0));
        let loader = Batched::new(
            Doubler {
                calls: calls.clone(),
            },
            1,
        );
        let values = loader.load_many([1, 2, 3]).await.unwrap();
        assert_eq!(values.len(), 3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
