//! `schema.graphql` is a contract: generated from the code, committed, and
//! equal to what the server serves. Every type, field and argument is described.
//! `schema.federation.graphql`, the subgraph SDL routers compose, likewise.

use std::path::PathBuf;

use bistro_tests::{StorePair, TestApp};
use serde_json::{Value, json};

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("schema.graphql")
}

fn committed_federation_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("schema.federation.graphql")
}

#[test]
fn schema_graphql_is_up_to_date() {
    let generated = bistro_schema::sdl();
    let path = committed_path();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        // Rewrite it so one local run fixes the drift; CI still fails on it.
        std::fs::write(&path, &generated).expect("writing schema.graphql");
        panic!("schema.graphql was not up to date; it has been regenerated: review and commit it");
    }
}

#[test]
fn schema_federation_graphql_is_up_to_date() {
    let generated = bistro_schema::federation_sdl();
    let path = committed_federation_path();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        // Rewrite it so one local run fixes the drift; CI still fails on it.
        std::fs::write(&path, &generated).expect("writing schema.federation.graphql");
        panic!(
            "schema.federation.graphql was not up to date; it has been regenerated: review and commit it"
        );
    }
}

#[tokio::test]
async fn the_server_serves_the_committed_subgraph_sdl() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let committed =
        std::fs::read_to_string(committed_federation_path()).expect("schema.federation.graphql");
    let data = app.data("{ _service { sdl } }", json!({})).await;
    assert_eq!(
        data["_service"]["sdl"].as_str(),
        Some(committed.as_str()),
        "the running subgraph SDL differs from schema.federation.graphql"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_server_serves_the_committed_schema() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let committed = std::fs::read_to_string(committed_path()).expect("schema.graphql");
    assert_eq!(
        app.app.api.schema().sdl(),
        committed,
        "the running schema differs from schema.graphql"
    );
    app.stop().await;
}

#[tokio::test]
async fn every_type_field_and_argument_has_a_description() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let data = app
        .data(
            "{ __schema { types { name kind description
                fields { name description args { name description } }
                inputFields { name description }
                enumValues { name description } } } }",
            json!({}),
        )
        .await;
    let mut missing = Vec::new();
    let described = |v: &Value| {
        v["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty())
    };
    for ty in data["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        // Introspection types and the spec's built-in scalars are not ours to describe.
        if name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name) {
            continue;
        }
        if !described(ty) {
            missing.push(name.to_owned());
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            if !described(field) {
                missing.push(format!("{name}.{}", field["name"]));
            }
            for arg in field["args"].as_array().into_iter().flatten() {
                if !described(arg) {
                    missing.push(format!("{name}.{}({})", field["name"], arg["name"]));
                }
            }
        }
        for field in ty["inputFields"].as_array().into_iter().flatten() {
            if !described(field) {
                missing.push(format!("{name}.{}", field["name"]));
            }
        }
        for value in ty["enumValues"].as_array().into_iter().flatten() {
            if !described(value) {
                missing.push(format!("{name}.{}", value["name"]));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "undescribed schema members: {missing:#?}"
    );
    app.stop().await;
}
