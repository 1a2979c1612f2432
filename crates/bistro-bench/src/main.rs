//! `bistro-bench`: the benchmark harness (see the crate README).
//!
//! One run: for each store pair, seed (or reuse) the standard data set,
//! start the release server once per configuration (shared caches on or
//! off, batching on or off), run each workload with wrk after a warm-up,
//! read the server's CPU time and peak memory from `/proc`, and on
//! PostgreSQL + Redis measure the store floor of the page. Then print the
//! table and append it to `BENCHMARKS.md`.
//!
//! `bistro-bench live` runs W4 (subscriptions over WebSocket) and
//! `bistro-bench socket-memory` measures the server's memory across rounds
//! of sockets dropped abruptly (`live.rs`), each on its own copy of the data
//! set, since they write to it.

mod checkout;
mod floor;
mod live;
mod load;
mod report;
mod server;
mod stores;
mod workloads;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::report::Row;
use crate::server::{Server, ServerSettings};
use crate::stores::Pair;
use crate::workloads::Workload;

/// Connections of W3 (checkout), as the workload defines it.
const W3_CONNECTIONS: u32 = 16;

/// Benchmarks the release server on the standard data set.
#[derive(Parser, Debug)]
#[command(name = "bistro-bench")]
struct Cli {
    /// W4 or the socket-memory measurement instead of the HTTP workloads.
    #[command(subcommand)]
    command: Option<Command>,
    /// Store pairs to run: `embedded` (SQLite + in-process), `real` (PostgreSQL + Redis).
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        default_value = "real,embedded"
    )]
    pairs: Vec<String>,
    /// Workloads to run (W1, W1-SQL, W2, W3, W5).
    #[arg(long, value_delimiter = ',', default_value = "W1,W1-SQL,W2,W3,W5")]
    workloads: Vec<String>,
    /// Seconds each measured run lasts (after a warm-up of a third as long).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Connections the load generator holds.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// PostgreSQL server for the real pair (a database `bistro_bench` is made in it).
    #[arg(
        long,
        global = true,
        env = "BISTRO_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Redis for the real pair (keys under `bistro-bench:`).
    #[arg(
        long,
        global = true,
        env = "BISTRO_BENCH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis_url: String,
    /// Seed again even when the data set is already there.
    #[arg(long, global = true)]
    reseed: bool,
    /// Server binaries to measure, as `label=path`; repeat to compare builds
    /// in one run (rows alternate between them). Default: build and use
    /// target/release/bistro.
    #[arg(long = "server-bin", global = true)]
    server_bins: Vec<String>,
    /// Skip the comparison runs (caches on for W1-SQL, batching off for W1).
    #[arg(long)]
    no_ratios: bool,
    /// Also run W1 and W1-SQL as hashed GET requests (automatic persisted
    /// queries, registered once), rows named `W1 hashed GET`, beside the text POSTs.
    #[arg(long)]
    persisted: bool,
    /// Stripe's API to run W3 against as well (a local stand-in such as
    /// localstripe: `http://127.0.0.1:8420`), beside the simulated processor.
    #[arg(long, env = "BISTRO_BENCH_STRIPE_URL")]
    stripe_url: Option<String>,
    /// Where to append the results.
    #[arg(long, global = true, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// Server log level (`RUST_LOG` of the server).
    #[arg(long, global = true, default_value = "warn")]
    server_log: String,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// W4: subscribers over WebSocket (nine in ten to a menu, one in ten to
    /// their order), events raised at a fixed rate; latency and deliveries.
    Live {
        /// Subscriber counts to run, one server start each.
        #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
        subscribers: Vec<usize>,
        /// Events raised per second.
        #[arg(long, default_value_t = 20)]
        rate: u32,
        /// Seconds events are raised for.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// The server's resident memory across rounds of sockets opened, fed
    /// and dropped without a closing handshake, after a warm-up round.
    SocketMemory {
        /// Sockets per round.
        #[arg(long, default_value_t = 1000)]
        sockets: usize,
        /// Measured rounds (after the warm-up).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    if let Some(command) = &cli.command {
        return live_command(&cli, command, &command_line).await;
    }
    load::ensure_wrk().await?;
    let bins: Vec<(String, PathBuf)> = if cli.server_bins.is_empty() {
        vec![(String::new(), server::build_release().await?)]
    } else {
        cli.server_bins
            .iter()
            .map(|spec| server_bin(spec))
            .collect()
    };
    let bin = bins[0].1.clone();
    let duration = Duration::from_secs(cli.seconds);
    let workloads: Vec<Workload> = cli
        .workloads
        .iter()
        .map(|name| Workload::parse(name))
        .collect::<anyhow::Result<_>>()?;
    let mut rows: Vec<Row> = Vec::new();
    let mut w3_notes: Vec<String> = Vec::new();
    for pair_name in &cli.pairs {
        let pair = Pair::prepare(
            pair_name,
            &cli.database_url,
            &cli.redis_url,
            &bin,
            cli.reseed,
            stores::READS,
        )
        .await
        .with_context(|| format!("preparing the {pair_name} store pair"))?;
        eprintln!("bench: {} ready ({})", pair.name(), pair.describe());
        let mut settings = vec![ServerSettings::cached()];
        if workloads.contains(&Workload::W1Sql) {
            settings.push(ServerSettings::uncached());
        }
        if !cli.no_ratios && workloads.contains(&Workload::W1) {
            settings.push(ServerSettings::unbatched());
        }
        if let Some(stripe) = &cli.stripe_url
            && workloads.contains(&Workload::W3)
        {
            settings.push(ServerSettings::stripe(stripe));
        }
        for setting in settings {
            for (label, bin) in &bins {
                let server = Server::start(bin, &pair, &setting, &cli.server_log).await?;
                for workload in &workloads {
                    if !workload.runs_in(&setting, cli.no_ratios) {
                        continue;
                    }
                    eprintln!(
                        "bench: {} {} ({})",
                        pair.name(),
                        workload.name(),
                        setting.name
                    );
                    if *workload == Workload::W3 {
                        // The checkout workload: its own client, 16 connections.
                        let probe = checkout::probe(&server).await?;
                        let run = checkout::run(&pair, &server, W3_CONNECTIONS, duration).await?;
                        anyhow::ensure!(
                            run.orders_added == run.placed,
                            "W3: {} checkouts placed an order but SQL gained {} orders",
                            run.placed,
                            run.orders_added
                        );
                        w3_notes.push(format!(
                            "- {} ({}){}: W3 at {W3_CONNECTIONS} connections: {} checkouts placed an order, {} did not; SQL gained exactly {} orders. Latency is the whole four-request sequence. The outbox held {} emails at the end, sent in {:.1} s before the next run.",
                            pair.name(),
                            setting.name,
                            if label.is_empty() { String::new() } else { format!(" [{label}]") },
                            run.placed,
                            run.failed,
                            run.orders_added,
                            run.outbox_left.0,
                            run.outbox_left.1.as_secs_f64()
                        ));
                        rows.push(Row {
                            pair: pair.name().to_owned(),
                            workload: workload.name().to_owned(),
                            setting: setting.name.to_owned(),
                            label: label.clone(),
                            probe,
                            result: run.result,
                            floor: None,
                        });
                        continue;
                    }
                    let prepared = workload.prepare(&server).await?;
                    let probe = prepared.probe(&server).await?;
                    let result = load::run(&server, &prepared, cli.connections, duration).await?;
                    // The floor belongs to the stores, not to a build: measure it once.
                    let floor = if setting.floor && label == &bins[0].0 {
                        floor::measure(&pair, &setting, &prepared, cli.connections, duration)
                            .await
                            .with_context(|| format!("store floor of {}", workload.name()))?
                    } else {
                        None
                    };
                    rows.push(Row {
                        pair: pair.name().to_owned(),
                        workload: workload.name().to_owned(),
                        setting: setting.name.to_owned(),
                        label: label.clone(),
                        probe,
                        result,
                        floor,
                    });
                    if cli.persisted && matches!(workload, Workload::W1 | Workload::W1Sql) {
                        // The same page by hash over GET, on the same server.
                        let hashed = prepared.persisted(&server).await?;
                        let probe = hashed.probe(&server).await?;
                        let result = load::run(&server, &hashed, cli.connections, duration).await?;
                        rows.push(Row {
                            pair: pair.name().to_owned(),
                            workload: format!("{} hashed GET", workload.name()),
                            setting: setting.name.to_owned(),
                            label: label.clone(),
                            probe,
                            result,
                            floor: None,
                        });
                    }
                }
                server.stop().await;
            }
        }
    }
    let table = report::table(&rows, cli.connections);
    let mut ratios = report::ratios(&rows);
    for note in &w3_notes {
        ratios.push_str(note);
        ratios.push('\n');
    }
    // The table is this command's output.
    {
        use std::io::Write as _;
        std::io::stdout().write_all(format!("{table}\n{ratios}").as_bytes())?;
    }
    report::append(&cli.out, &command_line, &table, &ratios).await?;
    eprintln!("bench: results appended to {}", cli.out.display());
    Ok(())
}

