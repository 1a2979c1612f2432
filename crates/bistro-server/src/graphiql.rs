//! The GraphiQL playground, served entirely by bistro so that it works offline.
//!
//! async-graphql's `GraphiQLSource` loads React, GraphiQL and a favicon from CDNs
//! (TECH-NOTES §1.11). Instead, `assets/graphiql/` holds our own `index.html` plus
//! graphiql@4.1.2 (UMD build) and React/ReactDOM 18.3.1 (UMD production builds),
//! vendored by `scripts/vendor-graphiql.sh`; rerun that script to refresh the pins.
//!
//! Routes (wired in `app::router` when `http.graphiql` is on):
//!
//! - `GET /graphiql` → [`page`]: the HTML page, `Cache-Control: no-cache`.
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

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
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

/// `GET /graphiql`: the GraphiQL page.
pub async fn page() -> Response {
    serve("index.html", PAGE_CACHE_CONTROL)
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
fn content_type(path: &str) -> &'static str {
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
        let response = page().await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let html = body_text(response).await;
        assert!(html.contains("<title>Bistro GraphiQL</title>"));
        for src in [
            "graphiql.min.css",
            "react.production.min.js",
            "react-dom.production.min.js",
            "graphiql.min.js",
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
