//! `User`: an account. Its display name is public; everything else is the
//! account's own business (and the admins').

use async_graphql::{Context, Enum, ID, Object};
use bistro_data::entity::UserRole;

use crate::auth::{Can, Rule};
use crate::connection::{PageArgs, page_cost};
use crate::error::Coded;
use crate::ids::{NodeType, global_id};
use crate::objects::{Cart, OrderConnection, OrderStatus, Restaurant, User};
use crate::request::context::loaders;

impl User {
    /// Loads a user by database id through the request's loader.
    pub async fn try_load(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Option<Self>> {
        let loaders = loaders(ctx)?;
        Ok(loaders.user.load_one(id).await.coded()?.map(Self))
    }
}

/// What an account may do.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Orders food; sees their own orders.
    Customer,
    /// Works for one or more restaurants: sees their orders, manages their menus.
    Staff,
    /// Operates the platform: sees and manages everything.
    Admin,
}

impl From<UserRole> for Role {
    fn from(role: UserRole) -> Self {
        match role {
            UserRole::Customer => Self::Customer,
            UserRole::Staff => Self::Staff,
            UserRole::Admin => Self::Admin,
        }
    }
}

#[bistro_macros::page_args]
#[Object]
/// An account: a customer, a restaurant's staff member, or an administrator.
///
/// Cache: private.
impl User {
    /// Globally unique, opaque identifier.
    pub fn id(&self) -> ID {
        global_id(NodeType::User, self.0.id)
    }

    /// Public name, shown with the account's reviews.
    fn display_name(&self) -> &str {
        &self.0.display_name
    }

    /// Sign-in email. Only the account itself and admins may read it.
    #[graphql(guard = "Can(Rule::Account { user_id: self.0.id })")]
    fn email(&self) -> Option<&str> {
        Some(&self.0.email)
    }

    /// What the account may do. Only the account itself and admins may read it.
    #[graphql(guard = "Can(Rule::Account { user_id: self.0.id })")]
    fn role(&self) -> Option<Role> {
        Some(self.0.role.into())
    }

    /// The account's open cart; null when it has none. Only the account
    /// itself and admins may read it.
    #[graphql(guard = "Can(Rule::Account { user_id: self.0.id })")]
    async fn cart(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Cart>> {
        Ok(loaders(ctx)?
            .cart
            .load_one(self.0.id)
            .await
            .coded()?
            .map(Cart))
    }

    /// The restaurants the account works for, in id order: a staff
    /// member's workplaces, whose orders and menus they manage; empty for
    /// customers and administrators (who manage every restaurant). Only
    /// the account itself and admins may read it.
    #[graphql(guard = "Can(Rule::Account { user_id: self.0.id })")]
    async fn works_for(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Restaurant>>> {
        if self.0.role != UserRole::Staff {
            return Ok(Some(Vec::new()));
        }
        let loaders = loaders(ctx)?;
        let ids = loaders
            .staff_restaurants
            .load_one(self.0.id)
            .await
            .coded()?
            .unwrap_or_default();
        let mut restaurants = loaders
            .restaurant
            .load_many(ids.iter().copied())
            .await
            .coded()?;
        Ok(Some(
            ids.iter()
                .filter_map(|id| restaurants.remove(id).map(Restaurant))
                .collect(),
        ))
    }

    /// The account's orders, newest first. Only the account itself and admins may read them.
    #[graphql(
        guard = "Can(Rule::Account { user_id: self.0.id })",
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
            bistro_data::OrderOwner::Customer,
            self.0.id,
            status,
            page,
        )
        .await
        .map(Some)
    }
}
