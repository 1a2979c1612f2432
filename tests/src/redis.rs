//! A `redis-server` of the test's own, on a free port, that the test can
//! stop and start again: a real outage without touching the shared Redis.
//!
//! It runs wherever `redis-server` is installed (it is on every machine this
//! project builds on); where it is missing, tests that need it say so and
//! skip, except in CI or with `BISTRO_TEST_REDIS_URL` set, where they fail.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// A redis-server of our own (stopped when dropped).
pub struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts one; `None` (after saying why) where `redis-server` is not installed.
    pub async fn start() -> Option<Self> {
        let port = free_port();
        let mut redis = Self { port, child: None };
        if !redis.launch().await {
            let required = std::env::var_os("CI").is_some()
                || std::env::var_os(crate::REDIS_URL_VAR).is_some();
            assert!(
                !required,
                "redis-server is not installed; the outage tests need it"
            );
            eprintln!(
                "SKIPPED: redis-server is not on PATH; install it to run the Redis outage tests"
            );
            return None;
        }
        Some(redis)
    }

    /// Starts the server (again, on the same port); `false` when it cannot be run.
    pub async fn launch(&mut self) -> bool {
        let spawned = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let Ok(child) = spawned else { return false };
        self.child = Some(child);
        // Ready when it accepts connections.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    /// Kills the server (an outage: connections drop, nothing is kept).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("stopping redis-server");
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}
