//! Cart writes and checkout on both store pairs: a whole order from the
//! cart to its confirmation email, idempotency under concurrent and lost
//! retries, stock races, declined cards, every refusal, a slow processor,
//! and the round trips of the orders list.

use std::time::Duration;

use bistro_data::events::ORDER_EVENTS_CHANNEL;
use bistro_schema::ids::NodeType;
use bistro_sql::entity::{Course, menu_option, menu_option_group, order};
use bistro_tests::{DEMO_PASSWORD, StorePair, TestApp, error_codes, round_trips, store_pairs};
use futures_util::StreamExt;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

pub(crate) const STAFF_1: &str = "staff@bistro.test";

/// Global id as the API encodes it.
pub(crate) fn gid(kind: NodeType, id: i64) -> String {
    bistro_schema::ids::global_id(kind, id).0
}

/// The currency of a restaurant.
pub(crate) async fn currency(app: &TestApp, restaurant_id: i64) -> String {
    bistro_sql::query::restaurants_by_ids(&app.app.db, &[restaurant_id])
        .await
        .unwrap()[0]
        .currency_code
        .clone()
}

/// A decimal amount in the restaurant's currency, as the API writes it.
pub(crate) fn amount(minor: i64, currency: &str) -> String {
    bistro_data::money::format_minor(minor, currency)
}

/// A new item on a restaurant's menu: `(database id, global id)`.
pub(crate) async fn new_item(
    app: &TestApp,
    restaurant_id: i64,
    name: &str,
    price: i64,
    daily_stock: Option<i32>,
) -> (i64, String) {
    let item = bistro_sql::write::create_menu_item(
        &app.app.db,
        bistro_sql::write::NewMenuItem {
            restaurant_id,
            name: name.to_owned(),
            description: String::new(),
            price_amount: price,
            currency_code: currency(app, restaurant_id).await,
            course: Course::Main,
            dietary: Vec::new(),
            available: true,
            daily_stock,
        },
    )
    .await
    .unwrap()
    .unwrap();
    (item.id, gid(NodeType::MenuItem, item.id))
}

/// Adds an option group to an item; returns the options' API ids in order.
pub(crate) async fn add_group(
    app: &TestApp,
    item_id: i64,
    name: &str,
    min: i32,
    max: i32,
    options: &[(&str, i64)],
) -> Vec<String> {
    let group = menu_option_group::ActiveModel {
        menu_item_id: Set(item_id),
        name: Set(name.to_owned()),
        min_choices: Set(min),
        max_choices: Set(max),
        position: Set(0),
        ..Default::default()
    }
    .insert(&app.app.db)
    .await
    .unwrap();
    let mut ids = Vec::new();
    for (position, (option, delta)) in options.iter().enumerate() {
        let row = menu_option::ActiveModel {
            group_id: Set(group.id),
            name: Set((*option).to_owned()),
            price_delta_amount: Set(*delta),
            position: Set(i32::try_from(position).unwrap()),
            ..Default::default()
        }
        .insert(&app.app.db)
        .await
        .unwrap();
        ids.push(bistro_schema::ids::option_id(row.id).0);
    }
    ids
}

/// Adds to the cart as `token`; returns the payload.
pub(crate) async fn add(app: &TestApp, token: &str, input: Value) -> Value {
    app.run(Some(token), "AddToCart", json!({ "input": input }))
        .await["addToCart"]
        .clone()
}

/// Checks out as `token`; returns the payload.
pub(crate) async fn checkout(app: &TestApp, token: &str, input: Value) -> Value {
    app.run(Some(token), "Checkout", json!({ "input": input }))
        .await["checkout"]
        .clone()
}

/// A pickup checkout paying `total` with `token`.
pub(crate) fn pickup(key: &str, total: &str, card: &str) -> Value {
    json!({
        "fulfilment": "PICKUP", "paymentToken": card,
        "idempotencyKey": key, "expectedTotal": total
    })
}

