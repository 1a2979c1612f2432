//! Building and running the service: stores, schema, router, listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{MethodFilter, get, on};
use bistro_data::DataLayer;
use bistro_kv::{Kv, KvConfig};
use bistro_payments::{PaymentProvider, SimulatedProcessor};
use bistro_schema::{Api, SchemaDeps};
use bistro_sql::SqlConfig;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::{graphiql, graphql_http, graphql_ws, health, seed, storefront};

/// Shared by every request handler.
pub type AppState = Arc<App>;

/// The running service's parts.
pub struct App {
    /// The configuration it was started with.
    pub config: Config,
    /// Relational store pool.
    pub db: DatabaseConnection,
    /// Key-value store, namespaced by `kv.key_prefix`.
    pub kv: Kv,
    /// Both stores, as the schema (and the seeder) use them.
    pub data: DataLayer,
    /// The GraphQL API: the schema and the request pipeline.
    pub api: Api,
    /// Proxies whose `X-Forwarded-For` names the client (`http.trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The payment provider checkout and the order lifecycle use.
    pub payments: Arc<dyn PaymentProvider>,
    /// The built-in simulated processor, when it is the provider (its counts, for tests and demos).
    pub simulated_payments: Option<Arc<SimulatedProcessor>>,
    /// Where the outbox worker delivers email.
    pub mail_delivery: bistro_mail::Delivery,
    /// Set when the server starts shutting down: live connections close
    /// with 1001, so their clients reconnect (to another replica).
    pub closing: tokio::sync::watch::Sender<bool>,
}

impl App {
    /// Connects both stores, migrates, seeds demo data into an empty database
    /// when configured to, and builds the schema.
    pub async fn connect(config: Config) -> anyhow::Result<Self> {
        Self::connect_with_payments(config, None).await
    }

    /// Like [`Self::connect`], paying through `payments` instead of the
    /// configured provider (tests put a provider of their own behind the trait).
    pub async fn connect_with_payments(
        config: Config,
        payments: Option<Arc<dyn PaymentProvider>>,
    ) -> anyhow::Result<Self> {
        // Again here, for configurations built in code rather than loaded.
        config.validate()?;
        let mail_delivery = bistro_mail::Delivery::from_settings(
            std::path::Path::new(&config.mail.mailbox_dir),
            &config.mail.smtp_url,
            &config.mail.from,
        )?;
        let (payments, simulated_payments) = match payments {
            Some(payments) => (payments, None),
            None => {
                let simulated = Arc::new(SimulatedProcessor::new(Duration::from_millis(
                    config.payments.slow_token_delay_ms,
                )));
                if config.environment == crate::config::Environment::Production {
                    tracing::warn!(
                        "payments go through the simulated card processor (payments.provider): \
                         no real money moves"
                    );
                }
                (
                    simulated.clone() as Arc<dyn PaymentProvider>,
                    Some(simulated),
                )
            }
        };
        let db = connect_sql(&config).await?;
        bistro_sql::migrate(&db)
            .await
            .context("running migrations")?;
        let kv = connect_kv(&config).await?;
        let empty = bistro_sql::seed::is_empty(&db).await?;
        if empty && config.seed_demo_data {
            seed::seed_demo(&db, &kv).await?;
        } else {
            if empty {
                // Production always comes here: `validate` refuses demo data there.
                tracing::info!(
                    environment = ?config.environment,
                    "the database is empty and seed_demo_data is off, so nothing was seeded \
                     (production never seeds the demo data set); create an administrator \
                     with `bistro user create --role admin --email …`"
                );
            }
            if kv.backend_name() == "memory" {
                // The in-process store starts empty on every start; today's
                // leaderboards are derived from SQL, so rebuild them.
                let entries =
                    seed::rebuild_popularity(&db, &kv, bistro_data::popularity::today()).await?;
                tracing::info!(entries, "rebuilt today's popularity leaderboards from SQL");
                // The open carts are demo data: replanted only where demo data
                // is on, so never in production.
                if config.seed_demo_data {
                    let carts = seed::plant_carts(
                        &db,
                        &kv,
                        bistro_sql::seed::SeedSize::Small.carts(),
                        seed::DEMO_SEED,
                    )
                    .await?;
                    tracing::info!(carts, "replanted the demo carts in the in-process store");
                }
            }
        }
        let auth = auth_deps(&config, &kv)?;
        let data = DataLayer::new(db.clone(), kv.clone(), config.data.clone());
        let api = Api::new(SchemaDeps {
            data: data.clone(),
            limits: config.graphql.clone(),
            auth,
            rate_limits: config.rate_limit.clone(),
            payments: payments.clone(),
        })
        .with_live_settings(&config.live);
        // Listening on the event bus from the start, so the first subscriber
        // hears what is published next.
        api.live().start();
        let trusted_proxies = crate::client_addr::parse_trusted(&config.http.trusted_proxies)?;
        Ok(Self {
            config,
            db,
            kv,
            data,
            api,
            trusted_proxies,
            payments,
            simulated_payments,
            mail_delivery,
            closing: tokio::sync::watch::Sender::new(false),
        })
    }
}

