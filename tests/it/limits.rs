//! Hostile queries are refused before they touch a store, with a coded error.

use bistro_tests::{StorePair, TestApp, error_codes, round_trips};
use serde_json::json;

/// `{ restaurants { edges { node { menu { edges { node { restaurant { menu … } } } } } } } }`, `levels` times.
fn nested(levels: usize) -> String {
    let mut query = String::from("name");
    for _ in 0..levels {
        query = format!("restaurant {{ menu(first: 1) {{ edges {{ node {{ {query} }} }} }} }}");
    }
    format!(
        "{{ restaurants(first: 1) {{ edges {{ node {{ menu(first: 1) {{ edges {{ node {{ {query} }} }} }} }} }} }} }}"
    )
}

#[tokio::test]
async fn a_query_nested_fifty_deep_is_refused_before_any_store_is_touched() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let query = nested(12);
    assert!(
        query.matches('{').count() >= 50,
        "the query nests at least 50 deep"
    );
    let (status, body) = app.graphql(&query, json!({})).await;
    assert_eq!(status, 400, "{body:#}");
    assert_eq!(error_codes(&body), ["MAX_DEPTH_EXCEEDED"]);
    assert!(body.get("data").is_none());
    assert_eq!(
        round_trips(&body),
        (0, 0),
        "refused before any store round trip"
    );

    // Within the limit, the same shape runs.
    let (status, body) = app.graphql(&nested(1), json!({})).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body.get("errors").is_none());
    app.stop().await;
}

#[tokio::test]
async fn a_query_asking_for_a_million_nodes_is_refused() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    // 100 restaurants x 100 items x 100 items of their restaurant's menu.
    let query = "{ restaurants(first: 100) { edges { node { menu(first: 100) { edges { node {
        restaurant { menu(first: 100) { edges { node { name } } } } } } } } } } }";
    let (status, body) = app.graphql(query, json!({})).await;
    assert_eq!(status, 400, "{body:#}");
    assert_eq!(error_codes(&body), ["MAX_COMPLEXITY_EXCEEDED"]);
    assert_eq!(round_trips(&body), (0, 0));

    // Aliases multiply cost too: 2,000 aliased lists of 100 items each.
    let aliases: String = (0..2000)
        .map(|i| format!("a{i}: restaurants(first: 100) {{ edges {{ cursor }} }} "))
        .collect();
    let (status, body) = app.graphql(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(error_codes(&body), ["MAX_COMPLEXITY_EXCEEDED"]);
    app.stop().await;
}

#[tokio::test]
async fn limits_come_from_configuration() {
    let app = TestApp::spawn_with(&StorePair::Embedded, |c| {
        c.graphql.max_depth = 4;
        c.graphql.max_complexity = 50;
    })
    .await;
    let (_, body) = app
        .graphql(
            "{ restaurants(first: 1) { edges { node { menu(first: 1) { edges { cursor } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&body), ["MAX_DEPTH_EXCEEDED"], "{body:#}");
    let (_, body) = app
        .graphql("{ restaurants(first: 60) { edges { cursor } } }", json!({}))
        .await;
    assert_eq!(error_codes(&body), ["MAX_COMPLEXITY_EXCEEDED"], "{body:#}");
    let (status, _) = app
        .graphql("{ restaurants(first: 2) { edges { cursor } } }", json!({}))
        .await;
    assert_eq!(status, 200);
    app.stop().await;
}
