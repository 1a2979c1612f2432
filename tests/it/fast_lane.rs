//! The executor's fast lane against the general executor, at run time.
//!
//! Fields whose resolver is a plain `fn` of a type that resolves now
//! (`OutputType::RESOLVES_NOW` in the vendored async-graphql) are resolved
//! while the selection is walked, without a future each; `graphql.fast_path
//! = false` resolves every field through its future, as async-graphql does.
//! Objects that may resolve now (`MAY_RESOLVE_NOW`) are attempted: the
//! attempt is given up at the first field that must wait (a loader, a guard,
//! data not loaded ahead), what it reported is taken back, and the object is
//! resolved with its future; a field below which an attempt failed is not
//! attempted again in the request.
//! The golden responses (`golden.rs`, recorded by the general executor)
//! prove the project's own operations answer the same. This test sends the
//! shapes those operations do not hold, the ones where the fast lane has
//! work of its own to get right, to two servers on the same data, one per
//! executor, and compares the answers byte for byte: a key selected twice
//! (merged), aliases, fragments spread and inline, on an object and through
//! an interface, `__typename` on every kind of object, `@include`/`@skip`
//! on fast fields and on objects made only of them, lists of enums and of
//! such objects, null options, and fields that fail beside fast ones.

use bistro_tests::redis::OwnRedis;
use bistro_tests::{DEMO_PASSWORD, StorePair, TestApp};
use serde_json::{Value, json};

use crate::snapshots::app_seeded_at_noon_with;

/// The documents, each sent as every caller with the same variables.
const DOCUMENTS: &[&str] = &[
    // The same keys selected again, by fragments and inline fragments, and aliased.
    r#"query Merged($first: Int!) {
      restaurants(first: $first) {
        edges {
          cursor
          node {
            id
            name
            n: name
            ...RestaurantNames
            ... on Restaurant { name slug rating { count } }
            menu(first: 3) {
              edges { node { id name price { amount } ...Priced } }
              edges { node { price { currencyCode } dietary } }
            }
          }
        }
        pageInfo { hasNextPage }
        pageInfo { endCursor startCursor }
      }
    }
    fragment RestaurantNames on Restaurant { id slug cuisine name }
    fragment Priced on MenuItem { price { amount currencyCode __typename } course }"#,
    // `__typename` on the root, on connections, edges, objects made only of
    // fast fields (Money, Popularity, PageInfo) and objects that are not.
    r#"query Typenames($first: Int!) {
      __typename
      restaurants(first: $first) {
        __typename
        pageInfo { __typename hasNextPage hasPreviousPage }
        edges {
          __typename
          node {
            __typename
            rating { __typename average count }
            menu(first: 2) {
              __typename
              edges { __typename node { __typename id price { __typename amount } popularity { __typename ordersToday rank } } }
            }
            trendingItems(limit: 2) { __typename rank item { __typename name } }
          }
        }
      }
    }"#,
    // Directives on fast fields and on objects of fast fields.
    r#"query Directives($first: Int!, $yes: Boolean!, $no: Boolean!) {
      restaurants(first: $first) {
        edges {
          node {
            id @include(if: $yes)
            name @skip(if: $yes)
            slug @skip(if: $no)
            openingHours @include(if: $yes) { day opens @skip(if: $yes) closes }
            menu(first: 2) @include(if: $yes) {
              edges {
                node {
                  price @include(if: $no) { amount }
                  p: price @include(if: $yes) { amount @skip(if: $no) currencyCode @include(if: $no) }
                  ... @include(if: $yes) { name available }
                  ... @skip(if: $yes) { description }
                }
              }
            }
          }
        }
      }
    }"#,
    // Through the Node interface: fast fields of the concrete types, by
    // fragment; ids that exist, do not, and are not ids.
    r#"query ThroughNode($ids: [ID!]!) {
      nodes(ids: $ids) {
        __typename
        id
        ... on Restaurant { name currencyCode openingHours { day opens closes } }
        ... on MenuItem { name course dietary available dailyStock price { amount currencyCode } }
        ...ItemStock
      }
    }
    fragment ItemStock on MenuItem { stockRemaining dailyStock }"#,
    // Fast fields beside fields that fail: another customer's orders, a
    // staff-only field, an item that is not there.
    r#"query Failing($first: Int!) {
      restaurants(first: $first) {
        edges {
          node {
            id
            name
            orders(first: 1) { edges { node { id status } } }
            menu(first: 1) { edges { node { id name restaurant { name } } } }
          }
        }
      }
      me { id email role displayName worksFor { name } orders(first: 2) { edges { node { id status total { amount currencyCode } lines { quantity name unitPrice { amount } } } } } }
      cuisines { __typename }
    }"#,
];

