//! OpenTelemetry traces against a real OTLP/HTTP receiver (`bistro_tests::otlp`),
//! on both store pairs: the span tree of one composed request and of one
//! checkout, each continuing the caller's W3C `traceparent`.
//!
//! The exporter's layer is this test's thread's subscriber (the server
//! serves on the test's runtime, so it sees every span of the test's
//! requests and none of other tests'); SQL statements' spans go through
//! OpenTelemetry's global tracer provider, which this test sets. The
//! sampling ratio is 0: every span here is kept because its caller's
//! `traceparent` says so (`ParentBased`), and a caller that says no gets none.

use std::collections::HashMap;

use bistro_server::config::TelemetrySettings;
use bistro_server::telemetry;
use bistro_tests::otlp::{ReceivedSpan, Receiver};
use bistro_tests::{TestApp, operation, store_pairs};
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt as _;

use crate::ordering::{add, amount, currency, new_item, pickup};

/// A fresh trace id and the `traceparent` of a caller's span in it.
fn caller(sampled: bool) -> (String, String, String) {
    let trace_id = format!("{:032x}", fastrand_u128());
    let span_id = format!("{:016x}", fastrand_u128() as u64 | 1);
    let flags = if sampled { "01" } else { "00" };
    let traceparent = format!("00-{trace_id}-{span_id}-{flags}");
    (trace_id, span_id, traceparent)
}

fn fastrand_u128() -> u128 {
    // Two v4 UUIDs' worth of randomness, without another dependency.
    uuid::Uuid::new_v4().as_u128() | 1
}

/// Runs the named operation as `token` with `traceparent`; asserts 200 and no errors.
async fn run_traced(
    app: &TestApp,
    token: Option<&str>,
    name: &str,
    variables: Value,
    traceparent: &str,
) -> Value {
    let mut request = app
        .client()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("traceparent", traceparent);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request
        .body(json!({ "query": operation(name), "variables": variables }).to_string())
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("a JSON body");
    assert!(body.get("errors").is_none(), "{name}: {body:#}");
    body["data"].clone()
}

/// The spans of one trace, checked to be one tree under the caller's span:
/// one server span whose parent is `caller_span`, every other span's
/// parent in the trace. Returns the server span and every span by id.
fn tree<'a>(
    spans: &'a [ReceivedSpan],
    caller_span: &str,
) -> (&'a ReceivedSpan, HashMap<&'a str, &'a ReceivedSpan>) {
    let by_id: HashMap<&str, &ReceivedSpan> = spans
        .iter()
        .map(|span| (span.span_id.as_str(), span))
        .collect();
    let roots: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|span| !by_id.contains_key(span.parent_span_id.as_str()))
        .collect();
    assert_eq!(
        roots.len(),
        1,
        "one root in the trace: {:#?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let root = roots[0];
    assert_eq!(
        root.parent_span_id, caller_span,
        "the caller's span is the parent"
    );
    assert_eq!(root.kind, 2, "the request's span is a server span");
    assert_eq!(root.service, "bistro");
    for span in spans {
        assert!(span.start <= span.end, "{span:?}");
    }
    (root, by_id)
}

/// Whether `span` descends from `ancestor`.
fn under(span: &ReceivedSpan, ancestor: &str, by_id: &HashMap<&str, &ReceivedSpan>) -> bool {
    let mut parent = span.parent_span_id.as_str();
    while let Some(next) = by_id.get(parent) {
        if next.span_id == ancestor {
            return true;
        }
        parent = next.parent_span_id.as_str();
    }
    false
}

/// The exported spans of `trace_id`, once the exporter has flushed.
async fn exported(
    provider: &opentelemetry_sdk::trace::SdkTracerProvider,
    receiver: &Receiver,
    trace_id: &str,
) -> Vec<ReceivedSpan> {
    let provider = provider.clone();
    // Blocks until the batch is posted, which this runtime answers: off its thread.
    tokio::task::spawn_blocking(move || provider.force_flush())
        .await
        .expect("the flush")
        .expect("the spans exported");
    receiver.trace(trace_id)
}

