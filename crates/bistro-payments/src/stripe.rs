//! Stripe as the card processor: a small typed client over Stripe's HTTP
//! API (form-encoded requests, JSON answers) and the [`PaymentProvider`]
//! it implements with PaymentIntents and manual capture.
//!
//! | provider call | Stripe |
//! |---|---|
//! | `authorize` | `POST /v1/payment_intents` with the amount, the currency, `capture_method=manual`, `confirm=true` and the customer's PaymentMethod: `requires_capture` is an authorization, `requires_action` waits for the card holder (3-D Secure), a `card_error` is a decline |
//! | `resume_authorization` | `GET /v1/payment_intents/{id}`: what came of the challenge |
//! | `operate(Capture)` | `POST /v1/payment_intents/{id}/capture` |
//! | `operate(Void)` | `POST /v1/payment_intents/{id}/cancel` |
//! | `operate(Refund)` | `GET` the PaymentIntent, then `POST /v1/refunds` with `payment_intent={id}` and the `amount` left of it (part may have been refunded from the dashboard) |
//! | `state`, `snapshot` | `GET /v1/payment_intents/{id}?expand[]=latest_charge` |
//!
//! Every request names the API version it was written against
//! ([`STRIPE_API_VERSION`]), so a change of the account's default version
//! in the dashboard changes nothing here. Every POST carries the caller's
//! idempotency key as `Idempotency-Key`: Stripe answers a repeated key with
//! its first answer, so a retry after a lost response never authorizes,
//! captures or refunds twice.
//!
//! Retries follow Stripe's advice (its "Error handling" and "Idempotent
//! requests" guides, and what its own libraries do): a request that got no
//! answer (a timeout, a refused connection), or was answered 409 (a
//! concurrent request with the same key), 429 (rate limited) or 5xx, is
//! sent again with the same key after an exponential backoff with jitter
//! (half a second, doubling, at most 5 s), at most `max_retries` times; a
//! `Stripe-Should-Retry` header overrides that choice either way. What is
//! still unanswered after the last retry is an unknown outcome
//! (`PaymentError::Unavailable`): the caller leaves its pending step for
//! recovery, which asks Stripe by the PaymentIntent's id. Amounts are
//! integer minor units in both directions, never floats.

use std::fmt;
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::{
    Authorization, AuthorizeRequest, Operation, PaymentError, PaymentProvider, PaymentSnapshot,
    ProviderState, Result,
};

/// The Stripe API version every request is pinned to (`Stripe-Version`):
/// PaymentIntents with `latest_charge` (expandable), `payment_method_types`,
/// charges with `amount_refunded` and `disputed`. Webhook payloads follow
/// the version of their endpoint (set when it is registered); Bistro reads
/// only fields that every version since 2022-11-15 has.
pub const STRIPE_API_VERSION: &str = "2024-06-20";

/// Longest wait between two attempts of a request.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How to reach Stripe.
#[derive(Clone)]
pub struct StripeSettings {
    /// The secret API key (`sk_live_…`, `sk_test_…`).
    pub secret_key: String,
    /// The API's base URL: `https://api.stripe.com`, or a stand-in's (tests).
    pub api_base: String,
    /// Longest wait for one attempt's answer.
    pub timeout: Duration,
    /// Attempts after the first for a request that got no usable answer.
    pub max_retries: u32,
    /// The first backoff (it doubles with each retry).
    pub retry_base: Duration,
}

impl fmt::Debug for StripeSettings {
    // The key never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeSettings")
            .field("secret_key", &"<redacted>")
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("retry_base", &self.retry_base)
            .finish()
    }
}

/// Stripe as Bistro's [`PaymentProvider`]. See the module documentation.
pub struct StripeProcessor {
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    settings: StripeSettings,
}

impl fmt::Debug for StripeProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeProcessor")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why a call to Stripe did not return an object.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CallError {
    /// Stripe answered with an error that asking again does not change.
    Api(Box<ApiError>),
    /// No usable answer after every attempt: the outcome is unknown.
    Unavailable(String),
}

/// Stripe's error object (`{"error": {...}}`) and the status it came with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ApiError {
    status: u16,
    kind: String,
    code: Option<String>,
    decline_code: Option<String>,
    param: Option<String>,
    message: String,
    payment_intent: Option<String>,
}

