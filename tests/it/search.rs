//! Menu search as the README and the storefront present it, on every store
//! pair: their own example queries find dishes, those with every word
//! first, then those with some; dietary tags count like words, and follow
//! menu edits at once.

use bistro_schema::ids::NodeType;
use bistro_tests::{DEMO_PASSWORD, TestApp, store_pairs};
use serde_json::{Value, json};

use crate::ordering::{STAFF_1, gid};
use crate::storefront::storefront_documents;

const SEARCH: &str = "query($query: String!) { searchMenu(query: $query, first: 100) { \
    edges { rank node { id name description dietary } } } }";

/// The text between each `start` and the next `end` in `text`.
fn between(text: &str, start: &str, end: char) -> Vec<String> {
    text.split(start)
        .skip(1)
        .filter_map(|rest| rest.split(end).next())
        .map(str::to_owned)
        .collect()
}

/// The searches the README suggests (`searchMenu(query: "…")`) and the one
/// the storefront's search box offers as its example (`e.g. …`).
fn examples() -> Vec<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let home = std::fs::read_to_string(format!("{root}/storefront/src/pages/home.ts")).unwrap();
    let mut examples = between(&readme, "searchMenu(query: \"", '"');
    examples.extend(between(&home, "placeholder: 'e.g. ", '\''));
    assert!(
        examples.len() >= 2 && examples.iter().any(|e| e == "spicy curry"),
        "{examples:?}"
    );
    examples.sort();
    examples.dedup();
    examples
}

/// Whether a hit's name, description or dietary tags hold `word` (its first
/// letters, as a stem: "spicy" is "spic", "curry" is "curr").
fn holds(node: &Value, word: &str) -> bool {
    let stem: String = word.chars().take(4).collect();
    let tags = node["dietary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().replace('_', " "))
        .collect::<Vec<_>>()
        .join(" ");
    format!("{} {} {tags}", node["name"], node["description"])
        .to_lowercase()
        .contains(&stem)
}

#[tokio::test]
async fn the_readme_and_storefront_examples_find_dishes_with_every_word_first() {
    let storefront = storefront_documents();
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let name = pair.name();
        for example in examples() {
            let words: Vec<&str> = example.split_whitespace().collect();
            let n = words.len() as f64;
            let data = app.data(SEARCH, json!({ "query": example })).await;
            let edges = data["searchMenu"]["edges"].as_array().unwrap();
            assert!(!edges.is_empty(), "[{name}] {example:?} finds nothing");
            let ranks: Vec<f64> = edges.iter().map(|e| e["rank"].as_f64().unwrap()).collect();
            assert!(
                ranks.windows(2).all(|w| w[0] >= w[1]),
                "[{name}] best first"
            );

            // Dishes with every word first...
            let all_words = ranks.iter().take_while(|r| **r >= n).count();
            assert!(all_words >= 2, "[{name}] {example:?}: {data:#}");
            for edge in &edges[..all_words] {
                for word in &words {
                    assert!(holds(&edge["node"], word), "[{name}] {word}: {edge:#}");
                }
            }
            // ...then dishes with some of them: still found.
            if words.len() > 1 {
                let some = &edges[all_words..];
                assert!(!some.is_empty(), "[{name}] {example:?}: only full matches");
                for edge in some {
                    let rank = edge["rank"].as_f64().unwrap();
                    assert!((1.0..n).contains(&rank), "[{name}] {edge:#}");
                    assert!(words.iter().any(|w| holds(&edge["node"], w)), "{edge:#}");
                }
            }

            // The storefront's own search sends its document: the same dishes in the same order.
            let (status, body) = app
                .graphql_as(
                    None,
                    &storefront["SearchMenu"],
                    json!({ "query": example, "after": null, "signedIn": false }),
                )
                .await;
            assert_eq!(status, 200, "{body:#}");
            let shown: Vec<&Value> = body["data"]["searchMenu"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| &n["id"])
                .collect();
            let expected: Vec<&Value> = edges.iter().take(20).map(|e| &e["node"]["id"]).collect();
            assert_eq!(shown, expected, "[{name}] {example:?}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn dietary_tags_are_searched_and_follow_menu_edits() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let name = pair.name();
        let staff = app.login(STAFF_1, DEMO_PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let created = app
            .graphql_as(
                Some(&staff),
                "mutation($input: CreateMenuItemInput!) { createMenuItem(input: $input) { menuItem { id } userErrors { code } } }",
                json!({ "input": {
                    "restaurantId": gid(NodeType::Restaurant, 1), "name": "Zanzibar Stew",
                    "description": "Fish, coconut and cloves", "price": "14.00",
                    "course": "MAIN", "dietary": ["HALAL", "NUT_FREE"],
                } }),
            )
            .await
            .1;
        let id = created["data"]["createMenuItem"]["menuItem"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{created:#}"))
            .to_owned();
        let rank_of = |body: &Value| {
            body["searchMenu"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["node"]["id"] == id.as_str())
                .map(|e| e["rank"].as_f64().unwrap())
        };

        // Neither "halal" nor "nut free" is in its name or description: its tags match.
        let found = app
            .data(SEARCH, json!({ "query": "zanzibar halal nut-free" }))
            .await;
        assert!(
            rank_of(&found).is_some_and(|r| r >= 4.0),
            "[{name}] {found:#}"
        );
        assert_eq!(
            found["searchMenu"]["edges"][0]["node"]["id"], id,
            "[{name}] the only dish with every word comes first"
        );

        // Its tags changed: the search follows at once.
        app.graphql_as(
            Some(&staff),
            "mutation($input: UpdateMenuItemInput!) { updateMenuItem(input: $input) { userErrors { code } } }",
            json!({ "input": { "id": id, "dietary": ["VEGAN"] } }),
        )
        .await;
        let after = app
            .data(SEARCH, json!({ "query": "zanzibar halal vegan" }))
            .await;
        let rank = rank_of(&after).unwrap_or_else(|| panic!("[{name}] {after:#}"));
        assert!(
            (2.0..3.0).contains(&rank),
            "[{name}] zanzibar and vegan: {rank}"
        );
        app.stop().await;
    }
}
