//! The Redis backend.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Client, RedisError};
use tokio::sync::mpsc;

use crate::breaker::Breaker;
use crate::{Channels, Error, KvConfig, Result, Subscription};

pub(crate) struct RedisKv {
    client: Client,
    connection: ConnectionManager,
    config: KvConfig,
    breaker: Breaker,
    channels: Arc<Channels>,
    /// Commands to the pub/sub supervisor, started on the first subscribe.
    pubsub: OnceLock<mpsc::UnboundedSender<Control>>,
}

/// Adds to a counter; when the key was created by this call, sets its expiry.
static INCR_WITH_TTL: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local existed = redis.call('EXISTS', KEYS[1])
          local n = redis.call('INCRBY', KEYS[1], ARGV[1])
          if existed == 0 and tonumber(ARGV[2]) > 0 then
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
          end
          return n",
    )
});

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

fn classify(err: &RedisError) -> Error {
    if err.is_io_error()
        || err.is_timeout()
        || err.is_connection_refusal()
        || err.is_connection_dropped()
        || err.is_unrecoverable_error()
    {
        Error::Unavailable(err.to_string())
    } else {
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

    /// The longest one call may take: connecting (twice, with the one retry)
    /// and answering. A hard bound even if the client misbehaves.
    fn deadline(&self) -> Duration {
        self.config.connect_timeout * 2 + self.config.response_timeout + Duration::from_millis(250)
    }

    /// Runs one round trip through the breaker and the deadline.
    async fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.breaker.allows() {
            return Err(Error::Unavailable(
                "circuit open after repeated failures".into(),
            ));
        }
        let result = match tokio::time::timeout(self.deadline(), f(self.connection.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(classify(&err)),
            Err(_) => Err(Error::Unavailable("timed out".into())),
        };
        match &result {
            Ok(_) | Err(Error::Store(_)) => self.breaker.success(),
            Err(Error::Unavailable(reason)) => {
                tracing::debug!(%reason, "key-value command failed");
                self.breaker.failure();
            }
        }
        result
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
        let ttl = ttl_if_new.map_or(0, millis);
        self.run(|mut c| async move {
            INCR_WITH_TTL
                .key(key)
                .arg(delta)
                .arg(ttl)
                .invoke_async(&mut c)
                .await
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
        self.run(|mut c| async move {
            let mut pipe = redis::pipe();
            for (key, field, value) in entries {
                pipe.cmd("HSET").arg(key).arg(field).arg(value).ignore();
                if let Some(ttl) = ttl {
                    pipe.cmd("PEXPIRE").arg(key).arg(millis(ttl)).ignore();
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

/// Keeps the process's one pub/sub connection alive: connects, subscribes to
/// every channel someone listens to, forwards messages to the in-process
/// channels, and starts over with backoff when the connection drops.
async fn supervise(
    client: Client,
    channels: Arc<Channels>,
    config: KvConfig,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let connected = tokio::time::timeout(
            config.connect_timeout + config.response_timeout,
            client.get_async_pubsub(),
        )
        .await;
        let pubsub = match connected {
            Ok(Ok(pubsub)) => pubsub,
            Ok(Err(err)) => {
                tracing::debug!(%err, "pub/sub connection failed; retrying");
                if !wait(&mut control, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
            Err(_) => {
                if !wait(&mut control, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let wanted = channels.names();
        if !wanted.is_empty()
            && let Err(err) = sink.subscribe(&wanted).await
        {
            tracing::debug!(%err, "re-subscribing failed; reconnecting");
            continue;
        }
        backoff = Duration::from_millis(50);
        tracing::debug!(channels = wanted.len(), "pub/sub connected");
        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(message) => {
                        let channel = message.get_channel_name().to_owned();
                        match message.get_payload::<String>() {
                            Ok(payload) => {
                                channels.deliver(&channel, payload);
                            }
                            Err(err) => tracing::warn!(%err, channel, "undecodable message skipped"),
                        }
                    }
                    None => {
                        tracing::warn!("pub/sub connection lost; reconnecting");
                        break;
                    }
                },
                command = control.recv() => match command {
                    // Every Kv handle is gone: nobody can subscribe any more.
                    None => return,
                    Some(Control::Subscribe(channel)) => {
                        if let Err(err) = sink.subscribe(&channel).await {
                            tracing::debug!(%err, "subscribe failed; reconnecting");
                            break;
                        }
                    }
                    Some(Control::Unsubscribe(channel)) => {
                        if let Err(err) = sink.unsubscribe(&channel).await {
                            tracing::debug!(%err, "unsubscribe failed; reconnecting");
                            break;
                        }
                    }
                },
            }
        }
    }
}

/// Sleeps `delay`, draining control messages (the reconnect subscribes
/// everything anyway); `false` when the store was dropped.
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
