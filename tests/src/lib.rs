#![doc = include_str!("../README.md")]

pub mod logs;
pub mod otlp;
pub mod process;
pub mod proxy;
pub mod redis;
pub mod smtp;
pub mod snapshot;
pub mod stripe;
pub mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use bistro_server::config::Config;
use bistro_server::{App, Application};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

/// Environment variable naming the PostgreSQL server for the real-services pair.
pub const DATABASE_URL_VAR: &str = "BISTRO_TEST_DATABASE_URL";
/// Environment variable naming the Redis server for the real-services pair.
pub const REDIS_URL_VAR: &str = "BISTRO_TEST_REDIS_URL";

/// Which stores a test runs against.
#[derive(Debug, Clone)]
pub enum StorePair {
    /// SQLite file + in-process key-value store: the embedded defaults.
    Embedded,
    /// PostgreSQL + Redis.
    Real {
        /// Base PostgreSQL URL (a schema per test is made inside it).
        database_url: String,
        /// Redis URL (a key prefix per test is used inside it).
        redis_url: String,
    },
}

impl StorePair {
    /// Short name for assertion messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Embedded => "sqlite+memory",
            Self::Real { .. } => "postgres+redis",
        }
    }
}

/// Every configured store pair: always the embedded one, plus PostgreSQL +
/// Redis when both variables are set. One variable without the other is a
/// configuration mistake and fails loudly.
pub fn store_pairs() -> Vec<StorePair> {
    let mut pairs = vec![StorePair::Embedded];
    if let Some(real) = real_pair() {
        pairs.push(real);
    }
    pairs
}

/// The PostgreSQL + Redis pair when configured.
pub fn real_pair() -> Option<StorePair> {
    let db = std::env::var(DATABASE_URL_VAR)
        .ok()
        .filter(|v| !v.is_empty());
    let redis = std::env::var(REDIS_URL_VAR).ok().filter(|v| !v.is_empty());
    match (db, redis) {
        (Some(database_url), Some(redis_url)) => Some(StorePair::Real {
            database_url,
            redis_url,
        }),
        (None, None) => None,
        _ => panic!("set both {DATABASE_URL_VAR} and {REDIS_URL_VAR}, or neither"),
    }
}

/// A running server on its own stores.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The service's parts (stores, schema, config).
    pub app: std::sync::Arc<App>,
    /// Which stores it runs on.
    pub pair: StorePair,
    /// Where it serves `/metrics`, when `metrics.listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    cleanup: Cleanup,
    /// The test's own folder (the SQLite file, the mailbox folder).
    dir: PathBuf,
}

enum Cleanup {
    SqliteDir,
    PostgresSchema {
        admin_url: String,
        schema: String,
    },
    /// A second server on another's stores: they are the first one's to remove.
    Replica,
}

/// A unique name for this test's stores.
pub(crate) fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The access-token signing secret of test servers (tests craft tokens with it).
pub const TEST_TOKEN_SECRET: &str = "bistro-test-signing-secret-0123456789abcdef";

/// Password of every demo account.
pub const DEMO_PASSWORD: &str = bistro_server::seed::DEMO_PASSWORD;

/// The configuration a test server starts from: the built-in defaults, port
/// 0, round-trip counts exposed, quiet demo seeding on.
pub fn base_config() -> Config {
    base_config_with_env(&[])
}

/// Like [`base_config`], loaded as `bistro serve` loads it with the `BISTRO_*`
/// variables `vars` set (`("BISTRO_ENVIRONMENT", "production")`, say), so
/// that defaults that depend on them are resolved as in a real start.
///
/// # Panics
/// When the variables make an invalid configuration.
pub fn base_config_with_env(vars: &[(&str, &str)]) -> Config {
    let env = [("BISTRO_AUTH__TOKEN_SECRET", TEST_TOKEN_SECRET)]
        .iter()
        .chain(vars)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect::<Vec<_>>();
    let mut config = Config::load(None, env.into_iter())
        .unwrap_or_else(|e| panic!("test configuration {vars:?}: {e:#}"));
    config.listen = "127.0.0.1:0".to_owned();
    config.graphql.expose_round_trips = true;
    config.http.shutdown_timeout_secs = 2;
    config
}

