#![doc = include_str!("../README.md")]

mod breaker;
mod memory;
mod redis_backend;
pub mod typed;

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;

use memory::MemoryKv;
use redis_backend::RedisKv;

/// Errors of the key-value store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The store cannot be reached (refused, timed out, circuit open): degrade.
    #[error("key-value store unavailable: {0}")]
    Unavailable(String),
    /// The store answered with an error (wrong type, bad value, bad URL).
    #[error("key-value store error: {0}")]
    Store(String),
}

impl Error {
    /// Whether the store could not be reached at all.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    fn wrong_type() -> Self {
        Self::Store("WRONGTYPE Operation against a key holding the wrong kind of value".into())
    }
}

/// Result of key-value operations.
pub type Result<T> = std::result::Result<T, Error>;

/// Redis connection settings.
#[derive(Debug, Clone)]
pub struct KvConfig {
    /// Longest wait to open a connection.
    pub connect_timeout: Duration,
    /// Longest wait for one command's (or pipeline's) answer. A call waits
    /// at most `connect_timeout + response_timeout` in all.
    pub response_timeout: Duration,
    /// Failures in a row that open the circuit breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker fails calls without asking Redis.
    pub breaker_cooldown: Duration,
}

impl Default for KvConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(250),
            response_timeout: Duration::from_millis(250),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(1),
        }
    }
}

#[derive(Clone)]
enum Backend {
    Memory(Arc<MemoryKv>),
    Redis(Arc<RedisKv>),
}

/// What a counted handle has sent: round trips, and commands inside them.
///
/// A round trip is one command, one multi-key command, one pipeline or one
/// transaction. Commands count what the server executes: a pipeline of ten
/// `HGET`s is one round trip and ten commands, an `MGET` of ten keys one and
/// one, a script one and one (`MULTI`/`EXEC` framing is not counted).
#[derive(Debug, Default)]
pub struct KvCounter {
    round_trips: AtomicU64,
    commands: AtomicU64,
}

impl KvCounter {
    /// Round trips so far.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// Commands so far.
    pub fn commands(&self) -> u64 {
        self.commands.load(Ordering::Relaxed)
    }

    /// Both, and resets them to zero.
    pub fn take(&self) -> (u64, u64) {
        (
            self.round_trips.swap(0, Ordering::Relaxed),
            self.commands.swap(0, Ordering::Relaxed),
        )
    }
}

/// A handle on the key-value store. Cheap to clone; clones share the store.
#[derive(Clone)]
pub struct Kv {
    backend: Backend,
    prefix: Arc<str>,
    counter: Option<Arc<KvCounter>>,
}

impl fmt::Debug for Kv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kv")
            .field("backend", &self.backend_name())
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Dispatches one call to the backend, counting it as one round trip of
/// `$commands` commands. A Redis call the open breaker refuses makes no
/// round trip and counts 0.
///
/// Each call is a span (traces on): the command batch's method, its backend
/// and how many commands it carries, never its keys or values.
macro_rules! call {
    ($self:ident, $commands:expr, $method:ident($($arg:expr),*)) => {{
        let commands: usize = $commands;
        match &$self.backend {
            Backend::Memory(m) => {
                $self.count(commands);
                let _span = command_span!("memory", $method, commands).entered();
                m.$method($($arg),*)
            }
            Backend::Redis(r) => {
                let permit = r.breaker().admit()?;
                $self.count(commands);
                let span = command_span!("redis", $method, commands);
                let result = tracing::Instrument::instrument(r.$method($($arg),*), span).await;
                permit.finish(&result);
                result
            }
        }
    }};
}

/// Whether the work at hand belongs to a sampled trace: traces are on (one
/// callsite check when they are off) and the current span is sampled. The
/// spans below a request are made only then: a span entered at every poll
/// of a request's futures costs about a tenth of a page's instructions
/// (BENCHMARKS.md), which an unsampled request must not pay.
pub fn in_sampled_trace() -> bool {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    tracing::enabled!(target: "bistro_kv::trace", tracing::Level::DEBUG)
        && tracing::Span::current()
            .context()
            .span()
            .span_context()
            .is_sampled()
}

