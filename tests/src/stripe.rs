//! Stripe for the tests: localstripe (a stateful server that speaks Stripe's
//! API, PyPI `localstripe`), started once per test run, and a recording
//! proxy of each test's own between the server and it.
//!
//! localstripe runs when the suite is told where or how:
//! `BISTRO_TEST_STRIPE_URL` (`http://127.0.0.1:8420`: it is started there
//! unless something already answers there) and/or `BISTRO_TEST_LOCALSTRIPE`
//! (the `localstripe` command, e.g. the one of a virtual environment; else
//! `localstripe` on `PATH`, on a free port). With neither, the Stripe tests
//! say they did not run and pass, so `cargo test` needs nothing but Rust;
//! `.ci/run` sets both and a localstripe that cannot start fails the run.
//!
//! The [`RecordingProxy`] stands where `api.stripe.com` would:
//!
//! - it records every request Bistro sends (method, path, `Idempotency-Key`,
//!   `Stripe-Version`) and every answer, so tests check that every POST
//!   carries a key and the pinned version, and see which PaymentIntents
//!   were made through it;
//! - it answers a POST whose `Idempotency-Key` it has forwarded before with
//!   that first answer, as Stripe does and localstripe does not (localstripe
//!   ignores the header and would make a second PaymentIntent); a key reused
//!   with other parameters gets Stripe's `idempotency_error`;
//! - it injects what the network and Stripe do on a bad day: an answer held
//!   until released (the request reached Stripe, its answer did not reach
//!   Bistro), and 429 or 5xx answers without forwarding;
//! - it also forwards the webhooks localstripe sends to the server
//!   (`/webhooks/stripe`), recording what the server answered.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bistro_server::config::Config;
use bistro_sql::entity::{PaymentStatus, order, payment};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// Where to run localstripe (`http://127.0.0.1:8420`).
pub const STRIPE_URL_VAR: &str = "BISTRO_TEST_STRIPE_URL";
/// The `localstripe` command to run.
pub const LOCALSTRIPE_VAR: &str = "BISTRO_TEST_LOCALSTRIPE";

/// The secret key test servers use (localstripe takes any `sk_test_…`).
pub const SECRET_KEY: &str = "sk_test_bistro_suite";
/// The publishable key test servers hand the storefront.
pub const PUBLISHABLE_KEY: &str = "pk_test_bistro_suite";
/// The Stripe API version Bistro pins.
pub const API_VERSION: &str = bistro_payments::STRIPE_API_VERSION;

/// The shared localstripe's base URL, started on first use; `None` when the
/// suite was not told where or how to run it.
///
/// # Panics
/// When it was told, and localstripe does not answer within 30 seconds.
pub fn localstripe_url() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(start_localstripe).as_deref()
}

fn answers(url: &str) -> bool {
    let Some(addr) = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .and_then(|host| std::net::ToSocketAddrs::to_socket_addrs(host).ok())
        .and_then(|mut addrs| addrs.next())
    else {
        return false;
    };
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

fn start_localstripe() -> Option<String> {
    let url = std::env::var(STRIPE_URL_VAR).ok().filter(|v| !v.is_empty());
    let command = std::env::var(LOCALSTRIPE_VAR)
        .ok()
        .filter(|v| !v.is_empty());
    if url.is_none() && command.is_none() {
        return None;
    }
    let url = url.unwrap_or_else(|| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        format!("http://127.0.0.1:{port}")
    });
    let url = url.trim_end_matches('/').to_owned();
    if answers(&url) {
        // Already running there (a CI step, or another suite's).
        return Some(url);
    }
    let port = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("{STRIPE_URL_VAR}={url} has no port"));
    let command = command.unwrap_or_else(|| "localstripe".to_owned());
    // A watchdog shell: localstripe goes when this test process does.
    let script = r#"cmd="$1"; port="$2"; parent="$3"
"$cmd" --port "$port" --from-scratch >/dev/null 2>&1 &
child=$!
trap 'kill "$child" 2>/dev/null' EXIT
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done"#;
    // Kept for the process's life: the watchdog ends with this process.
    static WATCHDOG: OnceLock<Mutex<std::process::Child>> = OnceLock::new();
    let watchdog = Command::new("bash")
        .args(["-c", script, "localstripe-watchdog"])
        .arg(&command)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting localstripe ({command}): {e}"));
    let _ = WATCHDOG.set(Mutex::new(watchdog));
    for _ in 0..300 {
        if answers(&url) {
            return Some(url);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "localstripe ({command}) did not answer at {url} within 30 seconds; \
         install it (`python3 -m venv venv && venv/bin/pip install localstripe`) and set \
         {LOCALSTRIPE_VAR} to its command"
    );
}

