//! A server process killed with SIGKILL between two steps of a write, then
//! started again on the same stores, on both store pairs: the real binary,
//! the simulated processor paused at the chosen step (a pause token), the
//! process killed while it waits there, and the recovery task of the new
//! process settling what the dead one left within its setting
//! (`payments.recovery_after_secs`, 2 seconds here, plus one sweep).
//!
//! After recovery, every order's payment status in SQL is what the
//! processor's ledger says, the stock counts exactly the placed orders, and
//! nothing is left pending.

use std::time::{Duration, Instant};

use bistro_tests::process::{ProcessStores, ServerProcess, post_graphql};
use bistro_tests::{DEMO_PASSWORD, StorePair, store_pairs};
use serde_json::{Value, json};

use crate::ordering::{STAFF_1, amount};

/// Recovery acts two seconds after a step's lease began, sweeping every second.
const RECOVERY: [(&str, &str); 2] = [
    ("BISTRO_PAYMENTS__RECOVERY_AFTER_SECS", "2"),
    ("BISTRO_PAYMENTS__RECOVERY_INTERVAL_SECS", "1"),
];

const PASSWORD: &str = "a long enough passphrase";

/// A new customer, signed up through the API: its email and access token.
async fn sign_up(server: &ServerProcess, name: &str) -> (String, String) {
    let email = format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple());
    let body = server
        .graphql(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { session { accessToken } userErrors { code } } }",
            json!({ "input": { "email": email, "password": PASSWORD, "displayName": name } }),
        )
        .await;
    let token = body["data"]["register"]["session"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    (email, token)
}

/// A limited dish at restaurant 1: `(global id, price, currency)`.
async fn limited_dish(stores: &ProcessStores, daily_stock: i32) -> (String, i64, String) {
    let db = stores.db();
    let currency = bistro_sql::query::restaurants_by_ids(db, &[1])
        .await
        .unwrap()[0]
        .currency_code
        .clone();
    let item = bistro_sql::write::create_menu_item(
        db,
        bistro_sql::write::NewMenuItem {
            restaurant_id: 1,
            name: "Crash dish".to_owned(),
            description: String::new(),
            price_amount: 900,
            currency_code: currency.clone(),
            course: bistro_sql::entity::Course::Main,
            dietary: Vec::new(),
            available: true,
            daily_stock: Some(daily_stock),
        },
    )
    .await
    .unwrap()
    .unwrap();
    (
        bistro_schema::ids::global_id(bistro_schema::ids::NodeType::MenuItem, item.id).0,
        900,
        currency,
    )
}

async fn add_to_cart(server: &ServerProcess, token: &str, item: &str, quantity: i32) {
    let body = server
        .graphql(
            Some(token),
            &bistro_tests::operation("AddToCart"),
            json!({ "input": { "menuItemId": item, "quantity": quantity, "replaceCart": true } }),
        )
        .await;
    assert_eq!(body["data"]["addToCart"]["userErrors"], json!([]), "{body}");
}

fn checkout_input(key: &str, total: &str, card: &str) -> Value {
    json!({ "input": {
        "fulfilment": "PICKUP", "paymentToken": card,
        "idempotencyKey": key, "expectedTotal": total
    } })
}

async fn stock_left(server: &ServerProcess, item: &str) -> Value {
    server
        .graphql(
            None,
            "query($id: ID!) { node(id: $id) { ... on MenuItem { stockRemaining } } }",
            json!({ "id": item }),
        )
        .await["data"]["node"]["stockRemaining"]
        .clone()
}

