//! `MenuItem`, courses and dietary tags, the menu connection, and menu search.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use bistro_data::entity::menu_item;
use bistro_data::options::OptionGroup;
use bistro_data::popularity::Ranking;
use bistro_data::stock::StockQuery;

use crate::connection::PageInfo;
use crate::error::{Coded, nullable, soft};
use crate::ids::{CursorList as _, list};
use crate::ids::{NodeType, global_id};
use crate::money::Money;
use crate::objects::{
    Course, MenuItem, MenuItemConnection, MenuItemEdge, Popularity, Prefetched, Restaurant,
};
use crate::request::context::loaders;

impl MenuItem {
    /// An item with nothing prefetched.
    pub fn new(model: std::sync::Arc<menu_item::Model>) -> Self {
        Self(model, Prefetched::default())
    }

    /// Loads a menu item by database id through the request's loader.
    pub async fn try_load(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Option<Self>> {
        let loaders = loaders(ctx)?;
        Ok(loaders.menu_item.load_one(id).await.coded()?.map(Self::new))
    }

    /// Like [`Self::try_load`], for nullable fields: a failure is reported and yields null.
    pub async fn load(ctx: &Context<'_>, id: i64) -> Option<Self> {
        soft(ctx, Self::try_load(ctx, id).await).flatten()
    }

    /// `popularity` when the list this item came from loaded its
    /// restaurant's ranking ahead (`Prefetched`): then it needs no await,
    /// and the executor's fast lane resolves it. `None` otherwise.
    fn popularity_now(&self, ctx: &Context<'_>) -> Option<Option<Popularity>> {
        let prefetched = self.1.ranking.as_ref()?;
        Some(soft(ctx, prefetched.clone().coded()).map(|ranking| self.popularity_in(&ranking)))
    }

    /// The item's place in its restaurant's ranking.
    fn popularity_in(&self, ranking: &Ranking) -> Popularity {
        let (orders_today, rank) = ranking.of(self.0.id);
        Popularity { orders_today, rank }
    }
}

#[Object]
/// A dish or drink on a restaurant's menu.
///
/// Cache: public, 300 s.
impl MenuItem {
    /// Globally unique, opaque identifier.
    pub fn id(&self) -> ID {
        global_id(NodeType::MenuItem, self.0.id)
    }

    /// Display name.
    fn name(&self) -> &str {
        &self.0.name
    }

    /// What is in it, in a sentence or two.
    fn description(&self) -> &str {
        &self.0.description
    }

    /// Current price of one unit, before options.
    fn price(&self) -> Money {
        Money::from_minor(self.0.price_amount, &self.0.currency_code)
    }

    /// Which part of the meal it is.
    fn course(&self) -> Course {
        Course::from_entity(self.0.course)
    }

    /// Dietary properties (vegetarian, gluten-free, …).
    fn dietary(&self) -> Vec<Dietary> {
        self.0
            .dietary
            .split(',')
            .filter_map(|tag| Dietary::from_stored(tag.trim()))
            .collect()
    }

    /// Whether it can be ordered now (staff switch items off when they run out).
    ///
    /// Cache: public, 10 s.
    fn available(&self) -> bool {
        self.0.available
    }

    /// Units the kitchen makes per day, when the item is limited; null when unlimited.
    fn daily_stock(&self) -> Option<i32> {
        self.0.daily_stock
    }

    /// Units left today (UTC) when the item is limited; null when unlimited.
    /// Checkout takes units atomically, so this never goes below zero.
    ///
    /// Cache: public, 10 s.
    async fn stock_remaining(&self, ctx: &Context<'_>) -> Option<i64> {
        let daily_stock = self.0.daily_stock?;
        nullable(ctx, async {
            loaders(ctx)?
                .stock
                .load_one(StockQuery {
                    restaurant_id: self.0.restaurant_id,
                    menu_item_id: self.0.id,
                    daily_stock,
                })
                .await
                .coded()
        })
        .await
        .flatten()
    }