impl TestApp {
    /// Starts a server on fresh stores of `pair` with the default test configuration.
    pub async fn spawn(pair: &StorePair) -> Self {
        Self::spawn_with(pair, |_| {}).await
    }

    /// Like [`Self::spawn`], letting the test change the configuration first.
    pub async fn spawn_with(pair: &StorePair, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_with_env(pair, &[], tweak).await
    }

    /// Like [`Self::spawn_with`], starting from [`base_config_with_env`]`(vars)`.
    pub async fn spawn_with_env(
        pair: &StorePair,
        vars: &[(&str, &str)],
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        match Self::try_spawn(pair, base_config_with_env(vars), tweak).await {
            Ok(app) => app,
            Err(error) => panic!("[{}] could not start the server: {error:#}", pair.name()),
        }
    }

    /// Like [`Self::spawn_with`], paying through `payments` (a provider the
    /// test controls, behind the payment-provider trait).
    pub async fn spawn_with_payments(
        pair: &StorePair,
        payments: std::sync::Arc<dyn bistro_payments::PaymentProvider>,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        match Self::try_spawn_with(pair, base_config(), tweak, Some(payments)).await {
            Ok(app) => app,
            Err(error) => panic!("[{}] could not start the server: {error:#}", pair.name()),
        }
    }

    async fn try_spawn(
        pair: &StorePair,
        config: Config,
        tweak: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        Self::try_spawn_with(pair, config, tweak, None).await
    }

