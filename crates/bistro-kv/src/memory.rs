//! The in-process backend: Redis semantics on a mutex-guarded map.
//!
//! Expiry is lazy (checked on access) plus a sweep on writes, like Redis'
//! passive expiry; sorted sets order like `ZREVRANGE`; a command on a key of
//! the wrong kind fails like `WRONGTYPE`.
//!
//! Values are shared strings (`Arc<str>`): under the map's one lock a read
//! only takes a reference, and the copy a caller gets is made after the lock
//! is released, so a large value (a cart, a cached menu page) never holds
//! every other request up while it is copied. Writes build their value
//! before taking the lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::{Channels, Error, GiveOnce, Result, Subscription, lock};

#[derive(Debug, Clone)]
enum Value {
    Str(Text),
    Hash(BTreeMap<String, Text>),
    ZSet(HashMap<String, f64>),
}

/// A stored string, shared so reads copy it outside the lock.
type Text = Arc<str>;

#[derive(Debug, Clone)]
struct Entry {
    value: Value,
    expires_at: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

#[derive(Default)]
pub(crate) struct MemoryKv {
    entries: Mutex<HashMap<String, Entry>>,
    channels: Arc<Channels>,
}

/// Writes between two full sweeps of expired keys.
const SWEEP_EVERY: usize = 1024;

struct Map<'a> {
    entries: std::sync::MutexGuard<'a, HashMap<String, Entry>>,
    now: Instant,
}

impl Map<'_> {
    fn get(&mut self, key: &str) -> Option<&mut Entry> {
        if self.entries.get(key).is_some_and(|e| !e.live(self.now)) {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    fn string(&mut self, key: &str) -> Result<Option<&mut Text>> {
        match self.get(key).map(|e| &mut e.value) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(_) => Err(Error::wrong_type()),
        }
    }

    /// The hash at `key`, created empty (without expiry) when missing.
    fn hash(&mut self, key: &str) -> Result<&mut BTreeMap<String, Text>> {
        self.get(key);
        let now = self.now;
        let entry = self.entries.entry(key.to_owned()).or_insert_with(|| Entry {
            value: Value::Hash(BTreeMap::new()),
            expires_at: None,
        });
        debug_assert!(entry.live(now));
        match &mut entry.value {
            Value::Hash(h) => Ok(h),
            _ => Err(Error::wrong_type()),
        }
    }

    fn zset(&mut self, key: &str) -> Result<&mut HashMap<String, f64>> {
        self.get(key);
        let entry = self.entries.entry(key.to_owned()).or_insert_with(|| Entry {
            value: Value::ZSet(HashMap::new()),
            expires_at: None,
        });
        match &mut entry.value {
            Value::ZSet(z) => Ok(z),
            _ => Err(Error::wrong_type()),
        }
    }

    /// Removes empty hashes and sorted sets, as Redis deletes them.
    fn drop_if_empty(&mut self, key: &str) {
        let empty = match self.entries.get(key).map(|e| &e.value) {
            Some(Value::Hash(h)) => h.is_empty(),
            Some(Value::ZSet(z)) => z.is_empty(),
            _ => false,
        };
        if empty {
            self.entries.remove(key);
        }
    }

    /// `PEXPIRE`: sets the expiry of a live key of any kind.
    fn expire(&mut self, key: &str, ttl: Duration) -> bool {
        let at = deadline(self.now, ttl);
        match self.get(key) {
            Some(entry) => {
                entry.expires_at = Some(at);
                true
            }
            None => false,
        }
    }

    fn put(&mut self, key: &str, value: Text, ttl: Option<Duration>) {
        let expires_at = ttl.map(|ttl| deadline(self.now, ttl));
        self.entries.insert(
            key.to_owned(),
            Entry {
                value: Value::Str(value),
                expires_at,
            },
        );
        if self.entries.len().is_multiple_of(SWEEP_EVERY) {
            let now = self.now;
            self.entries.retain(|_, e| e.live(now));
        }
    }
}