/// Documents where objects that may resolve now do, and where their
/// attempts are given up: popularity loaded ahead by the menu page and not
/// (an item reached through `nodes` or a trending item), a trending item's
/// item loaded ahead, fields that must wait after fields that need not
/// (`restaurant`, `stockRemaining`, `totalCount`), the same list selected
/// twice with and without such a field (merged), and the same field in
/// many objects after one attempt below it failed.
const ATTEMPTS: &[&str] = &[
    r#"query Ahead($first: Int!, $ids: [ID!]!) {
      restaurants(first: $first) {
        edges {
          cursor
          node {
            id
            name
            menu(first: 3) {
              totalCount
              pageInfo { hasNextPage endCursor }
              edges { cursor node { id name popularity { ordersToday rank } price { amount } } }
              nodes { name popularity { rank } }
              late: edges { node { name popularity { ordersToday } restaurant { name } } }
              stock: nodes { name dailyStock stockRemaining }
              edges { node { course restaurant { slug } } }
            }
            trendingItems(limit: 3) { rank ordersToday item { id name popularity { ordersToday rank } price { amount } } }
            t2: trendingItems(limit: 2) { item { name restaurant { slug } } }
          }
        }
      }
      nodes(ids: $ids) { id ... on MenuItem { name popularity { ordersToday rank } } }
    }"#,
    r#"query Later($first: Int!) {
      restaurants(first: $first) {
        edges { node { name menu(first: 2) { edges { node { name optionGroups { name options { name } } price { amount } } } } } }
      }
    }"#,
];

/// Every document's answer on `app` as each caller, in order.
async fn answers(app: &TestApp, tokens: &[Option<String>], variables: &Value) -> Vec<String> {
    let mut answers = Vec::new();
    for document in DOCUMENTS.iter().chain(ATTEMPTS) {
        for token in tokens {
            let (status, mut body) = app
                .graphql_as(token.as_deref(), document, variables.clone())
                .await;
            if let Some(extensions) = body.get_mut("extensions").and_then(Value::as_object_mut) {
                // What a request cost depends on what warmed the caches.
                extensions.remove("roundTrips");
            }
            answers.push(format!("{status} {body}"));
        }
    }
    answers
}

async fn tokens(app: &TestApp) -> Vec<Option<String>> {
    let mut tokens = vec![None];
    for email in [
        bistro_sql::seed::DEMO_CUSTOMER_EMAIL,
        bistro_sql::seed::DEMO_STAFF_EMAIL,
    ] {
        let session = app.login(email, DEMO_PASSWORD).await;
        tokens.push(Some(session["accessToken"].as_str().unwrap().to_owned()));
    }
    tokens
}

async fn check(pair: &StorePair) {
    let fast = app_seeded_at_noon_with(pair, |config| config.graphql.fast_path = true).await;
    let awaited = app_seeded_at_noon_with(pair, |config| config.graphql.fast_path = false).await;
    // Ids of both kinds from the data, one that does not exist and one
    // that is not an id.
    let mut ids = fast.node_ids(2, 2).await;
    assert_eq!(ids.len(), 6, "{ids:?}");
    ids.push(json!("TWVudUl0ZW06OTk5OTk5"));
    ids.push(json!("not an id"));

    let (fast_tokens, awaited_tokens) = (tokens(&fast).await, tokens(&awaited).await);
    for variables in [
        json!({ "first": 3, "yes": true, "no": false, "ids": ids }),
        json!({ "first": 1, "yes": false, "no": true, "ids": ids[..3] }),
    ] {
        let expected = answers(&awaited, &awaited_tokens, &variables).await;
        let answered = answers(&fast, &fast_tokens, &variables).await;
        assert_eq!(expected.len(), (DOCUMENTS.len() + ATTEMPTS.len()) * 3);
        for (i, (expected, answered)) in expected.iter().zip(&answered).enumerate() {
            assert_eq!(
                answered,
                expected,
                "[{}] document {} as caller {} with {variables}: the fast lane answered otherwise",
                pair.name(),
                i / 3,
                i % 3
            );
        }
        // The documents are answered, not refused: each has data.
        assert!(
            expected.iter().all(|answer| answer.contains("\"data\":{")),
            "{expected:#?}"
        );
    }
    fast.stop().await;
    awaited.stop().await;
}

