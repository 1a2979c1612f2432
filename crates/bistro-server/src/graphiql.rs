//! The GraphiQL playground, served entirely by bistro so that it works offline.
//!
//! async-graphql's `GraphiQLSource` loads React, GraphiQL and a favicon from CDNs
//! (TECH-NOTES §1.11). Instead, `assets/graphiql/` holds our own `index.html` plus
//! graphiql@4.1.2 (UMD build) and React/ReactDOM 18.3.1 (UMD production builds),
//! vendored by `scripts/vendor-graphiql.sh`; rerun that script to refresh the pins.
//!
//! Routes (wired in `app::router` when `http.graphiql` is on):
//!
//! - `GET /graphiql` → [`page`]: the HTML page, `Cache-Control: no-cache`,
//!   with the Content-Security-Policy below.
//! - `GET /graphiql/assets/{*path}` → [`asset`]: the vendored files,
//!   `Cache-Control: public, max-age=86400`; 404 for anything else.
//!
//! The page talks to `/graphql` (HTTP) and `/graphql/ws` (graphql-ws) on the same
//! origin. Headers typed into GraphiQL's headers editor, such as `Authorization`,
//! are sent as HTTP headers on queries and mutations, and as the `connection_init`
//! payload on subscriptions (a browser cannot set headers on a WebSocket upgrade).
//!
//! # Where the bytes come from (rust-embed 8.13, checked in `rust-embed-impl` source)
//!
//! - **Release builds** (`cfg(not(debug_assertions))`): every file under
//!   `assets/graphiql/` is compiled into the binary with `include_bytes!`, so the
//!   binary is self-contained.
//! - **Debug builds** (`cfg(debug_assertions)`, e.g. `cargo run`, `cargo test`),
//!   unless rust-embed's `debug-embed` feature is on: files are read from disk on
//!   every request, from the *absolute* path `$CARGO_MANIFEST_DIR/assets/graphiql`
//!   fixed at compile time. That works from any working directory, and edits show
//!   up without recompiling, but a debug binary copied away from this source tree
//!   (another machine, a container image) answers 404 for every GraphiQL file.
//!   Enable `debug-embed` only if such a debug binary must carry its assets.
//!
//! The feature `mime-guess` is off in this workspace, so the content type is chosen
//! here from the file extension.
//!
//! # Content-Security-Policy
//!
//! The page is sent with a policy that lets it load only from this server:
//! `default-src 'none'`, scripts and style sheets from `'self'` (our own
//! `playground.js` and `playground.css` instead of inline ones), images and
//! fonts from `'self'` and `data:` (GraphiQL's style sheet embeds its fonts and
//! icons as data URLs), `frame-ancestors 'none'` (no other site may frame the
//! page; `X-Frame-Options: DENY` says the same to old browsers), no `<base>`
//! and no form posts.
//!
//! Two additions, both checked by loading the page in headless Chromium
//! (rendering, running a query, the docs pane, the dialogs; offline):
//!
//! - `style-src` also allows one inline style, by its hash:
//!   GraphiQL 4's UMD bundle inserts a `<style>` element when a dialog opens
//!   (react-remove-scroll-bar, which offers no nonce in a UMD build). Its text
//!   depends only on the page's scroll bar, and this page never scrolls, so it
//!   is always the same. A refreshed GraphiQL pin may change it: open the
//!   settings dialog and read the browser console, which names the hash of a
//!   refused style. Refused, it costs nothing visible (a page that never
//!   scrolls needs no scroll lock), only a console error. No `'unsafe-inline'`
//!   for scripts or styles.
//! - `connect-src` names the WebSocket origin as well as `'self'`: CSP 3 says
//!   `'self'` covers `ws:`/`wss:` to the same host, but older browsers (Safari
//!   before 15.4, for one) do not, and subscriptions go over `/graphql/ws`. The
//!   origin is the request's `Host` header (as the browser sent it, so it names
//!   the host the page came from); `ws://` and `wss://` are both allowed, since
//!   behind a TLS-terminating proxy the server cannot tell which the page uses.
//!   A `Host` that is not a plain `host[:port]` adds nothing, so it cannot
//!   smuggle directives into the policy; a proxy that rewrites `Host` leaves
//!   subscriptions to `'self'`.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The files under `assets/graphiql/` (relative to this crate's `Cargo.toml`).
#[derive(rust_embed::Embed)]
#[folder = "assets/graphiql/"]
struct Assets;