/// The span of one command batch, in a sampled trace (else none).
macro_rules! command_span {
    ($system:literal, $method:ident, $commands:expr) => {
        if !in_sampled_trace() {
            tracing::Span::none()
        } else {
            tracing::debug_span!(
                "kv",
                otel.name = concat!("kv ", stringify!($method)),
                otel.kind = "client",
                db.system.name = $system,
                db.operation.name = stringify!($method),
                db.operation.batch.size = $commands,
            )
        }
    };
}

/// When [`Kv::hgive`]-style additions happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GiveOnce<'a> {
    /// Every time.
    Always,
    /// Only if this field exists; it is deleted (a hold being released).
    IfHeld(&'a str),
    /// Only if this field does not exist yet (in an existing hash); it is set.
    Marker(&'a str),
}

impl Kv {
    /// A fresh, empty in-process store.
    pub fn memory() -> Self {
        Self::new(Backend::Memory(Arc::new(MemoryKv::default())))
    }

    /// A Redis-backed store. Does not wait for Redis: when it is down, this
    /// still succeeds, commands fail with [`Error::Unavailable`], and the
    /// connection comes back by itself when Redis does. Only a malformed
    /// URL is an error.
    pub async fn connect_redis(url: &str, config: &KvConfig) -> Result<Self> {
        Ok(Self::new(Backend::Redis(Arc::new(RedisKv::new(
            url, config,
        )?))))
    }

    fn new(backend: Backend) -> Self {
        Self {
            backend,
            prefix: Arc::from(""),
            counter: None,
        }
    }

    /// A handle whose keys and channels all start with `prefix` (appended to any existing prefix).
    pub fn with_prefix(&self, prefix: &str) -> Self {
        Self {
            prefix: Arc::from(format!("{}{prefix}", self.prefix)),
            ..self.clone()
        }
    }

    /// A handle that counts into `counter` every round trip to the store
    /// (one per command, multi-key command or pipeline; none for calls
    /// answered without one: empty inputs, an open breaker) and the commands
    /// inside them. Both backends count alike.
    pub fn counted(&self, counter: Arc<KvCounter>) -> Self {
        Self {
            counter: Some(counter),
            ..self.clone()
        }
    }

    /// `"memory"` or `"redis"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        }
    }

    /// This handle's key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn count(&self, commands: usize) {
        if let Some(counter) = &self.counter {
            counter.round_trips.fetch_add(1, Ordering::Relaxed);
            counter
                .commands
                .fetch_add(commands as u64, Ordering::Relaxed);
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn keys(&self, keys: &[String]) -> Vec<String> {
        keys.iter().map(|k| self.key(k)).collect()
    }

    /// Checks the store answers.
    pub async fn ping(&self) -> Result<()> {
        call!(self, 1, ping())
    }

    /// The string at `key`.
    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        call!(self, 1, get(&self.key(key)))
    }

    /// The strings at `keys`, in order (one `MGET`; none for no keys).
    pub async fn mget(&self, keys: &[String]) -> Result<Vec<Option<String>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        call!(self, 1, mget(&self.keys(keys)))
    }

    /// Sets `key` to `value`, expiring after `ttl` when given.
    pub async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<()> {
        call!(self, 1, set(&self.key(key), value, ttl))
    }

    /// Sets many keys in one pipeline (not atomically), each with the same expiry.
    pub async fn set_many(
        &self,
        entries: &[(String, String)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let entries: Vec<(String, String)> = entries
            .iter()
            .map(|(k, v)| (self.key(k), v.clone()))
            .collect();
        call!(self, entries.len(), set_many(&entries, ttl))
    }

    /// Sets `key` only if it does not exist; `true` when this call set it.
    pub async fn set_nx(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<bool> {
        call!(self, 1, set_nx(&self.key(key), value, ttl))
    }

    /// Sets `key` to `new` only if it currently holds `expected` (atomically,
    /// across every client); `true` when it did. A missing key never matches.
    pub async fn compare_and_set(
        &self,
        key: &str,
        expected: &str,
        new: &str,
        ttl: Option<Duration>,
    ) -> Result<bool> {
        call!(self, 1, compare_and_set(&self.key(key), expected, new, ttl))
    }

    /// Deletes keys; returns how many existed (no round trip for no keys).
    pub async fn del(&self, keys: &[String]) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        call!(self, 1, del(&self.keys(keys)))
    }

    /// Sets a key's expiry; `false` when the key does not exist.
    pub async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        call!(self, 1, expire(&self.key(key), ttl))
    }

    /// Time left before `key` expires; `None` when missing or without expiry.
    pub async fn ttl(&self, key: &str) -> Result<Option<Duration>> {
        call!(self, 1, ttl(&self.key(key)))
    }

    /// Adds `delta` to the integer at `key` (0 when missing) and returns the
    /// result; a key created by this call gets `ttl_if_new` as its expiry
    /// (later calls leave the expiry as it is).
    pub async fn incr_by(
        &self,
        key: &str,
        delta: i64,
        ttl_if_new: Option<Duration>,
    ) -> Result<i64> {
        call!(
            self,
            1 + usize::from(ttl_if_new.is_some()),
            incr_by(&self.key(key), delta, ttl_if_new)
        )
    }

    /// [`Self::incr_by`] on many keys in one round trip (a transaction on
    /// Redis), returning each result in order.
    pub async fn incr_many(
        &self,
        keys: &[String],
        delta: i64,
        ttl_if_new: Option<Duration>,
    ) -> Result<Vec<i64>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        call!(
            self,
            keys.len() * (1 + usize::from(ttl_if_new.is_some())),
            incr_many(&self.keys(keys), delta, ttl_if_new)
        )
    }

    /// Adds `delta` to `member`'s score in the sorted set at `key`; refreshes
    /// the set's expiry to `ttl` when given. Returns the new score. The two
    /// steps are pipelined, so the expiry applies even if the increment
    /// fails (wrong kind, NaN result).
    pub async fn zincr_by(
        &self,
        key: &str,
        member: &str,
        delta: f64,
        ttl: Option<Duration>,
    ) -> Result<f64> {
        call!(
            self,
            1 + usize::from(ttl.is_some()),
            zincr_by(&self.key(key), member, delta, ttl)
        )
    }

    /// `member`'s score.
    pub async fn zscore(&self, key: &str, member: &str) -> Result<Option<f64>> {
        call!(self, 1, zscore(&self.key(key), member))
    }

    /// `member`'s 0-based rank, highest score first.
    pub async fn zrevrank(&self, key: &str, member: &str) -> Result<Option<u64>> {
        call!(self, 1, zrevrank(&self.key(key), member))
    }

    /// Members from rank `start` to `stop` inclusive, highest score first
    /// (ties: member descending); negative ranks count from the end.
    pub async fn zrevrange_with_scores(
        &self,
        key: &str,
        start: isize,
        stop: isize,
    ) -> Result<Vec<(String, f64)>> {
        call!(self, 1, zrevrange_with_scores(&self.key(key), start, stop))
    }

    /// [`Self::zrevrange_with_scores`] for many keys in one pipeline, in order.
    pub async fn zrevrange_with_scores_many(
        &self,
        keys: &[String],
        start: isize,
        stop: isize,
    ) -> Result<Vec<Vec<(String, f64)>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        call!(
            self,
            keys.len(),
            zrevrange_with_scores_many(&self.keys(keys), start, stop)
        )
    }

    /// Sets one field of the hash at `key`.
    pub async fn hset(&self, key: &str, field: &str, value: &str) -> Result<()> {
        call!(self, 1, hset(&self.key(key), field, value))
    }

    /// One field of the hash at `key`.
    pub async fn hget(&self, key: &str, field: &str) -> Result<Option<String>> {
        call!(self, 1, hget(&self.key(key), field))
    }

    /// Fields of one hash, in order (one `HMGET`; none for no fields).
    pub async fn hmget(&self, key: &str, fields: &[String]) -> Result<Vec<Option<String>>> {
        if fields.is_empty() {
            return Ok(Vec::new());
        }
        call!(self, 1, hmget(&self.key(key), fields))
    }

    /// Adds `delta` to `member` in the sorted set at `key` and, in the same
    /// atomic step, writes the set's whole ranking (highest first, ties by
    /// member descending) as `member:score,…` into `field` of the hash at
    /// `snapshot`; both keys get `ttl` when given. Readers then get many
    /// rankings with one `HMGET` instead of one `ZREVRANGE` each. On Redis
    /// Cluster the two keys must share a hash tag. One round trip, one command.
    pub async fn zincr_by_with_snapshot(
        &self,
        key: &str,
        member: &str,
        delta: f64,
        ttl: Option<Duration>,
        snapshot: &str,
        field: &str,
    ) -> Result<f64> {
        call!(
            self,
            1,
            zincr_by_with_snapshot(
                &self.key(key),
                member,
                delta,
                ttl,
                &self.key(snapshot),
                field
            )
        )
    }

    /// One field of each of many hashes, `(key, field)` pairs, in order (one pipeline).
    pub async fn hget_many(&self, fields: &[(String, String)]) -> Result<Vec<Option<String>>> {
        if fields.is_empty() {
            return Ok(Vec::new());
        }
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, f)| (self.key(k), f.clone()))
            .collect();
        call!(self, fields.len(), hget_many(&fields))
    }

    /// Sets `(key, field, value)` triples in one pipeline of one `HSET` per
    /// hash (with all its fields); each touched hash gets `ttl` as its expiry
    /// when given. Commands: one per distinct hash, twice that with `ttl`.
    pub async fn hset_many(
        &self,
        entries: &[(String, String, String)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let entries: Vec<(String, String, String)> = entries
            .iter()
            .map(|(k, f, v)| (self.key(k), f.clone(), v.clone()))
            .collect();
        call!(
            self,
            distinct_keys(entries.iter().map(|(k, _, _)| k.as_str()))
                * (1 + usize::from(ttl.is_some())),
            hset_many(&entries, ttl)
        )
    }

    /// Every field of the hash at `key`, sorted by field.
    pub async fn hgetall(&self, key: &str) -> Result<Vec<(String, String)>> {
        call!(self, 1, hgetall(&self.key(key)))
    }

    /// [`Self::hgetall`] of many hashes in one pipeline, in order.
    pub async fn hgetall_many(&self, keys: &[String]) -> Result<Vec<Vec<(String, String)>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        call!(self, keys.len(), hgetall_many(&self.keys(keys)))
    }

    /// Adds `delta` to an integer hash field; returns the result.
    pub async fn hincr_by(&self, key: &str, field: &str, delta: i64) -> Result<i64> {
        call!(self, 1, hincr_by(&self.key(key), field, delta))
    }

    /// Deletes `(key, field)` pairs of many hashes in one pipeline; returns how many existed.
    pub async fn hdel_many(&self, fields: &[(String, String)]) -> Result<u64> {
        if fields.is_empty() {
            return Ok(0);
        }
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, f)| (self.key(k), f.clone()))
            .collect();
        call!(self, fields.len(), hdel_many(&fields))
    }

    /// Deletes hash fields; returns how many existed.
    pub async fn hdel(&self, key: &str, fields: &[String]) -> Result<u64> {
        if fields.is_empty() {
            return Ok(0);
        }
        call!(self, 1, hdel(&self.key(key), fields))
    }

    /// Deletes `key` only if it holds `expected` (atomically, across every
    /// client); `true` when it did. The owner of a claim releases it this
    /// way without deleting a claim someone else made since.
    pub async fn delete_if(&self, key: &str, expected: &str) -> Result<bool> {
        call!(self, 1, delete_if(&self.key(key), expected))
    }

    /// Takes amounts from integer fields of the hash at `key`, all or
    /// nothing, in one atomic step: each `(field, amount, initial)` names a
    /// field (distinct), what to take from it, and the value it starts at
    /// when missing. When every field holds at least its amount, all are
    /// decreased and `Ok(Ok(new values))` is returned in order; otherwise
    /// nothing is taken and `Ok(Err(i))` is the index of the first field
    /// short. Missing fields are created at their initial value either way.
    /// A hash created by this call expires after `ttl_if_new`.
    ///
    /// With a `hold` field, the take is recorded in it (its value is
    /// `hold.1`) and happens once: when the field exists already, nothing is
    /// taken again and the fields' current values are returned, so a take
    /// whose answer was lost can be repeated; [`Kv::hrelease`] undoes it.
    pub async fn htake(
        &self,
        key: &str,
        takes: &[(String, i64, i64)],
        ttl_if_new: Option<Duration>,
        hold: Option<(&str, &str)>,
    ) -> Result<std::result::Result<Vec<i64>, usize>> {
        if takes.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        call!(self, 1, htake(&self.key(key), takes, ttl_if_new, hold))
    }

    /// Adds amounts back to integer fields of the hash at `key` that exist,
    /// in one atomic step; a field (or hash) that is gone meanwhile is left
    /// alone, since whoever recreates it starts from the truth. Returns each
    /// field's new value, `None` where it was missing.
    pub async fn hgive(&self, key: &str, gives: &[(String, i64)]) -> Result<Vec<Option<i64>>> {
        if gives.is_empty() {
            return Ok(Vec::new());
        }
        call!(self, 1, hgive(&self.key(key), gives, GiveOnce::Always))
    }

    /// Undoes a take recorded in the field `hold` ([`Kv::htake`]): if the
    /// field exists, it is deleted and `gives` are added back as
    /// [`Kv::hgive`] adds them, in one atomic step; if it does not (never
    /// taken, or released already), nothing changes and every value is `None`.
    pub async fn hrelease(
        &self,
        key: &str,
        hold: &str,
        gives: &[(String, i64)],
    ) -> Result<Vec<Option<i64>>> {
        if gives.is_empty() {
            return Ok(Vec::new());
        }
        call!(
            self,
            1,
            hgive(&self.key(key), gives, GiveOnce::IfHeld(hold))
        )
    }

    /// Adds `gives` back as [`Kv::hgive`] does, once per `marker`: the first
    /// call sets the field `marker` (in an existing hash) and gives; later
    /// calls with the same marker change nothing (every value `None`).
    pub async fn hgive_once(
        &self,
        key: &str,
        marker: &str,
        gives: &[(String, i64)],
    ) -> Result<Vec<Option<i64>>> {
        if gives.is_empty() {
            return Ok(Vec::new());
        }
        call!(
            self,
            1,
            hgive(&self.key(key), gives, GiveOnce::Marker(marker))
        )
    }

    /// Publishes `message` on `channel`; returns how many subscribers received it
    /// (across every process subscribed through Redis).
    pub async fn publish(&self, channel: &str, message: &str) -> Result<u64> {
        call!(self, 1, publish(&self.key(channel), message))
    }

    /// What is published on `channel` from now on, as [`Delivery`] items.
    ///
    /// Delivery is at most once: messages published while a Redis connection
    /// is being re-established are lost, and a subscriber that falls more
    /// than the in-process buffer behind skips what it missed. Either way the
    /// subscriber is told: a [`Delivery::Gap`] takes the place of what was
    /// lost, so it can re-read what it follows.
    ///
    /// Returns at once; on Redis the subscription takes effect when the
    /// store confirms it ([`Subscription::live`] waits for that).
    pub async fn subscribe(&self, channel: &str) -> Result<Subscription> {
        let channel = self.key(channel);
        match &self.backend {
            Backend::Memory(m) => Ok(m.subscribe(&channel)),
            Backend::Redis(r) => r.subscribe(&channel),
        }
    }

    /// Deletes every key under this handle's prefix (test cleanup); refuses an empty prefix.
    pub async fn purge_prefix(&self) -> Result<u64> {
        if self.prefix.is_empty() {
            return Err(Error::Store(
                "refusing to purge without a key prefix".into(),
            ));
        }
        match &self.backend {
            Backend::Memory(m) => m.purge_prefix(&self.prefix),
            Backend::Redis(r) => {
                let permit = r.breaker().admit()?;
                let result = r.purge_prefix(&self.prefix).await;
                permit.finish(&result);
                result
            }
        }
    }
}