    async fn try_spawn_with(
        pair: &StorePair,
        mut config: Config,
        tweak: impl FnOnce(&mut Config),
        payments: Option<std::sync::Arc<dyn bistro_payments::PaymentProvider>>,
    ) -> anyhow::Result<Self> {
        let id = unique();
        let dir = std::env::temp_dir().join(format!("bistro-test-{id}"));
        std::fs::create_dir_all(&dir)?;
        config.mail.mailbox_dir = dir.join("mailbox").display().to_string();
        // Tests drive the outbox worker themselves (`TestApp::deliver_mail`),
        // so what they assert never waits on a background poll.
        config.mail.worker = false;
        // Likewise recovery: tests that leave steps behind sweep with
        // `TestApp::recover`, and a background sweep taking a step between
        // a test's set-up and its own sweep would race it (the task's first
        // sweep is one interval after start). The process-level tests
        // (crashes, drain) run the task on short settings instead.
        config.payments.recovery_interval_secs = 86_400;
        // Redis answers in well under a millisecond, but a CI machine running
        // builds beside the suite has made it miss the production timeout
        // (250 ms), and a limit that fails open then counts wrong. Tests of
        // outages cut the connection (`proxy::ChaosProxy`), which fails at
        // once whatever the timeout.
        config.kv.response_timeout_ms = 5_000;
        let cleanup = match pair {
            StorePair::Embedded => {
                config.database_url = format!("sqlite://{}/bistro.db", dir.display());
                config.redis_url = String::new();
                Cleanup::SqliteDir
            }
            StorePair::Real {
                database_url,
                redis_url,
            } => {
                let schema = format!("t_{id}");
                let admin = Database::connect(database_url.as_str())
                    .await
                    .with_context(|| {
                        format!("{DATABASE_URL_VAR} is set but PostgreSQL is unreachable")
                    })?;
                admin
                    .execute_unprepared(&format!(r#"CREATE SCHEMA "{schema}""#))
                    .await?;
                admin.close().await?;
                config.database_url = with_search_path(database_url, &schema);
                config.redis_url = redis_url.clone();
                config.kv.key_prefix = format!("bistro-test:{id}:");
                Cleanup::PostgresSchema {
                    admin_url: database_url.clone(),
                    schema,
                }
            }
        };
        tweak(&mut config);
        if let StorePair::Real { redis_url, .. } = pair
            && config.redis_url == *redis_url
        {
            ensure_redis_reachable(redis_url).await?;
        }
        let application = Application::build_with_payments(config, payments).await?;
        let addr = application.local_addr()?;
        let metrics_addr = application.metrics_addr();
        let app = application.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(application.run_until(async move {
            let _ = rx.await;
        }));
        Ok(Self {
            addr,
            app,
            pair: pair.clone(),
            metrics_addr,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            shutdown: Some(tx),
            server: Some(server),
            cleanup,
            dir,
        })
    }

    /// A second server process on this one's stores: the same PostgreSQL
    /// schema and the same Redis key prefix, with a port of its own — two
    /// replicas of one service. Only on PostgreSQL + Redis: the in-process
    /// store belongs to one server. Stop it before the first one.
    pub async fn spawn_replica(&self) -> Self {
        assert!(
            matches!(self.pair, StorePair::Real { .. }),
            "replicas share PostgreSQL and Redis; the in-process store belongs to one server"
        );
        let mut config = self.app.config.clone();
        config.listen = "127.0.0.1:0".to_owned();
        let application = Application::build(config)
            .await
            .unwrap_or_else(|e| panic!("starting a replica: {e:#}"));
        let addr = application.local_addr().expect("replica address");
        let metrics_addr = application.metrics_addr();
        let app = application.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(application.run_until(async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            app,
            pair: self.pair.clone(),
            metrics_addr,
            client: self.client.clone(),
            shutdown: Some(tx),
            server: Some(server),
            cleanup: Cleanup::Replica,
            dir: std::env::temp_dir().join(format!("bistro-test-replica-{}", unique())),
        }
    }

    /// Waits (ten seconds at most) until the server's live hub hears every
    /// event published from now on: the event bus confirmed its subscriptions.
    pub async fn live_ready(&self) {
        tokio::time::timeout(Duration::from_secs(10), self.app.api.live().ready())
            .await
            .unwrap_or_else(|_| panic!("[{}] the live hub never became ready", self.pair.name()));
    }

    /// `ws://127.0.0.1:<port>/graphql/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.addr)
    }

    /// A WebSocket to `/graphql/ws` speaking `graphql-transport-ws`, not yet initialised.
    pub async fn ws(&self) -> ws::WsClient {
        self.live_ready().await;
        ws::WsClient::connect(&self.ws_url(), Some(ws::TRANSPORT_WS)).await
    }

    /// A new user of `role` (staff of `restaurants`) with a signed-in
    /// session, made directly in the stores: `(user id, access token)`.
    pub async fn new_user(
        &self,
        name: &str,
        role: bistro_sql::entity::UserRole,
        restaurants: &[i64],
    ) -> (i64, String) {
        let email = format!("{name}-{}@example.com", unique());
        let user = bistro_sql::write::create_user(
            &self.app.db,
            bistro_sql::write::NewUser {
                email,
                display_name: name.to_owned(),
                password_hash: "not-a-password-hash".to_owned(),
                role,
                restaurant_ids: restaurants.to_vec(),
            },
        )
        .await
        .expect("creating a user");
        let auth_role = match role {
            bistro_sql::entity::UserRole::Customer => bistro_auth::Role::Customer,
            bistro_sql::entity::UserRole::Staff => bistro_auth::Role::Staff,
            bistro_sql::entity::UserRole::Admin => bistro_auth::Role::Admin,
        };
        let token = self
            .session_token(user.id, auth_role, restaurants, Duration::from_secs(900))
            .await;
        (user.id, token)
    }

    /// A fresh session of `user_id` and an access token of it valid for
    /// `ttl` (tests make short-lived ones), signed with [`TEST_TOKEN_SECRET`].
    pub async fn session_token(
        &self,
        user_id: i64,
        role: bistro_auth::Role,
        restaurants: &[i64],
        ttl: Duration,
    ) -> String {
        let keys = bistro_auth::TokenKeys::new(TEST_TOKEN_SECRET.as_bytes(), ttl)
            .expect("test token keys");
        let session = bistro_auth::Sessions::new(self.app.kv.clone(), Duration::from_secs(3600))
            .start(&keys, user_id)
            .await
            .expect("starting a session");
        keys.issue(user_id, role, restaurants.to_vec(), &session.session_id)
            .0
    }

    /// The folder the mailbox delivery writes `.eml` files to.
    pub fn mailbox_dir(&self) -> PathBuf {
        PathBuf::from(&self.app.config.mail.mailbox_dir)
    }

    /// The `.eml` files in the mailbox folder, sorted by name.
    pub fn mailbox(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.mailbox_dir())
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// An outbox worker of this server's configuration, named `name`.
    pub fn mail_worker(&self, name: &str) -> bistro_mail::Worker {
        bistro_mail::Worker::new(
            self.app.db.clone(),
            self.app.mail_delivery.clone(),
            self.app.config.mail.clone(),
            name,
        )
    }

    /// Delivers every due email now (one worker round); returns how many it handled.
    pub async fn deliver_mail(&self) -> usize {
        self.mail_worker("test-worker")
            .run_once()
            .await
            .expect("outbox worker round")
    }

    /// A new customer account with a signed-in session, made directly in the
    /// stores (no password hashing: fast enough to make fifty): `(user id, access token)`.
    pub async fn new_customer(&self, name: &str) -> (i64, String) {
        self.new_user(name, bistro_sql::entity::UserRole::Customer, &[])
            .await
    }

    /// Runs the named operation of `tests/operations/` as `token`, asserting
    /// a 200 without top-level errors; returns `data`.
    pub async fn run(&self, token: Option<&str>, name: &str, variables: Value) -> Value {
        let (status, body) = self.graphql_as(token, &operation(name), variables).await;
        assert_eq!(status, 200, "[{}] {name}: {body:#}", self.pair.name());
        assert!(
            body.get("errors").is_none(),
            "[{}] {name}: unexpected errors: {body:#}",
            self.pair.name()
        );
        body["data"].clone()
    }

    /// The simulated processor's counts (the server runs the built-in provider).
    pub fn payment_stats(&self) -> bistro_payments::SimulatedStats {
        self.app
            .simulated_payments
            .as_ref()
            .expect("the built-in simulated processor")
            .stats()
    }

    /// Every pending step (checkouts and payment changes not finished).
    pub async fn pending_steps(&self) -> Vec<bistro_sql::entity::pending_step::Model> {
        // Placed orders' steps are deleted together after their answers.
        self.app.data.finished_steps_settled().await;
        bistro_sql::steps::all(&self.app.db).await.unwrap()
    }

    /// Waits until an operation waits at the simulated processor's pause `name`.
    ///
    /// # Panics
    /// When nothing reaches the pause within a minute (the test is broken).
    pub async fn wait_for_pause(&self, name: &str) {
        wait_for_pause(&self.app.db, name).await;
    }

    /// Releases the simulated processor's pause `name`.
    pub async fn release_pause(&self, name: &str) {
        bistro_sql::simulated_ledger::release(&self.app.db, name, chrono::Utc::now())
            .await
            .unwrap();
    }

    /// Runs one sweep of the recovery task now; returns what it did.
    pub async fn recover(&self) -> bistro_data::recovery::Sweep {
        bistro_data::recovery::sweep(&self.app.data, std::time::Duration::from_secs(60))
            .await
            .unwrap()
    }

    /// Asserts the invariant of the money path: every order's payment status
    /// in SQL is the state of its payment in the simulated processor's
    /// ledger, and every authorization the ledger holds belongs to an order
    /// (or was released). Call it once the system is quiet.
    pub async fn assert_payments_match_ledger(&self) {
        assert_payments_match_ledger(&self.app.db).await;
    }

    /// POSTs `query` with `variables` to `/graphql` as the client at
    /// `address` when given (`X-Forwarded-For`, believed where the server
    /// trusts 127.0.0.1 as a proxy): the status and the body.
    pub async fn post_from(
        &self,
        address: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        post_from(
            &self.client,
            &self.url("/graphql"),
            address,
            query,
            variables,
        )
        .await
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The text of `/metrics` on the metrics listener.
    ///
    /// # Panics
    /// When metrics are off or the listener does not answer 200.
    pub async fn scrape_metrics(&self) -> String {
        let addr = self.metrics_addr.expect("metrics.listen is set");
        let response = self
            .client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .expect("scraping /metrics");
        assert_eq!(response.status(), 200, "/metrics answers");
        response.text().await.expect("the /metrics body")
    }

    /// The HTTP client (for requests the helpers below do not cover).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// POSTs a GraphQL request as `application/json`; returns status and body.
    pub async fn graphql(&self, query: &str, variables: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(json!({ "query": query, "variables": variables }).to_string())
            .send()
            .await
            .expect("POST /graphql");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.expect("JSON response body");
        (status, body)
    }

    /// Like [`Self::graphql`], with `Authorization: Bearer <token>` when a token is given.
    pub async fn graphql_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request
            .body(json!({ "query": query, "variables": variables }).to_string())
            .send()
            .await
            .expect("POST /graphql");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.expect("JSON response body");
        (status, body)
    }

    /// Signs in and returns the `session` object (`accessToken`, `refreshToken`, `user { id }`).
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let data = self
            .data(
                "mutation($input: LoginInput!) { login(input: $input) { \
                   session { accessToken refreshToken user { id } } \
                   userErrors { field code message } } }",
                json!({ "input": { "email": email, "password": password } }),
            )
            .await;
        assert_eq!(
            data["login"]["userErrors"],
            json!([]),
            "[{}] login as {email}",
            self.pair.name()
        );
        data["login"]["session"].clone()
    }

    /// Like [`Self::graphql`], asserting a 200 with no errors, and returning `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.graphql(query, variables).await;
        assert_eq!(status, 200, "[{}] status; body: {body:#}", self.pair.name());
        assert!(
            body.get("errors").is_none(),
            "[{}] unexpected errors: {body:#}",
            self.pair.name()
        );
        body["data"].clone()
    }

