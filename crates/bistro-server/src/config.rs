//! Typed, layered configuration: built-in defaults (`config.default.toml`,
//! which doubles as the reference), an optional file, then `BISTRO_*`
//! environment variables. Validated before anything starts.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bistro_schema::Limits;
use ipnet::IpNet;
use serde::Deserialize;

/// The built-in defaults; every key is documented there.
pub const DEFAULTS: &str = include_str!("../config.default.toml");

/// The request budget per client and minute in production, unless configured.
pub const PRODUCTION_REQUESTS_PER_MINUTE: u64 = 600;

/// Environment variables with this prefix configure the server.
const ENV_PREFIX: &str = "BISTRO";

/// Everything the server can be told.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: String,
    /// Relational store URL (`sqlite://…` or `postgres://…`).
    pub database_url: String,
    /// Redis URL; empty selects the in-process key-value store.
    pub redis_url: String,
    /// Development or production.
    pub environment: Environment,
    /// Seed the small demo data set into an empty database on start (and, on
    /// the in-process key-value store, replant its open carts). When no layer
    /// sets it: on in development, off in production; production refuses it.
    #[serde(default)]
    pub seed_demo_data: bool,
    /// Log line format.
    pub log_format: LogFormat,
    /// HTTP settings.
    pub http: HttpConfig,
    /// GraphQL limits.
    pub graphql: Limits,
    /// How the data layer uses the stores: shared caches, batching.
    pub data: bistro_data::Settings,
    /// Abuse limits: the request budget and failed sign-ins.
    pub rate_limit: bistro_data::rate_limit::RateLimits,
    /// Key-value store settings.
    pub kv: KvSettings,
    /// Relational store settings.
    pub sql: SqlSettings,
    /// Tokens and sessions.
    pub auth: AuthSettings,
    /// The payment provider.
    pub payments: PaymentSettings,
    /// Email delivery: the outbox worker, the mailbox folder, SMTP.
    pub mail: bistro_mail::MailSettings,
    /// Serving as an Apollo Federation subgraph: the router's shared secret.
    pub federation: FederationSettings,
    /// Live connections (GraphQL over WebSocket): timeouts, queues, limits.
    pub live: bistro_schema::LiveSettings,
    /// Prometheus metrics.
    pub metrics: MetricsSettings,
    /// OpenTelemetry traces.
    pub telemetry: TelemetrySettings,
}

/// Prometheus metrics (configuration section `[metrics]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Where `/metrics` is served, on a listener of its own; empty: off
    /// (nothing recorded, nothing listening).
    pub listen: String,
}

impl MetricsSettings {
    /// The metrics listener's address, when metrics are on.
    pub fn listen_addr(&self) -> anyhow::Result<Option<SocketAddr>> {
        if self.listen.is_empty() {
            return Ok(None);
        }
        self.listen
            .parse()
            .map(Some)
            .with_context(|| format!("metrics.listen {:?} is not host:port", self.listen))
    }
}

/// OpenTelemetry traces (configuration section `[telemetry]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// The OTLP/HTTP collector's base URL (`http://collector:4318`; spans
    /// are posted to its `/v1/traces`, or to this URL as given when it
    /// already ends so). Empty: no traces (no span is exported, and the
    /// request pipeline makes none).
    pub otlp_endpoint: String,
    /// The share of traces started here that are kept, 0 to 1. A request
    /// that continues a trace (`traceparent`) follows its caller's choice.
    pub sample_ratio: f64,
}

impl TelemetrySettings {
    /// Whether traces are on.
    pub fn enabled(&self) -> bool {
        !self.otlp_endpoint.is_empty()
    }

    /// Where spans are posted: the endpoint with `/v1/traces`, unless it has it.
    pub fn traces_url(&self) -> String {
        let base = self.otlp_endpoint.trim_end_matches('/');
        if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{base}/v1/traces")
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            bail!(
                "telemetry.sample_ratio must be between 0 and 1, not {}",
                self.sample_ratio
            );
        }
        if self.enabled()
            && !(self.otlp_endpoint.starts_with("http://")
                || self.otlp_endpoint.starts_with("https://"))
        {
            bail!(
                "telemetry.otlp_endpoint must be empty (no traces) or an http:// URL, not {:?}",
                self.otlp_endpoint
            );
        }
        if self.otlp_endpoint.starts_with("https://") {
            // The exporter is built without a TLS client (see the workspace manifest).
            bail!(
                "telemetry.otlp_endpoint must be http://: traces go to a collector on the \
                 replica's network (a sidecar or node agent), which forwards them over TLS"
            );
        }
        Ok(())
    }
}

/// Serving as an Apollo Federation subgraph (configuration section `[federation]`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationSettings {
    /// Secret the federation router sends with its requests. Set: requests
    /// that select `_service` or `_entities` must carry it in
    /// `router_secret_header`, else they get 401; every other request is
    /// unaffected. Empty (the default): no secret is asked for.
    pub router_secret: String,
    /// The header that carries the secret.
    pub router_secret_header: String,
}