pub(crate) fn user_codes(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no userErrors in {payload}"))
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Places an order of one unit of a fresh item at `restaurant_id` as
/// `token`; returns the order's API id.
pub(crate) async fn place_order(
    app: &TestApp,
    token: &str,
    restaurant_id: i64,
    fulfilment: &str,
) -> String {
    let (_, item) = new_item(app, restaurant_id, "Order dish", 1000, None).await;
    let added = add(
        app,
        token,
        json!({ "menuItemId": item, "quantity": 1, "replaceCart": true }),
    )
    .await;
    assert_eq!(added["userErrors"], json!([]), "{added}");
    let currency = currency(app, restaurant_id).await;
    let mut input = json!({
        "fulfilment": fulfilment, "paymentToken": "tok_visa",
        "idempotencyKey": uuid::Uuid::new_v4().simple().to_string(),
        "expectedTotal": amount(1000, &currency),
    });
    match fulfilment {
        "DELIVERY" => {
            input["deliveryAddress"] = json!("1 Main Street");
            input["expectedTotal"] = json!(amount(1350, &currency));
        }
        "DINE_IN" => input["tableNumber"] = json!(4),
        _ => {}
    }
    let placed = checkout(app, token, input).await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    placed["order"]["id"].as_str().unwrap().to_owned()
}

/// Orders of a customer in SQL.
pub(crate) async fn orders_of(app: &TestApp, user_id: i64) -> Vec<order::Model> {
    order::Entity::find()
        .filter(order::Column::UserId.eq(user_id))
        .all(&app.app.db)
        .await
        .unwrap()
}

async fn stock_remaining(app: &TestApp, item: &str) -> Value {
    app.data(
        "query($id: ID!) { node(id: $id) { ... on MenuItem { stockRemaining } } }",
        json!({ "id": item }),
    )
    .await["node"]["stockRemaining"]
        .clone()
}

/// A subscription to `channel` that is known to be live: the store has
/// confirmed it, so what is published from now on reaches it.
async fn listening(app: &TestApp, channel: &str) -> bistro_kv::Subscription {
    let subscription = app.app.kv.subscribe(channel).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), subscription.live())
        .await
        .unwrap_or_else(|_| panic!("[{}] the subscription never became live", app.pair.name()));
    subscription
}

async fn next_event(subscription: &mut bistro_kv::Subscription) -> Value {
    let delivery = tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .expect("an event within 10 s")
        .expect("the subscription is open");
    match delivery {
        bistro_kv::Delivery::Message(message) => serde_json::from_str(&message).unwrap(),
        bistro_kv::Delivery::Gap => panic!("events were lost"),
    }
}

