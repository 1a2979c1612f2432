//! The drain on SIGTERM, with the real binary: `/health/ready` answers 503
//! at once while the listener still accepts for
//! `http.shutdown_ready_delay_secs`, a checkout in flight finishes, live
//! connections close with 1001 and the process exits 0 — and, across two
//! replicas on one PostgreSQL and Redis, the clients move to the other one:
//! no order lost or doubled, every subscriber back.
//!
//! Deterministic: the checkout in flight is held at a pause token of the
//! simulated processor until the test has seen the drain begin; every wait
//! is a poll with a bound. What SIGKILL loses (requests in flight, never
//! orders) is `crashes.rs`'s.

use std::time::Duration;

use bistro_tests::process::{ProcessStores, ServerProcess, post_graphql};
use bistro_tests::ws::WsClient;
use bistro_tests::{DEMO_PASSWORD, StorePair, store_pairs};
use serde_json::{Value, json};

use crate::ordering::{STAFF_1, amount};

/// The drain keeps accepting this long after SIGTERM.
const DRAIN: [(&str, &str); 1] = [("BISTRO_HTTP__SHUTDOWN_READY_DELAY_SECS", "2")];

const RESTAURANT_ORDERS: &str =
    "subscription($id: ID!) { restaurantOrders(restaurantId: $id) { kind orderId to } }";

async fn sign_up(server: &ServerProcess, name: &str) -> String {
    let email = format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple());
    let body = server
        .graphql(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { session { accessToken } } }",
            json!({ "input": { "email": email, "password": "a long enough passphrase", "displayName": name } }),
        )
        .await;
    body["data"]["register"]["session"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

/// A dish at restaurant 1: `(global id, total of one, as the API writes it)`.
async fn dish(stores: &ProcessStores) -> (String, String) {
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
            name: "Drain dish".to_owned(),
            description: String::new(),
            price_amount: 1_100,
            currency_code: currency.clone(),
            course: bistro_sql::entity::Course::Main,
            dietary: Vec::new(),
            available: true,
            daily_stock: None,
        },
    )
    .await
    .unwrap()
    .unwrap();
    (
        bistro_schema::ids::global_id(bistro_schema::ids::NodeType::MenuItem, item.id).0,
        amount(1_100, &currency),
    )
}

