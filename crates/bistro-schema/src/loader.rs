//! The per-request dataloaders: the only way resolvers reach the stores.
//!
//! Each loader collects the keys the request's resolvers ask for together
//! and answers them with **one** SQL statement or **one** key-value round
//! trip, whatever the number of keys (see [`Batched`]). Loaders are built for every request by
//! [`crate::request::RequestScope`], hold that request's counted store
//! handles, and cache per request only. Keys arrive in arbitrary order:
//! results are always matched to keys by id, never by position.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use bistro_kv::Kv;
use bistro_sql::entity::{menu_item, order, order_line, restaurant, review, user};
use bistro_sql::query::{self, MenuPageArgs, PageWindow, RatingAggregate};
use chrono::NaiveDate;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use sea_orm::DatabaseConnection;

use crate::error::StoreError;
use crate::limits::Limits;
use crate::menu_cache;
use crate::popularity::{self, Ranking};
use crate::rating;

type Flight<V, E> = Shared<BoxFuture<'static, Result<Option<V>, E>>>;
type BatchResult<K, V, E> = Result<Arc<HashMap<K, V>>, E>;
type BatchFuture<K, V, E> = Shared<BoxFuture<'static, BatchResult<K, V, E>>>;

/// A batching loader that loads each key at most once per request, in as
/// few batches as the query's shape allows, whatever the timing.
///
/// async-graphql's `DataLoader` closes a batch on a timer (1 ms): keys that
/// arrive later start another batch. When a page of 100 restaurants takes
/// longer than that to walk, on a busy machine, one level of the query
/// would cost two round trips instead of one. So the batch is closed by the
/// request itself: the first caller's batch waits until the request's
/// resolvers have stopped adding keys (they all run in the request's task,
/// so yielding to it once lets every sibling field register its key), then
/// hands all keys to the `DataLoader` in one call. Every key also gets one
/// shared future, so a key asked for again while its batch is in flight
/// joins that batch instead of starting another.
pub struct Batched<T: Loader<K>, K: Send + Sync + Hash + Eq + Clone + 'static> {
    loader: Arc<DataLoader<T>>,
    state: SharedState<K, T::Value, T::Error>,
}

type SharedState<K, V, E> = Arc<Mutex<BatchState<K, V, E>>>;

/// The batch still collecting keys: its key list and its (shared) load.
type OpenBatch<K, V, E> = (Arc<Mutex<Vec<K>>>, BatchFuture<K, V, E>);

