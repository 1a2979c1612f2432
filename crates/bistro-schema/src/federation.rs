//! Bistro as an Apollo Federation v2 subgraph.
//!
//! A router composes Bistro into a supergraph from its subgraph SDL
//! (`_service { sdl }`, committed as `schema.federation.graphql`) and fetches
//! Bistro's entities by key with `_entities(representations:)`. The entities
//! are the five `Node` types, keyed by their global id: `Restaurant`,
//! `MenuItem`, `Review`, `User` and `Order` carry `@key(fields: "id")`.
//!
//! # async-graphql's federation support, and where Bistro departs from it
//!
//! async-graphql 7.2 turns federation on with `SchemaBuilder::enable_federation`
//! or any `#[graphql(entity)]` resolver. Either way `SchemaBuilder::finish`
//! then inserts `_service`, `_entities`, `_Service` and `_Entity` itself:
//!
//! - without descriptions, replacing any field or type declared under those
//!   names, while `schema.graphql` (what the server serves) describes every
//!   type, field and argument;
//! - with an `_entities` that resolves the representations with
//!   `try_join_all`, so one representation that fails (an id that is not
//!   ours, a store error) fails the whole list, and one that no resolver
//!   matches (an unknown `__typename`, no `id`) answers "Entity not found."
//!   for all of them. A router asks for a hundred orders in one request; a bad
//!   one must cost its own index only.
//!
//! So Bistro declares the federation fields as ordinary, described fields of
//! `Query` ([`entities`], [`service`]) and never calls `enable_federation`:
//! the three builds of the schema (`request::Api`) have them because `Query`
//! has them. What async-graphql does well is kept: its own `_Any` scalar
//! (described) takes the representations, and its federation SDL export
//! ([`SDLExportOptions::federation`]) writes the subgraph SDL: the `@link` to
//! Federation v2.5 with its imports, `@shareable` (`Money`, `PageInfo`, which
//! another subgraph may resolve too), `@inaccessible` (the payment
//! processor's bookkeeping), and none of the `_…` plumbing a router adds
//! itself. Its `@key`s come only from entity resolvers, so [`subgraph_sdl`]
//! adds `@key(fields: "id")` to each entity type's definition. The suite
//! parses the result and checks every directive; `federation/run.sh`
//! composes it with Apollo's own composition library.
//!
//! # Resolution
//!
//! The distinct entities the representations name go once through
//! [`node::resolve_keys`], the path of `nodes(ids:)`: the request's loaders (all
//! representations of one type are one `load_many`, so one SQL statement per
//! entity type per request, duplicates included) and the same authorization
//! (an `Order` only for its customer, its restaurant's staff and admins).
//! A representation that names nothing the viewer may see is
//! `null` with a `NOT_FOUND` error at its index, the same answer for an order
//! that does not exist and one the viewer may not see; a malformed one is
//! `null` with `BAD_USER_INPUT` at its index. The list itself never fails.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::registry::SDLExportOptions;
use async_graphql::{
    Any, Context, EmptySubscription, ID, PathSegment, Schema, SimpleObject, SubscriptionType,
    Union, Value,
};

use crate::error::ErrorCode;
use crate::ids::{NodeType, expect_global_id};
use crate::node::{self, Node};
use crate::objects::{MenuItem, Order, Restaurant, Review, User};
use crate::{Mutation, Query};

/// The root fields only routers select: a request that selects one of them
/// must carry the router's shared secret when one is configured.
pub const ROUTER_FIELDS: [&str; 2] = ["_service", "_entities"];

/// The key every entity type declares: its global id.
const KEY: &str = r#"@key(fields: "id")"#;

/// This service as an Apollo Federation v2 subgraph.
#[derive(SimpleObject)]
#[graphql(name = "_Service")]
pub struct Service {
    /// The subgraph schema (SDL) routers compose: Bistro's types with their
    /// Federation v2 directives, as `bistro schema --federation` prints it.
    sdl: Option<String>,
}

/// Every type a router can fetch by key through `_entities`: the types that
/// implement `Node`, each keyed by its global `id`.
#[derive(Union, Clone)]
#[graphql(name = "_Entity")]
pub enum Entity {
    Restaurant(Restaurant),
    MenuItem(MenuItem),
    Review(Review),
    User(User),
    Order(Order),
}