impl FederationSettings {
    /// The shared secret, when one is configured.
    pub fn router_secret(&self) -> Option<&str> {
        Some(self.router_secret.as_str()).filter(|secret| !secret.is_empty())
    }
}

impl std::fmt::Debug for FederationSettings {
    // The secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationSettings")
            .field(
                "router_secret",
                &if self.router_secret.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("router_secret_header", &self.router_secret_header)
            .finish()
    }
}

/// Shortest router secret accepted, in bytes.
pub const MIN_ROUTER_SECRET_BYTES: usize = 32;

/// The payment provider (configuration section `[payments]`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    /// Which provider: `simulated`, the built-in card processor (moves no
    /// money), or `stripe`.
    pub provider: String,
    /// Let production run the simulated processor (a demo that takes no money).
    pub allow_simulated_in_production: bool,
    /// How long the simulated processor takes to approve `tok_slow`, milliseconds.
    pub slow_token_delay_ms: u64,
    /// Stripe's secret API key (never printed).
    pub stripe_secret_key: String,
    /// Stripe's publishable key, for the storefront.
    pub stripe_publishable_key: String,
    /// The signing secret of the webhook endpoint (never printed).
    pub stripe_webhook_secret: String,
    /// Stripe's API base URL.
    pub stripe_api_base: String,
    /// Where the storefront loads Stripe.js from.
    pub stripe_js_url: String,
    /// Longest wait for one answer from Stripe, milliseconds.
    pub stripe_timeout_ms: u64,
    /// Retries of a request Stripe gave no usable answer to.
    pub stripe_max_retries: u32,
    /// How long a checkout waiting for its customer's card challenge keeps
    /// its key and stock, seconds.
    pub customer_action_secs: u64,
    /// How long a checkout or payment change may stay unfinished before a
    /// retry or the recovery task takes it over, seconds.
    pub recovery_after_secs: u64,
    /// Time between two sweeps of the recovery task, seconds.
    pub recovery_interval_secs: u64,
    /// Days the simulated processor keeps its ledger.
    pub simulated_ledger_retention_days: u64,
}

impl std::fmt::Debug for PaymentSettings {
    // The secrets never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |secret: &str| if secret.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("PaymentSettings")
            .field("provider", &self.provider)
            .field(
                "allow_simulated_in_production",
                &self.allow_simulated_in_production,
            )
            .field("slow_token_delay_ms", &self.slow_token_delay_ms)
            .field("stripe_secret_key", &redacted(&self.stripe_secret_key))
            .field("stripe_publishable_key", &self.stripe_publishable_key)
            .field(
                "stripe_webhook_secret",
                &redacted(&self.stripe_webhook_secret),
            )
            .field("stripe_api_base", &self.stripe_api_base)
            .field("stripe_js_url", &self.stripe_js_url)
            .field("stripe_timeout_ms", &self.stripe_timeout_ms)
            .field("stripe_max_retries", &self.stripe_max_retries)
            .field("customer_action_secs", &self.customer_action_secs)
            .field("recovery_after_secs", &self.recovery_after_secs)
            .field("recovery_interval_secs", &self.recovery_interval_secs)
            .field(
                "simulated_ledger_retention_days",
                &self.simulated_ledger_retention_days,
            )
            .finish()
    }
}

/// The payment providers `payments.provider` names.
pub const PAYMENT_PROVIDERS: [&str; 2] = ["simulated", "stripe"];

impl PaymentSettings {
    /// Whether the provider is Stripe.
    pub fn is_stripe(&self) -> bool {
        self.provider == "stripe"
    }

    /// How the Stripe client reaches Stripe.
    pub fn stripe(&self) -> bistro_payments::StripeSettings {
        bistro_payments::StripeSettings {
            secret_key: self.stripe_secret_key.clone(),
            api_base: self.stripe_api_base.clone(),
            timeout: Duration::from_millis(self.stripe_timeout_ms),
            max_retries: self.stripe_max_retries,
            retry_base: Duration::from_millis(500),
        }
    }

    /// What the storefront needs to take cards in the browser (Stripe only).
    pub fn browser(&self) -> bistro_data::BrowserPayments {
        if self.is_stripe() {
            bistro_data::BrowserPayments {
                publishable_key: self.stripe_publishable_key.clone(),
                script_url: self.stripe_js_url.clone(),
            }
        } else {
            bistro_data::BrowserPayments::default()
        }
    }

