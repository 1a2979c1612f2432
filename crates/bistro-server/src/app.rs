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
use bistro_payments::{PaymentProvider, SimulatedProcessor, StripeProcessor};
use bistro_schema::{Api, SchemaDeps};
use bistro_sql::SqlConfig;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::state::{App, AppState};
use crate::{graphiql, graphql_http, graphql_ws, health, seed, storefront, stripe_webhook};

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
        let db = connect_sql(&config).await?;
        bistro_sql::migrate(&db)
            .await
            .context("running migrations")?;
        let kv = connect_kv(&config).await?;
        let (payments, simulated_payments) = match payments {
            Some(payments) => (payments, None),
            None => payment_provider(&config, &db)?,
        };
        // Every call counted and timed (a no-op with metrics off).
        let payments: Arc<dyn PaymentProvider> = Arc::new(bistro_payments::Observed::new(payments));
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
        let passwords = auth.passwords.clone();
        let data = DataLayer::new(
            db.clone(),
            kv.clone(),
            config.data.clone(),
            bistro_data::Payments {
                provider: payments.clone(),
                recovery_after: config.payments.recovery_after(),
                customer_action: config.payments.customer_action(),
                browser: config.payments.browser(),
            },
        );
        let api = Api::new(SchemaDeps {
            data: data.clone(),
            limits: config.graphql.clone(),
            auth,
            rate_limits: config.rate_limit.clone(),
        })
        .with_live_settings(&config.live);
        // Listening on the event bus from the start, so the first subscriber
        // hears what is published next.
        api.live().start();
        // Every manifest is known before the first request.
        let storefront_manifest = crate::trusted_documents::storefront_manifest()?;
        let trusted_revision =
            crate::trusted_documents::load(&db, api.trusted(), &storefront_manifest)
                .await
                .context("loading the trusted documents")?;
        let trusted_proxies = crate::config::parse_trusted(&config.http.trusted_proxies)?;
        let stripe_origins = if config.payments.is_stripe() {
            // `validate` checked both are plain http(s) URLs.
            crate::config::url_origin(&config.payments.stripe_js_url)
                .zip(crate::config::url_origin(&config.payments.stripe_api_base))
                .map(|(js, api)| storefront::StripeOrigins { js, api })
        } else {
            None
        };
        let storefront_policy = storefront::base_policy(stripe_origins.as_ref());
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
            draining: tokio::sync::watch::Sender::new(false),
            live_connections: Arc::default(),
            passwords,
            trusted_documents: (storefront_manifest, trusted_revision),
            storefront_policy,
        })
    }
}

impl App {
    /// How the recovery task runs here.
    pub fn recovery_settings(&self) -> bistro_data::recovery::RecoverySettings {
        let payments = &self.config.payments;
        bistro_data::recovery::RecoverySettings {
            interval: payments.recovery_interval(),
            // Recovery's own hold on a step it settles: a provider that does
            // not answer is asked again after one interval.
            lease: payments.recovery_interval(),
            ledger: self.simulated_payments.as_ref().map(|simulated| {
                (
                    simulated.ledger().clone(),
                    Duration::from_secs(payments.simulated_ledger_retention_days * 86_400),
                )
            }),
        }
    }
}

/// A payment provider, and the simulated processor itself when it is the one.
pub type ConfiguredProvider = (Arc<dyn PaymentProvider>, Option<Arc<SimulatedProcessor>>);