/// Token keys from the configured secret (or a generated one in development) and the session store.
pub fn auth_deps(config: &Config, kv: &Kv) -> anyhow::Result<bistro_schema::AuthDeps> {
    let access_ttl = Duration::from_secs(config.auth.access_token_ttl_secs);
    let keys = if config.auth.token_secret.is_empty() {
        // `validate` refuses this in production.
        tracing::warn!(
            "no auth.token_secret configured: generated a development signing key; \
             sign-ins will not survive a restart (set BISTRO_AUTH__TOKEN_SECRET)"
        );
        bistro_auth::TokenKeys::generate(access_ttl)
    } else {
        bistro_auth::TokenKeys::new(config.auth.token_secret.as_bytes(), access_ttl)?
    };
    Ok(bistro_schema::AuthDeps {
        keys,
        sessions: bistro_auth::Sessions::new(
            kv.clone(),
            Duration::from_secs(config.auth.refresh_token_ttl_secs),
        ),
    })
}

/// Opens the relational store named by the configuration.
pub async fn connect_sql(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let sql_config = SqlConfig {
        max_connections: config.sql.max_connections,
        acquire_timeout: Duration::from_millis(config.sql.acquire_timeout_ms),
    };
    let db = bistro_sql::connect(&config.database_url, &sql_config)
        .await
        .with_context(|| {
            format!(
                "connecting to the relational store ({})",
                redact(&config.database_url)
            )
        })?;
    tracing::info!(
        backend = bistro_sql::backend_name(&db),
        "relational store connected"
    );
    Ok(db)
}

/// Opens the key-value store named by the configuration (Redis is connected
/// lazily, so a Redis that is down does not stop the start).
pub async fn connect_kv(config: &Config) -> anyhow::Result<Kv> {
    let kv = if config.redis_url.is_empty() {
        Kv::memory()
    } else {
        let kv_config = KvConfig {
            connect_timeout: Duration::from_millis(config.kv.connect_timeout_ms),
            response_timeout: Duration::from_millis(config.kv.response_timeout_ms),
            breaker_threshold: config.kv.breaker_threshold,
            breaker_cooldown: Duration::from_millis(config.kv.breaker_cooldown_ms),
        };
        Kv::connect_redis(&config.redis_url, &kv_config)
            .await
            .with_context(|| {
                format!(
                    "configuring the key-value store ({})",
                    redact(&config.redis_url)
                )
            })?
    };
    tracing::info!(backend = kv.backend_name(), "key-value store configured");
    Ok(kv.with_prefix(&config.kv.key_prefix))
}

