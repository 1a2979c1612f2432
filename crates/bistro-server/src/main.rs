//! The `bistro` command: serve the API (default), migrate, seed, print the schema
//! (or the Apollo Federation subgraph schema).

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
    let mut config = Config::from_env(cli.config.as_deref())?;
    telemetry::init(config.log_format);
    match command {
        Command::Serve => serve(config).await,
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
            let summary = seed::seed(&db, &kv, size, number, true).await?;
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
        Command::Schema { .. } => Ok(()),
    }
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