/// The configured payment provider: Stripe, or the simulated processor with
/// its ledger in SQL (then also returned as itself, for its counts).
pub fn payment_provider(
    config: &Config,
    db: &DatabaseConnection,
) -> anyhow::Result<ConfiguredProvider> {
    if config.payments.is_stripe() {
        let stripe = StripeProcessor::new(config.payments.stripe())
            .map_err(|e| anyhow::anyhow!("setting up the Stripe client: {e}"))?;
        tracing::info!(
            api = %config.payments.stripe_api_base,
            version = bistro_payments::STRIPE_API_VERSION,
            webhooks = !config.payments.stripe_webhook_secret.is_empty(),
            "payments go through Stripe"
        );
        if config.payments.stripe_webhook_secret.is_empty() {
            tracing::warn!(
                "no payments.stripe_webhook_secret: POST /webhooks/stripe is not served, \
                 so refunds, disputes and expired authorizations reach orders only \
                 through `bistro payments reconcile --fix`"
            );
        }
        return Ok((Arc::new(stripe), None));
    }
    // Its ledger in SQL: every replica and every restart sees it.
    let simulated = Arc::new(SimulatedProcessor::new(
        Arc::new(bistro_data::simulated_ledger::SqlLedger::new(db.clone())),
        Duration::from_millis(config.payments.slow_token_delay_ms),
        // Pause tokens are for tests and demos of failure: never in production.
        config.environment != crate::config::Environment::Production,
    ));
    if config.environment == crate::config::Environment::Production {
        // `validate` let it through only with allow_simulated_in_production.
        tracing::warn!(
            "payments go through the simulated card processor, as \
             payments.allow_simulated_in_production asks: no real money moves"
        );
    }
    Ok((
        simulated.clone() as Arc<dyn PaymentProvider>,
        Some(simulated),
    ))
}

/// The data layer of a configuration, for commands that work on the stores
/// without serving (`bistro payments reconcile`): both stores connected and
/// migrated, the configured provider.
pub async fn data_layer(config: &Config) -> anyhow::Result<DataLayer> {
    let db = connect_sql(config).await?;
    bistro_sql::migrate(&db)
        .await
        .context("running migrations")?;
    let kv = connect_kv(config).await?;
    let (provider, _) = payment_provider(config, &db)?;
    Ok(DataLayer::new(
        db,
        kv,
        config.data.clone(),
        bistro_data::Payments {
            provider,
            recovery_after: config.payments.recovery_after(),
            customer_action: config.payments.customer_action(),
            browser: config.payments.browser(),
        },
    ))
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
        passwords: bistro_auth::password::PasswordHashing::new(
            config.auth.password_hashes_at_once,
            config.auth.password_hash_queue,
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
    if state.config.payments.is_stripe() && !state.config.payments.stripe_webhook_secret.is_empty()
    {
        router = router.route(
            "/webhooks/stripe",
            axum::routing::post(stripe_webhook::receive)
                // Stripe's events are a few kilobytes; a large body is no event of Stripe's.
                .layer(axum::extract::DefaultBodyLimit::max(
                    stripe_webhook::MAX_BODY_BYTES,
                )),
        );
    }
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
        // Inside routing, where the route's template is known.
        .route_layer(axum::middleware::from_fn(crate::metrics::name_route))
        .with_state(state)
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            outer_timeout,
        ))
        // Outside routing and the two answers above: every request counts.
        .layer(axum::middleware::from_fn(crate::metrics::count_requests))
        .layer(TraceLayer::new_for_http().make_span_with(crate::request_id::span))
        // Outermost, so the answers of the layers above (a panic, the outer
        // timeout) carry the headers too.
        .layer(axum::middleware::from_fn(security_headers))
        // Before the trace layer, whose span carries the id.
        .layer(axum::middleware::from_fn(crate::request_id::echo))
}

