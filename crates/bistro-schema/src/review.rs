//! `Review` and the review connection.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::connection::PageInfo;
use crate::error::{Coded, nullable, soft};
use crate::ids::{NodeType, global_id};
use crate::objects::{Restaurant, Review, ReviewConnection, ReviewEdge};
use crate::rating::RatingSummary;
use crate::request::context::loaders;

impl Review {
    /// Loads a review by database id through the request's loader.
    pub async fn try_load(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Option<Self>> {
        let loaders = loaders(ctx)?;
        Ok(loaders.review.load_one(id).await.coded()?.map(Self))
    }
}

#[Object]
/// A customer's rating and words about a restaurant (one per customer and restaurant).
///
/// Cache: public, 60 s.
impl Review {
    /// Globally unique, opaque identifier.
    pub fn id(&self) -> ID {
        global_id(NodeType::Review, self.0.id)
    }

    /// Rating from 1 (poor) to 5 (excellent).
    fn rating(&self) -> i32 {
        self.0.rating
    }

    /// What the customer wrote.
    fn body(&self) -> &str {
        &self.0.body
    }

    /// When the review was first written.
    fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the review was last changed.
    fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The reviewer's public display name.
    async fn author_name(&self, ctx: &Context<'_>) -> Option<String> {
        nullable(ctx, async {
            loaders(ctx)?
                .user_name
                .load_one(self.0.user_id)
                .await
                .coded()
        })
        .await
        .flatten()
    }

    /// The restaurant reviewed.
    async fn restaurant(&self, ctx: &Context<'_>) -> Option<Restaurant> {
        soft(ctx, Restaurant::try_load(ctx, self.0.restaurant_id).await).flatten()
    }
}

#[Object]
/// One review in a list, with its cursor.
///
/// Cache: as its parent.
impl ReviewEdge {
    /// Opaque position of this edge, for `after`/`before`.
    fn cursor(&self) -> &str {
        &self.cursor
    }

    /// The review.
    fn node(&self) -> &Review {
        &self.node
    }
}

#[Object]
/// A page of a restaurant's reviews, newest first.
///
/// Cache: as its parent.
impl ReviewConnection {
    /// The reviews of this page, with cursors.
    fn edges(&self) -> &[ReviewEdge] {
        &self.edges
    }

    /// The reviews of this page, without cursors.
    fn nodes(&self) -> Vec<&Review> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// Where this page sits in the list.
    fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many reviews the restaurant has (from the cached rating summary).
    async fn total_count(&self, ctx: &Context<'_>) -> Option<u64> {
        nullable(ctx, async {
            let aggregate = loaders(ctx)?
                .rating
                .load_one(self.restaurant_id)
                .await
                .coded()?;
            Ok(aggregate.map_or(0, |a| RatingSummary::from(a).count))
        })
        .await
    }
}
