//! Typed keys: a key type tied to its value type and its encoding.
//!
//! Every layout an application keeps in the store is declared once with
//! [`kv_key!`](crate::kv_key): the key's parts, the pattern that renders
//! them, and what the key holds (a string of one value type, a hash of typed
//! fields, a sorted set of typed members, a counter). The typed methods of
//! [`Kv`](crate::Kv) only accept a key with the value type it was declared
//! with, so a cart key cannot be read as a rating, and the encoding of each
//! value lives in one [`Codec`] impl instead of at every call site.
//!
//! A stored value that does not decode (another version's encoding, a hand
//! edit) reads as missing: for a cache that is a miss, for everything else
//! the same as an expired entry.

use crate::Result;

/// How a value is written to and read from the store.
pub trait Codec: Sized {
    /// The stored form.
    fn encode(&self) -> String;
    /// The value of a stored form; `None` when it cannot be read (treated as missing).
    fn decode(raw: &str) -> Option<Self>;
}

macro_rules! codec_by_parse {
    ($($ty:ty),*) => {$(
        impl Codec for $ty {
            fn encode(&self) -> String {
                self.to_string()
            }
            fn decode(raw: &str) -> Option<Self> {
                raw.parse().ok()
            }
        }
    )*};
}

codec_by_parse!(i32, i64, u32, u64, String);

/// A key whose rendered name is known: what every layout has in common.
pub trait Key {
    /// The key's name in the store (before the handle's prefix).
    fn render(&self) -> String;
}

/// A string key holding one value.
pub trait ValueKey: Key {
    /// What the key holds.
    type Value: Codec;
}

/// A hash key whose fields and values are typed.
pub trait HashKey: Key {
    /// The fields' type.
    type Field: Codec;
    /// The values' type.
    type Value: Codec;
}

/// A sorted-set key whose members are typed (scores are `f64`).
pub trait SortedSetKey: Key {
    /// The members' type.
    type Member: Codec;
}

/// An integer counter.
pub trait CounterKey: Key {}

