//! The storefront: the web page customers and staff use, served at `/`.
//!
//! Its sources are `storefront/` at the top of the repository (TypeScript,
//! typed GraphQL operations); `npm run build` there writes the bundle into
//! `assets/storefront/`, which is committed and embedded here with
//! rust-embed exactly as the vendored GraphiQL is (`graphiql.rs` explains
//! release and debug builds), so `cargo run` needs nothing but the Rust
//! toolchain. CI builds the bundle again and fails when it differs.
//!
//! | request | answer |
//! |---|---|
//! | `GET /` and every path under the storefront's own routes ([`ROUTES`]: `/restaurants/…`, `/orders/…`, …) | `index.html`: the client-side router shows the page. `Cache-Control: no-cache` with an `ETag`, so a new build is seen at once and an unchanged page costs a `304` |
//! | `GET /assets/<name>-<hash>.js` / `.css` | the file: its name changes with its content, so `Cache-Control: public, max-age=31536000, immutable` |
//! | `/assets/` names that do not exist | `404` (never `index.html`: a stale page asking for an old script must fail visibly) |
//! | anything else (`/graphql`, `/graphql/ws`, `/graphiql`, `/health/*`, `/favicon.ico`, …) | not routed here: their own handlers, or `404` |
//!
//! Every file is stored three times, as built, gzip (`.gz`) and brotli
//! (`.br`), compressed at build time at the highest levels; the answer is
//! the smallest one the request's `Accept-Encoding` allows (brotli, then
//! gzip, then none), with `Content-Encoding` and `Vary: Accept-Encoding`.
//! Each stored variant has its own `ETag` (its SHA-256, from rust-embed), as
//! a strong validator must differ between encodings.
//!
//! # Content-Security-Policy
//!
//! `index.html` is sent with a policy that allows only this server:
//! `default-src 'none'`; script, style sheet, fetches from `'self'`;
//! `connect-src` also names the page's own WebSocket origin, `ws://` and
//! `wss://` (the same reasoning as GraphiQL's, in `graphiql.rs`); images
//! from `'self'` and `data:` (the page's empty `data:` favicon, which spares
//! the browser a request for `/favicon.ico`); forms post only to `'self'`;
//! no `<base>`, no framing (`frame-ancestors 'none'`, `X-Frame-Options`).
//! No inline script or style: the page has none. With the simulated
//! processor nothing is fetched from the internet: the bundle holds every
//! script it runs.
//!
//! With Stripe (`payments.provider = "stripe"`), and only then, the page
//! takes the card with Stripe Elements, so the policy also allows the origin
//! of `payments.stripe_js_url` in `script-src` (Stripe.js), `frame-src` (the
//! card fields and the 3-D Secure challenge are Stripe's frames) and
//! `connect-src`, and the origin of `payments.stripe_api_base` in
//! `connect-src` (Stripe.js makes the PaymentMethod there). When that is
//! Stripe's own `https://js.stripe.com`, it adds what Stripe's security
//! guide lists for Elements besides: `https://*.js.stripe.com` (scripts and
//! frames) and `https://hooks.stripe.com` (3-D Secure frames). See
//! [`base_policy`].

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The built storefront (relative to this crate's `Cargo.toml`).
#[derive(rust_embed::Embed)]
#[folder = "assets/storefront/"]
struct Assets;

/// The storefront's manifest of trusted documents (GraphQL Code
/// Generator's `persisted-documents.json`, written by its build beside the
/// bundle and never served), when the bundle has one.
pub fn persisted_documents() -> Option<Vec<u8>> {
    Assets::get("persisted-documents.json").map(|file| file.data.into_owned())
}

/// First path segments of the storefront's client-side routes
/// (`storefront/src/main.ts`): every path under them is answered with
/// `index.html`.
pub const ROUTES: &[&str] = &[
    "restaurants",
    "search",
    "cart",
    "checkout",
    "orders",
    "sign-in",
    "sign-up",
    "staff",
];

/// `Cache-Control` of the content-hashed assets: a name never changes content.
pub const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of the page: revalidate every time (cheap, with the `ETag`).
pub const PAGE_CACHE_CONTROL: &str = "no-cache";

/// The page's policy without its WebSocket origin (module docs).
pub const BASE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// Where a page that takes cards with Stripe loads Stripe.js from and where
/// Stripe.js sends them: origins, as [`crate::config::url_origin`] reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeOrigins {
    /// The origin of `payments.stripe_js_url`.
    pub js: String,
    /// The origin of `payments.stripe_api_base`.
    pub api: String,
}