impl From<Node> for Entity {
    fn from(node: Node) -> Self {
        match node {
            Node::Restaurant(restaurant) => Self::Restaurant(restaurant),
            Node::MenuItem(item) => Self::MenuItem(item),
            Node::Review(review) => Self::Review(review),
            Node::User(user) => Self::User(user),
            Node::Order(order) => Self::Order(order),
        }
    }
}

/// `_service`: the subgraph SDL.
pub fn service() -> Service {
    Service {
        sdl: Some(subgraph_sdl().to_owned()),
    }
}

/// `_entities`: the entities `representations` name, in their order; `null`
/// with an error at its index for each one that cannot be answered.
///
/// Representations are read first, then each distinct entity is resolved
/// once: a router may name the same order twice, and every distinct key of a
/// type joins that type's one batch.
pub async fn entities(ctx: &Context<'_>, representations: &[Any]) -> Vec<Option<Entity>> {
    let keys: Vec<async_graphql::Result<(NodeType, i64)>> = representations
        .iter()
        .map(|representation| entity_key(&representation.0))
        .collect();
    let mut distinct: Vec<(NodeType, i64)> = Vec::new();
    let mut position: HashMap<(NodeType, i64), usize> = HashMap::new();
    for key in keys.iter().flatten() {
        position.entry(*key).or_insert_with(|| {
            distinct.push(*key);
            distinct.len() - 1
        });
    }
    let wanted: Vec<Option<(NodeType, i64)>> = distinct.iter().copied().map(Some).collect();
    let resolved: Vec<async_graphql::Result<Entity>> = node::resolve_keys(ctx, &wanted)
        .await
        .into_iter()
        .zip(&distinct)
        .map(|(answer, &(ty, _))| {
            // The same words whether it does not exist or the viewer may not
            // see it: a difference would tell an outsider which order ids exist.
            answer?
                .map(Entity::from)
                .ok_or_else(|| ErrorCode::NotFound.error(format!("No {} has this id.", ty.name())))
        })
        .collect();
    keys.into_iter()
        .enumerate()
        .map(|(index, key)| {
            let answer = key.and_then(|key| resolved[position[&key]].clone());
            match answer {
                Ok(entity) => Some(entity),
                Err(error) => {
                    // The field's own path (its alias, if any), then the index.
                    let mut error = ctx.set_error_path(error.into_server_error(ctx.item.pos));
                    error.path.push(PathSegment::Index(index));
                    ctx.add_error(error);
                    None
                }
            }
        })
        .collect()
}

/// The entity a representation names: `{ "__typename": "<entity type>",
/// "id": "<global id>" }` (other fields are ignored).
fn entity_key(representation: &Value) -> async_graphql::Result<(NodeType, i64)> {
    let bad = |message: String| ErrorCode::BadUserInput.error(message);
    let Value::Object(fields) = representation else {
        return Err(bad(
            "A representation is an object with `__typename` and `id`.".to_owned(),
        ));
    };
    let Some(Value::String(typename)) = fields.get("__typename") else {
        return Err(bad("A representation needs its `__typename`.".to_owned()));
    };
    let Some(ty) = NodeType::from_name(typename) else {
        return Err(bad(format!(
            "`{typename}` is not an entity type of this subgraph."
        )));
    };
    let Some(Value::String(id)) = fields.get("id") else {
        return Err(bad(format!(
            "A {typename} representation needs its `id`, a string."
        )));
    };
    Ok((ty, expect_global_id(&ID(id.clone()), ty)?))
}

/// The subgraph SDL: what `_service { sdl }` serves, `bistro schema
/// --federation` prints and `schema.federation.graphql` holds.
pub fn subgraph_sdl() -> &'static str {
    static SDL: LazyLock<String> = LazyLock::new(|| {
        // The SDL depends on the types alone, not on limits or stores. Live
        // updates stay out of the supergraph: clients subscribe at Bistro's
        // own `/graphql/ws`, which authenticates them itself.
        subgraph_sdl_of(&Schema::build(Query, Mutation::default(), EmptySubscription).finish())
    });
    &SDL
}

/// The subgraph SDL of `schema`: async-graphql's federation export (what
/// its own `_service` would serve) with the entity keys added.
pub fn subgraph_sdl_of<S: SubscriptionType + 'static>(
    schema: &Schema<Query, Mutation, S>,
) -> String {
    with_keys(&schema.sdl_with_options(SDLExportOptions::new().federation().compose_directive()))
}