/// Declares a key layout: a struct of the key's parts, rendered by a
/// pattern, tied to what the key holds.
///
/// ```
/// use bistro_kv::kv_key;
/// kv_key! {
///     /// A restaurant's cached review count.
///     pub struct ReviewCountKey { pub restaurant_id: i64 } => value u64 = "reviews:v1:{restaurant_id}";
/// }
/// kv_key! {
///     /// Units of each item sold per restaurant and day.
///     pub struct SalesKey { pub day: String, pub restaurant_id: i64 } => sorted_set i64 = "sales:{day}:{restaurant_id}";
/// }
/// use bistro_kv::typed::Key as _;
/// assert_eq!(ReviewCountKey { restaurant_id: 7 }.render(), "reviews:v1:7");
/// ```
///
/// The kinds are `value V`, `hash F => V`, `sorted_set M` and `counter`.
#[macro_export]
macro_rules! kv_key {
    (@struct $(#[$meta:meta])* $vis:vis $name:ident { $($fvis:vis $field:ident : $fty:ty),* $(,)? } $pattern:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        $vis struct $name { $($fvis $field: $fty),* }

        impl $crate::typed::Key for $name {
            fn render(&self) -> String {
                let Self { $($field),* } = self;
                format!($pattern)
            }
        }
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* } => value $value:ty = $pattern:literal;) => {
        $crate::kv_key!(@struct $(#[$meta])* $vis $name { $($body)* } $pattern);
        impl $crate::typed::ValueKey for $name {
            type Value = $value;
        }
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* } => hash $field:ty => $value:ty = $pattern:literal;) => {
        $crate::kv_key!(@struct $(#[$meta])* $vis $name { $($body)* } $pattern);
        impl $crate::typed::HashKey for $name {
            type Field = $field;
            type Value = $value;
        }
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* } => sorted_set $member:ty = $pattern:literal;) => {
        $crate::kv_key!(@struct $(#[$meta])* $vis $name { $($body)* } $pattern);
        impl $crate::typed::SortedSetKey for $name {
            type Member = $member;
        }
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* } => counter = $pattern:literal;) => {
        $crate::kv_key!(@struct $(#[$meta])* $vis $name { $($body)* } $pattern);
        impl $crate::typed::CounterKey for $name {}
    };
}

fn render_all<K: Key>(keys: &[K]) -> Vec<String> {
    keys.iter().map(Key::render).collect()
}

fn decode_opt<V: Codec>(raw: Option<String>) -> Option<V> {
    raw.as_deref().and_then(V::decode)
}

/// The typed face of [`Kv`](crate::Kv). Each method is one round trip, like
/// the untyped method it wraps (none for an empty list).
impl crate::Kv {
    /// The value at `key`.
    pub async fn load<K: ValueKey>(&self, key: &K) -> Result<Option<K::Value>> {
        Ok(decode_opt(self.get(&key.render()).await?))
    }

    /// The values at `keys`, in order (one `MGET`).
    pub async fn load_many<K: ValueKey>(&self, keys: &[K]) -> Result<Vec<Option<K::Value>>> {
        let raw = self.mget(&render_all(keys)).await?;
        Ok(raw.into_iter().map(decode_opt).collect())
    }

    /// Stores `value` at `key`, expiring after `ttl` when given.
    pub async fn store<K: ValueKey>(
        &self,
        key: &K,
        value: &K::Value,
        ttl: Option<std::time::Duration>,
    ) -> Result<()> {
        self.set(&key.render(), &value.encode(), ttl).await
    }

    /// Stores many values in one pipeline, each with the same expiry.
    pub async fn store_many<K: ValueKey>(
        &self,
        entries: &[(K, K::Value)],
        ttl: Option<std::time::Duration>,
    ) -> Result<()> {
        let entries: Vec<(String, String)> = entries
            .iter()
            .map(|(k, v)| (k.render(), v.encode()))
            .collect();
        self.set_many(&entries, ttl).await
    }

    /// Stores `value` only if `key` is absent; `true` when this call stored it.
    pub async fn store_if_absent<K: ValueKey>(
        &self,
        key: &K,
        value: &K::Value,
        ttl: Option<std::time::Duration>,
    ) -> Result<bool> {
        self.set_nx(&key.render(), &value.encode(), ttl).await
    }

    /// Replaces the value at `key` only if it currently is `expected` (atomically).
    pub async fn replace_if<K: ValueKey>(
        &self,
        key: &K,
        expected: &K::Value,
        new: &K::Value,
        ttl: Option<std::time::Duration>,
    ) -> Result<bool> {
        self.compare_and_set(&key.render(), &expected.encode(), &new.encode(), ttl)
            .await
    }

    /// Deletes the value at `key` only if it currently is `expected` (atomically).
    pub async fn remove_if<K: ValueKey>(&self, key: &K, expected: &K::Value) -> Result<bool> {
        self.delete_if(&key.render(), &expected.encode()).await
    }

    /// Takes amounts from integer fields of one hash, all or nothing
    /// ([`Kv::htake`](crate::Kv::htake)): `(field, amount, initial value when missing)`,
    /// once per `hold` (a field name and the value it records) when given.
    pub async fn take_fields<K: HashKey<Value = i64>>(
        &self,
        key: &K,
        takes: &[(K::Field, i64, i64)],
        ttl_if_new: Option<std::time::Duration>,
        hold: Option<(&str, &str)>,
    ) -> Result<std::result::Result<Vec<i64>, usize>> {
        let takes: Vec<(String, i64, i64)> = takes
            .iter()
            .map(|(field, amount, initial)| (field.encode(), *amount, *initial))
            .collect();
        self.htake(&key.render(), &takes, ttl_if_new, hold).await
    }

    /// Gives amounts back to the integer fields of one hash that still exist
    /// ([`Kv::hgive`](crate::Kv::hgive)).
    pub async fn give_fields<K: HashKey<Value = i64>>(
        &self,
        key: &K,
        gives: &[(K::Field, i64)],
    ) -> Result<Vec<Option<i64>>> {
        self.hgive(&key.render(), &encode_gives(gives)).await
    }

    /// Undoes the take recorded in the field `hold` ([`Kv::hrelease`](crate::Kv::hrelease)).
    pub async fn release_fields<K: HashKey<Value = i64>>(
        &self,
        key: &K,
        hold: &str,
        gives: &[(K::Field, i64)],
    ) -> Result<Vec<Option<i64>>> {
        self.hrelease(&key.render(), hold, &encode_gives(gives))
            .await
    }

    /// Gives amounts back once per `marker` ([`Kv::hgive_once`](crate::Kv::hgive_once)).
    pub async fn give_fields_once<K: HashKey<Value = i64>>(
        &self,
        key: &K,
        marker: &str,
        gives: &[(K::Field, i64)],
    ) -> Result<Vec<Option<i64>>> {
        self.hgive_once(&key.render(), marker, &encode_gives(gives))
            .await
    }

    /// Deletes keys of one layout; returns how many existed.
    pub async fn remove<K: Key>(&self, keys: &[K]) -> Result<u64> {
        self.del(&render_all(keys)).await
    }

    /// One field of each of many hashes, in order (one pipeline).
    pub async fn load_fields<K: HashKey>(
        &self,
        fields: &[(K, K::Field)],
    ) -> Result<Vec<Option<K::Value>>> {
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, f)| (k.render(), f.encode()))
            .collect();
        let raw = self.hget_many(&fields).await?;
        Ok(raw.into_iter().map(decode_opt).collect())
    }

    /// Fields of one hash, in order (one `HMGET`).
    pub async fn load_hash_fields<K: HashKey>(
        &self,
        key: &K,
        fields: &[K::Field],
    ) -> Result<Vec<Option<K::Value>>> {
        let raw = self.load_hash_texts(key, fields).await?;
        Ok(raw.into_iter().map(decode_opt).collect())
    }

    /// Fields of one hash as stored, not decoded, in order (one `HMGET`):
    /// for a caller that decodes them its own way.
    pub async fn load_hash_texts<K: HashKey>(
        &self,
        key: &K,
        fields: &[K::Field],
    ) -> Result<Vec<Option<String>>> {
        let fields: Vec<String> = fields.iter().map(Codec::encode).collect();
        self.hmget(&key.render(), &fields).await
    }

    /// Adds `delta` to a member's score and, atomically, writes the set's
    /// whole ranking into `field` of the hash `snapshot` (see
    /// [`Kv::zincr_by_with_snapshot`](crate::Kv::zincr_by_with_snapshot)).
    pub async fn add_score_with_snapshot<S: SortedSetKey, H: HashKey>(
        &self,
        key: &S,
        member: &S::Member,
        delta: f64,
        ttl: Option<std::time::Duration>,
        snapshot: &H,
        field: &H::Field,
    ) -> Result<f64> {
        self.zincr_by_with_snapshot(
            &key.render(),
            &member.encode(),
            delta,
            ttl,
            &snapshot.render(),
            &field.encode(),
        )
        .await
    }

    /// Every field of a hash (one `HGETALL`); fields or values that do not decode are skipped.
    pub async fn load_hash<K: HashKey>(&self, key: &K) -> Result<Vec<(K::Field, K::Value)>> {
        let raw = self.hgetall(&key.render()).await?;
        Ok(raw
            .into_iter()
            .filter_map(|(f, v)| Some((K::Field::decode(&f)?, K::Value::decode(&v)?)))
            .collect())
    }

    /// Deletes fields of hashes in one pipeline; returns how many existed.
    pub async fn remove_fields<K: HashKey>(&self, fields: &[(K, K::Field)]) -> Result<u64> {
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, f)| (k.render(), f.encode()))
            .collect();
        self.hdel_many(&fields).await
    }

    /// Sets fields of hashes in one pipeline; each touched hash gets `ttl` as its expiry.
    pub async fn store_fields<K: HashKey>(
        &self,
        entries: &[(K, K::Field, K::Value)],
        ttl: Option<std::time::Duration>,
    ) -> Result<()> {
        let entries: Vec<(String, String, String)> = entries
            .iter()
            .map(|(k, f, v)| (k.render(), f.encode(), v.encode()))
            .collect();
        self.hset_many(&entries, ttl).await
    }

    /// Adds `delta` to a member's score; refreshes the set's expiry to `ttl` when given.
    pub async fn add_score<K: SortedSetKey>(
        &self,
        key: &K,
        member: &K::Member,
        delta: f64,
        ttl: Option<std::time::Duration>,
    ) -> Result<f64> {
        self.zincr_by(&key.render(), &member.encode(), delta, ttl)
            .await
    }

    /// The whole ranking of each set, highest score first, in order (one
    /// round trip); members that do not decode are skipped.
    pub async fn rankings<K: SortedSetKey>(
        &self,
        keys: &[K],
    ) -> Result<Vec<Vec<(K::Member, f64)>>> {
        let raw = self
            .zrevrange_with_scores_many(&render_all(keys), 0, -1)
            .await?;
        Ok(raw
            .into_iter()
            .map(|entries| {
                entries
                    .into_iter()
                    .filter_map(|(member, score)| Some((K::Member::decode(&member)?, score)))
                    .collect()
            })
            .collect())
    }

    /// Adds `delta` to a counter and returns the result; a counter created
    /// by this call expires after `ttl_if_new`.
    pub async fn bump<K: CounterKey>(
        &self,
        key: &K,
        delta: i64,
        ttl_if_new: Option<std::time::Duration>,
    ) -> Result<i64> {
        self.incr_by(&key.render(), delta, ttl_if_new).await
    }

    /// [`Self::bump`] on many counters in one round trip, results in order.
    pub async fn bump_many<K: CounterKey>(
        &self,
        keys: &[K],
        delta: i64,
        ttl_if_new: Option<std::time::Duration>,
    ) -> Result<Vec<i64>> {
        self.incr_many(&render_all(keys), delta, ttl_if_new).await
    }

    /// The values of counters of different layouts, in order (one `MGET`; missing counts as 0).
    pub async fn counter_values(&self, keys: &[&(dyn CounterKey + Sync)]) -> Result<Vec<i64>> {
        let raw = self
            .mget(&keys.iter().map(|k| k.render()).collect::<Vec<_>>())
            .await?;
        Ok(raw
            .into_iter()
            .map(|v| v.and_then(|v| v.parse().ok()).unwrap_or(0))
            .collect())
    }

    /// Adds `delta` to counters of different layouts in one round trip, results in order.
    pub async fn bump_each(
        &self,
        keys: &[&(dyn CounterKey + Sync)],
        delta: i64,
        ttl_if_new: Option<std::time::Duration>,
    ) -> Result<Vec<i64>> {
        self.incr_many(
            &keys.iter().map(|k| k.render()).collect::<Vec<_>>(),
            delta,
            ttl_if_new,
        )
        .await
    }

    /// The current values of counters, in order (one `MGET`; missing counts as 0).
    pub async fn counters<K: CounterKey>(&self, keys: &[K]) -> Result<Vec<i64>> {
        let raw = self.mget(&render_all(keys)).await?;
        Ok(raw
            .into_iter()
            .map(|v| v.and_then(|v| v.parse().ok()).unwrap_or(0))
            .collect())
    }
}

fn encode_gives<F: Codec>(gives: &[(F, i64)]) -> Vec<(String, i64)> {
    gives
        .iter()
        .map(|(field, amount)| (field.encode(), *amount))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::kv_key! {
        /// A test layout.
        pub struct PairKey { pub a: i64, pub b: String } => value u64 = "pair:{a}:{b}";
    }

    #[test]
    fn keys_render_their_pattern() {
        let key = PairKey {
            a: 3,
            b: "x".into(),
        };
        assert_eq!(key.render(), "pair:3:x");
    }

    #[test]
    fn numbers_round_trip_and_garbage_reads_as_missing() {
        assert_eq!(i64::decode(&(-5i64).encode()), Some(-5));
        assert_eq!(u64::decode("x"), None);
    }
}
