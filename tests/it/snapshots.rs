//! Snapshots of what clients see (`insta`): the responses of the
//! storefront's operations and of the README's examples, on the embedded
//! pair, with ids, times, tokens and cursors redacted
//! ([`bistro_tests::snapshot::redacted`]). A change in a response's shape or
//! values shows up in review as a diff of `tests/it/snapshots/*.snap`;
//! accept an intended one with `cargo insta review` or
//! `INSTA_UPDATE=always cargo test -p bistro-tests --test it snapshots::`.
//!
//! The demo data is seeded as it would be at noon (UTC) of the day the test
//! runs, so what depends on the clock (today's orders, stock and
//! popularity) is the same in every run.

use bistro_tests::snapshot::redacted;
use bistro_tests::{DEMO_PASSWORD, StorePair, TestApp};
use chrono::{Duration, NaiveTime, Utc};
use serde_json::{Value, json};

use crate::storefront::storefront_documents;

/// A server on `pair` with the demo data seeded at noon today.
pub(crate) async fn app_seeded_at_noon(pair: &StorePair) -> TestApp {
    app_seeded_at_noon_with(pair, |_| {}).await
}

/// Like [`app_seeded_at_noon`], letting the test change the configuration first.
pub(crate) async fn app_seeded_at_noon_with(
    pair: &StorePair,
    tweak: impl FnOnce(&mut bistro_server::config::Config),
) -> TestApp {
    // Within two minutes of midnight, "today" could change under the test:
    // start on the next day instead.
    let now = Utc::now();
    let midnight = (now.date_naive() + chrono::Days::new(1))
        .and_time(NaiveTime::MIN)
        .and_utc();
    if midnight - now < Duration::minutes(2) {
        tokio::time::sleep((midnight - now + Duration::seconds(1)).to_std().unwrap()).await;
    }
    let app = TestApp::spawn_with(pair, |config| {
        config.seed_demo_data = false;
        tweak(config);
    })
    .await;
    let noon = Utc::now()
        .date_naive()
        .and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap())
        .and_utc();
    bistro_server::seed::seed(
        &app.app.db,
        &app.app.kv,
        bistro_sql::seed::SeedSize::Small,
        bistro_server::seed::DEMO_SEED,
        false,
        noon,
    )
    .await
    .unwrap();
    app
}

/// The steps of one client's session, each with what it was answered.
#[derive(Default)]
struct Transcript(Vec<Value>);

impl Transcript {
    /// Sends `document` as `token`; records the redacted answer (its data,
    /// errors and cost receipt) under `step`; returns the unredacted data.
    async fn step(
        &mut self,
        app: &TestApp,
        step: &str,
        token: Option<&str>,
        document: &str,
        variables: Value,
    ) -> Value {
        let (status, body) = app.graphql_as(token, document, variables).await;
        assert_eq!(status, 200, "{step}: {body:#}");
        self.0
            .push(json!({ "step": step, "response": redacted(&body) }));
        body["data"].clone()
    }
}

