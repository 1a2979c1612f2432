//! The store pairs a run measures, with the standard data set in them.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, Database, Statement};

/// Key prefix of everything the read workloads keep in Redis.
pub const KV_PREFIX: &str = READS.kv_prefix;

/// Where a run keeps its copy of the standard data set.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    /// The database inside the PostgreSQL server.
    pub database: &'static str,
    /// The key prefix in Redis.
    pub kv_prefix: &'static str,
    /// The SQLite file under `target/bench/`.
    pub sqlite_file: &'static str,
}

/// The read workloads' copy (W1, W1-SQL, W2, W5): never written to.
pub const READS: Place = Place {
    database: "bistro_bench",
    kv_prefix: "bistro-bench:",
    sqlite_file: "bistro.db",
};

/// W4's copy: it places orders, moves them along and switches menu items
/// on and off, which must not change what the read workloads measure.
pub const LIVE: Place = Place {
    database: "bistro_bench_live",
    kv_prefix: "bistro-bench-live:",
    sqlite_file: "live.db",
};

/// A store pair with the standard data set.
pub enum Pair {
    /// SQLite file + the server's in-process store.
    Embedded { database_url: String, place: Place },
    /// PostgreSQL + Redis.
    Real {
        database_url: String,
        redis_url: String,
        /// The PostgreSQL server's URL without a database, for pgbench.
        server_url: String,
        place: Place,
    },
}

impl Pair {
    /// Seeds the pair at `place` (unless it already holds the standard data
    /// set and `reseed` is off).
    pub async fn prepare(
        name: &str,
        server_url: &str,
        redis_url: &str,
        bin: &Path,
        reseed: bool,
        place: Place,
    ) -> anyhow::Result<Self> {
        let pair = match name {
            "embedded" => {
                let dir = PathBuf::from("target/bench");
                std::fs::create_dir_all(&dir)?;
                let path = std::fs::canonicalize(&dir)?.join(place.sqlite_file);
                Self::Embedded {
                    database_url: format!("sqlite://{}", path.display()),
                    place,
                }
            }
            "real" => Self::Real {
                database_url: replace_database(server_url, place.database)?,
                redis_url: redis_url.to_owned(),
                server_url: server_url.to_owned(),
                place,
            },
            other => anyhow::bail!("unknown store pair {other:?} (embedded, real)"),
        };
        if reseed || !pair.is_seeded().await {
            pair.reset().await?;
            pair.seed(bin).await?;
        }
        Ok(pair)
    }

    /// `sqlite+memory` or `postgres+redis`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Embedded { .. } => "sqlite+memory",
            Self::Real { .. } => "postgres+redis",
        }
    }

    /// Where the data lives, for the log.
    pub fn describe(&self) -> String {
        match self {
            Self::Embedded { database_url, .. } => database_url.clone(),
            Self::Real {
                database_url,
                redis_url,
                place,
                ..
            } => format!("{database_url}, {redis_url} under {}", place.kv_prefix),
        }
    }

    /// The relational store's URL.
    pub fn database_url(&self) -> &str {
        match self {
            Self::Embedded { database_url, .. } | Self::Real { database_url, .. } => database_url,
        }
    }

    /// The prefix of the pair's keys in Redis.
    pub fn kv_prefix(&self) -> &'static str {
        match self {
            Self::Embedded { place, .. } | Self::Real { place, .. } => place.kv_prefix,
        }
    }

    /// The key-value store's URL (empty: in-process).
    pub fn redis_url(&self) -> &str {
        match self {
            Self::Embedded { .. } => "",
            Self::Real { redis_url, .. } => redis_url,
        }
    }

    async fn is_seeded(&self) -> bool {
        if let Self::Embedded { database_url, .. } = self {
            let path = database_url.trim_start_matches("sqlite://");
            if !Path::new(path).exists() {
                return false;
            }
        }
        let Ok(db) = Database::connect(self.database_url()).await else {
            return false;
        };
        let count = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM restaurants",
            ))
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get::<i64>("", "n").ok());
        let _ = db.close().await;
        count == Some(1_000)
    }

    /// Empties the pair: a fresh SQLite file, or a fresh database and key prefix.
    async fn reset(&self) -> anyhow::Result<()> {
        match self {
            Self::Embedded { database_url, .. } => {
                let path = database_url.trim_start_matches("sqlite://");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
            Self::Real {
                server_url,
                redis_url,
                place,
                ..
            } => {
                let admin = Database::connect(server_url.as_str())
                    .await
                    .context("connecting to PostgreSQL")?;
                let database = place.database;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                    .await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {database}"))
                    .await?;
                admin.close().await?;
                let kv = bistro_kv::Kv::connect_redis(redis_url, &bistro_kv::KvConfig::default())
                    .await?
                    .with_prefix(place.kv_prefix);
                kv.purge_prefix()
                    .await
                    .context("emptying the Redis prefix")?;
            }
        }
        Ok(())
    }

    /// `bistro seed --size standard` with the release binary.
    async fn seed(&self, bin: &Path) -> anyhow::Result<()> {
        eprintln!("bench: seeding the standard data set into {}", self.name());
        let status = tokio::process::Command::new(bin)
            .args(["seed", "--size", "standard"])
            .env("BISTRO_DATABASE_URL", self.database_url())
            .env("BISTRO_REDIS_URL", self.redis_url())
            .env("BISTRO_KV__KEY_PREFIX", self.kv_prefix())
            .env("BISTRO_ENVIRONMENT", "development")
            .env("RUST_LOG", "warn")
            .status()
            .await
            .context("running bistro seed")?;
        anyhow::ensure!(status.success(), "bistro seed failed: {status}");
        Ok(())
    }
}

/// `url` naming `database` instead of its own.
fn replace_database(url: &str, database: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .context("a PostgreSQL URL like postgres://user@host:5432/db")?;
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let query = tail
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Ok(format!("{scheme}://{authority}/{database}{query}"))
}
