//! The query root: entry points into the graph.

use async_graphql::{Context, ID, Object};
use bistro_data::RestaurantFilter;

use crate::connection::{self, PageArgs, page_cost};
use crate::error::{Coded, ErrorCode, nullable, soft};
use crate::federation;
use crate::ids::{CursorList as _, list};
use crate::limits::OWN_STATEMENT_COST;
use crate::menu::{MenuSearchConnection, MenuSearchEdge};
use crate::node::{self, Node};
use crate::objects::{MenuItem, Restaurant, User};
use crate::request::context::{loaders, scope};
use crate::restaurant::{Cuisine, RestaurantConnection, RestaurantEdge};
use bistro_data::restaurant::Slug;

/// Entry points for reading Bistro's data.
#[derive(Default)]
pub struct Query;

#[bistro_macros::page_args]
#[Object]
/// Entry points for reading Bistro's data.
impl Query {
    /// Restaurants in a stable order (oldest first), optionally of one cuisine.
    ///
    /// Cache: public, 300 s.
    #[graphql(complexity = "OWN_STATEMENT_COST + page_cost(first, last) * child_complexity")]
    async fn restaurants(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only restaurants of this cuisine (case-insensitive), e.g. \"italian\".")]
        cuisine: Option<String>,
        page: PageArgs,
    ) -> Option<RestaurantConnection> {
        nullable(ctx, async {
            let window = page.window::<list::Restaurants>(connection::limits(ctx)?)?;
            let filter = RestaurantFilter { cuisine };
            // Primes the by-id loader: fields that reach a restaurant again
            // (e.g. `menu.node.restaurant`) then cost nothing.
            let rows = scope(ctx)?
                .restaurants_page(&filter, &window)
                .await
                .coded()?;
            let (rows, has_next, has_previous) = connection::trim_page(rows, &window);
            let edges: Vec<RestaurantEdge> = rows
                .into_iter()
                .map(|r| RestaurantEdge {
                    cursor: list::Restaurants::encode(&r.id),
                    node: Restaurant(r),
                })
                .collect();
            Ok(RestaurantConnection {
                page_info: connection::page_info(&edges, |e| &e.cursor, has_next, has_previous),
                edges,
                filter,
                total_count: tokio::sync::OnceCell::new(),
            })
        })
        .await
    }

    /// Every cuisine the restaurants cook, by name, with how many cook it:
    /// the choices for `restaurants(cuisine:)`.
    ///
    /// Cache: public, 300 s.
    #[graphql(complexity = "OWN_STATEMENT_COST + child_complexity")]
    async fn cuisines(&self, ctx: &Context<'_>) -> Option<Vec<Cuisine>> {
        soft(ctx, crate::restaurant::cuisines(ctx).await)
    }

    /// One restaurant by its slug; null when there is none.
    ///
    /// Cache: public, 300 s.
    async fn restaurant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant's slug, e.g. \"trattoria-roma-12\".")] slug: String,
    ) -> Option<Restaurant> {
        nullable(ctx, async {
            Ok(loaders(ctx)?
                .restaurant_by_slug
                .load_one(Slug(slug))
                .await
                .coded()?
                .map(Restaurant))
        })
        .await
        .flatten()
    }

    /// The signed-in user; null for an anonymous request.
    ///
    /// Cache: private.
    async fn me(&self, ctx: &Context<'_>) -> Option<User> {
        let user_id = crate::auth::viewer(ctx).user_id()?;
        soft(ctx, User::try_load(ctx, user_id).await).flatten()
    }

    /// How checkout takes cards on this server: the payment processor, and
    /// what a browser needs to take a card with it (for Stripe, its
    /// publishable key and where to load Stripe.js from; the card's number
    /// then goes to Stripe only, and checkout gets its PaymentMethod id).
    fn payment_form(&self, ctx: &Context<'_>) -> Option<crate::order::PaymentForm> {
        let result = scope(ctx).map(|scope| crate::order::PaymentForm::of(scope.payments()));
        soft(ctx, result)
    }

    /// Refetches any object by its global id; null when nothing has that id.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id from any object's `id` field.")] id: ID,
    ) -> Option<Node> {
        soft(ctx, node::resolve(ctx, &id).await).flatten()
    }

    /// Refetches many objects by global id, in the order given (null where
    /// nothing has that id). Batched: one statement per entity type.
    #[graphql(complexity = "ids.len() * child_complexity")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids, at most 100.")] ids: Vec<ID>,
    ) -> Option<Vec<Option<Node>>> {
        let max = match connection::limits(ctx) {
            Ok(limits) => limits.max_node_ids,
            Err(e) => return soft(ctx, Err(e)),
        };
        if ids.len() > max {
            return soft(
                ctx,
                Err(ErrorCode::BadUserInput.error(format!("At most {max} ids at once."))),
            );
        }
        let resolved = node::resolve_many(ctx, &ids).await;
        Some(
            resolved
                .into_iter()
                .map(|r| soft(ctx, r).flatten())
                .collect(),
        )
    }

    /// Searches menu items of every restaurant by the words of `query` in
    /// their name, description and dietary tags ("spicy curry", "vegan",
    /// "gluten-free"), stemmed ("mushrooms" finds "mushroom"). A dish with
    /// any of the words is found; dishes with more of them come first, then
    /// the better match (a word in the name counts more). Common words such
    /// as "with" and "the" are ignored, and words after the eighth.
    ///
    /// Cache: public, 60 s.
    #[graphql(
        complexity = "crate::limits::SEARCH_COST + page_cost(first, None) * child_complexity"
    )]
    async fn search_menu(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Words to look for.")] query: String,
        #[graphql(desc = "Page size (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
    ) -> Option<MenuSearchConnection> {
        nullable(ctx, async {
            if query.len() > 200 {
                return Err(ErrorCode::BadUserInput.error("`query` is longer than 200 characters."));
            }
            // Forward only: `first` and `after` alone.
            let page = PageArgs {
                first,
                after,
                ..PageArgs::default()
            };
            let window = page.window::<list::Search>(connection::limits(ctx)?)?;
            // The cursor is the offset of the next hit: ranked results have no stable key.
            let offset = window.after.unwrap_or(0);
            let hits = scope(ctx)?
                .search_menu(&query, offset, window.limit + 1)
                .await
                .coded()?;
            let (hits, has_next, _) = connection::trim_page(hits, &window);
            let edges: Vec<MenuSearchEdge> = hits
                .into_iter()
                .zip(offset + 1..)
                .map(|(hit, next)| MenuSearchEdge {
                    cursor: list::Search::encode(&next),
                    node: MenuItem::new(hit.0),
                    rank: hit.1,
                })
                .collect();
            Ok(MenuSearchConnection {
                page_info: connection::page_info(&edges, |e| &e.cursor, has_next, offset > 0),
                edges,
            })
        })
        .await
    }

    /// For Apollo Federation routers: the entities `representations` name,
    /// in their order. An entry is null, with an error at its index, when its
    /// id is malformed (`BAD_USER_INPUT`) or names nothing the viewer may see
    /// (`NOT_FOUND`: an order outsiders may not see is answered like one that
    /// does not exist). Batched: one statement per entity type. At most 1,000
    /// representations (`graphql.max_representations`); more fail the whole
    /// field with `MAX_REPRESENTATIONS_EXCEEDED`.
    #[graphql(
        name = "_entities",
        complexity = "representations.len() * child_complexity"
    )]
    async fn entities(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Entity references as a router sends them: `{ \"__typename\": \"Order\", \"id\": \"…\" }`, with the type `Restaurant`, `MenuItem`, `Review`, `User` or `Order` and its global id."
        )]
        representations: Vec<async_graphql::Any>,
    ) -> async_graphql::Result<Vec<Option<federation::Entity>>> {
        let max = connection::limits(ctx)?.max_representations;
        if representations.len() > max {
            // Refused before any representation is read: a router that
            // batches more is told how many fit, and no entity is loaded.
            return Err(ErrorCode::MaxRepresentationsExceeded.error(format!(
                "At most {max} representations at once; this request has {}.",
                representations.len()
            )));
        }
        Ok(federation::entities(ctx, &representations).await)
    }

    /// For Apollo Federation routers: this service as a subgraph, with its
    /// schema and Federation v2 directives.
    #[graphql(name = "_service")]
    fn service(&self) -> federation::Service {
        federation::service()
    }
}
