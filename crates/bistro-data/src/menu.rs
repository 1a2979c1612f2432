//! Menu items and menus: loaders by id and by page, the shared menu cache,
//! menu search, and the writes that change menus.
//!
//! **Layout** `menu:v1:{restaurant id}` (hash): one field per page shape
//! (course filter, cursor, size, direction), holding that page's rows as
//! JSON. A write to a restaurant's menu deletes its one hash after the
//! commit: every page of it is gone at once, with no tag set to maintain and
//! no `SCAN`. Entries also expire (`menu_cache_ttl_secs`), which bounds the
//! damage of an invalidation lost while the key-value store was unreachable.

use std::collections::HashMap;
use std::sync::Arc;

use bistro_kv::Kv;
use bistro_kv::typed::Codec;
use bistro_sql::entity::menu_item;
use bistro_sql::query::{self, MenuPageArgs, SearchHit};
use bistro_sql::write::{MenuItemChanges, NewMenuItem};
use sea_orm::DatabaseConnection;

use crate::batch::Load;
use crate::loaders::{group_by, group_rows};
use crate::{Result, Scope, Settings};

bistro_kv::kv_key! {
    /// Every cached page of one restaurant's menu.
    pub struct MenuCacheKey { pub restaurant_id: i64 } => hash PageShape => CachedPage = "menu:v1:{restaurant_id}";
}

/// A menu page shape, as the cache field naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageShape(String);

impl PageShape {
    fn of(args: &MenuPageArgs) -> Self {
        let window = &args.window;
        let cursor = |c: Option<bistro_sql::query::MenuCursor>| {
            c.map_or_else(String::new, |c| format!("{}:{}", c.position, c.id))
        };
        Self(format!(
            "{}|{}|{}|{}|{}",
            args.course.as_deref().unwrap_or("*"),
            cursor(window.after),
            cursor(window.before),
            window.limit,
            if window.backward { "b" } else { "f" }
        ))
    }
}

impl Codec for PageShape {
    fn encode(&self) -> String {
        self.0.clone()
    }
    fn decode(raw: &str) -> Option<Self> {
        Some(Self(raw.to_owned()))
    }
}

/// The rows of one cached menu page.
#[derive(Debug, Clone)]
pub struct CachedPage(pub Vec<menu_item::Model>);

impl Codec for CachedPage {
    fn encode(&self) -> String {
        // Models serialise infallibly (plain fields); an empty page is the fallback.
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".to_owned())
    }
    fn decode(raw: &str) -> Option<Self> {
        serde_json::from_str(raw).ok().map(Self)
    }
}

/// Forgets every cached page of a restaurant's menu; call after the write
/// commits. A failure leaves the cache stale until its expiry: logged, not
/// fatal, since the write itself succeeded.
pub async fn invalidate(kv: &Kv, restaurant_id: i64) {
    if let Err(error) = kv.remove(&[MenuCacheKey { restaurant_id }]).await {
        tracing::error!(%error, restaurant.id = restaurant_id, "menu cache invalidation failed; entries expire on their own");
    }
}

/// Menu items by id.
pub struct MenuItemLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for MenuItemLoader {
    type Value = menu_item::Model;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>> {
        let rows = query::menu_items_by_ids(&self.db, keys).await?;
        Ok(rows.into_iter().map(|m| (m.id, m)).collect())
    }
}

/// Key of one restaurant's menu page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MenuPageKey {
    /// Whose menu.
    pub restaurant_id: i64,
    /// Which page (shared by the batch when the query asks the same of every restaurant).
    pub args: MenuPageArgs,
}

/// Menu pages, through the shared menu cache: one pipelined read of the
/// cache for the whole batch, then, for the misses only, one windowed
/// statement per distinct page shape (in practice one: every restaurant of
/// a list asks for the same page) and one pipelined write-back. With the
/// key-value store unreachable, or the shared caches off, pages come from SQL.
pub struct MenuPageLoader {
    pub(crate) db: DatabaseConnection,
    pub(crate) kv: Kv,
    pub(crate) settings: Arc<Settings>,
}

impl Load<MenuPageKey> for MenuPageLoader {
    type Value = Arc<[menu_item::Model]>;

