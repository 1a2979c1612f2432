//! GraphQL over HTTP: every refusal of a malformed request is a 4xx with a
//! GraphQL-shaped, coded error; content negotiation follows the spec.

use bistro_tests::{StorePair, TestApp, error_codes};
use serde_json::{Value, json};

const GQL: &str = "application/graphql-response+json";

struct Reply {
    status: u16,
    content_type: String,
    allow: Option<String>,
    body: Value,
}

async fn send(app: &TestApp, request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("[{}] body is not JSON: {text}", app.pair.name()));
    Reply {
        status,
        content_type,
        allow,
        body,
    }
}

fn post(
    app: &TestApp,
    accept: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    let mut request = app
        .client()
        .post(app.url("/graphql"))
        .header("accept", accept)
        .body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    request
}

fn assert_request_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "body: {:#}", reply.body);
    assert_eq!(error_codes(&reply.body), [code], "body: {:#}", reply.body);
    assert!(
        reply.body.get("data").is_none(),
        "a refused request has no data: {:#}",
        reply.body
    );
    assert!(
        reply.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[tokio::test]
async fn malformed_requests_get_coded_4xx_under_both_media_types() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    for accept in [GQL, "application/json"] {
        let json = Some("application/json");
        assert_request_error(
            &send(&app, post(&app, accept, json, "{not json")).await,
            400,
            "BAD_REQUEST",
        );
        assert_request_error(
            &send(&app, post(&app, accept, json, "")).await,
            400,
            "BAD_REQUEST",
        );
        assert_request_error(
            &send(&app, post(&app, accept, json, "[]")).await,
            400,
            "BAD_REQUEST",
        );
        assert_request_error(
            &send(&app, post(&app, accept, json, "{}")).await,
            400,
            "BAD_REQUEST",
        );
        for bad in [
            json!({"query": 1}),
            json!({"query": {"a": 1}}),
            json!({"query": ["{a}"]}),
            json!({"query": true}),
            json!({"query": "{__typename}", "variables": "{}"}),
            json!({"query": "{__typename}", "variables": [1]}),
            json!({"query": "{__typename}", "variables": 3}),
            json!({"query": "{__typename}", "operationName": 3}),
            json!({"query": "{__typename}", "operationName": {}}),
            json!({"query": "{__typename}", "extensions": "x"}),
            json!({"query": "{__typename}", "extensions": []}),
        ] {
            let reply = send(&app, post(&app, accept, json, bad.to_string())).await;
            assert_request_error(&reply, 400, "BAD_REQUEST");
        }
        // Unsupported or missing content types.
        for ct in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
            Some("application/json; charset=latin1"),
        ] {
            let reply = send(&app, post(&app, accept, ct, r#"{"query":"{__typename}"}"#)).await;
            assert_request_error(&reply, 415, "UNSUPPORTED_MEDIA_TYPE");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn content_negotiation_picks_the_media_type() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let body = r#"{"query":"{ __typename }"}"#;
    for (accept, expected) in [
        (GQL, GQL),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("application/json, application/graphql-response+json", GQL),
    ] {
        let reply = send(&app, post(&app, accept, Some("application/json"), body)).await;
        assert_eq!(reply.status, 200);
        assert!(
            reply.content_type.starts_with(expected),
            "{accept} -> {}",
            reply.content_type
        );
        assert!(reply.content_type.contains("charset=utf-8"));
        assert_eq!(reply.body["data"]["__typename"], "Query");
    }
    // No Accept header at all: application/json.
    let reply = send(
        &app,
        app.client()
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert!(reply.content_type.starts_with("application/json"));
    let reply = send(
        &app,
        post(&app, "text/html", Some("application/json"), body),
    )
    .await;
    assert_request_error(&reply, 406, "NOT_ACCEPTABLE");
    app.stop().await;
}

#[tokio::test]
async fn parse_and_validation_failures_depend_on_the_media_type() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    for (query, code) in [
        ("{ restaurants { ", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "query A { __typename } query B { __typename }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ] {
        let body = json!({"query": query}).to_string();
        let reply = send(
            &app,
            post(&app, GQL, Some("application/json"), body.clone()),
        )
        .await;
        assert_request_error(&reply, 400, code);
        let reply = send(
            &app,
            post(&app, "application/json", Some("application/json"), body),
        )
        .await;
        assert_request_error(&reply, 200, code);
    }
    // A variable of the wrong type is a validation failure too.
    let body = json!({"query": "query($n: Int) { restaurants(first: $n) { edges { cursor } } }", "variables": {"n": "ten"}});
    let reply = send(
        &app,
        post(&app, GQL, Some("application/json"), body.to_string()),
    )
    .await;
    assert_eq!(reply.status, 400, "{:#}", reply.body);
    assert!(reply.body.get("data").is_none());
    assert!(!error_codes(&reply.body).contains(&"<none>".to_owned()));
    app.stop().await;
}

#[tokio::test]
async fn get_serves_queries_and_refuses_mutations() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let get = |params: &[(&str, &str)]| {
        app.client()
            .get(app.url("/graphql"))
            .header("accept", GQL)
            .query(params)
    };

    let reply = send(
        &app,
        get(&[
            (
                "query",
                "query($n: Int) { restaurants(first: $n) { edges { cursor } } }",
            ),
            ("variables", r#"{"n": 2}"#),
        ]),
    )
    .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert_eq!(
        reply.body["data"]["restaurants"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let reply = send(&app, get(&[("query", "mutation { __typename }")])).await;
    assert_request_error(&reply, 405, "METHOD_NOT_ALLOWED");
    assert_eq!(reply.allow.as_deref(), Some("POST"));

    let reply = send(
        &app,
        get(&[
            ("query", "query Q { __typename } mutation M { __typename }"),
            ("operationName", "M"),
        ]),
    )
    .await;
    assert_request_error(&reply, 405, "METHOD_NOT_ALLOWED");

    let reply = send(
        &app,
        get(&[("query", "{ __typename }"), ("variables", "not json")]),
    )
    .await;
    assert_request_error(&reply, 400, "BAD_REQUEST");
    let reply = send(&app, get(&[])).await;
    assert_request_error(&reply, 400, "BAD_REQUEST");

    // Other methods.
    let reply = send(
        &app,
        app.client().put(app.url("/graphql")).header("accept", GQL),
    )
    .await;
    assert_request_error(&reply, 405, "METHOD_NOT_ALLOWED");
    assert_eq!(reply.allow.as_deref(), Some("GET, POST"));
    let reply = send(&app, app.client().delete(app.url("/graphql"))).await;
    assert_eq!(reply.status, 405);
    app.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = TestApp::spawn_with(&StorePair::Embedded, |c| c.http.body_limit_bytes = 4096).await;
    let big = json!({"query": format!("{{ __typename }} # {}", "x".repeat(10_000))}).to_string();
    let reply = send(&app, post(&app, GQL, Some("application/json"), big.clone())).await;
    assert_request_error(&reply, 413, "PAYLOAD_TOO_LARGE");

    // Without a Content-Length (streamed), the limit still holds.
    let stream = futures_util::stream::iter(
        big.into_bytes()
            .chunks(1000)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let reply = send(
        &app,
        post(
            &app,
            GQL,
            Some("application/json"),
            reqwest::Body::wrap_stream(stream),
        ),
    )
    .await;
    assert_request_error(&reply, 413, "PAYLOAD_TOO_LARGE");

    // Just under the limit is fine.
    let ok = json!({"query": "{ __typename }"}).to_string();
    assert_eq!(
        send(&app, post(&app, GQL, Some("application/json"), ok))
            .await
            .status,
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn responses_keep_the_selection_order_of_fields() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let body = app
        .client()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(
            r#"{"query":"{ restaurants(first: 1) { edges { node { slug name id cuisine } } } }"}"#,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = |key: &str| body.find(&format!("\"{key}\"")).unwrap();
    assert!(
        at("slug") < at("name") && at("name") < at("id") && at("id") < at("cuisine"),
        "{body}"
    );
    app.stop().await;
}
