//! Health endpoints: `/health/live` (the process answers) and
//! `/health/ready` (both stores answer, so traffic may be routed here).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// How long a readiness probe waits for each store.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// `GET /health/live`: 200 while the process serves HTTP.
pub async fn live() -> Response {
    Json(json!({ "status": "live" })).into_response()
}

/// `GET /health/ready`: 200 when both stores answer, 503 otherwise or while
/// the replica drains (from the shutdown signal on, so a load balancer stops
/// sending before the listener stops accepting), with each store's state and
/// the SQL pool's saturation.
pub async fn ready(State(state): State<AppState>) -> Response {
    if *state.draining.borrow() {
        let body = json!({ "status": "draining" });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let (sql, kv) = tokio::join!(
        tokio::time::timeout(PROBE_TIMEOUT, bistro_sql::ping(&state.db)),
        tokio::time::timeout(PROBE_TIMEOUT, state.kv.ping()),
    );
    let sql_up = matches!(sql, Ok(Ok(())));
    let kv_up = matches!(kv, Ok(Ok(())));
    // Details go to the log, not to whoever can reach the endpoint.
    let check = |up: bool, backend: &str| json!({ "status": if up { "up" } else { "down" }, "backend": backend });
    if !sql_up || !kv_up {
        let sql_error = match &sql {
            Ok(Ok(())) => String::new(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out".to_owned(),
        };
        let kv_error = match &kv {
            Ok(Ok(())) => String::new(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out".to_owned(),
        };
        tracing::warn!(sql_up, kv_up, sql_error, kv_error, "not ready");
    }
    let status = if sql_up && kv_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // Reported, not judged: a saturated pool queues requests rather than
    // failing them, and taking the replica out would only move its load.
    let pool = bistro_sql::pool_status(&state.db);
    let body = json!({
        "status": if status == StatusCode::OK { "ready" } else { "unavailable" },
        "checks": {
            "relationalStore": check(sql_up, bistro_sql::backend_name(&state.db)),
            "keyValueStore": check(kv_up, state.kv.backend_name()),
        },
        "sqlPool": {
            "inUse": pool.in_use(),
            "idle": pool.idle,
            "max": pool.max,
            "saturated": pool.in_use() >= pool.max,
        }
    });
    (status, Json(body)).into_response()
}