struct BatchState<K, V, E> {
    /// The loads of this request (in flight or done), by key.
    flights: HashMap<K, Flight<V, E>>,
    /// The batch still collecting keys, if any.
    open: Option<OpenBatch<K, V, E>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<T: Loader<K>, K: Send + Sync + Hash + Eq + Clone + 'static> Batched<T, K>
where
    T::Error: Sync,
{
    fn new(loader: T) -> Self {
        Self {
            loader: Arc::new(DataLoader::new(loader, tokio::spawn)),
            state: Arc::new(Mutex::new(BatchState {
                flights: HashMap::new(),
                open: None,
            })),
        }
    }

    /// Loads one key, batched with every other key the request asks for meanwhile.
    pub async fn load_one(&self, key: K) -> Result<Option<T::Value>, T::Error> {
        let flight = {
            let mut state = lock(&self.state);
            if let Some(flight) = state.flights.get(&key) {
                flight.clone()
            } else {
                let (keys, batch) = match &state.open {
                    Some((keys, batch)) => (keys.clone(), batch.clone()),
                    None => {
                        let keys = Arc::new(Mutex::new(Vec::new()));
                        let batch = self.open_batch(keys.clone());
                        state.open = Some((keys.clone(), batch.clone()));
                        (keys, batch)
                    }
                };
                lock(&keys).push(key.clone());
                let wanted = key.clone();
                let flight = async move { batch.await.map(|values| values.get(&wanted).cloned()) }
                    .boxed()
                    .shared();
                state.flights.insert(key, flight.clone());
                flight
            }
        };
        flight.await
    }

    fn open_batch(&self, keys: Arc<Mutex<Vec<K>>>) -> BatchFuture<K, T::Value, T::Error> {
        let loader = self.loader.clone();
        let state = self.state.clone();
        async move {
            // Let the request's other resolvers add their keys: yield until
            // a yield brings no new key.
            let mut seen = 0;
            loop {
                tokio::task::yield_now().await;
                let now = lock(&keys).len();
                if now == seen {
                    break;
                }
                seen = now;
            }
            // Close the batch: later keys open the next one.
            lock(&state).open = None;
            let batch = std::mem::take(&mut *lock(&keys));
            loader.load_many(batch).await.map(Arc::new)
        }
        .boxed()
        .shared()
    }

    /// Records values already read by another query, so loading them costs nothing.
    pub fn prime(&self, values: impl IntoIterator<Item = (K, T::Value)>) {
        let mut state = lock(&self.state);
        for (key, value) in values {
            state.flights.entry(key).or_insert_with(|| {
                futures_util::future::ready(Ok(Some(value)))
                    .boxed()
                    .shared()
            });
        }
    }
}

/// Every loader of one request.
pub struct Loaders {
    /// Restaurants by id.
    pub restaurant: Batched<RestaurantLoader, i64>,
    /// Restaurants by slug.
    pub restaurant_by_slug: Batched<RestaurantLoader, Slug>,
    /// Menu items by id.
    pub menu_item: Batched<MenuItemLoader, i64>,
    /// Reviews by id.
    pub review: Batched<ReviewLoader, i64>,
    /// Public display names of users by id.
    pub user_name: Batched<UserNameLoader, i64>,
    /// One menu page per restaurant.
    pub menu_page: Batched<MenuPageLoader, MenuPageKey>,
    /// Menu sizes per restaurant.
    pub menu_count: Batched<MenuCountLoader, MenuCountKey>,
    /// One review page per restaurant.
    pub review_page: Batched<ReviewPageLoader, ReviewPageKey>,
    /// Rating summaries (key-value cache over a SQL aggregate).
    pub rating: Batched<RatingLoader, i64>,
    /// Today's popularity ranking per restaurant (key-value).
    pub popularity: Batched<PopularityLoader, i64>,
    /// Whole user rows by id (for guarded fields only).
    pub user: Batched<UserLoader, i64>,
    /// Orders by id.
    pub order: Batched<OrderLoader, i64>,
    /// The lines of each order.
    pub order_lines: Batched<OrderLinesLoader, i64>,
    /// One order page per customer or restaurant.
    pub order_page: Batched<OrderPageLoader, OrderPageKey>,
    /// Open carts by user id (key-value).
    pub cart: Batched<CartLoader, i64>,
}

impl Loaders {
    /// Fresh loaders over one request's store handles.
    pub fn new(stores: &crate::request::Stores, limits: &Limits) -> Self {
        let db = &stores.db;
        let kv = &stores.kv;
        Self {
            restaurant: Batched::new(RestaurantLoader { db: db.clone() }),
            restaurant_by_slug: Batched::new(RestaurantLoader { db: db.clone() }),
            menu_item: Batched::new(MenuItemLoader { db: db.clone() }),
            review: Batched::new(ReviewLoader { db: db.clone() }),
            user_name: Batched::new(UserNameLoader { db: db.clone() }),
            menu_page: Batched::new(MenuPageLoader {
                db: db.clone(),
                kv: kv.clone(),
                ttl: Duration::from_secs(limits.menu_cache_ttl_secs),
            }),
            menu_count: Batched::new(MenuCountLoader { db: db.clone() }),
            review_page: Batched::new(ReviewPageLoader { db: db.clone() }),
            rating: Batched::new(RatingLoader {
                db: db.clone(),
                kv: kv.clone(),
                ttl: Duration::from_secs(limits.rating_cache_ttl_secs),
            }),
            popularity: Batched::new(PopularityLoader {
                kv: kv.clone(),
                day: popularity::today(),
            }),
            user: Batched::new(UserLoader { db: db.clone() }),
            order: Batched::new(OrderLoader { db: db.clone() }),
            order_lines: Batched::new(OrderLinesLoader { db: db.clone() }),
            order_page: Batched::new(OrderPageLoader { db: db.clone() }),
            cart: Batched::new(CartLoader { kv: kv.clone() }),
        }
    }
}

fn by_id<T>(rows: Vec<T>, id: impl Fn(&T) -> i64) -> HashMap<i64, T> {
    rows.into_iter().map(|row| (id(&row), row)).collect()
}

/// Restaurants by id (`i64`) and by slug ([`Slug`]).
pub struct RestaurantLoader {
    db: DatabaseConnection,
}

/// A restaurant slug, as a loader key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(pub String);

impl Loader<i64> for RestaurantLoader {
    type Value = restaurant::Model;
    type Error = StoreError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        Ok(by_id(
            query::restaurants_by_ids(&self.db, keys).await?,
            |r| r.id,
        ))
    }
}