/// `Cache-Control` for the vendored files: their names carry no version, so a
/// refreshed pin may take up to a day to reach a browser that has the old one.
const ASSET_CACHE_CONTROL: &str = "public, max-age=86400";

/// `Cache-Control` for the page: always revalidate, so a new build is seen at once.
const PAGE_CACHE_CONTROL: &str = "no-cache";

/// `GET /graphiql`: the GraphiQL page, with its Content-Security-Policy.
pub async fn page(headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    let mut response = serve("index.html", PAGE_CACHE_CONTROL);
    if response.status() == StatusCode::OK {
        page_headers(response.headers_mut(), BASE_POLICY, host, "no-referrer");
    }
    response
}

/// The headers of a page this server renders (GraphiQL, the storefront):
/// its policy with the page's own WebSocket origin, no framing, and its
/// referrer policy.
pub(crate) fn page_headers(
    headers: &mut HeaderMap,
    base_policy: &str,
    host: Option<&str>,
    referrer_policy: &'static str,
) {
    let policy = HeaderValue::from_str(&policy_with_websocket(base_policy, host))
        .or_else(|_| HeaderValue::from_str(base_policy))
        // The policies are built from checked parts; never looser than nothing allowed.
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(referrer_policy),
    );
}

/// `base` with `ws://host wss://host` added to `connect-src` when `host` is
/// a plain `host[:port]` ([`is_plain_host`]), else `base` as it is.
pub(crate) fn policy_with_websocket(base: &str, host: Option<&str>) -> String {
    match host.filter(|host| is_plain_host(host)) {
        Some(host) => base.replace(
            "connect-src 'self'",
            &format!("connect-src 'self' ws://{host} wss://{host}"),
        ),
        None => base.to_owned(),
    }
}

/// The page's policy, without the WebSocket origin (module docs). The
/// `sha256-…` source is the one inline style GraphiQL 4.1.2 inserts.
const BASE_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'sha256-nzTgYzXYDNe6BAHiiI7NNlfK8n/auuOAhh2t92YvuXo='; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page's policy for a request to `host`: [`BASE_POLICY`] with the
/// page's own WebSocket origin added to `connect-src` when `host` is a plain
/// `host[:port]`.
#[cfg(test)]
fn content_security_policy(host: Option<&str>) -> String {
    policy_with_websocket(BASE_POLICY, host)
}

/// Whether a `Host` header is a plain `host[:port]`: a name or IPv4 address,
/// or an IPv6 address in brackets, then an optional port. Nothing that could
/// end a CSP source (space, `;`, `,`, quotes) gets through.
pub(crate) fn is_plain_host(host: &str) -> bool {
    let is_port =
        |port: &str| (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit());
    if let Some(bracketed) = host.strip_prefix('[') {
        let Some((v6, rest)) = bracketed.split_once(']') else {
            return false;
        };
        let v6_ok = !v6.is_empty()
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return v6_ok && (rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port));
    }
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let name_ok = (1..=253).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    name_ok && port.is_none_or(is_port)
}

/// `GET /graphiql/assets/{*path}`: a vendored GraphiQL or React file, 404 if unknown.
pub async fn asset(Path(path): Path<String>) -> Response {
    if !is_plain_relative(&path) {
        return StatusCode::NOT_FOUND.into_response();
    }
    serve(&path, ASSET_CACHE_CONTROL)
}

