//! The read side of the schema, end to end on every store pair.

use bistro_tests::{TestApp, error_codes, operation, store_pairs};
use serde_json::{Value, json};

#[tokio::test]
async fn the_composed_restaurant_page_reads_both_stores() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let data = app
            .data(
                &operation("RestaurantPage"),
                json!({"first": 5, "menuFirst": 4}),
            )
            .await;
        let edges = data["restaurants"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), 5, "[{}] {data:#}", pair.name());
        assert_eq!(data["restaurants"]["pageInfo"]["hasNextPage"], true);
        let mut saw_popular_item = false;
        for edge in edges {
            let node = &edge["node"];
            assert!(node["name"].as_str().is_some_and(|n| !n.is_empty()));
            assert!(
                node["rating"]["count"].as_u64().is_some(),
                "rating from the KV cache / SQL"
            );
            let menu = node["menu"]["edges"].as_array().expect("menu edges");
            assert_eq!(menu.len(), 4, "[{}] first: 4 gives 4 items", pair.name());
            for item in menu {
                let price = &item["node"]["price"];
                assert!(
                    price["amount"].as_str().unwrap().contains('.'),
                    "money is a decimal string"
                );
                assert_eq!(price["currencyCode"].as_str().unwrap().len(), 3);
                let popularity = &item["node"]["popularity"];
                assert!(popularity["ordersToday"].as_u64().is_some());
                if popularity["rank"].is_u64() {
                    saw_popular_item = true;
                }
            }
            let trending = node["trendingItems"].as_array().expect("trendingItems");
            assert!(trending.len() <= 3);
            let mut last = u64::MAX;
            for (i, t) in trending.iter().enumerate() {
                let orders = t["ordersToday"].as_u64().unwrap();
                assert!(
                    orders > 0 && orders <= last,
                    "trending is sorted by orders today"
                );
                assert_eq!(t["rank"].as_u64().unwrap(), i as u64 + 1);
                assert!(
                    t["item"]["name"].is_string(),
                    "trending ids load through the SQL loader"
                );
                last = orders;
            }
        }
        assert!(
            saw_popular_item,
            "[{}] the demo data has orders today",
            pair.name()
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn restaurants_page_forward_and_backward_without_gaps() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let query = "query($first: Int, $after: String, $last: Int, $before: String) {
            restaurants(first: $first, after: $after, last: $last, before: $before) {
                totalCount
                edges { cursor node { slug } }
                pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            } }";
        let all = app.data(query, json!({"first": 100})).await;
        let total = all["restaurants"]["totalCount"].as_u64().unwrap();
        let all_slugs = slugs(&all);
        assert_eq!(all_slugs.len() as u64, total, "[{}]", pair.name());
        assert!(total >= 10);

        // Forward in pages of 4.
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = app.data(query, json!({"first": 4, "after": after})).await;
            seen.extend(slugs(&page));
            let info = &page["restaurants"]["pageInfo"];
            if info["hasNextPage"] == false {
                break;
            }
            after = info["endCursor"].clone();
        }
        assert_eq!(
            seen,
            all_slugs,
            "[{}] forward pages cover the list once",
            pair.name()
        );

        // Backward from the end.
        let last = app.data(query, json!({"last": 3})).await;
        assert_eq!(slugs(&last), all_slugs[all_slugs.len() - 3..].to_vec());
        assert_eq!(last["restaurants"]["pageInfo"]["hasPreviousPage"], true);
        let before = last["restaurants"]["pageInfo"]["startCursor"].clone();
        let prev = app.data(query, json!({"last": 3, "before": before})).await;
        assert_eq!(
            slugs(&prev),
            all_slugs[all_slugs.len() - 6..all_slugs.len() - 3].to_vec()
        );
        app.stop().await;
    }
}