impl ApiError {
    fn parse(status: u16, body: &[u8]) -> Self {
        let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let error = &value["error"];
        let text = |field: &str| error[field].as_str().map(str::to_owned);
        Self {
            status,
            kind: text("type").unwrap_or_default(),
            code: text("code"),
            decline_code: text("decline_code"),
            param: text("param"),
            message: text("message").unwrap_or_default(),
            payment_intent: error["payment_intent"]["id"].as_str().map(str::to_owned),
        }
    }

    /// The provider's error for it: a decline for a card error, a refusal otherwise.
    fn into_payment_error(self) -> PaymentError {
        let card_error = self.status == 402 || self.kind == "card_error";
        if card_error {
            return PaymentError::Declined {
                code: self
                    .decline_code
                    .or(self.code)
                    .unwrap_or_else(|| "card_declined".into()),
            };
        }
        if self.param.as_deref() == Some("payment_method") {
            // A PaymentMethod Stripe does not know: the token is not one.
            return PaymentError::Declined {
                code: "invalid_token".into(),
            };
        }
        PaymentError::Failed {
            code: self
                .code
                .unwrap_or_else(|| format!("stripe_{}", self.status)),
        }
    }
}

impl From<CallError> for PaymentError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Api(error) => (*error).into_payment_error(),
            CallError::Unavailable(code) => PaymentError::Unavailable { code },
        }
    }
}

/// Whether `reference` can be a Stripe object id (it goes into a URL path).
fn is_object_id(reference: &str) -> bool {
    !reference.is_empty()
        && reference.len() <= 255
        && reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The backoff before retry `attempt` (0 for the first retry): the base
/// doubled per attempt, at most [`MAX_BACKOFF`], times a random factor in
/// [0.5, 1) so that clients that failed together do not retry together.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let doubled = base.saturating_mul(2u32.saturating_pow(attempt.min(16)));
    doubled
        .min(MAX_BACKOFF)
        .mul_f64(0.5 + fastrand::f64() / 2.0)
}

