//! Golden responses: every read the project knows, answered as recorded.
//!
//! The queries of the storefront (`storefront/src/operations`), of
//! `tests/operations` (which include the benchmark workloads' documents) and
//! of the README's examples are sent as each of four callers — anonymous,
//! the demo customer, staff and administrator — with variables from a
//! seeded generator ([`Generator`]: page sizes 0, 1, 2, the default, the
//! maximum, over it and negative; filters; search words; cursors valid, of
//! another list, or garbage; ids that exist, do not exist, are garbage or
//! belong to someone else). Each answer,
//! redacted as the snapshots are ([`bistro_tests::snapshot::redacted`]), is
//! compared byte for byte with `tests/it/golden/<source>.<operation>.json`.
//! Mutations and subscriptions are left out: this is the reference for
//! execution strategies of reads. About 220 cases, some seconds a pair.
//!
//! What is compared is the HTTP status, `data` and `errors` (in their
//! defined order, see `bistro_schema::request`); `extensions.roundTrips` is
//! left out, because what a case costs depends on which earlier case warmed
//! the shared caches (the counts are asserted in `round_trips`).
//!
//! Both store pairs hold the same demo data and are compared with the same
//! files, except where a pair legitimately answers otherwise: it then has
//! its own file under `tests/it/golden/<pair>/`, and this list says why.
//!
//! - `searchMenu` (`operations.SearchMenu`, `storefront.SearchMenu`): each
//!   store ranks with its own full-text engine (PostgreSQL's `ts_rank` over
//!   a `tsvector`, SQLite's FTS5 `bm25`; `bistro_sql::query`), so `rank` and
//!   the order of results differ, and with them which items a page holds.
//!
//! Record again (after a change that is meant to change answers, or an
//! operation added or changed) with
//! `BISTRO_GOLDEN_UPDATE=1 cargo test -p bistro-tests --test it golden::`,
//! and review the diff of `tests/it/golden/` like any snapshot. A variable
//! the generator does not know fails the test with its name: teach
//! [`Generator::value`] what it means.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_graphql::parser::parse_query;
use async_graphql::parser::types::{
    BaseType, DocumentOperations, OperationType, Type, VariableDefinition,
};
use base64::Engine as _;
use bistro_tests::snapshot::redacted;
use bistro_tests::{DEMO_PASSWORD, StorePair, TestApp};
use serde_json::{Value, json};

use crate::snapshots::app_seeded_at_noon;

/// Set to `1` to write the golden files instead of comparing with them.
const UPDATE_VAR: &str = "BISTRO_GOLDEN_UPDATE";

/// Generated cases per operation and caller, when the operation has variables.
const CASES: usize = 3;

/// The callers, by name as recorded, with their demo account.
const ROLES: [(&str, Option<&str>); 4] = [
    ("anonymous", None),
    ("customer", Some(bistro_sql::seed::DEMO_CUSTOMER_EMAIL)),
    ("staff", Some(bistro_sql::seed::DEMO_STAFF_EMAIL)),
    ("administrator", Some(bistro_sql::seed::DEMO_ADMIN_EMAIL)),
];

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("it/golden")
}

/// A query the project knows: its golden file's name, its text and variables.
struct Operation {
    name: String,
    text: String,
    variables: Vec<VariableDefinition>,
}

