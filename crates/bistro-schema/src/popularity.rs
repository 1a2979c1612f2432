//! `TrendingItem`: today's sales, as ranked by the data layer
//! (`bistro_data::popularity`, in the key-value store). `Popularity`, a
//! plain object, is declared whole in `objects`.

use async_graphql::{Context, Object};

use crate::error::Coded;
use crate::objects::{MenuItem, TrendingItem};

/// A restaurant's item that is selling today, ranked by units ordered.
///
/// Cache: public, 30 s.
#[Object(serial)]
impl TrendingItem {
    /// The menu item.
    async fn item(&self, ctx: &Context<'_>) -> Option<MenuItem> {
        match &self.item {
            Some(prefetched) => crate::error::soft(ctx, prefetched.clone().coded())
                .flatten()
                .map(MenuItem::new),
            None => MenuItem::load(ctx, self.menu_item_id).await,
        }
    }

    /// Units ordered today (UTC).
    fn orders_today(&self) -> u64 {
        self.orders_today
    }

    /// Position in today's ranking (1 = most ordered).
    fn rank(&self) -> u64 {
        self.rank
    }
}
