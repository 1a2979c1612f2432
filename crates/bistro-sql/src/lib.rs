#![doc = include_str!("../README.md")]

pub mod entity;

/// The map a batched load answers with, by key: hashed with foldhash
/// (seeded per map) instead of SipHash, which cost about 170 instructions
/// a key on the 1,500 or so keys a page's loaders hash.
pub type KeyMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub mod grouped;
pub mod migration;
pub mod ordering;
pub mod outbox;
pub mod persisted_documents;
pub mod query;
pub mod seed;
pub mod simulated_ledger;
pub mod steps;
pub mod write;
pub mod write_turn;

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
};
use sea_orm_migration::MigratorTrait;

/// Errors of the relational store, split the way callers must react to them.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The database cannot be reached (refused, timed out, pool exhausted):
    /// retrying later may help; the request should fail fast.
    #[error("relational store unavailable: {0}")]
    Unavailable(String),
    /// The database answered with an error (constraint, syntax, decoding).
    #[error("relational store error: {0}")]
    Db(DbErr),
}

impl Error {
    /// Whether the store could not be reached at all.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            Self::Unavailable(err.to_string())
        } else {
            Self::Db(err)
        }
    }
}

/// Connection-level failures: the statement never reached a working database.
fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => matches!(
            e.as_ref(),
            sea_orm::SqlxError::Io(_)
                | sea_orm::SqlxError::PoolTimedOut
                | sea_orm::SqlxError::PoolClosed
                | sea_orm::SqlxError::WorkerCrashed
                | sea_orm::SqlxError::Tls(_)
        ),
        _ => false,
    }
}

/// Result of relational store operations.
pub type Result<T> = std::result::Result<T, Error>;

/// Pool settings.
#[derive(Debug, Clone)]
pub struct SqlConfig {
    /// Largest number of pooled connections (PostgreSQL; file SQLite).
    pub max_connections: u32,
    /// How long a statement waits for a connection (or to open one) before
    /// failing with [`Error::Unavailable`]: keeps requests failing fast while
    /// the database is down.
    pub acquire_timeout: Duration,
}

impl Default for SqlConfig {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
        }
    }
}

/// Opens a pool on `url` (`sqlite://…` or `postgres://…`).
///
/// SQLite: the file's directory is created, the file too (`mode=rwc`), and
/// the pool runs in WAL mode with a busy timeout and foreign keys on. An
/// in-memory SQLite keeps a single connection, because every connection
/// would otherwise see its own empty database.
pub async fn connect(url: &str, config: &SqlConfig) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(config.max_connections)
        .min_connections(0)
        .connect_timeout(config.acquire_timeout)
        .acquire_timeout(config.acquire_timeout)
        // No ping before every statement (sqlx's default): a broken
        // connection fails its statement, which reports the store
        // unavailable like any outage, and the pool replaces it.
        .test_before_acquire(false)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        if !memory {
            create_parent_dir(url)?;
        }
        if memory {
            options.max_connections(1).min_connections(1);
            // A pooled in-memory database must never be closed for idling.
            options
                .idle_timeout(None::<Duration>)
                .max_lifetime(None::<Duration>);
        }
        options.map_sqlx_sqlite_opts(move |o| {
            let o = o
                .create_if_missing(true)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            if memory {
                o
            } else {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
            }
        });
    } else {
        options.map_sqlx_postgres_opts(|o| o.application_name("bistro"));
    }
    Ok(Database::connect(options).await?)
}

fn create_parent_dir(url: &str) -> Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::Unavailable(format!("creating {}: {e}", parent.display())))?;
    }
    Ok(())
}

/// Applies pending migrations.
///
/// On PostgreSQL, replicas starting together would race to migrate; a
/// transaction-scoped advisory lock lets one migrate while the others wait,
/// then find nothing left to do.
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            use sea_orm::TransactionTrait;
            let txn = db.begin().await?;
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(7263531908)")
                .await?;
            migration::Migrator::up(&txn, None).await?;
            txn.commit().await?;
        }
        _ => migration::Migrator::up(db, None).await?,
    }
    Ok(())
}

/// A condition to add to the one statement of a write whose durability may
/// trail by a moment: on PostgreSQL it makes that statement's own commit
/// asynchronous (`synchronous_commit` off for its transaction, set while it
/// runs, so no extra statement), sparing the wait for the write-ahead log to
/// reach the disk; elsewhere it is always true.
///
/// For writes that are safe to lose in a crash of PostgreSQL itself,
/// because the log is written in order: a later synchronous commit (the
/// order's) makes them durable too, and losing one only makes recovery do a
/// little more (a pending step's reference, read again from the provider by
/// its key; a finished step, whose bookkeeping recovery repeats). The
/// process dying loses nothing: PostgreSQL has the write.
pub fn durability_may_trail(db: &impl ConnectionTrait) -> sea_orm::sea_query::SimpleExpr {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => sea_orm::sea_query::Expr::cust(
            "set_config('synchronous_commit', 'off', true) IS NOT NULL",
        ),
        _ => sea_orm::sea_query::Expr::cust("1 = 1"),
    }
}

/// Inside a transaction on PostgreSQL, makes its commit asynchronous (see
/// [`durability_may_trail`]); elsewhere nothing.
pub async fn let_durability_trail(txn: &sea_orm::DatabaseTransaction) -> Result<()> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared("SET LOCAL synchronous_commit TO OFF")
            .await?;
    }
    Ok(())
}

/// One trivial statement: answers "is the database there?".
pub async fn ping(db: &DatabaseConnection) -> Result<()> {
    db.execute_unprepared("SELECT 1").await?;
    Ok(())
}

/// `"sqlite"` or `"postgres"`, for logs and health reports.
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => "postgres",
        DatabaseBackend::Sqlite => "sqlite",
        _ => "other",
    }
}

/// The connection pool as it is now (operators watch it for saturation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open, in use or idle.
    pub open: u32,
    /// Of those, idle.
    pub idle: u32,
    /// The most it may open (`sql.max_connections`).
    pub max: u32,
}

impl PoolStatus {
    /// Connections lent out now.
    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

/// The pool's status (sqlx reports sizes only; waiting for a connection is
/// timed where writes begin, [`ordering::begin_write`]).
pub fn pool_status(db: &DatabaseConnection) -> PoolStatus {
    fn status(open: u32, idle: usize, max: u32) -> PoolStatus {
        PoolStatus {
            open,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max,
        }
    }
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            status(
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            status(
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
    }
}
