//! The order lifecycle through the API, on both store pairs: every status
//! an order can reach, for every fulfilment, tried against every target —
//! the legal moves happen (with their payment step), the illegal ones are
//! refused and change nothing.

use bistro_tests::{DEMO_PASSWORD, TestApp, store_pairs};
use serde_json::{Value, json};

use crate::ordering::{STAFF_1, place_order, user_codes};

const STATUSES: [&str; 8] = [
    "PLACED",
    "ACCEPTED",
    "PREPARING",
    "READY",
    "OUT_FOR_DELIVERY",
    "COMPLETED",
    "REJECTED",
    "CANCELLED",
];

/// What PRODUCT.md allows the restaurant, written out independently of the code.
fn staff_may(from: &str, to: &str, fulfilment: &str) -> bool {
    let delivery = fulfilment == "DELIVERY";
    matches!(
        (from, to),
        ("PLACED", "ACCEPTED" | "REJECTED" | "CANCELLED")
            | ("ACCEPTED", "PREPARING" | "CANCELLED")
            | ("PREPARING", "READY")
    ) || (delivery
        && matches!(
            (from, to),
            ("READY", "OUT_FOR_DELIVERY") | ("OUT_FOR_DELIVERY", "COMPLETED")
        ))
        || (!delivery && (from, to) == ("READY", "COMPLETED"))
}

/// The customer cancels while the order is placed or accepted.
fn customer_may_cancel(from: &str) -> bool {
    matches!(from, "PLACED" | "ACCEPTED")
}

/// The staff moves that reach `status`.
fn path(status: &str, fulfilment: &str) -> Vec<&'static str> {
    let mut full = vec!["ACCEPTED", "PREPARING", "READY"];
    if fulfilment == "DELIVERY" {
        full.push("OUT_FOR_DELIVERY");
    }
    full.push("COMPLETED");
    match status {
        "PLACED" => vec![],
        "REJECTED" => vec!["REJECTED"],
        "CANCELLED" => vec!["CANCELLED"],
        _ => {
            let end = full.iter().position(|s| *s == status).unwrap();
            full[..=end].to_vec()
        }
    }
}

/// The payment status after reaching `to` from `from`.
fn payment_after(from: &str, to: &str) -> &'static str {
    match (from, to) {
        ("PLACED", "REJECTED" | "CANCELLED") => "VOIDED",
        (_, "CANCELLED") => "REFUNDED",
        ("PLACED", _) if to == "PLACED" => "AUTHORIZED",
        _ => "CAPTURED",
    }
}

const ADVANCE: &str = "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(input: { orderId: $id, to: $to }) { \
    order { status paymentStatus payment { status } events { from to by } } userErrors { code } } }";
const CANCEL: &str = "mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { \
    order { status paymentStatus payment { status } events { from to by } } userErrors { code } } }";