#[tokio::test]
async fn a_whole_order_from_the_cart_to_the_confirmation_email() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (customer_id, token) = app.new_customer("ada").await;
        let currency = currency(&app, 1).await;
        let (pizza_id, pizza) = new_item(&app, 1, "Pizza Bianca", 1200, None).await;
        let sizes = add_group(
            &app,
            pizza_id,
            "Size",
            1,
            1,
            &[("Regular", 0), ("Large", 150)],
        )
        .await;
        let (_, salad) = new_item(&app, 1, "Green Salad", 450, None).await;
        let (_, tart) = new_item(&app, 1, "Lemon Tart", 300, Some(5)).await;

        // The three cart additions of the checkout sequence.
        let first = add(
            &app,
            &token,
            json!({ "menuItemId": pizza, "quantity": 2, "optionIds": [sizes[1]] }),
        )
        .await;
        assert_eq!(first["userErrors"], json!([]), "{first}");
        assert_eq!(first["cart"]["lines"][0]["options"][0]["name"], "Large");
        assert_eq!(
            first["cart"]["lines"][0]["lineTotal"]["amount"],
            amount(2700, &currency)
        );
        add(&app, &token, json!({ "menuItemId": salad })).await;
        let third = add(&app, &token, json!({ "menuItemId": tart, "quantity": 3 })).await;
        assert_eq!(third["cart"]["itemCount"], 6);
        // (1200 + 150) × 2 + 450 + 300 × 3
        assert_eq!(third["cart"]["subtotal"]["amount"], amount(4050, &currency));

        let mut events = listening(&app, ORDER_EVENTS_CHANNEL).await;
        let placed = checkout(
            &app,
            &token,
            json!({
                "fulfilment": "DELIVERY", "deliveryAddress": "12 Rue de la Paix",
                "paymentToken": "tok_visa", "idempotencyKey": "first-order",
                "expectedTotal": amount(4050 + 350, &currency),
            }),
        )
        .await;
        assert_eq!(
            placed["userErrors"],
            json!([]),
            "[{}] {placed:#}",
            pair.name()
        );
        let order = &placed["order"];
        assert_eq!(order["status"], "PLACED");
        assert_eq!(order["paymentStatus"], "AUTHORIZED");
        assert_eq!(order["subtotal"]["amount"], amount(4050, &currency));
        assert_eq!(order["total"]["amount"], amount(4400, &currency));
        assert_eq!(order["payment"]["status"], "AUTHORIZED");
        assert_eq!(
            order["payment"]["amount"]["amount"],
            amount(4400, &currency)
        );
        assert_eq!(order["payment"]["provider"], "simulated");
        assert_eq!(
            order["events"],
            json!([{ "from": null, "to": "PLACED", "by": "CUSTOMER", "note": null }])
        );
        assert_eq!(order["lines"].as_array().unwrap().len(), 3);
        assert_eq!(
            order["lines"][0]["unitPrice"]["amount"],
            amount(1350, &currency)
        );
        assert_eq!(
            order["lines"][0]["options"][0],
            json!({ "group": "Size", "name": "Large", "priceDelta": { "amount": amount(150, &currency) } })
        );
        let order_id = order["id"].as_str().unwrap().to_owned();
        let db_id = orders_of(&app, customer_id).await[0].id;

        // Published after the commit, with what a subscriber needs.
        let event = next_event(&mut events).await;
        assert_eq!(event["version"], 1);
        assert_eq!(event["orderId"], db_id);
        assert_eq!(event["restaurantId"], 1);
        assert_eq!(event["customerId"], customer_id);
        assert_eq!(
            (event["from"].clone(), event["to"].clone()),
            (Value::Null, json!("PLACED"))
        );
        assert_eq!(
            event["actor"],
            json!({ "kind": "CUSTOMER", "userId": customer_id })
        );

        // The cart is gone, the stock taken, the popularity counted.
        let me = app.run(Some(&token), "MyCart", json!({})).await;
        assert_eq!(me["me"]["cart"], Value::Null);
        assert_eq!(stock_remaining(&app, &tart).await, json!(2));
        let popularity = app
            .data("query($id: ID!) { node(id: $id) { ... on MenuItem { popularity { ordersToday } } } }", json!({ "id": pizza }))
            .await;
        assert_eq!(popularity["node"]["popularity"]["ordersToday"], 2);

        // One confirmation, naming the order, its lines, its total and its fulfilment.
        assert_eq!(app.deliver_mail().await, 1);
        assert_eq!(app.deliver_mail().await, 0);
        let mailbox = app.mailbox();
        assert_eq!(mailbox.len(), 1, "{mailbox:?}");
        let eml = std::fs::read_to_string(&mailbox[0]).unwrap();
        for expected in [
            format!("Order number: {db_id}"),
            "2 x Pizza Bianca (Large)".to_owned(),
            "3 x Lemon Tart".to_owned(),
            format!("Total: {} {currency}", amount(4400, &currency)),
            "Delivery to 12 Rue de la Paix".to_owned(),
            "Message-ID: <order-confirmation-".to_owned(),
        ] {
            assert!(
                eml.contains(&expected),
                "[{}] {expected:?} not in\n{eml}",
                pair.name()
            );
        }

        // Staff accept it (capturing the payment); the customer may still cancel (refunded).
        let staff = app.login(STAFF_1, DEMO_PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let accepted = app
            .run(
                Some(&staff),
                "AdvanceOrder",
                json!({ "input": { "orderId": order_id, "to": "ACCEPTED" } }),
            )
            .await;
        assert_eq!(
            accepted["advanceOrder"]["userErrors"],
            json!([]),
            "{accepted}"
        );
        assert_eq!(
            accepted["advanceOrder"]["order"]["paymentStatus"],
            "CAPTURED"
        );
        assert_eq!(
            accepted["advanceOrder"]["order"]["payment"]["status"],
            "CAPTURED"
        );
        let event = next_event(&mut events).await;
        assert_eq!(
            (event["from"].clone(), event["to"].clone()),
            (json!("PLACED"), json!("ACCEPTED"))
        );
        assert_eq!(event["actor"]["kind"], "RESTAURANT");
        let cancelled = app
            .graphql_as(Some(&token), "mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { order { status paymentStatus events { to by } } userErrors { code } } }", json!({ "id": order_id }))
            .await
            .1;
        let cancelled = &cancelled["data"]["cancelOrder"];
        assert_eq!(cancelled["order"]["status"], "CANCELLED", "{cancelled}");
        assert_eq!(cancelled["order"]["paymentStatus"], "REFUNDED");
        assert_eq!(
            cancelled["order"]["events"][2],
            json!({ "to": "CANCELLED", "by": "CUSTOMER" })
        );
        // The cancelled order's units of today are back.
        assert_eq!(stock_remaining(&app, &tart).await, json!(5));
        let stats = app.payment_stats();
        assert_eq!(
            (stats.authorizations, stats.captures, stats.refunds),
            (1, 1, 1)
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn cart_writes_check_items_options_quantities_and_the_restaurant() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, token) = app.new_customer("cart").await;
        let (coffee_id, coffee) = new_item(&app, 1, "Coffee", 300, None).await;
        let milks = add_group(&app, coffee_id, "Milk", 1, 1, &[("Whole", 0), ("Oat", 50)]).await;
        let (_, other) = new_item(&app, 2, "Elsewhere", 500, None).await;

        let (_, anonymous) = app
            .graphql(
                &bistro_tests::operation("AddToCart"),
                json!({ "input": { "menuItemId": coffee } }),
            )
            .await;
        assert_eq!(error_codes(&anonymous), ["UNAUTHENTICATED"]);
        assert_eq!(anonymous["data"]["addToCart"], Value::Null);

        for (input, code) in [
            (
                json!({ "menuItemId": coffee, "optionIds": [milks[0]], "quantity": 0 }),
                "QUANTITY_INVALID",
            ),
            (
                json!({ "menuItemId": coffee, "optionIds": [milks[0]], "quantity": 51 }),
                "QUANTITY_INVALID",
            ),
            (json!({ "menuItemId": coffee }), "OPTIONS_INVALID"),
            (
                json!({ "menuItemId": coffee, "optionIds": milks }),
                "OPTIONS_INVALID",
            ),
            (
                json!({ "menuItemId": coffee, "optionIds": ["bm90LWFuLW9wdGlvbg"] }),
                "OPTIONS_INVALID",
            ),
            (
                json!({ "menuItemId": gid(NodeType::MenuItem, 999_999) }),
                "ITEM_UNAVAILABLE",
            ),
        ] {
            let payload = add(&app, &token, input.clone()).await;
            assert_eq!(user_codes(&payload), [code], "[{}] {input}", pair.name());
            assert_eq!(payload["cart"], Value::Null);
        }

        // The same item with the same options adds to its line.
        add(
            &app,
            &token,
            json!({ "menuItemId": coffee, "optionIds": [milks[1]] }),
        )
        .await;
        let cart = add(
            &app,
            &token,
            json!({ "menuItemId": coffee, "optionIds": [milks[1]], "quantity": 2 }),
        )
        .await["cart"]
            .clone();
        assert_eq!(cart["lines"].as_array().unwrap().len(), 1);
        assert_eq!(cart["lines"][0]["quantity"], 3);
        let cart = add(
            &app,
            &token,
            json!({ "menuItemId": coffee, "optionIds": [milks[0]] }),
        )
        .await["cart"]
            .clone();
        assert_eq!(cart["lines"].as_array().unwrap().len(), 2);
        let line = cart["lines"][0]["id"].as_str().unwrap().to_owned();

        // One restaurant per cart.
        let refused = add(&app, &token, json!({ "menuItemId": other })).await;
        assert_eq!(user_codes(&refused), ["CART_OTHER_RESTAURANT"]);
        let updated = app
            .graphql_as(Some(&token), "mutation($line: ID!) { updateCartLine(input: { lineId: $line, quantity: 5 }) { cart { itemCount } userErrors { code } } }", json!({ "line": line }))
            .await
            .1;
        assert_eq!(
            updated["data"]["updateCartLine"]["cart"]["itemCount"], 6,
            "{updated}"
        );
        let removed = app
            .graphql_as(Some(&token), "mutation($line: ID!) { removeCartLine(input: { lineId: $line }) { cart { itemCount } userErrors { code } } }", json!({ "line": line }))
            .await
            .1;
        assert_eq!(
            removed["data"]["removeCartLine"]["cart"]["itemCount"], 1,
            "{removed}"
        );
        let again = app
            .graphql_as(Some(&token), "mutation($line: ID!) { removeCartLine(input: { lineId: $line }) { cart { itemCount } userErrors { code } } }", json!({ "line": line }))
            .await
            .1;
        assert_eq!(
            user_codes(&again["data"]["removeCartLine"]),
            ["CART_LINE_NOT_FOUND"]
        );
        // Clearing only the cart of another restaurant leaves this one.
        let kept = app
            .graphql_as(Some(&token), "mutation($r: ID!) { clearCart(input: { restaurantId: $r }) { cart { itemCount } } }", json!({ "r": gid(NodeType::Restaurant, 2) }))
            .await
            .1;
        assert_eq!(kept["data"]["clearCart"]["cart"]["itemCount"], 1);
        let replaced = add(
            &app,
            &token,
            json!({ "menuItemId": other, "replaceCart": true }),
        )
        .await;
        assert_eq!(replaced["cart"]["itemCount"], 1);
        assert_eq!(
            replaced["cart"]["restaurant"]["id"],
            gid(NodeType::Restaurant, 2)
        );
        let cleared = app
            .graphql_as(
                Some(&token),
                "mutation { clearCart(input: {}) { cart { itemCount } userErrors { code } } }",
                json!({}),
            )
            .await
            .1;
        assert_eq!(
            cleared["data"]["clearCart"],
            json!({ "cart": null, "userErrors": [] })
        );
        app.stop().await;
    }
}