impl Loader<Slug> for RestaurantLoader {
    type Value = restaurant::Model;
    type Error = StoreError;

    async fn load(&self, keys: &[Slug]) -> Result<HashMap<Slug, Self::Value>, Self::Error> {
        let slugs: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let rows = query::restaurants_by_slugs(&self.db, &slugs).await?;
        Ok(rows
            .into_iter()
            .map(|r| (Slug(r.slug.clone()), r))
            .collect())
    }
}

/// Menu items by id.
pub struct MenuItemLoader {
    db: DatabaseConnection,
}

impl Loader<i64> for MenuItemLoader {
    type Value = menu_item::Model;
    type Error = StoreError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        Ok(by_id(
            query::menu_items_by_ids(&self.db, keys).await?,
            |m| m.id,
        ))
    }
}

/// Reviews by id.
pub struct ReviewLoader {
    db: DatabaseConnection,
}

impl Loader<i64> for ReviewLoader {
    type Value = review::Model;
    type Error = StoreError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        Ok(by_id(query::reviews_by_ids(&self.db, keys).await?, |r| {
            r.id
        }))
    }
}

/// Users' public display names by id.
pub struct UserNameLoader {
    db: DatabaseConnection,
}

impl Loader<i64> for UserNameLoader {
    type Value = String;
    type Error = StoreError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        Ok(query::user_display_names(&self.db, keys).await?)
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

/// Menu pages, through the shared menu cache ([`crate::menu_cache`]): one
/// pipelined read of the cache for the whole batch, then, for the misses
/// only, one windowed statement per distinct page shape (in practice one:
/// every restaurant of a list asks for the same page) and one pipelined
/// write-back. With the key-value store unreachable, pages come from SQL.
pub struct MenuPageLoader {
    db: DatabaseConnection,
    kv: Kv,
    ttl: Duration,
}

impl Loader<MenuPageKey> for MenuPageLoader {
    type Value = Arc<[menu_item::Model]>;
    type Error = StoreError;