/// A `--server-bin` value, `label=path` or a bare path (no label).
fn server_bin(spec: &str) -> (String, PathBuf) {
    match spec.split_once('=') {
        Some((label, path)) => (label.to_owned(), PathBuf::from(path)),
        None => (String::new(), PathBuf::from(spec)),
    }
}

/// `live` and `socket-memory`: on W4's own copy of the data set.
async fn live_command(cli: &Cli, command: &Command, command_line: &str) -> anyhow::Result<()> {
    let bin = match cli.server_bins.first() {
        Some(spec) => server_bin(spec).1,
        None => server::build_release().await?,
    };
    let mut pairs = Vec::new();
    for pair_name in &cli.pairs {
        let pair = Pair::prepare(
            pair_name,
            &cli.database_url,
            &cli.redis_url,
            &bin,
            cli.reseed,
            stores::LIVE,
        )
        .await
        .with_context(|| format!("preparing the {pair_name} store pair"))?;
        eprintln!("bench: {} ready ({})", pair.name(), pair.describe());
        pairs.push(pair);
    }
    let (title, body) = match command {
        Command::Live {
            subscribers,
            rate,
            seconds,
        } => {
            let mut rows = Vec::new();
            for pair in &pairs {
                for n in subscribers {
                    let server =
                        Server::start(&bin, pair, &ServerSettings::cached(), &cli.server_log)
                            .await?;
                    eprintln!("bench: W4 on {} with {n} subscribers", pair.name());
                    let result = live::w4(&server, *n, *rate, Duration::from_secs(*seconds))
                        .await
                        .with_context(|| format!("W4 with {n} subscribers on {}", pair.name()))?;
                    server.stop().await;
                    rows.push((pair.name().to_owned(), result));
                }
            }
            (
                "W4, live updates",
                report::live_table(&rows, *rate, *seconds),
            )
        }
        Command::SocketMemory { sockets, rounds } => {
            let mut rows = Vec::new();
            for pair in &pairs {
                let server =
                    Server::start(&bin, pair, &ServerSettings::cached(), &cli.server_log).await?;
                let result = live::socket_memory(&server, *sockets, *rounds)
                    .await
                    .with_context(|| format!("socket memory on {}", pair.name()))?;
                server.stop().await;
                rows.push((pair.name().to_owned(), result));
            }
            ("Socket memory", report::memory_table(&rows))
        }
    };
    {
        use std::io::Write as _;
        std::io::stdout().write_all(body.as_bytes())?;
    }
    report::append_section(&cli.out, command_line, title, &body).await?;
    eprintln!("bench: results appended to {}", cli.out.display());
    Ok(())
}
