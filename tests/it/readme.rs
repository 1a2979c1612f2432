//! The README's GraphQL is the schema's: every example it shows parses and
//! validates against the server, and its table of mutation inputs and
//! payloads names exactly the schema's fields, so a reader can type them.

use std::collections::{BTreeMap, BTreeSet};

use async_graphql::parser::types::{BaseType, Selection, SelectionSet, Type, TypeKind};
use async_graphql::parser::{parse_query, parse_schema};
use bistro_tests::{StorePair, TestApp};
use serde_json::json;

pub(crate) fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap()
}

/// The schema's object and input types: name → field → (type, default).
type Types = BTreeMap<String, BTreeMap<String, (Type, Option<String>)>>;

fn schema_types() -> Types {
    let sdl =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql")).unwrap();
    let document = parse_schema(sdl).unwrap();
    let mut types = Types::new();
    for definition in document.definitions {
        let async_graphql::parser::types::TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let ty = ty.node;
        let fields = match ty.kind {
            TypeKind::Object(object) => object
                .fields
                .into_iter()
                .map(|f| (f.node.name.node.to_string(), (f.node.ty.node, None)))
                .collect(),
            TypeKind::InputObject(input) => input
                .fields
                .into_iter()
                .map(|f| {
                    (
                        f.node.name.node.to_string(),
                        (
                            f.node.ty.node,
                            f.node.default_value.map(|d| d.node.to_string()),
                        ),
                    )
                })
                .collect(),
            _ => continue,
        };
        types.insert(ty.name.node.to_string(), fields);
    }
    types
}

fn named(ty: &Type) -> String {
    match &ty.base {
        BaseType::Named(name) => name.to_string(),
        BaseType::List(inner) => named(inner),
    }
}

/// Checks `selection` against `on`: every field exists, and objects have a
/// selection of their own. Returns what is wrong.
fn check_selection(types: &Types, on: &str, selection: &SelectionSet, path: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    let Some(fields) = types.get(on) else {
        return vec![format!("{path}: {on} has no fields to select")];
    };
    for item in &selection.items {
        let Selection::Field(field) = &item.node else {
            wrong.push(format!("{path}: only fields, please"));
            continue;
        };
        let name = field.node.name.node.to_string();
        let Some((ty, _)) = fields.get(&name) else {
            wrong.push(format!("{path}: unknown field \"{name}\" on type \"{on}\""));
            continue;
        };
        let inner = named(ty);
        let below = &field.node.selection_set.node;
        match (types.contains_key(&inner), below.items.is_empty()) {
            (true, true) => wrong.push(format!("{path}.{name}: {inner} needs a selection")),
            (false, false) => wrong.push(format!("{path}.{name}: {inner} has no fields")),
            (true, false) => wrong.extend(check_selection(
                types,
                &inner,
                below,
                &format!("{path}.{name}"),
            )),
            (false, true) => {}
        }
    }
    wrong
}

/// The cells of the README's *Inputs and payloads* table, without their backticks.
fn payload_table(readme: &str) -> Vec<[String; 3]> {
    let section = readme
        .split("### Inputs and payloads")
        .nth(1)
        .expect("the README has an *Inputs and payloads* section");
    section
        .lines()
        .skip_while(|line| !line.starts_with("| mutation"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().trim_matches('`').to_owned())
                .collect();
            [cells[0].clone(), cells[1].clone(), cells[2].clone()]
        })
        .collect()
}