    async fn load(&self, keys: &[MenuPageKey]) -> Result<HashMap<MenuPageKey, Self::Value>> {
        let mut out = HashMap::with_capacity(keys.len());
        let mut cache_up = false;
        if self.settings.shared_caches {
            let fields: Vec<(MenuCacheKey, PageShape)> = keys
                .iter()
                .map(|k| {
                    (
                        MenuCacheKey {
                            restaurant_id: k.restaurant_id,
                        },
                        PageShape::of(&k.args),
                    )
                })
                .collect();
            match self.kv.load_fields(&fields).await {
                Ok(values) => {
                    for (key, value) in keys.iter().zip(values) {
                        if let Some(CachedPage(rows)) = value {
                            out.insert(key.clone(), rows.into());
                        }
                    }
                    cache_up = true;
                }
                Err(error) => {
                    tracing::warn!(%error, "menu cache unreachable; reading menus from SQL");
                }
            }
        }
        let misses: Vec<MenuPageKey> = keys
            .iter()
            .filter(|k| !out.contains_key(*k))
            .cloned()
            .collect();
        let mut fills = Vec::new();
        for (args, restaurant_ids) in group_by(&misses, |k| (k.args.clone(), k.restaurant_id)) {
            let rows = query::menu_pages(&self.db, &restaurant_ids, &args).await?;
            let mut pages = group_rows(rows, |m| m.restaurant_id);
            for restaurant_id in restaurant_ids {
                let page = pages.remove(&restaurant_id).unwrap_or_default();
                if cache_up {
                    fills.push((
                        MenuCacheKey { restaurant_id },
                        PageShape::of(&args),
                        CachedPage(page.clone()),
                    ));
                }
                out.insert(
                    MenuPageKey {
                        restaurant_id,
                        args: args.clone(),
                    },
                    page.into(),
                );
            }
        }
        if !fills.is_empty() {
            // A failed write-back only costs a SQL read next time.
            if let Err(error) = self
                .kv
                .store_fields(&fills, Some(self.settings.menu_cache_ttl()))
                .await
            {
                tracing::warn!(%error, "menu cache write-back failed");
            }
        }
        Ok(out)
    }
}

/// Key of a menu size: restaurant id and optional course (stored form).
pub type MenuCountKey = (i64, Option<String>);

/// Menu sizes: one `GROUP BY` per distinct course filter.
pub struct MenuCountLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<MenuCountKey> for MenuCountLoader {
    type Value = u64;

    async fn load(&self, keys: &[MenuCountKey]) -> Result<HashMap<MenuCountKey, Self::Value>> {
        let mut out = HashMap::with_capacity(keys.len());
        for (course, restaurant_ids) in group_by(keys, |k| (k.1.clone(), k.0)) {
            let counts = query::menu_counts(&self.db, &restaurant_ids, course.as_deref()).await?;
            for id in restaurant_ids {
                out.insert((id, course.clone()), counts.get(&id).copied().unwrap_or(0));
            }
        }
        Ok(out)
    }
}

impl Scope {
    /// Full-text search over every restaurant's menu (one statement); the
    /// hits prime the menu item loader.
    pub async fn search_menu(&self, text: &str, offset: u64, limit: u64) -> Result<Vec<SearchHit>> {
        let hits = query::search_menu_items(&self.db, text, offset, limit).await?;
        self.loaders
            .menu_item
            .prime(hits.iter().map(|h| (h.item.id, h.item.clone())));
        Ok(hits)
    }

    /// Adds an item to a menu (`None` when the restaurant does not exist),
    /// then forgets the restaurant's cached menu.
    pub async fn create_menu_item(&self, item: NewMenuItem) -> Result<Option<menu_item::Model>> {
        let restaurant_id = item.restaurant_id;
        let created = bistro_sql::write::create_menu_item(&self.db, item).await?;
        if created.is_some() {
            invalidate(&self.kv, restaurant_id).await;
        }
        Ok(created)
    }

    /// Changes an item (`None` when it does not exist), then forgets the restaurant's cached menu.
    pub async fn update_menu_item(
        &self,
        id: i64,
        changes: MenuItemChanges,
    ) -> Result<Option<menu_item::Model>> {
        let updated = bistro_sql::write::update_menu_item(&self.db, id, changes).await?;
        if let Some(item) = &updated {
            invalidate(&self.kv, item.restaurant_id).await;
            self.loaders.menu_item.clear();
        }
        Ok(updated)
    }
}