/// The variables of `text`'s operation if it is a query (one operation per document).
fn query_variables(text: &str) -> Option<Vec<VariableDefinition>> {
    let document = parse_query(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let operation = match document.operations {
        DocumentOperations::Single(operation) => operation.node,
        DocumentOperations::Multiple(operations) => {
            assert_eq!(operations.len(), 1, "one operation per document: {text}");
            operations.into_values().next().unwrap().node
        }
    };
    (operation.ty == OperationType::Query).then(|| {
        operation
            .variable_definitions
            .into_iter()
            .map(|v| v.node)
            .collect()
    })
}

/// Every query: the storefront's, `tests/operations`' and the README's.
fn operations() -> Vec<Operation> {
    let mut texts: Vec<(String, String)> = crate::storefront::storefront_documents()
        .into_iter()
        .map(|(name, text)| (format!("storefront.{name}"), text))
        .collect();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("operations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "graphql"))
        .collect();
    files.sort();
    for path in files {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        texts.push((
            format!("operations.{stem}"),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    for (i, block) in crate::readme::graphql_blocks(&crate::readme::readme())
        .into_iter()
        .enumerate()
    {
        texts.push((format!("readme.{}", i + 1), block));
    }
    texts
        .into_iter()
        .filter_map(|(name, text)| {
            query_variables(&text).map(|variables| Operation {
                name,
                text,
                variables,
            })
        })
        .collect()
}

/// The workloads' own variables (`bistro-bench`'s `Workload::prepare`), sent
/// besides the generated ones, as the caller the workload signs in as.
fn workload_cases(operation: &str) -> Vec<(&'static str, Value)> {
    match operation {
        "operations.RestaurantPage" | "operations.RestaurantPageSqlFields" => {
            vec![("anonymous", json!({ "first": 20, "menuFirst": 10 }))]
        }
        "operations.MyOrders" => vec![("customer", json!({ "first": 20 }))],
        _ => Vec::new(),
    }
}

/// The callers an operation is sent as: the answers that are the schema
/// itself (introspection, the subgraph SDL: a megabyte between them) are
/// the same for everyone and served by async-graphql, not by the execution
/// of reads, so one caller is enough.
fn roles(operation: &str) -> &'static [(&'static str, Option<&'static str>)] {
    match operation {
        "operations.IntrospectionQuery" | "operations.GatewayServiceDefinition" => &ROLES[..1],
        _ => &ROLES,
    }
}

/// SplitMix64: a small seeded generator, the same on every machine.
struct Generator(u64);

impl Generator {
    /// Seeded from the operation and the caller alone, so adding an
    /// operation does not change the cases of the others.
    fn for_case(operation: &str, role: &str) -> Self {
        // FNV-1a.
        let mut hash = 0xcbf2_9ce4_8422_2325_u64;
        for byte in operation.bytes().chain([0]).chain(role.bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        Self(hash)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn pick<T: Clone>(&mut self, choices: &[T]) -> T {
        choices[(self.next() % choices.len() as u64) as usize].clone()
    }

    /// The cases of one operation as one caller: for each variable, a
    /// random start in its choices and then the next ones, so the cases of
    /// one caller differ in every variable that has choices enough.
    fn cases(&mut self, operation: &Operation) -> Vec<Value> {
        let count = if operation.variables.is_empty() {
            1
        } else {
            CASES
        };
        let starts: Vec<u64> = operation.variables.iter().map(|_| self.next()).collect();
        (0..count as u64)
            .map(|case| {
                let mut variables = serde_json::Map::new();
                for (variable, start) in operation.variables.iter().zip(&starts) {
                    let mut draw = Generator(start.wrapping_add(case));
                    let name = variable.name.node.as_str();
                    let value = Self::value(
                        &mut draw,
                        start + case,
                        name,
                        &variable.var_type.node,
                        operation,
                    );
                    variables.insert(name.to_owned(), value);
                }
                Value::Object(variables)
            })
            .collect()
    }

    /// A value for variable `name`: choice `index` of its choices (a
    /// fixture in angle brackets, replaced by [`Fixtures::resolve`]), with
    /// `draw` for what a list holds.
    fn value(draw: &mut Self, index: u64, name: &str, ty: &Type, operation: &Operation) -> Value {
        let nth = |choices: &[Value]| choices[(index % choices.len() as u64) as usize].clone();
        let or_null = |mut choices: Vec<Value>| {
            if ty.nullable {
                choices.insert(0, Value::Null);
            }
            choices
        };
        let ids = [
            "<customer's order>",
            "<another customer's order>",
            "<missing order>",
            "<restaurant>",
            "<missing restaurant>",
            "<menu item>",
            "<customer>",
            "garbage",
        ];
        match (name, &ty.base) {
            ("first" | "menuFirst" | "last", _) => nth(&or_null(vec![
                json!(0),
                json!(1),
                json!(2),
                json!(20),
                json!(100),
                json!(101),
                json!(-1),
            ])),
            ("after" | "before", _) => nth(&or_null(vec![
                json!("<restaurants cursor>"),
                json!("<search cursor>"),
                json!("garbage"),
            ])),
            ("signedIn", _) => nth(&[json!(false), json!(true)]),
            ("cuisine", _) => nth(&or_null(vec![
                json!("italian"),
                json!("INDIAN"),
                json!("klingon"),
            ])),
            ("slug", _) => nth(&or_null(vec![
                json!("<restaurant slug>"),
                json!("<staff's restaurant slug>"),
                json!("no-such-restaurant"),
            ])),
            ("query", _) => nth(&or_null(vec![
                json!("curry"),
                json!("spicy curry"),
                json!(""),
                json!("zzzz"),
            ])),
            ("course", _) => nth(&or_null(vec![
                json!("STARTER"),
                json!("MAIN"),
                json!("DESSERT"),
            ])),
            ("id", BaseType::Named(_)) => nth(&ids.map(Value::from)),
            ("ids", BaseType::List(_)) => {
                let len = nth(&[json!(0), json!(1), json!(3), json!(8)])
                    .as_u64()
                    .unwrap();
                (0..len).map(|_| Value::from(draw.pick(&ids))).collect()
            }
            ("representations", BaseType::List(_)) => {
                // The type the operation asks `_entities` for, with ids of
                // that type, of another, missing or garbage.
                let (typename, ids) = if operation.text.contains("on User") {
                    (
                        "User",
                        [
                            "<customer>",
                            "<staff>",
                            "<missing user>",
                            "<customer's order>",
                        ],
                    )
                } else {
                    (
                        "Order",
                        [
                            "<customer's order>",
                            "<another customer's order>",
                            "<missing order>",
                            "garbage",
                        ],
                    )
                };
                let len = nth(&[json!(1), json!(3)]).as_u64().unwrap();
                (0..len)
                    .map(|_| json!({ "__typename": typename, "id": draw.pick(&ids) }))
                    .collect()
            }
            _ => panic!(
                "{}: no generator for ${name}; teach golden::Generator::value what it means",
                operation.name
            ),
        }
    }
}

/// What the generated variables name in angle brackets, read from the running server.
struct Fixtures(BTreeMap<&'static str, String>);

impl Fixtures {
    async fn read(app: &TestApp, tokens: &BTreeMap<&str, Option<String>>) -> Self {
        let mut fixtures = BTreeMap::new();
        let anonymous = app
            .data(
                "{ restaurants(first: 2) { edges { cursor node { id slug menu(first: 1) { nodes { id } } } } }
                   searchMenu(query: \"curry\", first: 2) { edges { cursor } } }",
                json!({}),
            )
            .await;
        let restaurant = &anonymous["restaurants"]["edges"][0];
        fixtures.insert("restaurants cursor", restaurant["cursor"].clone());
        fixtures.insert(
            "search cursor",
            anonymous["searchMenu"]["edges"][0]["cursor"].clone(),
        );
        fixtures.insert("restaurant", restaurant["node"]["id"].clone());
        fixtures.insert("restaurant slug", restaurant["node"]["slug"].clone());
        fixtures.insert(
            "menu item",
            restaurant["node"]["menu"]["nodes"][0]["id"].clone(),
        );

        let as_role = |role: &str, query: &'static str| {
            let token = tokens[role].clone();
            async move {
                let (status, body) = app.graphql_as(token.as_deref(), query, json!({})).await;
                assert_eq!(status, 200, "{body}");
                assert!(body.get("errors").is_none(), "{body}");
                body["data"].clone()
            }
        };
        let customer = as_role(
            "customer",
            "{ me { id orders(first: 100) { edges { node { id } } } } }",
        )
        .await;
        let customers_orders: Vec<Value> = customer["me"]["orders"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["id"].clone())
            .collect();
        fixtures.insert("customer", customer["me"]["id"].clone());
        fixtures.insert("customer's order", customers_orders[0].clone());
        let staff = as_role(
            "staff",
            "{ me { id worksFor { slug orders(first: 100) { edges { node { id } } } } } }",
        )
        .await;
        fixtures.insert("staff", staff["me"]["id"].clone());
        let works_for = &staff["me"]["worksFor"][0];
        fixtures.insert("staff's restaurant slug", works_for["slug"].clone());
        let another = works_for["orders"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["id"].clone())
            .find(|id| !customers_orders.contains(id))
            .expect("an order at the staff's restaurant that is not the demo customer's");
        fixtures.insert("another customer's order", another);
        let missing = |ty: &str| {
            Value::from(
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{ty}:999999")),
            )
        };
        fixtures.insert("missing order", missing("Order"));
        fixtures.insert("missing restaurant", missing("Restaurant"));
        fixtures.insert("missing user", missing("User"));
        Self(
            fixtures
                .into_iter()
                .map(|(name, value)| {
                    let value = value
                        .as_str()
                        .unwrap_or_else(|| panic!("fixture {name}: {value}"))
                        .to_owned();
                    (name, value)
                })
                .collect(),
        )
    }

    /// `variables` with every `<fixture>` replaced by its value.
    fn resolve(&self, variables: &Value) -> Value {
        match variables {
            Value::String(s) if s.starts_with('<') && s.ends_with('>') => {
                let name = &s[1..s.len() - 1];
                Value::from(
                    self.0
                        .get(name)
                        .unwrap_or_else(|| panic!("no fixture {name}"))
                        .clone(),
                )
            }
            Value::Array(items) => items.iter().map(|item| self.resolve(item)).collect(),
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, value)| (key.clone(), self.resolve(value)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// Every operation's cases answered on `pair`: golden file name → its text.
async fn answers(pair: &StorePair, operations: &[Operation]) -> BTreeMap<String, String> {
    let app = app_seeded_at_noon(pair).await;
    let mut tokens = BTreeMap::new();
    for (role, email) in ROLES {
        let token = match email {
            Some(email) => Some(
                app.login(email, DEMO_PASSWORD).await["accessToken"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            None => None,
        };
        tokens.insert(role, token);
    }
    let fixtures = Fixtures::read(&app, &tokens).await;
    let mut files = BTreeMap::new();
    for operation in operations {
        let mut cases = Vec::new();
        for &(role, _) in roles(&operation.name) {
            let mut variables = Generator::for_case(&operation.name, role).cases(operation);
            variables.extend(
                workload_cases(&operation.name)
                    .into_iter()
                    .filter(|(r, _)| *r == role)
                    .map(|(_, v)| v),
            );
            for variables in variables {
                let (status, mut body) = app
                    .graphql_as(
                        tokens[role].as_deref(),
                        &operation.text,
                        fixtures.resolve(&variables),
                    )
                    .await;
                if let Some(extensions) = body.get_mut("extensions").and_then(Value::as_object_mut)
                {
                    extensions.remove("roundTrips");
                    if extensions.is_empty() {
                        body.as_object_mut().unwrap().remove("extensions");
                    }
                }
                cases.push(json!({
                    "role": role,
                    "variables": variables,
                    "status": status,
                    "response": redacted(&body),
                }));
            }
        }
        let text = serde_json::to_string_pretty(&cases).unwrap() + "\n";
        files.insert(format!("{}.json", operation.name), text);
    }
    app.stop().await;
    files
}

/// The golden file for `name` on `pair`: the pair's own, if it has one.
fn golden_path(pair: &StorePair, name: &str) -> PathBuf {
    let own = golden_dir().join(pair.name()).join(name);
    if own.exists() {
        own
    } else {
        golden_dir().join(name)
    }
}

/// The first case that differs between two golden texts, for the failure message.
fn first_difference(expected: &str, actual: &str) -> String {
    let parse = |text: &str| serde_json::from_str::<Vec<Value>>(text).unwrap_or_default();
    let (expected, actual) = (parse(expected), parse(actual));
    for (i, (e, a)) in expected.iter().zip(&actual).enumerate() {
        if e != a {
            return format!(
                "case {i} ({} {}):\n  recorded: {}\n  answered: {}",
                e["role"], e["variables"], e["response"], a["response"]
            );
        }
    }
    format!(
        "{} cases recorded, {} answered",
        expected.len(),
        actual.len()
    )
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn every_read_answers_as_recorded() {
    let update = std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1");
    let operations = operations();
    assert!(operations.len() >= 20, "{}", operations.len());
    let mut wrong = Vec::new();
    for pair in bistro_tests::store_pairs() {
        let answered = answers(&pair, &operations).await;
        for (name, text) in &answered {
            let path = golden_path(&pair, name);
            let recorded = std::fs::read_to_string(&path).unwrap_or_default();
            if recorded == *text {
                continue;
            }
            if update {
                // The first pair writes the shared file; a later one that
                // answers otherwise gets its own (see the module docs), and
                // loses it once it answers like the first.
                let shared = golden_dir().join(name);
                let own = golden_dir().join(pair.name()).join(name);
                if matches!(pair, StorePair::Embedded) {
                    write(&shared, text);
                } else if std::fs::read_to_string(&shared).ok().as_ref() == Some(text) {
                    std::fs::remove_file(&own).unwrap();
                } else {
                    write(&own, text);
                }
            } else {
                wrong.push(format!(
                    "[{}] {name} differs from {}: {}",
                    pair.name(),
                    path.display(),
                    first_difference(&recorded, text)
                ));
            }
        }
        if !update {
            // A golden file no operation answers any more is stale.
            for entry in std::fs::read_dir(golden_dir()).unwrap() {
                let file = entry.unwrap().file_name().into_string().unwrap();
                if file.ends_with(".json") && !answered.contains_key(&file) {
                    wrong.push(format!(
                        "{file}: no operation answers it any more; remove it"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} golden file(s) differ (record again with {UPDATE_VAR}=1 if the change is meant):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