/// Waits until no step is pending; returns how long that took. The bound
/// only stops a broken test: recovery should settle in about three seconds.
async fn settled(stores: &ProcessStores) -> Duration {
    let started = Instant::now();
    while !bistro_sql::steps::all(stores.db())
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "[{}] steps still pending: {:?}",
            stores.pair().name(),
            bistro_sql::steps::all(stores.db()).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

async fn orders(stores: &ProcessStores) -> Vec<bistro_sql::entity::order::Model> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    bistro_sql::entity::order::Entity::find()
        .filter(bistro_sql::entity::order::Column::IdempotencyKey.like("kill-%"))
        .all(stores.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_server_killed_at_any_step_of_a_checkout_is_recovered_after_a_restart() {
    for pair in store_pairs() {
        for step in ["stock", "authorize", "commit"] {
            let stores = ProcessStores::new(&pair).await;
            let server = stores.start(&RECOVERY).await;
            let (item, price, currency) = limited_dish(&stores, 5).await;
            let (email, customer) = sign_up(&server, "crash").await;
            add_to_cart(&server, &customer, &item, 2).await;
            let key = format!("kill-{step}");
            let card = format!("tok_pause:{step}:{key}");
            let total = amount(2 * price, &currency);
            let checkout = bistro_tests::operation("Checkout");
            let request = {
                let (client, url, token) = (
                    server.client().clone(),
                    server.url("/graphql"),
                    customer.clone(),
                );
                let (query, input) = (checkout.clone(), checkout_input(&key, &total, &card));
                tokio::spawn(async move {
                    post_graphql(&client, &url, Some(&token), &query, input).await
                })
            };
            bistro_tests::wait_for_pause(stores.db(), &key).await;
            server.kill();
            assert!(
                request.await.unwrap().is_err(),
                "the request died with its server"
            );
            // Released, so a retry of the checkout does not wait there again.
            bistro_sql::simulated_ledger::release(stores.db(), &key, chrono::Utc::now())
                .await
                .unwrap();

            let server = stores.start(&RECOVERY).await;
            let took = settled(&stores).await;
            let customer = server.sign_in(&email, PASSWORD).await;
            eprintln!(
                "[{}] killed at {step}: every pending step settled {took:?} after the restart",
                pair.name()
            );
            bistro_tests::assert_payments_match_ledger(stores.db()).await;
            let placed = orders(&stores).await;
            // This checkout's authorizations: the demo data's seeded payments
            // are in the ledger too.
            let ledger: Vec<(String, String)> = bistro_sql::simulated_ledger::states(stores.db())
                .await
                .unwrap()
                .into_iter()
                .filter(|(reference, _)| !reference.starts_with("sim_seed_"))
                .collect();
            match step {
                // Stock taken, nothing asked of the processor: the stock is back.
                "stock" => {
                    assert!(placed.is_empty(), "[{}] {placed:?}", pair.name());
                    assert!(ledger.is_empty(), "[{}] {ledger:?}", pair.name());
                    assert_eq!(stock_left(&server, &item).await, json!(5));
                }
                // Authorized, no order: the authorization is voided, the stock back.
                "authorize" => {
                    assert!(placed.is_empty(), "[{}] {placed:?}", pair.name());
                    assert_eq!(
                        ledger.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(),
                        ["VOIDED"],
                        "[{}]",
                        pair.name()
                    );
                    assert_eq!(stock_left(&server, &item).await, json!(5));
                }
                // Committed: the order stands, its authorization held, its stock taken.
                _ => {
                    assert_eq!(placed.len(), 1, "[{}]", pair.name());
                    assert_eq!(stock_left(&server, &item).await, json!(3));
                }
            }
            // The key still answers as a checkout should.
            let retry = server
                .graphql(
                    Some(&customer),
                    &checkout,
                    checkout_input(&key, &total, &card),
                )
                .await;
            let payload = &retry["data"]["checkout"];
            match (step, &pair) {
                ("commit", _) => {
                    assert_eq!(payload["userErrors"], json!([]), "{retry}");
                    assert_eq!(
                        orders(&stores).await.len(),
                        1,
                        "no second order for one checkout"
                    );
                }
                // The cart survived in Redis: the undone checkout is placed now.
                (_, StorePair::Real { .. }) => {
                    assert_eq!(payload["userErrors"], json!([]), "{retry}");
                    assert_eq!(stock_left(&server, &item).await, json!(3));
                }
                // The in-process store (and the cart in it) died with the process.
                (_, StorePair::Embedded) => {
                    assert_eq!(payload["userErrors"][0]["code"], "CART_EMPTY", "{retry}");
                }
            }
            bistro_tests::assert_payments_match_ledger(stores.db()).await;
            server.kill();
            stores.remove().await;
        }
    }
}

#[tokio::test]
async fn a_server_killed_between_a_refund_and_its_record_is_recovered_after_a_restart() {
    for pair in store_pairs() {
        let stores = ProcessStores::new(&pair).await;
        let server = stores.start(&RECOVERY).await;
        let (item, price, currency) = limited_dish(&stores, 5).await;
        let (_, customer) = sign_up(&server, "refunded").await;
        let staff = server.sign_in(STAFF_1, DEMO_PASSWORD).await;
        add_to_cart(&server, &customer, &item, 1).await;
        let key = "kill-refund";
        let placed = server
            .graphql(
                Some(&customer),
                &bistro_tests::operation("Checkout"),
                checkout_input(
                    key,
                    &amount(price, &currency),
                    "tok_pause:refund:kill-refund",
                ),
            )
            .await;
        let order = placed["data"]["checkout"]["order"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{placed}"))
            .to_owned();
        let accepted = server
            .graphql(
                Some(&staff),
                "mutation($id: ID!) { advanceOrder(input: { orderId: $id, to: ACCEPTED }) { userErrors { code } } }",
                json!({ "id": order }),
            )
            .await;
        assert_eq!(
            accepted["data"]["advanceOrder"]["userErrors"],
            json!([]),
            "{accepted}"
        );
        assert_eq!(stock_left(&server, &item).await, json!(4));
        let cancel = {
            let (client, url, token, order) = (
                server.client().clone(),
                server.url("/graphql"),
                customer.clone(),
                order.clone(),
            );
            tokio::spawn(async move {
                post_graphql(
                    &client,
                    &url,
                    Some(&token),
                    "mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { userErrors { code } } }",
                    json!({ "id": order }),
                )
                .await
            })
        };
        // The refund is made at the processor; SQL does not know yet.
        bistro_tests::wait_for_pause(stores.db(), key).await;
        server.kill();
        assert!(cancel.await.unwrap().is_err());
        bistro_sql::simulated_ledger::release(stores.db(), key, chrono::Utc::now())
            .await
            .unwrap();

        let server = stores.start(&RECOVERY).await;
        let took = settled(&stores).await;
        let staff = server.sign_in(STAFF_1, DEMO_PASSWORD).await;
        eprintln!(
            "[{}] killed after a refund: settled {took:?} after the restart",
            pair.name()
        );
        let now = server
            .graphql(
                Some(&staff),
                "query($id: ID!) { node(id: $id) { ... on Order { status paymentStatus } } }",
                json!({ "id": order }),
            )
            .await;
        assert_eq!(
            now["data"]["node"],
            json!({ "status": "CANCELLED", "paymentStatus": "REFUNDED" }),
            "[{}] the refund was recorded, and the order moved with it: {now}",
            pair.name()
        );
        bistro_tests::assert_payments_match_ledger(stores.db()).await;
        // The cancelled order's unit came back (the day's stock was kept in
        // Redis; the in-process store recounts it from SQL).
        assert_eq!(
            stock_left(&server, &item).await,
            json!(5),
            "[{}]",
            pair.name()
        );
        server.kill();
        stores.remove().await;
    }
}