#[tokio::test]
async fn a_composed_request_and_a_checkout_export_their_span_trees_in_the_callers_trace() {
    let receiver = Receiver::start().await;
    let settings = TelemetrySettings {
        otlp_endpoint: receiver.endpoint(),
        sample_ratio: 0.0,
    };
    let provider = telemetry::tracer_provider(&settings)
        .expect("the exporter")
        .expect("traces on");
    opentelemetry::global::set_tracer_provider(provider.clone());
    let _subscriber = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(telemetry::otel_layer(&provider)),
    );
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |config| config.telemetry = settings.clone()).await;
        let name = pair.name();

        // The composed page: the request, its loader batches, their SQL
        // statements and key-value command batches.
        let (trace_id, caller_span, traceparent) = caller(true);
        run_traced(
            &app,
            None,
            "RestaurantPage",
            json!({ "first": 3, "menuFirst": 5 }),
            &traceparent,
        )
        .await;
        let spans = exported(&provider, &receiver, &trace_id).await;
        let (request, by_id) = tree(&spans, &caller_span);
        assert_eq!(request.name, "query RestaurantPage", "[{name}]");
        assert_eq!(
            request.attributes["graphql.operation.name"],
            "RestaurantPage"
        );
        assert_eq!(request.attributes["graphql.operation.type"], "query");
        let batches: Vec<_> = spans
            .iter()
            .filter(|s| s.attributes.contains_key("loader"))
            .collect();
        assert!(!batches.is_empty(), "[{name}] loader batches: {spans:#?}");
        for batch in &batches {
            assert_eq!(batch.parent_span_id, request.span_id, "[{name}] {batch:?}");
            assert_eq!(batch.name, batch.attributes["loader"]);
            assert!(
                batch.attributes["keys"].parse::<u64>().unwrap() >= 1,
                "{batch:?}"
            );
        }
        let statements: Vec<_> = spans
            .iter()
            .filter(|s| s.attributes.contains_key("db.collection.name"))
            .collect();
        assert!(
            !statements.is_empty(),
            "[{name}] SQL statements: {spans:#?}"
        );
        for statement in &statements {
            assert!(
                under(statement, &request.span_id, &by_id),
                "[{name}] {statement:?}"
            );
            assert_eq!(statement.kind, 3, "a statement is a client span");
            let expected = format!(
                "{} {}",
                statement.attributes["db.operation.name"],
                statement.attributes["db.collection.name"]
            );
            assert_eq!(
                statement.name, expected,
                "named by keyword and table, no values"
            );
            assert!(
                !statement.name.contains(['"', '\'', '$', '(', '?']),
                "{statement:?}"
            );
        }
        assert!(
            statements
                .iter()
                .any(|s| s.attributes["db.collection.name"] == "restaurants"),
            "[{name}] the restaurants' statement: {statements:#?}"
        );
        let commands: Vec<_> = spans.iter().filter(|s| s.name.starts_with("kv ")).collect();
        assert!(
            !commands.is_empty(),
            "[{name}] key-value command batches: {spans:#?}"
        );
        for command in &commands {
            assert!(
                under(command, &request.span_id, &by_id),
                "[{name}] {command:?}"
            );
            assert!(
                command.attributes["db.operation.batch.size"]
                    .parse::<u64>()
                    .unwrap()
                    >= 1
            );
        }
        // A loader's statements are its children.
        assert!(
            statements
                .iter()
                .any(|s| batches.iter().any(|b| b.span_id == s.parent_span_id)),
            "[{name}] a statement under a loader batch"
        );

        // A checkout: the mutation, its payment provider call and the
        // order's insert, in the caller's trace although the checkout runs
        // in a task of its own.
        let (_, item) = new_item(&app, 1, "Traced soup", 650, None).await;
        let (_, token) = app.new_customer("traced").await;
        let total = amount(650, &currency(&app, 1).await);
        let added = add(&app, &token, json!({ "menuItemId": item })).await;
        assert_eq!(added["userErrors"], json!([]), "{added}");
        let (trace_id, caller_span, traceparent) = caller(true);
        let placed = run_traced(
            &app,
            Some(&token),
            "Checkout",
            json!({ "input": pickup("traced-checkout", &total, "tok_visa") }),
            &traceparent,
        )
        .await;
        assert_eq!(placed["checkout"]["userErrors"], json!([]), "{placed}");
        let spans = exported(&provider, &receiver, &trace_id).await;
        let (request, by_id) = tree(&spans, &caller_span);
        assert_eq!(request.name, "mutation Checkout", "[{name}]");
        let payment = spans
            .iter()
            .find(|s| s.name == "simulated authorize")
            .unwrap_or_else(|| panic!("[{name}] the authorization: {spans:#?}"));
        assert!(under(payment, &request.span_id, &by_id));
        assert_eq!(payment.attributes["payment.operation"], "authorize");
        assert_eq!(payment.kind, 3);
        let insert = spans
            .iter()
            .find(|s| s.name == "INSERT orders")
            .unwrap_or_else(|| panic!("[{name}] the order's insert: {spans:#?}"));
        assert!(under(insert, &request.span_id, &by_id));
        assert!(
            insert.start >= payment.end,
            "[{name}] the order is written after the card is authorized"
        );

        // A caller that does not sample: nothing of its trace is exported.
        let (trace_id, _, traceparent) = caller(false);
        run_traced(
            &app,
            None,
            "RestaurantPage",
            json!({ "first": 1, "menuFirst": 1 }),
            &traceparent,
        )
        .await;
        assert!(exported(&provider, &receiver, &trace_id).await.is_empty());
        app.stop().await;
    }
}
