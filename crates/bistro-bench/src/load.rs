//! Load with wrk: an established generator, driven by a generated Lua script.

use std::time::Duration;

use anyhow::Context as _;
use tokio::process::Command;

use crate::server::Server;
use crate::workloads::Prepared;

/// Installs wrk from Debian's packages when it is missing.
pub async fn ensure_wrk() -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().await.is_ok() {
        return Ok(());
    }
    eprintln!("bench: wrk is missing; installing it with apt-get");
    let status = Command::new("apt-get")
        .args(["install", "-y", "wrk"])
        .status()
        .await
        .context("running apt-get (install wrk by hand if this machine has no apt)")?;
    anyhow::ensure!(status.success(), "apt-get install wrk failed");
    Ok(())
}

/// What one measured run gave.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadResult {
    /// Completed requests per second.
    pub requests_per_sec: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Requests completed.
    pub requests: u64,
    /// Responses that were not 2xx.
    pub failed: u64,
    /// Server CPU (user + system) per request, milliseconds.
    pub cpu_ms_per_request: f64,
    /// Peak resident memory of the server during the run, MiB.
    pub peak_rss_mib: f64,
}

/// Warms up for a third of `duration`, then measures for `duration`.
pub async fn run(
    server: &Server,
    prepared: &Prepared,
    connections: u32,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let script = std::env::temp_dir().join(format!("bistro-bench-{}.lua", std::process::id()));
    std::fs::write(&script, lua_script(prepared))?;
    let warm = (duration / 3).max(Duration::from_secs(1));
    wrk(server, &script, connections, warm).await?;
    server.reset_peak_memory();
    let cpu_before = server.cpu_ms()?;
    let output = wrk(server, &script, connections, duration).await?;
    let cpu_after = server.cpu_ms()?;
    let peak = server.peak_memory_mib()?;
    let _ = std::fs::remove_file(&script);
    let mut result = parse(&output).with_context(|| format!("reading wrk's output:\n{output}"))?;
    result.cpu_ms_per_request = (cpu_after - cpu_before) / result.requests.max(1) as f64;
    result.peak_rss_mib = peak;
    anyhow::ensure!(
        result.failed == 0,
        "{} requests failed under load:\n{output}",
        result.failed
    );
    Ok(result)
}

async fn wrk(
    server: &Server,
    script: &std::path::Path,
    connections: u32,
    duration: Duration,
) -> anyhow::Result<String> {
    let output = Command::new("wrk")
        .arg("-t2")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency")
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(script)
        .arg(server.url("/graphql"))
        .output()
        .await
        .context("running wrk")?;
    anyhow::ensure!(
        output.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A wrk script that POSTs the body (or GETs the path of a hashed request),
/// rotating bearer tokens when there are any.
fn lua_script(prepared: &Prepared) -> String {
    let mut script = match &prepared.get_path {
        Some(path) => format!("wrk.method = \"GET\"\nwrk.path = {}\n", lua_string(path)),
        None => {
            let mut script = String::from(
                "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
            );
            script.push_str(&format!("wrk.body = {}\n", lua_string(&prepared.body)));
            script
        }
    };
    if !prepared.tokens.is_empty() {
        script.push_str("local tokens = {\n");
        for token in &prepared.tokens {
            script.push_str(&format!("  {},\n", lua_string(token)));
        }
        script.push_str(
            "}\nlocal counter = 0\nrequest = function()\n  counter = counter + 1\n  \
             wrk.headers[\"Authorization\"] = \"Bearer \" .. tokens[(counter % #tokens) + 1]\n  \
             return wrk.format()\nend\n",
        );
    }
    script
}

/// A Lua long string that cannot be closed by its content.
fn lua_string(text: &str) -> String {
    let mut level = 0;
    while text.contains(&format!("]{}]", "=".repeat(level))) {
        level += 1;
    }
    let eq = "=".repeat(level);
    format!("[{eq}[{text}]{eq}]")
}

fn duration_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        _ => return None,
    })
}

/// Reads wrk's report.
fn parse(output: &str) -> anyhow::Result<LoadResult> {
    let mut result = LoadResult::default();
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("50%") {
            result.p50_ms = duration_ms(rest).context("p50")?;
        } else if let Some(rest) = line.strip_prefix("99%") {
            result.p99_ms = duration_ms(rest).context("p99")?;
        } else if let Some(rest) = line.strip_prefix("Requests/sec:") {
            result.requests_per_sec = rest.trim().parse()?;
        } else if line.contains(" requests in ") {
            result.requests = line
                .split_whitespace()
                .next()
                .context("requests")?
                .parse()?;
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            result.failed += rest.trim().parse::<u64>()?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 3"
            result.failed += rest
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    anyhow::ensure!(result.requests > 0, "no requests completed");
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_reports_are_read() {
        let report = "Running 10s test @ http://127.0.0.1:1/graphql
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    81.23ms   10.00ms 200.00ms   70.00%
  Latency Distribution
     50%  800.00us
     75%   90.00ms
     90%  100.00ms
     99%    1.20s
  3023 requests in 10.01s, 10.23MB read
Requests/sec:    302.01
Transfer/sec:      1.02MB
";
        let r = parse(report).unwrap();
        assert_eq!(r.requests, 3023);
        assert!((r.p50_ms - 0.8).abs() < 1e-9);
        assert!((r.p99_ms - 1200.0).abs() < 1e-9);
        assert!((r.requests_per_sec - 302.01).abs() < 1e-9);
        assert_eq!(r.failed, 0);
        assert_eq!(lua_string("a]]b"), "[=[a]]b]=]");
    }
}
