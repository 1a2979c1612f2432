//! The storefront: how the binary serves it, and the GraphQL operations it
//! sends, run from its own files against the real server.
//!
//! The operations are read from `storefront/src/generated/graphql.ts`: the
//! documents exactly as the page sends them (each operation with the
//! fragments it uses), generated from `storefront/src/operations/*.graphql`.
//! The scenario below sends every one of them, and a test fails when one is
//! added to the storefront but not here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use bistro_schema::ids::NodeType;
use bistro_tests::{DEMO_PASSWORD, StorePair, TestApp, round_trips, store_pairs};
use serde_json::{Value, json};

const BUILT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/bistro-server/assets/storefront"
);

fn built(name: &str) -> Vec<u8> {
    std::fs::read(format!("{BUILT}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The names of the script and style sheet `index.html` loads.
fn assets() -> (String, String) {
    let html = String::from_utf8(built("index.html")).unwrap();
    let find = |attr: &str| {
        html.split(&format!("{attr}=\"/assets/"))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned()
    };
    (find("src"), find("href"))
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client().get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn header_of<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn the_page_is_revalidated_with_its_etag_and_carries_a_policy_of_this_origin_only() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let page = get(&app, "/", &[]).await;
    assert_eq!(page.status(), 200);
    assert_eq!(header_of(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header_of(&page, "cache-control"), "no-cache");
    assert_eq!(header_of(&page, "vary"), "accept-encoding");
    assert_eq!(header_of(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header_of(&page, "x-frame-options"), "DENY");
    assert_eq!(header_of(&page, "content-encoding"), "");
    let policy = header_of(&page, "content-security-policy").to_owned();
    let etag = header_of(&page, "etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    assert_eq!(page.bytes().await.unwrap(), built("index.html"));

    // Only this server: its own origin, and its own WebSocket for live updates.
    let host = app.addr.to_string();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(
        policy.contains(&format!("connect-src 'self' ws://{host} wss://{host};")),
        "{policy}"
    );
    for directive in [
        "script-src 'self';",
        "style-src 'self';",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive}: {policy}");
    }
    assert!(
        !policy.contains("http") && !policy.contains("unsafe") && !policy.contains('*'),
        "{policy}"
    );

    // Revalidation: the same ETag is 304 with no body; another is the page.
    for if_none_match in [etag.clone(), format!("W/{etag}"), format!("\"x\", {etag}")] {
        let again = get(&app, "/", &[("if-none-match", &if_none_match)]).await;
        assert_eq!(again.status(), 304, "{if_none_match}");
        assert_eq!(header_of(&again, "etag"), etag);
        assert_eq!(header_of(&again, "cache-control"), "no-cache");
        assert_eq!(header_of(&again, "vary"), "accept-encoding");
        assert!(again.bytes().await.unwrap().is_empty());
    }
    let changed = get(&app, "/", &[("if-none-match", "\"an-older-build\"")]).await;
    assert_eq!(changed.status(), 200);

    // HEAD answers the headers alone.
    let head = app.client().head(app.url("/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(header_of(&head, "etag"), etag);
    assert!(head.bytes().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn precompressed_files_are_chosen_by_accept_encoding() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let (script, _) = assets();
    let path = format!("/assets/{script}");
    let name = format!("assets/{script}");
    let mut etags = BTreeSet::new();
    for (accept, encoding, suffix) in [
        ("gzip, deflate, br, zstd", "br", ".br"),
        ("br", "br", ".br"),
        ("gzip", "gzip", ".gz"),
        ("br;q=0, gzip;q=0.5", "gzip", ".gz"),
        ("deflate", "", ""),
        ("identity", "", ""),
        ("", "", ""),
    ] {
        let headers: Vec<(&str, &str)> = if accept.is_empty() {
            vec![]
        } else {
            vec![("accept-encoding", accept)]
        };
        let response = get(&app, &path, &headers).await;
        assert_eq!(response.status(), 200, "{accept}");
        assert_eq!(
            header_of(&response, "content-encoding"),
            encoding,
            "{accept}"
        );
        assert_eq!(header_of(&response, "vary"), "accept-encoding");
        assert_eq!(
            header_of(&response, "content-type"),
            "text/javascript; charset=utf-8"
        );
        etags.insert(header_of(&response, "etag").to_owned());
        assert_eq!(
            response.bytes().await.unwrap(),
            built(&format!("{name}{suffix}")),
            "{accept}"
        );
    }
    // One ETag per stored variant: a cache never takes gzip for brotli.
    assert_eq!(etags.len(), 3, "{etags:?}");

    // The page too; and nothing acceptable is 406.
    let page = get(&app, "/", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(header_of(&page, "content-encoding"), "br");
    assert_eq!(page.bytes().await.unwrap(), built("index.html.br"));
    let refused = get(&app, "/", &[("accept-encoding", "br;q=0, gzip;q=0, *;q=0")]).await;
    assert_eq!(refused.status(), 406);
    app.stop().await;
}

#[tokio::test]
async fn content_hashed_assets_are_immutable_and_unknown_ones_are_404() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let (script, sheet) = assets();
    for (name, content_type) in [
        (script.as_str(), "text/javascript; charset=utf-8"),
        (sheet.as_str(), "text/css; charset=utf-8"),
    ] {
        assert!(
            name.starts_with("app-") && name.len() > "app-.js".len() + 6,
            "a content-hashed name: {name}"
        );
        let response = get(&app, &format!("/assets/{name}"), &[]).await;
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(header_of(&response, "content-type"), content_type);
        assert_eq!(
            header_of(&response, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header_of(&response, "x-content-type-options"), "nosniff");
        assert!(header_of(&response, "content-security-policy").is_empty());
    }
    for missing in [
        "/assets/app-NOTBUILT.js".to_owned(),
        "/assets/app-NOTBUILT.css".to_owned(),
        format!("/assets/{script}.gz"),
        format!("/assets/{script}.br"),
        "/assets/../index.html".to_owned(),
        "/assets/".to_owned(),
        "/assets/index.html".to_owned(),
    ] {
        let response = get(&app, &missing, &[]).await;
        assert_eq!(response.status(), 404, "{missing}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_storefronts_routes_are_the_page_and_nothing_else_is() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let page = built("index.html");
    for path in [
        "/",
        "/restaurants/tandoor-hughes-1",
        "/restaurants/no-such-place",
        "/search?q=curry",
        "/cart",
        "/checkout",
        "/orders",
        "/orders/T3JkZXI6MQ",
        "/sign-in?next=%2Forders",
        "/sign-up",
        "/staff",
        "/staff/anything/deeper",
    ] {
        let response = get(&app, path, &[]).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header_of(&response, "cache-control"), "no-cache", "{path}");
        assert_eq!(response.bytes().await.unwrap(), page, "{path}");
    }
    // The API, GraphiQL, health and anything unknown keep their own answers.
    for (path, status) in [
        ("/graphql", 406),
        ("/graphql/ws", 400),
        ("/graphql/anything", 404),
        ("/graphiql/nope", 404),
        ("/health/live", 200),
        ("/health/nope", 404),
        ("/favicon.ico", 404),
        ("/index.html", 404),
        ("/robots.txt", 404),
        ("/restaurantsx", 404),
        ("/nope/restaurants", 404),
    ] {
        let response = get(&app, path, &[("accept", "text/html")]).await;
        assert_eq!(response.status(), status, "{path}");
        let body = response.bytes().await.unwrap();
        assert_ne!(body, page, "{path} must not be the storefront");
    }
    let graphiql = get(&app, "/graphiql", &[]).await;
    assert_eq!(graphiql.status(), 200);
    assert!(
        graphiql
            .text()
            .await
            .unwrap()
            .contains("<title>Bistro GraphiQL</title>")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_storefront_can_be_switched_off() {
    let app = TestApp::spawn_with(&StorePair::Embedded, |c| c.http.storefront = false).await;
    let (script, _) = assets();
    for path in ["/", "/cart", &format!("/assets/{script}")] {
        assert_eq!(get(&app, path, &[]).await.status(), 404, "{path}");
    }
    assert_eq!(get(&app, "/health/live", &[]).await.status(), 200);
    app.stop().await;
}

/// The storefront's operations, as it sends them, by name; remembers which were sent.
struct Storefront<'a> {
    app: &'a TestApp,
    documents: BTreeMap<String, String>,
    sent: Mutex<BTreeSet<String>>,
}

/// Every `…Document = new TypedDocumentString(`…`)` of the generated module.
pub(crate) fn storefront_documents() -> BTreeMap<String, String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../storefront/src/generated/graphql.ts"
    );
    let source = std::fs::read_to_string(path).unwrap();
    let mut documents = BTreeMap::new();
    for part in source.split("export const ").skip(1) {
        let Some((name, rest)) = part.split_once("Document = new TypedDocumentString(`") else {
            continue;
        };
        let document = rest.split('`').next().unwrap();
        documents.insert(name.to_owned(), document.to_owned());
    }
    documents
}

impl<'a> Storefront<'a> {
    fn new(app: &'a TestApp) -> Self {
        let documents = storefront_documents();
        assert!(documents.len() >= 20, "{:?}", documents.keys());
        Self {
            app,
            documents,
            sent: Mutex::new(BTreeSet::new()),
        }
    }

    fn document(&self, name: &str) -> &str {
        self.sent.lock().unwrap().insert(name.to_owned());
        self.documents
            .get(name)
            .unwrap_or_else(|| panic!("the storefront has no operation {name}"))
    }

    /// Sends the operation; asserts a 200 without errors; returns `data`.
    async fn run(&self, token: Option<&str>, name: &str, variables: Value) -> Value {
        let (status, body) = self
            .app
            .graphql_as(token, self.document(name), variables)
            .await;
        assert_eq!(status, 200, "[{}] {name}: {body:#}", self.app.pair.name());
        assert!(
            body.get("errors").is_none(),
            "[{}] {name}: {body:#}",
            self.app.pair.name()
        );
        body["data"].clone()
    }

    /// Like [`Self::run`], returning the whole body (for round-trip counts).
    async fn body(&self, token: Option<&str>, name: &str, variables: Value) -> Value {
        let (status, body) = self
            .app
            .graphql_as(token, self.document(name), variables)
            .await;
        assert_eq!(status, 200, "{name}: {body:#}");
        assert!(body.get("errors").is_none(), "{name}: {body:#}");
        body
    }

    /// Subscribes with the operation over a socket signed in as `token`.
    async fn subscribe(
        &self,
        token: Option<&str>,
        id: &str,
        name: &str,
        variables: Value,
    ) -> bistro_tests::ws::WsClient {
        let mut ws = self.app.ws().await;
        ws.init_as(token).await;
        ws.subscribe(id, self.document(name), variables).await;
        // Two round trips: the server has started the subscription.
        ws.round_trip().await;
        ws.round_trip().await;
        ws
    }
}

fn minor(amount: &Value) -> i64 {
    let text = amount.as_str().unwrap();
    let (whole, cents) = text.split_once('.').unwrap_or((text, "00"));
    whole.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap()
}

fn user_errors(payload: &Value) -> Vec<&str> {
    payload["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn every_storefront_operation_works_against_the_server() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let sf = Storefront::new(&app);
        let name = pair.name();

        // The first page, anonymous: cuisines, restaurants, no viewer.
        let home = sf.run(None, "Home", json!({ "signedIn": false })).await;
        let cuisines = home["cuisines"].as_array().unwrap();
        let names: Vec<&str> = cuisines
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "[{name}] cuisines by name");
        let counted: i64 = cuisines
            .iter()
            .map(|c| c["restaurantCount"].as_i64().unwrap())
            .sum();
        assert_eq!(counted, 12, "[{name}] every demo restaurant has a cuisine");
        assert!(home.get("me").is_none());
        let cuisine = names[0];
        let filtered = sf
            .run(
                None,
                "Home",
                json!({ "cuisine": cuisine, "signedIn": false }),
            )
            .await;
        let nodes = filtered["restaurants"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len() as i64, cuisines[0]["restaurantCount"]);
        assert!(nodes.iter().all(|r| r["cuisine"] == cuisine));
        let search = sf
            .run(
                None,
                "SearchMenu",
                json!({ "query": "chicken", "signedIn": false }),
            )
            .await;
        assert!(!search["searchMenu"]["nodes"].as_array().unwrap().is_empty());

        // Signing up, in, and the refresh token's rotation.
        let email = format!("sf-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = "a ship in port is safe";
        let registered = sf
            .run(
                None,
                "Register",
                json!({ "input": { "email": email, "password": password, "displayName": "Grace" } }),
            )
            .await;
        assert_eq!(
            registered["register"]["session"]["user"]["role"],
            "CUSTOMER"
        );
        let login = sf
            .run(
                None,
                "Login",
                json!({ "input": { "email": email, "password": password } }),
            )
            .await["login"]["session"]
            .clone();
        let first_refresh = login["refreshToken"].as_str().unwrap();
        let refreshed = sf
            .run(
                None,
                "RefreshSession",
                json!({ "input": { "refreshToken": first_refresh } }),
            )
            .await["refreshSession"]["session"]
            .clone();
        assert_ne!(refreshed["refreshToken"], login["refreshToken"]);
        let reused = sf
            .run(
                None,
                "RefreshSession",
                json!({ "input": { "refreshToken": first_refresh } }),
            )
            .await;
        assert_eq!(
            user_errors(&reused["refreshSession"]),
            ["REFRESH_TOKEN_REUSED"]
        );
        let session = sf
            .run(
                None,
                "Login",
                json!({ "input": { "email": email, "password": password } }),
            )
            .await["login"]["session"]
            .clone();
        let token = session["accessToken"].as_str().unwrap().to_owned();
        let me = Some(token.as_str());

        // The menu; a main with its options, and a starter.
        let menu = sf
            .run(
                me,
                "RestaurantMenu",
                json!({ "slug": "tandoor-hughes-1", "signedIn": true }),
            )
            .await;
        assert_eq!(menu["me"]["displayName"], "Grace");
        let restaurant_id = menu["restaurant"]["id"].as_str().unwrap().to_owned();
        let items = menu["restaurant"]["menu"]["nodes"].as_array().unwrap();
        let orderable = |i: &&Value| i["available"] == true && i["stockRemaining"] != 0;
        let main = items
            .iter()
            .filter(orderable)
            .find(|i| {
                i["course"] == "MAIN" && i["optionGroups"].as_array().is_some_and(|g| !g.is_empty())
            })
            .unwrap();
        let extra = main["optionGroups"][0]["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "Extra cheese")
            .unwrap()["id"]
            .clone();
        let starter = items
            .iter()
            .filter(orderable)
            .find(|i| i["course"] == "STARTER")
            .unwrap();
        let menu_watch = sf
            .subscribe(
                None,
                "m",
                "MenuAvailability",
                json!({ "restaurantId": restaurant_id }),
            )
            .await;

        // The cart.
        let add = |item: &Value, options: Value| json!({ "input": { "menuItemId": item["id"], "quantity": 1, "optionIds": options, "replaceCart": false } });
        let added = sf.run(me, "AddToCart", add(main, json!([extra]))).await;
        assert_eq!(user_errors(&added["addToCart"]), Vec::<&str>::new());
        let added = sf.run(me, "AddToCart", add(starter, json!([]))).await;
        let lines = added["addToCart"]["cart"]["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["options"][0]["name"], "Extra cheese");
        let starter_line = lines[1]["id"].clone();
        let updated = sf
            .run(
                me,
                "UpdateCartLine",
                json!({ "input": { "lineId": starter_line, "quantity": 3 } }),
            )
            .await;
        assert_eq!(updated["updateCartLine"]["cart"]["itemCount"], 4);
        let removed = sf
            .run(
                me,
                "RemoveCartLine",
                json!({ "input": { "lineId": starter_line } }),
            )
            .await;
        assert_eq!(removed["removeCartLine"]["cart"]["itemCount"], 1);
        let cart = sf.run(me, "Cart", json!({})).await["me"]["cart"].clone();
        let subtotal = minor(&cart["subtotal"]["amount"]);
        assert_eq!(minor(&cart["pickupTotal"]["amount"]), subtotal);
        assert_eq!(minor(&cart["dineInTotal"]["amount"]), subtotal);
        assert_eq!(
            minor(&cart["deliveryTotal"]["amount"]),
            subtotal + bistro_data::checkout::DELIVERY_FEE,
            "[{name}] the delivery fee"
        );

        // Staff open their board and its live feed.
        let staff = app.login("staff@bistro.test", DEMO_PASSWORD).await;
        let staff_token = staff["accessToken"].as_str().unwrap().to_owned();
        let board = sf.run(Some(&staff_token), "StaffBoard", json!({})).await;
        let workplaces: Vec<&str> = board["me"]["worksFor"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert!(
            workplaces.contains(&restaurant_id.as_str()),
            "{workplaces:?}"
        );
        let mut kitchen = sf
            .subscribe(
                Some(&staff_token),
                "k",
                "RestaurantOrders",
                json!({ "restaurantId": restaurant_id }),
            )
            .await;

        // Checkout: how cards are taken here (the simulated processor's test
        // cards, no Stripe.js), then declined, then paid.
        let form = sf.run(me, "PaymentForm", json!({})).await;
        assert_eq!(
            form["paymentForm"],
            json!({ "processor": "SIMULATED", "stripePublishableKey": null, "stripeJsUrl": null })
        );
        let checkout = |token: &str, key: &str| {
            json!({ "input": {
                "fulfilment": "PICKUP", "paymentToken": token, "idempotencyKey": key,
                "expectedTotal": cart["pickupTotal"]["amount"],
            } })
        };
        let declined = sf
            .run(me, "Checkout", checkout("tok_chargeDeclined", "sf-1"))
            .await;
        assert_eq!(user_errors(&declined["checkout"]), ["CARD_DECLINED"]);
        assert!(declined["checkout"]["order"].is_null());
        let still = sf.run(me, "Cart", json!({})).await;
        assert_eq!(
            still["me"]["cart"]["itemCount"], 1,
            "[{name}] the cart stays"
        );
        let placed = sf.run(me, "Checkout", checkout("tok_visa", "sf-1")).await["checkout"].clone();
        assert_eq!(user_errors(&placed), Vec::<&str>::new());
        let order_id = placed["order"]["id"].as_str().unwrap().to_owned();
        assert_eq!(placed["order"]["status"], "PLACED");
        let arrived = kitchen.next("k").await;
        let update = &arrived["data"]["restaurantOrders"];
        assert_eq!(
            (update["orderId"].as_str(), update["to"].as_str()),
            (Some(order_id.as_str()), Some("PLACED"))
        );
        assert_eq!(update["order"]["customer"]["displayName"], "Grace");
        let board = sf.run(Some(&staff_token), "StaffBoard", json!({})).await;
        let on_board = board["me"]["worksFor"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["placed"]["edges"].as_array().unwrap())
            .any(|e| e["node"]["id"] == order_id.as_str());
        assert!(on_board, "[{name}] the new order is on the board");

        // The customer follows the order; staff move it.
        let mut follow = sf
            .subscribe(me, "o", "OrderUpdates", json!({ "orderId": order_id }))
            .await;
        let accepted = sf
            .run(
                Some(&staff_token),
                "AdvanceOrder",
                json!({ "input": { "orderId": order_id, "to": "ACCEPTED" } }),
            )
            .await;
        assert_eq!(accepted["advanceOrder"]["order"]["status"], "ACCEPTED");
        let seen = follow.next("o").await;
        assert_eq!(seen["data"]["orderUpdated"]["to"], "ACCEPTED");
        assert_eq!(
            seen["data"]["orderUpdated"]["order"]["paymentStatus"],
            "CAPTURED"
        );
        let mine = sf.run(me, "MyOrders", json!({})).await;
        assert_eq!(
            mine["me"]["orders"]["edges"][0]["node"]["id"],
            order_id.as_str()
        );
        let detail = sf
            .run(
                me,
                "OrderDetail",
                json!({ "id": order_id, "signedIn": true }),
            )
            .await;
        assert_eq!(detail["node"]["status"], "ACCEPTED");
        assert_eq!(detail["node"]["events"].as_array().unwrap().len(), 2);

        // A second order, rejected with a reason; a third, cancelled by the customer.
        let order_again = async |key: &str| {
            sf.run(me, "AddToCart", add(main, json!([extra]))).await;
            let placed = sf.run(me, "Checkout", checkout("tok_visa", key)).await;
            placed["checkout"]["order"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let second = order_again("sf-2").await;
        let rejected = sf
            .run(
                Some(&staff_token),
                "RejectOrder",
                json!({ "input": { "orderId": second, "reason": "The tandoor is down" } }),
            )
            .await;
        assert_eq!(rejected["rejectOrder"]["order"]["status"], "REJECTED");
        let third = order_again("sf-3").await;
        let cancelled = sf
            .run(me, "CancelOrder", json!({ "input": { "orderId": third } }))
            .await;
        assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
        let detail = sf
            .run(me, "OrderDetail", json!({ "id": second, "signedIn": true }))
            .await;
        assert_eq!(
            detail["node"]["events"][1]["note"], "The tandoor is down",
            "[{name}]"
        );

        // The menu page hears an item switched off.
        let mut menu_watch = menu_watch;
        let (_, body) = app
            .graphql_as(
                Some(&staff_token),
                "mutation($id: ID!) { setMenuItemAvailability(input: { id: $id, available: false }) { userErrors { code } } }",
                json!({ "id": starter["id"] }),
            )
            .await;
        assert_eq!(
            body["data"]["setMenuItemAvailability"]["userErrors"],
            json!([])
        );
        let change = menu_watch.next("m").await;
        assert_eq!(
            change["data"]["menuItemAvailability"]["menuItemId"],
            starter["id"]
        );
        assert_eq!(change["data"]["menuItemAvailability"]["orderable"], false);

        // Signing out ends the session.
        let out = sf
            .run(
                me,
                "Logout",
                json!({ "input": { "refreshToken": session["refreshToken"] } }),
            )
            .await;
        assert_eq!(out["logout"]["loggedOut"], true);
        let (status, _) = app.graphql_as(me, "{ me { id } }", json!({})).await;
        assert_eq!(status, 401);

        let sent = sf.sent.lock().unwrap().clone();
        let all: BTreeSet<String> = sf.documents.keys().cloned().collect();
        assert_eq!(sent, all, "every storefront operation is sent by this test");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_staff_board_costs_the_same_for_one_restaurant_or_four() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let sf = Storefront::new(&app);
        let four = app.login("staff@bistro.test", DEMO_PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, one) = app
            .new_user("solo", bistro_sql::entity::UserRole::Staff, &[1])
            .await;
        // An open order on both boards, whatever the demo data has open at this hour.
        let (_, customer) = app.new_customer("board").await;
        crate::ordering::place_order(&app, &customer, 1, "PICKUP").await;
        let board_four = sf.body(Some(&four), "StaffBoard", json!({})).await;
        let board_one = sf.body(Some(&one), "StaffBoard", json!({})).await;
        assert_eq!(
            board_four["data"]["me"]["worksFor"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
        assert_eq!(
            board_one["data"]["me"]["worksFor"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            round_trips(&board_four),
            round_trips(&board_one),
            "[{}] batched across restaurants",
            pair.name()
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn works_for_is_the_accounts_own_and_empty_but_for_staff() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let query = "{ me { role worksFor { slug } } }";
        let staff = app.login("staff@bistro.test", DEMO_PASSWORD).await;
        let (_, body) = app
            .graphql_as(staff["accessToken"].as_str(), query, json!({}))
            .await;
        let slugs: Vec<&str> = body["data"]["me"]["worksFor"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["slug"].as_str().unwrap())
            .collect();
        // Staff member 0 of three works for restaurants 1, 4, 7 and 10.
        assert_eq!(slugs.len(), 4, "{body}");
        assert!(
            slugs[0].ends_with("-1") && slugs[3].ends_with("-10"),
            "{slugs:?}"
        );
        for email in ["customer@bistro.test", "admin@bistro.test"] {
            let session = app.login(email, DEMO_PASSWORD).await;
            let (_, body) = app
                .graphql_as(session["accessToken"].as_str(), query, json!({}))
                .await;
            assert_eq!(body["data"]["me"]["worksFor"], json!([]), "{email}");
        }
        // Another account's workplaces are not a customer's business.
        let staff_id = bistro_schema::ids::global_id(
            NodeType::User,
            bistro_sql::query::user_by_email(&app.app.db, "staff@bistro.test")
                .await
                .unwrap()
                .unwrap()
                .id,
        );
        let customer = app.login("customer@bistro.test", DEMO_PASSWORD).await;
        let (_, body) = app
            .graphql_as(
                customer["accessToken"].as_str(),
                "query($id: ID!) { node(id: $id) { ... on User { worksFor { slug } } } }",
                json!({ "id": staff_id.0 }),
            )
            .await;
        assert_eq!(body["data"]["node"]["worksFor"], Value::Null);
        assert_eq!(bistro_tests::error_codes(&body), ["FORBIDDEN"]);
        app.stop().await;
    }
}

#[tokio::test]
async fn cuisines_follow_the_restaurants() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let data = app
            .data(
                "{ cuisines { name restaurantCount } restaurants(first: 100) { nodes { cuisine } } }",
                json!({}),
            )
            .await;
        let mut expected: BTreeMap<String, i64> = BTreeMap::new();
        for r in data["restaurants"]["nodes"].as_array().unwrap() {
            *expected
                .entry(r["cuisine"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        let got: BTreeMap<String, i64> = data["cuisines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["restaurantCount"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, expected, "[{}]", pair.name());
        app.stop().await;
    }
}