/// What a [`Subscription`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A message published on the channel.
    Message(String),
    /// Messages may have been lost here: the pub/sub connection to Redis
    /// dropped and has just been re-established (whatever was published
    /// meanwhile is gone), or this subscriber fell more than the in-process
    /// buffer behind. Several gaps in a row are told once.
    Gap,
}

impl Delivery {
    /// The message, unless this is a gap.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Message(message) => Some(message),
            Self::Gap => None,
        }
    }
}

/// A stream of what is published on one channel. Dropping it unsubscribes
/// (the channel is released once its last subscriber in this process is gone).
pub struct Subscription {
    stream: tokio_stream::wrappers::BroadcastStream<Delivery>,
    /// Whether the last item yielded was a gap (gaps in a row are told once).
    after_gap: bool,
    /// The channel's confirmation, on Redis.
    confirmed: Option<(String, tokio::sync::watch::Receiver<Confirmed>)>,
    _guard: Box<dyn Send + Sync>,
}

impl Subscription {
    fn new(
        receiver: tokio::sync::broadcast::Receiver<Delivery>,
        confirmed: Option<(String, tokio::sync::watch::Receiver<Confirmed>)>,
        guard: Box<dyn Send + Sync>,
    ) -> Self {
        Self {
            stream: tokio_stream::wrappers::BroadcastStream::new(receiver),
            after_gap: false,
            confirmed,
            _guard: guard,
        }
    }