/// Says that a Stripe test did not run, and why; `true` when it should.
pub fn available(test: &str) -> bool {
    if localstripe_url().is_some() {
        return true;
    }
    eprintln!(
        "{test}: not run: set {STRIPE_URL_VAR} or {LOCALSTRIPE_VAR} to test against localstripe"
    );
    false
}

/// One request the proxy saw, and what it answered.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, ….
    pub method: String,
    /// The path, e.g. `/v1/payment_intents`.
    pub path: String,
    /// Its `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// Its `Stripe-Version`.
    pub stripe_version: Option<String>,
    /// The status answered.
    pub status: u16,
    /// The body answered.
    pub body: Value,
    /// Whether it reached localstripe (not a replay or an injected failure).
    pub forwarded: bool,
}

/// What the proxy does to the next POST to a path.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answers this status without forwarding (429, 500, 503: Stripe
    /// rate-limiting or down before it did anything).
    Status(u16),
    /// Forwards it, records its answer (which a repeat of the key then
    /// gets), and holds the answer until [`RecordingProxy::release`]: the
    /// request reached Stripe, its answer is lost on the way back.
    Hold,
}

#[derive(Default)]
struct ProxyState {
    upstream: String,
    webhook_target: Mutex<Option<String>>,
    records: Mutex<Vec<Recorded>>,
    webhooks: Mutex<Vec<(Value, u16)>>,
    /// Forwarded POSTs by key: what was asked (hash of the form) and answered.
    replies: Mutex<HashMap<String, (String, u16, Bytes)>>,
    faults: Mutex<VecDeque<(String, Fault)>>,
    release: Notify,
    http: reqwest::Client,
}

/// A recording proxy in front of localstripe (see the module documentation).
pub struct RecordingProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn body_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn proxy(
    State(state): State<Arc<ProxyState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if path == "/webhooks/stripe" {
        return forward_webhook(&state, headers, body).await;
    }
    let key = header(&headers, "idempotency-key");
    let version = header(&headers, "stripe-version");
    let record = |status: u16, body: &Bytes, forwarded: bool| Recorded {
        method: method.to_string(),
        path: path.clone(),
        idempotency_key: key.clone(),
        stripe_version: version.clone(),
        status,
        body: body_json(body),
        forwarded,
    };
    let post = method == Method::POST;
    if post
        && let Some(key) = &key
        && let Some((asked, status, answer)) = state.replies.lock().unwrap().get(key).cloned()
    {
        // Stripe answers a repeated key with its first answer.
        let (status, answer) = if asked == format!("{path}?{}", String::from_utf8_lossy(&body)) {
            (status, answer)
        } else {
            (
                400,
                Bytes::from(
                    json!({ "error": { "type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used with the same parameters they were first used with." } })
                    .to_string(),
                ),
            )
        };
        state
            .records
            .lock()
            .unwrap()
            .push(record(status, &answer, false));
        return (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            [("content-type", "application/json")],
            answer,
        )
            .into_response();
    }
    let fault = if post {
        let mut faults = state.faults.lock().unwrap();
        faults
            .iter()
            .position(|(prefix, _)| path.starts_with(prefix.as_str()))
            .and_then(|at| faults.remove(at))
            .map(|(_, fault)| fault)
    } else {
        None
    };
    if let Some(Fault::Status(status)) = fault {
        let answer = Bytes::from(
            json!({ "error": { "type": "api_error", "message": "injected by the test" } })
                .to_string(),
        );
        state
            .records
            .lock()
            .unwrap()
            .push(record(status, &answer, false));
        return (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [("content-type", "application/json")],
            answer,
        )
            .into_response();
    }
    let mut request = state.http.request(
        method.clone(),
        format!(
            "{}{}",
            state.upstream,
            uri.path_and_query().map_or("", |p| p.as_str())
        ),
    );
    for name in ["authorization", "content-type", "stripe-version"] {
        if let Some(value) = header(&headers, name) {
            request = request.header(name, value);
        }
    }
    let Ok(answer) = request.body(body.clone()).send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status().as_u16();
    let answer = answer.bytes().await.unwrap_or_default();
    state
        .records
        .lock()
        .unwrap()
        .push(record(status, &answer, true));
    if post && let Some(key) = &key {
        state.replies.lock().unwrap().insert(
            key.clone(),
            (
                format!("{path}?{}", String::from_utf8_lossy(&body)),
                status,
                answer.clone(),
            ),
        );
    }
    if matches!(fault, Some(Fault::Hold)) {
        state.release.notified().await;
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [("content-type", "application/json")],
        answer,
    )
        .into_response()
}