/// A cart of one unit of a fresh item for a new customer: `(user id, token, total)`.
async fn customer_with_cart(app: &TestApp, item: &str, price: i64) -> (i64, String, String) {
    let (user_id, token) = app.new_customer("buyer").await;
    let added = add(app, &token, json!({ "menuItemId": item })).await;
    assert_eq!(added["userErrors"], json!([]), "{added}");
    (user_id, token, amount(price, &currency(app, 1).await))
}

#[tokio::test]
async fn eight_concurrent_checkouts_with_one_key_make_one_order_and_one_authorization() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, item) = new_item(&app, 1, "Soup", 800, None).await;
        let (user_id, token, total) = customer_with_cart(&app, &item, 800).await;
        let attempts =
            (0..8).map(|_| checkout(&app, &token, pickup("same-key", &total, "tok_visa")));
        let answers = futures_util::future::join_all(attempts).await;
        let ids: Vec<&Value> = answers.iter().map(|a| &a["order"]["id"]).collect();
        for answer in &answers {
            assert_eq!(
                answer["userErrors"],
                json!([]),
                "[{}] {answer}",
                pair.name()
            );
        }
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "[{}] {ids:?}",
            pair.name()
        );
        assert_eq!(orders_of(&app, user_id).await.len(), 1);
        let stats = app.payment_stats();
        assert_eq!(
            (stats.authorize_calls, stats.authorizations),
            (1, 1),
            "[{}] the retries waited instead of authorizing",
            pair.name()
        );
        assert_eq!(app.deliver_mail().await, 1, "one confirmation");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_retry_with_the_key_returns_its_order_and_another_checkout_with_it_is_refused() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (item_id, item) = new_item(&app, 1, "Stew", 900, None).await;
        let (user_id, token, total) = customer_with_cart(&app, &item, 900).await;
        let first = checkout(&app, &token, pickup("placed", &total, "tok_visa")).await;
        let order_id = first["order"]["id"].clone();
        assert!(order_id.is_string(), "{first}");
        // The cart was emptied by the order: the retry finds the order by its key.
        let retry = checkout(&app, &token, pickup("placed", &total, "tok_visa")).await;
        assert_eq!(retry["order"]["id"], order_id, "[{}] {retry}", pair.name());
        // The same cart again is still the same checkout …
        add(&app, &token, json!({ "menuItemId": item })).await;
        let same_cart = checkout(&app, &token, pickup("placed", &total, "tok_visa")).await;
        assert_eq!(same_cart["order"]["id"], order_id, "{same_cart}");
        // … another cart or another input is not.
        add(&app, &token, json!({ "menuItemId": item })).await;
        let twice = amount(1800, &currency(&app, 1).await);
        let other_cart = checkout(&app, &token, pickup("placed", &twice, "tok_visa")).await;
        assert_eq!(
            user_codes(&other_cart),
            ["IDEMPOTENCY_KEY_REUSED"],
            "{other_cart}"
        );
        let other_card = checkout(&app, &token, pickup("placed", &total, "tok_slow")).await;
        assert_eq!(
            user_codes(&other_card),
            ["IDEMPOTENCY_KEY_REUSED"],
            "{other_card}"
        );
        assert_eq!(orders_of(&app, user_id).await.len(), 1);
        assert_eq!(app.payment_stats().authorizations, 1);
        // The cart that was refused is still there, to check out with a new key.
        let fresh = checkout(&app, &token, pickup("next-order", &twice, "tok_visa")).await;
        assert_eq!(fresh["userErrors"], json!([]), "{fresh}");
        assert_eq!(
            fresh["order"]["lines"][0]["menuItem"]["id"],
            gid(NodeType::MenuItem, item_id)
        );
        assert!(app.pending_steps().await.is_empty(), "every step finished");
        app.stop().await;
    }
}

