//! The table, the ratios, and `BENCHMARKS.md`.

use std::fmt::Write as _;
use std::path::Path;

use crate::floor::Floor;
use crate::live::{MemoryResult, W4Result};
use crate::load::LoadResult;
use crate::server::SQL_POOL;
use crate::workloads::Probe;

/// One measured row.
pub struct Row {
    /// Store pair.
    pub pair: String,
    /// Workload name.
    pub workload: String,
    /// Server configuration.
    pub setting: String,
    /// Which binary, when comparing builds.
    pub label: String,
    /// What one request costs.
    pub probe: Probe,
    /// The measured run.
    pub result: LoadResult,
    /// The store floor (PostgreSQL + Redis only).
    pub floor: Option<Floor>,
}

fn opt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"))
}

/// The results as a Markdown table.
pub fn table(rows: &[Row], connections: u32) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{connections} connections (wrk, 2 threads); SQL pool {SQL_POOL}; request budget off.\n"
    );
    let _ = writeln!(
        out,
        "| pair | workload | configuration | req/s | p50 ms | p99 ms | p99 / p50 | response KiB | SQL/req | KV round trips/req | KV commands/req | server CPU ms/req | peak RSS MiB | floor pages/s (SQL · KV) | floor p50 ms | % of floor | SQL floor at {connections} clients: pages/s · p50 ms |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in rows {
        let floor = row.floor.as_ref();
        let floor_rate = floor.and_then(Floor::pages_per_sec);
        let setting = if row.label.is_empty() {
            row.setting.clone()
        } else {
            format!("{} [{}]", row.setting, row.label)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {:.2} | {:.0} | {} | {} | {} | {} |",
            row.pair,
            row.workload,
            setting,
            row.result.requests_per_sec,
            row.result.p50_ms,
            row.result.p99_ms,
            row.result.p99_ms / row.result.p50_ms.max(f64::MIN_POSITIVE),
            row.probe.bytes as f64 / 1024.0,
            row.probe.sql,
            row.probe.kv,
            row.probe.kv_commands,
            row.result.cpu_ms_per_request,
            row.result.peak_rss_mib,
            floor.map_or_else(
                || "–".to_owned(),
                |f| format!(
                    "{} · {} ({} stmts, {} cmds)",
                    opt(f.sql_pages_per_sec, 0),
                    opt(f.kv_pages_per_sec, 0),
                    f.statements,
                    f.commands
                )
            ),
            opt(floor.and_then(|f| f.sql_p50_ms), 1),
            opt(
                floor_rate.map(|rate| 100.0 * row.result.requests_per_sec / rate),
                0
            )
            .to_owned()
                + if floor_rate.is_some() { " %" } else { "" },
            floor.and_then(|f| f.sql_at_connections).map_or_else(
                || "–".to_owned(),
                |(rate, p50)| format!("{rate:.0} · {p50:.1}")
            ),
        );
    }
    out
}

fn find<'a>(rows: &'a [Row], pair: &str, workload: &str, setting: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.pair == pair && r.workload == workload && r.setting == setting)
}

/// The comparisons the issue asks for, within this run.
pub fn ratios(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut pairs: Vec<&str> = rows.iter().map(|r| r.pair.as_str()).collect();
    pairs.dedup();
    for pair in pairs {
        let rate = |workload, setting| {
            find(rows, pair, workload, setting).map(|r| r.result.requests_per_sec)
        };
        if let (Some(on), Some(off)) = (rate("W1-SQL", "caches on"), rate("W1-SQL", "caches off")) {
            let _ = writeln!(
                out,
                "- {pair}: W1-SQL with the shared caches on serves {:.2}x the requests of W1-SQL with them off.",
                on / off
            );
        }
        if let (Some(batched), Some(unbatched)) =
            (rate("W1", "caches on"), rate("W1", "no batching"))
        {
            let _ = writeln!(
                out,
                "- {pair}: W1 with batching serves {:.1}x the requests of W1 with every key its own statement.",
                batched / unbatched
            );
        }
        if let (Some(w1), Some(sql)) = (rate("W1", "caches on"), rate("W1-SQL", "caches off")) {
            let _ = writeln!(
                out,
                "- {pair}: W1 (composed, caches on) serves {:.2}x the requests of W1-SQL with the caches off.",
                w1 / sql
            );
        }
        if let Some(row) = find(rows, pair, "W1-SQL", "caches off")
            && let Some(floor) = row.floor
            && let (Some(rate), Some(p50)) = (floor.sql_pages_per_sec, floor.sql_p50_ms)
        {
            let _ = writeln!(
                out,
                "- {pair}: W1-SQL (caches off) reaches {:.0} % of PostgreSQL's own throughput for its {} statements; p50 {:.1} ms against the floor's {:.1} ms ({:.2}x){}.",
                100.0 * row.result.requests_per_sec / rate,
                floor.statements,
                row.result.p50_ms,
                p50,
                row.result.p50_ms / p50.max(f64::MIN_POSITIVE),
                floor.sql_at_connections.map_or_else(String::new, |(_, p50)| format!(
                    ", and against {p50:.1} ms for PostgreSQL alone at the load generator's concurrency ({:.2}x)",
                    row.result.p50_ms / p50.max(f64::MIN_POSITIVE)
                ))
            );
        }
    }
    out
}