async fn advance(app: &TestApp, token: &str, order: &str, to: &str) -> Value {
    let (_, body) = app
        .graphql_as(Some(token), ADVANCE, json!({ "id": order, "to": to }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["advanceOrder"].clone()
}

async fn cancel(app: &TestApp, token: &str, order: &str) -> Value {
    let (_, body) = app
        .graphql_as(Some(token), CANCEL, json!({ "id": order }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["cancelOrder"].clone()
}

/// A fresh order of `customer` walked to `status` by the staff.
async fn order_at(
    app: &TestApp,
    customer: &str,
    staff: &str,
    status: &str,
    fulfilment: &str,
) -> String {
    let order = place_order(app, customer, 1, fulfilment).await;
    for step in path(status, fulfilment) {
        let moved = advance(app, staff, &order, step).await;
        assert_eq!(
            moved["userErrors"],
            json!([]),
            "walking to {status}: {moved}"
        );
    }
    order
}

#[tokio::test]
async fn every_legal_and_illegal_transition_through_the_api() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, customer) = app.new_customer("lifecycle").await;
        let staff = app.login(STAFF_1, DEMO_PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut legal_moves = 0;
        for fulfilment in ["PICKUP", "DELIVERY", "DINE_IN"] {
            for from in STATUSES {
                if from == "OUT_FOR_DELIVERY" && fulfilment != "DELIVERY" {
                    continue;
                }
                let what = |to: &str| format!("[{}] {fulfilment} {from} → {to}", pair.name());
                // Everything illegal, on one order: refused, nothing changes.
                let order = order_at(&app, &customer, &staff, from, fulfilment).await;
                for to in STATUSES
                    .iter()
                    .filter(|to| !staff_may(from, to, fulfilment))
                {
                    let refused = advance(&app, &staff, &order, to).await;
                    assert_eq!(
                        user_codes(&refused),
                        ["TRANSITION_NOT_ALLOWED"],
                        "{}",
                        what(to)
                    );
                    assert_eq!(refused["order"]["status"], from, "{}", what(to));
                }
                if !customer_may_cancel(from) {
                    let refused = cancel(&app, &customer, &order).await;
                    assert_eq!(
                        user_codes(&refused),
                        ["TRANSITION_NOT_ALLOWED"],
                        "{}",
                        what("CANCELLED by the customer")
                    );
                }
                // Each legal move, on an order of its own.
                let mut fresh = Some(order);
                let mut moves: Vec<(&str, bool)> = STATUSES
                    .iter()
                    .filter(|to| staff_may(from, to, fulfilment))
                    .map(|to| (*to, false))
                    .collect();
                if customer_may_cancel(from) {
                    moves.push(("CANCELLED", true));
                }
                for (to, by_customer) in moves {
                    let order = match fresh.take() {
                        Some(order) => order,
                        None => order_at(&app, &customer, &staff, from, fulfilment).await,
                    };
                    let moved = if by_customer {
                        cancel(&app, &customer, &order).await
                    } else {
                        advance(&app, &staff, &order, to).await
                    };
                    assert_eq!(moved["userErrors"], json!([]), "{}", what(to));
                    let order = &moved["order"];
                    assert_eq!(order["status"], to, "{}", what(to));
                    assert_eq!(
                        order["paymentStatus"],
                        payment_after(from, to),
                        "{}",
                        what(to)
                    );
                    assert_eq!(
                        order["payment"]["status"],
                        order["paymentStatus"],
                        "{}",
                        what(to)
                    );
                    let events = order["events"].as_array().unwrap();
                    assert_eq!(
                        events.len(),
                        path(from, fulfilment).len() + 2,
                        "{}",
                        what(to)
                    );
                    assert_eq!(
                        events.last().unwrap(),
                        &json!({ "from": from, "to": to, "by": if by_customer { "CUSTOMER" } else { "RESTAURANT" } }),
                        "{}",
                        what(to)
                    );
                    legal_moves += 1;
                }
            }
        }
        // Staff: 7 moves for pickup and dine-in, 8 for delivery (two steps
        // through OUT_FOR_DELIVERY instead of one); the customer's two
        // cancellations for each fulfilment.
        assert_eq!(legal_moves, 2 * (7 + 2) + (8 + 2), "[{}]", pair.name());
        app.stop().await;
    }
}

#[tokio::test]
async fn a_rejection_keeps_its_reason_and_releases_the_payment() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, customer) = app.new_customer("rejected").await;
        let staff = app.login(STAFF_1, DEMO_PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let order = place_order(&app, &customer, 1, "PICKUP").await;
        let reject = "mutation($id: ID!, $reason: String) { rejectOrder(input: { orderId: $id, reason: $reason }) { \
            order { status paymentStatus events { to by note } } userErrors { code } } }";
        let (_, bad) = app
            .graphql_as(
                Some(&staff),
                reject,
                json!({ "id": order, "reason": "x".repeat(501) }),
            )
            .await;
        assert_eq!(user_codes(&bad["data"]["rejectOrder"]), ["REASON_INVALID"]);
        let (_, rejected) = app
            .graphql_as(
                Some(&staff),
                reject,
                json!({ "id": order, "reason": "The kitchen is closed." }),
            )
            .await;
        let rejected = &rejected["data"]["rejectOrder"];
        assert_eq!(
            rejected["order"]["status"],
            "REJECTED",
            "[{}] {rejected}",
            pair.name()
        );
        assert_eq!(rejected["order"]["paymentStatus"], "VOIDED");
        assert_eq!(
            rejected["order"]["events"][1],
            json!({ "to": "REJECTED", "by": "RESTAURANT", "note": "The kitchen is closed." })
        );
        assert_eq!(app.payment_stats().voids, 1);
        app.stop().await;
    }
}