#[tokio::test]
async fn two_customers_with_the_same_key_get_two_orders() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, item) = new_item(&app, 1, "Bread", 250, None).await;
        let (a, token_a, total) = customer_with_cart(&app, &item, 250).await;
        let (b, token_b, _) = customer_with_cart(&app, &item, 250).await;
        let (first, second) = tokio::join!(
            checkout(&app, &token_a, pickup("shared-key", &total, "tok_visa")),
            checkout(&app, &token_b, pickup("shared-key", &total, "tok_visa"))
        );
        assert_eq!(first["userErrors"], json!([]), "{first}");
        assert_eq!(second["userErrors"], json!([]), "{second}");
        assert_ne!(first["order"]["id"], second["order"]["id"]);
        assert_eq!(orders_of(&app, a).await.len(), 1);
        assert_eq!(orders_of(&app, b).await.len(), 1);
        assert_eq!(app.payment_stats().authorizations, 2);
        app.stop().await;
    }
}

#[tokio::test]
async fn fifty_customers_racing_for_the_last_ten_units_get_exactly_ten_orders() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (item_id, item) = new_item(&app, 1, "Truffle Risotto", 2400, Some(10)).await;
        let mut customers = Vec::new();
        for _ in 0..50 {
            customers.push(customer_with_cart(&app, &item, 2400).await);
        }
        let attempts =
            customers.iter().enumerate().map(|(i, (_, token, total))| {
                let app = &app;
                async move {
                    checkout(app, token, pickup(&format!("race-{i}"), total, "tok_visa")).await
                }
            });
        let answers = futures_util::future::join_all(attempts).await;
        let placed = answers.iter().filter(|a| a["order"].is_object()).count();
        let sold_out = answers
            .iter()
            .filter(|a| user_codes(a) == ["OUT_OF_STOCK"])
            .count();
        assert_eq!(
            (placed, sold_out),
            (10, 40),
            "[{}] {answers:?}",
            pair.name()
        );
        assert_eq!(stock_remaining(&app, &item).await, json!(0));
        // SQL orders equal the successful checkouts exactly.
        let lines = bistro_sql::entity::order_line::Entity::find()
            .filter(bistro_sql::entity::order_line::Column::MenuItemId.eq(item_id))
            .all(&app.app.db)
            .await
            .unwrap();
        assert_eq!(lines.len(), placed);
        let sold = bistro_sql::ordering::units_sold_on(
            &app.app.db,
            bistro_data::popularity::today(),
            &[item_id],
        )
        .await
        .unwrap();
        assert_eq!(sold[&item_id], 10);
        // The losers' carts are intact; nothing was authorized for them.
        assert_eq!(app.payment_stats().authorizations, 10);
        let (_, loser, _) = customers
            .iter()
            .zip(&answers)
            .find(|(_, a)| !a["order"].is_object())
            .unwrap()
            .0;
        let cart = app.run(Some(loser), "MyCart", json!({})).await;
        assert_eq!(cart["me"]["cart"]["itemCount"], 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_declined_card_leaves_no_order_no_reserved_stock_and_the_cart_intact() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, item) = new_item(&app, 1, "Limited Cake", 500, Some(5)).await;
        let (user_id, token, total) = customer_with_cart(&app, &item, 500).await;
        for (card, code) in [
            ("tok_chargeDeclined", "CARD_DECLINED"),
            ("tok_processingError", "PAYMENT_FAILED"),
            ("tok_unknown", "CARD_DECLINED"),
        ] {
            let refused = checkout(&app, &token, pickup("pay-once", &total, card)).await;
            assert_eq!(
                user_codes(&refused),
                [code],
                "[{}] {card}: {refused}",
                pair.name()
            );
            assert_eq!(refused["order"], Value::Null);
            assert!(orders_of(&app, user_id).await.is_empty());
            assert_eq!(stock_remaining(&app, &item).await, json!(5), "{card}");
            let cart = app.run(Some(&token), "MyCart", json!({})).await;
            assert_eq!(cart["me"]["cart"]["itemCount"], 1, "{card}");
        }
        assert_eq!(app.payment_stats().authorizations, 0);
        // The key was not spent: the same checkout with a good card goes through.
        let paid = checkout(&app, &token, pickup("pay-once", &total, "tok_visa")).await;
        assert_eq!(paid["userErrors"], json!([]), "{paid}");
        assert_eq!(paid["order"]["paymentStatus"], "AUTHORIZED");
        assert_eq!(stock_remaining(&app, &item).await, json!(4));
        app.stop().await;
    }
}

