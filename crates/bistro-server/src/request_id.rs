//! `X-Request-Id`: every response carries one, and so does the request's log
//! span. A client's (or a proxy's) own id is kept when it is well formed and
//! short, so one id follows a request through the router, the proxy and
//! Bistro; otherwise a new one is made.

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

/// The header.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a request.
pub const MAX_LEN: usize = 64;

/// Whether a request's id is kept: 1 to [`MAX_LEN`] characters of letters,
/// digits, `-`, `_`, `.` (what UUIDs and tracing ids are made of; anything
/// else could smuggle text into logs).
pub fn well_formed(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A new id: 128 random bits in hex.
fn generated() -> HeaderValue {
    HeaderValue::from_str(&format!("{:032x}", fastrand::u128(..)))
        .expect("hex digits are a valid header value")
}

/// Takes the request's id or makes one, and echoes it on the response.
pub async fn echo(mut request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let id = match request.headers().get(&HEADER) {
        Some(value) if well_formed(value) => value.clone(),
        _ => generated(),
    };
    request.headers_mut().insert(HEADER, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(HEADER, id);
    response
}

/// The log span of a request: method, path (never the query, which may carry
/// a document's variables) and its id.
pub fn span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = id,
    )
}