#[test]
fn the_readme_lists_every_mutations_input_and_payload_as_the_schema_has_them() {
    let types = schema_types();
    let mutation = &types["Mutation"];
    let rows = payload_table(&readme());
    let listed: BTreeSet<&str> = rows.iter().map(|[name, _, _]| name.as_str()).collect();
    let all: BTreeSet<&str> = mutation.keys().map(String::as_str).collect();
    assert_eq!(listed, all, "every mutation has its row");

    let mut wrong = Vec::new();
    for [name, input, payload] in &rows {
        // The input: exactly the input type's fields, types and defaults.
        let (payload_type, _) = &mutation[name];
        let input_type = format!("{}Input", upper_first(name));
        let expected: Vec<String> = types[&input_type]
            .iter()
            .map(|(field, (ty, default))| match default {
                Some(default) => format!("{field}: {ty} = {default}"),
                None => format!("{field}: {ty}"),
            })
            .collect();
        let mut written: Vec<String> = input.split(", ").map(str::to_owned).collect();
        let mut sorted = expected.clone();
        written.sort();
        sorted.sort();
        if written != sorted {
            wrong.push(format!(
                "{name}: input is {expected:?}, the README says {input:?}"
            ));
        }
        // The payload: a selection that fits the payload type.
        let document = parse_query(format!("{{ {payload} }}"))
            .unwrap_or_else(|e| panic!("{name}: the payload {payload:?} does not parse: {e}"));
        for (_, operation) in document.operations.iter() {
            wrong.extend(check_selection(
                &types,
                &named(payload_type),
                &operation.node.selection_set.node,
                name,
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

fn upper_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Every ```graphql block of the README (indented ones in lists too).
pub(crate) fn graphql_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in readme.lines() {
        let fence = line.trim_start();
        match &mut current {
            None if fence == "```graphql" => current = Some(Vec::new()),
            Some(lines) if fence == "```" => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            Some(lines) => lines.push(line),
            None => {}
        }
    }
    blocks
}

#[tokio::test]
async fn every_graphql_example_in_the_readme_fits_the_schema() {
    let blocks = graphql_blocks(&readme());
    assert!(blocks.len() >= 10, "{} blocks", blocks.len());
    let app = TestApp::spawn(&StorePair::Embedded).await;
    for block in &blocks {
        let (_, body) = app.graphql(block, json!({})).await;
        let refused: Vec<&serde_json::Value> = body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| {
                let code = e["extensions"]["code"].as_str().unwrap_or_default();
                // A subscription passes validation before HTTP says it is the wrong transport.
                (code == "GRAPHQL_PARSE_FAILED" || code == "GRAPHQL_VALIDATION_FAILED")
                    && e["message"] != "Subscriptions are not supported on this transport."
            })
            .collect();
        assert!(refused.is_empty(), "{block}\n{refused:#?}");
    }
    // A subscription that does not fit is told apart from one sent over HTTP.
    let (_, wrong) = app
        .graphql(
            "subscription { menuItemAvailability(restaurantId: \"x\") { nope } }",
            json!({}),
        )
        .await;
    assert_eq!(
        wrong["errors"][0]["message"],
        "Unknown field \"nope\" on type \"MenuItemAvailabilityUpdate\".",
        "{wrong}"
    );
    app.stop().await;
}

/// The README's block that contains `needle`.
pub(crate) fn block_with(blocks: &[String], needle: &str) -> String {
    blocks
        .iter()
        .find(|b| b.contains(needle))
        .unwrap_or_else(|| panic!("no README example with {needle}"))
        .clone()
}

#[tokio::test]
async fn the_readmes_walkthrough_places_an_order_as_written() {
    use bistro_tests::{DEMO_PASSWORD, store_pairs};
    let blocks = graphql_blocks(&readme());
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let name = pair.name();
        let customer = app.login("customer@bistro.test", DEMO_PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let staff = app.login("staff@bistro.test", DEMO_PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let run = |token: &str, block: String| {
            let token = token.to_owned();
            let app = &app;
            async move {
                let (status, body) = app.graphql_as(Some(&token), &block, json!({})).await;
                assert_eq!(status, 200, "[{name}] {block}\n{body:#}");
                assert!(body.get("errors").is_none(), "[{name}] {block}\n{body:#}");
                body["data"].clone()
            }
        };

        // The ids, option and total the README uses are the demo data's.
        let added = run(&customer, block_with(&blocks, "addToCart(input")).await;
        assert_eq!(
            added["addToCart"]["userErrors"],
            json!([]),
            "[{name}] {added:#}"
        );
        let placed = run(&customer, block_with(&blocks, "checkout(input")).await;
        assert_eq!(
            placed["checkout"]["userErrors"],
            json!([]),
            "[{name}] {placed:#}"
        );
        assert_eq!(placed["checkout"]["order"]["total"]["amount"], "30.40");
        let order = placed["checkout"]["order"]["id"].as_str().unwrap();

        let advance = block_with(&blocks, "advanceOrder(input").replace("<the order's id>", order);
        let accepted = run(&staff, advance).await;
        assert_eq!(
            accepted["advanceOrder"]["userErrors"],
            json!([]),
            "[{name}] {accepted:#}"
        );
        assert_eq!(
            accepted["advanceOrder"]["order"]["paymentStatus"],
            "CAPTURED"
        );

        let switched = run(&staff, block_with(&blocks, "setMenuItemAvailability(input")).await;
        assert_eq!(
            switched["setMenuItemAvailability"]["userErrors"],
            json!([]),
            "[{name}] {switched:#}"
        );
        assert_eq!(
            switched["setMenuItemAvailability"]["menuItem"]["available"],
            false
        );
        app.stop().await;
    }
}
