//! `Restaurant`, its connection, and the restaurant-level fields that reach
//! into both stores (menu, reviews, rating, trending items).

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use bistro_data::{MenuPageArgs, RestaurantFilter};
use serde::Deserialize;

use crate::auth::{Can, Rule};
use crate::connection::{self, PageArgs, PageInfo, page_cost};
use crate::error::{Coded, ErrorCode, nullable};
use crate::ids::{CursorList as _, list};
use crate::ids::{NodeType, global_id};
use crate::money::CurrencyCode;
use crate::objects::{
    Course, MenuItem, MenuItemConnection, MenuItemEdge, OrderConnection, OrderStatus, Prefetched,
    Restaurant, Review, ReviewConnection, ReviewEdge, TrendingItem,
};
use crate::rating::RatingSummary;
use crate::request::context::{loaders, scope};
use bistro_data::menu::MenuPageKey;
use bistro_data::review::ReviewPageKey;

/// Most trending items one restaurant returns.
const MAX_TRENDING: i32 = 20;

impl Restaurant {
    /// Loads a restaurant by database id through the request's loader.
    pub async fn try_load(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Option<Self>> {
        let loaders = loaders(ctx)?;
        Ok(loaders.restaurant.load_one(id).await.coded()?.map(Self))
    }
}

/// Guard helper for a restaurant's orders.
fn staff_of(restaurant_id: i64) -> Can {
    Can(Rule::StaffOf { restaurant_id })
}

#[bistro_macros::page_args]
#[Object]
/// A restaurant that takes orders through Bistro.
///
/// Cache: public, 300 s.
impl Restaurant {
    /// Globally unique, opaque identifier.
    pub fn id(&self) -> ID {
        global_id(NodeType::Restaurant, self.0.id)
    }

    /// URL-friendly unique name, e.g. "trattoria-roma-12".
    fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Display name.
    fn name(&self) -> &str {
        &self.0.name
    }

    /// Kind of cooking, lower-case (e.g. "italian").
    fn cuisine(&self) -> &str {
        &self.0.cuisine
    }

    /// A few sentences about the restaurant.
    fn description(&self) -> &str {
        &self.0.description
    }

    /// Street address.
    fn address(&self) -> &str {
        &self.0.address
    }

    /// Weekly opening hours, one entry per opening period.
    fn opening_hours(&self) -> Vec<OpeningHours> {
        serde_json::from_str(&self.0.opening_hours).unwrap_or_else(|error| {
            tracing::warn!(%error, restaurant.id = self.0.id, "unreadable opening hours");
            Vec::new()
        })
    }

    /// Currency of the restaurant's prices.
    fn currency_code(&self) -> CurrencyCode {
        CurrencyCode(self.0.currency_code.clone())
    }

    /// The menu in menu order, optionally one course only.
    #[graphql(complexity = "page_cost(first, last) * child_complexity")]
    async fn menu(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only items of this course.")] course: Option<Course>,
        page: PageArgs,
    ) -> Option<MenuItemConnection> {
        nullable(ctx, async {
            let window = page.window::<list::Menu>(connection::limits(ctx)?)?;
            let course = course.map(|c| c.stored().to_owned());
            let key = MenuPageKey {
                restaurant_id: self.0.id,
                args: MenuPageArgs {
                    course: course.clone(),
                    window: window.clone(),
                },
            };
            let loaders = loaders(ctx)?;
            // When the page's items ask for their popularity, the
            // restaurant's ranking is loaded once, here, alongside the page
            // (both batched across restaurants): 200 items each waiting on
            // the loader cost far more than one wait per restaurant.
            let look_ahead = ctx.look_ahead();
            let wants_popularity = look_ahead
                .field("edges")
                .field("node")
                .field("popularity")
                .exists()
                || look_ahead.field("nodes").field("popularity").exists();
            let (rows, ranking) = if wants_popularity {
                let (rows, ranking) = futures_util::join!(
                    loaders.menu_page.load_one(key),
                    loaders.popularity.load_one(self.0.id)
                );
                (rows, Some(ranking.map(Option::unwrap_or_default)))
            } else {
                (loaders.menu_page.load_one(key).await, None)
            };
            let rows = rows.coded()?.unwrap_or_default();
            let (rows, has_next, has_previous) = connection::trim_slice(&rows, &window);
            let prefetched = Prefetched { ranking };
            // Cursors are made only when asked for (`MenuItemEdge::cursor`).
            let edges: Vec<MenuItemEdge> = rows
                .iter()
                .map(|m| MenuItemEdge {
                    node: MenuItem(m.clone(), prefetched.clone()),
                })
                .collect();
            Ok(MenuItemConnection {
                edges,
                has_next,
                has_previous,
                count_key: Some((self.0.id, course)),
            })
        })
        .await
    }

