//! Restaurant rating summaries: computed from reviews in SQL, cached in the
//! key-value store.
//!
//! **Layout** `rating:v1:{restaurant id}` (string): `"{average}|{count}"`.
//! Written by the loader on a miss and by review writes (after the commit);
//! lost or expired, it is recomputed from SQL on the next read.

use std::collections::HashMap;
use std::sync::Arc;

use bistro_kv::Kv;
use bistro_kv::typed::Codec;
use bistro_sql::query::{self, RatingAggregate};
use sea_orm::DatabaseConnection;

use crate::batch::Load;
use crate::{Result, Settings};

bistro_kv::kv_key! {
    /// A restaurant's cached rating summary.
    pub struct RatingKey { pub restaurant_id: i64 } => value CachedRating = "rating:v1:{restaurant_id}";
}

/// A cached rating summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CachedRating(pub RatingAggregate);

impl Codec for CachedRating {
    fn encode(&self) -> String {
        format!("{}|{}", self.0.average, self.0.count)
    }
    fn decode(raw: &str) -> Option<Self> {
        let (average, count) = raw.split_once('|')?;
        Some(Self(RatingAggregate {
            average: average.parse().ok()?,
            count: count.parse().ok()?,
        }))
    }
}

/// Rating summaries: one `MGET` of the cached summaries, then, for the
/// misses only, one SQL aggregate and one pipelined write-back.
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

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>> {
        let cache_keys: Vec<RatingKey> = keys
            .iter()
            .map(|id| RatingKey { restaurant_id: *id })
            .collect();
        let mut out = HashMap::with_capacity(keys.len());
        let mut cache_up = false;
        if self.settings.shared_caches {
            match self.kv.load_many(&cache_keys).await {
                Ok(values) => {
                    out.extend(
                        keys.iter()
                            .zip(values)
                            .filter_map(|(id, value)| Some((*id, value?.0))),
                    );
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
            let entries: Vec<(RatingKey, CachedRating)> = computed
                .iter()
                .map(|(id, agg)| (RatingKey { restaurant_id: *id }, CachedRating(*agg)))
                .collect();
            // A failed write-back only costs a recomputation next time.
            if let Err(error) = self
                .kv
                .store_many(&entries, Some(self.settings.rating_cache_ttl()))
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
        let agg = CachedRating(RatingAggregate {
            average: 4.25,
            count: 12,
        });
        assert_eq!(CachedRating::decode(&agg.encode()), Some(agg));
        assert_eq!(CachedRating::decode("4.25"), None);
        assert_eq!(CachedRating::decode("x|1"), None);
    }
}