    /// Resolves once the store delivers this channel's messages: at once in
    /// process; on Redis when the server has confirmed the subscription,
    /// which waits for Redis to be reachable. The future owns what it needs,
    /// so the subscription can be read meanwhile.
    pub fn live(&self) -> impl Future<Output = ()> + Send + 'static {
        let confirmed = self.confirmed.clone();
        async move {
            let Some((channel, mut confirmed)) = confirmed else {
                return;
            };
            // An error means the supervisor is gone with the store: nothing to wait for.
            let _ = confirmed.wait_for(|c| c.contains(&channel)).await;
        }
    }
}

impl Stream for Subscription {
    type Item = Delivery;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        loop {
            let delivery = match Pin::new(&mut self.stream).poll_next(cx) {
                Poll::Ready(Some(Ok(delivery))) => delivery,
                Poll::Ready(Some(Err(lagged))) => {
                    tracing::warn!(%lagged, "slow subscriber skipped messages");
                    Delivery::Gap
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            };
            let gap = delivery == Delivery::Gap;
            if gap && std::mem::replace(&mut self.after_gap, true) {
                // Told already: nothing arrived since the last gap.
                continue;
            }
            self.after_gap = gap;
            return Poll::Ready(Some(delivery));
        }
    }
}

/// Channels the store has confirmed on the current pub/sub connection.
type Confirmed = std::collections::HashSet<String>;

