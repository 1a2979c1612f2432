//! Bistro as an Apollo Federation v2 subgraph: the subgraph SDL and its
//! directives, `_entities` answers for representations it cannot serve, the
//! router secret, and the operations a gateway sends (`operations/Gateway*`,
//! kept verbatim by `federation/check.mjs`, which also composes the SDL and
//! queries through `@apollo/gateway`).
//!
//! Elsewhere: the drift test of `schema.federation.graphql`
//! (`schema_contract.rs`), the cost of a hundred representations
//! (`round_trips.rs`), and `_entities` in the authorization matrix (`auth.rs`).

use async_graphql::Positioned;
use async_graphql::parser::types::{ConstDirective, TypeKind, TypeSystemDefinition};
use bistro_schema::ids::{NodeType, global_id};
use bistro_tests::{DEMO_PASSWORD, StorePair, TestApp, error_codes, operation, store_pairs};
use serde_json::{Value, json};

/// The secret test servers of this module share with their "router".
const SECRET: &str = "router-secret-for-the-federation-tests-0123456789";

/// `@name(arg: value, …)` as written in SDL.
fn render(directive: &Positioned<ConstDirective>) -> String {
    let directive = &directive.node;
    if directive.arguments.is_empty() {
        return format!("@{}", directive.name.node);
    }
    let arguments: Vec<String> = directive
        .arguments
        .iter()
        .map(|(name, value)| format!("{}: {}", name.node, value.node))
        .collect();
    format!("@{}({})", directive.name.node, arguments.join(", "))
}

#[test]
fn the_subgraph_sdl_parses_and_declares_the_keys() {
    let sdl = bistro_schema::federation_sdl();
    let document = async_graphql::parser::parse_schema(&sdl).expect("the subgraph SDL parses");

    let mut link = None;
    let mut keyed = Vec::new();
    let mut shareable = Vec::new();
    let mut inaccessible = Vec::new();
    let mut query_fields = Vec::new();
    let mut types = Vec::new();
    for definition in &document.definitions {
        match definition {
            TypeSystemDefinition::Schema(schema) => {
                assert!(schema.node.extend, "the subgraph extends the schema");
                link = schema
                    .node
                    .directives
                    .iter()
                    .find(|d| d.node.name.node == "link")
                    .cloned();
            }
            TypeSystemDefinition::Type(ty) => {
                let name = ty.node.name.node.to_string();
                types.push(name.clone());
                for directive in &ty.node.directives {
                    match render(directive).as_str() {
                        r#"@key(fields: "id")"# => keyed.push(name.clone()),
                        "@shareable" => shareable.push(name.clone()),
                        "@inaccessible" => inaccessible.push(name.clone()),
                        other if other.starts_with("@key") => {
                            panic!("{name}: unexpected key {other}")
                        }
                        _ => {}
                    }
                }
                if let TypeKind::Object(object) = &ty.node.kind {
                    for field in &object.fields {
                        let field_name = &field.node.name.node;
                        if name == "Query" {
                            query_fields.push(field_name.to_string());
                        }
                        if field
                            .node
                            .directives
                            .iter()
                            .any(|d| render(d) == "@inaccessible")
                        {
                            inaccessible.push(format!("{name}.{field_name}"));
                        }
                        if keyed.last() == Some(&name) && field_name.as_str() == "id" {
                            assert_eq!(field.node.ty.node.to_string(), "ID!", "{name}.id");
                        }
                    }
                }
            }
            TypeSystemDefinition::Directive(_) => {}
        }
    }

    let link = render(&link.expect("extend schema @link(…)"));
    assert!(
        link.starts_with(r#"@link(url: "https://specs.apollo.dev/federation/v2.5", import: ["#),
        "{link}"
    );
    for directive in ["@key", "@shareable", "@inaccessible"] {
        assert!(
            link.contains(&format!("\"{directive}\"")),
            "{link} imports {directive}"
        );
    }
    let mut entities: Vec<String> = NodeType::ALL.iter().map(|t| t.name().to_owned()).collect();
    entities.sort();
    keyed.sort();
    assert_eq!(keyed, entities, "exactly the Node types are keyed by id");
    shareable.sort();
    assert_eq!(shareable, ["Money", "PageInfo"]);
    assert_eq!(inaccessible, ["Payment.provider", "Payment.reference"]);
    // The router adds the federation plumbing itself.
    for plumbing in ["_Any", "_Entity", "_Service"] {
        assert!(
            !types.iter().any(|t| t == plumbing),
            "{plumbing} is left out"
        );
    }
    assert!(query_fields.contains(&"node".to_owned()));
    for field in ["_service", "_entities"] {
        assert!(
            !query_fields.iter().any(|f| f == field),
            "{field} is left out"
        );
    }
}

/// POSTs `query` with extra `headers`; returns status, the `WWW-Authenticate` header and the body.
async fn post(
    app: &TestApp,
    headers: &[(&str, &str)],
    query: &str,
    variables: Value,
) -> (u16, Option<String>, Value) {
    let mut request = app
        .client()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .body(json!({ "query": query, "variables": variables }).to_string())
        .send()
        .await
        .expect("POST /graphql");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        challenge,
        response.json().await.expect("a JSON body"),
    )
}