/// The page's policy without its WebSocket origin: [`BASE_POLICY`], or with
/// Stripe's origins added as the module documentation says.
pub fn base_policy(stripe: Option<&StripeOrigins>) -> String {
    let Some(StripeOrigins { js, api }) = stripe else {
        return BASE_POLICY.to_owned();
    };
    let (scripts, frames) = if js == "https://js.stripe.com" {
        (
            format!("{js} https://*.js.stripe.com"),
            format!("{js} https://*.js.stripe.com https://hooks.stripe.com"),
        )
    } else {
        (js.clone(), js.clone())
    };
    let connect = if api == js {
        js.clone()
    } else {
        format!("{js} {api}")
    };
    BASE_POLICY
        .replace("script-src 'self'", &format!("script-src 'self' {scripts}"))
        .replace(
            "connect-src 'self'",
            &format!("connect-src 'self' {connect}"),
        )
        .replace(
            "form-action 'self'",
            &format!("frame-src {frames}; form-action 'self'"),
        )
}

/// `GET /` and the storefront's routes: the page.
pub async fn page(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    headers: HeaderMap,
) -> Response {
    let mut response = serve("index.html", &headers, PAGE_CACHE_CONTROL);
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    crate::graphiql::page_headers(
        response.headers_mut(),
        &state.storefront_policy,
        host,
        "same-origin",
    );
    response
}

/// `GET /assets/{*path}`: a built script or style sheet, 404 if unknown.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    // Only the files as built are addressable; their compressed copies are
    // chosen by `Accept-Encoding`, never named.
    let servable = is_plain_name(&path) && (path.ends_with(".js") || path.ends_with(".css"));
    if !servable {
        return StatusCode::NOT_FOUND.into_response();
    }
    serve(&format!("assets/{path}"), &headers, ASSET_CACHE_CONTROL)
}

/// The page's policy for a request to `host`: [`BASE_POLICY`] with the
/// page's own WebSocket origin added to `connect-src` when `host` is a plain
/// `host[:port]` (checked as GraphiQL's is).
#[cfg(test)]
fn content_security_policy(host: Option<&str>) -> String {
    crate::graphiql::policy_with_websocket(BASE_POLICY, host)
}

/// A file name without directories or traversal: what the build writes under `assets/`.
fn is_plain_name(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('.')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A content coding the storefront stores its files in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    fn suffix(self) -> &'static str {
        match self {
            Self::Brotli => ".br",
            Self::Gzip => ".gz",
            Self::Identity => "",
        }
    }

    fn header(self) -> Option<&'static str> {
        match self {
            Self::Brotli => Some("br"),
            Self::Gzip => Some("gzip"),
            Self::Identity => None,
        }
    }
}

/// The encodings `Accept-Encoding` allows, best first (RFC 9110 §12.5.3):
/// brotli, then gzip, each when listed (or covered by `*`) with a non-zero
/// `q`; the unencoded file unless `identity` (or `*` while identity is not
/// listed) has `q=0`. No header at all allows only the unencoded file, as
/// the spec lets a server decide and compressed bodies would surprise such
/// a client.
pub fn acceptable_encodings(accept_encoding: Option<&str>) -> Vec<Encoding> {
    let Some(value) = accept_encoding else {
        return vec![Encoding::Identity];
    };
    let mut weights: Vec<(String, f32)> = Vec::new();
    for item in value.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if coding.is_empty() {
            continue;
        }
        let mut q = 1.0_f32;
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = value.trim().parse().unwrap_or(0.0);
            }
        }
        weights.push((coding, q));
    }
    let weight = |name: &str| -> Option<f32> {
        weights
            .iter()
            .find(|(coding, _)| coding == name)
            .or_else(|| weights.iter().find(|(coding, _)| coding == "*"))
            .map(|(_, q)| *q)
    };
    let mut allowed = Vec::new();
    if weight("br").is_some_and(|q| q > 0.0) {
        allowed.push(Encoding::Brotli);
    }
    if weight("gzip")
        .or_else(|| weight("x-gzip"))
        .is_some_and(|q| q > 0.0)
    {
        allowed.push(Encoding::Gzip);
    }
    let identity = weights
        .iter()
        .find(|(coding, _)| coding == "identity")
        .or_else(|| weights.iter().find(|(coding, _)| coding == "*"))
        .map(|(_, q)| *q);
    if identity.is_none_or(|q| q > 0.0) {
        allowed.push(Encoding::Identity);
    }
    allowed
}