/// When a key given `ttl` now expires. Redis gets whole milliseconds, at
/// least one (see `millis` in the Redis backend): round the same way.
fn deadline(now: Instant, ttl: Duration) -> Instant {
    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
    now.checked_add(Duration::from_millis(ms))
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// Redis' strict integer syntax (`string2ll`): an optional minus, no plus,
/// no spaces, no leading zeros, no `-0`.
fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let canonical = match digits.as_bytes() {
        [b'0'] => digits.len() == s.len(),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if canonical { s.parse().ok() } else { None }
}

fn not_an_integer() -> Error {
    Error::Store("ERR value is not an integer or out of range".into())
}

fn overflow() -> Error {
    Error::Store("ERR increment or decrement would overflow".into())
}

/// Redis' rank range: negative indexes count from the end; out of range clamps.
fn rank_range(len: usize, start: isize, stop: isize) -> Option<(usize, usize)> {
    let len = isize::try_from(len).ok()?;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        len + stop
    } else {
        stop.min(len - 1)
    };
    if start > stop || start >= len || stop < 0 {
        return None;
    }
    Some((usize::try_from(start).ok()?, usize::try_from(stop).ok()?))
}

/// Highest score first; equal scores by member bytes, descending (as
/// `ZREVRANGE`). Scores are never NaN, and -0 equals 0 as in Redis.
/// `member:score,…` highest first, as the Redis script writes it.
fn snapshot_of(ranking: &[(String, f64)]) -> String {
    ranking
        .iter()
        .map(|(member, score)| format!("{member}:{score}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn ranked(set: &HashMap<String, f64>) -> Vec<(String, f64)> {
    let mut members: Vec<(String, f64)> = set.iter().map(|(m, s)| (m.clone(), *s)).collect();
    members.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| b.0.cmp(&a.0))
    });
    members
}

