//! The domain nouns' GraphQL types, declared apart from their resolvers.
//!
//! Only definitions live here: the thin wrappers over the data layer's rows,
//! the connections and edges, and the enums. What each type answers (its
//! `#[Object]` impl) and its helpers are in its noun's file (`restaurant.rs`,
//! `menu.rs`, `order.rs`, …), and those files name one another's types from
//! here, never from each other: a restaurant lists menu items, and a menu
//! item names its restaurant, but neither file imports the other.

use std::sync::Arc;

use async_graphql::{Enum, SimpleObject};
use bistro_data::cart::StoredCart;
use bistro_data::entity::{menu_item, order, restaurant, review, user};
use bistro_data::popularity::Ranking;

use crate::connection::PageInfo;

/// A restaurant that takes orders through Bistro.
#[derive(Clone)]
pub struct Restaurant(pub std::sync::Arc<restaurant::Model>);

/// A dish or drink on a restaurant's menu, and what its parent list already
/// loaded for it.
#[derive(Clone)]
pub struct MenuItem(pub std::sync::Arc<menu_item::Model>, pub(crate) Prefetched);

/// Data a list loaded once for all its items, so their fields answer without
/// waiting on a loader each (a page of 200 items waiting on one ranking each
/// costs more than loading it). Empty when the item was reached alone.
#[derive(Clone, Default)]
pub(crate) struct Prefetched {
    /// The restaurant's ranking today, or why it could not be read.
    pub(crate) ranking: Option<Result<Arc<Ranking>, bistro_data::Error>>,
}

/// Which part of a meal a menu item is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Course {
    /// Something to drink.
    Drink,
    /// Served first.
    Starter,
    /// The main dish.
    Main,
    /// Served last, usually sweet.
    Dessert,
    /// Served alongside a main.
    Side,
}

/// One menu item in a menu, with its cursor.
pub struct MenuItemEdge {
    pub(crate) node: MenuItem,
}

/// A page of a restaurant's menu.
pub struct MenuItemConnection {
    pub(crate) edges: Vec<MenuItemEdge>,
    pub(crate) has_next: bool,
    pub(crate) has_previous: bool,
    /// Restaurant and course filter, for `totalCount`.
    pub(crate) count_key: Option<(i64, Option<String>)>,
}

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

/// A customer's rating and words about a restaurant (one per customer and restaurant).
#[derive(Clone)]
pub struct Review(pub review::Model);

/// One review in a list, with its cursor.
pub struct ReviewEdge {
    pub(crate) cursor: String,
    pub(crate) node: Review,
}

/// A page of a restaurant's reviews, newest first.
pub struct ReviewConnection {
    pub(crate) edges: Vec<ReviewEdge>,
    pub(crate) page_info: PageInfo,
    pub(crate) restaurant_id: i64,
}

/// An account: a customer, a restaurant's staff member, or an administrator.
#[derive(Clone)]
pub struct User(pub user::Model);

/// An order placed by a customer at one restaurant.
#[derive(Clone)]
pub struct Order(pub order::Model);

/// Where an order is in its lifecycle.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Placed by the customer, waiting for the restaurant.
    Placed,
    /// Accepted by the restaurant.
    Accepted,
    /// Being prepared.
    Preparing,
    /// Ready for pickup, delivery or the table.
    Ready,
    /// On its way to the customer.
    OutForDelivery,
    /// Handed over.
    Completed,
    /// Refused by the restaurant.
    Rejected,
    /// Cancelled before preparation.
    Cancelled,
}

/// How an order reaches the customer.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fulfilment {
    /// Collected at the counter.
    Pickup,
    /// Brought to an address.
    Delivery,
    /// Served at a table.
    DineIn,
}

/// One order in a list.
#[derive(SimpleObject)]
pub struct OrderEdge {
    /// Where this order is in the list.
    pub cursor: String,
    /// The order.
    pub node: Order,
}

/// A page of orders, newest first.
#[derive(SimpleObject)]
pub struct OrderConnection {
    /// The orders of this page.
    pub edges: Vec<OrderEdge>,
    /// Where this page is in the whole list.
    pub page_info: PageInfo,
}

/// A customer's open cart.
pub struct Cart(pub StoredCart);

// The objects made only of plain fields resolve whole in the executor's
// fast lane (`graphql.fast_path`): a field of theirs made `async` by mistake
// would quietly put a page's thousands of them back on a future each, so
// the crate does not build then. Objects with a field that waits on a
// loader do not always; they may (`MAY_RESOLVE_NOW`): when the fields a
// document selects need no await there, or their data was loaded ahead by
// the list above (`#[graphql(now = …)]`: a menu item's popularity, a
// trending item's item), so a menu page's items, edges and connection
// resolve with no future of their own.
const _: () = {
    use async_graphql::OutputType;
    assert!(<crate::money::Money as OutputType>::RESOLVES_NOW);
    assert!(<crate::rating::RatingSummary as OutputType>::RESOLVES_NOW);
    assert!(<Popularity as OutputType>::RESOLVES_NOW);
    assert!(<crate::connection::PageInfo as OutputType>::RESOLVES_NOW);
    assert!(<Vec<crate::restaurant::OpeningHours> as OutputType>::RESOLVES_NOW);
    assert!(<Option<Vec<Course>> as OutputType>::RESOLVES_NOW);
    assert!(!<Restaurant as OutputType>::RESOLVES_NOW);
    assert!(!<MenuItem as OutputType>::RESOLVES_NOW);
    assert!(!<MenuItemEdge as OutputType>::RESOLVES_NOW);
    assert!(<MenuItem as OutputType>::MAY_RESOLVE_NOW);
    assert!(<MenuItemEdge as OutputType>::MAY_RESOLVE_NOW);
    assert!(<MenuItemConnection as OutputType>::MAY_RESOLVE_NOW);
    assert!(<TrendingItem as OutputType>::MAY_RESOLVE_NOW);
    assert!(<crate::restaurant::RestaurantEdge as OutputType>::MAY_RESOLVE_NOW);
};
