//! Global object identification: the `Node` interface, `node`/`nodes`.
//!
//! Global ids themselves are `ids.rs`'s. The server resolves them through
//! the same loaders as every other field, so `nodes(ids:)` with a hundred mixed ids costs one statement per
//! entity type.

use crate::error::ErrorCode;
use crate::ids::{NodeType, parse_global_id};
use crate::objects::{MenuItem, Order, Restaurant, Review, User};
use async_graphql::{Context, ID, Interface};

/// An object with a globally unique, opaque id that `node(id:)` can refetch.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Globally unique, opaque identifier of this object."
))]
pub enum Node {
    Restaurant(Restaurant),
    MenuItem(MenuItem),
    Review(Review),
    User(User),
    Order(Order),
}

/// Resolves one global id through the loaders; `Ok(None)` when nothing has that id.
pub async fn resolve(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Option<Node>> {
    let Some((ty, id)) = parse_global_id(id) else {
        return Err(ErrorCode::BadUserInput.error("Not a valid node id."));
    };
    resolve_as(ctx, ty, id).await
}

/// Resolves many global ids at once, in order: one load per entity type
/// for all of them (each type's loader waited on once), with the
/// authorization of `node(id:)`.
pub async fn resolve_many(
    ctx: &Context<'_>,
    ids: &[ID],
) -> Vec<async_graphql::Result<Option<Node>>> {
    let parsed: Vec<Option<(NodeType, i64)>> = ids.iter().map(|id| parse_global_id(id)).collect();
    resolve_keys(ctx, &parsed).await
}

/// [`resolve_many`] for ids already parsed (`None`: not a node id), in
/// their order: each entity type's keys in one `load_many`, with the
/// authorization of `node(id:)`. `_entities` resolves through here too.
pub async fn resolve_keys(
    ctx: &Context<'_>,
    parsed: &[Option<(NodeType, i64)>],
) -> Vec<async_graphql::Result<Option<Node>>> {
    let loaders = match crate::request::context::loaders(ctx) {
        Ok(loaders) => loaders,
        Err(error) => return parsed.iter().map(|_| Err(error.clone())).collect(),
    };
    let of = |ty: NodeType| {
        parsed
            .iter()
            .flatten()
            .filter(move |(t, _)| *t == ty)
            .map(|(_, id)| *id)
    };
    let (restaurants, items, reviews, users, orders) = futures_util::join!(
        loaders.restaurant.load_many(of(NodeType::Restaurant)),
        loaders.menu_item.load_many(of(NodeType::MenuItem)),
        loaders.review.load_many(of(NodeType::Review)),
        loaders.user.load_many(of(NodeType::User)),
        loaders.order.load_many(of(NodeType::Order)),
    );
    fn pick<V: Clone, T>(
        loaded: &bistro_data::Result<bistro_data::KeyMap<i64, V>>,
        id: i64,
        make: impl FnOnce(V) -> Option<T>,
    ) -> async_graphql::Result<Option<T>> {
        match loaded {
            Ok(values) => Ok(values.get(&id).cloned().and_then(make)),
            Err(error) => Err(crate::error::store_error(error)),
        }
    }
    parsed
        .iter()
        .map(|parsed| match *parsed {
            None => Err(ErrorCode::BadUserInput.error("Not a valid node id.")),
            Some((NodeType::Restaurant, id)) => {
                pick(&restaurants, id, |r| Some(Node::Restaurant(Restaurant(r))))
            }
            Some((NodeType::MenuItem, id)) => {
                pick(&items, id, |m| Some(Node::MenuItem(MenuItem::new(m))))
            }
            Some((NodeType::Review, id)) => pick(&reviews, id, |r| Some(Node::Review(Review(r)))),
            Some((NodeType::User, id)) => pick(&users, id, |u| Some(Node::User(User(u)))),
            // Null, like an unknown id, when the viewer may not see the order.
            Some((NodeType::Order, id)) => {
                pick(&orders, id, |o| Order::if_visible(ctx, o).map(Node::Order))
            }
        })
        .collect()
}

/// Resolves the entity of type `ty` with database id `id` through the
/// loaders, with the authorization of `node(id:)`; `Ok(None)` when nothing
/// has that id or the viewer may not see it (the two are one answer).
pub async fn resolve_as(
    ctx: &Context<'_>,
    ty: NodeType,
    id: i64,
) -> async_graphql::Result<Option<Node>> {
    Ok(match ty {
        NodeType::Restaurant => Restaurant::try_load(ctx, id).await?.map(Node::Restaurant),
        NodeType::MenuItem => MenuItem::try_load(ctx, id).await?.map(Node::MenuItem),
        NodeType::Review => Review::try_load(ctx, id).await?.map(Node::Review),
        NodeType::User => User::try_load(ctx, id).await?.map(Node::User),
        // Null, like an unknown id, when the viewer may not see the order.
        NodeType::Order => Order::try_load(ctx, id).await?.map(Node::Order),
    })
}