#[tokio::test]
async fn the_fast_lane_answers_as_every_field_awaited() {
    for pair in bistro_tests::store_pairs() {
        check(&pair).await;
    }
}

/// With the key-value store gone, the rankings a menu page loads ahead are
/// errors: each item's `popularity` reports one while an attempt walks it,
/// then the attempt is given up at `restaurant`, which must wait. The
/// errors it reported are taken back and reported once, by the future that
/// resolves the item instead, as the general executor reports them.
#[tokio::test]
async fn an_abandoned_attempt_takes_back_the_errors_it_reported() {
    let (Some(mut redis_fast), Some(mut redis_awaited)) =
        (OwnRedis::start().await, OwnRedis::start().await)
    else {
        return;
    };
    let pair = StorePair::Embedded;
    let (fast_url, awaited_url) = (redis_fast.url(), redis_awaited.url());
    let fast = app_seeded_at_noon_with(&pair, |config| {
        config.redis_url = fast_url;
        config.graphql.fast_path = true;
    })
    .await;
    let awaited = app_seeded_at_noon_with(&pair, |config| {
        config.redis_url = awaited_url;
        config.graphql.fast_path = false;
    })
    .await;
    redis_fast.stop().await;
    redis_awaited.stop().await;

    let document = r#"query Outage {
      restaurants(first: 2) {
        edges { node {
          name
          menu(first: 2) {
            edges { node { name popularity { ordersToday } price { amount } } }
            late: edges { node { name popularity { rank } restaurant { name } } }
          }
        } }
      }
    }"#;
    let (_, expected) = awaited.graphql(document, json!({})).await;
    let (_, answered) = fast.graphql(document, json!({})).await;
    assert_eq!(answered.to_string(), expected.to_string());
    // Each of the 2 x 2 items reports its popularity once in each list, with its own path.
    let popularity_errors = expected["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{expected:#}"))
        .iter()
        .filter(|error| {
            error["path"].as_array().and_then(|p| p.last()) == Some(&json!("popularity"))
        })
        .map(|error| {
            assert_eq!(
                error["extensions"]["code"], "STORE_UNAVAILABLE",
                "{error:#}"
            );
            error["path"].to_string()
        })
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(popularity_errors.len(), 8, "{expected:#}");
    assert_eq!(
        expected["data"]["restaurants"]["edges"][0]["node"]["menu"]["late"][0]["node"]["restaurant"]
            .get("name")
            .map(Value::is_string),
        Some(true),
        "{expected:#}"
    );
    fast.stop().await;
    awaited.stop().await;
}

/// A small schema of its own, to see the values the executor builds: with
/// the fast lane open, an object or list below which no error was reported
/// is written as JSON while it resolves (`Value::Raw`); everything on the
/// path to an error stays a tree, for the request's errors to be placed
/// and ordered by; a key selected twice merges. The answers are the
/// general executor's, byte for byte.
mod raw_values {
    use async_graphql::{
        Context, EmptyMutation, EmptySubscription, Object, Request, Schema, ServerError,
        Value as GraphqlValue,
    };

    struct Query;

    #[Object]
    impl Query {
        async fn items(&self, #[graphql(default = 3)] count: i32) -> Vec<Item> {
            (0..count).map(Item).collect()
        }

        fn greeting(&self) -> &str {
            "a \"quoted\" \u{e9}\n\\ \u{1}"
        }
    }

    struct Item(i32);

    #[Object]
    impl Item {
        fn id(&self) -> i32 {
            self.0
        }

        fn ratio(&self) -> f64 {
            f64::from(self.0) / 3.0
        }

        /// Fails on item 1, as a resolver error.
        async fn note(&self) -> async_graphql::Result<Option<String>> {
            match self.0 {
                1 => Err("no note".into()),
                n => Ok(Some(format!("note {n}"))),
            }
        }

        /// Null on item 2, with an error reported beside it (a soft error).
        async fn hint(&self, ctx: &Context<'_>) -> Option<String> {
            if self.0 == 2 {
                ctx.add_error(ServerError::new("no hint", None));
                return None;
            }
            Some(format!("hint {}", self.0))
        }

        fn tags(&self) -> Vec<String> {
            vec!["a".into(), format!("t{}", self.0)]
        }
    }