/// Answers the stored file `name` in the best encoding the request accepts:
/// `304` when its `If-None-Match` names that variant's `ETag`, `406` when
/// no stored variant is acceptable.
fn serve(name: &str, request: &HeaderMap, cache_control: &'static str) -> Response {
    let accepted = acceptable_encodings(
        request
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
    if Assets::get(name).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some((encoding, file)) = accepted.iter().find_map(|encoding| {
        Assets::get(&format!("{name}{}", encoding.suffix())).map(|file| (*encoding, file))
    }) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            [(header::VARY, HeaderValue::from_static("accept-encoding"))],
        )
            .into_response();
    };
    let etag = etag(&file.metadata.sha256_hash());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|list| if_none_match(list, &etag));
    if not_modified {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::graphiql::content_type(name)),
    );
    if let Some(coding) = encoding.header() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    (headers, file.data).into_response()
}

/// A strong entity tag from a SHA-256: its first 16 bytes in hex, quoted.
fn etag(sha256: &[u8; 32]) -> String {
    let hex: String = sha256[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` list names `etag` (weak comparison, as the
/// header asks: a `W/` prefix is ignored), or is `*`.
fn if_none_match(list: &str, etag: &str) -> bool {
    list.trim() == "*"
        || list
            .split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == etag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::{Brotli, Gzip, Identity};

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        for (header, expected) in [
            (None, vec![Identity]),
            (Some(""), vec![Identity]),
            (
                Some("gzip, deflate, br, zstd"),
                vec![Brotli, Gzip, Identity],
            ),
            (Some("gzip"), vec![Gzip, Identity]),
            (Some("br;q=0, gzip;q=0.8"), vec![Gzip, Identity]),
            (Some("BR;Q=0.5"), vec![Brotli, Identity]),
            (Some("x-gzip"), vec![Gzip, Identity]),
            (Some("*"), vec![Brotli, Gzip, Identity]),
            (Some("*;q=0"), vec![]),
            (Some("gzip, *;q=0"), vec![Gzip]),
            (Some("br, identity;q=0"), vec![Brotli]),
            (Some("identity"), vec![Identity]),
            (Some("deflate"), vec![Identity]),
            (Some("gzip;q=nonsense"), vec![Identity]),
        ] {
            assert_eq!(acceptable_encodings(header), expected, "{header:?}");
        }
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists() {
        let tag = "\"abc\"";
        assert!(if_none_match("\"abc\"", tag));
        assert!(if_none_match("W/\"abc\"", tag));
        assert!(if_none_match("\"x\", \"abc\"", tag));
        assert!(if_none_match("*", tag));
        assert!(!if_none_match("\"abd\"", tag));
        assert!(!if_none_match("abc", tag));
    }

    #[test]
    fn only_plain_script_and_style_names_are_assets() {
        for name in ["app-ABC123.js", "app-ABC123.css"] {
            assert!(is_plain_name(name), "{name}");
        }
        for name in ["", "../x.js", "a/b.js", ".hidden.js", "a\\b.js", "a%2fb.js"] {
            assert!(!is_plain_name(name), "{name:?}");
        }
    }

    #[test]
    fn the_policy_allows_only_this_origin() {
        let policy = content_security_policy(Some("127.0.0.1:8080"));
        assert!(
            policy.contains("connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080;"),
            "{policy}"
        );
        for directive in [
            "default-src 'none'",
            "script-src 'self';",
            "style-src 'self';",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{directive} in {policy}");
        }
        assert!(
            !policy.contains("unsafe") && !policy.contains("http"),
            "{policy}"
        );
        assert_eq!(
            content_security_policy(Some("evil.example; script-src *")),
            BASE_POLICY
        );
        assert_eq!(content_security_policy(None), BASE_POLICY);
    }

    #[test]
    fn the_page_references_exactly_one_script_and_one_style_sheet_that_exist() {
        let page =
            Assets::get("index.html").expect("the built page (npm run build in storefront/)");
        let html = std::str::from_utf8(&page.data).expect("utf-8");
        let scripts: Vec<&str> = html
            .split("src=\"/assets/")
            .skip(1)
            .map(|s| s.split('"').next().unwrap_or(""))
            .collect();
        let sheets: Vec<&str> = html
            .split("href=\"/assets/")
            .skip(1)
            .map(|s| s.split('"').next().unwrap_or(""))
            .collect();
        assert_eq!(scripts.len(), 1, "{scripts:?}");
        assert_eq!(sheets.len(), 1, "{sheets:?}");
        for name in scripts.iter().chain(&sheets) {
            for suffix in ["", ".gz", ".br"] {
                assert!(
                    Assets::get(&format!("assets/{name}{suffix}")).is_some(),
                    "{name}{suffix}"
                );
            }
        }
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(
            !html.contains("<script>") && !html.contains("<style") && !html.contains(" style=")
        );
    }
}