    async fn load(
        &self,
        keys: &[MenuPageKey],
    ) -> Result<HashMap<MenuPageKey, Self::Value>, Self::Error> {
        let fields: Vec<(String, String)> = keys
            .iter()
            .map(|k| (menu_cache::key(k.restaurant_id), menu_cache::field(&k.args)))
            .collect();
        let mut out = HashMap::with_capacity(keys.len());
        let cache_up = match self.kv.hget_many(&fields).await {
            Ok(values) => {
                for (key, value) in keys.iter().zip(values) {
                    if let Some(rows) = value.as_deref().and_then(menu_cache::decode) {
                        out.insert(key.clone(), rows.into());
                    }
                }
                true
            }
            Err(error) => {
                tracing::warn!(%error, "menu cache unreachable; reading menus from SQL");
                false
            }
        };
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
                if let Some(encoded) = menu_cache::encode(&page) {
                    fills.push((
                        menu_cache::key(restaurant_id),
                        menu_cache::field(&args),
                        encoded,
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
        if cache_up && !fills.is_empty() {
            // A failed write-back only costs a SQL read next time.
            if let Err(error) = self.kv.hset_many(&fills, Some(self.ttl)).await {
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
    db: DatabaseConnection,
}

impl Loader<MenuCountKey> for MenuCountLoader {
    type Value = u64;
    type Error = StoreError;

    async fn load(
        &self,
        keys: &[MenuCountKey],
    ) -> Result<HashMap<MenuCountKey, Self::Value>, Self::Error> {
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
    db: DatabaseConnection,
}

impl Loader<ReviewPageKey> for ReviewPageLoader {
    type Value = Arc<[review::Model]>;
    type Error = StoreError;

    async fn load(
        &self,
        keys: &[ReviewPageKey],
    ) -> Result<HashMap<ReviewPageKey, Self::Value>, Self::Error> {
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

/// Rating summaries: one `MGET` of the cached summaries, then, for the
/// misses only, one SQL aggregate and one pipelined write-back.
///
/// The summary is derived from SQL, and the key-value store only caches it:
/// when that store is unreachable the summary is computed from SQL and the
/// field still answers (at the price of one more statement).
pub struct RatingLoader {
    db: DatabaseConnection,
    kv: Kv,
    ttl: Duration,
}

impl Loader<i64> for RatingLoader {
    type Value = RatingAggregate;
    type Error = StoreError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let cache_keys: Vec<String> = keys.iter().map(|id| rating::cache_key(*id)).collect();
        let (mut out, cache_up) = match self.kv.mget(&cache_keys).await {
            Ok(values) => {
                let hits = keys
                    .iter()
                    .zip(values)
                    .filter_map(|(id, value)| Some((*id, rating::decode(&value?)?)))
                    .collect::<HashMap<_, _>>();
                (hits, true)
            }
            Err(error) => {
                tracing::warn!(%error, "rating cache unreachable; computing from SQL");
                (HashMap::new(), false)
            }
        };
        let misses: Vec<i64> = keys
            .iter()
            .copied()
            .filter(|id| !out.contains_key(id))
            .collect();
        if misses.is_empty() {
            return Ok(out);
        }
        let computed = query::rating_aggregates(&self.db, &misses).await?;
        if cache_up {
            let entries: Vec<(String, String)> = computed
                .iter()
                .map(|(id, agg)| (rating::cache_key(*id), rating::encode(agg)))
                .collect();
            // A failed write-back only costs a recomputation next time.
            if let Err(error) = self.kv.set_many(&entries, Some(self.ttl)).await {
                tracing::warn!(%error, "rating cache write-back failed");
            }
        }
        out.extend(computed);
        Ok(out)
    }
}

/// Today's popularity ranking per restaurant: one pipelined `ZREVRANGE … WITHSCORES` per batch.
///
/// A whole restaurant's ranking (bounded by its menu size) answers both the
/// `trendingItems` of the restaurant and the `popularity` of each of its
/// menu items, so those fields share one cached load.
pub struct PopularityLoader {
    kv: Kv,
    day: NaiveDate,
}

impl Loader<i64> for PopularityLoader {
    type Value = Arc<Ranking>;
    type Error = StoreError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let kv_keys: Vec<String> = keys
            .iter()
            .map(|id| popularity::key(self.day, *id))
            .collect();
        let rankings = self.kv.zrevrange_with_scores_many(&kv_keys, 0, -1).await?;
        Ok(keys
            .iter()
            .zip(rankings)
            .map(|(id, entries)| (*id, Arc::new(Ranking::from_scores(entries))))
            .collect())
    }
}

/// Whole user rows by id.
pub struct UserLoader {
    db: DatabaseConnection,
}

impl Loader<i64> for UserLoader {
    type Value = user::Model;
    type Error = StoreError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        Ok(by_id(query::users_by_ids(&self.db, keys).await?, |u| u.id))
    }
}

/// Orders by id.
pub struct OrderLoader {
    db: DatabaseConnection,
}

impl Loader<i64> for OrderLoader {
    type Value = order::Model;
    type Error = StoreError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        Ok(by_id(query::orders_by_ids(&self.db, keys).await?, |o| o.id))
    }
}

/// The lines of many orders, one statement per batch.
pub struct OrderLinesLoader {
    db: DatabaseConnection,
}

impl Loader<i64> for OrderLinesLoader {
    type Value = Arc<[order_line::Model]>;
    type Error = StoreError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let mut lines = group_rows(query::order_lines_by_orders(&self.db, keys).await?, |l| {
            l.order_id
        });
        Ok(keys
            .iter()
            .map(|id| (*id, lines.remove(id).unwrap_or_default().into()))
            .collect())
    }
}

/// Key of one order page: whose orders, which status, which page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderPageKey {
    /// A customer's or a restaurant's orders.
    pub owner: query::OrderOwner,
    /// The customer's or restaurant's id.
    pub owner_id: i64,
    /// Only orders in this status (stored form).
    pub status: Option<String>,
    /// Which page.
    pub window: PageWindow<i64>,
}

/// Order pages: one windowed statement per distinct page shape.
pub struct OrderPageLoader {
    db: DatabaseConnection,
}

impl Loader<OrderPageKey> for OrderPageLoader {
    type Value = Arc<[order::Model]>;
    type Error = StoreError;

    async fn load(
        &self,
        keys: &[OrderPageKey],
    ) -> Result<HashMap<OrderPageKey, Self::Value>, Self::Error> {
        let mut out = HashMap::with_capacity(keys.len());
        for ((owner, status, window), owner_ids) in group_by(keys, |k| {
            ((k.owner, k.status.clone(), k.window.clone()), k.owner_id)
        }) {
            let rows =
                query::order_pages(&self.db, owner, &owner_ids, status.as_deref(), &window).await?;
            let mut pages = group_rows(rows, |o| match owner {
                query::OrderOwner::Customer => o.user_id,
                query::OrderOwner::Restaurant => o.restaurant_id,
            });
            for owner_id in owner_ids {
                let page = pages.remove(&owner_id).unwrap_or_default();
                out.insert(
                    OrderPageKey {
                        owner,
                        owner_id,
                        status: status.clone(),
                        window: window.clone(),
                    },
                    page.into(),
                );
            }
        }
        Ok(out)
    }
}

/// Open carts: one pipelined `HGETALL` per batch. Carts exist only in the
/// key-value store: with it unreachable, the field fails.
pub struct CartLoader {
    kv: Kv,
}

impl Loader<i64> for CartLoader {
    type Value = crate::cart::StoredCart;
    type Error = StoreError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let hash_keys: Vec<String> = keys.iter().map(|id| crate::cart::key(*id)).collect();
        let hashes = self.kv.hgetall_many(&hash_keys).await?;
        Ok(keys
            .iter()
            .zip(hashes)
            .filter_map(|(id, fields)| Some((*id, crate::cart::decode(&fields)?)))
            .collect())
    }
}

/// Groups loader keys by their shared part, keeping the parent ids of each group.
fn group_by<K, S: Eq + Hash>(keys: &[K], split: impl Fn(&K) -> (S, i64)) -> Vec<(S, Vec<i64>)> {
    let mut groups: HashMap<S, Vec<i64>> = HashMap::new();
    for key in keys {
        let (shared, id) = split(key);
        groups.entry(shared).or_default().push(id);
    }
    groups.into_iter().collect()
}

fn group_rows<T>(rows: Vec<T>, parent: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut groups: HashMap<i64, Vec<T>> = HashMap::new();
    for row in rows {
        groups.entry(parent(&row)).or_default().push(row);
    }
    groups
}