#[tokio::test]
async fn checkout_refuses_what_it_cannot_sell_with_coded_user_errors() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let currency = currency(&app, 1).await;
        let (_, item) = new_item(&app, 1, "Changing Dish", 1000, Some(2)).await;
        let (user_id, token) = app.new_customer("refused").await;
        let total = amount(1000, &currency);

        let (_, anonymous) = app
            .graphql(
                &bistro_tests::operation("Checkout"),
                json!({ "input": pickup("k", &total, "tok_visa") }),
            )
            .await;
        assert_eq!(error_codes(&anonymous), ["UNAUTHENTICATED"]);

        let empty = checkout(&app, &token, pickup("k1", &total, "tok_visa")).await;
        assert_eq!(user_codes(&empty), ["CART_EMPTY"]);
        add(&app, &token, json!({ "menuItemId": item })).await;
        for (input, code) in [
            (
                pickup("not a key!", &total, "tok_visa"),
                "IDEMPOTENCY_KEY_INVALID",
            ),
            (
                json!({ "fulfilment": "DELIVERY", "paymentToken": "tok_visa", "idempotencyKey": "k2", "expectedTotal": total }),
                "INVALID_FULFILMENT",
            ),
            (
                json!({ "fulfilment": "DINE_IN", "paymentToken": "tok_visa", "idempotencyKey": "k2", "expectedTotal": total }),
                "INVALID_FULFILMENT",
            ),
            (
                json!({ "fulfilment": "PICKUP", "tableNumber": 3, "paymentToken": "tok_visa", "idempotencyKey": "k2", "expectedTotal": total }),
                "INVALID_FULFILMENT",
            ),
            (
                pickup("k2", &amount(999, &currency), "tok_visa"),
                "PRICE_CHANGED",
            ),
            // A delivery costs the fee on top: the pickup total is not enough.
            (
                json!({ "fulfilment": "DELIVERY", "deliveryAddress": "1 Main St", "paymentToken": "tok_visa", "idempotencyKey": "k2", "expectedTotal": total }),
                "PRICE_CHANGED",
            ),
        ] {
            let refused = checkout(&app, &token, input.clone()).await;
            assert_eq!(user_codes(&refused), [code], "[{}] {input}", pair.name());
        }

        // Staff change the price after the customer saw it.
        let staff = app.login(STAFF_1, DEMO_PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let repriced = app
            .graphql_as(Some(&staff), "mutation($id: ID!, $p: Decimal!) { updateMenuItem(input: { id: $id, price: $p }) { userErrors { code } } }", json!({ "id": item, "p": amount(1100, &currency) }))
            .await
            .1;
        assert_eq!(
            repriced["data"]["updateMenuItem"]["userErrors"],
            json!([]),
            "{repriced}"
        );
        let changed = checkout(&app, &token, pickup("k3", &total, "tok_visa")).await;
        assert_eq!(user_codes(&changed), ["PRICE_CHANGED"]);
        assert!(
            changed["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(&amount(1100, &currency))
        );

        // More than the day's stock.
        let new_total = amount(1100 * 3, &currency);
        add(&app, &token, json!({ "menuItemId": item, "quantity": 2 })).await;
        let short = checkout(&app, &token, pickup("k4", &new_total, "tok_visa")).await;
        assert_eq!(user_codes(&short), ["OUT_OF_STOCK"], "{short}");

        // Switched off after it went into the cart.
        app.graphql_as(Some(&staff), "mutation($id: ID!) { setMenuItemAvailability(input: { id: $id, available: false }) { userErrors { code } } }", json!({ "id": item }))
            .await;
        let off = checkout(&app, &token, pickup("k5", &new_total, "tok_visa")).await;
        assert_eq!(user_codes(&off), ["ITEM_UNAVAILABLE"], "{off}");
        assert!(orders_of(&app, user_id).await.is_empty());
        assert_eq!(app.payment_stats().authorize_calls, 0);
        app.stop().await;
    }
}