    /// Refuses payment settings that cannot work or are unsafe in `environment`.
    fn validate(&self, environment: Environment, storefront: bool) -> anyhow::Result<()> {
        let production = environment == Environment::Production;
        if !PAYMENT_PROVIDERS.contains(&self.provider.as_str()) {
            bail!(
                "payments.provider must be \"simulated\" (the built-in card processor) or \"stripe\", not {:?}",
                self.provider
            );
        }
        if production && self.provider == "simulated" && !self.allow_simulated_in_production {
            bail!(
                "payments.provider is \"simulated\" in production: it takes no money. Set \
                 payments.provider = \"stripe\" (BISTRO_PAYMENTS__PROVIDER=stripe) with \
                 payments.stripe_secret_key and payments.stripe_webhook_secret, or, for a demo \
                 that takes no money, payments.allow_simulated_in_production = true \
                 (BISTRO_PAYMENTS__ALLOW_SIMULATED_IN_PRODUCTION=true)"
            );
        }
        if !self.is_stripe() {
            return Ok(());
        }
        let mut missing = Vec::new();
        if self.stripe_secret_key.is_empty() {
            missing.push("payments.stripe_secret_key (BISTRO_PAYMENTS__STRIPE_SECRET_KEY)");
        }
        if production && self.stripe_webhook_secret.is_empty() {
            missing.push("payments.stripe_webhook_secret (BISTRO_PAYMENTS__STRIPE_WEBHOOK_SECRET)");
        }
        if storefront && self.stripe_publishable_key.is_empty() {
            missing.push(
                "payments.stripe_publishable_key (BISTRO_PAYMENTS__STRIPE_PUBLISHABLE_KEY, for \
                 the storefront's card form; or http.storefront = false)",
            );
        }
        if !missing.is_empty() {
            bail!(
                "payments.provider = \"stripe\"{} is missing: {}",
                if production { " in production" } else { "" },
                missing.join(", ")
            );
        }
        if !(self.stripe_secret_key.starts_with("sk_") || self.stripe_secret_key.starts_with("rk_"))
        {
            bail!("payments.stripe_secret_key must be a Stripe secret key (sk_… or rk_…)");
        }
        if !self.stripe_publishable_key.is_empty()
            && !self.stripe_publishable_key.starts_with("pk_")
        {
            bail!(
                "payments.stripe_publishable_key must be a Stripe publishable key (pk_…): \
                 the secret key must never reach a browser"
            );
        }
        for (name, url) in [
            ("payments.stripe_api_base", &self.stripe_api_base),
            ("payments.stripe_js_url", &self.stripe_js_url),
        ] {
            let origin = url_origin(url);
            let secure = url.starts_with("https://");
            if origin.is_none() || (production && !secure) {
                bail!(
                    "{name} must be an {}URL, not {url:?}",
                    if production {
                        "https:// "
                    } else {
                        "http(s):// "
                    }
                );
            }
        }
        if self.stripe_timeout_ms == 0 || self.customer_action_secs == 0 {
            bail!("payments: stripe_timeout_ms and customer_action_secs must be positive");
        }
        Ok(())
    }

    /// How long a checkout waiting for its customer's card challenge keeps its key and stock.
    pub fn customer_action(&self) -> Duration {
        Duration::from_secs(self.customer_action_secs)
    }

    /// The lease of a request on its pending step.
    pub fn recovery_after(&self) -> Duration {
        Duration::from_secs(self.recovery_after_secs)
    }

    /// Time between recovery sweeps.
    pub fn recovery_interval(&self) -> Duration {
        Duration::from_secs(self.recovery_interval_secs)
    }
}

/// Tokens and sessions.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Secret that signs access tokens (at least 32 bytes). Empty in
    /// development: a random one is generated at start (tokens then do not
    /// survive a restart). Production refuses to start without one.
    pub token_secret: String,
    /// Lifetime of access tokens, seconds.
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token (renewed with each refresh), seconds.
    pub refresh_token_ttl_secs: u64,
    /// Password hashes and verifications (argon2) run at once; 0: as many
    /// as the machine has cores.
    pub password_hashes_at_once: usize,
    /// More that may wait for a turn; beyond, sign-ins and registrations are
    /// refused at once with SERVER_BUSY.
    pub password_hash_queue: usize,
}

impl std::fmt::Debug for AuthSettings {
    // The secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field(
                "token_secret",
                &if self.token_secret.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("refresh_token_ttl_secs", &self.refresh_token_ttl_secs)
            .field("password_hashes_at_once", &self.password_hashes_at_once)
            .field("password_hash_queue", &self.password_hash_queue)
            .finish()
    }
}

/// Where the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine: demo data, GraphiQL, friendly logs.
    Development,
    /// Serving real customers.
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// HTTP settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest request body in bytes.
    pub body_limit_bytes: usize,
    /// Longest a GraphQL request may run, in milliseconds.
    pub request_timeout_ms: u64,
    /// Whether `/graphiql` is served. When no layer sets it: on in
    /// development, off in production.
    #[serde(default)]
    pub graphiql: bool,
    /// Whether the storefront is served at `/` (and its routes and assets).
    pub storefront: bool,
    /// How long shutdown waits for in-flight requests, in seconds.
    pub shutdown_timeout_secs: u64,
    /// How long, on SIGTERM, `/health/ready` answers 503 while the listener
    /// still accepts, before the drain begins, in seconds.
    pub shutdown_ready_delay_secs: u64,
    /// Proxies (addresses or networks) whose `X-Forwarded-For` names the
    /// client; empty: the socket's peer is the client.
    pub trusted_proxies: Vec<String>,
}