async fn fill_cart(server: &ServerProcess, token: &str, item: &str) {
    let body = server
        .graphql(
            Some(token),
            &bistro_tests::operation("AddToCart"),
            json!({ "input": { "menuItemId": item, "quantity": 1, "replaceCart": true } }),
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

/// A checkout sent now, answered later.
fn checkout_in_flight(
    server: &ServerProcess,
    token: &str,
    input: Value,
) -> tokio::task::JoinHandle<reqwest::Result<Value>> {
    let (client, url, token) = (
        server.client().clone(),
        server.url("/graphql"),
        token.to_owned(),
    );
    let query = bistro_tests::operation("Checkout");
    tokio::spawn(async move { post_graphql(&client, &url, Some(&token), &query, input).await })
}

/// Polls `/health/ready` (bounded) until it answers 503 `draining`.
async fn until_draining(server: &ServerProcess) {
    for _ in 0..500 {
        let response = server
            .client()
            .get(server.url("/health/ready"))
            .send()
            .await;
        if let Ok(response) = response
            && response.status() == 503
        {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["status"], "draining", "{body}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("/health/ready never answered 503 after SIGTERM");
}

/// A new connection to the server is accepted and served.
async fn accepts(server: &ServerProcess) -> bool {
    // A client of its own: a new TCP connection, not one kept alive.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    client
        .get(server.url("/health/live"))
        .send()
        .await
        .is_ok_and(|response| response.status() == 200)
}

async fn orders_with_keys(stores: &ProcessStores) -> Vec<bistro_sql::entity::order::Model> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    bistro_sql::entity::order::Entity::find()
        .filter(bistro_sql::entity::order::Column::IdempotencyKey.like("drain-%"))
        .all(stores.db())
        .await
        .unwrap()
}

async fn subscribed(server: &ServerProcess, staff: &str, restaurant: &str) -> WsClient {
    let url = server.url("/graphql/ws").replacen("http", "ws", 1);
    let mut ws = WsClient::connect(&url, Some("graphql-transport-ws")).await;
    ws.init_as(Some(staff)).await;
    ws.subscribe("orders", RESTAURANT_ORDERS, json!({ "id": restaurant }))
        .await;
    ws.round_trip().await;
    ws
}

/// Reads `orders` events until one for `order_id`'s `PLACED` (events of
/// other orders may come first); `MISSED_UPDATES` is allowed, then refetched by the caller.
async fn placed_event(ws: &mut WsClient, order_id: &str) {
    for _ in 0..20 {
        let payload = ws.next("orders").await;
        let update = &payload["data"]["restaurantOrders"];
        if update["orderId"] == order_id && update["to"] == "PLACED" {
            return;
        }
    }
    panic!("no PLACED event for {order_id}");
}

#[tokio::test]
async fn sigterm_stops_taking_traffic_finishes_in_flight_work_and_exits_0() {
    for pair in store_pairs() {
        let stores = ProcessStores::new(&pair).await;
        let server = stores.start(&DRAIN).await;
        let (item, total) = dish(&stores).await;
        let customer = sign_up(&server, "drain").await;
        fill_cart(&server, &customer, &item).await;
        let key = "drain-in-flight";
        let request = checkout_in_flight(
            &server,
            &customer,
            checkout_input(key, &total, &format!("tok_pause:authorize:{key}")),
        );
        bistro_tests::wait_for_pause(stores.db(), key).await;
        let url = server.url("/graphql/ws").replacen("http", "ws", 1);
        let mut ws = WsClient::connect(&url, Some("graphql-transport-ws")).await;
        ws.init_as(None).await;

        server.terminate();
        until_draining(&server).await;
        // Out of rotation, still accepting: what a load balancer sent before
        // its probe saw the 503 is served.
        assert!(
            accepts(&server).await,
            "[{}] refused during the ready delay",
            pair.name()
        );
        // Then live connections are told to go elsewhere.
        assert_eq!(ws.closed().await.0, 1001, "[{}]", pair.name());
        bistro_sql::simulated_ledger::release(stores.db(), key, chrono::Utc::now())
            .await
            .unwrap();
        let answered = request
            .await
            .unwrap()
            .expect("the checkout in flight was answered");
        assert_eq!(
            answered["data"]["checkout"]["userErrors"],
            json!([]),
            "[{}] {answered}",
            pair.name()
        );
        let status = server.exited().await;
        assert_eq!(status.code(), Some(0), "[{}] {status:?}", pair.name());
        assert_eq!(orders_with_keys(&stores).await.len(), 1);
        assert!(
            bistro_sql::steps::all(stores.db())
                .await
                .unwrap()
                .is_empty(),
            "nothing left pending"
        );
        bistro_tests::assert_payments_match_ledger(stores.db()).await;
        stores.remove().await;
    }
}

#[tokio::test]
async fn a_replica_drained_with_sigterm_hands_its_clients_to_the_other_losing_and_doubling_nothing()
{
    let Some(pair) = store_pairs()
        .into_iter()
        .find(|pair| matches!(pair, StorePair::Real { .. }))
    else {
        eprintln!("two replicas share PostgreSQL and Redis: set BISTRO_TEST_* to run this test");
        return;
    };
    let stores = ProcessStores::new(&pair).await;
    let a = stores.start(&DRAIN).await;
    let b = stores.start(&DRAIN).await;
    let restaurant = bistro_schema::ids::global_id(bistro_schema::ids::NodeType::Restaurant, 1).0;
    // Sessions live in Redis: one token serves on both replicas.
    let staff = a.sign_in(STAFF_1, DEMO_PASSWORD).await;
    let mut subscriber = subscribed(&a, &staff, &restaurant).await;
    let (item, total) = dish(&stores).await;
    let customers = [sign_up(&a, "first").await, sign_up(&a, "second").await];
    for customer in &customers {
        fill_cart(&a, customer, &item).await;
    }
    // The first customer's checkout is in flight on A when A is told to stop.
    let in_flight = checkout_in_flight(
        &a,
        &customers[0],
        checkout_input("drain-a", &total, "tok_pause:authorize:drain-a"),
    );
    bistro_tests::wait_for_pause(stores.db(), "drain-a").await;
    a.terminate();
    until_draining(&a).await;
    // The subscriber is told to reconnect, and does, to B.
    assert_eq!(subscriber.closed().await.0, 1001);
    let mut subscriber = subscribed(&b, &staff, &restaurant).await;
    // The checkout in flight on A finishes there.
    bistro_sql::simulated_ledger::release(stores.db(), "drain-a", chrono::Utc::now())
        .await
        .unwrap();
    let answered = in_flight
        .await
        .unwrap()
        .expect("answered by A before it stopped");
    let first = answered["data"]["checkout"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{answered}"))
        .to_owned();
    assert_eq!(a.exited().await.code(), Some(0), "A exits 0");
    // The client retries with its key against B (it may not have seen A's
    // answer): the same order, no second one.
    let retried = b
        .graphql(
            Some(&customers[0]),
            &bistro_tests::operation("Checkout"),
            checkout_input("drain-a", &total, "tok_pause:authorize:drain-a"),
        )
        .await;
    assert_eq!(
        retried["data"]["checkout"]["order"]["id"], first,
        "{retried}"
    );
    // The second customer, moved to B, checks out there; the subscriber on B hears it.
    let second = b
        .graphql(
            Some(&customers[1]),
            &bistro_tests::operation("Checkout"),
            checkout_input("drain-b", &total, "tok_visa"),
        )
        .await;
    let second = second["data"]["checkout"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{second}"))
        .to_owned();
    placed_event(&mut subscriber, &second).await;
    // Consistent on refetch: both orders, once each, in SQL and in the ledger.
    let placed = orders_with_keys(&stores).await;
    assert_eq!(placed.len(), 2, "{placed:?}");
    let outbox = bistro_sql::outbox::all(stores.db()).await.unwrap();
    let confirmations = outbox
        .iter()
        .filter(|row| placed.iter().any(|order| row.order_id == Some(order.id)))
        .count();
    assert_eq!(confirmations, 2, "one confirmation per order, none lost");
    assert!(
        bistro_sql::steps::all(stores.db())
            .await
            .unwrap()
            .is_empty()
    );
    bistro_tests::assert_payments_match_ledger(stores.db()).await;
    b.kill();
    stores.remove().await;
}

#[tokio::test]
async fn a_replica_killed_with_sigkill_loses_only_its_requests_in_flight_and_retries_resolve_on_the_other()
 {
    let Some(pair) = store_pairs()
        .into_iter()
        .find(|pair| matches!(pair, StorePair::Real { .. }))
    else {
        eprintln!("two replicas share PostgreSQL and Redis: set BISTRO_TEST_* to run this test");
        return;
    };
    // Recovery acts two seconds after a step's lease began.
    let settings = [
        ("BISTRO_PAYMENTS__RECOVERY_AFTER_SECS", "2"),
        ("BISTRO_PAYMENTS__RECOVERY_INTERVAL_SECS", "1"),
    ];
    let stores = ProcessStores::new(&pair).await;
    let a = stores.start(&settings).await;
    let b = stores.start(&settings).await;
    let (item, total) = dish(&stores).await;
    let customer = sign_up(&a, "killed").await;
    fill_cart(&a, &customer, &item).await;
    let in_flight = checkout_in_flight(
        &a,
        &customer,
        checkout_input("drain-killed", &total, "tok_pause:authorize:drain-killed"),
    );
    bistro_tests::wait_for_pause(stores.db(), "drain-killed").await;
    a.kill();
    assert!(
        in_flight.await.unwrap().is_err(),
        "the request in flight is lost"
    );
    bistro_sql::simulated_ledger::release(stores.db(), "drain-killed", chrono::Utc::now())
        .await
        .unwrap();
    // The client retries with its key on B until the dead request's step is
    // taken over (a retry after its lease, or B's recovery): one order.
    let mut order = None;
    for _ in 0..600 {
        let retried = b
            .graphql(
                Some(&customer),
                &bistro_tests::operation("Checkout"),
                // The same input as the request that was lost (its pause released).
                checkout_input("drain-killed", &total, "tok_pause:authorize:drain-killed"),
            )
            .await;
        let payload = &retried["data"]["checkout"];
        if let Some(id) = payload["order"]["id"].as_str() {
            order = Some(id.to_owned());
            break;
        }
        // Only "still in progress" (the dead request's lease) is worth a retry.
        assert_eq!(
            payload["userErrors"][0]["code"], "CHECKOUT_IN_PROGRESS",
            "{retried}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let order = order.expect("the retry placed the order within thirty seconds");
    let placed = orders_with_keys(&stores).await;
    assert_eq!(placed.len(), 1, "one order for one checkout: {placed:?}");
    assert_eq!(
        bistro_schema::ids::global_id(bistro_schema::ids::NodeType::Order, placed[0].id).0,
        order
    );
    for _ in 0..600 {
        if bistro_sql::steps::all(stores.db())
            .await
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        bistro_sql::steps::all(stores.db())
            .await
            .unwrap()
            .is_empty(),
        "nothing left pending"
    );
    bistro_tests::assert_payments_match_ledger(stores.db()).await;
    b.kill();
    stores.remove().await;
}
