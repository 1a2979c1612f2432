//! Reviews: by id and one page per restaurant.

use bistro_sql::KeyMap;
use std::sync::Arc;

use bistro_sql::entity::review;
use bistro_sql::query::{self, PageWindow};
use sea_orm::DatabaseConnection;

use crate::batch::Load;
use crate::batch::{group_by, group_rows};
use crate::{Result, Scope};

/// Reviews by id.
pub struct ReviewLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for ReviewLoader {
    type Value = review::Model;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let rows = query::reviews_by_ids(&self.db, keys).await?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// Key of one restaurant's review page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReviewPageKey {
    /// Whose reviews.
    pub restaurant_id: i64,
    /// Which page.
    pub window: PageWindow<i64>,
}

/// Review pages: one windowed statement per distinct page shape.
pub struct ReviewPageLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<ReviewPageKey> for ReviewPageLoader {
    type Value = Arc<[review::Model]>;

    async fn load(&self, keys: &[ReviewPageKey]) -> Result<KeyMap<ReviewPageKey, Self::Value>> {
        let mut out = KeyMap::with_capacity_and_hasher(keys.len(), Default::default());
        for (window, restaurant_ids) in group_by(keys, |k| (k.window.clone(), k.restaurant_id)) {
            let rows = query::review_pages(&self.db, &restaurant_ids, &window).await?;
            let mut pages = group_rows(rows, |r| r.restaurant_id);
            for restaurant_id in restaurant_ids {
                let page = pages.remove(&restaurant_id).unwrap_or_default();
                out.insert(
                    ReviewPageKey {
                        restaurant_id,
                        window: window.clone(),
                    },
                    page.into(),
                );
            }
        }
        Ok(out)
    }
}

/// Why a review write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewProblem {
    /// Reviews come after a completed order at the restaurant.
    NoCompletedOrder,
    /// The customer has reviewed this restaurant already.
    AlreadyReviewed,
    /// No review (or restaurant) has this id.
    NotFound,
}

impl Scope {
    /// Writes a customer's review of a restaurant where they have a
    /// completed order; one per customer and restaurant. The restaurant's
    /// cached rating summary is dropped after the commit, so the next read
    /// recomputes it.
    pub async fn write_review(
        &self,
        new: bistro_sql::write::NewReview,
    ) -> Result<std::result::Result<review::Model, ReviewProblem>> {
        let restaurant_id = new.restaurant_id;
        if !bistro_sql::ordering::has_completed_order(&self.db, new.user_id, restaurant_id).await? {
            return Ok(Err(ReviewProblem::NoCompletedOrder));
        }
        let written = match bistro_sql::write::create_review(&self.db, new).await {
            Ok(review) => review,
            Err(bistro_sql::write::WriteReviewError::AlreadyReviewed) => {
                return Ok(Err(ReviewProblem::AlreadyReviewed));
            }
            Err(bistro_sql::write::WriteReviewError::Store(error)) => return Err(error.into()),
        };
        self.forget_rating(restaurant_id).await;
        Ok(Ok(written))
    }

    /// Changes a review's rating and text (the caller checked it is the viewer's).
    pub async fn update_review(
        &self,
        id: i64,
        rating: Option<i32>,
        body: Option<String>,
    ) -> Result<std::result::Result<review::Model, ReviewProblem>> {
        let Some(updated) = bistro_sql::write::update_review(&self.db, id, rating, body).await?
        else {
            return Ok(Err(ReviewProblem::NotFound));
        };
        self.loaders.review.clear();
        self.forget_rating(updated.restaurant_id).await;
        Ok(Ok(updated))
    }

    /// Deletes a review (the caller checked it is the viewer's).
    pub async fn delete_review(
        &self,
        review: &review::Model,
    ) -> Result<std::result::Result<(), ReviewProblem>> {
        if !bistro_sql::write::delete_review(&self.db, review.id).await? {
            return Ok(Err(ReviewProblem::NotFound));
        }
        self.loaders.review.clear();
        self.forget_rating(review.restaurant_id).await;
        Ok(Ok(()))
    }

    /// Drops a restaurant's cached rating summary (after a review write
    /// commits), and this request's copy of it.
    async fn forget_rating(&self, restaurant_id: i64) {
        if let Err(error) = crate::rating::invalidate(&self.kv, &[restaurant_id]).await {
            tracing::error!(%error, restaurant.id = restaurant_id, "dropping a cached rating failed; it expires on its own");
        }
        self.loaders.rating.clear();
    }
}