/// Channels of one process: one broadcast sender per channel name, shared by
/// every subscriber, removed when the last one leaves.
struct Channels {
    senders: std::sync::Mutex<
        std::collections::HashMap<String, tokio::sync::broadcast::Sender<Delivery>>,
    >,
    /// What the store has confirmed (Redis; the in-process store needs no confirming).
    confirmed: tokio::sync::watch::Sender<Confirmed>,
}

impl Default for Channels {
    fn default() -> Self {
        Self {
            senders: std::sync::Mutex::default(),
            confirmed: tokio::sync::watch::Sender::new(Confirmed::new()),
        }
    }
}

/// Capacity of each channel's in-process buffer: a subscriber further behind
/// skips, and is told with a [`Delivery::Gap`].
const CHANNEL_CAPACITY: usize = 1024;

impl Channels {
    /// A receiver on `channel`, and whether the channel is new to this process.
    fn join(&self, channel: &str) -> (tokio::sync::broadcast::Receiver<Delivery>, bool) {
        let mut senders = lock(&self.senders);
        if let Some(sender) = senders.get(channel) {
            return (sender.subscribe(), false);
        }
        let (sender, receiver) = tokio::sync::broadcast::channel(CHANNEL_CAPACITY);
        senders.insert(channel.to_owned(), sender);
        (receiver, true)
    }

