//! Typed, layered configuration: built-in defaults (`config.default.toml`,
//! which doubles as the reference), an optional file, then `BISTRO_*`
//! environment variables. Validated before anything starts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bistro_schema::Limits;
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    /// Which provider: `simulated`, the built-in card processor (moves no money).
    pub provider: String,
    /// How long the simulated processor takes to approve `tok_slow`, milliseconds.
    pub slow_token_delay_ms: u64,
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
        self.listen_addr()?;
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
        crate::client_addr::parse_trusted(&self.http.trusted_proxies)?;
        let r = &self.rate_limit;
        if r.login_failures_per_pair == 0
            || r.login_failures_per_address == 0
            || r.login_failures_per_account == 0
            || r.login_window_secs == 0
        {
            bail!("rate_limit: sign-in limits and their window must be positive");
        }
        if r.login_failures_per_account < r.login_failures_per_pair {
            bail!(
                "rate_limit.login_failures_per_account must be at least login_failures_per_pair, \
                 or one address could lock an account out"
            );
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
        if self.payments.provider != "simulated" {
            bail!("payments.provider must be \"simulated\" (the built-in card processor)");
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
        let production = Config::load(None, env(&[PRODUCTION, SECRET])).unwrap();
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
            env(&[PRODUCTION, SECRET, ("BISTRO_SEED_DEMO_DATA", "true")]),
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
        let err = Config::load(Some(&file), env(&[SECRET]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("seed_demo_data"), "{err}");
        std::fs::write(
            &file,
            "environment = \"production\"\n[http]\ngraphiql = true\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), env(&[SECRET])).unwrap();
        assert_eq!(switches(&config), (false, true, false));
        std::fs::remove_dir_all(&dir).unwrap();

        // A configuration built in code is checked too.
        let mut config = Config::load(None, env(&[PRODUCTION, SECRET])).unwrap();
        config.seed_demo_data = true;
        assert!(config.validate().is_err());

        // And `bistro seed` is refused in production.
        let production = Config::load(None, env(&[PRODUCTION, SECRET])).unwrap();
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
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(Config::load(None, env(&[("BISTRO_LISTNE", "x")])).is_err());
        assert!(Config::load(None, env(&[("BISTRO_LISTEN", "not an address")])).is_err());
        assert!(Config::load(None, env(&[("BISTRO_GRAPHQL__DEFAULT_PAGE_SIZE", "500")])).is_err());
    }
}
