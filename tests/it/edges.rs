//! The edges one client could use against everyone, on both store pairs:
//! `_entities` capped (`graphql.max_representations`, refused with
//! `MAX_REPRESENTATIONS_EXCEEDED`), the parsed-document cache that one
//! client's flood of documents cannot empty for the others, and the
//! delivery address under the shared text rule.
//!
//! Elsewhere: live connections (`live_limits.rs`), password hashing
//! (`passwords.rs`), sign-in limits (`rate_limits.rs`), the slow SMTP server
//! (`mail.rs`).

use bistro_schema::persisted::sha256_hex;
use bistro_tests::{DEMO_PASSWORD, TestApp, error_codes, operation, round_trips, store_pairs};
use serde_json::{Value, json};

use crate::ordering::{add, amount, checkout, currency, new_item, user_codes};

/// `n` representations of one order.
fn orders(order_id: &str, n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|_| json!({ "__typename": "Order", "id": order_id }))
            .collect(),
    )
}

#[tokio::test]
async fn entities_take_at_most_the_configured_number_of_representations() {
    // What @apollo/gateway sends for a list of orders (`federation/check.mjs`
    // sends it a batch of exactly the cap and one more, through the gateway).
    let entities = operation("GatewayOrderStatusEntities");
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let name = pair.name();
        let max = app.app.config.graphql.max_representations;
        assert_eq!(max, 1_000);
        let customer = app.login("customer@bistro.test", DEMO_PASSWORD).await;
        let token = customer["accessToken"].as_str().unwrap();
        let mine = app
            .run(Some(token), "MyOrders", json!({ "first": 1 }))
            .await["me"]["orders"]["edges"][0]["node"]["id"]
            .as_str()
            .expect("the demo customer has orders")
            .to_owned();

        // A router's batch up to the cap is answered, in one statement.
        let (status, body) = app
            .graphql_as(
                Some(token),
                &entities,
                json!({ "representations": orders(&mine, max) }),
            )
            .await;
        assert_eq!(status, 200, "[{name}] {body:#}");
        assert!(body.get("errors").is_none(), "[{name}] {body:#}");
        let answered = body["data"]["_entities"].as_array().unwrap();
        assert_eq!(answered.len(), max);
        assert!(answered.iter().all(|e| e["status"].is_string()), "{body:#}");
        assert_eq!(round_trips(&body).0, 1);

        // One more and nothing is loaded: the field fails as a whole, and
        // with it (`_entities` is non-null) the request, answered like any
        // request that ran nothing (400 for application/graphql-response+json).
        let (status, body) = app
            .graphql_as(
                Some(token),
                &entities,
                json!({ "representations": orders(&mine, max + 1) }),
            )
            .await;
        assert_eq!(status, 400, "[{name}] {body:#}");
        assert_eq!(
            error_codes(&body),
            ["MAX_REPRESENTATIONS_EXCEEDED"],
            "{body:#}"
        );
        assert_eq!(
            body["errors"][0]["message"],
            "At most 1000 representations at once; this request has 1001."
        );
        assert_eq!(body["errors"][0]["path"], json!(["_entities"]));
        assert!(body.get("data").is_none(), "{body:#}");
        assert_eq!(round_trips(&body).0, 0);
        app.stop().await;

        // The cap is a setting.
        let app = TestApp::spawn_with(&pair, |c| c.graphql.max_representations = 2).await;
        let (_, body) = app
            .graphql(&entities, json!({ "representations": orders(&mine, 2) }))
            .await;
        assert_eq!(
            body["data"]["_entities"].as_array().map(Vec::len),
            Some(2),
            "{body:#}"
        );
        let (_, body) = app
            .graphql(&entities, json!({ "representations": orders(&mine, 3) }))
            .await;
        assert_eq!(error_codes(&body), ["MAX_REPRESENTATIONS_EXCEEDED"]);
        app.stop().await;
    }
}

