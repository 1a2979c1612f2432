//! Restaurant rating summaries: computed from reviews in SQL, cached in the
//! key-value store.
//!
//! **Layout** `rating:v2` (hash): one field per restaurant,
//! `"{average}|{count}|{written at}"`. A page's restaurants are one `HMGET`
//! and the misses one `HSET` back, one command each whatever the page size.
//! A summary older than `rating_cache_ttl_secs` is a miss. Written by the
//! loader on a miss and by review writes (after the commit); lost, it is
//! recomputed from SQL on the next read. (One hash means one slot on Redis
//! Cluster: summaries are small and read-mostly, so that slot's node carries
//! them all.)

use bistro_sql::KeyMap;
use std::sync::Arc;

use bistro_kv::Kv;
use bistro_kv::typed::Codec;
use bistro_sql::query::{self, RatingAggregate};
use sea_orm::DatabaseConnection;

use crate::batch::Load;
use crate::{Result, Settings};

bistro_kv::kv_key! {
    /// Every restaurant's cached rating summary, one field each.
    pub struct RatingsKey {} => hash i64 => CachedRating = "rating:v2";
}

/// A cached rating summary and when it was computed (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CachedRating {
    /// The summary.
    pub aggregate: RatingAggregate,
    /// When it was computed.
    pub written_at: i64,
}

impl Codec for CachedRating {
    fn encode(&self) -> String {
        format!(
            "{}|{}|{}",
            self.aggregate.average, self.aggregate.count, self.written_at
        )
    }
    fn decode(raw: &str) -> Option<Self> {
        let mut parts = raw.split('|');
        let aggregate = RatingAggregate {
            average: parts.next()?.parse().ok()?,
            count: parts.next()?.parse().ok()?,
        };
        Some(Self {
            aggregate,
            written_at: parts.next()?.parse().ok()?,
        })
    }
}

/// Forgets restaurants' cached summaries (after a review write commits).
pub async fn invalidate(kv: &Kv, restaurant_ids: &[i64]) -> bistro_kv::Result<u64> {
    let fields: Vec<(RatingsKey, i64)> = restaurant_ids
        .iter()
        .map(|id| (RatingsKey {}, *id))
        .collect();
    kv.remove_fields(&fields).await
}

/// Rating summaries: one `HMGET` of the cached summaries, then, for the
/// misses only, one SQL aggregate and one `HSET` back.
///
/// The summary is derived from SQL and the key-value store only caches it:
/// when that store is unreachable (or the shared caches are off) the summary
/// is computed from SQL and the field still answers.
pub struct RatingLoader {
    pub(crate) db: DatabaseConnection,
    pub(crate) kv: Kv,
    pub(crate) settings: Arc<Settings>,
}

impl Load<i64> for RatingLoader {
    type Value = RatingAggregate;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let mut out = KeyMap::with_capacity_and_hasher(keys.len(), Default::default());
        let mut cache_up = false;
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(self.settings.rating_cache_ttl_secs).unwrap_or(i64::MAX);
        if self.settings.shared_caches {
            match self.kv.load_hash_fields(&RatingsKey {}, keys).await {
                Ok(values) => {
                    out.extend(keys.iter().zip(values).filter_map(|(id, value)| {
                        let cached = value.filter(|c| now - c.written_at < ttl)?;
                        Some((*id, cached.aggregate))
                    }));
                    cache_up = true;
                }
                Err(error) => {
                    tracing::warn!(%error, "rating cache unreachable; computing from SQL");
                }
            }
        }
        let misses: Vec<i64> = keys
            .iter()
            .copied()
            .filter(|id| !out.contains_key(id))
            .collect();
        if misses.is_empty() {
            return Ok(out);
        }
        let computed = query::rating_aggregates(&self.db, &misses).await?;
        if cache_up {
            let entries: Vec<(RatingsKey, i64, CachedRating)> = computed
                .iter()
                .map(|(id, aggregate)| {
                    (
                        RatingsKey {},
                        *id,
                        CachedRating {
                            aggregate: *aggregate,
                            written_at: now,
                        },
                    )
                })
                .collect();
            // One HSET; a failed write-back only costs a recomputation next time.
            if let Err(error) = self
                .kv
                .store_fields(&entries, Some(self.settings.rating_cache_ttl()))
                .await
            {
                tracing::warn!(%error, "rating cache write-back failed");
            }
        }
        out.extend(computed);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_summaries_round_trip_and_garbage_is_a_miss() {
        let agg = CachedRating {
            aggregate: RatingAggregate {
                average: 4.25,
                count: 12,
            },
            written_at: 7,
        };
        assert_eq!(CachedRating::decode(&agg.encode()), Some(agg));
        assert_eq!(CachedRating::decode("4.25|12"), None);
        assert_eq!(CachedRating::decode("x|1|7"), None);
    }
}
