//! Today's popularity of menu items, kept in the key-value store only.
//!
//! **Layouts**, both expiring two days after their day:
//! - `popularity:{day}:{restaurant id}` (sorted set): member = menu item id,
//!   score = units ordered that day (UTC). The source of truth: checkout adds
//!   to it.
//! - `popularity:{day}:ranked` (hash): field = restaurant id, value = that
//!   restaurant's whole ranking, highest first, as `item:units,…`. Written in
//!   the same atomic step as every addition, so it never lags the set.
//!
//! Readers use the second: a page's restaurants, however many, are one
//! `HMGET` (one command), and a restaurant's ranking (bounded by its menu
//! size) answers both its `trendingItems` and every item's `popularity`.
//! The day is a hash tag (`{day}`), so on Redis Cluster both keys of a day
//! share a slot. Written by checkout (and by seeding, which rebuilds the day
//! from SQL orders); when lost, today's counts restart from zero unless
//! rebuilt from SQL.

use bistro_sql::KeyMap;
use std::sync::Arc;
use std::time::Duration;

use bistro_kv::Kv;
use chrono::{NaiveDate, Utc};

use crate::Result;
use crate::batch::Load;

/// How long a day's sorted set outlives the day.
pub const RETENTION: Duration = Duration::from_secs(2 * 24 * 3600);

bistro_kv::kv_key! {
    /// One restaurant's units per item for one day.
    pub struct PopularityKey { pub day: NaiveDate, pub restaurant_id: i64 } => sorted_set i64 = "popularity:{{{day}}}:{restaurant_id}";
}

bistro_kv::kv_key! {
    /// Every restaurant's ranking for one day, one field each.
    pub struct RankingsKey { pub day: NaiveDate } => hash i64 => Ranking = "popularity:{{{day}}}:ranked";
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
    kv.add_score_with_snapshot(
        &PopularityKey { day, restaurant_id },
        &menu_item_id,
        delta,
        Some(RETENTION),
        &RankingsKey { day },
        &restaurant_id,
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
    let sets = kv.remove(&keys).await?;
    kv.remove(&[RankingsKey { day }]).await?;
    Ok(sets)
}

/// One restaurant's ranking for the day, most ordered first.
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    entries: Vec<(i64, u64)>,
}

impl bistro_kv::typed::Codec for Ranking {
    fn encode(&self) -> String {
        self.entries
            .iter()
            .map(|(id, units)| format!("{id}:{units}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `item:units,…` highest first; entries that do not read are skipped.
    fn decode(raw: &str) -> Option<Self> {
        let scores = raw
            .split(',')
            .filter_map(|entry| {
                let (id, units) = entry.split_once(':')?;
                Some((id.parse().ok()?, units.parse().ok()?))
            })
            .collect();
        Some(Self::from_scores(scores))
    }
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

/// Today's ranking per restaurant: one `HMGET` of the day's rankings per
/// batch. Rankings exist only in the key-value store: with it unreachable,
/// the load fails.
pub struct PopularityLoader {
    pub(crate) kv: Kv,
    pub(crate) day: NaiveDate,
}

impl Load<i64> for PopularityLoader {
    type Value = Arc<Ranking>;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let rankings = self
            .kv
            .load_hash_fields(&RankingsKey { day: self.day }, keys)
            .await?;
        Ok(keys
            .iter()
            .zip(rankings)
            .map(|(id, ranking)| (*id, Arc::new(ranking.unwrap_or_default())))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use bistro_kv::typed::{Codec, Key};

    use super::*;

    #[test]
    fn rankings_read_what_the_store_writes() {
        let ranking = Ranking::decode("9:5,7:3,x:1,8:0").unwrap();
        assert_eq!(ranking.of(9), (5, Some(1)));
        assert_eq!(ranking.of(7), (3, Some(2)));
        assert_eq!(ranking.of(8), (0, None));
        assert_eq!(ranking.encode(), "9:5,7:3");
        let day = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(
            PopularityKey {
                day,
                restaurant_id: 4
            }
            .render(),
            "popularity:{2026-11-29}:4"
        );
        assert_eq!(
            RankingsKey { day }.render(),
            "popularity:{2026-11-29}:ranked"
        );
    }
}
