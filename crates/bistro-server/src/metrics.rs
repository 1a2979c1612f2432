//! Prometheus metrics: the recorder (installed only when `metrics.listen`
//! names an address), the `/metrics` listener of its own, and what is read
//! from the replica when scraped (the SQL pool, the outbox, live sockets).
//!
//! The names and labels are `bistro_metrics`'; the crates record through it.
//! With `metrics.listen` empty no recorder is installed, so every recording
//! call is a relaxed atomic load and a return.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{MatchedPath, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::state::AppState;

/// The process's recorder: one per process (the `metrics` facade has one
/// global recorder), shared by every server the process runs (tests run many).
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder once per process and turns recording on.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let mut builder = PrometheusBuilder::new();
    for (name, buckets) in bistro_metrics::HISTOGRAMS {
        builder = builder
            .set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)
            .context("histogram buckets")?;
    }
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    // Another thread may have installed one first (tests start servers in parallel).
    match metrics::set_global_recorder(recorder) {
        Ok(()) => {
            let _ = HANDLE.set(handle);
            // The exporter's histograms keep samples until upkeep folds them
            // in; without its HTTP listener feature nothing does, so this does.
            let upkeep = HANDLE.get().cloned();
            if let Some(upkeep) = upkeep {
                std::thread::Builder::new()
                    .name("metrics-upkeep".into())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(Duration::from_secs(5));
                            upkeep.run_upkeep();
                        }
                    })
                    .context("starting the metrics upkeep thread")?;
            }
        }
        Err(_) => {
            // Lost the race: the winner sets HANDLE; wait for it.
            while HANDLE.get().is_none() {
                std::thread::yield_now();
            }
        }
    }
    bistro_metrics::enable();
    HANDLE
        .get()
        .cloned()
        .context("the metrics recorder was not installed")
}

/// The `/metrics` router of the metrics listener.
pub fn router(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state((state, handle))
}

/// Serves `/metrics` on `listener` until `stop` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    handle: PrometheusHandle,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    if let Err(error) = axum::serve(listener, router(state, handle))
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::error!(%error, "the metrics listener stopped");
    }
}

/// `GET /metrics`: what the replica holds now, then every series.
async fn scrape(State((state, handle)): State<(AppState, PrometheusHandle)>) -> Response {
    sample(&state).await;
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

/// Reads the gauges that are states rather than events.
async fn sample(state: &AppState) {
    let pool = bistro_sql::pool_status(&state.db);
    bistro_metrics::sql_pool(
        u64::from(pool.in_use()),
        u64::from(pool.idle),
        u64::from(pool.max),
    );
    match bistro_sql::outbox::backlog(&state.db).await {
        Ok((backlog, oldest)) => {
            let age = oldest
                .map(|oldest| (chrono::Utc::now() - oldest).to_std().unwrap_or_default())
                .unwrap_or_default();
            bistro_metrics::outbox(backlog, age);
        }
        Err(error) => tracing::warn!(%error, "could not read the outbox's backlog for metrics"),
    }
    let live = state.api.live().stats();
    bistro_metrics::live(&bistro_metrics::LiveNumbers {
        sockets: state.live_connections.total() as u64,
        delivered: live.queued,
        overflowed: live.overflowed,
        gaps: live.gaps,
    });
}

/// The template of the route that answered, handed from inside routing
/// ([`name_route`]) to [`count_requests`] outside it.
#[derive(Clone)]
struct AnsweredRoute(String);

/// Inside routing, where the route's template is known: names it on the
/// response for [`count_requests`].
pub async fn name_route(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if !bistro_metrics::enabled() {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(AnsweredRoute(route));
    }
    response
}

/// Counts every HTTP request by its route's template and status, outside
/// routing so that the answers no route gave count too (`unmatched`: a
/// 404, a panic caught, the outer timeout).
pub async fn count_requests(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !bistro_metrics::enabled() {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<AnsweredRoute>()
        .map_or("unmatched", |route| route.0.as_str());
    bistro_metrics::http_request(route, response.status().as_u16());
    response
}