async fn forward_webhook(state: &ProxyState, headers: HeaderMap, body: Bytes) -> Response {
    let target = state.webhook_target.lock().unwrap().clone();
    let Some(target) = target else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut request = state.http.post(target).body(body.clone());
    for name in ["content-type", "stripe-signature"] {
        if let Some(value) = header(&headers, name) {
            request = request.header(name, value);
        }
    }
    let status = match request.send().await {
        Ok(answer) => answer.status().as_u16(),
        Err(_) => 502,
    };
    state
        .webhooks
        .lock()
        .unwrap()
        .push((body_json(&body), status));
    StatusCode::from_u16(status)
        .unwrap_or(StatusCode::BAD_GATEWAY)
        .into_response()
}

impl RecordingProxy {
    /// A proxy in front of `upstream` (localstripe's base URL).
    pub async fn start(upstream: &str) -> Self {
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            ..ProxyState::default()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the proxy");
        let addr = listener.local_addr().expect("its address");
        let app = axum::Router::new()
            .fallback(proxy)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state, task }
    }

    /// Its base URL (what the server takes for `api.stripe.com`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request seen so far.
    pub fn records(&self) -> Vec<Recorded> {
        self.state.records.lock().unwrap().clone()
    }

    /// Applies `fault` to the next POST whose path starts with `path`.
    pub fn fault_next(&self, path: &str, fault: Fault) {
        self.state
            .faults
            .lock()
            .unwrap()
            .push_back((path.to_owned(), fault));
    }

    /// Lets every held answer go.
    pub fn release(&self) {
        self.state.release.notify_waiters();
    }

    /// Waits until `count` requests matching `matches` were seen (a minute at most).
    ///
    /// # Panics
    /// When they are not.
    pub async fn wait_for(&self, count: usize, matches: impl Fn(&Recorded) -> bool) {
        for _ in 0..3_000 {
            if self.records().iter().filter(|r| matches(r)).count() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the proxy did not see {count} such requests: {:#?}",
            self.records()
        );
    }

    /// The PaymentIntents localstripe made for requests through this proxy.
    pub fn created_intents(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .records()
            .into_iter()
            .filter(|r| r.forwarded && r.method == "POST" && r.path == "/v1/payment_intents")
            .filter_map(|r| r.body["id"].as_str().map(str::to_owned))
            .collect();
        ids.dedup();
        ids
    }

    /// Forwards the webhooks it receives at `/webhooks/stripe` to `target`.
    pub fn forward_webhooks_to(&self, target: String) {
        *self.state.webhook_target.lock().unwrap() = Some(target);
    }

    /// The webhooks forwarded so far: the event, and what the server answered.
    pub fn webhooks(&self) -> Vec<(Value, u16)> {
        self.state.webhooks.lock().unwrap().clone()
    }

    /// Asserts that every POST carried an `Idempotency-Key`, and every
    /// request the pinned `Stripe-Version`.
    ///
    /// # Panics
    /// When one did not.
    pub fn assert_keys_and_version(&self) {
        let records = self.records();
        assert!(!records.is_empty(), "nothing reached Stripe");
        for record in &records {
            if record.method == "POST" {
                assert!(
                    record
                        .idempotency_key
                        .as_deref()
                        .is_some_and(|key| !key.is_empty()),
                    "a POST without an Idempotency-Key: {record:?}"
                );
            }
            assert_eq!(
                record.stripe_version.as_deref(),
                Some(API_VERSION),
                "{record:?}"
            );
        }
    }
}

/// localstripe for one test: its proxy, the webhook secret, and what a
/// browser and the dashboard do at Stripe.
pub struct StripeHarness {
    /// The recording proxy the server talks to.
    pub proxy: RecordingProxy,
    /// localstripe itself.
    pub localstripe: String,
    /// The webhook signing secret the server is given.
    pub webhook_secret: String,
    http: reqwest::Client,
}

impl StripeHarness {
    /// A proxy of this test's own in front of the shared localstripe;
    /// `None` when localstripe is not configured ([`available`]).
    pub async fn start() -> Option<Self> {
        let localstripe = localstripe_url()?.to_owned();
        Some(Self {
            proxy: RecordingProxy::start(&localstripe).await,
            webhook_secret: format!("whsec_{}", crate::unique()),
            localstripe,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
        })
    }