    /// Orders placed here, newest first. Only the restaurant's staff and admins may read them.
    #[graphql(
        guard = "staff_of(self.0.id)",
        complexity = "page_cost(first, last) * child_complexity"
    )]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only orders in this status.")] status: Option<OrderStatus>,
        page: PageArgs,
    ) -> async_graphql::Result<Option<OrderConnection>> {
        OrderConnection::page(
            ctx,
            bistro_data::OrderOwner::Restaurant,
            self.0.id,
            status,
            page,
        )
        .await
        .map(Some)
    }

    /// Reviews, newest first.
    #[graphql(complexity = "page_cost(first, last) * child_complexity")]
    async fn reviews(&self, ctx: &Context<'_>, page: PageArgs) -> Option<ReviewConnection> {
        nullable(ctx, async {
            let window = page.window::<list::Reviews>(connection::limits(ctx)?)?;
            let key = ReviewPageKey {
                restaurant_id: self.0.id,
                window: window.clone(),
            };
            let rows = loaders(ctx)?
                .review_page
                .load_one(key)
                .await
                .coded()?
                .unwrap_or_default();
            let (rows, has_next, has_previous) = connection::trim_page(rows.to_vec(), &window);
            let edges: Vec<ReviewEdge> = rows
                .into_iter()
                .map(|r| ReviewEdge {
                    cursor: list::Reviews::encode(&r.id),
                    node: Review(r),
                })
                .collect();
            Ok(ReviewConnection {
                page_info: connection::page_info(&edges, |e| &e.cursor, has_next, has_previous),
                edges,
                restaurant_id: self.0.id,
            })
        })
        .await
    }

    /// Average rating and number of reviews. Cached in the key-value store and
    /// computed from the reviews when the cache misses or is unreachable.
    async fn rating(&self, ctx: &Context<'_>) -> Option<RatingSummary> {
        nullable(ctx, async {
            let aggregate = loaders(ctx)?.rating.load_one(self.0.id).await.coded()?;
            Ok(RatingSummary::from(aggregate.unwrap_or(
                bistro_data::RatingAggregate {
                    average: 0.0,
                    count: 0,
                },
            )))
        })
        .await
    }

    /// The restaurant's best-selling items today (UTC), most ordered first.
    /// Null with a `STORE_UNAVAILABLE` error when the key-value store is unreachable.
    #[graphql(
        complexity = "usize::try_from(limit.clamp(0, MAX_TRENDING)).unwrap_or(0) * child_complexity"
    )]
    async fn trending_items(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 3, desc = "How many items, at most 20.")] limit: i32,
    ) -> Option<Vec<TrendingItem>> {
        nullable(ctx, async {
            if !(0..=MAX_TRENDING).contains(&limit) {
                return Err(ErrorCode::BadUserInput
                    .error(format!("`limit` must be between 0 and {MAX_TRENDING}.")));
            }
            let loaders = loaders(ctx)?;
            let ranking = loaders
                .popularity
                .load_one(self.0.id)
                .await
                .coded()?
                .unwrap_or_default();
            let top: Vec<(i64, u64, u64)> =
                ranking.top(usize::try_from(limit).unwrap_or(0)).collect();
            // The items, when asked for, are loaded here once for the list
            // (batched across restaurants) rather than by each entry.
            let items = if ctx.look_ahead().field("item").exists() {
                Some(
                    loaders
                        .menu_item
                        .load_many(top.iter().map(|(id, _, _)| *id))
                        .await,
                )
            } else {
                None
            };
            Ok(top
                .into_iter()
                .map(|(menu_item_id, orders_today, rank)| TrendingItem {
                    menu_item_id,
                    orders_today,
                    rank,
                    item: items.as_ref().map(|items| {
                        items
                            .as_ref()
                            .map(|items| items.get(&menu_item_id).cloned())
                            .map_err(Clone::clone)
                    }),
                })
                .collect())
        })
        .await
    }
}

