//! Restaurants: by id, by slug, and the restaurant list.

use bistro_sql::KeyMap;
use std::sync::Arc;

use bistro_sql::entity::restaurant;
use bistro_sql::query::{self, PageWindow, RestaurantFilter};
use sea_orm::DatabaseConnection;

use crate::batch::Load;
use crate::{Result, Scope};

/// A restaurant slug, as a loader key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(pub String);

/// Restaurants by id (`i64`) and by slug ([`Slug`]).
pub struct RestaurantLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for RestaurantLoader {
    type Value = Arc<restaurant::Model>;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let rows = query::restaurants_by_ids(&self.db, keys).await?;
        Ok(rows.into_iter().map(|r| (r.id, Arc::new(r))).collect())
    }
}

impl Load<Slug> for RestaurantLoader {
    type Value = Arc<restaurant::Model>;

    async fn load(&self, keys: &[Slug]) -> Result<KeyMap<Slug, Self::Value>> {
        let slugs: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let rows = query::restaurants_by_slugs(&self.db, &slugs).await?;
        Ok(rows
            .into_iter()
            .map(|r| (Slug(r.slug.clone()), Arc::new(r)))
            .collect())
    }
}

impl Scope {
    /// One page of the restaurant list (one statement, `limit + 1` rows);
    /// the rows prime the by-id loader, so fields that reach these
    /// restaurants again cost nothing.
    pub async fn restaurants_page(
        &self,
        filter: &RestaurantFilter,
        window: &PageWindow<i64>,
    ) -> Result<Vec<Arc<restaurant::Model>>> {
        let rows: Vec<Arc<restaurant::Model>> = query::restaurants_page(&self.db, filter, window)
            .await?
            .into_iter()
            .map(Arc::new)
            .collect();
        self.loaders
            .restaurant
            .prime(rows.iter().map(|r| (r.id, r.clone())));
        Ok(rows)
    }

    /// How many restaurants the filtered list holds (one `COUNT`).
    pub async fn count_restaurants(&self, filter: &RestaurantFilter) -> Result<u64> {
        Ok(query::count_restaurants(&self.db, filter).await?)
    }

    /// Every cuisine with its number of restaurants, by name (one statement).
    pub async fn cuisines(&self) -> Result<Vec<(String, u64)>> {
        Ok(query::cuisines(&self.db).await?)
    }
}