fn connections_in_use(db: &sea_orm::DatabaseConnection) -> u32 {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            pool.size() - u32::try_from(pool.num_idle()).unwrap()
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            pool.size() - u32::try_from(pool.num_idle()).unwrap()
        }
    }
}

#[tokio::test]
async fn a_slow_payment_provider_holds_no_database_connection_or_transaction() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, item) = new_item(&app, 1, "Slow Dish", 700, Some(3)).await;
        let (slow_user, slow_token, total) = customer_with_cart(&app, &item, 700).await;
        let (quick_user, quick_token, _) = customer_with_cart(&app, &item, 700).await;
        let slow = {
            let app_url = app.url("/graphql");
            let client = app.client().clone();
            let body = json!({ "query": bistro_tests::operation("Checkout"), "variables": { "input": pickup("slow", &total, "tok_pause:authorize:slow") } });
            tokio::spawn(async move {
                client
                    .post(app_url)
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {slow_token}"))
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            })
        };
        app.wait_for_pause("slow").await;
        // The slow checkout is inside the provider, and stays there until
        // released: it holds no connection (so no transaction) once the pool
        // has taken back the ones its earlier reads used, and other writes go
        // through meanwhile.
        let mut in_use = connections_in_use(&app.app.db);
        for _ in 0..500 {
            if in_use == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            in_use = connections_in_use(&app.app.db);
        }
        assert_eq!(
            in_use,
            0,
            "[{}] a connection stayed checked out",
            pair.name()
        );
        let quick = checkout(&app, &quick_token, pickup("quick", &total, "tok_visa")).await;
        assert_eq!(quick["userErrors"], json!([]), "[{}] {quick}", pair.name());
        app.release_pause("slow").await;
        let slow = slow.await.unwrap();
        assert_eq!(slow["data"]["checkout"]["userErrors"], json!([]), "{slow}");
        assert_eq!(orders_of(&app, slow_user).await.len(), 1);
        assert_eq!(orders_of(&app, quick_user).await.len(), 1);
        assert_eq!(stock_remaining(&app, &item).await, json!(1));
        app.stop().await;
    }
}

#[tokio::test]
async fn the_orders_list_costs_the_same_round_trips_for_one_order_or_many() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, token) = app.new_customer("regular").await;
        place_order(&app, &token, 1, "PICKUP").await;
        let (_, one) = app
            .graphql_as(
                Some(&token),
                &bistro_tests::operation("OrdersWithEvents"),
                json!({ "first": 20 }),
            )
            .await;
        assert_eq!(
            one["data"]["me"]["orders"]["edges"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "{one}"
        );
        for (restaurant, fulfilment) in [
            (2, "DELIVERY"),
            (3, "DINE_IN"),
            (1, "PICKUP"),
            (4, "PICKUP"),
            (2, "PICKUP"),
        ] {
            place_order(&app, &token, restaurant, fulfilment).await;
        }
        let (_, many) = app
            .graphql_as(
                Some(&token),
                &bistro_tests::operation("OrdersWithEvents"),
                json!({ "first": 20 }),
            )
            .await;
        assert!(many.get("errors").is_none(), "{many}");
        let edges = many["data"]["me"]["orders"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 6);
        assert!(
            edges
                .iter()
                .all(|e| e["node"]["events"][0]["to"] == "PLACED")
        );
        assert!(
            edges
                .iter()
                .all(|e| e["node"]["restaurant"]["name"].is_string())
        );
        assert_eq!(
            round_trips(&one),
            round_trips(&many),
            "[{}] round trips grew with the number of orders",
            pair.name()
        );
        // The session check (key-value), then the viewer, the orders page,
        // lines, items, restaurants and events: one statement each.
        assert_eq!(round_trips(&many), (6, 1), "[{}]", pair.name());
        app.stop().await;
    }
}