impl StripeProcessor {
    /// A client of the Stripe API at `settings.api_base`. HTTPS goes through
    /// rustls with the ring provider and the Mozilla roots built in
    /// (webpki-roots), as the SMTP client's does: no system certificate store
    /// or C toolchain is needed. Connections are kept and reused.
    pub fn new(settings: StripeSettings) -> std::result::Result<Self, String> {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        // https:// goes through TLS below; http:// only where the settings
        // allow it (a local stand-in in development and tests).
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(settings.timeout.min(Duration::from_secs(10))));
        tcp.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        Ok(Self { http, settings })
    }

    /// Sends one request and reads its answer within the timeout.
    async fn send(
        &self,
        request: hyper::Request<Full<Bytes>>,
    ) -> std::result::Result<(StatusCode, hyper::HeaderMap, Bytes), &'static str> {
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|_| "connection_failed")?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|_| "connection_failed")?
                .to_bytes();
            Ok((parts.status, parts.headers, body))
        };
        tokio::time::timeout(self.settings.timeout, exchange)
            .await
            .unwrap_or(Err("timeout"))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.api_base.trim_end_matches('/'))
    }

    /// `POST path` with `params`, form-encoded, under `idempotency_key`.
    async fn post(
        &self,
        path: &str,
        params: &[(&str, String)],
        idempotency_key: &str,
    ) -> std::result::Result<Value, CallError> {
        self.call(Method::POST, path, params, Some(idempotency_key))
            .await
    }

    /// `GET path?params`.
    async fn get(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> std::result::Result<Value, CallError> {
        self.call(Method::GET, path, params, None).await
    }

    /// The request of one attempt.
    fn request(
        &self,
        method: &Method,
        url: &str,
        form: &str,
        idempotency_key: Option<&str>,
    ) -> std::result::Result<hyper::Request<Full<Bytes>>, CallError> {
        let uri = if *method == Method::GET && !form.is_empty() {
            format!("{url}?{form}")
        } else {
            url.to_owned()
        };
        let mut builder = hyper::Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.settings.secret_key),
            )
            .header("Stripe-Version", STRIPE_API_VERSION)
            .header(
                header::USER_AGENT,
                HeaderValue::from_static(concat!("bistro/", env!("CARGO_PKG_VERSION"))),
            );
        if let Some(key) = idempotency_key {
            builder = builder.header("Idempotency-Key", key);
        }
        let body = if *method == Method::GET {
            Bytes::new()
        } else {
            builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Bytes::from(form.to_owned())
        };
        builder.body(Full::new(body)).map_err(|error| {
            // A key or URL that is no valid header or URI: `validate` keeps them out.
            tracing::error!(%error, "a request to Stripe cannot be built");
            CallError::Api(Box::new(ApiError {
                status: 400,
                code: Some("invalid_request".into()),
                ..ApiError::default()
            }))
        })
    }

    /// One request, retried as the module documentation says.
    async fn call(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, String)],
        idempotency_key: Option<&str>,
    ) -> std::result::Result<Value, CallError> {
        let url = self.url(path);
        let form = serde_urlencoded::to_string(params).unwrap_or_default();
        let mut attempt: u32 = 0;
        loop {
            let request = self.request(&method, &url, &form, idempotency_key)?;
            // `(code, wait)`: worth another attempt.
            let retry: (String, Option<Duration>) = match self.send(request).await {
                Err(code) => (code.to_owned(), None),
                Ok((status, headers, body)) => {
                    if status.is_success() {
                        return serde_json::from_slice(&body).map_err(|_| {
                            tracing::error!(path, "Stripe answered with a body that is not JSON");
                            CallError::Unavailable("invalid_response".into())
                        });
                    }
                    let should_retry = headers
                        .get("stripe-should-retry")
                        .and_then(|v| v.to_str().ok())
                        .map(|v| v == "true");
                    let retry_after = headers
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let code = status.as_u16();
                    let retryable = should_retry
                        .unwrap_or(code == 409 || code == 429 || status.is_server_error());
                    if !retryable {
                        if status.is_server_error() {
                            // Stripe: the result of a 5xx is indeterminate.
                            return Err(CallError::Unavailable(format!("stripe_{code}")));
                        }
                        return Err(CallError::Api(Box::new(ApiError::parse(code, &body))));
                    }
                    let name = match code {
                        429 => "rate_limited".to_owned(),
                        409 => "conflict".to_owned(),
                        _ => format!("stripe_{code}"),
                    };
                    (name, retry_after)
                }
            };
            let (code, retry_after) = retry;
            if attempt >= self.settings.max_retries {
                tracing::warn!(
                    path,
                    code,
                    attempts = attempt + 1,
                    "Stripe gave no usable answer; the outcome is unknown"
                );
                return Err(CallError::Unavailable(code));
            }
            let wait = retry_after
                .map(|after| after.min(MAX_BACKOFF))
                .unwrap_or_else(|| backoff(self.settings.retry_base, attempt));
            tracing::info!(
                path,
                code,
                attempt = attempt + 1,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "Stripe gave no usable answer; retrying with the same idempotency key"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// The PaymentIntent `reference` with its latest charge.
    async fn payment_intent(&self, reference: &str) -> Result<Value> {
        if !is_object_id(reference) {
            return Err(PaymentError::Failed {
                code: "resource_missing".into(),
            });
        }
        Ok(self
            .get(
                &format!("/v1/payment_intents/{reference}"),
                &[("expand[]", "latest_charge".to_owned())],
            )
            .await?)
    }
}

/// What a PaymentIntent's status means for an authorization.
fn authorization_of(intent: &Value) -> Result<Authorization> {
    let reference = intent["id"].as_str().unwrap_or_default().to_owned();
    let status = intent["status"].as_str().unwrap_or_default();
    match status {
        // `succeeded` only if something captured it already: the money is held either way.
        "requires_capture" | "succeeded" => Ok(Authorization { reference }),
        "requires_action" => Err(PaymentError::ActionRequired {
            reference,
            client_secret: intent["client_secret"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }),
        "requires_payment_method" | "canceled" => {
            let error = &intent["last_payment_error"];
            let code = error["decline_code"]
                .as_str()
                .or_else(|| error["code"].as_str())
                .unwrap_or(if status == "canceled" {
                    "canceled"
                } else {
                    "card_declined"
                });
            tracing::info!(
                payment_intent = reference,
                decline_code = code,
                "Stripe declined the card"
            );
            Err(PaymentError::Declined { code: code.into() })
        }
        other => Err(PaymentError::Unavailable {
            code: format!("status_{other}"),
        }),
    }
}

/// Where a PaymentIntent (with its latest charge expanded) stands.
fn snapshot_of(intent: &Value) -> PaymentSnapshot {
    let charge = &intent["latest_charge"];
    let refunded = charge["amount_refunded"].as_i64();
    let state = match intent["status"].as_str().unwrap_or_default() {
        "requires_capture" => ProviderState::Authorized,
        "canceled" => ProviderState::Voided,
        "succeeded" => {
            let amount = charge["amount"]
                .as_i64()
                .or_else(|| intent["amount"].as_i64())
                .unwrap_or_default();
            if charge["disputed"].as_bool() == Some(true) {
                ProviderState::Disputed
            } else {
                match refunded.unwrap_or(0) {
                    0 => ProviderState::Captured,
                    r if r >= amount => ProviderState::Refunded,
                    _ => ProviderState::PartiallyRefunded,
                }
            }
        }
        "requires_payment_method" => ProviderState::NotAuthorized,
        _ => ProviderState::Pending,
    };
    PaymentSnapshot {
        state,
        amount_refunded: refunded,
    }
}

impl PaymentProvider for StripeProcessor {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn authorize(&self, request: AuthorizeRequest) -> BoxFuture<'_, Result<Authorization>> {
        async move {
            let payment_method =
                request.token.starts_with("pm_") || request.token.starts_with("card_");
            if !payment_method || !is_object_id(&request.token) {
                // Not a PaymentMethod id (or a card's, which Stripe takes as
                // one): no card number ever reaches Bistro.
                return Err(PaymentError::Declined {
                    code: "invalid_token".into(),
                });
            }
            let params = [
                ("amount", request.amount.to_string()),
                ("currency", request.currency_code.to_ascii_lowercase()),
                ("capture_method", "manual".to_owned()),
                ("confirm", "true".to_owned()),
                ("payment_method", request.token.clone()),
                ("payment_method_types[]", "card".to_owned()),
                ("metadata[bistro_checkout]", request.idempotency_key.clone()),
            ];
            match self
                .post("/v1/payment_intents", &params, &request.idempotency_key)
                .await
            {
                Ok(intent) => authorization_of(&intent),
                Err(CallError::Api(error)) => {
                    if error.status == 402 || error.kind == "card_error" {
                        tracing::info!(
                            payment_intent = error.payment_intent.as_deref().unwrap_or(""),
                            code = error.code.as_deref().unwrap_or(""),
                            decline_code = error.decline_code.as_deref().unwrap_or(""),
                            "Stripe declined the card"
                        );
                    }
                    Err((*error).into_payment_error())
                }
                Err(error) => Err(error.into()),
            }
        }
        .boxed()
    }

    fn resume_authorization<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Authorization>> {
        async move { authorization_of(&self.payment_intent(reference).await?) }.boxed()
    }

    fn operate<'a>(
        &'a self,
        operation: Operation,
        reference: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        async move {
            if !is_object_id(reference) {
                return Err(PaymentError::Failed {
                    code: "resource_missing".into(),
                });
            }
            let answer = match operation {
                Operation::Capture => {
                    self.post(
                        &format!("/v1/payment_intents/{reference}/capture"),
                        &[],
                        idempotency_key,
                    )
                    .await
                }
                Operation::Void => {
                    self.post(
                        &format!("/v1/payment_intents/{reference}/cancel"),
                        &[],
                        idempotency_key,
                    )
                    .await
                }
                Operation::Refund => {
                    // What is left of it, named: part of it may have been
                    // refunded from the dashboard already (and not every
                    // server that speaks Stripe's API defaults to the rest).
                    let intent = self.payment_intent(reference).await?;
                    let charge = &intent["latest_charge"];
                    let left = charge["amount"].as_i64().unwrap_or_default()
                        - charge["amount_refunded"].as_i64().unwrap_or_default();
                    if intent["status"] == "succeeded" && left <= 0 {
                        // Given back in full already: nothing moves.
                        return Ok(());
                    }
                    let mut params = vec![("payment_intent", reference.to_owned())];
                    if left > 0 {
                        params.push(("amount", left.to_string()));
                    }
                    self.post("/v1/refunds", &params, idempotency_key).await
                }
            };
            match answer {
                Ok(_) => Ok(()),
                Err(error) => {
                    let error = PaymentError::from(error);
                    tracing::warn!(
                        payment_intent = reference,
                        operation = operation.name(),
                        code = error.code(),
                        "Stripe did not {} the payment",
                        operation.name()
                    );
                    Err(error)
                }
            }
        }
        .boxed()
    }

    fn state<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<ProviderState>> {
        async move { Ok(self.snapshot(reference).await?.state) }.boxed()
    }

    fn snapshot<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<PaymentSnapshot>> {
        async move { Ok(snapshot_of(&self.payment_intent(reference).await?)) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payment_intent_statuses_map_to_authorizations() {
        let intent = |status: &str| json!({ "id": "pi_1", "status": status, "client_secret": "pi_1_secret_x" });
        assert_eq!(
            authorization_of(&intent("requires_capture")),
            Ok(Authorization {
                reference: "pi_1".into()
            })
        );
        assert_eq!(
            authorization_of(&intent("requires_action")),
            Err(PaymentError::ActionRequired {
                reference: "pi_1".into(),
                client_secret: "pi_1_secret_x".into()
            })
        );
        assert_eq!(
            authorization_of(&intent("requires_payment_method")),
            Err(PaymentError::Declined {
                code: "card_declined".into()
            })
        );
        let failed = json!({ "id": "pi_1", "status": "requires_payment_method",
            "last_payment_error": { "code": "payment_intent_authentication_failure" } });
        assert_eq!(
            authorization_of(&failed),
            Err(PaymentError::Declined {
                code: "payment_intent_authentication_failure".into()
            })
        );
        assert!(matches!(
            authorization_of(&intent("processing")),
            Err(PaymentError::Unavailable { .. })
        ));
    }

    #[test]
    fn snapshots_tell_partial_and_full_refunds_and_disputes_apart() {
        let intent = |status: &str, refunded: i64, disputed: bool| {
            json!({ "id": "pi_1", "status": status, "amount": 1000,
                "latest_charge": { "amount": 1000, "amount_refunded": refunded, "disputed": disputed } })
        };
        let state = |v: Value| snapshot_of(&v).state;
        assert_eq!(
            state(intent("requires_capture", 0, false)),
            ProviderState::Authorized
        );
        assert_eq!(
            state(intent("succeeded", 0, false)),
            ProviderState::Captured
        );
        assert_eq!(
            state(intent("succeeded", 300, false)),
            ProviderState::PartiallyRefunded
        );
        assert_eq!(
            state(intent("succeeded", 1000, false)),
            ProviderState::Refunded
        );
        assert_eq!(state(intent("succeeded", 0, true)), ProviderState::Disputed);
        assert_eq!(state(intent("canceled", 0, false)), ProviderState::Voided);
        assert_eq!(
            state(intent("requires_action", 0, false)),
            ProviderState::Pending
        );
        assert_eq!(
            snapshot_of(&intent("succeeded", 300, false)).amount_refunded,
            Some(300)
        );
    }

    #[test]
    fn card_errors_are_declines_with_the_decline_code_and_the_rest_refusals() {
        let declined = ApiError::parse(
            402,
            br#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","payment_intent":{"id":"pi_9"}}}"#,
        );
        assert_eq!(declined.payment_intent.as_deref(), Some("pi_9"));
        assert_eq!(
            declined.into_payment_error(),
            PaymentError::Declined {
                code: "insufficient_funds".into()
            }
        );
        let state = ApiError::parse(
            400,
            br#"{"error":{"type":"invalid_request_error","code":"payment_intent_unexpected_state"}}"#,
        );
        assert_eq!(
            state.into_payment_error(),
            PaymentError::Failed {
                code: "payment_intent_unexpected_state".into()
            }
        );
        let unknown_method = ApiError::parse(
            400,
            br#"{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_method"}}"#,
        );
        assert_eq!(
            unknown_method.into_payment_error(),
            PaymentError::Declined {
                code: "invalid_token".into()
            }
        );
        assert_eq!(
            ApiError::parse(401, b"not json").into_payment_error(),
            PaymentError::Failed {
                code: "stripe_401".into()
            }
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_a_bound() {
        let base = Duration::from_millis(500);
        for attempt in 0..10 {
            let wait = backoff(base, attempt);
            let full = base.saturating_mul(1 << attempt).min(MAX_BACKOFF);
            assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
        }
    }

    #[test]
    fn only_object_ids_go_into_paths() {
        assert!(is_object_id("pi_3Mtw"));
        assert!(!is_object_id("pi_1/../charges"));
        assert!(!is_object_id(""));
        assert!(!is_object_id("pi 1"));
    }

    #[test]
    fn the_secret_key_never_reaches_a_log() {
        let settings = StripeSettings {
            secret_key: "sk_test_very_secret".into(),
            api_base: "https://api.stripe.com".into(),
            timeout: Duration::from_secs(1),
            max_retries: 0,
            retry_base: Duration::from_millis(1),
        };
        assert!(!format!("{settings:?}").contains("very_secret"));
    }
}