    /// The global ids of the first `restaurants` restaurants, each followed
    /// by those of its first `items` menu items.
    pub async fn node_ids(&self, restaurants: usize, items: usize) -> Vec<Value> {
        let data = self
            .data(
                &format!(
                    "{{ restaurants(first: {restaurants}) {{ edges {{ node {{ id menu(first: {items}) {{ edges {{ node {{ id }} }} }} }} }} }} }}"
                ),
                json!({}),
            )
            .await;
        let mut ids = Vec::new();
        for edge in data["restaurants"]["edges"].as_array().unwrap() {
            ids.push(edge["node"]["id"].clone());
            for item in edge["node"]["menu"]["edges"].as_array().unwrap() {
                ids.push(item["node"]["id"].clone());
            }
        }
        ids
    }

    /// Stops the server and removes its stores.
    pub async fn stop(mut self) {
        self.shutdown_server().await;
        let _ = std::fs::remove_dir_all(&self.dir);
        match &self.cleanup {
            Cleanup::SqliteDir | Cleanup::Replica => {}
            Cleanup::PostgresSchema { admin_url, schema } => {
                let _ = self.app.kv.purge_prefix().await;
                if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!(r#"DROP SCHEMA IF EXISTS "{schema}" CASCADE"#))
                        .await;
                    let _ = admin.close().await;
                }
            }
        }
    }