/// Days of the week.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

/// One opening period of a restaurant's week.
///
/// Cache: as its parent.
#[derive(SimpleObject, Debug, Clone, Deserialize)]
pub struct OpeningHours {
    /// The day the period starts.
    pub day: Weekday,
    /// Opening time, local, "HH:MM".
    pub opens: String,
    /// Closing time, local, "HH:MM" (may be past midnight, e.g. "01:00").
    pub closes: String,
}

/// One restaurant in a list, with its cursor.
pub struct RestaurantEdge {
    pub(crate) cursor: String,
    pub(crate) node: Restaurant,
}

#[Object(serial)]
/// One restaurant in a list, with its cursor.
///
/// Cache: as its parent.
impl RestaurantEdge {
    /// Opaque position of this edge, for `after`/`before`.
    fn cursor(&self) -> &str {
        &self.cursor
    }

    /// The restaurant.
    fn node(&self) -> &Restaurant {
        &self.node
    }
}

/// A page of restaurants.
pub struct RestaurantConnection {
    pub(crate) edges: Vec<RestaurantEdge>,
    pub(crate) page_info: PageInfo,
    pub(crate) filter: RestaurantFilter,
    /// `totalCount`, counted at most once for this connection.
    pub(crate) total_count: tokio::sync::OnceCell<async_graphql::Result<u64>>,
}

#[Object]
/// A page of restaurants.
///
/// Cache: as its parent.
impl RestaurantConnection {
    /// The restaurants of this page, with cursors.
    fn edges(&self) -> &[RestaurantEdge] {
        &self.edges
    }

    /// The restaurants of this page, without cursors.
    fn nodes(&self) -> Vec<&Restaurant> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// Where this page sits in the list.
    fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many restaurants the whole list holds (one extra `COUNT`, only when
    /// asked for, and once however many aliases ask).
    async fn total_count(&self, ctx: &Context<'_>) -> Option<u64> {
        nullable(ctx, async {
            let count = self
                .total_count
                .get_or_init(|| async {
                    match scope(ctx) {
                        Ok(scope) => scope.count_restaurants(&self.filter).await.coded(),
                        Err(error) => Err(error),
                    }
                })
                .await;
            count.clone()
        })
        .await
    }
}

/// A kind of cooking, with how many restaurants offer it.
///
/// Cache: public, 300 s.
#[derive(SimpleObject, Debug, Clone)]
pub struct Cuisine {
    /// Lower-case name, as `Restaurant.cuisine` gives it and
    /// `restaurants(cuisine:)` takes it, e.g. "italian".
    pub name: String,
    /// How many restaurants cook it.
    pub restaurant_count: i32,
}

/// Every cuisine, by name (one statement).
pub async fn cuisines(ctx: &Context<'_>) -> async_graphql::Result<Vec<Cuisine>> {
    let rows = scope(ctx)?.cuisines().await.coded()?;
    Ok(rows
        .into_iter()
        .map(|(name, count)| Cuisine {
            name,
            restaurant_count: i32::try_from(count).unwrap_or(i32::MAX),
        })
        .collect())
}