fn slugs(data: &Value) -> Vec<String> {
    data["restaurants"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn page_arguments_are_checked_and_capped() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, body) = app
            .graphql("{ restaurants(first: -1) { edges { cursor } } }", json!({}))
            .await;
        assert_eq!(
            error_codes(&body),
            ["BAD_USER_INPUT"],
            "[{}] {body:#}",
            pair.name()
        );
        assert_eq!(body["data"]["restaurants"], Value::Null);

        let (_, body) = app
            .graphql(
                "{ restaurants(first: 1, last: 1) { edges { cursor } } }",
                json!({}),
            )
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);

        let (_, body) = app
            .graphql(
                "{ restaurants(after: \"garbage\") { edges { cursor } } }",
                json!({}),
            )
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);

        // A cursor of another list is refused too.
        let data = app.data("{ restaurants(first: 1) { edges { node { menu(first: 1) { edges { cursor } } } } } }", json!({})).await;
        let menu_cursor =
            data["restaurants"]["edges"][0]["node"]["menu"]["edges"][0]["cursor"].clone();
        let (_, body) = app
            .graphql(
                "query($c: String) { restaurants(after: $c) { edges { cursor } } }",
                json!({"c": menu_cursor}),
            )
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);

        // No `first`: the default page; a huge `first`: capped at 100.
        let data = app
            .data("{ restaurants { edges { cursor } } }", json!({}))
            .await;
        assert!(data["restaurants"]["edges"].as_array().unwrap().len() <= 20);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_restaurant_by_slug_with_menu_filters_reviews_and_counts() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let first = app
            .data(
                "{ restaurants(first: 1) { edges { node { slug } } } }",
                json!({}),
            )
            .await;
        let slug = first["restaurants"]["edges"][0]["node"]["slug"]
            .as_str()
            .unwrap()
            .to_owned();

        let data = app
            .data(&operation("RestaurantDetail"), json!({"slug": slug}))
            .await;
        let r = &data["restaurant"];
        assert_eq!(r["slug"], slug.as_str());
        assert!(
            r["openingHours"].as_array().is_some_and(|h| !h.is_empty()),
            "[{}] {r:#}",
            pair.name()
        );
        let menu = r["menu"]["edges"].as_array().unwrap();
        assert_eq!(r["menu"]["totalCount"].as_u64().unwrap(), menu.len() as u64);
        assert!(
            menu.iter()
                .all(|e| e["node"]["restaurant"]["slug"] == slug.as_str())
        );
        let reviews = r["reviews"]["edges"].as_array().unwrap();
        assert!(reviews.len() <= 5);
        assert_eq!(r["reviews"]["totalCount"], r["rating"]["count"]);
        for review in reviews {
            let rating = review["node"]["rating"].as_i64().unwrap();
            assert!((1..=5).contains(&rating));
            assert!(review["node"]["authorName"].is_string());
        }

        // The course filter keeps only that course, and counts it.
        let mains = app
            .data(
                &operation("RestaurantDetail"),
                json!({"slug": slug, "course": "MAIN"}),
            )
            .await;
        let main_items = mains["restaurant"]["menu"]["edges"].as_array().unwrap();
        assert!(!main_items.is_empty());
        assert!(main_items.iter().all(|e| e["node"]["course"] == "MAIN"));
        assert_eq!(
            mains["restaurant"]["menu"]["totalCount"].as_u64().unwrap(),
            main_items.len() as u64
        );

        let missing = app
            .data(
                "{ restaurant(slug: \"no-such-place\") { name } }",
                json!({}),
            )
            .await;
        assert_eq!(missing["restaurant"], Value::Null);
        app.stop().await;
    }
}

