#![doc = include_str!("../README.md")]

pub mod auth;
pub mod cache_hints;
mod cart;
mod checkout;
pub mod documents;
pub mod error;
pub mod federation;
pub mod ids;
pub mod limits;
pub mod live;
pub mod persisted;
pub mod request;

mod account;
mod connection;
mod menu;
mod menu_admin;
mod money;
mod mutation;
pub mod node;
mod objects;
mod observe;
mod order;
mod order_lifecycle;
mod popularity;
mod query;
mod rating;
mod restaurant;
mod review;
mod review_write;
mod user;
mod user_error;

use async_graphql::Schema;
use bistro_data::DataLayer;
use bistro_data::rate_limit::RateLimits;

pub use auth::{AuthDeps, ClientAddr};
pub use error::ErrorCode;
pub use limits::Limits;
pub use live::connection::LiveConnection;
pub use live::{LiveHub, LiveSettings, LiveStats, Subscription};
pub use mutation::Mutation;
pub use query::Query;
pub use request::{Api, Caller, DocumentWork};

/// The schema type served by Bistro.
pub type BistroSchema = Schema<Query, Mutation, Subscription>;

/// What the schema needs from the outside world.
#[derive(Clone)]
pub struct SchemaDeps {
    /// The data layer; every request gets its own scope of it.
    pub data: DataLayer,
    /// Query limits and paging defaults.
    pub limits: Limits,
    /// Token keys and the session store.
    pub auth: AuthDeps,
    /// Abuse limits (the request budget and failed sign-ins).
    pub rate_limits: RateLimits,
}

/// The SDL of the schema as committed in `schema.graphql`.
///
/// Built from a schema with default limits: the SDL does not depend on
/// stores, so disconnected handles are enough.
pub fn sdl() -> String {
    let data = DataLayer::disconnected();
    Api::new(SchemaDeps {
        auth: AuthDeps {
            keys: bistro_auth::TokenKeys::generate(std::time::Duration::from_secs(60)),
            sessions: bistro_auth::Sessions::new(
                data.kv().clone(),
                std::time::Duration::from_secs(60),
            ),
            passwords: bistro_auth::password::PasswordHashing::new(1, 0),
        },
        data,
        limits: Limits::default(),
        rate_limits: RateLimits::default(),
    })
    .schema()
    .sdl()
}

/// The subgraph SDL for Apollo Federation v2, as committed in
/// `schema.federation.graphql` and served by `_service { sdl }`.
pub fn federation_sdl() -> String {
    federation::subgraph_sdl().to_owned()
}