/// Looks `path` up in [`Assets`] and answers it with the given `Cache-Control`.
fn serve(path: &str, cache_control: &'static str) -> Response {
    let Some(file) = Assets::get(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(path)),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        file.data,
    )
        .into_response()
}

/// The `Content-Type` for a file name, by extension.
pub(crate) fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether `path` is a plain relative path: no empty, `.` or `..` segment and no
/// backslash. Release builds only match exact embedded names anyway; debug builds
/// read from disk, where rust-embed's own containment check lets symlinks through,
/// so reject traversal before it gets there.
fn is_plain_relative(path: &str) -> bool {
    !path.contains('\\')
        && path
            .split('/')
            .all(|segment| !matches!(segment, "" | "." | ".."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn body_text(response: Response) -> String {
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn page_is_html_and_loads_only_local_assets() {
        let response = page(HeaderMap::new()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let html = body_text(response).await;
        assert!(html.contains("<title>Bistro GraphiQL</title>"));
        for src in [
            "graphiql.min.css",
            "playground.css",
            "react.production.min.js",
            "react-dom.production.min.js",
            "graphiql.min.js",
            "playground.js",
        ] {
            assert!(
                html.contains(&format!("\"/graphiql/assets/{src}\"")),
                "{src} not referenced"
            );
        }
        assert!(
            !html.contains("https://"),
            "the page must not load anything from the internet"
        );
        // The policy allows no inline script or style of ours.
        assert!(!html.contains("<script>") && !html.contains("<style"));
    }

    #[test]
    fn the_policy_adds_the_pages_own_websocket_origin_and_nothing_else() {
        let policy = content_security_policy(Some("127.0.0.1:8080"));
        assert!(
            policy.contains("connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080;"),
            "{policy}"
        );
        for directive in [
            "default-src 'none'",
            "script-src 'self';",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{directive} in {policy}");
        }
        assert!(!policy.contains("unsafe"), "{policy}");
        for host in [
            "bistro.example.com",
            "localhost",
            "[::1]:8080",
            "[2001:db8::1]",
        ] {
            assert!(
                content_security_policy(Some(host)).contains(&format!("ws://{host} ")),
                "{host}"
            );
        }
        // Anything else adds no source (and cannot add a directive).
        for host in [
            "",
            "evil.example; script-src *",
            "a b",
            "a,b",
            "'unsafe-inline'",
            "host:port",
            "host:123456",
            "[::1",
            "[::1]x",
            "[]",
            "[::1]:",
        ] {
            assert_eq!(content_security_policy(Some(host)), BASE_POLICY, "{host:?}");
        }
        assert_eq!(content_security_policy(None), BASE_POLICY);
    }

    #[tokio::test]
    async fn every_file_the_page_references_is_served() {
        for (name, content_type) in [
            ("graphiql.min.js", "text/javascript; charset=utf-8"),
            ("graphiql.min.css", "text/css; charset=utf-8"),
            ("react.production.min.js", "text/javascript; charset=utf-8"),
            (
                "react-dom.production.min.js",
                "text/javascript; charset=utf-8",
            ),
            ("playground.js", "text/javascript; charset=utf-8"),
            ("playground.css", "text/css; charset=utf-8"),
            ("LICENSE.graphiql", "application/octet-stream"),
        ] {
            let response = asset(Path(name.to_owned())).await;
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                content_type,
                "{name}"
            );
            assert_eq!(
                response.headers()[header::CACHE_CONTROL],
                "public, max-age=86400"
            );
            assert_eq!(
                response.headers()[header::X_CONTENT_TYPE_OPTIONS],
                "nosniff"
            );
        }
    }

    #[tokio::test]
    async fn unknown_and_escaping_paths_are_404() {
        for path in [
            "nope.js",
            "",
            "../graphiql.rs",
            "../../Cargo.toml",
            "./graphiql.min.js",
            "a//b",
            "..\\x",
        ] {
            let response = asset(Path(path.to_owned())).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path:?}");
        }
    }
}