    /// Forgets `channel` when its last receiver is gone; `true` when it did.
    fn leave_if_unused(&self, channel: &str) -> bool {
        let mut senders = lock(&self.senders);
        // Called from a guard whose receiver is already dropped.
        if senders
            .get(channel)
            .is_some_and(|s| s.receiver_count() == 0)
        {
            senders.remove(channel);
            return true;
        }
        false
    }

    fn deliver(&self, channel: &str, message: String) -> u64 {
        lock(&self.senders)
            .get(channel)
            .and_then(|sender| sender.send(Delivery::Message(message)).ok())
            .map_or(0, |n| n as u64)
    }

    /// Tells every subscriber of every channel that messages were lost.
    fn gap_everywhere(&self) {
        for sender in lock(&self.senders).values() {
            let _ = sender.send(Delivery::Gap);
        }
    }

    /// Whether anyone in this process still listens on `channel`.
    fn is_wanted(&self, channel: &str) -> bool {
        lock(&self.senders).contains_key(channel)
    }

    fn names(&self) -> Vec<String> {
        lock(&self.senders).keys().cloned().collect()
    }

    /// Records that the store confirmed `channels` on the current connection.
    fn confirm<'a>(&self, channels: impl IntoIterator<Item = &'a String>) {
        self.confirmed.send_modify(|confirmed| {
            confirmed.extend(channels.into_iter().cloned());
        });
    }

    /// Records that `channel` is no longer subscribed.
    fn unconfirm(&self, channel: &str) {
        self.confirmed
            .send_if_modified(|confirmed| confirmed.remove(channel));
    }

    /// Records that the connection, and every subscription on it, is gone.
    fn unconfirm_all(&self) {
        self.confirmed.send_if_modified(|confirmed| {
            let changed = !confirmed.is_empty();
            confirmed.clear();
            changed
        });
    }

    /// The confirmation of `channel`, for a [`Subscription`] to wait on.
    fn confirmation(&self, channel: &str) -> (String, tokio::sync::watch::Receiver<Confirmed>) {
        (channel.to_owned(), self.confirmed.subscribe())
    }
}

/// How many different keys `keys` names.
fn distinct_keys<'a>(keys: impl Iterator<Item = &'a str>) -> usize {
    keys.collect::<std::collections::HashSet<_>>().len()
}

/// Locks a mutex, recovering from poisoning: every critical section here
/// leaves the data consistent, so a panic elsewhere must not wedge the store.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