/// W4's results as a Markdown table.
pub fn live_table(rows: &[(String, W4Result)], rate: u32, seconds: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "W4: nine subscribers in ten anonymous to `menuItemAvailability` of 100 restaurants (spread evenly), \
         one in ten customers to `orderUpdated` of their own order; availability toggles and staff \
         transitions raised alternately through the API at {rate} events a second for {seconds} s, on one \
         replica (the release server as its own process). Latency: from the time the server stamped on the \
         event (`at`, millisecond resolution: a menu event's publication; a transition's recorded time, taken \
         just before its write transaction, so its commit counts) to its arrival at the client.\n"
    );
    let _ = writeln!(
        out,
        "| pair | subscribers (menu · order) | subscribed in s | events raised (toggles · transitions) | refused | deliveries owed | delivered | missed-updates · errors | p50 ms | p99 ms | p99 ms menu · order | max ms | server CPU % | server RSS MiB |"
    );
    let _ = writeln!(
        out,
        "|---|---|---:|---|---:|---:|---:|---|---:|---:|---|---:|---:|---:|"
    );
    for (pair, r) in rows {
        let _ = writeln!(
            out,
            "| {pair} | {} ({} · {}) | {:.1} | {} ({} · {}) | {} | {} | {} | {} · {} | {:.1} | {:.1} | {:.1} · {:.1} | {:.1} | {:.0} | {:.0} |",
            r.subscribers,
            r.subscribers - r.order_subscribers,
            r.order_subscribers,
            r.connect_secs,
            r.raised.0 + r.raised.1,
            r.raised.0,
            r.raised.1,
            r.refused,
            r.expected,
            r.delivered,
            r.missed,
            r.errors,
            r.p50_ms,
            r.p99_ms,
            r.p99_by_kind_ms.0,
            r.p99_by_kind_ms.1,
            r.max_ms,
            r.server_cpu_percent,
            r.server_rss_mib,
        );
    }
    out
}

/// The socket-memory measurement as a Markdown table.
pub fn memory_table(rows: &[(String, MemoryResult)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Socket memory: resident memory (VmRSS) of the release server after start, after a warm-up round, \
         and after each round of sockets that subscribe (nine in ten anonymous to `menuItemAvailability`, \
         one in ten signed in to `restaurantOrders`), each hear the round's 20 availability toggles, and are \
         dropped without a closing handshake (half with a FIN, half with a reset), read once it stops falling. \
         The claim: the last round ends within 10 % or 8 MiB of the first.\n"
    );
    let _ = writeln!(
        out,
        "| pair | sockets a round | after start MiB | after warm-up MiB | each round, sockets open MiB | each round, after the drop MiB | last − first | deliveries (owed → received) | holds |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---|---|---:|---|---|");
    for (pair, r) in rows {
        let rounds: Vec<String> = r.rounds_mib.iter().map(|m| format!("{m:.1}")).collect();
        let open: Vec<String> = r.open_mib.iter().map(|m| format!("{m:.1}")).collect();
        let deliveries: Vec<String> = r
            .deliveries
            .iter()
            .map(|(owed, got)| format!("{owed} → {got}"))
            .collect();
        let change = match (r.rounds_mib.first(), r.rounds_mib.last()) {
            (Some(first), Some(last)) => format!(
                "{:+.1} MiB ({:+.1} %)",
                last - first,
                100.0 * (last - first) / first
            ),
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {pair} | {} | {:.1} | {:.1} | {} | {} | {change} | {} | {} |",
            r.sockets,
            r.baseline_mib,
            r.warm_mib,
            open.join(" · "),
            rounds.join(" · "),
            deliveries.join(" · "),
            if r.holds() { "yes" } else { "**no**" },
        );
    }
    out
}

/// Appends a section of its own (W4, socket memory) to `path`.
pub async fn append_section(
    path: &Path,
    command: &str,
    title: &str,
    body: &str,
) -> anyhow::Result<()> {
    append_run(
        path,
        &format!("{title}, "),
        command,
        ", W4's own copy",
        body,
    )
    .await
}

/// Appends one run to `path` (made with its heading if missing): a heading
/// with the time and commit, the command, the machine, the data set, `body`.
async fn append_run(
    path: &Path,
    heading: &str,
    command: &str,
    data_set: &str,
    body: &str,
) -> anyhow::Result<()> {
    let mut text = std::fs::read_to_string(path).unwrap_or_else(|_| {
        "# Benchmarks\n\nEvery run of `bistro-bench` (`just bench`) appends its results here, newest last. \
         Absolute numbers on a shared 2-core machine are noisy: compare within one run.\n"
            .to_owned()
    });
    let _ = write!(
        text,
        "\n## {heading}{} — commit {}\n\n- command: `{}`\n- machine: {}\n- data set: standard (1,000 restaurants, 30,000 items, 5,000 users, 50,000 orders){data_set}\n\n{}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        commit().await,
        command,
        machine(),
        body
    );
    std::fs::write(path, text)?;
    Ok(())
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or_else(String::new, |kib| {
            format!(", {:.0} GiB", kib / 1024.0 / 1024.0)
        });
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    format!("{cores} cores{memory}, {cpu}")
}

async fn commit() -> String {
    let head = tokio::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .await
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let dirty = tokio::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .await
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    if dirty {
        format!("{head} (with uncommitted changes)")
    } else {
        head
    }
}

/// Appends this run to `path`.
pub async fn append(path: &Path, command: &str, table: &str, ratios: &str) -> anyhow::Result<()> {
    append_run(path, "", command, "", &format!("{table}\n{ratios}")).await
}