    /// Choices offered on the item ("Size: Large +1.50"), in menu order.
    async fn option_groups(&self, ctx: &Context<'_>) -> Option<Vec<MenuOptionGroup>> {
        nullable(ctx, async {
            let groups = loaders(ctx)?
                .option_groups
                .load_one(self.0.id)
                .await
                .coded()?
                .unwrap_or_default();
            Ok(groups
                .iter()
                .cloned()
                .map(|group| MenuOptionGroup {
                    group,
                    currency_code: self.0.currency_code.clone(),
                })
                .collect())
        })
        .await
    }

    /// The restaurant that serves it.
    async fn restaurant(&self, ctx: &Context<'_>) -> Option<Restaurant> {
        soft(ctx, Restaurant::try_load(ctx, self.0.restaurant_id).await).flatten()
    }

    /// How it is selling today (UTC). Null with a `STORE_UNAVAILABLE` error when
    /// the key-value store is unreachable.
    #[graphql(now = "popularity_now")]
    async fn popularity(&self, ctx: &Context<'_>) -> Option<Popularity> {
        if let Some(popularity) = self.popularity_now(ctx) {
            return popularity;
        }
        nullable(ctx, async {
            let ranking = loaders(ctx)?
                .popularity
                .load_one(self.0.restaurant_id)
                .await
                .coded()?
                .unwrap_or_default();
            Ok(self.popularity_in(&ranking))
        })
        .await
    }
}

/// A group of choices offered on a menu item, e.g. "Size".
pub struct MenuOptionGroup {
    group: OptionGroup,
    currency_code: String,
}

#[Object]
/// A group of choices offered on a menu item, e.g. "Size".
///
/// Cache: as its parent.
impl MenuOptionGroup {
    /// Display name, e.g. "Size".
    fn name(&self) -> &str {
        &self.group.group.name
    }

    /// Whether at least one option must be chosen.
    fn required(&self) -> bool {
        self.group.group.min_choices > 0
    }

    /// Fewest options to choose (0: optional).
    fn min_choices(&self) -> i32 {
        self.group.group.min_choices
    }

    /// Most options to choose.
    fn max_choices(&self) -> i32 {
        self.group.group.max_choices
    }

    /// The choices, in menu order.
    fn options(&self) -> Vec<MenuOption> {
        self.group
            .options
            .iter()
            .map(|option| MenuOption {
                id: option.id,
                name: option.name.clone(),
                price_delta: Money::from_minor(option.price_delta_amount, &self.currency_code),
            })
            .collect()
    }
}

/// One choice in an option group, e.g. "Large +1.50".
///
/// Cache: as its parent.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MenuOption {
    /// Opaque identifier, for `addToCart(input: { optionIds })`.
    #[graphql(skip)]
    pub id: i64,
    /// Display name, e.g. "Large".
    pub name: String,
    /// Added to the item's price when chosen (may be zero).
    pub price_delta: Money,
}

#[async_graphql::ComplexObject]
impl MenuOption {
    /// Opaque identifier, for `addToCart(input: { optionIds })`.
    async fn id(&self) -> ID {
        crate::ids::option_id(self.id)
    }
}

impl Course {
    /// The value stored in the `course` column.
    pub fn stored(self) -> &'static str {
        match self {
            Self::Drink => "DRINK",
            Self::Starter => "STARTER",
            Self::Main => "MAIN",
            Self::Dessert => "DESSERT",
            Self::Side => "SIDE",
        }
    }

    pub(crate) fn from_entity(course: bistro_data::entity::Course) -> Self {
        use bistro_data::entity::Course as C;
        match course {
            C::Drink => Self::Drink,
            C::Starter => Self::Starter,
            C::Main => Self::Main,
            C::Dessert => Self::Dessert,
            C::Side => Self::Side,
        }
    }
}

/// A dietary property of a menu item.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dietary {
    /// No meat or fish.
    Vegetarian,
    /// No animal products.
    Vegan,
    /// No gluten-containing ingredients.
    GlutenFree,
    /// No dairy.
    DairyFree,
    /// No nuts.
    NutFree,
    /// Prepared to halal rules.
    Halal,
    /// Hot.
    Spicy,
}

