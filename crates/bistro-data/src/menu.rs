//! Menu items and menus: loaders by id and by page, the shared menu cache,
//! menu search, and the writes that change menus.
//!
//! **Layouts** of the shared menu cache:
//! - `menu:v2:page:{shape}` (hash): one hash per page shape (course filter,
//!   size, direction), one field per restaurant, holding that restaurant's
//!   page: when it was written, then its rows as compact JSON arrays. A list
//!   page asks every restaurant for the same shape, so a whole batch is one
//!   `HMGET` — one command whatever the page size.
//! - `menu:v2:shapes` (hash): every shape that has cached pages, so a write
//!   to a restaurant's menu deletes that restaurant's field in each (one
//!   `HGETALL` and one pipeline of `HDEL`s, after the commit). No `SCAN`.
//!
//! Pages reached through a cursor are not cached (they would make the shapes
//! unbounded); they are one windowed statement like any miss. A cached page
//! older than `menu_cache_ttl_secs` is a miss, which bounds the damage of an
//! invalidation lost while the key-value store was unreachable; the hashes
//! expire when no page has been written to them for that long.

use bistro_sql::KeyMap;
use std::sync::Arc;

use bistro_kv::Kv;
use bistro_kv::typed::{Codec, Key as _};
use bistro_sql::entity::{Course, menu_item};
use bistro_sql::query::{self, MenuPageArgs, SearchHit};
use bistro_sql::write::{MenuItemChanges, NewMenuItem};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::batch::Load;
use crate::batch::{group_by, group_rows};
use crate::{Result, Scope, Settings};

bistro_kv::kv_key! {
    /// The cached pages of one page shape, one field per restaurant.
    pub struct MenuPagesKey { pub shape: PageShape } => hash i64 => CachedPage = "menu:v2:page:{shape}";
}

bistro_kv::kv_key! {
    /// The page shapes that have cached pages (value: when last written, Unix seconds).
    pub struct MenuShapesKey {} => hash PageShape => i64 = "menu:v2:shapes";
}

/// A menu page shape, as a key part: course filter, size, direction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageShape(String);

