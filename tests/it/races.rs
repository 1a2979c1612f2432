//! The money path when requests race or are cut off, on both store pairs:
//! of two concurrent transitions of one order exactly one wins and the loser
//! moves no money; a checkout cut off at any step (the client hangs up, a
//! WebSocket `complete`, the request timeout) still finishes, and its retry
//! gets the order; after every round, every order's payment status in SQL
//! is what the simulated processor's ledger says.
//!
//! Interleavings are forced with the simulated processor's pause tokens
//! (`tok_pause:{step}:{name}`): an operation waits at its step until the
//! test releases it, so nothing here sleeps and hopes.

use std::time::Duration;

use bistro_tests::{DEMO_PASSWORD, TestApp, store_pairs};
use serde_json::{Value, json};

use crate::ordering::{STAFF_1, add, amount, checkout, currency, new_item, pickup, user_codes};

const MOVE: &str = "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(input: { orderId: $id, to: $to }) { \
    order { status paymentStatus } userErrors { code } } }";
const REJECT: &str = "mutation($id: ID!) { rejectOrder(input: { orderId: $id, reason: \"busy\" }) { \
    order { status paymentStatus } userErrors { code } } }";
const CANCEL: &str = "mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { \
    order { status paymentStatus } userErrors { code } } }";

/// A customer, the restaurant's staff, and a dish of restaurant 1.
struct Shop {
    customer: String,
    staff: String,
    item: String,
    price: i64,
    total: String,
}

async fn shop(app: &TestApp, daily_stock: Option<i32>) -> Shop {
    let (_, customer) = app.new_customer("racer").await;
    let staff = app.login(STAFF_1, DEMO_PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, item) = new_item(app, 1, "Race dish", 1000, daily_stock).await;
    Shop {
        customer,
        staff,
        item,
        price: 1000,
        total: amount(1000, &currency(app, 1).await),
    }
}

/// Puts one unit in the customer's cart and checks out paying with `card`.
async fn order(app: &TestApp, shop: &Shop, key: &str, card: &str) -> String {
    let added = add(
        app,
        &shop.customer,
        json!({ "menuItemId": shop.item, "replaceCart": true }),
    )
    .await;
    assert_eq!(added["userErrors"], json!([]), "{added}");
    let placed = checkout(app, &shop.customer, pickup(key, &shop.total, card)).await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    placed["order"]["id"].as_str().unwrap().to_owned()
}

async fn mutate(app: &TestApp, token: &str, document: &str, variables: Value) -> Value {
    let (_, body) = app.graphql_as(Some(token), document, variables).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone()
}

async fn status(app: &TestApp, shop: &Shop, id: &str) -> (String, String) {
    let (_, body) = app
        .graphql_as(
            Some(&shop.staff),
            "query($id: ID!) { node(id: $id) { ... on Order { status paymentStatus } } }",
            json!({ "id": id }),
        )
        .await;
    let data = &body["data"];
    (
        data["node"]["status"].as_str().unwrap().to_owned(),
        data["node"]["paymentStatus"].as_str().unwrap().to_owned(),
    )
}

/// Of two answers, which one moved the order; the other must have been
/// refused by the race (`ORDER_CHANGED`, or `TRANSITION_NOT_ALLOWED` when
/// it read the order after the winner had moved it).
fn one_winner(a: &Value, b: &Value) -> usize {
    let moved: Vec<bool> = [a, b]
        .iter()
        .map(|p| p["userErrors"].as_array().is_some_and(Vec::is_empty))
        .collect();
    assert_eq!(
        moved.iter().filter(|m| **m).count(),
        1,
        "exactly one of two concurrent transitions wins: {a} / {b}"
    );
    let loser = if moved[0] { b } else { a };
    let codes = user_codes(loser);
    assert!(
        codes == ["ORDER_CHANGED"] || codes == ["TRANSITION_NOT_ALLOWED"],
        "{loser}"
    );
    usize::from(!moved[0])
}