    type TestSchema = Schema<Query, EmptyMutation, EmptySubscription>;

    fn schemas() -> (TestSchema, TestSchema) {
        let fast = Schema::build(Query, EmptyMutation, EmptySubscription).finish();
        let awaited = Schema::build(Query, EmptyMutation, EmptySubscription)
            .disable_fast_lane()
            .finish();
        (fast, awaited)
    }

    /// The answer of both executors: the fast one's data, and its JSON,
    /// checked equal to the general executor's.
    async fn run(document: &str) -> (GraphqlValue, String) {
        let (fast, awaited) = schemas();
        let answered = fast.execute(Request::new(document)).await;
        let expected = awaited.execute(Request::new(document)).await;
        assert!(
            !matches!(expected.data, GraphqlValue::Raw(_)),
            "the general executor builds trees"
        );
        let json = serde_json::to_string(&answered).unwrap();
        assert_eq!(json, serde_json::to_string(&expected).unwrap());
        assert_eq!(answered.data, expected.data);
        (answered.data, json)
    }

    fn field<'v>(value: &'v GraphqlValue, key: &str) -> &'v GraphqlValue {
        match value {
            GraphqlValue::Object(map) => &map[key],
            other => panic!("not a tree object: {other:?}"),
        }
    }

    fn list(value: &GraphqlValue) -> &[GraphqlValue] {
        match value {
            GraphqlValue::List(items) => items,
            other => panic!("not a tree list: {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_answer_without_errors_is_written_as_json_while_it_resolves() {
        let (data, json) = run("{ items { id ratio tags } greeting }").await;
        assert!(matches!(data, GraphqlValue::Raw(_)), "{data:?}");
        assert_eq!(
            json,
            concat!(
                r#"{"data":{"items":[{"id":0,"ratio":0.0,"tags":["a","t0"]},"#,
                r#"{"id":1,"ratio":0.3333333333333333,"tags":["a","t1"]},"#,
                r#"{"id":2,"ratio":0.6666666666666666,"tags":["a","t2"]}],"#,
                r#""greeting":"a \"quoted\" é\n\\ \u0001"}}"#,
            )
        );
    }

    #[tokio::test]
    async fn the_path_to_an_error_stays_a_tree() {
        let (data, json) = run("{ items { id note hint } greeting }").await;
        let items = list(field(&data, "items"));
        // Item 1's note failed (left out, as async-graphql does); item 2
        // reported an error beside its null hint.
        assert_eq!(field(&items[1], "id"), &GraphqlValue::from(1));
        assert_eq!(field(&items[2], "hint"), &GraphqlValue::Null);
        assert!(json.contains(r#""message":"no note""#), "{json}");
        assert!(json.contains(r#""message":"no hint""#), "{json}");
    }

    #[tokio::test]
    async fn a_key_selected_twice_merges_what_was_written_as_json() {
        let (data, json) = run("{ a: items { id } a: items { tags } greeting }").await;
        assert_eq!(list(field(&data, "a")).len(), 3);
        assert_eq!(
            json,
            concat!(
                r#"{"data":{"a":[{"id":0,"tags":["a","t0"]},{"id":1,"tags":["a","t1"]},"#,
                r#"{"id":2,"tags":["a","t2"]}],"greeting":"a \"quoted\" é\n\\ \u0001"}}"#,
            )
        );
        // Items written as JSON inside a list too long to be: read back with
        // their floats exactly as written.
        let (_, json) =
            run("{ a: items(count: 300) { id ratio } a: items(count: 300) { tags } }").await;
        assert!(
            json.ends_with(r#"{"id":299,"ratio":99.66666666666667,"tags":["a","t299"]}]}}"#),
            "{json}"
        );
    }

    #[tokio::test]
    async fn a_long_list_keeps_its_written_items_in_a_tree() {
        let (data, json) = run("{ items(count: 300) { id ratio tags } }").await;
        let items = list(field(&data, "items"));
        assert_eq!(items.len(), 300);
        assert!(
            items
                .iter()
                .all(|item| matches!(item, GraphqlValue::Raw(_)))
        );
        assert!(
            json.len() > async_graphql::RawJson::MAX_LEN,
            "{}",
            json.len()
        );
        assert!(
            json.ends_with(r#"{"id":299,"ratio":99.66666666666667,"tags":["a","t299"]}]}}"#),
            "{json}"
        );
    }
}