#[tokio::test]
async fn menu_availability_changes_are_published() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (item_id, item) = new_item(&app, 1, "Last Soufflé", 900, Some(1)).await;
        let staff = app.login(STAFF_1, DEMO_PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut events = listening(&app, bistro_data::events::MENU_EVENTS_CHANNEL).await;
        let set = "mutation($id: ID!, $on: Boolean!) { setMenuItemAvailability(input: { id: $id, available: $on }) { userErrors { code } } }";
        for on in [false, true] {
            app.graphql_as(Some(&staff), set, json!({ "id": item, "on": on }))
                .await;
            let event = next_event(&mut events).await;
            assert_eq!(event["menuItemId"], item_id, "[{}] {event}", pair.name());
            assert_eq!(event["restaurantId"], 1);
            assert_eq!(
                (event["reason"].clone(), event["available"].clone()),
                (json!("AVAILABILITY_SET"), json!(on))
            );
        }
        // The day's last unit sold, then given back by a cancellation.
        let (_, token, total) = customer_with_cart(&app, &item, 900).await;
        let placed = checkout(&app, &token, pickup("last-one", &total, "tok_visa")).await;
        let event = next_event(&mut events).await;
        assert_eq!(
            (event["reason"].clone(), event["stockRemaining"].clone()),
            (json!("SOLD_OUT"), json!(0)),
            "{event}"
        );
        app.graphql_as(
            Some(&token),
            "mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { userErrors { code } } }",
            json!({ "id": placed["order"]["id"] }),
        )
        .await;
        let event = next_event(&mut events).await;
        assert_eq!(
            (event["reason"].clone(), event["stockRemaining"].clone()),
            (json!("RESTOCKED"), json!(1)),
            "{event}"
        );
        assert_eq!(event["version"], 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_checkout_costs_the_same_statements_for_one_line_or_three() {
    // W3's sequence: three cart additions and the checkout. An addition
    // loads its item with the cart's items, their option groups and the
    // restaurant in one batch each, which its answer then finds loaded; the
    // checkout answers with the rows it wrote instead of reading them back.
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, token) = app.new_customer("three lines").await;
        let mut items = Vec::new();
        for name in ["Soup", "Bread", "Tart"] {
            items.push(new_item(&app, 1, name, 500, None).await.1);
        }
        let mut statements = Vec::new();
        let mut last = Value::Null;
        for (i, item) in items.iter().enumerate() {
            let (_, body) = app
                .graphql_as(
                    Some(&token),
                    &bistro_tests::operation("AddToCart"),
                    json!({ "input": { "menuItemId": item, "quantity": 1, "replaceCart": i == 0 } }),
                )
                .await;
            assert_eq!(body["data"]["addToCart"]["userErrors"], json!([]), "{body}");
            assert_eq!(
                body["data"]["addToCart"]["cart"]["lines"]
                    .as_array()
                    .unwrap()
                    .len(),
                i + 1
            );
            statements.push(round_trips(&body).0);
            last = body;
        }
        // The item, its option groups, the restaurant: one statement each,
        // however many lines the cart already has.
        assert_eq!(statements, vec![3, 3, 3], "[{}]", pair.name());
        let total = last["data"]["addToCart"]["cart"]["subtotal"]["amount"].clone();
        let (_, body) = app
            .graphql_as(
                Some(&token),
                &bistro_tests::operation("Checkout"),
                json!({ "input": {
                    "fulfilment": "PICKUP", "paymentToken": "tok_visa",
                    "idempotencyKey": "three-lines", "expectedTotal": total
                } }),
            )
            .await;
        let order = &body["data"]["checkout"]["order"];
        assert_eq!(order["lines"].as_array().unwrap().len(), 3, "{body}");
        assert_eq!(order["lines"][2]["name"], "Tart");
        assert_eq!(order["payment"]["status"], "AUTHORIZED");
        assert_eq!(order["events"][0]["to"], "PLACED");
        assert_eq!(order["paymentStatus"], "AUTHORIZED");
        // The items, their option groups, the restaurant; the pending step
        // (claiming the key, unless the customer has an order with it), the
        // customer; then the transaction's five inserts (order, lines,
        // payment, event, email) and the step marked committed. The step is
        // deleted after the answer, with other checkouts' steps, outside the
        // request. The simulated processor finds authorizations by their
        // key, so its reference is not recorded in the step first. Nothing
        // is read back. SQLite takes the transaction's statements in two
        // groups of one hand-off each (the order with its step, then what
        // needs the order's id: `bistro_sql::grouped`).
        let expected = match pair {
            StorePair::Embedded => 7,
            StorePair::Real { .. } => 11,
        };
        assert_eq!(round_trips(&body).0, expected, "[{}] {body}", pair.name());
        assert!(app.pending_steps().await.is_empty(), "[{}]", pair.name());
        app.stop().await;
    }
}