#[tokio::test]
async fn concurrent_transitions_of_one_order_move_money_once_fifty_times_each() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let shop = shop(&app, None).await;
        for round in 0..50 {
            // Cancel against advance from ACCEPTED: a refund or nothing.
            let id = order(&app, &shop, &format!("ca-{round}"), "tok_visa").await;
            let accepted = mutate(
                &app,
                &shop.staff,
                MOVE,
                json!({ "id": id, "to": "ACCEPTED" }),
            )
            .await;
            assert_eq!(accepted["userErrors"], json!([]), "{accepted}");
            let (cancel, advance) = tokio::join!(
                mutate(&app, &shop.customer, CANCEL, json!({ "id": id })),
                mutate(
                    &app,
                    &shop.staff,
                    MOVE,
                    json!({ "id": id, "to": "PREPARING" })
                ),
            );
            let expected = match one_winner(&cancel, &advance) {
                0 => ("CANCELLED", "REFUNDED"),
                _ => ("PREPARING", "CAPTURED"),
            };
            let now = status(&app, &shop, &id).await;
            assert_eq!(
                (now.0.as_str(), now.1.as_str()),
                expected,
                "[{}] round {round}",
                pair.name()
            );
            app.assert_payments_match_ledger().await;

            // Reject against cancel from PLACED: one void.
            let id = order(&app, &shop, &format!("rc-{round}"), "tok_visa").await;
            let (reject, cancel) = tokio::join!(
                mutate(&app, &shop.staff, REJECT, json!({ "id": id })),
                mutate(&app, &shop.customer, CANCEL, json!({ "id": id })),
            );
            let expected = match one_winner(&reject, &cancel) {
                0 => "REJECTED",
                _ => "CANCELLED",
            };
            assert_eq!(
                status(&app, &shop, &id).await,
                (expected.to_owned(), "VOIDED".to_owned())
            );
            app.assert_payments_match_ledger().await;

            // Two advances from PLACED: one capture.
            let id = order(&app, &shop, &format!("aa-{round}"), "tok_visa").await;
            let (first, second) = tokio::join!(
                mutate(
                    &app,
                    &shop.staff,
                    MOVE,
                    json!({ "id": id, "to": "ACCEPTED" })
                ),
                mutate(
                    &app,
                    &shop.staff,
                    MOVE,
                    json!({ "id": id, "to": "ACCEPTED" })
                ),
            );
            one_winner(&first, &second);
            assert_eq!(
                status(&app, &shop, &id).await,
                ("ACCEPTED".to_owned(), "CAPTURED".to_owned())
            );
            app.assert_payments_match_ledger().await;
        }
        let stats = app.payment_stats();
        assert_eq!(
            stats.captures,
            50 + 50,
            "[{}] one capture per accepted order, none twice",
            pair.name()
        );
        assert_eq!(stats.voids, 50, "[{}]", pair.name());
        assert!(app.pending_steps().await.is_empty());
        app.stop().await;
    }
}

#[tokio::test]
async fn a_cancel_holding_its_refund_makes_a_concurrent_advance_a_conflict_that_moves_no_money() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let shop = shop(&app, None).await;
        // Paid with a token whose refund pauses once applied at the processor.
        let id = order(&app, &shop, "held-refund", "tok_pause:refund:held-refund").await;
        let accepted = mutate(
            &app,
            &shop.staff,
            MOVE,
            json!({ "id": id, "to": "ACCEPTED" }),
        )
        .await;
        assert_eq!(accepted["order"]["paymentStatus"], "CAPTURED", "{accepted}");
        let cancel = spawn_post(&app, &shop.customer, CANCEL, json!({ "id": id }));
        app.wait_for_pause("held-refund").await;
        // The refund is done at the processor, not yet in SQL: the kitchen
        // cannot start the order, and nothing else moves.
        let advance = mutate(
            &app,
            &shop.staff,
            MOVE,
            json!({ "id": id, "to": "PREPARING" }),
        )
        .await;
        assert_eq!(
            user_codes(&advance),
            ["ORDER_CHANGED"],
            "[{}] {advance}",
            pair.name()
        );
        assert_eq!(advance["order"]["status"], "ACCEPTED");
        let again = mutate(&app, &shop.customer, CANCEL, json!({ "id": id })).await;
        assert_eq!(user_codes(&again), ["ORDER_CHANGED"], "{again}");
        assert_eq!(app.payment_stats().refunds, 1);
        app.release_pause("held-refund").await;
        let cancelled = cancel.await.unwrap();
        assert_eq!(
            cancelled["data"]["cancelOrder"]["userErrors"],
            json!([]),
            "{cancelled}"
        );
        assert_eq!(
            status(&app, &shop, &id).await,
            ("CANCELLED".to_owned(), "REFUNDED".to_owned())
        );
        assert_eq!(app.payment_stats().refunds, 1);
        app.assert_payments_match_ledger().await;
        assert!(app.pending_steps().await.is_empty());
        app.stop().await;
    }
}

