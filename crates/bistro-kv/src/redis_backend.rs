//! The Redis backend.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Client, ErrorKind, RedisError, ServerErrorKind};
use tokio::sync::mpsc;

use crate::breaker::Breaker;
use crate::{Channels, Error, GiveOnce, KvConfig, Result, Subscription};

pub(crate) struct RedisKv {
    client: Client,
    connection: ConnectionManager,
    config: KvConfig,
    breaker: Breaker,
    channels: Arc<Channels>,
    /// Commands to the pub/sub supervisor, started on the first subscribe.
    pubsub: OnceLock<mpsc::UnboundedSender<Control>>,
}

/// Replaces a string only if it holds the expected value (one atomic step).
static COMPARE_AND_SET: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
          if tonumber(ARGV[3]) > 0 then
            redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
          else
            redis.call('SET', KEYS[1], ARGV[2])
          end
          return 1",
    )
});

/// Adds to a sorted set and writes its whole ranking, highest first, as
/// `member:score,…` into a hash field, in one atomic step. KEYS: the set,
/// the hash; ARGV: delta, member, expiry ms (0: none), field.
static ZINCR_WITH_SNAPSHOT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local score = redis.call('ZINCRBY', KEYS[1], ARGV[1], ARGV[2])
          local ranking = redis.call('ZREVRANGE', KEYS[1], 0, -1, 'WITHSCORES')
          local parts = {}
          for i = 1, #ranking, 2 do parts[#parts + 1] = ranking[i] .. ':' .. ranking[i + 1] end
          redis.call('HSET', KEYS[2], ARGV[4], table.concat(parts, ','))
          if tonumber(ARGV[3]) > 0 then
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
            redis.call('PEXPIRE', KEYS[2], ARGV[3])
          end
          return score",
    )
});

/// Deletes a string only if it holds the expected value (one atomic step).
static DELETE_IF: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
          return redis.call('DEL', KEYS[1])",
    )
});

/// Takes amounts from hash fields, all or nothing. ARGV: the expiry in ms
/// for a new hash (0: none), the hold field and its value (empty: no
/// hold), then `field, amount, initial` triples. Replies `{1, new values…}`
/// when taken (or held already: the current values, nothing taken again),
/// `{0, index of the first short field}` when not.
static HTAKE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local created = redis.call('EXISTS', KEYS[1]) == 0
          local count = (#ARGV - 3) / 3
          local values = {}
          local short = nil
          for i = 1, count do
            local field = ARGV[3 * i + 1]
            local v = redis.call('HGET', KEYS[1], field)
            if not v then
              v = ARGV[3 * i + 3]
              redis.call('HSET', KEYS[1], field, v)
            end
            v = tonumber(v)
            if short == nil and v < tonumber(ARGV[3 * i + 2]) then short = i - 1 end
            values[i] = v
          end
          if created and tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
          if ARGV[2] ~= '' and redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then
            local out = {1}
            for i = 1, count do out[i + 1] = values[i] end
            return out
          end
          if short ~= nil then return {0, short} end
          local out = {1}
          for i = 1, count do
            out[i + 1] = redis.call('HINCRBY', KEYS[1], ARGV[3 * i + 1], 0 - tonumber(ARGV[3 * i + 2]))
          end
          if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) end
          return out",
    )
});

/// Adds amounts back to hash fields that exist. ARGV: the mode (`always`,
/// `held`: only if the field in ARGV[2] exists, deleting it; `once`: only
/// if the field in ARGV[2] does not exist yet in an existing hash, setting
/// it), that field, then `field, amount` pairs. Replies with each new
/// value, or false where the field is missing (or nothing was given).
static HGIVE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local go = true
          if ARGV[1] == 'held' then
            go = redis.call('HDEL', KEYS[1], ARGV[2]) == 1
          elseif ARGV[1] == 'once' then
            go = redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HSETNX', KEYS[1], ARGV[2], '1') == 1
          end
          local out = {}
          for i = 3, #ARGV, 2 do
            if go and redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
              out[#out + 1] = redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
            else
              out[#out + 1] = false
            end
          end
          return out",
    )
});

