//! GraphQL over HTTP, by the spec (graphql-over-http): `POST /graphql`
//! with JSON, `GET /graphql` for queries only.
//!
//! Our own handler instead of async-graphql-axum's extractor, because the
//! extractor accepts any content type as JSON, has no body limit, runs
//! mutations over GET and answers malformed input with Debug text
//! (TECH-NOTES §1.6). Here:
//!
//! - `Accept` is negotiated: `application/graphql-response+json` (preferred
//!   when listed) or `application/json` (also for `*/*` and a missing header);
//!   anything else is 406.
//! - A request names its document by `query` (its text), `documentId` (a
//!   trusted document, `sha256:<hex>`) or `extensions.persistedQuery`
//!   (automatic persisted queries); `bistro_schema::persisted` resolves it
//!   first, so every check below that needs the document (the GET mutation
//!   check, the router secret) sees it however it was named.
//! - A request that is not well-formed (bad JSON, no document, wrong
//!   parameter types, wrong content type or method, a body over the limit, a
//!   mutation over GET) is a 4xx with a GraphQL-shaped error and a code,
//!   under either media type.
//! - A well-formed request whose document fails to parse or validate is 200
//!   under `application/json` and 400 under `application/graphql-response+json`;
//!   either way the response has no `data` entry.
//! - With `federation.router_secret` set, a request that selects `_service`
//!   or `_entities` (the fields only a federation router uses) must carry the
//!   secret in `federation.router_secret_header`, else it is a 401 with
//!   `UNAUTHENTICATED` and nothing runs ([`check_router_secret`]).
//! - **HTTP caching.** Every response is `Cache-Control: private, no-store`
//!   and `Vary: Accept, Authorization` (set by `app`), except a query over
//!   GET from a caller without a token whose every field is public
//!   (`bistro_schema::cache_hints`) and that answered without an error:
//!   `Cache-Control: public, max-age=N` (N the smallest hint it met) with an
//!   `ETag`, and `304 Not Modified` to a matching `If-None-Match`.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bistro_schema::documents::Document;
use bistro_schema::persisted::{DocumentRef, Incoming};
use bistro_schema::{Caller, ErrorCode};
use serde_json::{Map, Value, json};

use crate::client_addr::ClientIp;
use crate::state::AppState;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// The media type a response is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            Self::Json => JSON,
        }
    }
}

/// `POST /graphql`.
pub async fn post(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let media = match negotiate(&headers) {
        Ok(media) => media,
        Err(response) => return response,
    };
    if let Err(response) = check_content_type(&headers, media) {
        return response;
    }
    let limit = state.config.http.body_limit_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large(media, limit);
    }
    let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => return too_large(media, limit),
    };
    let params: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(error) => {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                &format!("The body is not valid JSON: {error}."),
            );
        }
    };
    let Value::Object(params) = params else {
        return request_error(
            media,
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "The body must be a JSON object with a `query` (batches are not supported).",
        );
    };
    match build_request(params) {
        Ok(incoming) => execute(&state, client, &headers, incoming, media, false).await,
        Err(message) => request_error(
            media,
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            &message,
        ),
    }
}

/// `GET /graphql?query=…&operationName=…&variables=<JSON>&extensions=<JSON>`: queries only.
pub async fn get(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let media = match negotiate(&headers) {
        Ok(media) => media,
        Err(response) => return response,
    };
    let pairs: Vec<(String, String)> =
        match serde_urlencoded::from_str(raw.as_deref().unwrap_or("")) {
            Ok(pairs) => pairs,
            Err(_) => {
                return request_error(
                    media,
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    "The query string is malformed.",
                );
            }
        };
    let mut params = Map::new();
    for (key, value) in pairs {
        if params.contains_key(&key) {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                &format!("The parameter `{key}` is given more than once."),
            );
        }
        // `variables` and `extensions` travel as JSON text in a GET.
        let value = if key == "variables" || key == "extensions" {
            match serde_json::from_str(&value) {
                Ok(value) => value,
                Err(_) => {
                    return request_error(
                        media,
                        StatusCode::BAD_REQUEST,
                        ErrorCode::BadRequest,
                        &format!("The parameter `{key}` must be a JSON object."),
                    );
                }
            }
        } else {
            Value::String(value)
        };
        params.insert(key, value);
    }
    match build_request(params) {
        Ok(incoming) => execute(&state, client, &headers, incoming, media, true).await,
        Err(message) => request_error(
            media,
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            &message,
        ),
    }
}

