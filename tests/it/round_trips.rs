//! Round-trip accounting: a request costs a fixed number of SQL statements,
//! key-value round trips and key-value commands, whatever its page sizes.
//!
//! The composed restaurant page needs, per level of the query:
//! SQL: the restaurant page (1), the trending items by id (1); key-value:
//! the rating summaries (one `HMGET`), the menu pages (one `HMGET` of the
//! page shape's hash), every restaurant's popularity ranking (one `HMGET` of
//! the day's rankings). Cold caches add the menu pages' windowed statement
//! and the rating aggregate in SQL, and one write-back round trip each.

use bistro_data::rating::RatingsKey;
use bistro_tests::{StorePair, TestApp, kv_commands, operation, round_trips, store_pairs};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

/// Multiplies the demo restaurants (and their menus) until there are more
/// than 100, so a page of 100 is really 100.
async fn grow_to_over_100_restaurants(app: &TestApp) {
    let db = &app.app.db;
    let backend = db.get_database_backend();
    for copy in 1..=9 {
        let suffix = format!("-copy-{copy}");
        db.execute_raw(Statement::from_string(
            backend,
            format!(
                "INSERT INTO restaurants (slug, name, cuisine, description, address, opening_hours, currency_code, created_at) \
                 SELECT slug || '{suffix}', name, cuisine, description, address, opening_hours, currency_code, created_at \
                 FROM restaurants WHERE slug NOT LIKE '%-copy-%'"
            ),
        ))
        .await
        .expect("copy restaurants");
        db.execute_raw(Statement::from_string(
            backend,
            format!(
                "INSERT INTO menu_items (restaurant_id, name, description, price_amount, currency_code, course, dietary, available, daily_stock, position, created_at, updated_at) \
                 SELECT r2.id, m.name, m.description, m.price_amount, m.currency_code, m.course, m.dietary, m.available, m.daily_stock, m.position, m.created_at, m.updated_at \
                 FROM menu_items m JOIN restaurants r ON m.restaurant_id = r.id JOIN restaurants r2 ON r2.slug = r.slug || '{suffix}' \
                 WHERE r.slug NOT LIKE '%-copy-%'"
            ),
        ))
        .await
        .expect("copy menus");
    }
}

/// Makes sure the first restaurant sells something today, so `trendingItems` loads items at every page size.
async fn sell_something_today_at_the_first_restaurant(app: &TestApp) {
    let db = &app.app.db;
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT m.restaurant_id AS restaurant_id, m.id AS item_id FROM menu_items m \
             WHERE m.restaurant_id = (SELECT MIN(id) FROM restaurants) ORDER BY m.position, m.id LIMIT 1",
        ))
        .await
        .unwrap()
        .expect("the first restaurant has a menu");
    let restaurant_id: i64 = row.try_get("", "restaurant_id").unwrap();
    let item_id: i64 = row.try_get("", "item_id").unwrap();
    let today = bistro_data::popularity::today();
    bistro_data::popularity::record(&app.app.kv, today, restaurant_id, item_id, 7)
        .await
        .unwrap();
}

/// Empties the shared caches (rating summaries, menu pages) of every restaurant.
async fn clear_caches(app: &TestApp) {
    let kv = &app.app.kv;
    kv.remove(&[RatingsKey {}]).await.unwrap();
    bistro_data::menu::forget_all(kv).await.unwrap();
}

#[tokio::test]
async fn the_composed_query_costs_the_same_at_page_sizes_1_10_and_100() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        grow_to_over_100_restaurants(&app).await;
        sell_something_today_at_the_first_restaurant(&app).await;
        let query = operation("RestaurantPage");
        let mut cold = Vec::new();
        let mut warm = Vec::new();
        for first in [1, 10, 100] {
            clear_caches(&app).await;
            let variables = json!({"first": first, "menuFirst": 10});
            let (status, body) = app.graphql(&query, variables.clone()).await;
            assert_eq!(status, 200);
            assert!(body.get("errors").is_none(), "[{}] {body:#}", pair.name());
            let edges = body["data"]["restaurants"]["edges"].as_array().unwrap();
            assert_eq!(
                edges.len(),
                first,
                "[{}] a page of {first} has {first} restaurants",
                pair.name()
            );
            let items: usize = edges
                .iter()
                .map(|e| e["node"]["menu"]["edges"].as_array().unwrap().len())
                .sum();
            assert_eq!(items, first * 10, "[{}] ten items each", pair.name());
            cold.push((round_trips(&body), kv_commands(&body)));
            let (_, body) = app.graphql(&query, variables).await;
            warm.push((round_trips(&body), kv_commands(&body)));
        }
        eprintln!(
            "[{}] composed query ((sql, kv round trips), kv commands) at 1/10/100: cold {cold:?}, warm {warm:?}",
            pair.name()
        );
        // Warm: SQL reads the restaurant page and the trending items; the
        // key-value store answers ratings, menus and popularity with one
        // multi-key command each (HMGET), whatever the page size.
        assert_eq!(warm, vec![((2, 3), 3); 3], "[{}] warm caches", pair.name());
        // Cold: menus and ratings come from SQL and are written back, one
        // HSET (plus its expiry) per hash: still constant in the page size.
        assert_eq!(cold, vec![((4, 5), 9); 3], "[{}] cold caches", pair.name());

        // Without key-value fields: the restaurant page from SQL, the menus
        // from the (warm) shared cache.
        for first in [1, 10, 100] {
            let (_, body) = app
                .graphql(
                    &operation("RestaurantPageSqlOnly"),
                    json!({"first": first, "menuFirst": 10}),
                )
                .await;
            assert_eq!(
                round_trips(&body),
                (1, 1),
                "[{}] page of {first} without key-value fields",
                pair.name()
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn nodes_with_a_hundred_mixed_ids_cost_one_statement_per_type() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let ids = app.node_ids(10, 9).await;
        assert_eq!(ids.len(), 100);
        let (_, body) = app.graphql(&operation("Nodes"), json!({"ids": ids})).await;
        assert!(body.get("errors").is_none(), "{body:#}");
        // Restaurants (1) and menu items (1); `MenuItem.restaurant` is served from the restaurant loader's cache.
        assert_eq!(round_trips(&body), (2, 0), "[{}]", pair.name());
        // Repeated ids, interleaved with new ones, join the same batches:
        // async-graphql polls a long list's resolvers in slices, so a slice
        // of repeats must not close a batch that later slices add to.
        let mut repeated = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            repeated.push(id.clone());
            repeated.push(ids[i / 2].clone());
        }
        repeated.truncate(100);
        let (_, body) = app
            .graphql(&operation("Nodes"), json!({"ids": repeated}))
            .await;
        assert!(body.get("errors").is_none(), "{body:#}");
        assert_eq!(round_trips(&body), (2, 0), "[{}] repeated ids", pair.name());
        app.stop().await;
    }
}

