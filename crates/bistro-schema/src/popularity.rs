//! `TrendingItem`: today's sales, as ranked by the data layer
//! (`bistro_data::popularity`, in the key-value store). `Popularity`, a
//! plain object, is declared whole in `objects`.

use async_graphql::{Context, Object};

use crate::error::Coded;
use crate::objects::{MenuItem, TrendingItem};

impl TrendingItem {
    /// `item` when the list loaded the items of all its entries ahead: then
    /// it needs no await, and the executor's fast lane resolves it. `None`
    /// otherwise.
    fn item_now(&self, ctx: &Context<'_>) -> Option<Option<MenuItem>> {
        let prefetched = self.item.as_ref()?;
        Some(
            crate::error::soft(ctx, prefetched.clone().coded())
                .flatten()
                .map(MenuItem::new),
        )
    }
}

/// A restaurant's item that is selling today, ranked by units ordered.
///
/// Cache: public, 30 s.
#[Object(serial)]
impl TrendingItem {
    /// The menu item.
    #[graphql(now = "item_now")]
    async fn item(&self, ctx: &Context<'_>) -> Option<MenuItem> {
        match self.item_now(ctx) {
            Some(item) => item,
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