impl std::fmt::Display for PageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PageShape {
    /// The shape of a page that may be cached: `None` for one reached through a cursor.
    fn of(args: &MenuPageArgs) -> Option<Self> {
        let window = &args.window;
        if window.after.is_some() || window.before.is_some() {
            return None;
        }
        Some(Self(format!(
            "{}:{}:{}",
            args.course.as_deref().unwrap_or("ALL"),
            window.limit,
            if window.backward { "last" } else { "first" }
        )))
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

/// One cached menu page: when it was written and its rows.
#[derive(Debug, Clone)]
pub struct CachedPage {
    /// Unix seconds.
    pub written_at: i64,
    /// The rows, in menu order.
    pub rows: Vec<menu_item::Model>,
}

/// A row as cached: the columns in a fixed order, timestamps as milliseconds.
type RowTuple = (
    i64,
    i64,
    String,
    String,
    i64,
    String,
    Course,
    String,
    bool,
    Option<i32>,
    i32,
    i64,
    i64,
);

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Codec for CachedPage {
    fn encode(&self) -> String {
        let rows: Vec<RowTuple> = self
            .rows
            .iter()
            .map(|m| {
                (
                    m.id,
                    m.restaurant_id,
                    m.name.clone(),
                    m.description.clone(),
                    m.price_amount,
                    m.currency_code.clone(),
                    m.course,
                    m.dietary.clone(),
                    m.available,
                    m.daily_stock,
                    m.position,
                    millis(m.created_at),
                    millis(m.updated_at),
                )
            })
            .collect();
        // Plain values: serialising cannot fail; an empty page is the fallback.
        let json = serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_owned());
        format!("{}|{json}", self.written_at)
    }

    fn decode(raw: &str) -> Option<Self> {
        let (written_at, json) = raw.split_once('|')?;
        let rows: Vec<RowTuple> = serde_json::from_str(json).ok()?;
        Some(Self {
            written_at: written_at.parse().ok()?,
            rows: rows
                .into_iter()
                .map(|r| menu_item::Model {
                    id: r.0,
                    restaurant_id: r.1,
                    name: r.2,
                    description: r.3,
                    price_amount: r.4,
                    currency_code: r.5,
                    course: r.6,
                    dietary: r.7,
                    available: r.8,
                    daily_stock: r.9,
                    position: r.10,
                    created_at: from_millis(r.11),
                    updated_at: from_millis(r.12),
                })
                .collect(),
        })
    }
}

/// Forgets every cached page of a restaurant's menu; call after the write
/// commits. A failure leaves the cache stale until its expiry: logged, not
/// fatal, since the write itself succeeded.
pub async fn invalidate(kv: &Kv, restaurant_id: i64) {
    let result = async {
        let shapes = kv.load_hash(&MenuShapesKey {}).await?;
        let fields: Vec<(MenuPagesKey, i64)> = shapes
            .into_iter()
            .map(|(shape, _)| (MenuPagesKey { shape }, restaurant_id))
            .collect();
        kv.remove_fields(&fields).await
    }
    .await;
    if let Err(error) = result {
        tracing::error!(%error, restaurant.id = restaurant_id, "menu cache invalidation failed; entries expire on their own");
    }
}

/// Forgets every cached menu page of every restaurant (for operators and tests).
pub async fn forget_all(kv: &Kv) -> bistro_kv::Result<()> {
    let shapes = kv.load_hash(&MenuShapesKey {}).await?;
    let pages: Vec<MenuPagesKey> = shapes
        .into_iter()
        .map(|(shape, _)| MenuPagesKey { shape })
        .collect();
    kv.remove(&pages).await?;
    kv.remove(&[MenuShapesKey {}]).await?;
    Ok(())
}

/// Menu items by id.
pub struct MenuItemLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for MenuItemLoader {
    type Value = Arc<menu_item::Model>;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let rows = query::menu_items_by_ids(&self.db, keys).await?;
        Ok(rows.into_iter().map(|m| (m.id, Arc::new(m))).collect())
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

/// Menu pages, through the shared menu cache: one `HMGET` per page shape in
/// the batch (in practice one: every restaurant of a list asks for the same
/// page), then, for the misses only, one windowed statement per shape and a
/// write-back. With the key-value store unreachable, or the shared caches
/// off, pages come from SQL.
pub struct MenuPageLoader {
    pub(crate) db: DatabaseConnection,
    pub(crate) kv: Kv,
    pub(crate) settings: Arc<Settings>,
    pub(crate) decoded: Arc<DecodedPages>,
}

/// The menu pages this process decoded from the shared cache, each with the
/// exact stored text it came from.
///
/// Every request still reads its pages from the cache (one `HMGET`): the
/// stored text stays the only truth, so a write made through any replica is
/// seen at once and nothing here needs invalidating. What it saves is the
/// decoding, most of what a cached page costs to read: when the text read is
/// the text decoded last time, the rows decoded then are handed out again.
/// The lock is held to look up or store a page, never while text is compared,
/// copied or decoded. Bounded by the stored text it keeps (at most
/// [`DECODED_PAGES_BYTES`]); when full, it forgets everything and starts again.
#[derive(Default)]
pub struct DecodedPages {
    state: std::sync::Mutex<DecodedState>,
}

/// Most bytes of stored text [`DecodedPages`] keeps (the decoded rows take
/// about as much again).
pub const DECODED_PAGES_BYTES: usize = 4 << 20;

#[derive(Default)]
struct DecodedState {
    by_shape: KeyMap<PageShape, KeyMap<i64, DecodedPage>>,
    bytes: usize,
}

#[derive(Clone)]
struct DecodedPage {
    text: Arc<str>,
    written_at: i64,
    rows: Arc<[Arc<menu_item::Model>]>,
}

impl DecodedPages {
    fn state(&self) -> std::sync::MutexGuard<'_, DecodedState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The page stored as `text`: when it was written, and its rows.
    /// `None` when the text is not a page (treated as missing).
    fn decode(
        &self,
        shape: &PageShape,
        restaurant_id: i64,
        text: &str,
    ) -> Option<(i64, Arc<[Arc<menu_item::Model>]>)> {
        let known = self
            .state()
            .by_shape
            .get(shape)
            .and_then(|pages| pages.get(&restaurant_id))
            .cloned();
        if let Some(known) = known.filter(|known| *known.text == *text) {
            return Some((known.written_at, known.rows));
        }
        let page = CachedPage::decode(text)?;
        let decoded = DecodedPage {
            text: Arc::from(text),
            written_at: page.written_at,
            rows: shared(page.rows),
        };
        let answer = (decoded.written_at, decoded.rows.clone());
        let mut state = self.state();
        if state.bytes + text.len() > DECODED_PAGES_BYTES {
            state.by_shape.clear();
            state.bytes = 0;
        }
        state.bytes += text.len();
        let replaced = state
            .by_shape
            .entry(shape.clone())
            .or_default()
            .insert(restaurant_id, decoded);
        if let Some(replaced) = replaced {
            state.bytes -= replaced.text.len();
        }
        Some(answer)
    }

    /// How many pages it holds and the bytes of their stored text.
    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let state = self.state();
        (state.by_shape.values().map(KeyMap::len).sum(), state.bytes)
    }
}

impl Load<MenuPageKey> for MenuPageLoader {
    type Value = Arc<[Arc<menu_item::Model>]>;