    /// Points `config` at Stripe through the proxy.
    pub fn configure(&self, config: &mut Config) {
        let payments = &mut config.payments;
        payments.provider = "stripe".to_owned();
        payments.stripe_secret_key = SECRET_KEY.to_owned();
        payments.stripe_publishable_key = PUBLISHABLE_KEY.to_owned();
        payments.stripe_webhook_secret = self.webhook_secret.clone();
        payments.stripe_api_base = self.proxy.url();
        payments.stripe_js_url = format!("{}/js.stripe.com/v3/", self.localstripe);
        payments.stripe_timeout_ms = 10_000;
        payments.stripe_max_retries = 2;
    }

    /// The `BISTRO_*` variables that configure a server process the same way.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("BISTRO_PAYMENTS__PROVIDER", "stripe".to_owned()),
            ("BISTRO_PAYMENTS__STRIPE_SECRET_KEY", SECRET_KEY.to_owned()),
            (
                "BISTRO_PAYMENTS__STRIPE_PUBLISHABLE_KEY",
                PUBLISHABLE_KEY.to_owned(),
            ),
            (
                "BISTRO_PAYMENTS__STRIPE_WEBHOOK_SECRET",
                self.webhook_secret.clone(),
            ),
            ("BISTRO_PAYMENTS__STRIPE_API_BASE", self.proxy.url()),
            (
                "BISTRO_PAYMENTS__STRIPE_JS_URL",
                format!("{}/js.stripe.com/v3/", self.localstripe),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    async fn localstripe(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Value {
        let url = format!("{}{path}", self.localstripe);
        let request = if method == Method::GET {
            self.http.get(url).query(form)
        } else {
            self.http.request(method, url).form(form)
        };
        let answer = request
            .basic_auth(SECRET_KEY, None::<&str>)
            .send()
            .await
            .expect("localstripe answers");
        answer.json().await.expect("JSON from localstripe")
    }

    /// A PaymentMethod made from a card number, as Stripe.js makes one in the
    /// browser (Stripe's test numbers: 4242424242424242 approves,
    /// 4000002760003184 asks for 3-D Secure, 4000000000000341 is declined
    /// when charged).
    pub async fn payment_method(&self, number: &str) -> String {
        let made = self
            .localstripe(
                Method::POST,
                "/v1/payment_methods",
                &[
                    ("type", "card"),
                    ("card[number]", number),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", "2034"),
                    ("card[cvc]", "123"),
                ],
            )
            .await;
        made["id"].as_str().expect("a PaymentMethod").to_owned()
    }

    /// The PaymentIntent `id` with its latest charge, as localstripe holds it.
    pub async fn intent(&self, id: &str) -> Value {
        self.localstripe(
            Method::GET,
            &format!("/v1/payment_intents/{id}"),
            &[("expand[]", "latest_charge")],
        )
        .await
    }

    /// Completes (or fails) a PaymentIntent's 3-D Secure challenge, as
    /// Stripe.js does in the browser with the client secret.
    pub async fn authenticate(&self, id: &str, client_secret: &str, success: bool) -> Value {
        let answer = self
            .http
            .post(format!(
                "{}/v1/payment_intents/{id}/_authenticate?success={success}",
                self.localstripe
            ))
            .json(&json!({ "key": PUBLISHABLE_KEY, "client_secret": client_secret }))
            .send()
            .await
            .expect("localstripe answers");
        answer.json().await.expect("JSON from localstripe")
    }

    /// A refund made in Stripe's dashboard (all of it without an amount).
    pub async fn dashboard_refund(&self, intent: &str, amount: Option<i64>) -> Value {
        let amount = amount.map(|a| a.to_string());
        let mut form = vec![("payment_intent", intent)];
        if let Some(amount) = &amount {
            form.push(("amount", amount));
        }
        self.localstripe(Method::POST, "/v1/refunds", &form).await
    }

    /// An authorization cancelled in Stripe's dashboard.
    pub async fn dashboard_cancel(&self, intent: &str) -> Value {
        self.localstripe(
            Method::POST,
            &format!("/v1/payment_intents/{intent}/cancel"),
            &[],
        )
        .await
    }

    /// Registers a webhook endpoint at localstripe, signed with `secret`,
    /// delivering through the proxy to `target`.
    pub async fn register_webhook(&self, target: String, secret: &str) {
        self.proxy.forward_webhooks_to(target);
        let id = crate::unique();
        let answer = self
            .http
            .post(format!("{}/_config/webhooks/{id}", self.localstripe))
            .form(&[
                ("url", format!("{}/webhooks/stripe", self.proxy.url())),
                ("secret", secret.to_owned()),
            ])
            .send()
            .await
            .expect("localstripe answers");
        assert!(answer.status().is_success(), "registering a webhook");
    }

    /// An event of `kind` about `object`, as Stripe sends it: its body and
    /// its `Stripe-Signature` at `time` under `secret`.
    pub fn event(kind: &str, object: &Value, secret: &str, time: i64) -> (String, String) {
        let body = json!({
            "id": format!("evt_{}", crate::unique()),
            "object": "event",
            "api_version": API_VERSION,
            "created": time,
            "type": kind,
            "livemode": false,
            "data": { "object": object },
        })
        .to_string();
        let signature = bistro_payments::webhook::sign(body.as_bytes(), secret, time);
        (body, signature)
    }

    /// Posts a signed event to the server at `url` (its `/webhooks/stripe`);
    /// returns the status and the body.
    pub async fn deliver(&self, url: &str, body: &str, signature: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        let answer = request.send().await.expect("the server answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// Signs and posts an event about `object` to the server at `url` with
    /// the server's secret, now.
    pub async fn send_event(&self, url: &str, kind: &str, object: &Value) -> (u16, Value) {
        let (body, signature) = Self::event(
            kind,
            object,
            &self.webhook_secret,
            chrono::Utc::now().timestamp(),
        );
        self.deliver(url, &body, Some(&signature)).await
    }

    /// Asserts the invariant against Stripe: every order's payment status in
    /// SQL is the state of its PaymentIntent at localstripe (and the amount
    /// refunded is the charge's), and every PaymentIntent made through this
    /// test's proxy that belongs to no order holds no money. localstripe
    /// keeps no disputes, so a `DISPUTED` payment is one it shows captured.
    /// Call it once the system is quiet.
    ///
    /// # Panics
    /// When SQL and Stripe disagree.
    pub async fn assert_payments_match_stripe(&self, db: &DatabaseConnection) {
        let orders: HashMap<i64, order::Model> = order::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        let mut owned = std::collections::HashSet::new();
        for paid in payment::Entity::find().all(db).await.unwrap() {
            if paid.provider != "stripe" {
                continue;
            }
            let reference = paid.provider_reference.clone().expect("a reference");
            let order = &orders[&paid.order_id];
            assert_eq!(order.payment_status, paid.status, "order {}", order.id);
            assert!(
                order.pending_step_id.is_none(),
                "order {} is still going through a payment change",
                order.id
            );
            let intent = self.intent(&reference).await;
            let charge = &intent["latest_charge"];
            let refunded = charge["amount_refunded"].as_i64().unwrap_or(0);
            let expected = match (intent["status"].as_str().unwrap_or(""), refunded) {
                ("requires_capture", _) => vec![PaymentStatus::Authorized],
                ("canceled", _) => vec![PaymentStatus::Voided],
                ("succeeded", 0) => vec![PaymentStatus::Captured, PaymentStatus::Disputed],
                ("succeeded", r) if r >= paid.amount => vec![PaymentStatus::Refunded],
                ("succeeded", _) => vec![PaymentStatus::PartiallyRefunded, PaymentStatus::Disputed],
                (other, _) => panic!("order {}: Stripe says {other}: {intent:#}", order.id),
            };
            assert!(
                expected.contains(&paid.status),
                "order {}: SQL says {:?}, Stripe {} (refunded {refunded})",
                order.id,
                paid.status,
                intent["status"]
            );
            assert_eq!(paid.amount_refunded, refunded, "order {}", order.id);
            owned.insert(reference);
        }
        let awaiting: Vec<String> = bistro_sql::steps::all(db)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.lease_owner == bistro_sql::steps::AWAITING_CUSTOMER)
            .filter_map(|s| s.provider_reference)
            .collect();
        for id in self.proxy.created_intents() {
            if owned.contains(&id) {
                continue;
            }
            let intent = self.intent(&id).await;
            let status = intent["status"].as_str().unwrap_or("");
            let waits = status == "requires_action" && awaiting.contains(&id);
            assert!(
                status == "canceled" || status == "requires_payment_method" || waits,
                "Stripe holds {id} ({status}) for no order"
            );
        }
    }
}