/// Adds `@key(fields: "id")` to the definition of each entity type.
///
/// async-graphql writes a type's header on one line (`type Order implements
/// Node {`, directives before the brace); the key goes before the brace.
fn with_keys(sdl: &str) -> String {
    let mut keyed = String::with_capacity(sdl.len() + NodeType::ALL.len() * (KEY.len() + 1));
    for line in sdl.split_inclusive('\n') {
        let entity_header = line
            .strip_prefix("type ")
            .and_then(|rest| rest.split([' ', '{']).next())
            .and_then(NodeType::from_name)
            .and_then(|_| line.trim_end().strip_suffix(" {"));
        match entity_header {
            Some(header) => {
                keyed.push_str(header);
                keyed.push(' ');
                keyed.push_str(KEY);
                keyed.push_str(" {\n");
            }
            None => keyed.push_str(line),
        }
    }
    keyed
}

/// Whether any operation of `document` selects a [`ROUTER_FIELDS`] root
/// field, under an alias or through fragments (spread or inline) included.
///
/// Every operation counts, not only the one a request names: the check
/// happens before the operation is chosen, and a document a router did not
/// write has no reason to carry these fields at all.
pub fn selects_router_fields(document: &ExecutableDocument) -> bool {
    let mut visited = Vec::new();
    match &document.operations {
        DocumentOperations::Single(operation) => {
            selects(document, &operation.node.selection_set.node, &mut visited)
        }
        DocumentOperations::Multiple(operations) => operations
            .values()
            .any(|operation| selects(document, &operation.node.selection_set.node, &mut visited)),
    }
}

/// Whether the root selection set `set` selects a router field; `visited`
/// keeps fragments already looked at (a cycle is invalid, but it must not
/// loop before validation says so).
fn selects<'d>(
    document: &'d ExecutableDocument,
    set: &'d SelectionSet,
    visited: &mut Vec<&'d str>,
) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => ROUTER_FIELDS.contains(&field.node.name.node.as_str()),
        Selection::InlineFragment(fragment) => {
            selects(document, &fragment.node.selection_set.node, visited)
        }
        Selection::FragmentSpread(spread) => {
            let name = spread.node.fragment_name.node.as_str();
            if visited.contains(&name) {
                return false;
            }
            visited.push(name);
            document
                .fragments
                .get(&spread.node.fragment_name.node)
                .is_some_and(|fragment| {
                    selects(document, &fragment.node.selection_set.node, visited)
                })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selects_in(text: &str) -> bool {
        selects_router_fields(&async_graphql::parser::parse_query(text).expect("a document"))
    }

    #[test]
    fn router_fields_are_found_under_aliases_and_fragments() {
        assert!(selects_in("{ _service { sdl } }"));
        assert!(selects_in(
            "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
        ));
        assert!(selects_in("{ schema: _service { sdl } }"));
        assert!(selects_in("{ ... on Query { _service { sdl } } }"));
        assert!(selects_in(
            "{ ...Outer } fragment Outer on Query { ...Inner } fragment Inner on Query { s: _service { sdl } }"
        ));
        assert!(selects_in(
            "query A { me { id } } query B { _service { sdl } }"
        ));
        assert!(!selects_in("{ me { id } restaurants { totalCount } }"));
        // Only root fields count: a nested field of that name is an ordinary field.
        assert!(!selects_in("{ me { _service } }"));
        // A fragment cycle is invalid, and answered without looping.
        assert!(!selects_in(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
        ));
    }

    #[test]
    fn every_entity_type_gets_its_key_and_nothing_else_does() {
        let sdl = "type Order implements Node {\n\tid: ID!\n}\ntype OrderLine {\n\tname: String!\n}\ntype User {\n\tid: ID!\n}\ntype Money @shareable {\n\tamount: Decimal!\n}\n";
        assert_eq!(
            with_keys(sdl),
            "type Order implements Node @key(fields: \"id\") {\n\tid: ID!\n}\ntype OrderLine {\n\tname: String!\n}\ntype User @key(fields: \"id\") {\n\tid: ID!\n}\ntype Money @shareable {\n\tamount: Decimal!\n}\n"
        );
    }
}