    async fn load(&self, keys: &[MenuPageKey]) -> Result<KeyMap<MenuPageKey, Self::Value>> {
        let mut out = KeyMap::with_capacity_and_hasher(keys.len(), Default::default());
        let mut cache_up = false;
        let now = Utc::now().timestamp();
        let ttl = i64::try_from(self.settings.menu_cache_ttl_secs).unwrap_or(i64::MAX);
        if self.settings.shared_caches {
            cache_up = true;
            // One HMGET per shape in the batch (in practice one).
            let mut by_shape: KeyMap<PageShape, Vec<&MenuPageKey>> = KeyMap::default();
            for key in keys {
                if let Some(shape) = PageShape::of(&key.args) {
                    by_shape.entry(shape).or_default().push(key);
                }
            }
            for (shape, shape_keys) in by_shape {
                let restaurants: Vec<i64> = shape_keys.iter().map(|k| k.restaurant_id).collect();
                let key = MenuPagesKey {
                    shape: shape.clone(),
                };
                match self.kv.load_hash_texts(&key, &restaurants).await {
                    Ok(texts) => {
                        for (key, text) in shape_keys.into_iter().zip(texts) {
                            let page = text.and_then(|text| {
                                self.decoded.decode(&shape, key.restaurant_id, &text)
                            });
                            if let Some((written_at, rows)) = page
                                && now - written_at < ttl
                            {
                                out.insert(key.clone(), rows);
                            }
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "menu cache unreachable; reading menus from SQL");
                        cache_up = false;
                        break;
                    }
                }
            }
        }
        let misses: Vec<MenuPageKey> = keys
            .iter()
            .filter(|k| !out.contains_key(*k))
            .cloned()
            .collect();
        let mut fills = Vec::new();
        let mut shapes = Vec::new();
        for (args, restaurant_ids) in group_by(&misses, |k| (k.args.clone(), k.restaurant_id)) {
            let rows = query::menu_pages(&self.db, &restaurant_ids, &args).await?;
            let mut pages = group_rows(rows, |m| m.restaurant_id);
            let shape = PageShape::of(&args).filter(|_| cache_up);
            if let Some(shape) = &shape {
                shapes.push((MenuShapesKey {}, shape.clone(), now));
            }
            for restaurant_id in restaurant_ids {
                let page = pages.remove(&restaurant_id).unwrap_or_default();
                if let Some(shape) = &shape {
                    fills.push((
                        MenuPagesKey {
                            shape: shape.clone(),
                        },
                        restaurant_id,
                        CachedPage {
                            written_at: now,
                            rows: page.clone(),
                        },
                    ));
                }
                out.insert(
                    MenuPageKey {
                        restaurant_id,
                        args: args.clone(),
                    },
                    shared(page),
                );
            }
        }
        if !fills.is_empty() {
            // One round trip: one HSET per touched hash (the shape's pages and
            // the shape registry), whatever the page size. A failed
            // write-back only costs a SQL read next time.
            let entries: Vec<(String, String, String)> = shapes
                .iter()
                .map(|(k, f, v)| (k.render(), f.encode(), v.encode()))
                .chain(
                    fills
                        .iter()
                        .map(|(k, f, v)| (k.render(), f.encode(), v.encode())),
                )
                .collect();
            if let Err(error) = self
                .kv
                .hset_many(&entries, Some(self.settings.menu_cache_ttl()))
                .await
            {
                tracing::warn!(%error, "menu cache write-back failed");
            }
        }
        Ok(out)
    }
}

/// Rows as the loaders hand them out: shared, so a field that keeps one copies nothing.
fn shared(rows: Vec<menu_item::Model>) -> Arc<[Arc<menu_item::Model>]> {
    rows.into_iter().map(Arc::new).collect()
}

/// Key of a menu size: restaurant id and optional course (stored form).
pub type MenuCountKey = (i64, Option<String>);

/// Menu sizes: one `GROUP BY` per distinct course filter.
pub struct MenuCountLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<MenuCountKey> for MenuCountLoader {
    type Value = u64;