impl MemoryKv {
    fn map(&self) -> Map<'_> {
        Map {
            entries: lock(&self.entries),
            now: Instant::now(),
        }
    }

    pub(crate) fn ping(&self) -> Result<()> {
        Ok(())
    }

    pub(crate) fn get(&self, key: &str) -> Result<Option<String>> {
        let value = self.map().string(key)?.cloned();
        Ok(value.map(|v| v.to_string()))
    }

    pub(crate) fn mget(&self, keys: &[String]) -> Result<Vec<Option<String>>> {
        let values: Vec<Option<Text>> = {
            let mut map = self.map();
            // MGET answers nil for keys of another kind instead of failing.
            keys.iter()
                .map(|k| map.string(k).ok().flatten().cloned())
                .collect()
        };
        Ok(values
            .into_iter()
            .map(|v| v.map(|v| v.to_string()))
            .collect())
    }

    pub(crate) fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<()> {
        let value = Text::from(value);
        self.map().put(key, value, ttl);
        Ok(())
    }

    pub(crate) fn set_many(
        &self,
        entries: &[(String, String)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let values: Vec<Text> = entries
            .iter()
            .map(|(_, v)| Text::from(v.as_str()))
            .collect();
        let mut map = self.map();
        for ((key, _), value) in entries.iter().zip(values) {
            map.put(key, value, ttl);
        }
        Ok(())
    }

    pub(crate) fn set_nx(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<bool> {
        let value = Text::from(value);
        let mut map = self.map();
        if map.get(key).is_some() {
            return Ok(false);
        }
        map.put(key, value, ttl);
        Ok(true)
    }

    pub(crate) fn compare_and_set(
        &self,
        key: &str,
        expected: &str,
        new: &str,
        ttl: Option<Duration>,
    ) -> Result<bool> {
        let new = Text::from(new);
        let mut map = self.map();
        if map
            .string(key)?
            .is_none_or(|current| **current != *expected)
        {
            return Ok(false);
        }
        map.put(key, new, ttl);
        Ok(true)
    }

    pub(crate) fn del(&self, keys: &[String]) -> Result<u64> {
        let mut map = self.map();
        let mut removed = 0;
        for key in keys {
            if map.get(key).is_some() {
                map.entries.remove(key);
                removed += 1;
            }
        }
        Ok(removed)
    }

    pub(crate) fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        Ok(self.map().expire(key, ttl))
    }

    pub(crate) fn ttl(&self, key: &str) -> Result<Option<Duration>> {
        let mut map = self.map();
        let now = map.now;
        Ok(map
            .get(key)
            .and_then(|e| e.expires_at)
            .map(|at| at.saturating_duration_since(now)))
    }

    pub(crate) fn incr_many(
        &self,
        keys: &[String],
        delta: i64,
        ttl_if_new: Option<Duration>,
    ) -> Result<Vec<i64>> {
        // Like the Redis transaction: one atomic step (one lock), all or
        // nothing for well-typed keys.
        let mut map = self.map();
        keys.iter()
            .map(|key| incr(&mut map, key, delta, ttl_if_new))
            .collect()
    }

    pub(crate) fn incr_by(
        &self,
        key: &str,
        delta: i64,
        ttl_if_new: Option<Duration>,
    ) -> Result<i64> {
        incr(&mut self.map(), key, delta, ttl_if_new)
    }

    pub(crate) fn zincr_by(
        &self,
        key: &str,
        member: &str,
        delta: f64,
        ttl: Option<Duration>,
    ) -> Result<f64> {
        let mut map = self.map();
        let result = zincr(&mut map, key, member, delta);
        // The Redis side pipelines ZINCRBY and PEXPIRE: the expiry applies
        // to whatever key is there, even when the increment failed.
        if let Some(ttl) = ttl {
            map.expire(key, ttl);
        }
        result
    }

    fn read_zset<T>(&self, key: &str, f: impl FnOnce(&HashMap<String, f64>) -> T) -> Result<T> {
        let mut map = self.map();
        match map.get(key).map(|e| &e.value) {
            None => Ok(f(&HashMap::new())),
            Some(Value::ZSet(z)) => Ok(f(z)),
            Some(_) => Err(Error::wrong_type()),
        }
    }

    pub(crate) fn zscore(&self, key: &str, member: &str) -> Result<Option<f64>> {
        self.read_zset(key, |z| z.get(member).copied())
    }

    pub(crate) fn zrevrank(&self, key: &str, member: &str) -> Result<Option<u64>> {
        self.read_zset(key, |z| {
            ranked(z)
                .iter()
                .position(|(m, _)| m == member)
                .map(|p| p as u64)
        })
    }

    pub(crate) fn zrevrange_with_scores(
        &self,
        key: &str,
        start: isize,
        stop: isize,
    ) -> Result<Vec<(String, f64)>> {
        self.read_zset(key, |z| {
            let all = ranked(z);
            match rank_range(all.len(), start, stop) {
                Some((from, to)) => all[from..=to].to_vec(),
                None => Vec::new(),
            }
        })
    }

    pub(crate) fn zrevrange_with_scores_many(
        &self,
        keys: &[String],
        start: isize,
        stop: isize,
    ) -> Result<Vec<Vec<(String, f64)>>> {
        keys.iter()
            .map(|k| self.zrevrange_with_scores(k, start, stop))
            .collect()
    }

    pub(crate) fn hset(&self, key: &str, field: &str, value: &str) -> Result<()> {
        let value = Text::from(value);
        self.map().hash(key)?.insert(field.to_owned(), value);
        Ok(())
    }

    pub(crate) fn hget(&self, key: &str, field: &str) -> Result<Option<String>> {
        let value = {
            let mut map = self.map();
            match map.get(key).map(|e| &e.value) {
                None => None,
                Some(Value::Hash(h)) => h.get(field).cloned(),
                Some(_) => return Err(Error::wrong_type()),
            }
        };
        Ok(value.map(|v| v.to_string()))
    }

    pub(crate) fn hmget(&self, key: &str, fields: &[String]) -> Result<Vec<Option<String>>> {
        let values: Vec<Option<Text>> = {
            let mut map = self.map();
            match map.get(key).map(|e| &e.value) {
                None => vec![None; fields.len()],
                Some(Value::Hash(h)) => fields.iter().map(|f| h.get(f).cloned()).collect(),
                Some(_) => return Err(Error::wrong_type()),
            }
        };
        Ok(values
            .into_iter()
            .map(|v| v.map(|v| v.to_string()))
            .collect())
    }

    pub(crate) fn zincr_by_with_snapshot(
        &self,
        key: &str,
        member: &str,
        delta: f64,
        ttl: Option<Duration>,
        snapshot: &str,
        field: &str,
    ) -> Result<f64> {
        // One lock: atomic, like the script on Redis.
        let mut map = self.map();
        let score = zincr(&mut map, key, member, delta)?;
        let ranking = match map.get(key).map(|e| &e.value) {
            Some(Value::ZSet(z)) => snapshot_of(&ranked(z)),
            _ => String::new(),
        };
        map.hash(snapshot)?
            .insert(field.to_owned(), Text::from(ranking));
        if let Some(ttl) = ttl {
            map.expire(key, ttl);
            map.expire(snapshot, ttl);
        }
        Ok(score)
    }

    pub(crate) fn hdel_many(&self, fields: &[(String, String)]) -> Result<u64> {
        let mut deleted = 0;
        for (key, field) in fields {
            deleted += self.hdel(key, std::slice::from_ref(field))?;
        }
        Ok(deleted)
    }

    pub(crate) fn hget_many(&self, fields: &[(String, String)]) -> Result<Vec<Option<String>>> {
        fields.iter().map(|(k, f)| self.hget(k, f)).collect()
    }

    pub(crate) fn hset_many(
        &self,
        entries: &[(String, String, String)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let values: Vec<Text> = entries
            .iter()
            .map(|(_, _, v)| Text::from(v.as_str()))
            .collect();
        let mut map = self.map();
        // Like the Redis pipeline: every command runs, the first error is reported.
        let mut first_error = None;
        for ((key, field, _), value) in entries.iter().zip(values) {
            match map.hash(key) {
                Ok(hash) => {
                    hash.insert(field.clone(), value);
                }
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
            if let Some(ttl) = ttl {
                map.expire(key, ttl);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    pub(crate) fn hgetall(&self, key: &str) -> Result<Vec<(String, String)>> {
        let entries: Vec<(String, Text)> = {
            let mut map = self.map();
            match map.get(key).map(|e| &e.value) {
                None => Vec::new(),
                Some(Value::Hash(h)) => h.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                Some(_) => return Err(Error::wrong_type()),
            }
        };
        Ok(entries
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect())
    }

    pub(crate) fn hgetall_many(&self, keys: &[String]) -> Result<Vec<Vec<(String, String)>>> {
        keys.iter().map(|k| self.hgetall(k)).collect()
    }

    pub(crate) fn hincr_by(&self, key: &str, field: &str, delta: i64) -> Result<i64> {
        let mut map = self.map();
        let hash = map.hash(key)?;
        let current = hash.get(field).map_or(Ok(0), |v| {
            parse_int(v).ok_or_else(|| Error::Store("ERR hash value is not an integer".into()))
        })?;
        let next = current.checked_add(delta).ok_or_else(overflow)?;
        hash.insert(field.to_owned(), Text::from(next.to_string()));
        Ok(next)
    }

    pub(crate) fn hdel(&self, key: &str, fields: &[String]) -> Result<u64> {
        let mut map = self.map();
        let removed = match map.get(key).map(|e| &mut e.value) {
            None => 0,
            Some(Value::Hash(h)) => fields.iter().filter(|f| h.remove(*f).is_some()).count() as u64,
            Some(_) => return Err(Error::wrong_type()),
        };
        map.drop_if_empty(key);
        Ok(removed)
    }

    pub(crate) fn delete_if(&self, key: &str, expected: &str) -> Result<bool> {
        let mut map = self.map();
        if map
            .string(key)?
            .is_none_or(|current| **current != *expected)
        {
            return Ok(false);
        }
        map.entries.remove(key);
        Ok(true)
    }

    pub(crate) fn htake(
        &self,
        key: &str,
        takes: &[(String, i64, i64)],
        ttl_if_new: Option<Duration>,
        hold: Option<(&str, &str)>,
    ) -> Result<std::result::Result<Vec<i64>, usize>> {
        let mut map = self.map();
        let created = map.get(key).is_none();
        let hash = map.hash(key)?;
        let mut current = Vec::with_capacity(takes.len());
        for (field, _, initial) in takes {
            let value = match hash.get(field) {
                Some(v) => parse_int(v)
                    .ok_or_else(|| Error::Store("ERR hash value is not an integer".into()))?,
                None => {
                    hash.insert(field.clone(), Text::from(initial.to_string()));
                    *initial
                }
            };
            current.push(value);
        }
        if let Some((hold, _)) = hold
            && hash.contains_key(hold)
        {
            // Taken already by this holder: nothing is taken again.
            return Ok(Ok(current));
        }
        let short = takes
            .iter()
            .zip(&current)
            .position(|((_, amount, _), value)| value < amount);
        let outcome = match short {
            Some(index) => Err(index),
            None => {
                let mut taken = Vec::with_capacity(takes.len());
                for ((field, amount, _), value) in takes.iter().zip(current) {
                    let next = value - amount;
                    hash.insert(field.clone(), Text::from(next.to_string()));
                    taken.push(next);
                }
                if let Some((hold, value)) = hold {
                    hash.insert(hold.to_owned(), Text::from(value));
                }
                Ok(taken)
            }
        };
        if created && let Some(ttl) = ttl_if_new {
            map.expire(key, ttl);
        }
        Ok(outcome)
    }

    pub(crate) fn hgive(
        &self,
        key: &str,
        gives: &[(String, i64)],
        once: GiveOnce<'_>,
    ) -> Result<Vec<Option<i64>>> {
        let mut map = self.map();
        let hash = match map.get(key).map(|e| &mut e.value) {
            None => return Ok(vec![None; gives.len()]),
            Some(Value::Hash(h)) => h,
            Some(_) => return Err(Error::wrong_type()),
        };
        let go = match once {
            GiveOnce::Always => true,
            GiveOnce::IfHeld(hold) => hash.remove(hold).is_some(),
            GiveOnce::Marker(marker) => {
                if hash.contains_key(marker) {
                    false
                } else {
                    hash.insert(marker.to_owned(), Text::from("1"));
                    true
                }
            }
        };
        if !go {
            return Ok(vec![None; gives.len()]);
        }
        let mut out = Vec::with_capacity(gives.len());
        for (field, amount) in gives {
            match hash.get_mut(field) {
                Some(value) => {
                    let next = parse_int(value)
                        .ok_or_else(|| Error::Store("ERR hash value is not an integer".into()))?
                        .checked_add(*amount)
                        .ok_or_else(overflow)?;
                    *value = Text::from(next.to_string());
                    out.push(Some(next));
                }
                None => out.push(None),
            }
        }
        Ok(out)
    }

    pub(crate) fn publish(&self, channel: &str, message: &str) -> Result<u64> {
        Ok(self.channels.deliver(channel, message.to_owned()))
    }

    pub(crate) fn subscribe(&self, channel: &str) -> Subscription {
        let (receiver, _) = self.channels.join(channel);
        // In process, a subscription is live at once: nothing to confirm.
        Subscription::new(
            receiver,
            None,
            Box::new(Leave {
                channels: self.channels.clone(),
                channel: channel.to_owned(),
            }),
        )
    }

    pub(crate) fn purge_prefix(&self, prefix: &str) -> Result<u64> {
        let mut entries = lock(&self.entries);
        let before = entries.len();
        entries.retain(|k, _| !k.starts_with(prefix));
        Ok((before - entries.len()) as u64)
    }
}

/// Adds `delta` to the integer at `key` (created at `delta`, expiring after
/// `ttl_if_new`, when missing).
fn incr(map: &mut Map<'_>, key: &str, delta: i64, ttl_if_new: Option<Duration>) -> Result<i64> {
    match map.string(key)? {
        Some(current) => {
            let next = parse_int(current)
                .ok_or_else(not_an_integer)?
                .checked_add(delta)
                .ok_or_else(overflow)?;
            *current = Text::from(next.to_string());
            Ok(next)
        }
        None => {
            map.put(key, Text::from(delta.to_string()), ttl_if_new);
            Ok(delta)
        }
    }
}

/// `ZINCRBY`: a new member starts at `delta` itself; a NaN result is refused
/// and leaves the set as it was.
fn zincr(map: &mut Map<'_>, key: &str, member: &str, delta: f64) -> Result<f64> {
    if delta.is_nan() {
        return Err(Error::Store("ERR value is not a valid float".into()));
    }
    let set = map.zset(key)?;
    let score = set.get(member).map_or(delta, |current| current + delta);
    if score.is_nan() {
        map.drop_if_empty(key);
        return Err(Error::Store(
            "ERR resulting score is not a number (NaN)".into(),
        ));
    }
    set.insert(member.to_owned(), score);
    Ok(score)
}

/// Releases an in-process channel when its last subscriber goes.
struct Leave {
    channels: Arc<Channels>,
    channel: String,
}

impl Drop for Leave {
    fn drop(&mut self) {
        self.channels.leave_if_unused(&self.channel);
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_int, rank_range};

    #[test]
    fn integers_parse_as_strictly_as_redis() {
        for ok in [
            "0",
            "5",
            "-5",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            assert_eq!(parse_int(ok), ok.parse().ok(), "{ok}");
        }
        for bad in [
            "",
            "-",
            "+5",
            "05",
            "-0",
            " 5",
            "5 ",
            "5.0",
            "9223372036854775808",
            "1e3",
        ] {
            assert_eq!(parse_int(bad), None, "{bad}");
        }
    }

    #[test]
    fn rank_ranges_follow_redis() {
        assert_eq!(rank_range(5, 0, -1), Some((0, 4)));
        assert_eq!(rank_range(5, 1, 2), Some((1, 2)));
        assert_eq!(rank_range(5, -2, -1), Some((3, 4)));
        assert_eq!(rank_range(5, 0, 100), Some((0, 4)));
        assert_eq!(rank_range(5, -100, 0), Some((0, 0)));
        assert_eq!(rank_range(5, 3, 1), None);
        assert_eq!(rank_range(5, 5, 9), None);
        assert_eq!(rank_range(0, 0, -1), None);
    }
}