/// Key-value store settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvSettings {
    /// Prefix of every key and channel.
    pub key_prefix: String,
    /// Redis connect timeout, milliseconds.
    pub connect_timeout_ms: u64,
    /// Redis per-command timeout, milliseconds.
    pub response_timeout_ms: u64,
    /// Failures in a row that open the circuit breaker.
    pub breaker_threshold: u32,
    /// How long the open breaker skips Redis, milliseconds.
    pub breaker_cooldown_ms: u64,
}

/// Relational store settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlSettings {
    /// Pool size.
    pub max_connections: u32,
    /// Longest wait for a pooled connection, milliseconds.
    pub acquire_timeout_ms: u64,
}

impl Default for Config {
    /// The built-in defaults alone (no file, no environment).
    fn default() -> Self {
        // The defaults are compiled in and covered by a test; failing here is a build defect.
        Self::load(None, std::iter::empty()).expect("built-in config.default.toml is valid")
    }
}

impl Config {
    /// Loads the layers: defaults, then `file` (or `./bistro.toml` when it
    /// exists and no file is named), then the `BISTRO_*` variables in `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        match file {
            Some(path) => {
                builder = builder.add_source(config::File::from(path).required(true));
            }
            None if Path::new("bistro.toml").exists() => {
                builder = builder.add_source(config::File::with_name("bistro.toml"));
            }
            None => {}
        }
        // Only our own variables: the test suite's `BISTRO_TEST_*` are not settings.
        let env: HashMap<String, String> = env
            .filter(|(k, _)| k.starts_with("BISTRO_") && !k.starts_with("BISTRO_TEST_"))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                // Lists are written comma-separated in a variable:
                // BISTRO_HTTP__TRUSTED_PROXIES=10.0.0.0/8,192.168.0.0/16.
                .list_separator(",")
                .with_list_parse_key("http.trusted_proxies")
                .source(Some(env.into_iter().collect())),
        );
        let layers = builder.build().context("reading configuration")?;
        let mut config: Config = layers
            .clone()
            .try_deserialize()
            .context("invalid configuration")?;
        // Settings whose default depends on the environment are left out of
        // config.default.toml; a layer that sets one decides, else the environment.
        let development = config.environment == Environment::Development;
        config.seed_demo_data = explicit(&layers, "seed_demo_data")?.unwrap_or(development);
        config.http.graphiql = explicit(&layers, "http.graphiql")?.unwrap_or(development);
        config.graphql.introspection =
            explicit(&layers, "graphql.introspection")?.unwrap_or(development);
        config.rate_limit.requests_per_minute =
            match layers.get::<u64>("rate_limit.requests_per_minute") {
                Ok(value) => value,
                Err(config::ConfigError::NotFound(_)) => {
                    if development {
                        0
                    } else {
                        PRODUCTION_REQUESTS_PER_MINUTE
                    }
                }
                Err(error) => return Err(error).context("invalid configuration"),
            };
        config.validate()?;
        Ok(config)
    }

    /// Loads from the process environment.
    pub fn from_env(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load(file, std::env::vars())
    }

    /// Refuses settings that cannot work, before anything starts.
    pub fn validate(&self) -> anyhow::Result<()> {
        let listen = self.listen_addr()?;
        self.telemetry.validate()?;
        if let Some(metrics) = self.metrics.listen_addr()?
            // Port 0 picks a free port each: never the same one.
            && listen.port() != 0
            && metrics.port() == listen.port()
            && (metrics.ip() == listen.ip() || listen.ip().is_unspecified())
        {
            bail!(
                "metrics.listen ({}) is the public listen address: metrics go on a listener \
                 of their own that only the operator's scraper reaches (another port)",
                self.metrics.listen
            );
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            bail!("database_url must start with sqlite: or postgres://");
        }
        if !self.redis_url.is_empty() && !self.redis_url.starts_with("redis") {
            bail!("redis_url must be empty (in-process store) or a redis:// URL");
        }
        let g = &self.graphql;
        if g.max_page_size == 0 || g.default_page_size == 0 || g.default_page_size > g.max_page_size
        {
            bail!("graphql: need 0 < default_page_size <= max_page_size");
        }
        if g.max_depth < 2 || g.max_complexity == 0 {
            bail!("graphql: max_depth must be at least 2 and max_complexity positive");
        }
        parse_trusted(&self.http.trusted_proxies)?;
        let r = &self.rate_limit;
        if r.login_failures_per_pair == 0
            || r.login_failures_per_address == 0
            || r.login_window_secs == 0
        {
            bail!("rate_limit: sign-in limits and their window must be positive");
        }
        if r.login_delay_base_secs == 0 || r.login_delay_max_secs < r.login_delay_base_secs {
            bail!(
                "rate_limit: login_delay_base_secs must be positive and login_delay_max_secs \
                 at least login_delay_base_secs"
            );
        }
        if r.registrations_per_address == 0 || r.registration_window_secs == 0 {
            bail!(
                "rate_limit: registrations_per_address and registration_window_secs must be positive"
            );
        }
        if self.graphql.max_representations == 0 {
            bail!("graphql.max_representations must be at least 1");
        }
        if g.apq_ttl_secs == 0 || g.apq_max_document_bytes == 0 || g.apq_max_registrations == 0 {
            bail!(
                "graphql: apq_ttl_secs, apq_max_document_bytes and apq_max_registrations must be positive"
            );
        }
        if g.trusted_documents_refresh_ms < 10 {
            bail!("graphql.trusted_documents_refresh_ms must be at least 10");
        }
        let live = &self.live;
        if live.max_operation_id_bytes == 0 || live.max_connections_per_client == 0 {
            bail!("live: max_operation_id_bytes and max_connections_per_client must be positive");
        }
        if self.data.max_batch_size == 0 {
            bail!("data.max_batch_size must be at least 1");
        }
        if self.http.body_limit_bytes < 1024 {
            bail!("http.body_limit_bytes must be at least 1024");
        }
        if self.environment == Environment::Production && self.kv.key_prefix.is_empty() {
            bail!("kv.key_prefix must not be empty in production");
        }
        if self.environment == Environment::Production && self.seed_demo_data {
            bail!(
                "seed_demo_data (BISTRO_SEED_DEMO_DATA) is on in production: the demo data set \
                 has accounts with a published password, so production never seeds it; \
                 remove the setting (it is off by default in production) and create accounts \
                 with `bistro user create`"
            );
        }
        let secret = self.auth.token_secret.len();
        if secret == 0 && self.environment == Environment::Production {
            bail!(
                "auth.token_secret (BISTRO_AUTH__TOKEN_SECRET) is required in production: \
                 at least {} random bytes",
                bistro_auth::token::MIN_KEY_BYTES
            );
        }
        if secret != 0 && secret < bistro_auth::token::MIN_KEY_BYTES {
            bail!(
                "auth.token_secret must be at least {} bytes",
                bistro_auth::token::MIN_KEY_BYTES
            );
        }
        if self.auth.access_token_ttl_secs == 0 || self.auth.refresh_token_ttl_secs == 0 {
            bail!("auth: token lifetimes must be positive");
        }
        self.payments
            .validate(self.environment, self.http.storefront)?;
        if self.payments.recovery_after_secs == 0
            || self.payments.recovery_interval_secs == 0
            || self.payments.simulated_ledger_retention_days == 0
        {
            bail!(
                "payments: recovery_after_secs, recovery_interval_secs and \
                 simulated_ledger_retention_days must be positive"
            );
        }
        let federation = &self.federation;
        if axum::http::HeaderName::from_bytes(federation.router_secret_header.as_bytes()).is_err() {
            bail!(
                "federation.router_secret_header {:?} is not an HTTP header name",
                federation.router_secret_header
            );
        }
        if federation
            .router_secret()
            .is_some_and(|secret| secret.len() < MIN_ROUTER_SECRET_BYTES)
        {
            bail!(
                "federation.router_secret must be at least {MIN_ROUTER_SECRET_BYTES} bytes \
                 (`openssl rand -base64 48`), or empty for none"
            );
        }
        let m = &self.mail;
        if m.worker && m.smtp_url.is_empty() && m.mailbox_dir.is_empty() {
            bail!("mail: set mail.mailbox_dir or mail.smtp_url");
        }
        if m.batch_size == 0 || m.lease_secs == 0 || m.max_attempts < 1 || m.retry_base_secs == 0 {
            bail!(
                "mail: batch_size, lease_secs, max_attempts and retry_base_secs must be positive"
            );
        }
        if !(m.smtp_url.is_empty()
            || m.smtp_url.starts_with("smtp://")
            || m.smtp_url.starts_with("smtps://"))
        {
            bail!("mail.smtp_url must be empty (mailbox folder) or an smtp:// or smtps:// URL");
        }
        Ok(())
    }

    /// Refuses `what` in production: commands that would write the demo data
    /// set (whose accounts have a published password) into a real database.
    pub fn refuse_demo_data_in_production(&self, what: &str) -> anyhow::Result<()> {
        if self.environment == Environment::Production {
            bail!(
                "{what} writes accounts with the published demo password, and the environment \
                 is production; run it against a development or benchmark database \
                 (BISTRO_ENVIRONMENT=development)"
            );
        }
        Ok(())
    }

    /// The listen address, parsed.
    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen
            .parse()
            .with_context(|| format!("listen address {:?} is not host:port", self.listen))
    }

    /// The GraphQL request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.http.request_timeout_ms)
    }
}

