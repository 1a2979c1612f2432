//! The release server under test, as its own process, and what `/proc`
//! says about it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

use crate::stores::Pair;

/// The secret the benchmark server signs tokens with.
pub const TOKEN_SECRET: &str = "bistro-bench-signing-secret-0123456789abcdef";

/// The SQL pool size the server runs with (pgbench gets as many clients).
pub const SQL_POOL: u32 = 10;

/// Builds the release `bistro` binary and returns its path.
pub async fn build_release() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("bench: building the release server");
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "bistro-server",
            "--bin",
            "bistro",
        ])
        .status()
        .await
        .context("running cargo build")?;
    anyhow::ensure!(status.success(), "cargo build --release failed");
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned());
    let bin = PathBuf::from(target).join("release").join("bistro");
    anyhow::ensure!(bin.exists(), "no binary at {}", bin.display());
    Ok(bin)
}

/// One configuration of the server.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Its name in the table.
    pub name: &'static str,
    /// `data.shared_caches`.
    pub shared_caches: bool,
    /// `data.max_batch_size`.
    pub max_batch_size: usize,
    /// Whether rows of this configuration get a store floor.
    pub floor: bool,
    /// Stripe's API (a local stand-in: localstripe) when payments go
    /// through Stripe; `None`: the simulated processor.
    pub stripe_api: Option<String>,
}

impl ServerSettings {
    /// The production configuration: shared caches on, batching on.
    pub fn cached() -> Self {
        Self {
            name: "caches on",
            shared_caches: true,
            max_batch_size: 1_000,
            floor: true,
            stripe_api: None,
        }
    }

    /// The production configuration paying through Stripe's API at `api`
    /// (W3 only: the other workloads pay nothing).
    pub fn stripe(api: &str) -> Self {
        Self {
            name: "caches on, Stripe",
            stripe_api: Some(api.trim_end_matches('/').to_owned()),
            floor: false,
            ..Self::cached()
        }
    }

    /// The card token a checkout pays with in this configuration.
    pub fn payment_token(&self) -> &'static str {
        if self.stripe_api.is_some() {
            "pm_card_visa"
        } else {
            "tok_visa"
        }
    }

    /// Every field from SQL.
    pub fn uncached() -> Self {
        Self {
            name: "caches off",
            shared_caches: false,
            max_batch_size: 1_000,
            floor: true,
            stripe_api: None,
        }
    }

    /// Every key its own statement: the N+1 baseline.
    pub fn unbatched() -> Self {
        Self {
            name: "no batching",
            shared_caches: true,
            max_batch_size: 1,
            floor: false,
            stripe_api: None,
        }
    }
}

/// A running server process.
pub struct Server {
    child: Child,
    pid: u32,
    port: u16,
    client: reqwest::Client,
    /// What its checkouts pay with.
    pub payment_token: &'static str,
}

impl Server {
    /// Starts `bin` on `pair` with `settings` and waits until it is ready.
    pub async fn start(
        bin: &Path,
        pair: &Pair,
        settings: &ServerSettings,
        log: &str,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut command = Command::new(bin);
        if let Some(api) = &settings.stripe_api {
            command
                .env("BISTRO_PAYMENTS__PROVIDER", "stripe")
                .env("BISTRO_PAYMENTS__STRIPE_SECRET_KEY", "sk_test_bistro_bench")
                .env(
                    "BISTRO_PAYMENTS__STRIPE_PUBLISHABLE_KEY",
                    "pk_test_bistro_bench",
                )
                .env(
                    "BISTRO_PAYMENTS__STRIPE_WEBHOOK_SECRET",
                    "whsec_bistro_bench",
                )
                .env("BISTRO_PAYMENTS__STRIPE_API_BASE", api)
                .env(
                    "BISTRO_PAYMENTS__STRIPE_JS_URL",
                    format!("{api}/js.stripe.com/v3/"),
                );
        }
        let child = command
            .arg("serve")
            .env("BISTRO_LISTEN", format!("127.0.0.1:{port}"))
            .env("BISTRO_DATABASE_URL", pair.database_url())
            .env("BISTRO_REDIS_URL", pair.redis_url())
            .env("BISTRO_KV__KEY_PREFIX", pair.kv_prefix())
            .env("BISTRO_ENVIRONMENT", "development")
            .env("BISTRO_SEED_DEMO_DATA", "false")
            .env("BISTRO_HTTP__GRAPHIQL", "false")
            .env("BISTRO_RATE_LIMIT__REQUESTS_PER_MINUTE", "0")
            .env("BISTRO_GRAPHQL__EXPOSE_ROUND_TRIPS", "true")
            .env("BISTRO_AUTH__TOKEN_SECRET", TOKEN_SECRET)
            .env("BISTRO_SQL__MAX_CONNECTIONS", SQL_POOL.to_string())
            .env(
                "BISTRO_DATA__SHARED_CACHES",
                settings.shared_caches.to_string(),
            )
            .env(
                "BISTRO_DATA__MAX_BATCH_SIZE",
                settings.max_batch_size.to_string(),
            )
            .env("BISTRO_LOG_FORMAT", "json")
            .env("RUST_LOG", log)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let server = Self {
            child,
            pid,
            port,
            payment_token: settings.payment_token(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
        };
        for _ in 0..600 {
            if let Ok(response) = server.client.get(server.url("/health/ready")).send().await
                && response.status().is_success()
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the server did not become ready within a minute")
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// An HTTP client for probes.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// User + system CPU time the process has used, in milliseconds.
    pub fn cpu_ms(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // Fields after the command name (which may hold spaces) start at ')'.
        let after = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .context("unreadable /proc stat")?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line: 12 and 13 after ')'.
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        Ok(ticks as f64 * 1000.0 / clock_ticks() as f64)
    }

    /// Resets the process's peak resident memory, so the next reading is this run's.
    pub fn reset_peak_memory(&self) {
        // Writing 5 to clear_refs resets VmHWM (Linux 4.0+).
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5");
    }

    /// Peak resident memory since the last reset, MiB.
    pub fn peak_memory_mib(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .context("no VmHWM")?
            .parse()?;
        Ok(kib / 1024.0)
    }

    /// File descriptors the process holds now (its sockets among them).
    pub fn open_fds(&self) -> anyhow::Result<usize> {
        Ok(std::fs::read_dir(format!("/proc/{}/fd", self.pid))?.count())
    }

    /// Resident memory now, MiB.
    pub fn rss_mib(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .context("no VmRSS")?
            .parse()?;
        Ok(kib / 1024.0)
    }

    /// Stops the process.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Kernel clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}
