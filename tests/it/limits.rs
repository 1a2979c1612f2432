//! Hostile queries are refused before they touch a store, with a coded error.

use bistro_tests::{StorePair, TestApp, error_codes, operation, round_trips, store_pairs};
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
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let query = nested(12);
        assert!(
            query.matches('{').count() >= 50,
            "the query nests at least 50 deep"
        );
        let (status, body) = app.graphql(&query, json!({})).await;
        assert_eq!(status, 400, "[{}] {body:#}", pair.name());
        assert_eq!(error_codes(&body), ["MAX_DEPTH_EXCEEDED"]);
        assert!(body.get("data").is_none());
        assert_eq!(
            round_trips(&body),
            (0, 0),
            "refused before any store round trip"
        );
        // The message names the configured limit.
        assert_eq!(
            body["errors"][0]["message"],
            "The query nests 55 fields deep; the limit is 15."
        );

        // Nested past the parser's own guard: the same code, the configured number.
        let deep = format!("{}{}", "{ a ".repeat(200), "}".repeat(200));
        let (status, body) = app.graphql(&deep, json!({})).await;
        assert_eq!(status, 400, "{body:#}");
        assert_eq!(error_codes(&body), ["MAX_DEPTH_EXCEEDED"]);
        assert_eq!(
            body["errors"][0]["message"],
            "The query nests more than 15 levels deep; the limit is 15."
        );

        // Within the limit, the same shape runs.
        let (status, body) = app.graphql(&nested(1), json!({})).await;
        assert_eq!(status, 200, "{body:#}");
        assert!(body.get("errors").is_none());
        app.stop().await;
    }
}

