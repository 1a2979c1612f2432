//! Subtotal, delivery fee and total wherever an order's total appears, on
//! both store pairs: the order as the API gives it and the confirmation
//! email the customer receives.

use bistro_tests::{TestApp, store_pairs};
use serde_json::json;

use crate::ordering::{amount, currency, place_order};

const ORDER: &str = "query($id: ID!) { node(id: $id) { ... on Order { fulfilment subtotal { amount currencyCode } total { amount } } } }";

#[tokio::test]
async fn the_confirmation_email_lists_subtotal_delivery_fee_and_total() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let name = pair.name();
        let currency = currency(&app, 1).await;
        let (_, customer) = app.new_customer("receipts").await;
        let mut seen = Vec::new();
        for (fulfilment, fee) in [("DELIVERY", Some(350)), ("PICKUP", None)] {
            let order = place_order(&app, &customer, 1, fulfilment).await;
            let (_, body) = app
                .graphql_as(Some(&customer), ORDER, json!({ "id": order }))
                .await;
            let node = &body["data"]["node"];
            // The API's total is the subtotal plus the fee, which a page shows as a line.
            assert_eq!(
                node["subtotal"]["amount"],
                amount(1000, &currency),
                "[{name}] {body}"
            );
            assert_eq!(
                node["total"]["amount"],
                amount(1000 + fee.unwrap_or(0), &currency),
                "[{name}] {body}"
            );

            assert_eq!(app.deliver_mail().await, 1);
            let new: Vec<_> = app
                .mailbox()
                .into_iter()
                .filter(|f| !seen.contains(f))
                .collect();
            assert_eq!(new.len(), 1, "[{name}] {new:?}");
            seen.extend(new.iter().cloned());
            let email = std::fs::read_to_string(&new[0]).unwrap();
            let line = |label: &str, minor: i64| {
                format!("{label}: {} {currency}", amount(minor, &currency))
            };
            assert!(email.contains(&line("Subtotal", 1000)), "[{name}] {email}");
            assert!(
                email.contains(&line("Total", 1000 + fee.unwrap_or(0))),
                "[{name}] {email}"
            );
            match fee {
                Some(fee) => assert!(
                    email.contains(&line("Delivery fee", fee)),
                    "[{name}] {email}"
                ),
                None => assert!(!email.contains("Delivery fee"), "[{name}] {email}"),
            }
            // In that order, one line each, under the dishes.
            let at = |label: &str| email.find(&format!("\n{label}: ")).unwrap_or(usize::MAX);
            assert!(at("Subtotal") < at("Total"), "[{name}] {email}");
            if fee.is_some() {
                assert!(at("Subtotal") < at("Delivery fee") && at("Delivery fee") < at("Total"));
            }
        }
        app.stop().await;
    }
}
