//! The store floor: what PostgreSQL and Redis alone can do for one page,
//! measured in the same run, so a row can say what fraction of it Bistro
//! reaches.
//!
//! The page's own statements and commands are captured by running the
//! workload's request once through the same schema and data layer the
//! server uses, in this process: SQL statements from the data layer's
//! statement log (values inlined), key-value commands from Redis' `MONITOR`.
//! Then pgbench replays the statements with as many clients as the server's
//! pool has connections, and a small pipelined client replays the commands
//! with as many connections as the load generator holds.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bistro_data::{DataLayer, Settings};
use bistro_schema::{Api, AuthDeps, Caller, Limits, SchemaDeps};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::server::{SQL_POOL, ServerSettings, TOKEN_SECRET};
use crate::stores::{KV_PREFIX, Pair};
use crate::workloads::Prepared;

/// The floor of one page.
#[derive(Debug, Clone, Copy, Default)]
pub struct Floor {
    /// SQL statements replayed per page.
    pub statements: usize,
    /// Pages per second PostgreSQL alone serves (None: the page needs no SQL).
    pub sql_pages_per_sec: Option<f64>,
    /// Median page latency in PostgreSQL alone, milliseconds.
    pub sql_p50_ms: Option<f64>,
    /// The same two figures with as many clients as the load generator
    /// holds connections (the floor above has as many as the server's
    /// pool): latencies compared at equal concurrency.
    pub sql_at_connections: Option<(f64, f64)>,
    /// Key-value commands replayed per page.
    pub commands: usize,
    /// Pages per second Redis alone serves (None: the page needs no key-value command).
    pub kv_pages_per_sec: Option<f64>,
}

impl Floor {
    /// Pages per second the slower store allows.
    pub fn pages_per_sec(&self) -> Option<f64> {
        match (self.sql_pages_per_sec, self.kv_pages_per_sec) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Measures the floor of `prepared` on the real pair (`None` on the embedded one).
pub async fn measure(
    pair: &Pair,
    settings: &ServerSettings,
    prepared: &Prepared,
    connections: u32,
    duration: Duration,
) -> anyhow::Result<Option<Floor>> {
    let Pair::Real { redis_url, .. } = pair else {
        return Ok(None);
    };
    let (statements, commands) = capture(pair, settings, prepared, redis_url).await?;
    let mut floor = Floor {
        statements: statements.len(),
        commands: commands.len(),
        ..Floor::default()
    };
    if !statements.is_empty() {
        let (tps, p50) = pgbench(pair.database_url(), &statements, SQL_POOL, duration).await?;
        floor.sql_pages_per_sec = Some(tps);
        floor.sql_p50_ms = Some(p50);
        floor.sql_at_connections = Some(if connections == SQL_POOL {
            (tps, p50)
        } else {
            pgbench(pair.database_url(), &statements, connections, duration).await?
        });
    }
    if !commands.is_empty() {
        floor.kv_pages_per_sec = Some(replay(redis_url, &commands, connections, duration).await?);
    }
    Ok(Some(floor))
}

/// The statements and key-value commands one warm request of `prepared` runs.
async fn capture(
    pair: &Pair,
    settings: &ServerSettings,
    prepared: &Prepared,
    redis_url: &str,
) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    let db = bistro_sql::connect(
        pair.database_url(),
        &bistro_sql::SqlConfig {
            max_connections: SQL_POOL,
            acquire_timeout: Duration::from_secs(5),
        },
    )
    .await?;
    let kv = bistro_kv::Kv::connect_redis(redis_url, &bistro_kv::KvConfig::default())
        .await?
        .with_prefix(KV_PREFIX);
    let log: bistro_data::StatementLog = Arc::new(Mutex::new(Vec::new()));
    let data = DataLayer::new(
        db,
        kv.clone(),
        Settings {
            shared_caches: settings.shared_caches,
            max_batch_size: settings.max_batch_size,
            ..Settings::default()
        },
        bistro_data::Payments::simulated_in_memory(),
    )
    .with_statement_log(log.clone());
    let api = Api::new(SchemaDeps {
        data,
        limits: Limits::default(),
        auth: AuthDeps {
            keys: bistro_auth::TokenKeys::new(TOKEN_SECRET.as_bytes(), Duration::from_secs(900))?,
            sessions: bistro_auth::Sessions::new(kv, Duration::from_secs(3600)),
            passwords: bistro_auth::password::PasswordHashing::new(0, 64),
        },
        rate_limits: Default::default(),
    });
    let body: Value = serde_json::from_str(&prepared.body)?;
    let request = || {
        async_graphql::Request::new(body["query"].as_str().unwrap_or_default()).variables(
            async_graphql::Variables::from_json(body["variables"].clone()),
        )
    };
    let caller = || Caller {
        token: prepared.tokens.first().cloned(),
        address: None,
        router: false,
    };
    // Warm the caches the way the load generator's first requests do.
    // Requests run in a task of their own, as the server runs them: the
    // loaders' batching waits for rounds of the task's scheduler.
    let api = Arc::new(api);
    let run = |request: async_graphql::Request, caller: Caller| {
        let api = api.clone();
        async move { tokio::spawn(async move { api.execute(request, caller).await }).await }
    };
    let warm = run(request(), caller()).await?;
    anyhow::ensure!(warm.errors.is_empty(), "{:?}", warm.errors);
    log.lock().unwrap_or_else(|p| p.into_inner()).clear();

    let mut monitor = Command::new("redis-cli")
        .args(["-u", redis_url, "monitor"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("running redis-cli monitor")?;
    let mut lines = BufReader::new(monitor.stdout.take().context("monitor output")?).lines();
    // MONITOR answers OK once it listens.
    let first = tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await??;
    anyhow::ensure!(
        first.as_deref() == Some("OK"),
        "redis-cli monitor said {first:?}"
    );
    let response = run(request(), caller()).await?;
    anyhow::ensure!(response.errors.is_empty(), "{:?}", response.errors);
    let mut monitored = Vec::new();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_millis(300), lines.next_line()).await
    {
        monitored.push(line);
    }
    let _ = monitor.kill().await;
    let statements = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok((statements, our_commands(&monitored)))
}

/// The commands of our connections in `MONITOR` output: every command of a
/// client that touched our prefix (transactions included), none that ran
/// inside a script (the script's own call is replayed instead).
fn our_commands(lines: &[String]) -> Vec<Vec<String>> {
    let parsed: Vec<(String, Vec<String>)> = lines
        .iter()
        .filter_map(|line| {
            let open = line.find('[')?;
            let close = line[open..].find(']')? + open;
            let client = line[open + 1..close].split_whitespace().nth(1)?.to_owned();
            Some((client, quoted_args(&line[close + 1..])))
        })
        .filter(|(client, _)| client != "lua")
        .collect();
    let ours: std::collections::HashSet<&str> = parsed
        .iter()
        .filter(|(_, args)| args.iter().any(|a| a.starts_with(KV_PREFIX)))
        .map(|(client, _)| client.as_str())
        .collect();
    parsed
        .iter()
        .filter(|(client, _)| ours.contains(client.as_str()))
        .map(|(_, args)| args.clone())
        .filter(|args| !args.is_empty())
        .collect()
}

/// `"GET" "a \"b\""` → `["GET", "a \"b\""]` (redis-cli's quoting).
fn quoted_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut arg = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => arg.push('\n'),
                    Some('r') => arg.push('\r'),
                    Some('t') => arg.push('\t'),
                    Some('x') => {
                        let hex: String = chars.by_ref().take(2).collect();
                        if let Ok(byte) = u8::from_str_radix(&hex, 16) {
                            arg.push(char::from(byte));
                        }
                    }
                    Some(other) => arg.push(other),
                    None => {}
                },
                other => arg.push(other),
            }
        }
        args.push(arg);
    }
    args
}

