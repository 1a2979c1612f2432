//! OpenTelemetry traces against a real OTLP/HTTP receiver (`bistro_tests::otlp`),
//! on both store pairs: the span tree of one composed request and of one
//! checkout, each continuing the caller's W3C `traceparent`.
//!
//! Then the work no caller starts, each piece in a trace of its own: an
//! operation over WebSocket, an email's delivery over SMTP, and recovery
//! settling a pending step.
//!
//! The exporter's layer is the subscriber a server has: the process's
//! global default, so the test runs in a process of its own (see
//! [`a_composed_request_and_a_checkout_export_their_span_trees_in_the_callers_trace`]).
//! SQL statements' spans go through OpenTelemetry's global tracer
//! provider, which this test sets, so the whole of it is one test. The sampling ratio is 1, so that every trace
//! that starts here is kept; a caller's `traceparent` decides for its own
//! request (`ParentBased`): a caller that says no gets no span.

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

/// The exported spans of the trace of a request whose caller's span is
/// `caller_span`, once its own span is among them. A request's span ends
/// when the server has dropped everything of the request, which can come
/// just after its client has the answer (a loaded machine showed it): the
/// flush is asked again until the span is there, for at most ten seconds.
async fn exported_request(
    provider: &opentelemetry_sdk::trace::SdkTracerProvider,
    receiver: &Receiver,
    trace_id: &str,
    caller_span: &str,
) -> Vec<ReceivedSpan> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let spans = exported(provider, receiver, trace_id).await;
        if spans.iter().any(|s| s.parent_span_id == caller_span)
            || tokio::time::Instant::now() >= deadline
        {
            return spans;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Set in the process of its own that runs [`spans_in_a_process_of_their_own`].
const OWN_PROCESS: &str = "BISTRO_TEST_TRACES_OWN_PROCESS";

/// Runs [`spans_in_a_process_of_their_own`] in a process of its own.
///
/// Its subscriber has to be the process's global default, as a server's is
/// (`telemetry::init`): tracing-subscriber's registry closes a span's
/// parent through the default subscriber of the thread where the child
/// closes, and SQLite's statements run on threads of their own (sqlx's
/// connection workers), which enter the span of the work that sent them
/// and sometimes drop it last. With the subscriber the default of the
/// test's thread only, such a parent never closed, so it was never
/// exported: one run in four or five on SQLite lost the recovery's span, a
/// request's or a subscription's start. The test binary runs every test in
/// one process, where a global subscriber would take every other test's
/// spans too.
#[test]
fn a_composed_request_and_a_checkout_export_their_span_trees_in_the_callers_trace() {
    let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "traces::spans_in_a_process_of_their_own",
            "--include-ignored",
            "--nocapture",
        ])
        .env(OWN_PROCESS, "1")
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "the traces test in its own process:\n{stdout}\n{stderr}"
    );
}

#[tokio::test]
#[ignore = "run in a process of its own by a_composed_request_and_a_checkout_export_their_span_trees_in_the_callers_trace"]
async fn spans_in_a_process_of_their_own() {
    assert_eq!(
        std::env::var(OWN_PROCESS).as_deref(),
        Ok("1"),
        "run by a_composed_request_and_a_checkout_export_their_span_trees_in_the_callers_trace, in a process of its own"
    );
    let receiver = Receiver::start().await;
    let settings = TelemetrySettings {
        otlp_endpoint: receiver.endpoint(),
        sample_ratio: 1.0,
    };
    let provider = telemetry::tracer_provider(&settings)
        .expect("the exporter")
        .expect("traces on");
    opentelemetry::global::set_tracer_provider(provider.clone());
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(telemetry::otel_layer(&provider)),
    )
    .expect("the first subscriber of this process");
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
        let spans = exported_request(&provider, &receiver, &trace_id, &caller_span).await;
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
        let spans = exported_request(&provider, &receiver, &trace_id, &caller_span).await;
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

        on_its_own(&app, &provider, &receiver).await;
        app.stop().await;
    }
}

