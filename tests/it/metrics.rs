//! Prometheus metrics on both store pairs: `/metrics` on a listener of its
//! own after a short workload (the series and labels README's *Operating
//! Bistro* lists), operation-name labels bounded, no id, email or token in
//! any label, and no listener at all when `metrics.listen` is empty.
//!
//! The recorder is one per process (the `metrics` facade's), so counters
//! here include what other tests of the same run recorded: assertions are
//! about series and labels being there, and about bounds, never exact totals.

use std::collections::{BTreeMap, BTreeSet};

use bistro_tests::{TestApp, base_config, store_pairs};
use serde_json::json;

use crate::ordering::{add, amount, checkout, currency, new_item, pickup};

/// One sample of the exposition format.
#[derive(Debug)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// The samples of a `/metrics` body (comments skipped).
pub(crate) fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once("=\"").expect("label=\"value\"");
                    (key.to_owned(), value.trim_end_matches('"').to_owned())
                })
                .collect();
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().unwrap_or(f64::NAN),
            }
        })
        .collect()
}

/// Whether some sample of `name` carries every label of `labels`.
fn has(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> bool {
    samples.iter().any(|sample| {
        sample.name == name
            && labels
                .iter()
                .all(|(k, v)| sample.labels.get(*k).map(String::as_str) == Some(*v))
    })
}

/// A short workload: reads, a request error, a placed and a declined
/// checkout, a confirmation email delivered. Returns what must never be a
/// label value (the customer's token, the order's id).
pub(crate) async fn workload(app: &TestApp) -> Vec<String> {
    let (status, body) = app
        .graphql(
            "query MetricsRead { restaurants(first: 2) { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, refused) = app.graphql("query {", json!({})).await;
    assert!(refused["errors"].is_array(), "{refused}");
    let (_, item) = new_item(app, 1, "Metered soup", 700, None).await;
    let (_, token) = app.new_customer("metered").await;
    let total = amount(700, &currency(app, 1).await);
    let added = add(app, &token, json!({ "menuItemId": item })).await;
    assert_eq!(added["userErrors"], json!([]), "{added}");
    let declined = checkout(
        app,
        &token,
        pickup("declined", &total, "tok_chargeDeclined"),
    )
    .await;
    assert_eq!(
        declined["userErrors"][0]["code"], "CARD_DECLINED",
        "{declined}"
    );
    let placed = checkout(app, &token, pickup("placed", &total, "tok_visa")).await;
    let order_id = placed["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{placed}"));
    assert_eq!(app.deliver_mail().await, 1, "one confirmation");
    vec![token.clone(), order_id.to_owned(), "metered".to_owned()]
}

/// Every label value is a bounded name: no `@`, no secret, no id of the workload.
pub(crate) fn assert_clean_labels(samples: &[Sample], secrets: &[String]) {
    for sample in samples {
        for (key, value) in &sample.labels {
            assert!(
                value.len() <= 64
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_./{}*-+".contains(&b)),
                "label {key}={value:?} of {} is not a bounded name",
                sample.name
            );
            for secret in secrets {
                assert!(
                    !value.contains(secret.as_str()),
                    "label {key}={value:?} of {} carries {secret:?}",
                    sample.name
                );
            }
        }
    }
}

#[tokio::test]
async fn metrics_on_their_own_listener_show_requests_operations_cost_checkouts_and_stores() {
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |config| {
            config.metrics.listen = "127.0.0.1:0".to_owned();
        })
        .await;
        let metrics_addr = app.metrics_addr.expect("a metrics listener");
        assert_ne!(metrics_addr, app.addr);
        let secrets = workload(&app).await;
        // A path no route answers counts too, under one label.
        let missing = reqwest::get(format!("http://{}/no-such-page", app.addr))
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        let text = app.scrape_metrics().await;
        let samples = samples(&text);
        // The label an operation name gets (first seen, process-wide).
        let label = |name: &str| {
            bistro_metrics::operation_names()
                .label(Some(name), false)
                .to_string()
        };
        let checkout_label = label("Checkout");
        let expected: &[(&str, &[(&str, &str)])] = &[
            (
                "bistro_http_requests_total",
                &[("route", "/graphql"), ("status", "200")],
            ),
            (
                "bistro_http_requests_total",
                &[("route", "unmatched"), ("status", "404")],
            ),
            (
                "bistro_graphql_operations_total",
                &[
                    ("operation", &checkout_label),
                    ("type", "mutation"),
                    ("outcome", "ok"),
                ],
            ),
            (
                "bistro_graphql_operations_total",
                &[
                    ("operation", "anonymous"),
                    ("type", "unknown"),
                    ("outcome", "failed"),
                ],
            ),
            (
                "bistro_graphql_operation_duration_seconds_bucket",
                &[("operation", &checkout_label), ("type", "mutation")],
            ),
            (
                "bistro_graphql_errors_total",
                &[("code", "GRAPHQL_PARSE_FAILED")],
            ),
            (
                "bistro_graphql_sql_statements_bucket",
                &[("operation", &checkout_label)],
            ),
            (
                "bistro_graphql_kv_commands_bucket",
                &[("operation", &checkout_label)],
            ),
            (
                "bistro_graphql_kv_round_trips_count",
                &[("operation", &checkout_label)],
            ),
            ("bistro_sql_pool_connections", &[("state", "in_use")]),
            ("bistro_sql_pool_connections", &[("state", "idle")]),
            ("bistro_sql_pool_max_connections", &[]),
            ("bistro_sql_acquire_seconds_count", &[]),
            (
                "bistro_checkouts_total",
                &[("outcome", "placed"), ("code", "NONE")],
            ),
            (
                "bistro_checkouts_total",
                &[("outcome", "refused"), ("code", "CARD_DECLINED")],
            ),
            (
                "bistro_payment_calls_total",
                &[
                    ("provider", "simulated"),
                    ("operation", "authorize"),
                    ("outcome", "ok"),
                ],
            ),
            (
                "bistro_payment_calls_total",
                &[
                    ("provider", "simulated"),
                    ("operation", "authorize"),
                    ("outcome", "declined"),
                ],
            ),
            (
                "bistro_payment_call_duration_seconds_count",
                &[("operation", "authorize")],
            ),
            (
                "bistro_order_transitions_total",
                &[("from", "NONE"), ("to", "PLACED")],
            ),
            ("bistro_emails_total", &[("outcome", "sent")]),
            ("bistro_outbox_backlog", &[]),
            ("bistro_outbox_oldest_age_seconds", &[]),
            ("bistro_live_sockets", &[]),
            ("bistro_live_events_delivered_total", &[]),
            (
                "bistro_live_missed_updates_total",
                &[("reason", "overflow")],
            ),
        ];
        for (name, labels) in expected {
            assert!(
                has(&samples, name, labels),
                "[{}] no {name} with {labels:?} in:\n{text}",
                pair.name()
            );
        }
        let placed = samples
            .iter()
            .find(|s| {
                s.name == "bistro_checkouts_total"
                    && s.labels.get("outcome").is_some_and(|o| o == "placed")
            })
            .map_or(0.0, |s| s.value);
        assert!(placed >= 1.0, "[{}] {placed} checkouts placed", pair.name());
        assert_clean_labels(&samples, &secrets);
        // The scrape did not go through the public listener's routes.
        let public = app.client().get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(
            public.status(),
            404,
            "[{}] /metrics is not public",
            pair.name()
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_thousand_operation_names_make_a_bounded_label_set() {
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |config| {
            config.metrics.listen = "127.0.0.1:0".to_owned();
        })
        .await;
        for i in 0..1000 {
            let (status, _) = app
                .graphql(&format!("query Client{i}Op {{ __typename }}"), json!({}))
                .await;
            assert_eq!(status, 200);
        }
        let samples = samples(&app.scrape_metrics().await);
        let operations: BTreeSet<&str> = samples
            .iter()
            .filter(|s| s.name == "bistro_graphql_operations_total")
            .filter_map(|s| s.labels.get("operation").map(String::as_str))
            .collect();
        let trusted = app.app.trusted_documents.0.len();
        assert!(
            operations.len() <= bistro_metrics::OTHER_OPERATION_NAMES + trusted + 2,
            "[{}] {} operation labels: {operations:?}",
            pair.name(),
            operations.len()
        );
        assert!(
            operations.contains("other"),
            "[{}] {operations:?}",
            pair.name()
        );
        assert!(
            !operations.contains("Client999Op"),
            "[{}] the thousandth name is folded into other",
            pair.name()
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn without_metrics_listen_nothing_listens_and_metrics_is_not_served() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        assert!(app.app.config.metrics.listen.is_empty(), "off by default");
        assert_eq!(
            app.metrics_addr,
            None,
            "[{}] no metrics listener",
            pair.name()
        );
        let public = app.client().get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(public.status(), 404, "[{}]", pair.name());
        app.stop().await;
    }
}

#[test]
fn metrics_listen_on_the_public_address_is_refused() {
    let mut config = base_config();
    config.listen = "0.0.0.0:8080".to_owned();
    config.metrics.listen = "127.0.0.1:8080".to_owned();
    let error = config.validate().expect_err("the public address refused");
    assert!(error.to_string().contains("metrics.listen"), "{error}");
    config.metrics.listen = "127.0.0.1:9464".to_owned();
    config.validate().expect("another port is fine");
    config.metrics.listen = "nonsense".to_owned();
    assert!(config.validate().is_err());
}

/// The metric names a Grafana dashboard's queries use.
fn dashboard_metrics(dashboard: &serde_json::Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("a PromQL expression");
            names.extend(
                expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|token| token.starts_with("bistro_"))
                    .map(str::to_owned),
            );
        }
    }
    names
}

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_in_metrics_after_a_short_workload() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ops/grafana/bistro.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("ops/grafana/bistro.json"))
            .expect("the dashboard is JSON");
    let queried = dashboard_metrics(&dashboard);
    assert!(queried.len() >= 15, "{queried:?}");
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |config| {
            config.metrics.listen = "127.0.0.1:0".to_owned();
        })
        .await;
        workload(&app).await;
        // A subscriber, for the live panels.
        let mut ws = app.ws().await;
        ws.init_as(None).await;
        let restaurant =
            bistro_schema::ids::global_id(bistro_schema::ids::NodeType::Restaurant, 1).0;
        ws.subscribe(
            "menu",
            "subscription($id: ID!) { menuItemAvailability(restaurantId: $id) { kind } }",
            json!({ "id": restaurant }),
        )
        .await;
        ws.round_trip().await;
        let exposed: BTreeSet<String> = samples(&app.scrape_metrics().await)
            .into_iter()
            .map(|sample| sample.name)
            .collect();
        let missing: Vec<&String> = queried.difference(&exposed).collect();
        assert!(
            missing.is_empty(),
            "[{}] the dashboard queries metrics /metrics does not have: {missing:?}",
            pair.name()
        );
        app.stop().await;
    }
}