    async fn shutdown_server(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// A PostgreSQL URL whose connections use `schema` first.
pub fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

async fn ensure_redis_reachable(url: &str) -> anyhow::Result<()> {
    let kv = bistro_kv::Kv::connect_redis(url, &bistro_kv::KvConfig::default()).await?;
    kv.ping()
        .await
        .with_context(|| format!("{REDIS_URL_VAR} is set but Redis at {url} is unreachable"))?;
    Ok(())
}

/// Round trips reported in a response's `extensions.roundTrips`: `(sql, kv)`.
pub fn round_trips(body: &Value) -> (u64, u64) {
    let rt = &body["extensions"]["roundTrips"];
    (
        rt["sql"].as_u64().expect("extensions.roundTrips.sql"),
        rt["kv"].as_u64().expect("extensions.roundTrips.kv"),
    )
}

/// Key-value commands reported in a response's `extensions.roundTrips.kvCommands`
/// (a pipeline of ten commands is one round trip and ten commands).
pub fn kv_commands(body: &Value) -> u64 {
    body["extensions"]["roundTrips"]["kvCommands"]
        .as_u64()
        .expect("extensions.roundTrips.kvCommands")
}

/// Reads an operation from `tests/operations/<name>.graphql`.
pub fn operation(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("operations")
        .join(format!("{name}.graphql"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Error codes of a response, in order.
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("<none>")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until an operation waits at the simulated processor's pause `name`
/// in the relational store `db` (any process may be the one waiting).
///
/// # Panics
/// When nothing reaches the pause within a minute (the test is broken).
pub async fn wait_for_pause(db: &sea_orm::DatabaseConnection, name: &str) {
    for _ in 0..3_000 {
        if bistro_sql::simulated_ledger::pause(db, name)
            .await
            .unwrap()
            .as_deref()
            == Some("WAITING")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("nothing reached the pause {name:?}");
}

/// [`TestApp::assert_payments_match_ledger`] on the relational store `db`.
///
/// # Panics
/// When SQL and the ledger disagree.
pub async fn assert_payments_match_ledger(db: &sea_orm::DatabaseConnection) {
    use bistro_sql::entity::{order, payment};
    use sea_orm::EntityTrait;
    let ledger: std::collections::HashMap<String, String> =
        bistro_sql::simulated_ledger::states(db)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let orders: std::collections::HashMap<i64, order::Model> = order::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let mut owned = std::collections::HashSet::new();
    for payment in payment::Entity::find().all(db).await.unwrap() {
        let Some(reference) = payment.provider_reference.clone() else {
            continue;
        };
        if payment.provider != "simulated" {
            continue;
        }
        let expected = sea_orm::ActiveEnum::to_value(&payment.status);
        let order = &orders[&payment.order_id];
        assert_eq!(
            order.payment_status, payment.status,
            "order {} and its payment row disagree",
            order.id
        );
        assert!(
            order.pending_step_id.is_none(),
            "order {} is still going through a payment change",
            order.id
        );
        assert_eq!(
            ledger.get(&reference).map(String::as_str),
            Some(expected.as_str()),
            "order {}: SQL says {:?}, the processor {:?}",
            order.id,
            payment.status,
            ledger.get(&reference)
        );
        owned.insert(reference);
    }
    for (reference, state) in &ledger {
        assert!(
            owned.contains(reference) || state == "VOIDED",
            "the processor holds {reference} ({state}) for no order"
        );
    }
}

/// POSTs `query` with `variables` to `url` as the client at `address` when
/// given (`X-Forwarded-For`, believed where the server trusts 127.0.0.1 as a
/// proxy): the status and the body.
///
/// # Panics
/// When the server does not answer with JSON.
pub async fn post_from(
    client: &reqwest::Client,
    url: &str,
    address: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(json!({ "query": query, "variables": variables }).to_string());
    if let Some(address) = address {
        request = request.header("x-forwarded-for", address);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}