/// graphql-js 16.11's `getIntrospectionQuery()` with every option on
/// (descriptions, specifiedByUrl, directiveIsRepeatable, schemaDescription,
/// inputValueDeprecation): what GraphiQL, GraphQL Code Generator and
/// Apollo's tools send. Its `TypeRef` fragment nests `ofType` nine levels.
#[tokio::test]
async fn the_standard_introspection_query_answers_in_full() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (status, body) = app
            .graphql(&operation("IntrospectionQuery"), json!({}))
            .await;
        assert_eq!(status, 200, "[{}] {body:#}", pair.name());
        assert!(body.get("errors").is_none(), "{body:#}");
        let schema = &body["data"]["__schema"];
        assert_eq!(schema["queryType"]["name"], "Query");
        assert_eq!(schema["mutationType"]["name"], "Mutation");
        let types = schema["types"].as_array().expect("types");
        let restaurant = types
            .iter()
            .find(|t| t["name"] == "Restaurant")
            .expect("Restaurant is introspected");
        assert!(
            restaurant["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        assert!(
            restaurant["fields"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
        );
        assert!(
            schema["directives"]
                .as_array()
                .is_some_and(|d| d.iter().any(|d| d["name"] == "deprecated"))
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn introspection_is_bounded_on_its_own_terms() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let aliased: String = (0..1000)
        .map(|i| format!("s{i}: __schema {{ description }} "))
        .collect();
    let (status, body) = app.graphql(&format!("{{ {aliased} }}"), json!({})).await;
    assert_eq!(status, 400, "{body:#}");
    assert_eq!(error_codes(&body), ["INTROSPECTION_LIMIT_EXCEEDED"]);

    // Lists inside lists multiply the answer by the schema's size each level.
    let (status, body) = app
        .graphql(
            "{ __type(name: \"Query\") { fields { type { fields { type { fields { type { fields { name } } } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "{body:#}");
    assert_eq!(error_codes(&body), ["INTROSPECTION_LIMIT_EXCEEDED"]);

    // A few roots are fine.
    let (status, body) = app
        .graphql(
            "{ a: __type(name: \"Query\") { name } b: __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["data"]["a"]["name"], "Query");
    app.stop().await;
}

#[tokio::test]
async fn aliases_of_fields_that_run_their_own_statement_are_bounded() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        // 1,000 aliased searches: 1,000 statements if it ran.
        let searches = |n: usize| -> String {
            let fields: String = (0..n)
                .map(|i| {
                    format!("s{i}: searchMenu(query: \"soup\", first: 1) {{ edges {{ cursor }} }} ")
                })
                .collect();
            format!("{{ {fields} }}")
        };
        let (status, body) = app.graphql(&searches(1000), json!({})).await;
        assert_eq!(status, 400, "[{}] {body:#}", pair.name());
        assert_eq!(error_codes(&body), ["MAX_SELECTIONS_EXCEEDED"]);
        assert_eq!(round_trips(&body), (0, 0));
        // Few enough selections, but each search is priced as the statement it runs.
        let (status, body) = app.graphql(&searches(60), json!({})).await;
        assert_eq!(status, 400, "{body:#}");
        assert_eq!(error_codes(&body), ["MAX_COMPLEXITY_EXCEEDED"]);
        assert_eq!(round_trips(&body), (0, 0));
        // A handful runs, one statement each.
        let (status, body) = app.graphql(&searches(3), json!({})).await;
        assert_eq!(status, 200, "{body:#}");
        assert_eq!(round_trips(&body), (3, 0));

        // 50,000 `__typename` selections never reach validation's pairwise checks.
        let typenames = format!("{{ {} }}", "__typename ".repeat(50_000));
        let (status, body) = app.graphql(&typenames, json!({})).await;
        assert_eq!(status, 400, "{body:#}");
        assert_eq!(error_codes(&body), ["MAX_SELECTIONS_EXCEEDED"]);
        assert_eq!(round_trips(&body), (0, 0));

        // Fragments that double at every level are measured once each and refused.
        let mut doubling = String::from("{ ...F0 }");
        for i in 0..40 {
            doubling.push_str(&format!(
                " fragment F{i} on Query {{ ...F{next} ...F{next} }}",
                next = i + 1
            ));
        }
        doubling.push_str(" fragment F40 on Query { __typename }");
        let (status, body) = app.graphql(&doubling, json!({})).await;
        assert_eq!(status, 400, "{body:#}");
        assert_eq!(error_codes(&body), ["MAX_SELECTIONS_EXCEEDED"]);
        app.stop().await;
    }
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

    // Aliases multiply cost too: 200 aliased lists of 100 items each.
    let aliases: String = (0..200)
        .map(|i| format!("a{i}: restaurants(first: 100) {{ edges {{ cursor }} }} "))
        .collect();
    let (status, body) = app.graphql(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(error_codes(&body), ["MAX_COMPLEXITY_EXCEEDED"]);
    // 2,000 of them are too many selections before complexity is even computed.
    let aliases: String = (0..2000)
        .map(|i| format!("a{i}: restaurants(first: 100) {{ edges {{ cursor }} }} "))
        .collect();
    let (status, body) = app.graphql(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(error_codes(&body), ["MAX_SELECTIONS_EXCEEDED"]);
    app.stop().await;
}

#[tokio::test]
async fn limits_come_from_configuration() {
    let app = TestApp::spawn_with(&StorePair::Embedded, |c| {
        c.graphql.max_depth = 4;
        // The root list costs its statement (2,000) plus 2 per restaurant here.
        c.graphql.max_complexity = 2_100;
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

#[tokio::test]
async fn a_document_seen_before_is_checked_like_a_new_one() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        // Complexity depends on the variables: measured on every request,
        // also once the document is known valid and skips the rules.
        let query = "query($n: Int!) { restaurants(first: $n) { edges { node { menu(first: 100) { edges { node {
            restaurant { menu(first: 100) { edges { node { name } } } } } } } } } } }";
        let (status, body) = app.graphql(query, json!({"n": 1})).await;
        assert_eq!(status, 200, "[{}] {body:#}", pair.name());
        assert!(body.get("errors").is_none(), "{body:#}");
        let (status, body) = app.graphql(query, json!({"n": 10})).await;
        assert_eq!(status, 400, "{body:#}");
        assert_eq!(error_codes(&body), ["MAX_COMPLEXITY_EXCEEDED"]);
        assert_eq!(
            body["errors"][0]["message"],
            "The query is more complex than the limit of 100000."
        );
        assert_eq!(round_trips(&body), (0, 0));
        // An invalid document is refused every time, never remembered as valid.
        for _ in 0..2 {
            let (status, body) = app
                .graphql("{ restaurants { edges { node { nope } } } }", json!({}))
                .await;
            assert_eq!(status, 400, "{body:#}");
            assert_eq!(error_codes(&body), ["GRAPHQL_VALIDATION_FAILED"]);
        }
        app.stop().await;
    }
}