/// `X-Content-Type-Options: nosniff` on every response (browsers take each
/// body for what its `Content-Type` says, never sniff a script out of JSON),
/// and `Cache-Control: private, no-store` on every GraphQL response, success
/// or error, that did not say otherwise: they carry tokens and personal
/// data, which no browser or proxy cache may keep. Only public reads over
/// GET say otherwise (`graphql_http`); `Vary: Accept, Authorization` keeps
/// any cache from giving one caller's answer to another (or one media
/// type's to another).
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
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
        }
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Authorization"),
        );
    }
    response
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    /// The `/metrics` listener and the recorder's handle, when `metrics.listen` is set.
    metrics: Option<(TcpListener, metrics_exporter_prometheus::PrometheusHandle)>,
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
        // Installed before anything records (the stores' first failures too).
        let metrics = match config.metrics.listen_addr()? {
            Some(metrics_addr) => Some((metrics_addr, crate::metrics::install()?)),
            None => None,
        };
        let app = App::connect_with_payments(config, payments).await?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let metrics = match metrics {
            Some((metrics_addr, handle)) => {
                let metrics_listener = TcpListener::bind(metrics_addr)
                    .await
                    .with_context(|| format!("binding metrics.listen {metrics_addr}"))?;
                tracing::info!(
                    addr = %metrics_listener.local_addr()?,
                    "Prometheus metrics served at /metrics"
                );
                Some((metrics_listener, handle))
            }
            None => None,
        };
        Ok(Self {
            listener,
            metrics,
            state: Arc::new(app),
        })
    }

    /// The address `/metrics` is served on, when metrics are on.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
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
        let data = self.state.data.clone();
        let (stop_worker, worker) = self.start_mail_worker();
        let recovery = self.start_recovery();
        let (stop_trusted, stopped_trusted) = tokio::sync::watch::channel(false);
        tokio::spawn(crate::trusted_documents::refresh(
            self.state.db.clone(),
            self.state.api.trusted().clone(),
            self.state.trusted_documents.0.clone(),
            self.state.trusted_documents.1,
            self.state.config.graphql.trusted_documents_refresh(),
            async move {
                let mut stopped = stopped_trusted;
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        ));
        if let Some((listener, handle)) = self.metrics {
            // Served until the background tasks stop, after the drain.
            let mut stopped = stop_trusted.subscribe();
            tokio::spawn(crate::metrics::serve(
                listener,
                self.state.clone(),
                handle,
                async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                },
            ));
        }
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let closing = self.state.closing.clone();
        let draining = self.state.draining.clone();
        let ready_delay = Duration::from_secs(self.state.config.http.shutdown_ready_delay_secs);
        let server = axum::serve(
            self.listener,
            // The peer address is the client's, unless a trusted proxy says otherwise.
            router(self.state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Out of the load balancer's rotation first: /health/ready answers
            // 503 while the listener still accepts what is already on its way.
            draining.send_replace(true);
            tracing::info!(
                ready_delay_secs = ready_delay.as_secs(),
                "draining: /health/ready answers 503; still accepting until the delay ends"
            );
            tokio::time::sleep(ready_delay).await;
            tracing::info!("no longer accepting; finishing in-flight requests");
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
        let _ = stop_trusted.send(true);
        if let Some(worker) = worker {
            // A delivery in progress finishes (or its lease lapses for another worker).
            if tokio::time::timeout(drain, worker).await.is_err() {
                tracing::warn!("the email outbox worker did not stop in time");
            }
        }
        let (stop_recovery, recovery) = recovery;
        let _ = stop_recovery.send(true);
        // A step being settled finishes (or its lease lapses for another replica).
        if tokio::time::timeout(drain, recovery).await.is_err() {
            tracing::warn!("the recovery task did not stop in time");
        }
        let served = match served {
            Some(result) => result,
            None => match tokio::time::timeout(drain, &mut server).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(
                        drain_secs = drain.as_secs(),
                        "in-flight requests did not finish; stopping anyway"
                    );
                    server.abort();
                    Ok(Ok(()))
                }
            },
        };
        // Steps of checkouts answered are deleted after their answers: let
        // the last ones go (left undeleted, recovery would repeat their
        // bookkeeping after their lease).
        if tokio::time::timeout(drain, data.finished_steps_settled())
            .await
            .is_err()
        {
            tracing::warn!("finished checkout steps were not deleted in time");
        }
        served.context("server task")?.context("serving HTTP")
    }
}

impl Application {
    /// Starts the recovery task (every replica runs one); returns the switch
    /// that stops it and its task.
    fn start_recovery(
        &self,
    ) -> (
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    ) {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let app = &self.state;
        let task = tokio::spawn(bistro_data::recovery::run(
            app.data.clone(),
            app.recovery_settings(),
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        ));
        (stop, task)
    }

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