/// A URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{user}:***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The HTTP routes.
pub fn router(state: AppState) -> Router {
    let graphql_route = on(MethodFilter::GET, graphql_http::get)
        .on(MethodFilter::POST, graphql_http::post)
        .fallback(graphql_http::method_not_allowed);
    let mut router = Router::new()
        .route("/graphql", graphql_route)
        .route("/graphql/ws", get(graphql_ws::upgrade))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready));
    if state.config.http.graphiql {
        router = router
            .route("/graphiql", get(graphiql::page))
            .route("/graphiql/assets/{*path}", get(graphiql::asset));
    }
    if state.config.http.storefront {
        // The page at `/` and under each of its client-side routes; its
        // assets. Nothing else falls back to the page (`storefront.rs`).
        router = router
            .route("/", get(storefront::page))
            .route("/assets/{*path}", get(storefront::asset));
        for first in storefront::ROUTES {
            router = router
                .route(&format!("/{first}"), get(storefront::page))
                .route(&format!("/{first}/{{*rest}}"), get(storefront::page));
        }
    }
    // The GraphQL handler answers its own timeout with a GraphQL error; this
    // outer bound (a little longer) catches anything else that hangs.
    let outer_timeout = state.config.request_timeout() + Duration::from_secs(5);
    router
        .with_state(state)
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            outer_timeout,
        ))
        .layer(TraceLayer::new_for_http())
        // Outermost, so the answers of the layers above (a panic, the outer
        // timeout) carry the headers too.
        .layer(axum::middleware::from_fn(security_headers))
}

/// `X-Content-Type-Options: nosniff` on every response (browsers take each
/// body for what its `Content-Type` says, never sniff a script out of JSON),
/// and `Cache-Control: no-store` on every GraphQL response, success or
/// error: they carry tokens and personal data, which no browser or proxy
/// cache may keep.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let graphql = path == "/graphql" || path.starts_with("/graphql/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if graphql {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Builds the service and binds its listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_payments(config, None).await
    }

    /// Like [`Self::build`], paying through `payments` instead of the configured provider.
    pub async fn build_with_payments(
        config: Config,
        payments: Option<Arc<dyn PaymentProvider>>,
    ) -> anyhow::Result<Self> {
        let addr = config.listen_addr()?;
        let app = App::connect_with_payments(config, payments).await?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        Ok(Self {
            listener,
            state: Arc::new(app),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The service's parts (stores, schema).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests for
    /// at most the configured shutdown timeout.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let drain = Duration::from_secs(self.state.config.http.shutdown_timeout_secs);
        let (stop_worker, worker) = self.start_mail_worker();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let closing = self.state.closing.clone();
        let server = axum::serve(
            self.listener,
            // The peer address is the client's, unless a trusted proxy says otherwise.
            router(self.state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Upgraded connections are not the server's to drain: tell them.
            closing.send_replace(true);
            let _ = stop_tx.send(());
        });
        let server = tokio::spawn(async move { server.await });
        // Wait for the server; once shutdown starts, give it `drain` to finish.
        let mut server = server;
        let served = tokio::select! {
            result = &mut server => Some(result),
            _ = stop_rx => None,
        };
        let _ = stop_worker.send(true);
        if let Some(worker) = worker {
            // A delivery in progress finishes (or its lease lapses for another worker).
            if tokio::time::timeout(drain, worker).await.is_err() {
                tracing::warn!("the email outbox worker did not stop in time");
            }
        }
        if let Some(result) = served {
            return result.context("server task")?.context("serving HTTP");
        }
        match tokio::time::timeout(drain, &mut server).await {
            Ok(result) => result.context("server task")?.context("serving HTTP"),
            Err(_) => {
                tracing::warn!(
                    drain_secs = drain.as_secs(),
                    "in-flight requests did not finish; stopping anyway"
                );
                server.abort();
                Ok(())
            }
        }
    }
}

impl Application {
    /// Starts the email outbox worker when `mail.worker` is on; returns the
    /// switch that stops it and its task.
    fn start_mail_worker(
        &self,
    ) -> (
        tokio::sync::watch::Sender<bool>,
        Option<tokio::task::JoinHandle<()>>,
    ) {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let app = &self.state;
        if !app.config.mail.worker {
            return (stop, None);
        }
        let owner = format!(
            "{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_micros()
        );
        let worker = bistro_mail::Worker::new(
            app.db.clone(),
            app.mail_delivery.clone(),
            app.config.mail.clone(),
            owner,
        );
        let task = tokio::spawn(worker.run(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }));
        (stop, Some(task))
    }
}

/// Resolves on SIGINT (ctrl-c) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested; draining");
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            redact("postgres://bistro:s3cret@db:5432/bistro"),
            "postgres://bistro:***@db:5432/bistro"
        );
        assert_eq!(redact("redis://:pw@cache:6379"), "redis://:***@cache:6379");
        assert_eq!(redact("sqlite://data/bistro.db"), "sqlite://data/bistro.db");
    }
}
