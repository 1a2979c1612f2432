//! A store that goes away: the API degrades with coded errors, the process
//! stays up, and everything recovers by itself when the store returns.
//!
//! These tests stop real servers: a `redis-server` they start themselves on a
//! free port (never the shared one), and a TCP proxy in front of the shared
//! PostgreSQL that they cut. The Redis test runs wherever `redis-server` is
//! installed (it is on every machine this project builds on) and fails in CI
//! if it is missing; the PostgreSQL test needs `BISTRO_TEST_DATABASE_URL`.

use std::time::{Duration, Instant};

use bistro_tests::proxy::ChaosProxy;
use bistro_tests::redis::OwnRedis;
use bistro_tests::{StorePair, TestApp, error_codes, operation, real_pair, round_trips};
use serde_json::{Value, json};

async fn wait_until_ready(app: &TestApp, ready: bool) {
    let want = if ready { 200 } else { 503 };
    for _ in 0..100 {
        let status = app
            .client()
            .get(app.url("/health/ready"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/health/ready never answered {want}");
}

fn names(body: &Value) -> Vec<String> {
    body["data"]["restaurants"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn when_redis_stops_sql_fields_still_answer_and_it_recovers_by_itself() {
    let Some(mut redis) = OwnRedis::start().await else {
        return;
    };
    let url = redis.url();
    let app = TestApp::spawn_with(&StorePair::Embedded, |c| {
        c.redis_url = url;
        // The request budget on: it must fail open, not refuse, while Redis is away.
        c.rate_limit.requests_per_minute = 10_000;
    })
    .await;
    let query = operation("RestaurantPage");
    let vars = json!({"first": 5, "menuFirst": 3});

    let (status, healthy) = app.graphql(&query, vars.clone()).await;
    assert_eq!(status, 200);
    assert!(healthy.get("errors").is_none(), "{healthy:#}");

    redis.stop().await;
    let logs = bistro_tests::logs::capture();
    let started = Instant::now();
    let (status, degraded) = app.graphql(&query, vars.clone()).await;
    let took = started.elapsed();
    // The request budget could not be counted: it let the request through and said so.
    assert_eq!(
        logs.text().matches("rate limits cannot be counted").count(),
        1,
        "{}",
        logs.text()
    );
    drop(logs);
    // One line per failed batch, not one per field: a 20 x 10 page with every
    // key-value field failing (popularity, trending, the menu and rating
    // caches) logs one line per loader, and the budget's outage is not logged again.
    let logs = bistro_tests::logs::capture();
    let (status_big, _) = app
        .graphql(&query, json!({"first": 20, "menuFirst": 10}))
        .await;
    assert_eq!(status_big, 200);
    let text = logs.text();
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
    assert!(
        (1..=4).contains(&warnings.len()),
        "{} warnings for one degraded request:\n{}",
        warnings.len(),
        warnings.join("\n")
    );
    drop(logs);
    assert_eq!(status, 200, "{degraded:#}");
    // Every SQL-backed field is still there.
    assert_eq!(names(&degraded), names(&healthy));
    for edge in degraded["data"]["restaurants"]["edges"].as_array().unwrap() {
        let node = &edge["node"];
        assert_eq!(node["menu"]["edges"].as_array().unwrap().len(), 3);
        // The rating is SQL data that Redis only caches: computed from SQL.
        assert!(node["rating"]["count"].is_u64(), "{node:#}");
        // Popularity and trending live only in Redis: null, with a coded error.
        assert_eq!(node["trendingItems"], Value::Null);
        for item in node["menu"]["edges"].as_array().unwrap() {
            assert_eq!(item["node"]["popularity"], Value::Null);
            assert!(item["node"]["name"].is_string());
        }
    }
    let codes = error_codes(&degraded);
    assert!(!codes.is_empty());
    assert!(codes.iter().all(|c| c == "STORE_UNAVAILABLE"), "{codes:?}");
    assert!(
        degraded["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["path"].is_array()),
        "each error names the field it nulled"
    );
    // Bounded by the key-value timeouts (250 ms), not by the client's patience:
    // the client's defaults would stall ~9 s per command (TECH-NOTES §4.2).
    assert!(
        took < Duration::from_secs(5),
        "degraded request took {took:?}"
    );

    wait_until_ready(&app, false).await;
    let ready: Value = app
        .client()
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["keyValueStore"]["status"], "down");
    assert_eq!(ready["checks"]["relationalStore"]["status"], "up");

    // Back again: no restart of Bistro needed.
    assert!(redis.launch().await);
    wait_until_ready(&app, true).await;
    let (status, recovered) = app.graphql(&query, vars).await;
    assert_eq!(status, 200);
    assert!(recovered.get("errors").is_none(), "{recovered:#}");
    assert!(
        round_trips(&recovered).1 > 0,
        "the budget is counted again once Redis is back"
    );
    let first = &recovered["data"]["restaurants"]["edges"][0]["node"];
    assert!(first["trendingItems"].is_array());
    assert!(first["menu"]["edges"][0]["node"]["popularity"]["ordersToday"].is_u64());
    app.stop().await;
    redis.stop().await;
}

/// `postgres://user@host:port/db` with `host:port` replaced.
fn via(url: &str, addr: std::net::SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let userinfo = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{userinfo}{addr}/{path}")
}

async fn upstream(url: &str) -> std::net::SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let hostport = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    };
    tokio::net::lookup_host(hostport)
        .await
        .unwrap()
        .next()
        .unwrap()
}

#[tokio::test]
async fn when_postgres_goes_away_requests_fail_fast_and_the_process_stays_up() {
    let Some(StorePair::Real {
        database_url,
        redis_url,
    }) = real_pair()
    else {
        eprintln!(
            "SKIPPED: set {} and {} to run the PostgreSQL outage test",
            bistro_tests::DATABASE_URL_VAR,
            bistro_tests::REDIS_URL_VAR
        );
        return;
    };
    let proxy = ChaosProxy::start(upstream(&database_url).await)
        .await
        .unwrap();
    let pair = StorePair::Real {
        database_url: database_url.clone(),
        redis_url,
    };
    let proxied = via(&database_url, proxy.addr());
    let app = TestApp::spawn_with(&pair, |c| {
        // Same schema, but through the proxy.
        let search_path = c
            .database_url
            .split_once('?')
            .map(|(_, q)| q.to_owned())
            .unwrap_or_default();
        c.database_url = format!("{proxied}?{search_path}");
        c.sql.acquire_timeout_ms = 1000;
    })
    .await;
    let query = "{ restaurants(first: 3) { edges { node { name } } } }";
    let healthy = app.data(query, json!({})).await;
    assert_eq!(healthy["restaurants"]["edges"].as_array().unwrap().len(), 3);

    proxy.cut();
    let started = Instant::now();
    let (status, body) = app.graphql(query, json!({})).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["data"]["restaurants"], Value::Null);
    assert_eq!(error_codes(&body), ["STORE_UNAVAILABLE"], "{body:#}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.contains("127.0.0.1") && !message.to_lowercase().contains("sql"),
        "no internals: {message}"
    );
    assert!(took < Duration::from_secs(10), "failing took {took:?}");

    wait_until_ready(&app, false).await;
    let live = app
        .client()
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "the process stays up");

    proxy.restore();
    wait_until_ready(&app, true).await;
    let recovered = app.data(query, json!({})).await;
    assert_eq!(recovered, healthy);
    app.stop().await;
}
