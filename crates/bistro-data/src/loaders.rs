//! Every loader of one request, built fresh for each [`Scope`](crate::Scope).

use std::sync::Arc;

use bistro_kv::Kv;
use sea_orm::DatabaseConnection;

use crate::Settings;
use crate::account::{StaffRestaurantsLoader, UserLoader, UserNameLoader};
use crate::batch::Batched;
use crate::cart::CartLoader;
use crate::menu::{
    DecodedPages, MenuCountKey, MenuCountLoader, MenuItemLoader, MenuPageKey, MenuPageLoader,
};
use crate::options::OptionGroupsLoader;
use crate::order::{OrderEventsLoader, PaymentLoader};
use crate::order::{OrderLinesLoader, OrderLoader, OrderPageKey, OrderPageLoader};
use crate::popularity::PopularityLoader;
use crate::rating::RatingLoader;
use crate::restaurant::{RestaurantLoader, Slug};
use crate::review::{ReviewLoader, ReviewPageKey, ReviewPageLoader};
use crate::stock::{StockLoader, StockQuery};

/// Every loader of one request. Each answers the keys asked for together
/// with one SQL statement or one key-value round trip ([`Batched`]).
pub struct Loaders {
    /// Restaurants by id.
    pub restaurant: Batched<RestaurantLoader, i64>,
    /// Restaurants by slug.
    pub restaurant_by_slug: Batched<RestaurantLoader, Slug>,
    /// Menu items by id.
    pub menu_item: Batched<MenuItemLoader, i64>,
    /// Reviews by id.
    pub review: Batched<ReviewLoader, i64>,
    /// Public display names of users by id.
    pub user_name: Batched<UserNameLoader, i64>,
    /// One menu page per restaurant (through the shared menu cache).
    pub menu_page: Batched<MenuPageLoader, MenuPageKey>,
    /// Menu sizes per restaurant.
    pub menu_count: Batched<MenuCountLoader, MenuCountKey>,
    /// One review page per restaurant.
    pub review_page: Batched<ReviewPageLoader, ReviewPageKey>,
    /// Rating summaries (shared cache over a SQL aggregate).
    pub rating: Batched<RatingLoader, i64>,
    /// Today's popularity ranking per restaurant (key-value).
    pub popularity: Batched<PopularityLoader, i64>,
    /// Whole user rows by id.
    pub user: Batched<UserLoader, i64>,
    /// The restaurants each staff member works for, by user id.
    pub staff_restaurants: Batched<StaffRestaurantsLoader, i64>,
    /// Orders by id.
    pub order: Batched<OrderLoader, i64>,
    /// The lines of each order.
    pub order_lines: Batched<OrderLinesLoader, i64>,
    /// One order page per customer or restaurant.
    pub order_page: Batched<OrderPageLoader, OrderPageKey>,
    /// Open carts by user id (key-value).
    pub cart: Batched<CartLoader, i64>,
    /// Option groups (with their options) by menu item id.
    pub option_groups: Batched<OptionGroupsLoader, i64>,
    /// The payment of each order, by order id.
    pub payment: Batched<PaymentLoader, i64>,
    /// The events of each order, by order id.
    pub order_events: Batched<OrderEventsLoader, i64>,
    /// Today's units left of limited items (key-value, recomputed from SQL when missing).
    pub stock: Batched<StockLoader, StockQuery>,
}

impl Loaders {
    /// Fresh loaders over one request's store handles.
    pub(crate) fn new(
        db: &DatabaseConnection,
        kv: &Kv,
        settings: &Arc<Settings>,
        decoded_pages: &Arc<DecodedPages>,
    ) -> Self {
        let batch = settings.max_batch_size;
        let db = || db.clone();
        Self {
            restaurant: Batched::new(RestaurantLoader { db: db() }, batch),
            restaurant_by_slug: Batched::new(RestaurantLoader { db: db() }, batch),
            menu_item: Batched::new(MenuItemLoader { db: db() }, batch),
            review: Batched::new(ReviewLoader { db: db() }, batch),
            user_name: Batched::new(UserNameLoader { db: db() }, batch),
            menu_page: Batched::new(
                MenuPageLoader {
                    db: db(),
                    kv: kv.clone(),
                    settings: settings.clone(),
                    decoded: decoded_pages.clone(),
                },
                batch,
            ),
            menu_count: Batched::new(MenuCountLoader { db: db() }, batch),
            review_page: Batched::new(ReviewPageLoader { db: db() }, batch),
            rating: Batched::new(
                RatingLoader {
                    db: db(),
                    kv: kv.clone(),
                    settings: settings.clone(),
                },
                batch,
            ),
            popularity: Batched::new(
                PopularityLoader {
                    kv: kv.clone(),
                    day: crate::popularity::today(),
                },
                batch,
            ),
            user: Batched::new(UserLoader { db: db() }, batch),
            staff_restaurants: Batched::new(StaffRestaurantsLoader { db: db() }, batch),
            order: Batched::new(OrderLoader { db: db() }, batch),
            order_lines: Batched::new(OrderLinesLoader { db: db() }, batch),
            order_page: Batched::new(OrderPageLoader { db: db() }, batch),
            cart: Batched::new(CartLoader { kv: kv.clone() }, batch),
            option_groups: Batched::new(OptionGroupsLoader { db: db() }, batch),
            payment: Batched::new(PaymentLoader { db: db() }, batch),
            order_events: Batched::new(OrderEventsLoader { db: db() }, batch),
            stock: Batched::new(
                StockLoader {
                    db: db(),
                    kv: kv.clone(),
                    day: crate::popularity::today(),
                },
                batch,
            ),
        }
    }
}
