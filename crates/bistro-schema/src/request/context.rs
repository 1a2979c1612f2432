//! What a resolver reads from its request: the data the request pipeline
//! put there ([`data`]), above all the request's scope of the data layer
//! ([`scope`]) and its loaders ([`loaders`]).

use async_graphql::Context;
use bistro_data::{Loaders, Scope};

use crate::error::ErrorCode;

/// Typed access to request data that must be there (a missing entry is a wiring bug).
pub fn data<'a, T: std::any::Any + Send + Sync>(
    ctx: &'a Context<'_>,
) -> async_graphql::Result<&'a T> {
    ctx.data::<T>().map_err(|_| {
        tracing::error!(ty = std::any::type_name::<T>(), "request data missing");
        ErrorCode::Internal.error("Internal server error")
    })
}

/// The request's data-layer scope (its counted stores and loaders).
pub fn scope<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Scope> {
    data::<std::sync::Arc<Scope>>(ctx).map(|scope| &**scope)
}

/// The request's loaders.
pub fn loaders<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Loaders> {
    scope(ctx).map(Scope::loaders)
}
