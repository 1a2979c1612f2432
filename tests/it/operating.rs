//! What operators expect beside the metrics, on both store pairs:
//! `X-Request-Id` echoed (or made), `/health/ready` reporting the SQL pool's
//! saturation, and `bistro check-config` refusing a bad configuration
//! without starting.

use bistro_tests::process::ProcessStores;
use bistro_tests::{TestApp, store_pairs};
use sea_orm::TransactionTrait as _;
use serde_json::Value;

#[tokio::test]
async fn every_response_carries_a_request_id_the_clients_when_well_formed() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let id_of = |response: &reqwest::Response| {
            response
                .headers()
                .get("x-request-id")
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let kept = app
            .client()
            .get(app.url("/health/live"))
            .header("x-request-id", "router-7f3a.42_b")
            .send()
            .await
            .unwrap();
        assert_eq!(
            id_of(&kept).as_deref(),
            Some("router-7f3a.42_b"),
            "[{}]",
            pair.name()
        );
        let made = app
            .client()
            .get(app.url("/graphql?query={__typename}"))
            .send()
            .await
            .unwrap();
        let made = id_of(&made).expect("an id is made");
        assert_eq!(made.len(), 32, "{made}");
        assert!(made.bytes().all(|b| b.is_ascii_hexdigit()), "{made}");
        // Too long, or with characters that could forge log text: replaced.
        for sent in ["x".repeat(65), "a b\"c".to_owned(), String::new()] {
            let replaced = app
                .client()
                .get(app.url("/health/live"))
                .header("x-request-id", sent.as_str())
                .send()
                .await
                .unwrap();
            let id = id_of(&replaced).expect("an id");
            assert_ne!(id, sent);
            assert_eq!(id.len(), 32, "{id}");
        }
        // Two requests, two ids; a 404 carries one too.
        let other = app
            .client()
            .get(app.url("/no-such-path"))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 404);
        assert_ne!(id_of(&other).expect("an id"), made);
        app.stop().await;
    }
}

async fn ready(app: &TestApp) -> (u16, Value) {
    let response = app
        .client()
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn ready_reports_the_sql_pools_saturation() {
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |config| config.sql.max_connections = 2).await;
        let (status, body) = ready(&app).await;
        assert_eq!(status, 200, "[{}] {body}", pair.name());
        assert_eq!(body["sqlPool"]["max"], 2, "{body}");
        // The server's own background work may hold connections at this
        // moment: saturation is whatever the counts say.
        let in_use = body["sqlPool"]["inUse"].as_u64().unwrap();
        assert_eq!(body["sqlPool"]["saturated"], in_use >= 2, "{body}");
        // Both connections lent out (two open transactions hold them).
        let first = app.app.db.begin().await.unwrap();
        let second = app.app.db.begin().await.unwrap();
        let (status, body) = ready(&app).await;
        assert_eq!(
            status,
            503,
            "[{}] the probe found no connection: {body}",
            pair.name()
        );
        assert_eq!(
            body["checks"]["relationalStore"]["status"], "down",
            "{body}"
        );
        assert_eq!(body["sqlPool"]["inUse"], 2, "{body}");
        assert_eq!(body["sqlPool"]["saturated"], true, "{body}");
        first.rollback().await.unwrap();
        second.rollback().await.unwrap();
        // sqlx hands a connection back to the pool in a task of its own:
        // poll (bounded) until the probe's own connection is back too.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (status, body) = ready(&app).await;
            if status == 200 && body["sqlPool"]["saturated"] == false {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "[{}] the pool stayed saturated: {body}",
                pair.name()
            );
            tokio::task::yield_now().await;
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn check_config_validates_without_starting_and_says_why_it_refuses() {
    for pair in store_pairs() {
        let stores = ProcessStores::new(&pair).await;
        let good = stores
            .run(
                &["check-config"],
                &[("BISTRO_METRICS__LISTEN", "127.0.0.1:9464")],
            )
            .await;
        let out = String::from_utf8_lossy(&good.stdout);
        assert!(
            good.status.success(),
            "[{}] {out} {}",
            pair.name(),
            String::from_utf8_lossy(&good.stderr)
        );
        assert!(out.contains("configuration is valid"), "{out}");
        assert!(out.contains("metrics: /metrics on 127.0.0.1:9464"), "{out}");
        // Nothing started: no table was made.
        let tables = bistro_sql::seed::is_empty(stores.db()).await;
        assert!(
            tables.is_err() || tables.unwrap(),
            "[{}] check-config touched the database",
            pair.name()
        );
        let refusals: &[(&[(&str, &str)], &str)] = &[
            (
                &[
                    ("BISTRO_ENVIRONMENT", "production"),
                    ("BISTRO_AUTH__TOKEN_SECRET", ""),
                ],
                "auth.token_secret",
            ),
            (
                &[
                    ("BISTRO_METRICS__LISTEN", "127.0.0.1:8080"),
                    ("BISTRO_LISTEN", "0.0.0.0:8080"),
                ],
                "metrics.listen",
            ),
            (
                &[("BISTRO_HTTP__TRUSTED_PROXIES", "not-a-network")],
                "not-a-network",
            ),
            (&[("BISTRO_NO_SUCH__KEY", "1")], "no_such"),
        ];
        for (vars, reason) in refusals {
            let refused = stores.run(&["check-config"], vars).await;
            let err = String::from_utf8_lossy(&refused.stderr);
            assert!(
                !refused.status.success(),
                "[{}] {vars:?} passed",
                pair.name()
            );
            assert!(err.contains(reason), "[{}] {vars:?}: {err}", pair.name());
        }
        stores.remove().await;
    }
}
