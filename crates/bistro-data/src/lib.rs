#![doc = include_str!("../README.md")]

pub mod account;
pub mod batch;
pub mod cart;
mod error;
mod loaders;
pub mod menu;
pub mod order;
pub mod popularity;
pub mod rate_limit;
pub mod rating;
pub mod restaurant;
pub mod review;

pub mod checkout;
pub mod events;
pub mod lifecycle;
pub mod money;
pub mod options;
pub mod stock;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bistro_kv::Kv;
use sea_orm::DatabaseConnection;
use serde::Deserialize;

pub use bistro_payments as payments;
pub use bistro_sql::entity;
pub use bistro_sql::query::{
    MenuCursor, MenuPageArgs, OrderOwner, PageWindow, RatingAggregate, RestaurantFilter, SearchHit,
};
pub use bistro_sql::write::{MenuItemChanges, NewMenuItem, NewReview, NewUser};
pub use error::{Error, Result};
pub use loaders::Loaders;

/// How the data layer uses the stores (configuration section `[data]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Whether public data (menus, rating summaries) is cached in the
    /// key-value store under the loaders. Off: every read goes to SQL.
    pub shared_caches: bool,
    /// Seconds a cached menu page lives (writes invalidate it sooner; this
    /// bounds staleness if an invalidation is lost in an outage).
    pub menu_cache_ttl_secs: u64,
    /// Seconds a cached rating summary lives.
    pub rating_cache_ttl_secs: u64,
    /// Most keys one statement loads; larger batches are split. 1 loads
    /// every key on its own (the N+1 baseline, for benchmarks only).
    pub max_batch_size: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            shared_caches: true,
            menu_cache_ttl_secs: 300,
            rating_cache_ttl_secs: 3_600,
            max_batch_size: 1_000,
        }
    }
}

impl Settings {
    pub(crate) fn menu_cache_ttl(&self) -> Duration {
        Duration::from_secs(self.menu_cache_ttl_secs)
    }

    pub(crate) fn rating_cache_ttl(&self) -> Duration {
        Duration::from_secs(self.rating_cache_ttl_secs)
    }
}

/// Both stores and how to use them; cheap to clone. Hands out one [`Scope`] per request.
#[derive(Clone)]
pub struct DataLayer {
    db: DatabaseConnection,
    kv: Kv,
    settings: Arc<Settings>,
    /// Menu pages decoded from the shared cache, shared by every request.
    decoded_pages: Arc<menu::DecodedPages>,
    /// Where scopes copy the text of every statement they run, when set
    /// (the benchmark harness replays them to measure the store alone).
    statement_log: Option<StatementLog>,
}

/// The statements scopes ran, values inlined, in order.
pub type StatementLog = Arc<std::sync::Mutex<Vec<String>>>;

impl DataLayer {
    /// The data layer over these stores (the key-value handle already carries its prefix).
    pub fn new(db: DatabaseConnection, kv: Kv, settings: Settings) -> Self {
        Self {
            db,
            kv,
            settings: Arc::new(settings),
            decoded_pages: Arc::default(),
            statement_log: None,
        }
    }

    /// A data layer connected to nothing: every store call fails. Enough for
    /// what never touches a store, such as exporting the schema.
    pub fn disconnected() -> Self {
        Self::new(
            DatabaseConnection::default(),
            Kv::memory(),
            Settings::default(),
        )
    }

    /// The same data layer, copying every statement its scopes run into `log`.
    pub fn with_statement_log(mut self, log: StatementLog) -> Self {
        self.statement_log = Some(log);
        self
    }

    /// The relational store, uncounted (operator commands, seeding, health).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The key-value store, uncounted.
    pub fn kv(&self) -> &Kv {
        &self.kv
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A fresh scope for one request: counted store handles and empty loaders.
    pub fn scope(&self) -> Scope {
        let round_trips = Arc::new(RoundTrips::default());
        let mut db = self.db.clone();
        let sql_counter = round_trips.sql.clone();
        // The callback lives on this clone only; the pool underneath is shared.
        let log = self.statement_log.clone();
        db.set_metric_callback(move |info| {
            sql_counter.fetch_add(1, Ordering::Relaxed);
            if let Some(log) = &log {
                log.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(info.statement.to_string());
            }
        });
        let kv = self.kv.counted(round_trips.kv.clone());
        let loaders = Loaders::new(&db, &kv, &self.settings, &self.decoded_pages);
        Scope {
            db,
            kv,
            loaders,
            round_trips,
        }
    }
}

/// Store round trips made while serving one request.
#[derive(Debug, Default)]
pub struct RoundTrips {
    /// SQL statements executed.
    sql: Arc<AtomicU64>,
    /// Key-value round trips and the commands in them.
    kv: Arc<bistro_kv::KvCounter>,
}

/// What one request's scope reads and writes through; lives as long as the request.
///
/// Every store access of a request goes through here: the loaders for
/// reads by key, and the methods of the domain modules (`restaurant`,
/// `menu`, `account`, …) for root lists and writes. Both store handles
/// count their round trips into this scope's [`RoundTrips`].
pub struct Scope {
    db: DatabaseConnection,
    kv: Kv,
    loaders: Loaders,
    round_trips: Arc<RoundTrips>,
}

impl Scope {
    /// The request's loaders.
    pub fn loaders(&self) -> &Loaders {
        &self.loaders
    }

    /// The counted key-value handle, for layouts other crates own (sessions, in `bistro-auth`).
    pub fn kv(&self) -> &Kv {
        &self.kv
    }

    /// `(sql statements, key-value round trips)` so far.
    pub fn round_trips(&self) -> (u64, u64) {
        (
            self.round_trips.sql.load(Ordering::Relaxed),
            self.round_trips.kv.round_trips(),
        )
    }

    /// Key-value commands so far (a pipeline of ten counts ten).
    pub fn kv_commands(&self) -> u64 {
        self.round_trips.kv.commands()
    }
}