#[tokio::test]
async fn nodes_refetch_mixed_ids_in_order() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let data = app
            .data("{ restaurants(first: 2) { edges { node { id name menu(first: 2) { edges { node { id name } } } reviews(first: 1) { edges { node { id } } } } } } }", json!({}))
            .await;
        let mut ids = Vec::new();
        let mut names = Vec::new();
        for edge in data["restaurants"]["edges"].as_array().unwrap() {
            ids.push(edge["node"]["id"].clone());
            names.push(edge["node"]["name"].clone());
            for item in edge["node"]["menu"]["edges"].as_array().unwrap() {
                ids.push(item["node"]["id"].clone());
                names.push(item["node"]["name"].clone());
            }
        }
        let nodes = app.data(&operation("Nodes"), json!({"ids": ids})).await;
        let nodes = nodes["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), ids.len());
        for ((node, id), name) in nodes.iter().zip(&ids).zip(&names) {
            assert_eq!(
                &node["id"],
                id,
                "[{}] nodes keep the order asked for",
                pair.name()
            );
            assert_eq!(&node["name"], name);
        }
        assert_eq!(nodes[0]["__typename"], "Restaurant");
        assert_eq!(nodes[1]["__typename"], "MenuItem");

        let single = app
            .data(
                "query($id: ID!) { node(id: $id) { __typename id } }",
                json!({"id": ids[1]}),
            )
            .await;
        assert_eq!(single["node"]["id"], ids[1]);

        // An id of nothing is null; a string that is not an id is a coded error.
        let unknown = "UmVzdGF1cmFudDo5OTk5OTk"; // "Restaurant:999999"
        let data = app
            .data(
                "query($id: ID!) { node(id: $id) { id } }",
                json!({"id": unknown}),
            )
            .await;
        assert_eq!(data["node"], Value::Null);
        let (_, body) = app
            .graphql("{ node(id: \"nonsense\") { id } }", json!({}))
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
        assert_eq!(body["data"]["node"], Value::Null);

        let too_many: Vec<String> = (0..101).map(|_| unknown.to_owned()).collect();
        let (_, body) = app
            .graphql(&operation("Nodes"), json!({"ids": too_many}))
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
        app.stop().await;
    }
}

#[tokio::test]
async fn menu_search_ranks_stems_and_pages() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        // Pick a word from a real description, then search for its plural.
        let data = app.data("{ restaurants(first: 3) { edges { node { menu(first: 20) { edges { node { name description } } } } } } }", json!({})).await;
        let source = data["restaurants"]["edges"][0]["node"]["menu"]["edges"][0]["node"].clone();
        let description = source["description"].as_str().unwrap().to_owned();
        let word = description
            .split(|c: char| !c.is_alphabetic())
            .find(|w| w.len() >= 6 && !w.ends_with(['s', 'e']))
            .expect("a long word in a seeded description")
            .to_lowercase();

        let hits = app
            .data(
                &operation("SearchMenu"),
                json!({"query": word, "first": 100}),
            )
            .await;
        let edges = hits["searchMenu"]["edges"].as_array().unwrap();
        assert!(
            edges.iter().any(|e| e["node"]["name"] == source["name"]
                && e["node"]["description"] == source["description"]),
            "[{}] '{word}' finds the item it came from: {hits:#}",
            pair.name()
        );
        let mut last_rank = f64::INFINITY;
        for edge in edges {
            let rank = edge["rank"].as_f64().unwrap();
            assert!(rank <= last_rank, "best match first");
            last_rank = rank;
        }

        // Stemming: the plural finds the singular (and the other way round).
        let plural = app
            .data(
                &operation("SearchMenu"),
                json!({"query": format!("{word}s"), "first": 100}),
            )
            .await;
        assert!(
            !plural["searchMenu"]["edges"].as_array().unwrap().is_empty(),
            "[{}] '{word}s' is stemmed",
            pair.name()
        );

        // Paging: pages of 2 walk the same hits in the same order.
        let mut paged = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = app
                .data(
                    &operation("SearchMenu"),
                    json!({"query": word, "first": 2, "after": after}),
                )
                .await;
            for edge in page["searchMenu"]["edges"].as_array().unwrap() {
                paged.push(edge["node"]["id"].clone());
            }
            if page["searchMenu"]["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = page["searchMenu"]["pageInfo"]["endCursor"].clone();
        }
        let all: Vec<Value> = edges.iter().map(|e| e["node"]["id"].clone()).collect();
        assert_eq!(paged, all, "[{}]", pair.name());

        // Words that match nothing, and query syntax, are just words.
        let none = app
            .data(&operation("SearchMenu"), json!({"query": "zzzqqqxxx"}))
            .await;
        assert_eq!(none["searchMenu"]["edges"].as_array().unwrap().len(), 0);
        let syntax = app
            .data(
                &operation("SearchMenu"),
                json!({"query": "\"NEAR(\" OR * -"}),
            )
            .await;
        assert!(syntax["searchMenu"]["edges"].is_array());
        app.stop().await;
    }
}