/// Any other method on `/graphql`.
pub async fn method_not_allowed(headers: HeaderMap) -> Response {
    let media = negotiate(&headers).unwrap_or(MediaType::Json);
    let mut response = request_error(
        media,
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "Use POST (or GET for queries) on /graphql.",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

/// The bearer token of an `Authorization` header: `Ok(None)` without one,
/// `Err` for a header that is not `Bearer <token>`.
fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, ()> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    parse_bearer(value).map(Some).ok_or(())
}

/// The token of `Bearer <token>` (scheme in any case), as HTTP's
/// `Authorization` header and a WebSocket's `connection_init` carry it.
pub(crate) fn parse_bearer(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// 401 with the challenge RFC 6750 asks for.
fn unauthenticated(media: MediaType, message: &str) -> Response {
    let mut response = request_error(
        media,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
        message,
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer error="invalid_token""#),
    );
    response
}

/// Whether the request carries the federation router's shared secret (none
/// configured: no request does).
fn carries_router_secret(state: &AppState, headers: &HeaderMap) -> bool {
    let federation = &state.config.federation;
    federation.router_secret().is_some_and(|secret| {
        headers
            .get(federation.router_secret_header.as_str())
            .is_some_and(|presented| same_secret(presented.as_bytes(), secret.as_bytes()))
    })
}

/// Refuses a request that selects a router field (`_service`, `_entities`)
/// without the router's shared secret, when one is configured. The document
/// is the prepared request's (however the request named it).
#[allow(clippy::result_large_err)] // The error is the ready response; it is built once per refused request.
fn check_router_secret(
    state: &AppState,
    client: ClientIp,
    caller: &Caller,
    document: &Document,
    media: MediaType,
) -> Result<(), Response> {
    let federation = &state.config.federation;
    if federation.router_secret().is_none() || !document.selects_router_fields() || caller.router {
        return Ok(());
    }
    let header = federation.router_secret_header.as_str();
    // Worth an operator's look: a router without (or with a stale) secret,
    // or someone probing the subgraph directly.
    tracing::warn!(
        client.address = %client.0,
        header,
        "a request for _service or _entities without the router secret was refused"
    );
    let mut response = request_error(
        media,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
        &format!(
            "`_service` and `_entities` are for the federation router: send its shared secret in the `{header}` header."
        ),
    );
    // A 401 names how to authenticate (RFC 9110 §11.6.1): the secret's header.
    if let Ok(challenge) = HeaderValue::from_str(&format!("Router-Secret header=\"{header}\"")) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    Err(response)
}

/// Compares a presented secret with the configured one in time that does
/// not depend on where they differ (only on their lengths).
fn same_secret(presented: &[u8], secret: &[u8]) -> bool {
    presented.len() == secret.len()
        && presented
            .iter()
            .zip(secret)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// What a request came to before it is written.
enum Outcome {
    /// A GraphQL response; `Some(max_age)` when a shared cache may keep it.
    Graphql(async_graphql::Response, Option<u32>),
    /// An HTTP answer of its own (405, 401).
    Http(Response),
}

/// Runs a request in its span (traces on; see `telemetry::request_span`),
/// so that everything it logs carries its trace id.
async fn execute(
    state: &AppState,
    client: ClientIp,
    headers: &HeaderMap,
    incoming: Incoming,
    media: MediaType,
    get: bool,
) -> Response {
    let span = crate::telemetry::request_span(state.config.telemetry.enabled(), headers);
    let run = execute_in(state, client, headers, incoming, media, get);
    if span.is_disabled() {
        return run.await;
    }
    tracing::Instrument::instrument(run, span).await
}

async fn execute_in(
    state: &AppState,
    client: ClientIp,
    headers: &HeaderMap,
    incoming: Incoming,
    media: MediaType,
    get: bool,
) -> Response {
    let token = match bearer_token(headers) {
        Ok(token) => token,
        Err(()) => {
            return unauthenticated(
                media,
                "The Authorization header must be `Bearer <access token>`.",
            );
        }
    };
    let caller = Caller {
        token,
        address: Some(client.0),
        router: carries_router_secret(state, headers),
    };
    let timeout = state.config.request_timeout();
    let outcome = async {
        let prepared = match state.api.prepare(incoming, &caller, None).await {
            Ok(prepared) => prepared,
            Err(response) => return Outcome::Graphql(response, None),
        };
        crate::telemetry::name_request(
            state.config.telemetry.enabled(),
            prepared.operation_type(),
            prepared.operation_name(),
        );
        // GET must not change anything: refuse mutations (and subscriptions)
        // before execution, once the document is known however it was named.
        if get
            && let Some(kind) = prepared.operation_type()
            && kind != OperationType::Query
        {
            let mut response = request_error(
                media,
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "Only queries may be sent with GET; send mutations with POST.",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return Outcome::Http(response);
        }
        if let Err(response) =
            check_router_secret(state, client, &caller, prepared.document(), media)
        {
            return Outcome::Http(response);
        }
        // Shared caches may keep only what anyone would be answered: a
        // query over GET, from nobody signed in, whose fields are all public.
        let max_age = (get && caller.token.is_none() && prepared.is_anonymous())
            .then(|| prepared.public_max_age())
            .flatten();
        Outcome::Graphql(state.api.run(prepared).await, max_age)
    };
    let (response, max_age) = match tokio::time::timeout(timeout, outcome).await {
        Ok(Outcome::Graphql(response, max_age)) => (response, max_age),
        Ok(Outcome::Http(response)) => return response,
        Err(_) => {
            tracing::warn!(
                timeout_ms = timeout.as_millis() as u64,
                "graphql request timed out"
            );
            return request_error(
                media,
                StatusCode::GATEWAY_TIMEOUT,
                ErrorCode::Timeout,
                &format!("The request took longer than {}.", human(timeout)),
            );
        }
    };
    let request_failed = response.data == async_graphql::Value::Null && !response.errors.is_empty();
    if request_failed
        && state.config.telemetry.enabled()
        && let Some(error) = response.errors.first()
    {
        let code = error
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .map(ToString::to_string);
        crate::telemetry::request_failed(
            state.config.telemetry.enabled(),
            code.as_deref().unwrap_or("ERROR"),
        );
    }
    let request_code = |code: ErrorCode| {
        request_failed
            && response.errors.iter().any(|e| {
                e.extensions
                    .as_ref()
                    .and_then(|x| x.get("code"))
                    .is_some_and(|c| *c == async_graphql::Value::from(code.as_str()))
            })
    };
    if request_code(ErrorCode::Unauthenticated) {
        // The token was refused before execution: an HTTP authentication failure.
        let message = response
            .errors
            .first()
            .map_or("Unauthenticated.", |e| e.message.as_str());
        return unauthenticated(media, message);
    }
    // A request error means nothing was executed: there is no `data` entry.
    let status = if request_code(ErrorCode::RateLimited) {
        StatusCode::TOO_MANY_REQUESTS
    } else if request_failed {
        match media {
            MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
            MediaType::Json => StatusCode::OK,
        }
    } else {
        StatusCode::OK
    };
    // Serialised once, straight from the response.
    let body = ResponseBody {
        data: (!request_failed).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    // Sized from the last response: a page's buffer grew a dozen times from
    // empty, copying what it held each time.
    let mut bytes = Vec::with_capacity(RESPONSE_BYTES_HINT.load(Relaxed) + 512);
    let bytes = match serde_json::to_writer(&mut bytes, &body) {
        Ok(()) => {
            RESPONSE_BYTES_HINT.store(bytes.len().min(MAX_RESPONSE_BYTES_HINT), Relaxed);
            bytes
        }
        Err(error) => {
            tracing::error!(%error, "graphql response did not serialise");
            return request_error(
                media,
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "Internal server error",
            );
        }
    };
    // An answer with an error is never kept: the next one may succeed.
    if let Some(max_age) = max_age.filter(|_| response.errors.is_empty()) {
        return cacheable(headers, media, bytes, max_age);
    }
    let mut http = bytes_response(status, media, bytes);
    if status == StatusCode::TOO_MANY_REQUESTS {
        // Over the request budget: the time its window has left.
        let retry_after = response
            .errors
            .first()
            .and_then(|e| e.extensions.as_ref())
            .and_then(|x| x.get("retryAfterSeconds"))
            .map_or_else(|| "60".to_owned(), ToString::to_string);
        if let Ok(value) = HeaderValue::from_str(&retry_after) {
            http.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    http
}

/// A public answer: `Cache-Control: public, max-age=N`, an `ETag` of its
/// bytes, and `304 Not Modified` when `If-None-Match` names that tag.
fn cacheable(headers: &HeaderMap, media: MediaType, bytes: Vec<u8>, max_age: u32) -> Response {
    let etag = format!(
        "\"{}\"",
        &bistro_schema::persisted::sha256_hex_bytes(&bytes)[..32]
    );
    let not_modified = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*");
    let mut http = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes_response(StatusCode::OK, media, bytes)
    };
    let headers = http.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    http
}

/// The size of the last response written, the next one's starting buffer.
static RESPONSE_BYTES_HINT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The largest starting buffer (bigger answers grow theirs as before), so
/// that one large answer does not make every small one hold its size.
const MAX_RESPONSE_BYTES_HINT: usize = 128 * 1024;

/// A GraphQL response as written: `data` left out for a request error.
#[derive(serde::Serialize)]
struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// Checks the shape of the request parameters and builds the request: its
/// document named by `query`, `documentId` or `extensions.persistedQuery`.
pub(crate) fn build_request(mut params: Map<String, Value>) -> Result<Incoming, String> {
    let query = params.remove("query");
    let document_id = params.remove("documentId");
    let mut request = async_graphql::Request::new("");
    match params.remove("operationName") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => request = request.operation_name(name),
        Some(_) => return Err("`operationName` must be a string or null.".to_owned()),
    }
    match params.remove("variables") {
        None | Some(Value::Null) => {}
        Some(variables @ Value::Object(_)) => {
            request = request.variables(async_graphql::Variables::from_json(variables));
        }
        Some(_) => return Err("`variables` must be an object or null.".to_owned()),
    }
    let mut persisted_query = None;
    match params.remove("extensions") {
        None | Some(Value::Null) => {}
        Some(Value::Object(extensions)) => {
            for (key, value) in extensions {
                if key == "persistedQuery" {
                    persisted_query = Some(value);
                    continue;
                }
                let value = async_graphql::Value::from_json(value)
                    .map_err(|_| "`extensions` holds a value that is not JSON.".to_owned())?;
                request.extensions.insert(key, value);
            }
        }
        Some(_) => return Err("`extensions` must be an object or null.".to_owned()),
    }
    let document = DocumentRef::from_params(query, document_id, persisted_query.as_ref())?;
    if let DocumentRef::Text(text) = &document {
        request.query.clone_from(text);
    }
    Ok(Incoming { request, document })
}

/// Picks the response media type from `Accept`.
#[allow(clippy::result_large_err)] // The error is the ready response; it is built once per refused request.
fn negotiate(headers: &HeaderMap) -> Result<MediaType, Response> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(MediaType::Json);
    };
    let Ok(accept) = accept.to_str() else {
        return Err(not_acceptable());
    };
    if accept.trim().is_empty() {
        return Ok(MediaType::Json);
    }
    let mut best: Option<(f32, u8, MediaType)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        // Specificity breaks ties: the exact graphql-response type wins over plain JSON, both over wildcards.
        let candidate = match essence.as_str() {
            "application/graphql-response+json" => (3, MediaType::GraphqlResponseJson),
            "application/json" => (2, MediaType::Json),
            "application/*" | "*/*" => (1, MediaType::Json),
            _ => continue,
        };
        if q <= 0.0 {
            continue;
        }
        if best.is_none_or(|(bq, bs, _)| q > bq || (q == bq && candidate.0 > bs)) {
            best = Some((q, candidate.0, candidate.1));
        }
    }
    best.map(|(_, _, media)| media).ok_or_else(not_acceptable)
}

fn not_acceptable() -> Response {
    request_error(
        MediaType::Json,
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::NotAcceptable,
        "Accept application/graphql-response+json or application/json.",
    )
}

#[allow(clippy::result_large_err)] // The error is the ready response; it is built once per refused request.
fn check_content_type(headers: &HeaderMap, media: MediaType) -> Result<(), Response> {
    let unsupported = |message: &str| {
        request_error(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            message,
        )
    };
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(unsupported("Send the request body as application/json."));
    };
    let Ok(mime) = value.parse::<mime::Mime>() else {
        return Err(unsupported("The Content-Type header is malformed."));
    };
    if mime.essence_str() != "application/json" {
        return Err(unsupported("Send the request body as application/json."));
    }
    match mime.get_param(mime::CHARSET) {
        None => Ok(()),
        Some(charset) if charset.as_str().eq_ignore_ascii_case("utf-8") => Ok(()),
        Some(_) => Err(unsupported("The request body must be UTF-8.")),
    }
}

fn too_large(media: MediaType, limit: usize) -> Response {
    request_error(
        media,
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        &format!("The request body is larger than {limit} bytes."),
    )
}

/// A GraphQL-shaped error response for a request that was not executed.
fn request_error(media: MediaType, status: StatusCode, code: ErrorCode, message: &str) -> Response {
    json_response(
        status,
        media,
        &json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] }),
    )
}

