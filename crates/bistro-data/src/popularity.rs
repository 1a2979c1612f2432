//! Today's popularity of menu items, kept in the key-value store only.
//!
//! **Layout** `popularity:{day}:{restaurant id}` (sorted set): member = menu
//! item id, score = units ordered that day (UTC). A restaurant's whole
//! ranking is one `ZREVRANGE` (bounded by its menu size), which answers
//! every popularity question about it, so a page of any size costs one
//! pipelined round trip. Keys expire two days after their day. Written by
//! checkout (and by seeding, which rebuilds the day from SQL orders); when
//! lost, today's counts restart from zero unless rebuilt from SQL.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bistro_kv::Kv;
use chrono::{NaiveDate, Utc};

use crate::Result;
use crate::batch::Load;

/// How long a day's sorted set outlives the day.
pub const RETENTION: Duration = Duration::from_secs(2 * 24 * 3600);

bistro_kv::kv_key! {
    /// One restaurant's ranking of items for one day.
    pub struct PopularityKey { pub day: NaiveDate, pub restaurant_id: i64 } => sorted_set i64 = "popularity:{day}:{restaurant_id}";
}

/// The current UTC day.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Adds `quantity` units of `menu_item_id` to the day's ranking (one round trip).
pub async fn record(
    kv: &Kv,
    day: NaiveDate,
    restaurant_id: i64,
    menu_item_id: i64,
    quantity: i64,
) -> bistro_kv::Result<()> {
    // Daily unit counts are far below 2^52, so the conversion is exact.
    let delta = quantity as f64;
    kv.add_score(
        &PopularityKey { day, restaurant_id },
        &menu_item_id,
        delta,
        Some(RETENTION),
    )
    .await
    .map(|_| ())
}

/// Forgets the rankings of these restaurants for `day` (before a rebuild).
pub async fn clear(kv: &Kv, day: NaiveDate, restaurant_ids: &[i64]) -> bistro_kv::Result<u64> {
    let keys: Vec<PopularityKey> = restaurant_ids
        .iter()
        .map(|id| PopularityKey {
            day,
            restaurant_id: *id,
        })
        .collect();
    kv.remove(&keys).await
}

/// One restaurant's ranking for the day, most ordered first.
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    entries: Vec<(i64, u64)>,
}

impl Ranking {
    /// From scores, highest first; non-positive scores are dropped.
    pub fn from_scores(scores: Vec<(i64, f64)>) -> Self {
        let entries = scores
            .into_iter()
            .map(|(id, score)| {
                // Scores are whole, non-negative unit counts.
                (id, score.max(0.0).round() as u64)
            })
            .filter(|(_, units)| *units > 0)
            .collect();
        Self { entries }
    }

    /// `(units ordered today, 1-based rank)` of an item; rank is `None` when it was not ordered.
    pub fn of(&self, menu_item_id: i64) -> (u64, Option<u64>) {
        self.entries
            .iter()
            .position(|(id, _)| *id == menu_item_id)
            .map_or((0, None), |i| (self.entries[i].1, Some(i as u64 + 1)))
    }

    /// The top `limit` items: `(id, units, rank)`.
    pub fn top(&self, limit: usize) -> impl Iterator<Item = (i64, u64, u64)> + '_ {
        self.entries
            .iter()
            .take(limit)
            .enumerate()
            .map(|(i, (id, units))| (*id, *units, i as u64 + 1))
    }
}

/// Today's ranking per restaurant: one pipelined `ZREVRANGE … WITHSCORES`
/// per batch. Rankings exist only in the key-value store: with it
/// unreachable, the load fails.
pub struct PopularityLoader {
    pub(crate) kv: Kv,
    pub(crate) day: NaiveDate,
}

impl Load<i64> for PopularityLoader {
    type Value = Arc<Ranking>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>> {
        let kv_keys: Vec<PopularityKey> = keys
            .iter()
            .map(|id| PopularityKey {
                day: self.day,
                restaurant_id: *id,
            })
            .collect();
        let rankings = self.kv.rankings(&kv_keys).await?;
        Ok(keys
            .iter()
            .zip(rankings)
            .map(|(id, entries)| (*id, Arc::new(Ranking::from_scores(entries))))
            .collect())
    }
}
