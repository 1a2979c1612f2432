//! Today's popularity of menu items, kept in the key-value store.
//!
//! Layout: one sorted set per restaurant and day, `popularity:{day}:{restaurant id}`,
//! member = menu item id, score = units ordered that day. A restaurant's
//! whole ranking is one `ZREVRANGE` (bounded by its menu size), which
//! answers every popularity question about it, so a page of any size costs
//! one pipelined round trip. Days are UTC; keys expire two days after their day.

use std::time::Duration;

use async_graphql::{Context, Object, SimpleObject};
use bistro_kv::Kv;
use chrono::{NaiveDate, Utc};

/// How long a day's sorted set outlives the day.
pub const RETENTION: Duration = Duration::from_secs(2 * 24 * 3600);

/// The current UTC day.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The sorted-set key of one restaurant's ranking for one day.
pub fn key(day: NaiveDate, restaurant_id: i64) -> String {
    format!("popularity:{day}:{restaurant_id}")
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
    kv.zincr_by(
        &key(day, restaurant_id),
        &menu_item_id.to_string(),
        delta,
        Some(RETENTION),
    )
    .await
    .map(|_| ())
}

/// One restaurant's ranking for the day, most ordered first.
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    entries: Vec<(i64, u64)>,
}

impl Ranking {
    /// From `ZREVRANGE … WITHSCORES` output; members that are not ids are skipped.
    pub fn from_scores(scores: Vec<(String, f64)>) -> Self {
        let entries = scores
            .into_iter()
            .filter_map(|(member, score)| {
                // Scores are whole, non-negative unit counts.
                let units = score.max(0.0).round() as u64;
                Some((member.parse().ok()?, units))
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

/// How a menu item is doing today, from the restaurant's live ranking.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct Popularity {
    /// Units of this item ordered today (UTC), 0 if none.
    pub orders_today: u64,
    /// Position among the restaurant's items by units ordered today (1 = most ordered); null when not ordered today.
    pub rank: Option<u64>,
}

/// A restaurant's item that is selling today.
pub struct TrendingItem {
    pub(crate) menu_item_id: i64,
    pub(crate) orders_today: u64,
    pub(crate) rank: u64,
}

/// A restaurant's item that is selling today, ranked by units ordered.
#[Object]
impl TrendingItem {
    /// The menu item.
    async fn item(&self, ctx: &Context<'_>) -> Option<crate::menu::MenuItem> {
        crate::menu::MenuItem::load(ctx, self.menu_item_id).await
    }

    /// Units ordered today (UTC).
    async fn orders_today(&self) -> u64 {
        self.orders_today
    }

    /// Position in today's ranking (1 = most ordered).
    async fn rank(&self) -> u64 {
        self.rank
    }
}