/// Posts a GraphQL request in a task of its own (which a test may abort:
/// the client hanging up).
fn spawn_post(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: Value,
) -> tokio::task::JoinHandle<Value> {
    let (url, client, token, query) = (
        app.url("/graphql"),
        app.client().clone(),
        token.to_owned(),
        query.to_owned(),
    );
    tokio::spawn(async move { post(&client, &url, &token, &query, variables).await })
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    client
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(json!({ "query": query, "variables": variables }).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn stock_left(app: &TestApp, item: &str) -> Value {
    app.data(
        "query($id: ID!) { node(id: $id) { ... on MenuItem { stockRemaining } } }",
        json!({ "id": item }),
    )
    .await["node"]["stockRemaining"]
        .clone()
}

/// Waits until every pending step is finished (the detached work of a
/// request that was cut off, released by the test).
async fn steps_finished(app: &TestApp) {
    for _ in 0..1_500 {
        if app.pending_steps().await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "[{}] steps left: {:?}",
        app.pair.name(),
        app.pending_steps().await
    );
}

#[tokio::test]
async fn a_checkout_cut_off_at_any_step_finishes_and_its_retry_gets_the_order() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let shop = shop(&app, Some(6)).await;
        for step in ["stock", "authorize", "commit"] {
            let key = format!("cut-{step}");
            let card = format!("tok_pause:{step}:{key}");
            let added = add(
                &app,
                &shop.customer,
                json!({ "menuItemId": shop.item, "quantity": 2, "replaceCart": true }),
            )
            .await;
            assert_eq!(added["userErrors"], json!([]), "{added}");
            let total = amount(2 * shop.price, &currency(&app, 1).await);
            let input = pickup(&key, &total, &card);
            let request = spawn_post(
                &app,
                &shop.customer,
                &bistro_tests::operation("Checkout"),
                json!({ "input": input }),
            );
            app.wait_for_pause(&key).await;
            // The client hangs up half way.
            request.abort();
            assert!(request.await.unwrap_err().is_cancelled());
            app.release_pause(&key).await;
            // The retry with the key gets the order the checkout went on to place.
            let retry = checkout(&app, &shop.customer, input).await;
            assert_eq!(
                retry["userErrors"],
                json!([]),
                "[{}] {step}: {retry}",
                pair.name()
            );
            assert_eq!(retry["order"]["status"], "PLACED");
            steps_finished(&app).await;
            let again = checkout(&app, &shop.customer, pickup(&key, &total, &card)).await;
            assert_eq!(again["order"]["id"], retry["order"]["id"], "{again}");
            app.assert_payments_match_ledger().await;
        }
        // Three orders of two units of six: the stock counts each once.
        assert_eq!(
            stock_left(&app, &shop.item).await,
            json!(0),
            "[{}]",
            pair.name()
        );
        assert_eq!(app.payment_stats().authorizations, 3, "[{}]", pair.name());
        app.stop().await;
    }
}

