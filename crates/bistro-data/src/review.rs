//! Reviews: by id and one page per restaurant.

use std::collections::HashMap;
use std::sync::Arc;

use bistro_sql::entity::review;
use bistro_sql::query::{self, PageWindow};
use sea_orm::DatabaseConnection;

use crate::Result;
use crate::batch::Load;
use crate::loaders::{group_by, group_rows};

/// Reviews by id.
pub struct ReviewLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for ReviewLoader {
    type Value = review::Model;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>> {
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

    async fn load(&self, keys: &[ReviewPageKey]) -> Result<HashMap<ReviewPageKey, Self::Value>> {
        let mut out = HashMap::with_capacity(keys.len());
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
