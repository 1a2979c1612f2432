//! `Popularity` and `TrendingItem`: today's sales, as ranked by the data
//! layer (`bistro_data::popularity`, in the key-value store).

use async_graphql::{Context, Object, SimpleObject};

use crate::error::Coded;

/// How a menu item is doing today, from the restaurant's live ranking.
///
/// Cache: public, 30 s.
#[derive(SimpleObject, Debug, Clone, Copy)]
#[graphql(serial)]
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
    /// The item, when the list loaded it for all its entries.
    pub(crate) item: Option<
        Result<Option<std::sync::Arc<bistro_data::entity::menu_item::Model>>, bistro_data::Error>,
    >,
}

/// A restaurant's item that is selling today, ranked by units ordered.
///
/// Cache: public, 30 s.
#[Object(serial)]
impl TrendingItem {
    /// The menu item.
    async fn item(&self, ctx: &Context<'_>) -> Option<crate::menu::MenuItem> {
        match &self.item {
            Some(prefetched) => crate::error::soft(ctx, prefetched.clone().coded())
                .flatten()
                .map(crate::menu::MenuItem::new),
            None => crate::menu::MenuItem::load(ctx, self.menu_item_id).await,
        }
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