#[tokio::test]
async fn a_checkout_whose_websocket_operation_is_completed_or_whose_request_times_out_still_finishes()
 {
    for pair in store_pairs() {
        // A request timeout short enough to fire while the payment is paused.
        let app = TestApp::spawn_with(&pair, |c| c.http.request_timeout_ms = 1_000).await;
        let shop = shop(&app, Some(4)).await;
        let total = amount(shop.price, &currency(&app, 1).await);

        // Over the WebSocket: the client sends `complete` for the running mutation.
        let added = add(
            &app,
            &shop.customer,
            json!({ "menuItemId": shop.item, "replaceCart": true }),
        )
        .await;
        assert_eq!(added["userErrors"], json!([]), "{added}");
        let input = pickup("ws-complete", &total, "tok_pause:authorize:ws-complete");
        let mut ws = app.ws().await;
        ws.init_as(Some(&shop.customer)).await;
        ws.subscribe(
            "1",
            &bistro_tests::operation("Checkout"),
            json!({ "input": input }),
        )
        .await;
        app.wait_for_pause("ws-complete").await;
        ws.send(json!({ "type": "complete", "id": "1" })).await;
        ws.round_trip().await;
        app.release_pause("ws-complete").await;
        let retry = checkout(&app, &shop.customer, input).await;
        assert_eq!(retry["userErrors"], json!([]), "[{}] {retry}", pair.name());
        steps_finished(&app).await;

        // Over HTTP: the request times out while the payment waits.
        let added = add(
            &app,
            &shop.customer,
            json!({ "menuItemId": shop.item, "replaceCart": true }),
        )
        .await;
        assert_eq!(added["userErrors"], json!([]), "{added}");
        let input = pickup("timed-out", &total, "tok_pause:authorize:timed-out");
        let request = spawn_post(
            &app,
            &shop.customer,
            &bistro_tests::operation("Checkout"),
            json!({ "input": input }),
        );
        app.wait_for_pause("timed-out").await;
        let timed_out = request.await.unwrap();
        assert_eq!(
            timed_out["errors"][0]["extensions"]["code"],
            "TIMEOUT",
            "[{}] {timed_out}",
            pair.name()
        );
        app.release_pause("timed-out").await;
        let retry = checkout(&app, &shop.customer, input).await;
        assert_eq!(retry["userErrors"], json!([]), "[{}] {retry}", pair.name());
        steps_finished(&app).await;

        assert_eq!(
            stock_left(&app, &shop.item).await,
            json!(2),
            "[{}]",
            pair.name()
        );
        assert_eq!(app.payment_stats().authorizations, 2);
        app.assert_payments_match_ledger().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn the_demo_orders_payments_are_in_the_simulated_processors_ledger() {
    use bistro_sql::entity::{OrderStatus, order};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        // Every seeded payment is the processor's, in the state SQL says.
        app.assert_payments_match_ledger().await;
        // So a seeded order in progress moves like any other: cancelled
        // (by the restaurant, as the lifecycle allows), its money released.
        let accepted = order::Entity::find()
            .filter(order::Column::Status.eq(sea_orm::ActiveEnum::to_value(&OrderStatus::Accepted)))
            .filter(order::Column::RestaurantId.eq(1))
            .one(&app.app.db)
            .await
            .unwrap();
        if let Some(accepted) = accepted {
            let staff = app.login(STAFF_1, DEMO_PASSWORD).await["accessToken"]
                .as_str()
                .unwrap()
                .to_owned();
            let id =
                bistro_schema::ids::global_id(bistro_schema::ids::NodeType::Order, accepted.id).0;
            let cancelled =
                mutate(&app, &staff, MOVE, json!({ "id": id, "to": "CANCELLED" })).await;
            assert_eq!(
                cancelled["userErrors"],
                json!([]),
                "[{}] {cancelled}",
                pair.name()
            );
            assert_eq!(cancelled["order"]["paymentStatus"], "REFUNDED");
            app.assert_payments_match_ledger().await;
        }
        app.stop().await;
    }
}

/// A checkout of a new customer `name`, under the key `name`, whose request
/// died after its claim, before taking stock or money: its step's lease has
/// passed, so the next sweep settles it.
pub(crate) async fn dead_checkout(app: &TestApp, name: &str) {
    use bistro_sql::steps::{CheckoutClaim, NewCheckoutStep, claim_checkout};
    let (user_id, _) = app.new_customer(name).await;
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    let detail = json!({
        "fingerprint": "dead", "restaurant_id": 1, "day": past.date_naive(), "holds": [],
        "amount": 1000, "currency": "USD", "token": "tok_visa", "cart": null,
    });
    let claim = claim_checkout(
        &app.app.db,
        NewCheckoutStep {
            user_id,
            idempotency_key: name.into(),
            provider: "simulated".into(),
            provider_key: format!("checkout-{user_id}-{name}-dead"),
            detail: detail.to_string(),
            lease_owner: "a request that died".into(),
            lease_until: past,
            now: past,
            durability_may_trail: false,
        },
    )
    .await
    .unwrap();
    assert!(matches!(claim, CheckoutClaim::Claimed(_)));
}

#[tokio::test]
async fn a_stopping_recovery_settles_the_step_in_hand_and_leaves_the_rest_to_the_next() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bistro_data::recovery::{Sweep, sweep_while};
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        // Two checkouts whose requests died before taking stock or money.
        for name in ["first", "second"] {
            dead_checkout(&app, name).await;
        }
        // The server stops while the first step is in hand: the sweep asks
        // to go on before each step, and is told no after the first.
        let asked = AtomicUsize::new(0);
        let swept = sweep_while(&app.app.data, Duration::from_secs(60), || {
            asked.fetch_add(1, Ordering::SeqCst) == 0
        })
        .await
        .unwrap();
        assert_eq!(
            swept,
            Sweep {
                settled: 1,
                left: 0
            },
            "[{}]",
            pair.name()
        );
        let left = app.pending_steps().await;
        assert_eq!(left.len(), 1, "[{}]", pair.name());
        assert_eq!(
            left[0].lease_owner, "a request that died",
            "not taken: no lease held"
        );
        // Another replica's next sweep settles it.
        assert_eq!(
            app.recover().await,
            Sweep {
                settled: 1,
                left: 0
            }
        );
        assert!(app.pending_steps().await.is_empty());
        app.stop().await;
    }
}