/// POSTs `query` as the client at `address` (the test server trusts
/// 127.0.0.1 as a proxy); asserts it was answered without errors.
async fn send_as(app: &TestApp, address: &str, query: &str) {
    let (status, body) = app.post_from(Some(address), query, json!({})).await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{query}: {body:#}");
}

#[tokio::test]
async fn one_client_sending_thousands_of_documents_does_not_evict_what_others_use() {
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| {
            c.http.trusted_proxies = vec!["127.0.0.1".to_owned()];
        })
        .await;
        let capacity = app.app.config.graphql.document_cache_entries;
        assert_eq!(capacity, 512);
        let documents = app.app.api.documents();
        let shared = "query Shared { restaurants(first: 2) { edges { node { name } } } }";
        // Two clients use the same document: it is kept as shared.
        send_as(&app, "198.51.100.1", shared).await;
        send_as(&app, "198.51.100.2", shared).await;
        assert_eq!(documents.len(), (0, 1));

        // One client sends 2,000 distinct documents, each twice: four
        // times what the cache holds. A cache emptied when full, or a plain
        // LRU, would have dropped the shared one long before the end.
        let flood = "203.0.113.66";
        for round in 0..40 {
            let batch: Vec<String> = (0..50)
                .map(|i| format!("{{ d{}: __typename }}", round * 50 + i))
                .collect();
            futures_util::future::join_all(batch.iter().map(|q| send_as(&app, flood, q))).await;
            futures_util::future::join_all(batch.iter().map(|q| send_as(&app, flood, q))).await;
            assert!(
                documents.contains(&sha256_hex(shared)),
                "[{}] the shared document was evicted in round {round}",
                pair.name()
            );
        }
        let (probation, protected) = documents.len();
        assert_eq!(
            (probation, protected),
            (capacity - 1, 1),
            "[{}]",
            pair.name()
        );
        assert!(documents.contains(&sha256_hex("{ d1999: __typename }")));
        assert!(!documents.contains(&sha256_hex("{ d0: __typename }")));

        // The others go on using it: a hit, still kept.
        send_as(&app, "198.51.100.3", shared).await;
        assert!(documents.contains(&sha256_hex(shared)));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_delivery_address_follows_the_shared_text_rule() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let currency = currency(&app, 1).await;
        let (_, item) = new_item(&app, 1, "Address Dish", 1000, None).await;
        let (_, token) = app.new_customer("address").await;
        add(&app, &token, json!({ "menuItemId": item })).await;
        let total = amount(1350, &currency);
        let delivery = |address: &str, key: &str| {
            json!({
                "fulfilment": "DELIVERY", "deliveryAddress": address, "paymentToken": "tok_visa",
                "idempotencyKey": key, "expectedTotal": total,
            })
        };
        for (n, address) in [
            "1 Main Street\u{202E}tpyrcne",
            "1 Main\u{200B} Street",
            "1 Main Street\u{200E}",
            "1 Main Street\u{200F}",
            "1 Main Street\u{2028}Flat 2",
            "1 Main Street\u{2029}Flat 2",
            "1 Ma\u{00AD}in Street",
            "1 Main Street \u{061C}",
            "1 Main Street\u{E0001}\u{E0069}",
            "1 Main Street\u{E007F}",
            "1 Main Street\nFlat 2",
        ]
        .into_iter()
        .enumerate()
        {
            let refused = checkout(&app, &token, delivery(address, &format!("bad-{n}"))).await;
            assert_eq!(
                user_codes(&refused),
                ["INVALID_FULFILMENT"],
                "[{}] {address:?}",
                pair.name()
            );
            assert_eq!(refused["order"], Value::Null);
        }
        // Accents, other scripts and punctuation are addresses like any other.
        let placed = checkout(
            &app,
            &token,
            delivery("12 Rue de l'Église, Zoë Ørsted — בית 3", "good"),
        )
        .await;
        assert_eq!(
            placed["userErrors"],
            json!([]),
            "[{}] {placed:#}",
            pair.name()
        );
        assert_eq!(placed["order"]["status"], "PLACED");
        app.stop().await;
    }
}