impl Dietary {
    /// The tag stored in the `dietary` column.
    pub(crate) fn stored(self) -> &'static str {
        match self {
            Self::Vegetarian => "vegetarian",
            Self::Vegan => "vegan",
            Self::GlutenFree => "gluten_free",
            Self::DairyFree => "dairy_free",
            Self::NutFree => "nut_free",
            Self::Halal => "halal",
            Self::Spicy => "spicy",
        }
    }

    fn from_stored(tag: &str) -> Option<Self> {
        Some(match tag {
            "vegetarian" => Self::Vegetarian,
            "vegan" => Self::Vegan,
            "gluten_free" => Self::GlutenFree,
            "dairy_free" => Self::DairyFree,
            "nut_free" => Self::NutFree,
            "halal" => Self::Halal,
            "spicy" => Self::Spicy,
            _ => return None,
        })
    }
}

/// Cursor of a menu item within its restaurant's menu order.
pub fn menu_cursor(item: &menu_item::Model) -> String {
    list::Menu::encode(&bistro_data::MenuCursor {
        position: item.position,
        id: item.id,
    })
}

#[Object(serial)]
/// One menu item in a menu, with its cursor.
///
/// Cache: as its parent.
impl MenuItemEdge {
    /// Opaque position of this edge, for `after`/`before`.
    fn cursor(&self) -> String {
        menu_cursor(&self.node.0)
    }

    /// The menu item.
    fn node(&self) -> &MenuItem {
        &self.node
    }
}

#[Object]
/// A page of a restaurant's menu.
///
/// Cache: as its parent.
impl MenuItemConnection {
    /// The items of this page, with cursors.
    fn edges(&self) -> &[MenuItemEdge] {
        &self.edges
    }

    /// The items of this page, without cursors.
    fn nodes(&self) -> Vec<&MenuItem> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// Where this page sits in the menu.
    fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next,
            has_previous_page: self.has_previous,
            start_cursor: self.edges.first().map(|e| menu_cursor(&e.node.0)),
            end_cursor: self.edges.last().map(|e| menu_cursor(&e.node.0)),
        }
    }

    /// How many items the whole menu (with the same course filter) holds; batched across restaurants.
    async fn total_count(&self, ctx: &Context<'_>) -> Option<u64> {
        let key = self.count_key.clone()?;
        nullable(ctx, async {
            Ok(loaders(ctx)?
                .menu_count
                .load_one(key)
                .await
                .coded()?
                .unwrap_or(0))
        })
        .await
    }
}

/// One search hit, with its cursor and relevance.
pub struct MenuSearchEdge {
    pub(crate) cursor: String,
    pub(crate) node: MenuItem,
    pub(crate) rank: f64,
}

#[Object]
/// One search hit, with its cursor and relevance.
///
/// Cache: as its parent.
impl MenuSearchEdge {
    /// Opaque position of this hit, for `after`.
    fn cursor(&self) -> &str {
        &self.cursor
    }

    /// The matching menu item.
    fn node(&self) -> &MenuItem {
        &self.node
    }

    /// Relevance of the hit, higher is better: the number of words it matches,
    /// plus a fraction below 1 for how well it matches them. Only comparable
    /// within one search.
    fn rank(&self) -> f64 {
        self.rank
    }
}

/// A page of menu search results, best match first.
pub struct MenuSearchConnection {
    pub(crate) edges: Vec<MenuSearchEdge>,
    pub(crate) page_info: PageInfo,
}

#[Object]
/// A page of menu search results, best match first.
///
/// Cache: as its parent.
impl MenuSearchConnection {
    /// The hits of this page, with cursors.
    fn edges(&self) -> &[MenuSearchEdge] {
        &self.edges
    }

    /// The items of this page, without cursors.
    fn nodes(&self) -> Vec<&MenuItem> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// Where this page sits in the results.
    fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
}