/// Unreachable, or unable to serve for now (loading, failing over): callers
/// degrade and the breaker counts it. Anything else the server said is a
/// store error and proves it is there.
fn classify(err: &RedisError) -> Error {
    let unavailable = err.is_io_error()
        || err.is_timeout()
        || err.is_connection_refusal()
        || err.is_connection_dropped()
        || matches!(
            err.kind(),
            ErrorKind::Io
                | ErrorKind::ClusterConnectionNotFound
                // A reply we cannot parse means the connection is out of step.
                | ErrorKind::Parse
                | ErrorKind::AuthenticationFailed
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::TryAgain
                )
        );
    if unavailable {
        tracing::debug!(%err, "key-value store unavailable");
        Error::Unavailable(err.to_string())
    } else {
        tracing::debug!(%err, "key-value store error");
        Error::Store(err.to_string())
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisKv {
    pub(crate) fn new(url: &str, config: &KvConfig) -> Result<Self> {
        let client = Client::open(url).map_err(|e| Error::Store(format!("bad Redis URL: {e}")))?;
        // One reconnect attempt and short timeouts: the defaults stall every
        // command ~9 s while Redis is down (TECH-NOTES §4.2).
        let manager_config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.response_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), manager_config)
            .map_err(|e| Error::Store(e.to_string()))?;
        Ok(Self {
            client,
            connection,
            breaker: Breaker::new(config.breaker_threshold, config.breaker_cooldown),
            config: config.clone(),
            channels: Arc::new(Channels::default()),
            pubsub: OnceLock::new(),
        })
    }

    pub(crate) fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// The longest one call may wait: one connection attempt plus the answer.
    /// The client's own retry may take longer (it goes on in the background,
    /// and a later call finds the connection); this is the hard bound even
    /// against a TCP black hole.
    fn deadline(&self) -> Duration {
        self.config.connect_timeout + self.config.response_timeout
    }

    /// Runs one round trip within the deadline. The breaker is the caller's
    /// (the facade's), so a refused call is neither sent nor counted.
    async fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(self.deadline(), f(self.connection.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(classify(&err)),
            Err(_) => {
                tracing::debug!(deadline = ?self.deadline(), "key-value command timed out");
                Err(Error::Unavailable("timed out".into()))
            }
        }
    }

    pub(crate) async fn ping(&self) -> Result<()> {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(|_| ())
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<String>> {
        self.run(|mut c| async move { c.get(key).await }).await
    }

    pub(crate) async fn mget(&self, keys: &[String]) -> Result<Vec<Option<String>>> {
        self.run(|mut c| async move { redis::cmd("MGET").arg(keys).query_async(&mut c).await })
            .await
    }

    pub(crate) async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<()> {
        self.run(|mut c| async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(key).arg(value);
            if let Some(ttl) = ttl {
                cmd.arg("PX").arg(millis(ttl));
            }
            cmd.query_async::<()>(&mut c).await
        })
        .await
    }

    pub(crate) async fn set_many(
        &self,
        entries: &[(String, String)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.run(|mut c| async move {
            let mut pipe = redis::pipe();
            for (key, value) in entries {
                let cmd = pipe.cmd("SET").arg(key).arg(value);
                if let Some(ttl) = ttl {
                    cmd.arg("PX").arg(millis(ttl));
                }
                cmd.ignore();
            }
            pipe.query_async::<()>(&mut c).await
        })
        .await
    }

    pub(crate) async fn set_nx(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool> {
        self.run(|mut c| async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(key).arg(value).arg("NX");
            if let Some(ttl) = ttl {
                cmd.arg("PX").arg(millis(ttl));
            }
            cmd.query_async::<Option<String>>(&mut c).await
        })
        .await
        .map(|reply| reply.is_some())
    }

    pub(crate) async fn compare_and_set(
        &self,
        key: &str,
        expected: &str,
        new: &str,
        ttl: Option<Duration>,
    ) -> Result<bool> {
        let ttl = ttl.map_or(0, millis);
        self.run(|mut c| async move {
            COMPARE_AND_SET
                .key(key)
                .arg(expected)
                .arg(new)
                .arg(ttl)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
        .map(|changed| changed == 1)
    }

    pub(crate) async fn del(&self, keys: &[String]) -> Result<u64> {
        self.run(|mut c| async move { redis::cmd("DEL").arg(keys).query_async(&mut c).await })
            .await
    }

    pub(crate) async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.run(|mut c| async move {
            redis::cmd("PEXPIRE")
                .arg(key)
                .arg(millis(ttl))
                .query_async(&mut c)
                .await
        })
        .await
    }

    pub(crate) async fn ttl(&self, key: &str) -> Result<Option<Duration>> {
        let ms: i64 = self
            .run(|mut c| async move { redis::cmd("PTTL").arg(key).query_async(&mut c).await })
            .await?;
        // -2: no such key; -1: no expiry.
        Ok(u64::try_from(ms).ok().map(Duration::from_millis))
    }

    pub(crate) async fn incr_by(
        &self,
        key: &str,
        delta: i64,
        ttl_if_new: Option<Duration>,
    ) -> Result<i64> {
        self.run(|mut c| async move {
            // MULTI/EXEC in one round trip: creating the key as 0 with its
            // expiry (NX: only if missing) leaves an existing key's expiry alone.
            let mut pipe = redis::pipe();
            pipe.atomic();
            if let Some(ttl) = ttl_if_new {
                pipe.cmd("SET")
                    .arg(key)
                    .arg(0)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(ttl))
                    .ignore();
            }
            pipe.cmd("INCRBY").arg(key).arg(delta);
            let (n,): (i64,) = pipe.query_async(&mut c).await?;
            Ok(n)
        })
        .await
    }

    pub(crate) async fn incr_many(
        &self,
        keys: &[String],
        delta: i64,
        ttl_if_new: Option<Duration>,
    ) -> Result<Vec<i64>> {
        self.run(|mut c| async move {
            // One MULTI/EXEC: each key created at 0 with its expiry when
            // missing, then incremented; existing keys keep their expiry.
            let mut pipe = redis::pipe();
            pipe.atomic();
            for key in keys {
                if let Some(ttl) = ttl_if_new {
                    pipe.cmd("SET")
                        .arg(key)
                        .arg(0)
                        .arg("NX")
                        .arg("PX")
                        .arg(millis(ttl))
                        .ignore();
                }
                pipe.cmd("INCRBY").arg(key).arg(delta);
            }
            pipe.query_async::<Vec<i64>>(&mut c).await
        })
        .await
    }

    pub(crate) async fn zincr_by(
        &self,
        key: &str,
        member: &str,
        delta: f64,
        ttl: Option<Duration>,
    ) -> Result<f64> {
        self.run(|mut c| async move {
            let mut pipe = redis::pipe();
            pipe.cmd("ZINCRBY").arg(key).arg(delta).arg(member);
            if let Some(ttl) = ttl {
                pipe.cmd("PEXPIRE").arg(key).arg(millis(ttl)).ignore();
            }
            let (score,): (f64,) = pipe.query_async(&mut c).await?;
            Ok(score)
        })
        .await
    }

    pub(crate) async fn zscore(&self, key: &str, member: &str) -> Result<Option<f64>> {
        self.run(|mut c| async move { c.zscore(key, member).await })
            .await
    }

    pub(crate) async fn zrevrank(&self, key: &str, member: &str) -> Result<Option<u64>> {
        self.run(|mut c| async move { c.zrevrank(key, member).await })
            .await
    }

    pub(crate) async fn zrevrange_with_scores(
        &self,
        key: &str,
        start: isize,
        stop: isize,
    ) -> Result<Vec<(String, f64)>> {
        self.run(|mut c| async move {
            redis::cmd("ZREVRANGE")
                .arg(key)
                .arg(start)
                .arg(stop)
                .arg("WITHSCORES")
                .query_async(&mut c)
                .await
        })
        .await
    }

    pub(crate) async fn zrevrange_with_scores_many(
        &self,
        keys: &[String],
        start: isize,
        stop: isize,
    ) -> Result<Vec<Vec<(String, f64)>>> {
        self.run(|mut c| async move {
            let mut pipe = redis::pipe();
            for key in keys {
                pipe.cmd("ZREVRANGE")
                    .arg(key)
                    .arg(start)
                    .arg(stop)
                    .arg("WITHSCORES");
            }
            pipe.query_async(&mut c).await
        })
        .await
    }

    pub(crate) async fn hset(&self, key: &str, field: &str, value: &str) -> Result<()> {
        self.run(|mut c| async move { c.hset::<_, _, _, ()>(key, field, value).await })
            .await
    }

    pub(crate) async fn hget(&self, key: &str, field: &str) -> Result<Option<String>> {
        self.run(|mut c| async move { c.hget(key, field).await })
            .await
    }

    pub(crate) async fn hmget(&self, key: &str, fields: &[String]) -> Result<Vec<Option<String>>> {
        self.run(|mut c| async move {
            redis::cmd("HMGET")
                .arg(key)
                .arg(fields)
                .query_async(&mut c)
                .await
        })
        .await
    }

    pub(crate) async fn zincr_by_with_snapshot(
        &self,
        key: &str,
        member: &str,
        delta: f64,
        ttl: Option<Duration>,
        snapshot: &str,
        field: &str,
    ) -> Result<f64> {
        self.run(|mut c| async move {
            let score: String = ZINCR_WITH_SNAPSHOT
                .key(key)
                .key(snapshot)
                .arg(delta)
                .arg(member)
                .arg(ttl.map_or(0, millis))
                .arg(field)
                .invoke_async(&mut c)
                .await?;
            score.parse::<f64>().map_err(|_| {
                redis::RedisError::from((redis::ErrorKind::Parse, "score is not a number"))
            })
        })
        .await
    }

    pub(crate) async fn hdel_many(&self, fields: &[(String, String)]) -> Result<u64> {
        self.run(|mut c| async move {
            let mut pipe = redis::pipe();
            for (key, field) in fields {
                pipe.cmd("HDEL").arg(key).arg(field);
            }
            let counts: Vec<u64> = pipe.query_async(&mut c).await?;
            Ok(counts.into_iter().sum())
        })
        .await
    }

    pub(crate) async fn hget_many(
        &self,
        fields: &[(String, String)],
    ) -> Result<Vec<Option<String>>> {
        self.run(|mut c| async move {
            let mut pipe = redis::pipe();
            for (key, field) in fields {
                pipe.cmd("HGET").arg(key).arg(field);
            }
            pipe.query_async(&mut c).await
        })
        .await
    }

    pub(crate) async fn hset_many(
        &self,
        entries: &[(String, String, String)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        // One HSET per hash with all its fields, in first-seen order.
        let mut by_key: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
        for (key, field, value) in entries {
            match by_key.iter_mut().find(|(k, _)| *k == key.as_str()) {
                Some((_, fields)) => fields.push((field, value)),
                None => by_key.push((key, vec![(field, value)])),
            }
        }
        self.run(|mut c| async move {
            let mut pipe = redis::pipe();
            for (key, fields) in &by_key {
                let cmd = pipe.cmd("HSET").arg(*key);
                for (field, value) in fields {
                    cmd.arg(*field).arg(*value);
                }
                cmd.ignore();
                if let Some(ttl) = ttl {
                    pipe.cmd("PEXPIRE").arg(*key).arg(millis(ttl)).ignore();
                }
            }
            pipe.query_async::<()>(&mut c).await
        })
        .await
    }

    pub(crate) async fn hgetall(&self, key: &str) -> Result<Vec<(String, String)>> {
        let all: BTreeMap<String, String> = self
            .run(|mut c| async move { c.hgetall(key).await })
            .await?;
        Ok(all.into_iter().collect())
    }

    pub(crate) async fn hgetall_many(&self, keys: &[String]) -> Result<Vec<Vec<(String, String)>>> {
        let all: Vec<BTreeMap<String, String>> = self
            .run(|mut c| async move {
                let mut pipe = redis::pipe();
                for key in keys {
                    pipe.cmd("HGETALL").arg(key);
                }
                pipe.query_async(&mut c).await
            })
            .await?;
        Ok(all.into_iter().map(|h| h.into_iter().collect()).collect())
    }

    pub(crate) async fn hincr_by(&self, key: &str, field: &str, delta: i64) -> Result<i64> {
        self.run(|mut c| async move { c.hincr(key, field, delta).await })
            .await
    }

    pub(crate) async fn hdel(&self, key: &str, fields: &[String]) -> Result<u64> {
        self.run(|mut c| async move {
            redis::cmd("HDEL")
                .arg(key)
                .arg(fields)
                .query_async(&mut c)
                .await
        })
        .await
    }

    pub(crate) async fn delete_if(&self, key: &str, expected: &str) -> Result<bool> {
        self.run(|mut c| async move {
            DELETE_IF
                .key(key)
                .arg(expected)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
        .map(|deleted| deleted == 1)
    }

    pub(crate) async fn htake(
        &self,
        key: &str,
        takes: &[(String, i64, i64)],
        ttl_if_new: Option<Duration>,
        hold: Option<(&str, &str)>,
    ) -> Result<std::result::Result<Vec<i64>, usize>> {
        let ttl = ttl_if_new.map_or(0, millis);
        let (hold_field, hold_value) = hold.unwrap_or(("", ""));
        let reply: Vec<i64> = self
            .run(|mut c| async move {
                let mut invocation = HTAKE.key(key);
                invocation.arg(ttl).arg(hold_field).arg(hold_value);
                for (field, amount, initial) in takes {
                    invocation.arg(field).arg(*amount).arg(*initial);
                }
                invocation.invoke_async(&mut c).await
            })
            .await?;
        match reply.split_first() {
            Some((1, values)) => Ok(Ok(values.to_vec())),
            Some((0, [index])) => Ok(Err(usize::try_from(*index).unwrap_or(0))),
            _ => Err(Error::Store("unexpected reply to a hash take".into())),
        }
    }

    pub(crate) async fn hgive(
        &self,
        key: &str,
        gives: &[(String, i64)],
        once: GiveOnce<'_>,
    ) -> Result<Vec<Option<i64>>> {
        let (mode, field) = match once {
            GiveOnce::Always => ("always", ""),
            GiveOnce::IfHeld(hold) => ("held", hold),
            GiveOnce::Marker(marker) => ("once", marker),
        };
        self.run(|mut c| async move {
            let mut invocation = HGIVE.key(key);
            invocation.arg(mode).arg(field);
            for (field, amount) in gives {
                invocation.arg(field).arg(*amount);
            }
            invocation.invoke_async(&mut c).await
        })
        .await
    }

    pub(crate) async fn publish(&self, channel: &str, message: &str) -> Result<u64> {
        self.run(|mut c| async move { c.publish(channel, message).await })
            .await
    }

    pub(crate) fn subscribe(&self, channel: &str) -> Result<Subscription> {
        let control = self.pubsub.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(supervise(
                self.client.clone(),
                self.channels.clone(),
                self.config.clone(),
                rx,
            ));
            tx
        });
        let (receiver, new) = self.channels.join(channel);
        if new {
            // The supervisor also re-subscribes every known channel on each
            // (re)connect, so a lost message here is repaired then.
            let _ = control.send(Control::Subscribe(channel.to_owned()));
        }
        Ok(Subscription::new(
            receiver,
            Some(self.channels.confirmation(channel)),
            Box::new(Leave {
                channels: self.channels.clone(),
                control: control.clone(),
                channel: channel.to_owned(),
            }),
        ))
    }

    pub(crate) async fn purge_prefix(&self, prefix: &str) -> Result<u64> {
        // Glob metacharacters in the prefix are matched literally.
        let mut pattern = String::new();
        for ch in prefix.chars() {
            if matches!(ch, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(ch);
        }
        pattern.push('*');
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let pattern = pattern.as_str();
            let (next, keys): (u64, Vec<String>) = self
                .run(|mut c| async move {
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            if !keys.is_empty() {
                removed += self.del(&keys).await?;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }
}

enum Control {
    Subscribe(String),
    Unsubscribe(String),
}

/// Releases a channel when its last subscriber in this process goes.
struct Leave {
    channels: Arc<Channels>,
    control: mpsc::UnboundedSender<Control>,
    channel: String,
}

impl Drop for Leave {
    fn drop(&mut self) {
        if self.channels.leave_if_unused(&self.channel) {
            let _ = self
                .control
                .send(Control::Unsubscribe(self.channel.clone()));
        }
    }
}

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How often an idle pub/sub connection is checked: a peer that vanished
/// without closing the socket (black hole) shows up no later than this.
const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(10);

/// Keeps the process's one pub/sub connection alive: connects, subscribes to
/// every channel someone listens to, forwards messages to the in-process
/// channels, and starts over with backoff when the connection fails.
///
/// An outage is logged twice, whatever the number of channels, subscribers
/// or reconnect attempts: once when the connection is lost, once when it is
/// back, and then every subscriber is sent a [`Delivery::Gap`](crate::Delivery)
/// (what was published meanwhile is lost: Redis pub/sub keeps nothing).
async fn supervise(
    client: Client,
    channels: Arc<Channels>,
    config: KvConfig,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    // Sink operations wait for the server's confirmation: bound them as
    // commands are, a little more generously since they are rare.
    let op_timeout = config.connect_timeout + config.response_timeout * 2;
    let mut backoff = MIN_BACKOFF;
    let mut link = Link::default();
    loop {
        let stop = match serve(
            &client,
            &channels,
            &config,
            &mut control,
            op_timeout,
            &mut backoff,
            &mut link,
        )
        .await
        {
            Ok(never) => match never {},
            Err(stop) => stop,
        };
        channels.unconfirm_all();
        if link.up {
            link.up = false;
            link.lost_at = Some(std::time::Instant::now());
        }
        match stop {
            Stop::Dropped => return,
            Stop::Failed(reason) => {
                if link.lost_at.is_some() && !link.lost_logged {
                    link.lost_logged = true;
                    tracing::warn!(
                        %reason,
                        "pub/sub connection lost; live events are missed until it is back"
                    );
                } else {
                    tracing::debug!(%reason, retry_in = ?backoff, "pub/sub connection failed");
                }
            }
        }
        if !wait(&mut control, backoff).await {
            return;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The pub/sub connection's history, for telling subscribers about outages.
#[derive(Default)]
struct Link {
    /// Connected and subscribed now.
    up: bool,
    /// When a connection that was up was lost (cleared once back).
    lost_at: Option<std::time::Instant>,
    /// Whether this outage has been logged.
    lost_logged: bool,
}

enum Stop {
    /// Every handle on the store is gone: nobody can subscribe any more.
    Dropped,
    Failed(String),
}

/// One connection's life: returns (as its error) why it ended: it failed,
/// or the store was dropped.
async fn serve(
    client: &Client,
    channels: &Channels,
    config: &KvConfig,
    control: &mut mpsc::UnboundedReceiver<Control>,
    op_timeout: Duration,
    backoff: &mut Duration,
    link: &mut Link,
) -> std::result::Result<std::convert::Infallible, Stop> {
    let pubsub = bounded(
        config.connect_timeout + config.response_timeout,
        client.get_async_pubsub(),
    )
    .await?;
    let (mut sink, mut stream) = pubsub.split();
    // Everything wanted now, including channels asked for while disconnected
    // (their control messages were dropped by `wait`).
    let wanted = channels.names();
    if !wanted.is_empty() {
        bounded(op_timeout, sink.subscribe(&wanted)).await?;
    }
    channels.confirm(&wanted);
    *backoff = MIN_BACKOFF;
    link.up = true;
    if let Some(lost_at) = link.lost_at.take() {
        link.lost_logged = false;
        // Subscribed again before the gap is told, so a subscriber that
        // re-reads on the gap cannot miss what is published after it.
        channels.gap_everywhere();
        tracing::warn!(
            down_ms = lost_at.elapsed().as_millis() as u64,
            channels = wanted.len(),
            "pub/sub connection back; what was published while it was down is lost, \
             and subscribers are told they may have missed messages"
        );
    } else {
        tracing::debug!(channels = wanted.len(), "pub/sub connected");
    }
    let period = HEALTH_CHECK_EVERY;
    let mut health = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    return Err(Stop::Failed("connection closed".into()));
                };
                let channel = message.get_channel_name().to_owned();
                match message.get_payload::<String>() {
                    Ok(payload) => {
                        channels.deliver(&channel, payload);
                    }
                    Err(err) => tracing::warn!(%err, channel, "undecodable message skipped"),
                }
            }
            command = control.recv() => match command {
                None => return Err(Stop::Dropped),
                // Checked against the current state, not taken on trust: a
                // leave and a rejoin racing can queue these out of order.
                Some(Control::Subscribe(channel)) => {
                    if channels.is_wanted(&channel) {
                        bounded(op_timeout, sink.subscribe(&channel)).await?;
                        channels.confirm([&channel]);
                    }
                }
                Some(Control::Unsubscribe(channel)) => {
                    if !channels.is_wanted(&channel) {
                        channels.unconfirm(&channel);
                        bounded(op_timeout, sink.unsubscribe(&channel)).await?;
                    }
                }
            },
            _ = health.tick() => {
                bounded(op_timeout, sink.ping::<redis::Value>()).await?;
            }
        }
    }
}

/// Awaits a pub/sub operation within `limit`.
async fn bounded<T>(
    limit: Duration,
    operation: impl Future<Output = redis::RedisResult<T>>,
) -> std::result::Result<T, Stop> {
    match tokio::time::timeout(limit, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(Stop::Failed(err.to_string())),
        Err(_) => Err(Stop::Failed("timed out".into())),
    }
}

/// Sleeps `delay`, draining control messages (the reconnect subscribes
/// everything wanted anyway); `false` when the store was dropped.
async fn wait(control: &mut mpsc::UnboundedReceiver<Control>, delay: Duration) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return true,
            command = control.recv() => if command.is_none() { return false },
        }
    }
}