async fn token(app: &TestApp, email: &str) -> String {
    app.login(email, DEMO_PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The ids of the demo customer's orders, newest first.
async fn orders_of(app: &TestApp, token: &str) -> Vec<String> {
    let (_, body) = app
        .graphql_as(
            Some(token),
            "{ me { orders(first: 5) { edges { node { id } } } } }",
            json!({}),
        )
        .await;
    body["data"]["me"]["orders"]["edges"]
        .as_array()
        .expect("the customer's orders")
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn representations_it_cannot_answer_are_null_with_an_error_at_their_index() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let customer = token(&app, "customer@bistro.test").await;
        let hidden_order = orders_of(&app, &customer).await[0].clone();
        let restaurant = global_id(NodeType::Restaurant, 1).0;
        let item = app
            .data(
                "{ restaurants(first: 1) { nodes { menu(first: 1) { nodes { id } } } } }",
                json!({}),
            )
            .await["restaurants"]["nodes"][0]["menu"]["nodes"][0]["id"]
            .clone();
        let representations = json!([
            { "__typename": "Restaurant", "id": restaurant },
            { "__typename": "Order", "id": global_id(NodeType::Order, 999_999_999).0 },
            { "__typename": "User", "id": "not-a-global-id" },
            { "__typename": "User", "id": restaurant },
            { "__typename": "Cart", "id": restaurant },
            { "id": restaurant },
            { "__typename": "MenuItem" },
            "just a string",
            { "__typename": "MenuItem", "id": 42 },
            { "__typename": "MenuItem", "id": item },
            // Anonymous: an order one may not see.
            { "__typename": "Order", "id": hidden_order },
        ]);
        let query = "query($r: [_Any!]!) { found: _entities(representations: $r) { __typename ... on Restaurant { id name } ... on MenuItem { id name } ... on Order { id status } } }";
        let (status, _, body) = post(&app, &[], query, json!({ "r": representations })).await;
        assert_eq!(status, 200, "[{}] {body:#}", pair.name());
        let found = body["data"]["found"]
            .as_array()
            .expect("the list never fails");
        assert_eq!(found.len(), 11);
        let present: Vec<usize> = (0..11).filter(|&i| !found[i].is_null()).collect();
        assert_eq!(present, [0, 9], "[{}] {body:#}", pair.name());
        assert_eq!(found[0]["__typename"], "Restaurant");
        assert_eq!(found[0]["id"], restaurant);
        assert_eq!(found[9]["id"], item);

        let errors: Vec<(Value, String, String)> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| {
                (
                    e["path"].clone(),
                    e["extensions"]["code"].as_str().unwrap().to_owned(),
                    e["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let by_index = |i: usize| {
            errors
                .iter()
                .filter(|(path, ..)| *path == json!(["found", i]))
                .map(|(_, code, message)| (code.as_str(), message.as_str()))
                .collect::<Vec<_>>()
        };
        assert_eq!(errors.len(), 9, "one error per null entry: {body:#}");
        assert_eq!(by_index(1), [("NOT_FOUND", "No Order has this id.")]);
        assert_eq!(by_index(2), [("BAD_USER_INPUT", "Not a User id.")]);
        assert_eq!(by_index(3), [("BAD_USER_INPUT", "Not a User id.")]);
        assert_eq!(
            by_index(4),
            [(
                "BAD_USER_INPUT",
                "`Cart` is not an entity type of this subgraph."
            )]
        );
        assert_eq!(
            by_index(5),
            [("BAD_USER_INPUT", "A representation needs its `__typename`.")]
        );
        for i in [6, 8] {
            assert_eq!(
                by_index(i),
                [(
                    "BAD_USER_INPUT",
                    "A MenuItem representation needs its `id`, a string."
                )]
            );
        }
        assert_eq!(
            by_index(7),
            [(
                "BAD_USER_INPUT",
                "A representation is an object with `__typename` and `id`."
            )]
        );
        // An order one may not see: word for word the answer for one that does not exist.
        assert_eq!(by_index(10), by_index(1), "[{}]", pair.name());

        // Seen by its customer, the same order answers.
        let (_, _, body) = post(
            &app,
            &[("authorization", &format!("Bearer {customer}"))],
            query,
            json!({ "r": [{ "__typename": "Order", "id": hidden_order }] }),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body:#}");
        assert_eq!(body["data"]["found"][0]["id"], hidden_order);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_operations_a_gateway_sends_are_answered() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;

        let data = app
            .data(&operation("GatewayServiceDefinition"), json!({}))
            .await;
        assert_eq!(
            data["_service"]["sdl"].as_str(),
            Some(bistro_schema::federation_sdl().as_str()),
            "[{}]",
            pair.name()
        );

        // Couriers: users a delivery subgraph names by id.
        let staff = app.login("staff@bistro.test", DEMO_PASSWORD).await;
        let customer = app.login("customer@bistro.test", DEMO_PASSWORD).await;
        let users = json!([
            { "__typename": "User", "id": staff["user"]["id"] },
            { "__typename": "User", "id": customer["user"]["id"] },
            { "__typename": "User", "id": staff["user"]["id"] },
        ]);
        let data = app
            .data(
                &operation("GatewayUserEntities"),
                json!({ "representations": users }),
            )
            .await;
        let names: Vec<&str> = data["_entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["displayName"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 3);
        assert_eq!(names[0], names[2]);
        assert_ne!(names[0], names[1]);

        // Orders: what a delivery subgraph's query reaches; the gateway
        // forwards the client's Authorization.
        let customer_token = customer["accessToken"].as_str().unwrap();
        let order = orders_of(&app, customer_token).await[0].clone();
        let orders = json!({ "representations": [{ "__typename": "Order", "id": order }] });
        let data = app
            .run(Some(customer_token), "GatewayOrderEntities", orders.clone())
            .await;
        assert!(data["_entities"][0]["status"].is_string(), "{data:#}");
        assert!(data["_entities"][0]["total"]["amount"].is_string());
        let (status, body) = app
            .graphql_as(None, &operation("GatewayOrderEntities"), orders)
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["_entities"], json!([null]));
        assert_eq!(error_codes(&body), ["NOT_FOUND"]);
        assert_eq!(body["errors"][0]["path"], json!(["_entities", 0]));
        app.stop().await;
    }
}

#[tokio::test]
async fn with_a_router_secret_only_requests_that_carry_it_reach_service_and_entities() {
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |config| {
            config.federation.router_secret = SECRET.to_owned();
        })
        .await;
        let with_secret = [("router-authorization", SECRET)];
        let restaurant = global_id(NodeType::Restaurant, 1).0;
        let entities =
            json!({ "representations": [{ "__typename": "Restaurant", "id": restaurant }] });
        let entities_query = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Restaurant { name } } }";

        let refused = [
            ("_service", operation("GatewayServiceDefinition"), json!({})),
            ("_entities", entities_query.to_owned(), entities.clone()),
            ("an alias", "{ schema: _service { sdl } }".to_owned(), json!({})),
            (
                "a fragment",
                "query { ...Router } fragment Router on Query { ... on Query { _service { sdl } } }".to_owned(),
                json!({}),
            ),
            (
                "another operation of the document",
                "query Menu { restaurants(first: 1) { totalCount } } query Sdl { _service { sdl } }"
                    .to_owned(),
                json!({}),
            ),
        ];
        for (what, query, variables) in &refused {
            for headers in [&[][..], &[("router-authorization", "a-wrong-secret")][..]] {
                let (status, challenge, body) = post(&app, headers, query, variables.clone()).await;
                assert_eq!(
                    status,
                    401,
                    "[{}] {what} with {headers:?}: {body:#}",
                    pair.name()
                );
                assert_eq!(error_codes(&body), ["UNAUTHENTICATED"], "{what}");
                assert!(body.get("data").is_none(), "{what}: nothing ran");
                assert_eq!(
                    challenge.as_deref(),
                    Some(r#"Router-Secret header="Router-Authorization""#)
                );
            }
        }
        let (status, _, body) = post(&app, &with_secret, &refused[0].1, json!({})).await;
        assert_eq!(status, 200, "{body:#}");
        assert_eq!(
            body["data"]["_service"]["sdl"].as_str(),
            Some(bistro_schema::federation_sdl().as_str())
        );
        let (status, _, body) = post(&app, &with_secret, entities_query, entities.clone()).await;
        assert_eq!(status, 200, "{body:#}");
        assert!(body["data"]["_entities"][0]["name"].is_string(), "{body:#}");
        // The header's name is case-insensitive, as HTTP has it.
        let (status, ..) = post(
            &app,
            &[("ROUTER-AUTHORIZATION", SECRET)],
            &refused[0].1,
            json!({}),
        )
        .await;
        assert_eq!(status, 200);

        // GET is checked the same way.
        let get = |headers: &'static [(&'static str, &'static str)]| {
            let mut request = app
                .client()
                .get(app.url("/graphql"))
                .query(&[("query", "{ _service { sdl } }")]);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send()
        };
        assert_eq!(get(&[]).await.unwrap().status(), 401);
        assert_eq!(
            get(&[("router-authorization", SECRET)])
                .await
                .unwrap()
                .status(),
            200
        );

        // Everyone else is unaffected, with or without the header.
        let customer = token(&app, "customer@bistro.test").await;
        let bearer = format!("Bearer {customer}");
        for (what, headers, query) in [
            (
                "a query",
                vec![],
                "{ restaurants(first: 1) { totalCount } }".to_owned(),
            ),
            (
                "a signed-in query",
                vec![("authorization", bearer.as_str())],
                "{ me { email } }".to_owned(),
            ),
            ("introspection", vec![], operation("IntrospectionQuery")),
            (
                "a query with a wrong secret it does not need",
                vec![("router-authorization", "a-wrong-secret")],
                "{ restaurants(first: 1) { totalCount } }".to_owned(),
            ),
            (
                "a field named like a router field, below the root",
                vec![],
                "{ me { _service: email } }".to_owned(),
            ),
        ] {
            let (status, _, body) = post(&app, &headers, &query, json!({})).await;
            assert_eq!(status, 200, "[{}] {what}: {body:#}", pair.name());
            assert!(body.get("errors").is_none(), "{what}: {body:#}");
        }
        let (status, _, _) = post(
            &app,
            &[],
            "mutation($input: LoginInput!) { login(input: $input) { session { accessToken } } }",
            json!({ "input": { "email": "customer@bistro.test", "password": DEMO_PASSWORD } }),
        )
        .await;
        assert_eq!(status, 200, "a mutation");
        let graphiql = app.client().get(app.url("/graphiql")).send().await.unwrap();
        assert_eq!(graphiql.status(), 200, "GraphiQL");
        // A document that does not parse is refused for what it is.
        let (status, _, body) = post(&app, &[], "{ _service { sdl }", json!({})).await;
        assert_eq!(
            (status, error_codes(&body)),
            (400, vec!["GRAPHQL_PARSE_FAILED".to_owned()])
        );

        // The WebSocket is no way around the secret, and is otherwise unaffected.
        let mut ws = app.ws().await;
        ws.init_as(Some(&customer)).await;
        ws.subscribe("sdl", "{ _service { sdl } }", json!({})).await;
        let refused = ws.message().await;
        assert_eq!(
            (&refused["type"], &refused["id"]),
            (&json!("error"), &json!("sdl")),
            "{refused:#}"
        );
        assert_eq!(
            refused["payload"][0]["extensions"]["code"],
            "UNAUTHENTICATED"
        );
        ws.subscribe("me", "{ me { email } }", json!({})).await;
        assert_eq!(
            ws.next("me").await["data"],
            json!({ "me": { "email": "customer@bistro.test" } })
        );
        let complete = ws.message().await;
        assert_eq!(complete, json!({ "id": "me", "type": "complete" }));
        let restaurant_id = global_id(NodeType::Restaurant, 1).0;
        ws.subscribe(
            "menu",
            "subscription($id: ID!) { menuItemAvailability(restaurantId: $id) { __typename } }",
            json!({ "id": restaurant_id }),
        )
        .await;
        // A refused operation would have answered before the pong.
        ws.round_trip().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn without_a_router_secret_service_and_entities_are_open() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    assert_eq!(app.app.config.federation.router_secret(), None);
    let (status, _, body) = post(&app, &[], "{ _service { sdl } }", json!({})).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body["data"]["_service"]["sdl"].is_string());
    app.stop().await;
}