fn json_response(status: StatusCode, media: MediaType, body: &Value) -> Response {
    bytes_response(
        status,
        media,
        serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
    )
}

fn bytes_response(status: StatusCode, media: MediaType, bytes: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, media.content_type())],
        bytes,
    )
        .into_response()
}

fn human(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Result<MediaType, StatusCode> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        negotiate(&headers).map_err(|r| r.status())
    }

    #[test]
    fn accept_negotiation_follows_the_spec() {
        assert_eq!(negotiate(&HeaderMap::new()).unwrap(), MediaType::Json);
        assert_eq!(accept("application/json"), Ok(MediaType::Json));
        assert_eq!(accept("*/*"), Ok(MediaType::Json));
        assert_eq!(
            accept("application/graphql-response+json"),
            Ok(MediaType::GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/json, application/graphql-response+json"),
            Ok(MediaType::GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/graphql-response+json;q=0.5, application/json"),
            Ok(MediaType::Json)
        );
        assert_eq!(accept("text/html"), Err(StatusCode::NOT_ACCEPTABLE));
        assert_eq!(
            accept("application/json;q=0"),
            Err(StatusCode::NOT_ACCEPTABLE)
        );
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"0123456789", b"0123456789"));
        assert!(!same_secret(b"0123456788", b"0123456789"));
        assert!(!same_secret(b"012345678", b"0123456789"));
        assert!(!same_secret(b"", b"0123456789"));
    }

    #[test]
    fn parameters_are_type_checked() {
        let req = |v: Value| build_request(v.as_object().unwrap().clone());
        assert!(req(json!({"query": "{a}"})).is_ok());
        assert!(
            req(
                json!({"query": "{a}", "operationName": null, "variables": null, "extensions": {}})
            )
            .is_ok()
        );
        assert!(req(json!({})).is_err());
        assert!(req(json!({"documentId": "sha256:0"})).is_err());
        assert!(req(json!({"extensions": {"persistedQuery": {"version": 1}}})).is_err());
        assert!(req(json!({"query": 1})).is_err());
        assert!(req(json!({"query": "{a}", "variables": "x"})).is_err());
        assert!(req(json!({"query": "{a}", "variables": []})).is_err());
        assert!(req(json!({"query": "{a}", "operationName": 3})).is_err());
        assert!(req(json!({"query": "{a}", "extensions": 1})).is_err());
    }
}