#[tokio::test]
async fn loaders_do_not_outlive_a_request() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    // Reviews have no shared cache: any saving would come from a loader that outlived its request.
    let query = "{ restaurants(first: 5) { edges { node { name reviews(first: 3) { edges { node { body } } } } } } }";
    let (_, first) = app.graphql(query, json!({})).await;
    let (_, second) = app.graphql(query, json!({})).await;
    // Same cost both times: nothing was served from a previous request's loader cache.
    assert_eq!(round_trips(&first), round_trips(&second));
    assert_eq!(round_trips(&second), (2, 0));
    app.stop().await;
}

#[tokio::test]
async fn entities_with_a_hundred_mixed_representations_cost_one_statement_per_type() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let admin = app
            .login("admin@bistro.test", bistro_tests::DEMO_PASSWORD)
            .await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        // Twenty of each entity type, as a router would name them.
        let (_, body) = app
            .graphql_as(
                Some(&admin),
                "{ restaurants(first: 12) { nodes { id
                     menu(first: 2) { nodes { id } }
                     reviews(first: 2) { nodes { id } }
                     orders(first: 2) { edges { node { id customer { id } } } } } } }",
                json!({}),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body:#}");
        let mut ids: std::collections::BTreeMap<&str, Vec<Value>> = Default::default();
        for restaurant in body["data"]["restaurants"]["nodes"].as_array().unwrap() {
            ids.entry("Restaurant")
                .or_default()
                .push(restaurant["id"].clone());
            for item in restaurant["menu"]["nodes"].as_array().unwrap() {
                ids.entry("MenuItem").or_default().push(item["id"].clone());
            }
            for review in restaurant["reviews"]["nodes"].as_array().unwrap() {
                ids.entry("Review").or_default().push(review["id"].clone());
            }
            for order in restaurant["orders"]["edges"].as_array().unwrap() {
                ids.entry("Order")
                    .or_default()
                    .push(order["node"]["id"].clone());
                ids.entry("User")
                    .or_default()
                    .push(order["node"]["customer"]["id"].clone());
            }
        }
        let mut representations = Vec::new();
        for i in 0..20 {
            for (typename, of_type) in &ids {
                // Fewer than twenty of some types in the demo data: those
                // come twice (customers between others), as they may from a router.
                let id = &of_type[i % of_type.len()];
                representations.push(json!({ "__typename": typename, "id": id }));
            }
        }
        assert_eq!(ids.len(), 5);
        assert_eq!(representations.len(), 100);
        let query = "query($r: [_Any!]!) { _entities(representations: $r) { __typename
            ... on Restaurant { id name } ... on MenuItem { id name } ... on Review { id rating }
            ... on User { id displayName } ... on Order { id status } } }";

        let (_, body) = app
            .graphql_as(Some(&admin), query, json!({ "r": representations }))
            .await;
        assert!(body.get("errors").is_none(), "[{}] {body:#}", pair.name());
        let entities = body["data"]["_entities"].as_array().unwrap();
        for (entity, representation) in entities.iter().zip(&representations) {
            assert_eq!(entity["__typename"], representation["__typename"]);
            assert_eq!(entity["id"], representation["id"]);
        }
        // One statement per entity type; the one key-value round trip is the
        // admin's session check.
        assert_eq!(round_trips(&body), (5, 1), "[{}] as admin", pair.name());

        // Anonymous: the orders are refused one by one, with no statement more.
        let (_, body) = app.graphql(query, json!({ "r": representations })).await;
        let hidden = body["data"]["_entities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e.is_null())
            .count();
        assert_eq!(hidden, 20, "[{}] {body:#}", pair.name());
        assert_eq!(body["errors"].as_array().unwrap().len(), 20);
        assert_eq!(round_trips(&body), (5, 0), "[{}] anonymous", pair.name());
        app.stop().await;
    }
}