    async fn load(&self, keys: &[MenuCountKey]) -> Result<KeyMap<MenuCountKey, Self::Value>> {
        let mut out = KeyMap::with_capacity_and_hasher(keys.len(), Default::default());
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
    pub async fn search_menu(
        &self,
        text: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<(Arc<menu_item::Model>, f64)>> {
        let hits: Vec<(Arc<menu_item::Model>, f64)> =
            query::search_menu_items(&self.db, text, offset, limit)
                .await?
                .into_iter()
                .map(|SearchHit { item, rank }| (Arc::new(item), rank))
                .collect();
        self.loaders
            .menu_item
            .prime(hits.iter().map(|(item, _)| (item.id, item.clone())));
        Ok(hits)
    }

    /// Adds an item to a menu (`None` when the restaurant does not exist),
    /// then forgets the restaurant's cached menu.
    pub async fn create_menu_item(
        &self,
        item: NewMenuItem,
    ) -> Result<Option<Arc<menu_item::Model>>> {
        let restaurant_id = item.restaurant_id;
        let created = bistro_sql::write::create_menu_item(&self.db, item).await?;
        if created.is_some() {
            invalidate(&self.kv, restaurant_id).await;
        }
        Ok(created.map(Arc::new))
    }

    /// Changes an item (`None` when it does not exist), then forgets the restaurant's cached menu.
    pub async fn update_menu_item(
        &self,
        id: i64,
        changes: MenuItemChanges,
    ) -> Result<Option<Arc<menu_item::Model>>> {
        let updated = bistro_sql::write::update_menu_item(&self.db, id, changes).await?;
        if let Some(item) = &updated {
            invalidate(&self.kv, item.restaurant_id).await;
            self.loaders.menu_item.clear();
        }
        Ok(updated.map(Arc::new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_pages_round_trip_and_garbage_is_a_miss() {
        let row = menu_item::Model {
            id: 7,
            restaurant_id: 2,
            name: "Soup | of the day".into(),
            description: "Hot, \"fresh\"".into(),
            price_amount: 450,
            currency_code: "EUR".into(),
            course: Course::Starter,
            dietary: "vegan".into(),
            available: true,
            daily_stock: Some(10),
            position: 3,
            created_at: from_millis(1_700_000_000_123),
            updated_at: from_millis(1_700_000_100_000),
        };
        let page = CachedPage {
            written_at: 42,
            rows: vec![row.clone()],
        };
        let decoded = CachedPage::decode(&page.encode()).unwrap();
        assert_eq!(decoded.written_at, 42);
        assert_eq!(decoded.rows, vec![row]);
        assert!(CachedPage::decode("[{}]").is_none());
        assert!(CachedPage::decode("x|[]").is_none());
    }

    fn row(id: i64, name: &str) -> menu_item::Model {
        menu_item::Model {
            id,
            restaurant_id: 2,
            name: name.into(),
            description: String::new(),
            price_amount: 450,
            currency_code: "EUR".into(),
            course: Course::Main,
            dietary: String::new(),
            available: true,
            daily_stock: None,
            position: 1,
            created_at: from_millis(0),
            updated_at: from_millis(0),
        }
    }

    #[test]
    fn a_page_read_again_unchanged_is_not_decoded_again_and_a_changed_one_is() {
        let pages = DecodedPages::default();
        let shape = PageShape("ALL:10:first".into());
        let first = CachedPage {
            written_at: 1,
            rows: vec![row(1, "Soup")],
        }
        .encode();
        let (written_at, rows) = pages.decode(&shape, 2, &first).unwrap();
        assert_eq!((written_at, rows[0].name.as_str()), (1, "Soup"));
        let (_, again) = pages.decode(&shape, 2, &first.clone()).unwrap();
        assert!(Arc::ptr_eq(&rows, &again), "same text, same rows");
        assert_eq!(pages.held(), (1, first.len()));

        // Another replica rewrote the page: the new text is what counts.
        let second = CachedPage {
            written_at: 1,
            rows: vec![row(1, "Stew")],
        }
        .encode();
        let (_, changed) = pages.decode(&shape, 2, &second).unwrap();
        assert_eq!(changed[0].name, "Stew");
        assert_eq!(pages.held(), (1, second.len()));

        // The same text under another restaurant or shape is its own page.
        pages.decode(&shape, 3, &second).unwrap();
        pages
            .decode(&PageShape("MAIN:10:first".into()), 2, &second)
            .unwrap();
        assert_eq!(pages.held(), (3, 3 * second.len()));
        assert!(pages.decode(&shape, 4, "not a page").is_none());
        assert_eq!(pages.held().0, 3);
    }

    #[test]
    fn decoded_pages_stay_within_their_byte_bound() {
        let pages = DecodedPages::default();
        let shape = PageShape("ALL:100:first".into());
        let text = CachedPage {
            written_at: 1,
            rows: (0..100).map(|id| row(id, &"x".repeat(200))).collect(),
        }
        .encode();
        for restaurant_id in 0..1_000 {
            pages.decode(&shape, restaurant_id, &text).unwrap();
            assert!(pages.held().1 <= DECODED_PAGES_BYTES);
        }
        assert!(pages.held().0 < 1_000);
    }
}
