#![doc = include_str!("../README.md")]

pub mod account;
pub mod batch;
pub mod cart;
mod error;
mod loaders;
pub mod menu;
mod observe;
pub mod order;
pub mod popularity;
pub mod rate_limit;
pub mod rating;
pub mod restaurant;
pub mod review;

pub mod checkout;
pub mod events;
mod finished_steps;
pub mod lifecycle;
pub mod money;
pub mod options;
mod pending;
pub mod persisted;
pub mod processor;
pub mod recovery;
pub mod simulated_ledger;
pub mod stock;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bistro_kv::Kv;
use sea_orm::DatabaseConnection;
use serde::Deserialize;

pub use bistro_payments as payments;
pub use bistro_sql::KeyMap;
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

/// How money moves: the payment provider, and how long a checkout or a
/// payment change may stay unfinished before recovery takes it over.
#[derive(Clone, Debug)]
pub struct Payments {
    /// The provider checkout and the order lifecycle call.
    pub provider: Arc<dyn bistro_payments::PaymentProvider>,
    /// The lease of a request on its pending step: after it, a retry of the
    /// same checkout or the recovery task may take the step over.
    pub recovery_after: Duration,
    /// How long a checkout whose card asks its holder to act (3-D Secure)
    /// keeps its stock and its key for the customer's retry; after it,
    /// recovery cancels the payment and gives the stock back.
    pub customer_action: Duration,
    /// What the browser needs to take a card itself (Stripe.js and the
    /// publishable key); empty for a provider that takes test tokens.
    pub browser: BrowserPayments,
}

/// What the storefront needs to take a card in the browser, so that card
/// numbers never reach Bistro: the processor's script and its public key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrowserPayments {
    /// The publishable key (`pk_…`): public by design.
    pub publishable_key: String,
    /// Where the page loads the processor's script from (Stripe.js).
    pub script_url: String,
}

impl Payments {
    /// The simulated processor with its books in this process only, and a
    /// ten-minute recovery lease (tools and tests without a server).
    pub fn simulated_in_memory() -> Self {
        Self {
            provider: Arc::new(bistro_payments::SimulatedProcessor::in_memory()),
            recovery_after: Duration::from_secs(600),
            customer_action: Duration::from_secs(900),
            browser: BrowserPayments::default(),
        }
    }
}

/// Both stores and how to use them; cheap to clone. Hands out one [`Scope`] per request.
#[derive(Clone)]
pub struct DataLayer {
    db: DatabaseConnection,
    kv: Kv,
    settings: Arc<Settings>,
    payments: Payments,
    /// Menu pages decoded from the shared cache, shared by every request.
    decoded_pages: Arc<menu::DecodedPages>,
    /// Where scopes copy the text of every statement they run, when set
    /// (the benchmark harness replays them to measure the store alone).
    statement_log: Option<StatementLog>,
    /// Checkout steps whose orders are placed, deleted together.
    finished_steps: Arc<finished_steps::FinishedSteps>,
}

/// The statements scopes ran, values inlined, in order.
pub type StatementLog = Arc<std::sync::Mutex<Vec<String>>>;

impl DataLayer {
    /// The data layer over these stores (the key-value handle already
    /// carries its prefix), paying through `payments`.
    pub fn new(db: DatabaseConnection, kv: Kv, settings: Settings, payments: Payments) -> Self {
        Self {
            finished_steps: Arc::new(finished_steps::FinishedSteps::new(db.clone())),
            db,
            kv,
            settings: Arc::new(settings),
            payments,
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
            Payments::simulated_in_memory(),
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

    /// How money moves.
    pub fn payments(&self) -> &Payments {
        &self.payments
    }

    /// Waits until the steps of every checkout answered so far are deleted
    /// (they are deleted together, after the answers): for a server that
    /// stops, and for tests that look at the pending steps.
    pub async fn finished_steps_settled(&self) {
        self.finished_steps.settled().await;
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
            observe::sql_statement(info);
            if let Some(log) = &log {
                log.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(info.statement.to_string());
            }
        });
        let kv = self.kv.counted(round_trips.kv.clone());
        let loaders = Arc::new(Loaders::new(&db, &kv, &self.settings, &self.decoded_pages));
        Scope {
            db,
            kv,
            loaders,
            round_trips,
            payments: self.payments.clone(),
            finished_steps: self.finished_steps.clone(),
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
///
/// Cheap to clone (every clone shares the loaders and the counts): a write
/// that must finish whatever happens to its request runs on a clone in a
/// task of its own.
#[derive(Clone)]
pub struct Scope {
    db: DatabaseConnection,
    kv: Kv,
    loaders: Arc<Loaders>,
    round_trips: Arc<RoundTrips>,
    payments: Payments,
    finished_steps: Arc<finished_steps::FinishedSteps>,
}

impl Scope {
    /// The request's loaders.
    pub fn loaders(&self) -> &Loaders {
        &self.loaders
    }

    /// How money moves.
    pub fn payments(&self) -> &Payments {
        &self.payments
    }

    /// Runs `work` on a clone of this scope in a task of its own, so it
    /// finishes (or undoes itself) even if the request that started it is
    /// dropped half way: a client that hangs up, a WebSocket `complete`, the
    /// request timeout. The request still gets the answer when it waits.
    pub(crate) async fn detached<T, F>(&self, work: impl FnOnce(Scope) -> F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        // The request's span goes with the work, so its statements and
        // payment calls stay in the request's trace.
        let work = tracing::Instrument::in_current_span(work(self.clone()));
        match tokio::spawn(work).await {
            Ok(result) => result,
            Err(error) => Err(Error::Task(error.to_string())),
        }
    }

    /// The counted key-value handle.
    pub(crate) fn kv(&self) -> &Kv {
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
