//! The `bistro` command: serve the API (default), migrate, seed, print the schema
//! (or the Apollo Federation subgraph schema), manage accounts, reconcile
//! payments with the processor.

use std::path::PathBuf;

use anyhow::Context as _;
use bistro_server::config::{Config, Environment};
use bistro_server::{app, seed, telemetry};
use bistro_sql::seed::SeedSize;
use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: under load, glibc's arenas cost about
/// 30 % of the server's CPU (lock waits, consolidation) and let resident
/// memory grow; BENCHMARKS.md has the measurements.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Bistro: the GraphQL back end of an online ordering web application for restaurants.
#[derive(Parser)]
#[command(name = "bistro", version, about)]
struct Cli {
    /// Configuration file (default: ./bistro.toml when it exists). Environment variables `BISTRO_*` override it.
    #[arg(long, global = true, env = "BISTRO_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default): migrate, seed demo data into an empty database, listen.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Generate a deterministic data set into an empty database.
    Seed {
        /// "small" (the demo set) or "standard" (the benchmark set).
        #[arg(long, default_value = "small")]
        size: SeedSize,
        /// Seed number: the same number gives the same data.
        #[arg(long, default_value_t = seed::DEMO_SEED)]
        seed: u64,
    },
    /// Print the GraphQL schema (SDL), as committed in schema.graphql.
    Schema {
        /// Print the Apollo Federation v2 subgraph SDL instead (schema.federation.graphql):
        /// what routers compose, with its @link, @key, @shareable and @inaccessible directives.
        #[arg(long)]
        federation: bool,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Manage trusted documents (persisted documents manifests).
    Documents {
        #[command(subcommand)]
        action: DocumentsCommand,
    },
    /// Payments at the processor.
    Payments {
        #[command(subcommand)]
        action: PaymentsCommand,
    },
    /// Check the configuration (file and BISTRO_* variables) as `serve` would,
    /// without connecting to a store or listening; exits non-zero with the reason.
    CheckConfig,
}

#[derive(Subcommand)]
enum DocumentsCommand {
    /// Store a manifest's documents: GraphQL Code Generator's persisted-documents.json
    /// or Apollo's persisted query manifest, SHA-256 ids. Running servers learn of it
    /// within graphql.trusted_documents_refresh_ms.
    Add {
        /// The manifest file.
        file: PathBuf,
        /// The client (frontend) it belongs to.
        #[arg(long, default_value = bistro_server::documents::DEFAULT_CLIENT)]
        client: String,
    },
    /// List the stored documents, by client (and the storefront's, built in).
    List,
    /// Retire documents: the ids given (sha256:<hex>), of --client only when given;
    /// with --client and no id, every document of that client.
    Remove {
        /// Document ids.
        ids: Vec<String>,
        /// Only this client's.
        #[arg(long)]
        client: Option<String>,
    },
}

#[derive(Subcommand)]
enum PaymentsCommand {
    /// Compare every order placed in a period with the payment processor and
    /// print the orders whose payment differs; exits with status 2 when some
    /// still differ.
    Reconcile {
        /// Start of the period: a date (2026-12-01), a time (RFC 3339), or an
        /// age (`7d`, `12h`). Default: the last 30 days.
        #[arg(long, value_parser = parse_since)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Record what the processor did where that is what its webhooks
        /// would have recorded (a refund, a dispute, an authorization gone);
        /// anything else is only printed, for a person to decide.
        #[arg(long)]
        fix: bool,
    },
}

/// `--since`: a date, an RFC 3339 time, or an age such as `7d` or `12h`.
fn parse_since(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let now = chrono::Utc::now();
    if let Some(days) = text.strip_suffix('d').and_then(|n| n.parse::<i64>().ok()) {
        return Ok(now - chrono::Duration::days(days));
    }
    if let Some(hours) = text.strip_suffix('h').and_then(|n| n.parse::<i64>().ok()) {
        return Ok(now - chrono::Duration::hours(hours));
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|start| start.and_utc())
        .ok_or_else(|| {
            format!("{text:?} is not a date (2026-12-01), an RFC 3339 time or an age (7d, 12h)")
        })
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account: an admin, a staff member of given restaurants, or a customer.
    Create {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// admin, staff or customer.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Slug of a restaurant the staff member works for (repeat for several).
        #[arg(long = "restaurant")]
        restaurants: Vec<String>,
        /// Public name (default: the part of the email before @).
        #[arg(long)]
        display_name: Option<String>,
        /// Password; when absent, one is generated and printed once.
        #[arg(long, env = "BISTRO_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Admin,
    Staff,
    Customer,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Schema { federation } = command {
        // The SDL is this command's output, for redirecting into a file.
        use std::io::Write as _;
        let sdl = if federation {
            bistro_schema::federation_sdl()
        } else {
            bistro_schema::sdl()
        };
        std::io::stdout().write_all(sdl.as_bytes())?;
        return Ok(());
    }
    if let Command::CheckConfig = command {
        // The check's outcome is this command's output; the error, its exit status.
        use std::io::Write as _;
        let config = Config::from_env(cli.config.as_deref())?;
        let summary = bistro_server::check::check(&config)?;
        let mut out = std::io::stdout();
        writeln!(out, "configuration is valid")?;
        for line in summary {
            writeln!(out, "  {line}")?;
        }
        return Ok(());
    }
    let mut config = Config::from_env(cli.config.as_deref())?;
    // Traces only for the server: the operator commands are short and local.
    let tracer = match command {
        Command::Serve => telemetry::tracer_provider(&config.telemetry)?,
        _ => None,
    };
    telemetry::init(config.log_format, tracer.as_ref());
    match command {
        Command::Serve => {
            let served = serve(config).await;
            if let Some(tracer) = tracer {
                // Sends the spans still batched; blocks, so off the runtime's threads.
                let flushed = tokio::task::spawn_blocking(move || tracer.shutdown()).await;
                if let Ok(Err(error)) = flushed {
                    tracing::warn!(%error, "the last spans were not exported");
                }
            }
            served
        }
        Command::Migrate => {
            let db = app::connect_sql(&config).await?;
            tracing::info!("applying migrations");
            bistro_sql::migrate(&db)
                .await
                .context("running migrations")?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Seed { size, seed: number } => {
            config.refuse_demo_data_in_production("bistro seed")?;
            config.seed_demo_data = false;
            let db = app::connect_sql(&config).await?;
            bistro_sql::migrate(&db)
                .await
                .context("running migrations")?;
            let kv = app::connect_kv(&config).await?;
            let started = std::time::Instant::now();
            let summary = seed::seed(&db, &kv, size, number, true, chrono::Utc::now()).await?;
            tracing::info!(
                restaurants = summary.restaurants,
                menu_items = summary.menu_items,
                users = summary.users,
                orders = summary.orders,
                order_lines = summary.order_lines,
                reviews = summary.reviews,
                seconds = started.elapsed().as_secs_f64(),
                "seeded"
            );
            Ok(())
        }
        Command::User {
            action:
                UserCommand::Create {
                    email,
                    role,
                    restaurants,
                    display_name,
                    password,
                },
        } => {
            let db = app::connect_sql(&config).await?;
            bistro_sql::migrate(&db)
                .await
                .context("running migrations")?;
            let role = match role {
                RoleArg::Admin => bistro_sql::entity::UserRole::Admin,
                RoleArg::Staff => bistro_sql::entity::UserRole::Staff,
                RoleArg::Customer => bistro_sql::entity::UserRole::Customer,
            };
            let created = bistro_server::accounts::create_account(
                &db,
                bistro_server::accounts::CreateAccount {
                    email,
                    role,
                    restaurants,
                    display_name,
                    password,
                },
            )
            .await?;
            // The command's output: who was created, and the password if generated.
            use std::io::Write as _;
            let mut out = std::io::stdout();
            writeln!(
                out,
                "created user {} <{}> ({:?})",
                created.user.id, created.user.email, created.user.role
            )?;
            if let Some(password) = created.generated_password {
                writeln!(out, "generated password (shown once): {password}")?;
            }
            Ok(())
        }
        Command::Documents { action } => documents(&config, action).await,
        Command::Payments {
            action: PaymentsCommand::Reconcile { since, fix },
        } => {
            let since = since.unwrap_or_else(|| chrono::Utc::now() - chrono::Duration::days(30));
            reconcile(&config, since, fix).await
        }
        Command::Schema { .. } | Command::CheckConfig => Ok(()),
    }
}

async fn documents(config: &Config, action: DocumentsCommand) -> anyhow::Result<()> {
    use std::io::Write as _;
    let db = app::connect_sql(config).await?;
    bistro_sql::migrate(&db)
        .await
        .context("running migrations")?;
    let mut out = std::io::stdout();
    match action {
        DocumentsCommand::Add { file, client } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let added = bistro_server::documents::add(&db, &client, &bytes).await?;
            writeln!(
                out,
                "client {client}: {} documents in {}, {} new",
                added.documents,
                file.display(),
                added.new
            )?;
        }
        DocumentsCommand::List => {
            let builtin = bistro_server::trusted_documents::storefront_manifest()?;
            writeln!(
                out,
                "{} (built in): {} documents",
                bistro_server::trusted_documents::STOREFRONT_CLIENT,
                builtin.len()
            )?;
            for entry in &builtin {
                writeln!(
                    out,
                    "  sha256:{}  {}",
                    entry.id,
                    entry.operation_name.as_deref().unwrap_or("-")
                )?;
            }
            let stored = bistro_server::documents::list(&db).await?;
            let mut client = None;
            for document in &stored {
                if client != Some(document.client_name.as_str()) {
                    client = Some(document.client_name.as_str());
                    let count = stored
                        .iter()
                        .filter(|d| d.client_name == document.client_name)
                        .count();
                    writeln!(out, "{}: {count} documents", document.client_name)?;
                }
                writeln!(
                    out,
                    "  sha256:{}  {}  added {}",
                    document.document_id,
                    document.operation_name.as_deref().unwrap_or("-"),
                    document.added_at.format("%Y-%m-%d %H:%M:%S UTC")
                )?;
            }
        }
        DocumentsCommand::Remove { ids, client } => {
            let removed = bistro_server::documents::remove(&db, client.as_deref(), &ids).await?;
            writeln!(out, "retired {removed} documents")?;
        }
    }
    Ok(())
}

/// `bistro payments reconcile`: the report on standard output, one line per
/// order that differs, then a summary.
async fn reconcile(
    config: &Config,
    since: chrono::DateTime<chrono::Utc>,
    fix: bool,
) -> anyhow::Result<()> {
    use bistro_data::processor::Verdict;
    use std::io::Write as _;
    let data = app::data_layer(config).await?;
    let provider = data.payments().provider.name();
    let report = data.reconcile(since, fix).await?;
    let mut out = std::io::stdout();
    writeln!(
        out,
        "orders placed since {} compared with {provider}{}",
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        if fix {
            " (fixing what is safe to fix)"
        } else {
            ""
        }
    )?;
    let money = |minor: i64, currency: &str| {
        format!(
            "{} {currency}",
            bistro_data::money::format_minor(minor, currency)
        )
    };
    let (mut fixed, mut fixable, mut operator, mut in_progress, mut unreachable) = (0, 0, 0, 0, 0);
    for difference in &report.differences {
        let provider_says = match difference.provider_state {
            Some(state) => format!(
                "{}{}",
                state.name(),
                difference
                    .provider_refunded
                    .filter(|refunded| *refunded > 0)
                    .map(|refunded| format!(
                        " (refunded {})",
                        money(refunded, &difference.currency)
                    ))
                    .unwrap_or_default()
            ),
            None => "?".to_owned(),
        };
        let verdict = match &difference.verdict {
            Verdict::Fixed => {
                fixed += 1;
                "fixed: recorded what the processor did".to_owned()
            }
            Verdict::Fixable => {
                fixable += 1;
                "fixable with --fix: the processor moved money on its own and its report never arrived".to_owned()
            }
            Verdict::InProgress => {
                in_progress += 1;
                "in progress: a payment change is under way or left for recovery, which settles it"
                    .to_owned()
            }
            Verdict::NeedsOperator(why) => {
                operator += 1;
                format!("needs a person: {why}")
            }
            Verdict::Unreachable(code) => {
                unreachable += 1;
                format!("the processor did not answer ({code})")
            }
        };
        writeln!(
            out,
            "order {} placed {} payment {}: Bistro {}{}, {provider} {provider_says}; {verdict}",
            difference.order_id,
            difference
                .placed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            difference.reference,
            bistro_data::lifecycle::stored(difference.status),
            if difference.refunded > 0 {
                format!(
                    " (refunded {})",
                    money(difference.refunded, &difference.currency)
                )
            } else {
                String::new()
            },
        )?;
    }
    writeln!(
        out,
        "{} orders checked: {} agree, {} differ ({fixed} fixed, {fixable} fixable, {operator} need a person, {in_progress} in progress, {unreachable} unanswered); {} paid through another provider",
        report.checked,
        report.agreeing,
        report.differences.len(),
        report.other_provider,
    )?;
    if fixed < report.differences.len() {
        // Cron and scripts see that something is left.
        std::process::exit(2);
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let development = config.environment == Environment::Development;
    let graphiql = config.http.graphiql;
    let storefront = config.http.storefront;
    let application = app::Application::build(config).await?;
    let addr = application.local_addr()?;
    tracing::info!(%addr, "Bistro is listening");
    if graphiql {
        tracing::info!("GraphiQL: http://{addr}/graphiql");
    }
    if storefront {
        tracing::info!("Storefront: http://{addr}/");
    }
    tracing::info!("GraphQL endpoint: http://{addr}/graphql");
    if development {
        tracing::info!(
            customer = bistro_sql::seed::DEMO_CUSTOMER_EMAIL,
            staff = bistro_sql::seed::DEMO_STAFF_EMAIL,
            admin = bistro_sql::seed::DEMO_ADMIN_EMAIL,
            password = seed::DEMO_PASSWORD,
            "demo accounts (development only)"
        );
    }
    application.run_until(app::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}