/// Runs the page's statements with pgbench; `(pages per second, median page ms)`.
async fn pgbench(
    database_url: &str,
    statements: &[String],
    clients: u32,
    duration: Duration,
) -> anyhow::Result<(f64, f64)> {
    let dir = std::env::temp_dir().join(format!("bistro-bench-pgbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("page.sql");
    let text: String = statements
        .iter()
        .map(|s| format!("{};\n", s.trim().trim_end_matches(';').replace('\n', " ")))
        .collect();
    std::fs::write(&script, text)?;
    let output = Command::new("pgbench")
        .current_dir(&dir)
        .arg("-n")
        .arg(format!("-c{clients}"))
        .arg("-j2")
        .arg(format!("-T{}", duration.as_secs().max(1)))
        .arg("-l")
        .arg("-f")
        .arg(&script)
        .arg(database_url)
        .output()
        .await
        .context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "pgbench failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tps: f64 = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .context("pgbench printed no tps")?
        .parse()?;
    // Per-transaction logs: the third field is the latency in microseconds.
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("pgbench_log"))
        {
            for line in std::fs::read_to_string(&path)?.lines() {
                if let Some(us) = line
                    .split_whitespace()
                    .nth(2)
                    .and_then(|v| v.parse::<f64>().ok())
                {
                    latencies.push(us / 1000.0);
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    latencies.sort_by(f64::total_cmp);
    let p50 = latencies.get(latencies.len() / 2).copied().unwrap_or(0.0);
    Ok((tps, p50))
}

/// Replays the page's commands as one pipeline per page on `connections`
/// connections for `duration`; pages per second.
async fn replay(
    redis_url: &str,
    commands: &[Vec<String>],
    connections: u32,
    duration: Duration,
) -> anyhow::Result<f64> {
    let client = redis::Client::open(redis_url)?;
    let mut pipe = redis::pipe();
    for command in commands {
        let mut cmd = redis::cmd(&command[0]);
        for arg in &command[1..] {
            cmd.arg(arg);
        }
        pipe.add_command(cmd);
    }
    let pipe = Arc::new(pipe);
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let mut connection = client.get_multiplexed_async_connection().await?;
        let pipe = pipe.clone();
        tasks.push(tokio::spawn(async move {
            let mut pages = 0u64;
            while Instant::now() < deadline {
                // Replies are not looked at; errors (none expected) would be.
                let _: redis::Value = pipe.query_async(&mut connection).await?;
                pages += 1;
            }
            Ok::<u64, redis::RedisError>(pages)
        }));
    }
    let started = Instant::now();
    let mut pages = 0;
    for task in tasks {
        pages += task.await??;
    }
    Ok(pages as f64 / started.elapsed().as_secs_f64().max(duration.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_lines_are_read() {
        let lines = vec![
            "OK".to_owned(),
            r#"1.0 [0 127.0.0.1:5000] "MGET" "bistro-bench:rating:v1:1" "bistro-bench:rating:v1:2""#.to_owned(),
            r#"1.1 [0 127.0.0.1:5000] "HGET" "x" "a \"b\"""#.to_owned(),
            r#"1.2 [0 lua] "GET" "bistro-bench:k""#.to_owned(),
            r#"1.3 [0 127.0.0.1:6000] "PING""#.to_owned(),
        ];
        let commands = our_commands(&lines);
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[1], vec!["HGET", "x", "a \"b\""]);
    }
}