/// The origin (`scheme://host[:port]`) of an `http://` or `https://` URL;
/// `None` when `url` is not one (or has characters no origin has).
pub fn url_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let plain = !authority.is_empty()
        && !authority.contains('@')
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    plain.then(|| format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// Parses `http.trusted_proxies` entries: networks (`10.0.0.0/8`) or single addresses.
pub fn parse_trusted(entries: &[String]) -> anyhow::Result<Vec<IpNet>> {
    entries
        .iter()
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!(
                        "http.trusted_proxies: {entry:?} is not an address or a network like 10.0.0.0/8"
                    )
                })
        })
        .collect()
}

/// A boolean `key` as the layers set it; `None` when none of them does.
fn explicit(layers: &config::Config, key: &str) -> anyhow::Result<Option<bool>> {
    match layers.get::<bool>(key) {
        Ok(value) => Ok(Some(value)),
        Err(config::ConfigError::NotFound(_)) => Ok(None),
        Err(error) => Err(error).context("invalid configuration"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn the_built_in_defaults_run_with_zero_setup() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert!(config.database_url.starts_with("sqlite://data/"));
        assert!(config.redis_url.is_empty());
        assert_eq!(config.graphql.max_page_size, 100);
    }

    #[test]
    fn environment_variables_override_flat_and_nested_keys() {
        let config = Config::load(
            None,
            env(&[
                ("BISTRO_DATABASE_URL", "postgres://db/bistro"),
                ("BISTRO_LISTEN", "0.0.0.0:9000"),
                ("BISTRO_GRAPHQL__MAX_DEPTH", "9"),
                ("BISTRO_HTTP__GRAPHIQL", "false"),
                ("BISTRO_TEST_DATABASE_URL", "ignored"),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(config.database_url, "postgres://db/bistro");
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.graphql.max_depth, 9);
        assert!(!config.http.graphiql);
    }

    #[test]
    fn trusted_proxies_are_a_comma_separated_list_in_the_environment() {
        let config = Config::load(
            None,
            env(&[("BISTRO_HTTP__TRUSTED_PROXIES", "10.0.0.0/8,192.168.1.7")]),
        )
        .unwrap();
        assert_eq!(config.http.trusted_proxies, ["10.0.0.0/8", "192.168.1.7"]);
        config.validate().unwrap();
        let one = Config::load(None, env(&[("BISTRO_HTTP__TRUSTED_PROXIES", "10.0.0.1")])).unwrap();
        assert_eq!(one.http.trusted_proxies, ["10.0.0.1"]);
    }

    #[test]
    fn production_refuses_to_start_without_a_strong_token_secret() {
        // Development: no secret is fine (a key is generated at start).
        assert!(
            Config::load(None, env(&[]))
                .unwrap()
                .auth
                .token_secret
                .is_empty()
        );
        let production = |secret: &str| {
            Config::load(
                None,
                env(&[
                    ("BISTRO_ENVIRONMENT", "production"),
                    ("BISTRO_AUTH__TOKEN_SECRET", secret),
                    DEMO_PAYMENTS,
                ]),
            )
        };
        let err = production("").unwrap_err().to_string();
        assert!(err.contains("token_secret"), "{err}");
        assert!(production("too-short").is_err());
        let ok = production("0123456789abcdef0123456789abcdef-long-enough").unwrap();
        // The secret never reaches a log line.
        assert!(!format!("{:?}", ok.auth).contains("0123456789abcdef"));
    }

    const SECRET: (&str, &str) = (
        "BISTRO_AUTH__TOKEN_SECRET",
        "0123456789abcdef0123456789abcdef-long-enough",
    );
    const PRODUCTION: (&str, &str) = ("BISTRO_ENVIRONMENT", "production");
    /// Production with the simulated processor, on purpose (a demo).
    const DEMO_PAYMENTS: (&str, &str) = ("BISTRO_PAYMENTS__ALLOW_SIMULATED_IN_PRODUCTION", "true");

    /// `(seed_demo_data, http.graphiql, graphql.introspection)`.
    fn switches(config: &Config) -> (bool, bool, bool) {
        (
            config.seed_demo_data,
            config.http.graphiql,
            config.graphql.introspection,
        )
    }

    #[test]
    fn demo_data_graphiql_and_introspection_are_on_in_development_and_off_in_production() {
        let development = Config::load(None, env(&[])).unwrap();
        assert_eq!(switches(&development), (true, true, true));
        let production = Config::load(None, env(&[PRODUCTION, SECRET, DEMO_PAYMENTS])).unwrap();
        assert_eq!(production.environment, Environment::Production);
        assert_eq!(switches(&production), (false, false, false));
    }

    #[test]
    fn each_switch_can_be_set_either_way_in_either_environment() {
        let production = Config::load(
            None,
            env(&[
                PRODUCTION,
                SECRET,
                DEMO_PAYMENTS,
                ("BISTRO_HTTP__GRAPHIQL", "true"),
                ("BISTRO_GRAPHQL__INTROSPECTION", "true"),
                ("BISTRO_SEED_DEMO_DATA", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(switches(&production), (false, true, true));
        let development = Config::load(
            None,
            env(&[
                ("BISTRO_HTTP__GRAPHIQL", "false"),
                ("BISTRO_GRAPHQL__INTROSPECTION", "false"),
                ("BISTRO_SEED_DEMO_DATA", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(switches(&development), (false, false, false));
        assert!(Config::load(None, env(&[("BISTRO_HTTP__GRAPHIQL", "maybe")])).is_err());
    }

    #[test]
    fn production_refuses_to_start_with_demo_data_switched_on() {
        let err = Config::load(
            None,
            env(&[
                PRODUCTION,
                SECRET,
                DEMO_PAYMENTS,
                ("BISTRO_SEED_DEMO_DATA", "true"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("seed_demo_data"), "{err}");
        assert!(err.contains("production"), "{err}");

        // From a file too.
        let dir = std::env::temp_dir().join(format!(
            "bistro-config-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bistro.toml");
        std::fs::write(
            &file,
            "environment = \"production\"\nseed_demo_data = true\n",
        )
        .unwrap();
        let err = Config::load(Some(&file), env(&[SECRET, DEMO_PAYMENTS]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("seed_demo_data"), "{err}");
        std::fs::write(
            &file,
            "environment = \"production\"\n[http]\ngraphiql = true\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), env(&[SECRET, DEMO_PAYMENTS])).unwrap();
        assert_eq!(switches(&config), (false, true, false));
        std::fs::remove_dir_all(&dir).unwrap();

        // A configuration built in code is checked too.
        let mut config = Config::load(None, env(&[PRODUCTION, SECRET, DEMO_PAYMENTS])).unwrap();
        config.seed_demo_data = true;
        assert!(config.validate().is_err());

        // And `bistro seed` is refused in production.
        let production = Config::load(None, env(&[PRODUCTION, SECRET, DEMO_PAYMENTS])).unwrap();
        let err = production
            .refuse_demo_data_in_production("bistro seed")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bistro seed"), "{err}");
        assert!(
            Config::default()
                .refuse_demo_data_in_production("bistro seed")
                .is_ok()
        );
    }

    #[test]
    fn the_router_secret_is_off_by_default_checked_when_set_and_never_printed() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.federation.router_secret(), None);
        assert_eq!(
            config.federation.router_secret_header,
            "Router-Authorization"
        );
        let secret = "a-router-secret-of-at-least-32-bytes-0123456789";
        let config = Config::load(
            None,
            env(&[
                ("BISTRO_FEDERATION__ROUTER_SECRET", secret),
                ("BISTRO_FEDERATION__ROUTER_SECRET_HEADER", "X-Router-Secret"),
            ]),
        )
        .unwrap();
        assert_eq!(config.federation.router_secret(), Some(secret));
        assert!(!format!("{config:?}").contains(secret));
        assert!(Config::load(None, env(&[("BISTRO_FEDERATION__ROUTER_SECRET", "short")])).is_err());
        assert!(
            Config::load(
                None,
                env(&[("BISTRO_FEDERATION__ROUTER_SECRET_HEADER", "not a header")])
            )
            .is_err()
        );
    }

    #[test]
    fn the_abuse_limits_have_safe_defaults_and_refuse_settings_that_cannot_work() {
        let config = Config::load(None, env(&[])).unwrap();
        let r = &config.rate_limit;
        assert_eq!(
            (r.login_failures_per_pair, r.login_failures_per_address),
            (10, 30)
        );
        assert_eq!((r.login_delay_base_secs, r.login_delay_max_secs), (1, 30));
        assert_eq!(
            (r.registrations_per_address, r.registration_window_secs),
            (10, 3600)
        );
        assert_eq!(config.auth.password_hashes_at_once, 0);
        assert_eq!(config.auth.password_hash_queue, 32);
        assert_eq!(config.graphql.max_representations, 1000);
        assert_eq!(config.graphql.document_cache_entries, 512);
        assert_eq!(config.live.max_operation_id_bytes, 128);
        assert_eq!(config.live.max_connections_per_client, 50);
        for bad in [
            ("BISTRO_RATE_LIMIT__LOGIN_DELAY_BASE_SECS", "0"),
            ("BISTRO_RATE_LIMIT__LOGIN_DELAY_MAX_SECS", "0"),
            ("BISTRO_RATE_LIMIT__REGISTRATIONS_PER_ADDRESS", "0"),
            ("BISTRO_GRAPHQL__MAX_REPRESENTATIONS", "0"),
            ("BISTRO_LIVE__MAX_OPERATION_ID_BYTES", "0"),
            ("BISTRO_LIVE__MAX_CONNECTIONS_PER_CLIENT", "0"),
            // The hard per-account ceiling is gone: the account's delay replaced it.
            ("BISTRO_RATE_LIMIT__LOGIN_FAILURES_PER_ACCOUNT", "100"),
        ] {
            assert!(Config::load(None, env(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(Config::load(None, env(&[("BISTRO_LISTNE", "x")])).is_err());
        assert!(Config::load(None, env(&[("BISTRO_LISTEN", "not an address")])).is_err());
        assert!(Config::load(None, env(&[("BISTRO_GRAPHQL__DEFAULT_PAGE_SIZE", "500")])).is_err());
    }

    const STRIPE: [(&str, &str); 4] = [
        ("BISTRO_PAYMENTS__PROVIDER", "stripe"),
        (
            "BISTRO_PAYMENTS__STRIPE_SECRET_KEY",
            "sk_test_0123456789-secret",
        ),
        (
            "BISTRO_PAYMENTS__STRIPE_PUBLISHABLE_KEY",
            "pk_test_0123456789",
        ),
        (
            "BISTRO_PAYMENTS__STRIPE_WEBHOOK_SECRET",
            "whsec_0123456789-secret",
        ),
    ];

    #[test]
    fn production_refuses_the_simulated_processor_unless_allowed_on_purpose() {
        let err = Config::load(None, env(&[PRODUCTION, SECRET]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("simulated") && err.contains("allow_simulated_in_production"),
            "{err}"
        );
        let demo = Config::load(None, env(&[PRODUCTION, SECRET, DEMO_PAYMENTS])).unwrap();
        assert_eq!(demo.payments.provider, "simulated");
        // Development runs it by default.
        assert_eq!(
            Config::load(None, env(&[])).unwrap().payments.provider,
            "simulated"
        );
        assert!(Config::load(None, env(&[("BISTRO_PAYMENTS__PROVIDER", "paypal")])).is_err());
    }

    #[test]
    fn stripe_is_configured_from_the_environment_and_its_secrets_never_printed() {
        let mut vars = vec![PRODUCTION, SECRET];
        vars.extend(STRIPE);
        vars.push((
            "BISTRO_PAYMENTS__STRIPE_API_BASE",
            "https://stripe.internal:8443",
        ));
        let config = Config::load(None, env(&vars)).unwrap();
        let payments = &config.payments;
        assert!(payments.is_stripe());
        assert_eq!(payments.stripe_api_base, "https://stripe.internal:8443");
        assert_eq!(payments.stripe_js_url, "https://js.stripe.com/v3/");
        assert_eq!(payments.browser().publishable_key, "pk_test_0123456789");
        let printed = format!("{config:?} {:?}", payments.stripe());
        assert!(!printed.contains("0123456789-secret"), "{printed}");
        assert!(
            printed.contains("pk_test_0123456789"),
            "the publishable key is public"
        );
    }

    #[test]
    fn stripe_without_its_keys_is_refused_and_the_error_names_what_is_missing() {
        let without = |drop: &str, extra: &[(&'static str, &'static str)]| {
            let mut vars: Vec<(&str, &str)> =
                STRIPE.iter().copied().filter(|(k, _)| *k != drop).collect();
            vars.extend_from_slice(extra);
            Config::load(None, env(&vars))
        };
        let err = without("BISTRO_PAYMENTS__STRIPE_SECRET_KEY", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("payments.stripe_secret_key"), "{err}");
        // Development may go without the webhook secret (the endpoint is not served).
        assert!(without("BISTRO_PAYMENTS__STRIPE_WEBHOOK_SECRET", &[]).is_ok());
        let err = without(
            "BISTRO_PAYMENTS__STRIPE_WEBHOOK_SECRET",
            &[PRODUCTION, SECRET],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("payments.stripe_webhook_secret"), "{err}");
        assert!(!err.contains("payments.stripe_secret_key"), "{err}");
        let err = without("BISTRO_PAYMENTS__STRIPE_PUBLISHABLE_KEY", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("stripe_publishable_key"), "{err}");
        assert!(
            without(
                "BISTRO_PAYMENTS__STRIPE_PUBLISHABLE_KEY",
                &[("BISTRO_HTTP__STOREFRONT", "false")]
            )
            .is_ok()
        );
        // A secret key where the publishable key goes would reach every browser.
        assert!(
            without(
                "",
                &[("BISTRO_PAYMENTS__STRIPE_PUBLISHABLE_KEY", "sk_test_oops")]
            )
            .is_err()
        );
        // Production speaks to Stripe over TLS only.
        assert!(
            without(
                "",
                &[
                    PRODUCTION,
                    SECRET,
                    ("BISTRO_PAYMENTS__STRIPE_API_BASE", "http://127.0.0.1:8420")
                ]
            )
            .is_err()
        );
        assert!(
            without(
                "",
                &[("BISTRO_PAYMENTS__STRIPE_API_BASE", "http://127.0.0.1:8420")]
            )
            .is_ok()
        );
    }

    #[test]
    fn origins_are_read_from_plain_urls_only() {
        assert_eq!(
            url_origin("https://js.stripe.com/v3/").as_deref(),
            Some("https://js.stripe.com")
        );
        assert_eq!(
            url_origin("http://127.0.0.1:8420/js.stripe.com/v3/").as_deref(),
            Some("http://127.0.0.1:8420")
        );
        assert_eq!(url_origin("javascript:alert(1)"), None);
        assert_eq!(url_origin("https://user@evil.example/"), None);
        assert_eq!(url_origin("https://a.example; script-src *"), None);
        assert_eq!(url_origin("https:///x"), None);
    }
}