/// The work no caller starts, each in a trace of its own: an operation over
/// WebSocket, the checkout's confirmation email sent over SMTP, and a dead
/// checkout's step settled by recovery.
async fn on_its_own(
    app: &TestApp,
    provider: &opentelemetry_sdk::trace::SdkTracerProvider,
    receiver: &Receiver,
) {
    let name = app.pair.name();
    // The spans exported so far, from the `from`th on (the receiver holds
    // those of the pairs before this one too), once `count` spans named
    // `until` are among them: a span ends when the last of its work is
    // dropped, which can come just after the test sees the work's result,
    // so the flush is asked again until they are there (ten seconds at most).
    let flushed = |from: usize, until: &'static str, count: usize| async move {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let provider = provider.clone();
            tokio::task::spawn_blocking(move || provider.force_flush())
                .await
                .expect("the flush")
                .expect("the spans exported");
            let spans = receiver.spans().split_off(from);
            if spans.iter().filter(|s| s.name == until).count() >= count
                || tokio::time::Instant::now() >= deadline
            {
                return spans;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let from = flushed(0, "", 0).await.len();
    let children = |spans: &[ReceivedSpan], parent: &ReceivedSpan| -> Vec<ReceivedSpan> {
        spans
            .iter()
            .filter(|s| s.trace_id == parent.trace_id && s.parent_span_id == parent.span_id)
            .cloned()
            .collect()
    };

    // A query over WebSocket: a server span that starts its trace, named
    // after the operation, with the loader batches below it.
    let mut ws =
        bistro_tests::ws::WsClient::connect(&app.ws_url(), Some("graphql-transport-ws")).await;
    ws.init_as(None).await;
    ws.subscribe(
        "1",
        &operation("RestaurantPage"),
        json!({ "first": 2, "menuFirst": 2 }),
    )
    .await;
    let page = ws.next("1").await;
    assert!(page.get("errors").is_none(), "[{name}] {page:#}");
    assert_eq!(ws.message().await, json!({ "type": "complete", "id": "1" }));
    let spans = flushed(from, "query RestaurantPage", 1).await;
    let request = spans
        .iter()
        .find(|s| s.name == "query RestaurantPage" && s.parent_span_id.is_empty())
        .unwrap_or_else(|| panic!("[{name}] the WebSocket query's span: {spans:#?}"));
    assert_eq!(request.kind, 2, "[{name}] a server span");
    assert!(
        children(&spans, request)
            .iter()
            .any(|s| s.attributes.contains_key("loader")),
        "[{name}] a loader batch under the WebSocket query"
    );

    // A subscription: its start in the operation's span, then each event
    // in a trace of its own, from its arrival to its response, with the
    // loads it needs below it.
    let restaurant = crate::ordering::gid(bistro_schema::ids::NodeType::Restaurant, 1);
    ws.subscribe(
        "2",
        &operation("MenuItemAvailability"),
        json!({ "restaurantId": restaurant }),
    )
    .await;
    ws.round_trip().await;
    let (_, dish) = new_item(app, 1, "Traced dish", 900, None).await;
    let staff = crate::subscriptions::staff_1(app).await;
    let toggled_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_nanos() as u64;
    crate::subscriptions::toggle(app, &staff, &dish, false).await;
    let event = ws.next("2").await;
    assert_eq!(
        event["data"]["menuItemAvailability"]["menuItem"]["name"], "Traced dish",
        "[{name}] {event:#}"
    );
    let spans = flushed(from, "subscription MenuItemAvailability event", 1).await;
    let start = spans
        .iter()
        .find(|s| s.name == "subscription MenuItemAvailability" && s.parent_span_id.is_empty())
        .unwrap_or_else(|| panic!("[{name}] the subscription's start: {spans:#?}"));
    assert!(
        children(&spans, start)
            .iter()
            .any(|s| s.attributes.contains_key("loader")),
        "[{name}] the start's load of the restaurant under it"
    );
    let delivered = spans
        .iter()
        .find(|s| s.name == "subscription MenuItemAvailability event")
        .unwrap_or_else(|| panic!("[{name}] the event's span: {spans:#?}"));
    assert!(
        delivered.parent_span_id.is_empty(),
        "[{name}] its own trace"
    );
    assert_ne!(delivered.trace_id, start.trace_id, "[{name}]");
    assert!(
        children(&spans, delivered)
            .iter()
            .any(|s| s.attributes.contains_key("loader")),
        "[{name}] the event's load of its menu item under it: {spans:#?}"
    );
    // Neither span covers the wait between them.
    assert!(
        start.end < toggled_at,
        "[{name}] the start ends once it waits"
    );
    assert!(
        delivered.start > toggled_at,
        "[{name}] the event's span begins with the event"
    );

    // The confirmation email of the checkout above, sent over SMTP.
    let smtp = bistro_tests::smtp::SmtpServer::start().await;
    let settings = app.app.config.mail.clone();
    let delivery = bistro_mail::Delivery::from_settings(
        std::path::Path::new("unused"),
        &smtp.url(),
        &settings.from,
    )
    .expect("an SMTP delivery");
    let sent = bistro_mail::Worker::new(app.app.db.clone(), delivery, settings, "traced")
        .run_once()
        .await
        .expect("an outbox round");
    assert!(sent >= 1, "[{name}] the confirmation email was due");
    let spans = flushed(from, "outbox deliver", sent).await;
    let deliveries: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name == "outbox deliver")
        .collect();
    assert_eq!(
        deliveries.len(),
        sent,
        "[{name}] a span per message: {spans:#?}"
    );
    for message in deliveries {
        assert!(message.parent_span_id.is_empty(), "[{name}] its own trace");
        assert_eq!(message.kind, 5, "[{name}] a consumer span");
        assert!(
            !message.attributes.values().any(|v| v.contains('@')),
            "[{name}] no address: {message:?}"
        );
        let smtp_send = children(&spans, message);
        assert!(
            smtp_send
                .iter()
                .any(|s| s.name == "smtp send" && s.kind == 3),
            "[{name}] the SMTP exchange under its message: {smtp_send:#?}"
        );
    }

    // A checkout whose request died before taking stock or money, settled
    // by a sweep: a span of its own, its provider call and statements below.
    crate::races::dead_checkout(app, "traced-dead").await;
    assert_eq!(app.recover().await.settled, 1, "[{name}]");
    let spans = flushed(from, "recovery settle", 1).await;
    let settle = spans
        .iter()
        .find(|s| s.name == "recovery settle")
        .unwrap_or_else(|| panic!("[{name}] recovery's span: {spans:#?}"));
    assert!(settle.parent_span_id.is_empty(), "[{name}] its own trace");
    assert_eq!(
        settle.attributes["step.kind"], "Checkout",
        "[{name}] {settle:?}"
    );
    let below = children(&spans, settle);
    assert!(
        below
            .iter()
            .any(|s| s.attributes.contains_key("payment.operation")),
        "[{name}] the provider asked where the payment stands: {below:#?}"
    );
    assert!(
        below.iter().any(|s| s.name.starts_with("DELETE")),
        "[{name}] the step deleted: {below:#?}"
    );
}