async fn sign_in(app: &TestApp, email: &str) -> String {
    app.login(email, DEMO_PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_storefronts_operations_answer_as_recorded() {
    let app = app_seeded_at_noon(&StorePair::Embedded).await;
    let documents = storefront_documents();
    let doc = |name: &str| documents[name].clone();
    let staff = sign_in(&app, "staff@bistro.test").await;
    let mut t = Transcript::default();

    let board = t
        .step(
            &app,
            "StaffBoard",
            Some(&staff),
            &doc("StaffBoard"),
            json!({}),
        )
        .await;
    let slug = board["me"]["worksFor"][0]["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    t.step(
        &app,
        "Home",
        None,
        &doc("Home"),
        json!({ "signedIn": false }),
    )
    .await;
    let menu = t
        .step(
            &app,
            "RestaurantMenu",
            None,
            &doc("RestaurantMenu"),
            json!({ "slug": slug, "signedIn": false }),
        )
        .await;
    t.step(
        &app,
        "SearchMenu",
        None,
        &doc("SearchMenu"),
        json!({ "query": "spicy curry", "signedIn": false }),
    )
    .await;

    let password = "a ship in port is safe";
    let email = "snapshots@example.com";
    t.step(
        &app,
        "Register",
        None,
        &doc("Register"),
        json!({ "input": { "email": email, "password": password, "displayName": "Grace" } }),
    )
    .await;
    let login = t
        .step(
            &app,
            "Login",
            None,
            &doc("Login"),
            json!({ "input": { "email": email, "password": password } }),
        )
        .await;
    let refreshed = t
        .step(
            &app,
            "RefreshSession",
            None,
            &doc("RefreshSession"),
            json!({ "input": { "refreshToken": login["login"]["session"]["refreshToken"] } }),
        )
        .await;
    let session = refreshed["refreshSession"]["session"].clone();
    let me = session["accessToken"].as_str().unwrap().to_owned();
    let me = Some(me.as_str());

    // The cart: a main with an option and a starter, changed and removed.
    let items = menu["restaurant"]["menu"]["nodes"].as_array().unwrap();
    let orderable = |i: &&Value| i["available"] == true && i["stockRemaining"] != 0;
    let main = items
        .iter()
        .filter(orderable)
        .find(|i| {
            i["course"] == "MAIN" && i["optionGroups"].as_array().is_some_and(|g| !g.is_empty())
        })
        .unwrap();
    let option = main["optionGroups"][0]["options"][0]["id"].clone();
    let starter = items
        .iter()
        .filter(orderable)
        .find(|i| i["course"] == "STARTER")
        .unwrap();
    let add = |item: &Value, options: Value| json!({ "input": { "menuItemId": item["id"], "quantity": 1, "optionIds": options, "replaceCart": false } });
    t.step(
        &app,
        "AddToCart (a main)",
        me,
        &doc("AddToCart"),
        add(main, json!([option])),
    )
    .await;
    let added = t
        .step(
            &app,
            "AddToCart (a starter)",
            me,
            &doc("AddToCart"),
            add(starter, json!([])),
        )
        .await;
    let starter_line = added["addToCart"]["cart"]["lines"][1]["id"].clone();
    t.step(
        &app,
        "UpdateCartLine",
        me,
        &doc("UpdateCartLine"),
        json!({ "input": { "lineId": starter_line, "quantity": 3 } }),
    )
    .await;
    t.step(
        &app,
        "RemoveCartLine",
        me,
        &doc("RemoveCartLine"),
        json!({ "input": { "lineId": starter_line } }),
    )
    .await;
    let cart = t.step(&app, "Cart", me, &doc("Cart"), json!({})).await;
    let total = cart["me"]["cart"]["pickupTotal"]["amount"].clone();

    // Checkouts: declined, placed, then two more for staff to reject and the customer to cancel.
    let checkout = |card: &str, key: &str| {
        json!({ "input": {
            "fulfilment": "PICKUP", "paymentToken": card, "idempotencyKey": key, "expectedTotal": total,
        } })
    };
    t.step(
        &app,
        "Checkout (declined)",
        me,
        &doc("Checkout"),
        checkout("tok_chargeDeclined", "snap-1"),
    )
    .await;
    let mut orders = Vec::new();
    for key in ["snap-1", "snap-2", "snap-3"] {
        if key != "snap-1" {
            t.step(
                &app,
                "AddToCart (again)",
                me,
                &doc("AddToCart"),
                add(main, json!([option])),
            )
            .await;
        }
        let placed = t
            .step(
                &app,
                "Checkout",
                me,
                &doc("Checkout"),
                checkout("tok_visa", key),
            )
            .await;
        orders.push(placed["checkout"]["order"]["id"].clone());
    }
    t.step(
        &app,
        "AdvanceOrder",
        Some(&staff),
        &doc("AdvanceOrder"),
        json!({ "input": { "orderId": orders[0], "to": "ACCEPTED" } }),
    )
    .await;
    t.step(
        &app,
        "RejectOrder",
        Some(&staff),
        &doc("RejectOrder"),
        json!({ "input": { "orderId": orders[1], "reason": "The tandoor is down" } }),
    )
    .await;
    t.step(
        &app,
        "CancelOrder",
        me,
        &doc("CancelOrder"),
        json!({ "input": { "orderId": orders[2] } }),
    )
    .await;
    t.step(
        &app,
        "OrderDetail",
        me,
        &doc("OrderDetail"),
        json!({ "id": orders[0], "signedIn": true }),
    )
    .await;
    t.step(&app, "MyOrders", me, &doc("MyOrders"), json!({}))
        .await;
    t.step(
        &app,
        "Logout",
        me,
        &doc("Logout"),
        json!({ "input": { "refreshToken": session["refreshToken"] } }),
    )
    .await;
    insta::assert_json_snapshot!("storefront_operations", t.0);
    app.stop().await;
}

#[tokio::test]
async fn the_readmes_examples_answer_as_recorded() {
    let app = app_seeded_at_noon(&StorePair::Embedded).await;
    let blocks = crate::readme::graphql_blocks(&crate::readme::readme());
    let customer = sign_in(&app, "customer@bistro.test").await;
    let staff = sign_in(&app, "staff@bistro.test").await;
    let mut t = Transcript::default();
    let mut order = String::new();
    // In the order a reader follows them (the menu switch comes last: it
    // takes the walkthrough's dish off the menu). Subscriptions are not
    // sent over HTTP; their socket is tested in `subscriptions`.
    for (needle, who) in [
        ("query RestaurantPage", None),
        ("mutation { login(", None),
        ("{ me { email", Some(&customer)),
        (
            "orders(first: 5) { edges { node { status total",
            Some(&staff),
        ),
        ("menu(first: 5)", None),
        ("addToCart(input", Some(&customer)),
        ("checkout(input", Some(&customer)),
        ("advanceOrder(input", Some(&staff)),
        ("setMenuItemAvailability(input", Some(&staff)),
        ("writeReview(input", Some(&customer)),
    ] {
        let block = crate::readme::block_with(&blocks, needle).replace("<the order's id>", &order);
        let data = t
            .step(
                &app,
                &needle.replace('\n', " "),
                who.map(String::as_str),
                &block,
                json!({}),
            )
            .await;
        if let Some(id) = data["checkout"]["order"]["id"].as_str() {
            order = id.to_owned();
        }
    }
    insta::assert_json_snapshot!("readme_examples", t.0);
    app.stop().await;
}

/// An object's fields are answered in the order they were selected (GraphQL
/// spec, "Objects"), also when a later one finishes first: here the fields
/// that wait for a loader come before those already loaded, and a
/// fragment's fields before and after fields of their own.
#[tokio::test]
async fn fields_come_in_the_order_they_were_selected() {
    for pair in bistro_tests::store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (status, body) = app
            .graphql(
                "fragment F on MenuItem { optionGroups { name } name }
                 { searchMenu(query: \"curry\", first: 3) { nodes {
                     restaurant { name } ...F rating: price { amount } id
                 } } }",
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        for node in body["data"]["searchMenu"]["nodes"].as_array().unwrap() {
            let keys: Vec<&str> = node
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                keys,
                ["restaurant", "optionGroups", "name", "rating", "id"],
                "[{}] {body}",
                pair.name()
            );
        }
        app.stop().await;
    }
}

/// The errors of fields that fail concurrently come in the order of their
/// paths in the answer (`bistro_schema::request`), not in the order the
/// fields finished: here a restaurant's orders wait for nothing before they
/// are refused, and are selected between fields that wait for loaders.
#[tokio::test]
async fn errors_come_in_the_order_of_their_paths() {
    for pair in bistro_tests::store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (status, body) = app
            .graphql(
                "{ restaurants(first: 3) { nodes {
                     rating { count }
                     late: orders(first: 1) { pageInfo { hasNextPage } }
                     menu(first: 1) { nodes { name } }
                     orders(first: 2) { pageInfo { hasNextPage } }
                   } }
                   nobody: node(id: \"garbage\") { id } }",
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let paths: Vec<String> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["path"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.to_string().trim_matches('"').to_owned())
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .collect();
        let mut expected: Vec<String> = (0..3)
            .flat_map(|i| {
                [
                    format!("restaurants.nodes.{i}.late"),
                    format!("restaurants.nodes.{i}.orders"),
                ]
            })
            .collect();
        expected.push("nobody".to_owned());
        assert_eq!(paths, expected, "[{}] {body:#}", pair.name());
        app.stop().await;
    }
}
