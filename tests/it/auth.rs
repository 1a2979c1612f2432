//! Accounts, sessions and authorization, on both store pairs: registration
//! and its user errors, tokens (expired, tampered, foreign, reused), logout,
//! the authorization matrix, menu management without stale caches, and the
//! operator's `bistro user create`.

use std::time::Duration;

use bistro_auth::{AccessClaims, Role, TokenKeys};
use bistro_schema::ids::NodeType;
use bistro_sql::entity::{Fulfilment, OrderStatus, PaymentStatus, order};
use bistro_tests::{
    DEMO_PASSWORD, StorePair, TEST_TOKEN_SECRET, TestApp, error_codes, round_trips, store_pairs,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

const CUSTOMER_A: &str = "customer@bistro.test";
const CUSTOMER_B: &str = "customer1@bistro.test";
/// Works for restaurants 1, 4, 7 and 10 of the demo data.
const STAFF_1: &str = "staff@bistro.test";
/// Works for restaurants 2, 5, 8 and 11.
const STAFF_2: &str = "staff1@bistro.test";
const ADMIN: &str = "admin@bistro.test";

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { \
    session { accessToken refreshToken user { id displayName } } \
    userErrors { field code message } } }";
const REFRESH: &str = "mutation($token: String!) { refreshSession(input: { refreshToken: $token }) { \
    session { accessToken refreshToken } userErrors { field code message } } }";
const ME: &str = "{ me { id email displayName role } }";

fn user_error_codes(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn registration_validates_input_with_user_errors() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let register = |email: &str, password: &str, name: &str| json!({ "input": { "email": email, "password": password, "displayName": name } });
        let cases = [
            (
                register("ada@example.com", "short", "Ada"),
                vec!["PASSWORD_TOO_SHORT"],
            ),
            (
                register("ada@example.com", &"long password ".repeat(20), "Ada"),
                vec!["PASSWORD_TOO_LONG"],
            ),
            (
                register("ada@example.com", "password123", "Ada"),
                vec!["PASSWORD_TOO_WEAK"],
            ),
            (
                register("not an email", "correct horse battery", "Ada"),
                vec!["EMAIL_INVALID"],
            ),
            (
                register("ada@example.com", "correct horse battery", "  "),
                vec!["DISPLAY_NAME_INVALID"],
            ),
            // Direction overrides and zero-width characters, not only controls.
            (
                register(
                    "ada@example.com",
                    "correct horse battery",
                    "Ada\u{202E}nimda",
                ),
                vec!["DISPLAY_NAME_INVALID"],
            ),
            (
                register("ada@example.com", "correct horse battery", "\u{2067}Ada"),
                vec!["DISPLAY_NAME_INVALID"],
            ),
            (
                register("ada@example.com", "correct horse battery", "Ad\u{200B}a"),
                vec!["DISPLAY_NAME_INVALID"],
            ),
            (
                register("ada@example.com", "correct horse battery", "Ada\nLovelace"),
                vec!["DISPLAY_NAME_INVALID"],
            ),
            (
                register(CUSTOMER_A, "correct horse battery", "Ada"),
                vec!["EMAIL_TAKEN"],
            ),
            (
                register(&CUSTOMER_A.to_uppercase(), "correct horse battery", "Ada"),
                vec!["EMAIL_TAKEN"],
            ),
            (
                register("bad", "x", ""),
                vec![
                    "EMAIL_INVALID",
                    "DISPLAY_NAME_INVALID",
                    "PASSWORD_TOO_SHORT",
                ],
            ),
        ];
        for (variables, expected) in cases {
            let (status, body) = app.graphql(REGISTER, variables.clone()).await;
            assert_eq!(status, 200, "[{}] {variables}: {body:#}", pair.name());
            assert!(body.get("errors").is_none(), "{body:#}");
            let payload = &body["data"]["register"];
            assert_eq!(payload["session"], Value::Null);
            assert_eq!(
                user_error_codes(payload),
                expected,
                "[{}] {variables}",
                pair.name()
            );
            assert!(
                payload["userErrors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }

        let data = app
            .data(
                REGISTER,
                register(" Ada@Example.com ", "correct horse battery", "Ada L."),
            )
            .await;
        let session = &data["register"]["session"];
        assert_eq!(session["user"]["displayName"], "Ada L.");
        // The request that registered was anonymous; the new token speaks from the next one.
        let token = session["accessToken"].as_str().unwrap();
        let (_, me) = app.graphql_as(Some(token), ME, json!({})).await;
        assert_eq!(me["data"]["me"]["email"], "ada@example.com");
        assert_eq!(me["data"]["me"]["role"], "CUSTOMER");

        // The new password signs in; wrong passwords and unknown emails get the same answer.
        app.login("ada@example.com", "correct horse battery").await;
        for (email, password) in [
            ("ada@example.com", "wrong horse battery"),
            ("nobody@example.com", "correct horse battery"),
            ("not an email", "correct horse battery"),
            ("ada@example.com", &"x".repeat(10_000)),
        ] {
            let data = app
                .data(
                    "mutation($input: LoginInput!) { login(input: $input) { session { accessToken } userErrors { code } } }",
                    json!({ "input": { "email": email, "password": password } }),
                )
                .await;
            assert_eq!(data["login"]["session"], Value::Null);
            assert_eq!(user_error_codes(&data["login"]), ["INVALID_CREDENTIALS"]);
        }
        app.stop().await;
    }
}

fn keys() -> TokenKeys {
    TokenKeys::new(TEST_TOKEN_SECRET.as_bytes(), Duration::from_secs(900)).unwrap()
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated_and_no_token_is_anonymous() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (status, body) = app.graphql_as(None, ME, json!({})).await;
        assert_eq!(
            (status, &body["data"]["me"]),
            (200, &Value::Null),
            "{body:#}"
        );
        assert!(body.get("errors").is_none());

        let session = app.login(CUSTOMER_A, DEMO_PASSWORD).await;
        let token = session["accessToken"].as_str().unwrap();
        let (status, body) = app.graphql_as(Some(token), ME, json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["me"]["email"], CUSTOMER_A);
        // The demo customer has an open cart (seeded in the key-value store).
        let data = app
            .graphql_as(Some(token), "{ me { cart { restaurant { name } itemCount subtotal { amount currencyCode } lines { quantity menuItem { name } } } } }", json!({}))
            .await
            .1;
        let cart = &data["data"]["me"]["cart"];
        assert!(
            cart["itemCount"].as_i64().unwrap() >= 1,
            "[{}] {data:#}",
            pair.name()
        );
        assert!(cart["restaurant"]["name"].is_string());
        assert!(cart["subtotal"]["amount"].is_string());
        assert!(cart["lines"][0]["menuItem"]["name"].is_string());

        let claims: AccessClaims = keys().verify(token).unwrap();
        let expired = keys().sign(&AccessClaims {
            exp: chrono::Utc::now().timestamp() - 60,
            ..claims.clone()
        });
        let promoted = keys().sign(&AccessClaims {
            role: Role::Admin,
            ..claims.clone()
        });
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            promoted.split('.').nth(1).unwrap(),
            parts[2]
        );
        let foreign = TokenKeys::new(&[42u8; 48], Duration::from_secs(900))
            .unwrap()
            .sign(&claims);
        for (name, bad) in [
            ("expired", expired.as_str()),
            ("tampered", tampered.as_str()),
            ("signed with another key", foreign.as_str()),
            ("garbage", "not-a-token"),
        ] {
            let (status, body) = app.graphql_as(Some(bad), ME, json!({})).await;
            assert_eq!(status, 401, "[{}] {name}: {body:#}", pair.name());
            assert_eq!(error_codes(&body), ["UNAUTHENTICATED"], "{name}");
            assert!(body.get("data").is_none(), "{name}");
        }
        let response = app
            .client()
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .header("authorization", "Basic dXNlcjpwYXNz")
            .body(json!({ "query": ME }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_ends_the_session() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let first = app.login(CUSTOMER_B, DEMO_PASSWORD).await;
        let first_refresh = first["refreshToken"].as_str().unwrap();

        let data = app.data(REFRESH, json!({ "token": first_refresh })).await;
        let second = data["refreshSession"]["session"].clone();
        assert_eq!(data["refreshSession"]["userErrors"], json!([]));
        let second_access = second["accessToken"].as_str().unwrap();
        let second_refresh = second["refreshToken"].as_str().unwrap();
        assert_ne!(second_refresh, first_refresh);
        let (status, me) = app.graphql_as(Some(second_access), ME, json!({})).await;
        assert_eq!(
            (status, me["data"]["me"]["email"].as_str()),
            (200, Some(CUSTOMER_B))
        );

        // The rotated token again: a copy is loose. The whole session ends.
        let data = app.data(REFRESH, json!({ "token": first_refresh })).await;
        assert_eq!(
            user_error_codes(&data["refreshSession"]),
            ["REFRESH_TOKEN_REUSED"]
        );
        let data = app.data(REFRESH, json!({ "token": second_refresh })).await;
        assert_eq!(
            user_error_codes(&data["refreshSession"]),
            ["REFRESH_TOKEN_INVALID"]
        );
        let (status, body) = app.graphql_as(Some(second_access), ME, json!({})).await;
        assert_eq!(
            status, 401,
            "access tokens of a revoked session are refused: {body:#}"
        );

        let data = app.data(REFRESH, json!({ "token": "garbage" })).await;
        assert_eq!(
            user_error_codes(&data["refreshSession"]),
            ["REFRESH_TOKEN_INVALID"]
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn logout_ends_the_session() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let logout = "mutation($input: LogoutInput!) { logout(input: $input) { loggedOut userErrors { code } } }";
        let (_, body) = app.graphql(logout, json!({ "input": {} })).await;
        assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);

        let session = app.login(CUSTOMER_A, DEMO_PASSWORD).await;
        let access = session["accessToken"].as_str().unwrap();
        let refresh = session["refreshToken"].as_str().unwrap();
        let other = app.login(CUSTOMER_A, DEMO_PASSWORD).await;
        let (status, body) = app
            .graphql_as(Some(access), logout, json!({ "input": {} }))
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["logout"]["loggedOut"], true);
        let (status, _) = app.graphql_as(Some(access), ME, json!({})).await;
        assert_eq!(status, 401);
        let data = app.data(REFRESH, json!({ "token": refresh })).await;
        assert_eq!(
            user_error_codes(&data["refreshSession"]),
            ["REFRESH_TOKEN_INVALID"]
        );
        // Another session of the same account is untouched.
        let (status, _) = app
            .graphql_as(other["accessToken"].as_str(), ME, json!({}))
            .await;
        assert_eq!(status, 200);
        // Logging out by refresh token, without an access token.
        let data = app
            .data(
                logout,
                json!({ "input": { "refreshToken": other["refreshToken"] } }),
            )
            .await;
        assert_eq!(data["logout"]["loggedOut"], true);
        let (status, _) = app
            .graphql_as(other["accessToken"].as_str(), ME, json!({}))
            .await;
        assert_eq!(status, 401);
        app.stop().await;
    }
}

const LOGOUT: &str = "mutation($input: LogoutInput!) { logout(input: $input) { \
    loggedOut userErrors { field code } } }";

/// The session id every access token carries (claim `sid`).
fn session_id_of(access_token: &str) -> String {
    keys().verify(access_token).unwrap().sid
}

/// Refresh tokens someone who read a session id out of an access token can
/// make: the id alone, with a random secret of the right shape, and with the
/// secret of another session.
fn forged_refresh_tokens(session_id: &str, other_refresh_token: &str) -> Vec<String> {
    use base64::Engine as _;
    let random = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 40]);
    vec![
        session_id.to_owned(),
        format!("{session_id}.{random}"),
        format!(
            "{session_id}.{}",
            other_refresh_token.split_once('.').unwrap().1
        ),
    ]
}

#[tokio::test]
async fn a_session_id_without_the_token_secret_neither_ends_nor_refreshes_a_session() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let session = app.login(CUSTOMER_A, DEMO_PASSWORD).await;
        let access = session["accessToken"].as_str().unwrap();
        let refresh = session["refreshToken"].as_str().unwrap();
        let other = app.login(CUSTOMER_B, DEMO_PASSWORD).await;
        let session_id = session_id_of(access);

        for forged in forged_refresh_tokens(&session_id, other["refreshToken"].as_str().unwrap()) {
            let data = app
                .data(LOGOUT, json!({ "input": { "refreshToken": forged } }))
                .await;
            assert_eq!(
                data["logout"]["loggedOut"],
                false,
                "[{}] {forged}",
                pair.name()
            );
            assert_eq!(
                user_error_codes(&data["logout"]),
                ["REFRESH_TOKEN_INVALID"],
                "[{}] logout with {forged}",
                pair.name()
            );
            // Not taken for reuse either: a guess must not end a session.
            let data = app.data(REFRESH, json!({ "token": forged })).await;
            assert_eq!(
                user_error_codes(&data["refreshSession"]),
                ["REFRESH_TOKEN_INVALID"],
                "[{}] refresh with {forged}",
                pair.name()
            );
            let (status, body) = app.graphql_as(Some(access), ME, json!({})).await;
            assert_eq!(
                (status, body["data"]["me"]["email"].as_str()),
                (200, Some(CUSTOMER_A)),
                "[{}] the session survives {forged}",
                pair.name()
            );
        }

        // The real token still refreshes; the replaced one is now reuse.
        let data = app.data(REFRESH, json!({ "token": refresh })).await;
        assert_eq!(data["refreshSession"]["userErrors"], json!([]));
        let data = app.data(REFRESH, json!({ "token": refresh })).await;
        assert_eq!(
            user_error_codes(&data["refreshSession"]),
            ["REFRESH_TOKEN_REUSED"]
        );
        let (status, _) = app.graphql_as(Some(access), ME, json!({})).await;
        assert_eq!(status, 401, "[{}] reuse ended the session", pair.name());
        // The other account's session was never touched.
        let (status, _) = app
            .graphql_as(other["accessToken"].as_str(), ME, json!({}))
            .await;
        assert_eq!(status, 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn an_access_token_naming_another_users_session_is_refused() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let a = app.login(CUSTOMER_A, DEMO_PASSWORD).await;
        let b = app.login(CUSTOMER_B, DEMO_PASSWORD).await;
        let a_claims = keys().verify(a["accessToken"].as_str().unwrap()).unwrap();
        let b_session = session_id_of(b["accessToken"].as_str().unwrap());

        // Correctly signed (the signing key leaked, or a bug issued it), but
        // A's identity on B's live session.
        let crossed = keys().sign(&AccessClaims {
            sid: b_session,
            ..a_claims.clone()
        });
        let (status, body) = app.graphql_as(Some(&crossed), ME, json!({})).await;
        assert_eq!(status, 401, "[{}] {body:#}", pair.name());
        assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);

        // The same claims on A's own session are accepted.
        let own = keys().sign(&a_claims);
        let (status, body) = app.graphql_as(Some(&own), ME, json!({})).await;
        assert_eq!(
            (status, body["data"]["me"]["email"].as_str()),
            (200, Some(CUSTOMER_A))
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn session_ids_and_refresh_tokens_never_reach_the_log() {
    for pair in store_pairs() {
        let logs = bistro_tests::logs::capture();
        let app = TestApp::spawn(&pair).await;
        let session = app.login(CUSTOMER_A, DEMO_PASSWORD).await;
        let access = session["accessToken"].as_str().unwrap();
        let first = session["refreshToken"].as_str().unwrap();
        let session_id = session_id_of(access);
        let other = app.login(CUSTOMER_A, DEMO_PASSWORD).await;
        let other_access = other["accessToken"].as_str().unwrap();
        for forged in forged_refresh_tokens(&session_id, other["refreshToken"].as_str().unwrap()) {
            app.data(LOGOUT, json!({ "input": { "refreshToken": forged } }))
                .await;
        }
        let data = app.data(REFRESH, json!({ "token": first })).await;
        let second = data["refreshSession"]["session"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let data = app.data(REFRESH, json!({ "token": first })).await;
        assert_eq!(
            user_error_codes(&data["refreshSession"]),
            ["REFRESH_TOKEN_REUSED"]
        );
        app.graphql_as(Some(other_access), LOGOUT, json!({ "input": {} }))
            .await;
        app.stop().await;

        let text = logs.text();
        assert!(
            text.contains("refresh token reuse: session revoked"),
            "[{}] the reuse is logged",
            pair.name()
        );
        for secret in [
            session_id.as_str(),
            session_id_of(other_access).as_str(),
            first.split_once('.').unwrap().1,
            second.split_once('.').unwrap().1,
        ] {
            assert!(
                !text.contains(secret),
                "[{}] {secret} was logged:\n{text}",
                pair.name()
            );
        }
    }
}

/// What a cell of the matrix expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Forbidden,
    Unauthenticated,
    /// Null without an error, as if it did not exist (orders outsiders may not see).
    Hidden,
    /// Null with `NOT_FOUND`, word for word the answer for an id that does
    /// not exist (`_entities`, where an unknown id is an error of its index).
    NotFound,
}
use Expect::{Allowed as A, Forbidden as F, Hidden as H, NotFound as N, Unauthenticated as U};

/// One row of the matrix: what, the document, its variables, the guarded
/// field's path in `data`, and the expectation for each viewer.
type Cell = (
    &'static str,
    &'static str,
    Value,
    Vec<&'static str>,
    [Expect; 6],
);

/// The viewers of the matrix, in column order.
const VIEWERS: [Option<&str>; 6] = [
    None,
    Some(CUSTOMER_A),
    Some(CUSTOMER_B),
    Some(STAFF_1),
    Some(STAFF_2),
    Some(ADMIN),
];

/// Global id as the API encodes it.
fn global_id(kind: NodeType, id: i64) -> String {
    bistro_schema::ids::global_id(kind, id).0
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    bistro_sql::query::user_by_email(&app.app.db, email)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// An order of customer A at restaurant 1, the matrix's subject.
async fn order_of_customer_a_at_restaurant_1(app: &TestApp) -> i64 {
    let customer = user_id(app, CUSTOMER_A).await;
    let now = chrono::Utc::now();
    let order = order::ActiveModel {
        user_id: Set(customer),
        restaurant_id: Set(1),
        status: Set(OrderStatus::Placed),
        payment_status: Set(PaymentStatus::Authorized),
        fulfilment: Set(Fulfilment::Pickup),
        table_number: Set(None),
        delivery_address: Set(None),
        subtotal_amount: Set(1200),
        total_amount: Set(1200),
        currency_code: Set("EUR".into()),
        idempotency_key: Set(uuid::Uuid::new_v4().to_string()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.app.db)
    .await
    .unwrap();
    order.id
}

/// A menu item of restaurant 1.
async fn item_of_restaurant_1(app: &TestApp) -> i64 {
    bistro_sql::query::menu_pages(
        &app.app.db,
        &[1],
        &bistro_sql::query::MenuPageArgs {
            course: None,
            window: bistro_sql::query::PageWindow {
                after: None,
                before: None,
                limit: 1,
                backward: false,
            },
        },
    )
    .await
    .unwrap()[0]
        .id
}

#[tokio::test]
async fn the_authorization_matrix() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let mut tokens = Vec::new();
        for viewer in VIEWERS {
            tokens.push(match viewer {
                None => None,
                Some(email) => Some(
                    app.login(email, DEMO_PASSWORD).await["accessToken"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                ),
            });
        }
        let customer_a = global_id(NodeType::User, user_id(&app, CUSTOMER_A).await);
        let staff_1 = global_id(NodeType::User, user_id(&app, STAFF_1).await);
        let order_a = global_id(
            NodeType::Order,
            order_of_customer_a_at_restaurant_1(&app).await,
        );
        let item = global_id(NodeType::MenuItem, item_of_restaurant_1(&app).await);
        // Orders of customer A placed through checkout (their payments are
        // real authorizations), one per lifecycle mutation of the matrix.
        let token_a = tokens[1].clone().unwrap();
        let to_advance = crate::ordering::place_order(&app, &token_a, 1, "PICKUP").await;
        let to_reject = crate::ordering::place_order(&app, &token_a, 1, "PICKUP").await;
        let to_cancel = crate::ordering::place_order(&app, &token_a, 1, "PICKUP").await;
        let review_a = {
            let customer = user_id(&app, CUSTOMER_A).await;
            let mut written = None;
            for restaurant_id in 1..=12 {
                let new = bistro_sql::write::NewReview {
                    user_id: customer,
                    restaurant_id,
                    rating: 4,
                    body: "Written for the matrix".into(),
                };
                if let Ok(review) = bistro_sql::write::create_review(&app.app.db, new).await {
                    written = Some(review.id);
                    break;
                }
            }
            global_id(
                NodeType::Review,
                written.expect("a restaurant customer A has not reviewed"),
            )
        };
        let restaurant_1 = global_id(NodeType::Restaurant, 1);
        let slug_1 = bistro_sql::query::restaurants_by_ids(&app.app.db, &[1])
            .await
            .unwrap()[0]
            .slug
            .clone();

        let cells: Vec<Cell> = vec![
            (
                "a user's email",
                "query($id: ID!) { node(id: $id) { ... on User { email } } }",
                json!({ "id": customer_a }),
                vec!["node", "email"],
                [U, A, F, F, F, A],
            ),
            (
                "a user's role",
                "query($id: ID!) { node(id: $id) { ... on User { role } } }",
                json!({ "id": customer_a }),
                vec!["node", "role"],
                [U, A, F, F, F, A],
            ),
            (
                "a user's orders",
                "query($id: ID!) { node(id: $id) { ... on User { orders(first: 5) { edges { node { id } } } } } }",
                json!({ "id": customer_a }),
                vec!["node", "orders"],
                [U, A, F, F, F, A],
            ),
            (
                "a user's workplaces",
                "query($id: ID!) { node(id: $id) { ... on User { worksFor { id } } } }",
                json!({ "id": staff_1 }),
                vec!["node", "worksFor"],
                [U, F, F, A, F, A],
            ),
            (
                "an order",
                "query($id: ID!) { node(id: $id) { ... on Order { status total { amount } } } }",
                json!({ "id": order_a }),
                vec!["node"],
                [H, A, H, A, H, A],
            ),
            (
                "an order's lines",
                "query($id: ID!) { node(id: $id) { ... on Order { lines { name } } } }",
                json!({ "id": order_a }),
                vec!["node"],
                [H, A, H, A, H, A],
            ),
            (
                "an order's customer's email",
                "query($id: ID!) { node(id: $id) { ... on Order { customer { email } } } }",
                json!({ "id": order_a }),
                vec!["node", "customer", "email"],
                [H, A, H, F, H, A],
            ),
            (
                "an order, as an entity",
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { status total { amount } } } }",
                json!({ "r": [{ "__typename": "Order", "id": order_a }] }),
                vec!["_entities", "0"],
                [N, A, N, A, N, A],
            ),
            (
                "an order's lines, as an entity",
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { lines { name } } } }",
                json!({ "r": [{ "__typename": "Order", "id": order_a }] }),
                vec!["_entities", "0"],
                [N, A, N, A, N, A],
            ),
            (
                "an order's payment, as an entity",
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { payment { status amount { amount } } } } }",
                json!({ "r": [{ "__typename": "Order", "id": order_a }] }),
                vec!["_entities", "0"],
                [N, A, N, A, N, A],
            ),
            (
                "an order's customer's email, as an entity",
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { customer { email } } } }",
                json!({ "r": [{ "__typename": "Order", "id": order_a }] }),
                vec!["_entities", "0", "customer", "email"],
                [N, A, N, F, N, A],
            ),
            (
                "a user's email, as an entity",
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { email } } }",
                json!({ "r": [{ "__typename": "User", "id": customer_a }] }),
                vec!["_entities", "0", "email"],
                [U, A, F, F, F, A],
            ),
            (
                "a user's orders, as an entity",
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { orders(first: 5) { edges { node { id } } } } } }",
                json!({ "r": [{ "__typename": "User", "id": customer_a }] }),
                vec!["_entities", "0", "orders"],
                [U, A, F, F, F, A],
            ),
            (
                "a restaurant's orders, as an entity",
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on Restaurant { orders(first: 5) { edges { node { id } } } } } }",
                json!({ "r": [{ "__typename": "Restaurant", "id": restaurant_1 }] }),
                vec!["_entities", "0", "orders"],
                [U, F, F, A, F, A],
            ),
            (
                "a restaurant's orders",
                "query($slug: String!) { restaurant(slug: $slug) { orders(first: 5) { edges { node { id } } } } }",
                json!({ "slug": slug_1 }),
                vec!["restaurant", "orders"],
                [U, F, F, A, F, A],
            ),
            (
                "an order's events",
                "query($id: ID!) { node(id: $id) { ... on Order { events { from to by } } } }",
                json!({ "id": order_a }),
                vec!["node"],
                [H, A, H, A, H, A],
            ),
            (
                "an order's payment",
                "query($id: ID!) { node(id: $id) { ... on Order { payment { status reference amount { amount } } } } }",
                json!({ "id": order_a }),
                vec!["node"],
                [H, A, H, A, H, A],
            ),
            (
                "an order's line options",
                "query($id: ID!) { node(id: $id) { ... on Order { lines { options { group name } } } } }",
                json!({ "id": to_advance }),
                vec!["node"],
                [H, A, H, A, H, A],
            ),
            (
                "advanceOrder",
                "mutation($id: ID!) { advanceOrder(input: { orderId: $id, to: ACCEPTED }) { order { id status events { to } payment { status } } userErrors { code } } }",
                json!({ "id": to_advance }),
                vec!["advanceOrder", "order"],
                [U, F, H, A, H, A],
            ),
            (
                "rejectOrder",
                "mutation($id: ID!) { rejectOrder(input: { orderId: $id, reason: \"Closed\" }) { order { id status lines { name } } userErrors { code } } }",
                json!({ "id": to_reject }),
                vec!["rejectOrder", "order"],
                [U, F, H, A, H, A],
            ),
            (
                "cancelOrder",
                "mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { order { id status deliveryAddress } userErrors { code } } }",
                json!({ "id": to_cancel }),
                vec!["cancelOrder", "order"],
                [U, A, H, F, H, A],
            ),
            (
                "addToCart",
                "mutation($id: ID!) { addToCart(input: { menuItemId: $id, replaceCart: true }) { cart { itemCount } userErrors { code } } }",
                json!({ "id": item }),
                vec!["addToCart"],
                [U, A, A, A, A, A],
            ),
            (
                "checkout",
                "mutation { checkout(input: { fulfilment: PICKUP, paymentToken: \"tok_visa\", idempotencyKey: \"matrix\", expectedTotal: \"0.00\" }) { order { id } userErrors { code } } }",
                json!({}),
                vec!["checkout"],
                [U, A, A, A, A, A],
            ),
            (
                "writeReview",
                "mutation($r: ID!) { writeReview(input: { restaurantId: $r, rating: 5, body: \"Matrix\" }) { review { id } userErrors { code } } }",
                json!({ "r": restaurant_1 }),
                vec!["writeReview"],
                [U, A, A, A, A, A],
            ),
            (
                "updateReview",
                "mutation($id: ID!) { updateReview(input: { reviewId: $id, rating: 3 }) { review { id } userErrors { code } } }",
                json!({ "id": review_a }),
                vec!["updateReview"],
                [U, A, F, F, F, A],
            ),
            (
                "createMenuItem",
                "mutation($r: ID!) { createMenuItem(input: { restaurantId: $r, name: \"Matrix Soup\", price: \"4.50\", course: STARTER }) { menuItem { id } userErrors { code } } }",
                json!({ "r": restaurant_1 }),
                vec!["createMenuItem"],
                [U, F, F, A, F, A],
            ),
            (
                "updateMenuItem",
                "mutation($id: ID!) { updateMenuItem(input: { id: $id, description: \"Updated by the matrix\" }) { menuItem { id } userErrors { code } } }",
                json!({ "id": item }),
                vec!["updateMenuItem"],
                [U, F, F, A, F, A],
            ),
            (
                "setMenuItemAvailability",
                "mutation($id: ID!) { setMenuItemAvailability(input: { id: $id, available: true }) { menuItem { id } userErrors { code } } }",
                json!({ "id": item }),
                vec!["setMenuItemAvailability"],
                [U, F, F, A, F, A],
            ),
        ];
        let mut failures = Vec::new();
        for (what, document, variables, path, expectations) in &cells {
            for (column, expect) in expectations.iter().enumerate() {
                let viewer = VIEWERS[column].unwrap_or("anonymous");
                let (status, body) = app
                    .graphql_as(tokens[column].as_deref(), document, variables.clone())
                    .await;
                let mut value = &body["data"];
                for key in path {
                    value = match key.parse::<usize>() {
                        Ok(index) => &value[index],
                        Err(_) => &value[*key],
                    };
                }
                let got = match (error_codes(&body).first().map(String::as_str), value) {
                    (None, v) if !v.is_null() => A,
                    (None, Value::Null) => H,
                    (Some("FORBIDDEN"), Value::Null) => F,
                    (Some("UNAUTHENTICATED"), Value::Null) => U,
                    (Some("NOT_FOUND"), Value::Null) => N,
                    _ => {
                        failures.push(format!("{what} as {viewer}: unexpected {status} {body}"));
                        continue;
                    }
                };
                if status != 200 || got != *expect {
                    failures.push(format!(
                        "{what} as {viewer}: expected {expect:?}, got {got:?} ({status})"
                    ));
                }
                // A refused field is present and null, and its error points at it.
                if got != A && got != H {
                    let error_path: Vec<String> = body["errors"][0]["path"]
                        .as_array()
                        .unwrap_or_else(|| {
                            panic!("{what} as {viewer}: error without a path: {body}")
                        })
                        .iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect();
                    assert!(
                        error_path.starts_with(&[path[0].to_owned()]),
                        "{what}: {body}"
                    );
                }
            }
        }
        assert!(
            failures.is_empty(),
            "[{}]\n{}",
            pair.name(),
            failures.join("\n")
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn menu_edits_are_visible_to_the_next_read() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let token = app.login(STAFF_1, DEMO_PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let slug = bistro_sql::query::restaurants_by_ids(&app.app.db, &[1])
            .await
            .unwrap()[0]
            .slug
            .clone();
        let read = "query($slug: String!) { restaurant(slug: $slug) { menu(first: 50) { edges { node { id name available price { amount } } } } } }";
        let menu = |body: &Value| {
            body["data"]["restaurant"]["menu"]["edges"]
                .as_array()
                .unwrap()
                .clone()
        };
        let (_, first) = app.graphql(read, json!({ "slug": slug })).await;
        let (_, cached) = app.graphql(read, json!({ "slug": slug })).await;
        // The second read is served by the shared menu cache: one statement fewer.
        assert_eq!(
            round_trips(&first).0,
            round_trips(&cached).0 + 1,
            "[{}]",
            pair.name()
        );
        let item_id = menu(&cached)[0]["node"]["id"].as_str().unwrap().to_owned();

        let update = "mutation($input: UpdateMenuItemInput!) { updateMenuItem(input: $input) { menuItem { name price { amount currencyCode } dailyStock } userErrors { field code } } }";
        let (_, body) = app
            .graphql_as(Some(&token), update, json!({ "input": { "id": item_id, "name": "Renamed Dish", "price": "9.90", "dailyStock": 12 } }))
            .await;
        assert_eq!(
            body["data"]["updateMenuItem"]["userErrors"],
            json!([]),
            "{body:#}"
        );
        assert_eq!(
            body["data"]["updateMenuItem"]["menuItem"]["name"],
            "Renamed Dish"
        );
        assert_eq!(
            body["data"]["updateMenuItem"]["menuItem"]["price"]["amount"],
            "9.90"
        );
        let (_, after) = app.graphql(read, json!({ "slug": slug })).await;
        assert_eq!(
            menu(&after)[0]["node"]["name"],
            "Renamed Dish",
            "[{}] no stale cache",
            pair.name()
        );
        assert_eq!(menu(&after)[0]["node"]["price"]["amount"], "9.90");

        // Explicit null clears the daily stock; omitted fields stay.
        let (_, body) = app
            .graphql_as(
                Some(&token),
                update,
                json!({ "input": { "id": item_id, "dailyStock": null } }),
            )
            .await;
        assert_eq!(
            body["data"]["updateMenuItem"]["menuItem"]["dailyStock"],
            Value::Null
        );
        assert_eq!(
            body["data"]["updateMenuItem"]["menuItem"]["name"],
            "Renamed Dish"
        );

        let set = "mutation($id: ID!) { setMenuItemAvailability(input: { id: $id, available: false }) { menuItem { available } } }";
        app.graphql_as(Some(&token), set, json!({ "id": item_id }))
            .await;
        let (_, after) = app.graphql(read, json!({ "slug": slug })).await;
        assert_eq!(menu(&after)[0]["node"]["available"], false);

        let create = "mutation($input: CreateMenuItemInput!) { createMenuItem(input: $input) { menuItem { name course dietary price { amount currencyCode } } userErrors { field code } } }";
        let (_, body) = app
            .graphql_as(
                Some(&token),
                create,
                json!({ "input": {
                "restaurantId": global_id(NodeType::Restaurant, 1), "name": "Brand New Tart",
                "price": "6", "course": "DESSERT", "dietary": ["VEGAN", "VEGAN"] } }),
            )
            .await;
        assert_eq!(
            body["data"]["createMenuItem"]["userErrors"],
            json!([]),
            "{body:#}"
        );
        assert_eq!(
            body["data"]["createMenuItem"]["menuItem"]["dietary"],
            json!(["VEGAN"])
        );
        assert_eq!(
            body["data"]["createMenuItem"]["menuItem"]["price"]["amount"],
            "6.00"
        );
        let (_, after) = app.graphql(read, json!({ "slug": slug })).await;
        assert_eq!(
            menu(&after).last().unwrap()["node"]["name"],
            "Brand New Tart"
        );

        // Validation: user errors, nothing written.
        let (_, body) = app
            .graphql_as(
                Some(&token),
                create,
                json!({ "input": {
                "restaurantId": global_id(NodeType::Restaurant, 1), "name": " ",
                "price": "1.999", "course": "MAIN", "dailyStock": -1 } }),
            )
            .await;
        let codes = user_error_codes(&body["data"]["createMenuItem"]);
        assert_eq!(
            codes,
            ["NAME_REQUIRED", "PRICE_INVALID", "DAILY_STOCK_INVALID"],
            "{body:#}"
        );
        // Invisible and direction-changing characters, in names and descriptions.
        for (name, description, expected) in [
            ("Soup\u{200B}", "Hot.", vec!["NAME_INVALID"]),
            ("\u{202E}puoS", "Hot.", vec!["NAME_INVALID"]),
            ("Soup", "Hot.\u{2066} Cold.", vec!["DESCRIPTION_INVALID"]),
            ("Soup", "Hot.\u{FEFF}", vec!["DESCRIPTION_INVALID"]),
            (
                "So\u{202D}up",
                "\u{200D}",
                vec!["NAME_INVALID", "DESCRIPTION_INVALID"],
            ),
        ] {
            let (_, body) = app
                .graphql_as(
                    Some(&token),
                    create,
                    json!({ "input": {
                    "restaurantId": global_id(NodeType::Restaurant, 1), "name": name,
                    "description": description, "price": "4", "course": "STARTER" } }),
                )
                .await;
            assert_eq!(
                user_error_codes(&body["data"]["createMenuItem"]),
                expected,
                "{name:?} {description:?}: {body:#}"
            );
        }
        let (_, body) = app
            .graphql_as(
                Some(&token),
                update,
                json!({ "input": { "id": item_id, "name": "Renamed\u{2069}", "description": "\u{202A}" } }),
            )
            .await;
        assert_eq!(
            user_error_codes(&body["data"]["updateMenuItem"]),
            ["NAME_INVALID", "DESCRIPTION_INVALID"]
        );
        // A line break is fine in a description; the menu shows what was written.
        let (_, body) = app
            .graphql_as(
                Some(&token),
                update,
                json!({ "input": { "id": item_id, "description": "Slow-cooked.\nWith rice." } }),
            )
            .await;
        assert_eq!(
            body["data"]["updateMenuItem"]["userErrors"],
            json!([]),
            "{body:#}"
        );
        let (_, body) = app
            .graphql_as(
                Some(&token),
                update,
                json!({ "input": { "id": item_id, "price": "1000000" } }),
            )
            .await;
        assert_eq!(
            user_error_codes(&body["data"]["updateMenuItem"]),
            ["PRICE_TOO_HIGH"]
        );
        let (_, body) = app
            .graphql_as(
                Some(&token),
                update,
                json!({ "input": { "id": global_id(NodeType::MenuItem, 999_999) } }),
            )
            .await;
        assert_eq!(error_codes(&body), ["NOT_FOUND"]);
        let (_, body) = app
            .graphql_as(
                Some(&token),
                update,
                json!({ "input": { "id": "not-an-id" } }),
            )
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
        app.stop().await;
    }
}

#[tokio::test]
async fn operators_create_staff_and_admin_accounts() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let slug_2 = bistro_sql::query::restaurants_by_ids(&app.app.db, &[2])
        .await
        .unwrap()[0]
        .slug
        .clone();
    use bistro_server::accounts::{CreateAccount, create_account};
    use bistro_sql::entity::UserRole;
    let request =
        |email: &str, role, restaurants: Vec<String>, password: Option<&str>| CreateAccount {
            email: email.to_owned(),
            role,
            restaurants,
            display_name: None,
            password: password.map(str::to_owned),
        };
    let db = &app.app.db;
    assert!(
        create_account(
            db,
            request("chef@example.com", UserRole::Staff, vec![], None)
        )
        .await
        .is_err()
    );
    assert!(
        create_account(
            db,
            request(
                "chef@example.com",
                UserRole::Staff,
                vec!["nowhere".into()],
                None
            )
        )
        .await
        .is_err()
    );
    assert!(
        create_account(
            db,
            request(
                "chef@example.com",
                UserRole::Admin,
                vec![slug_2.clone()],
                None
            )
        )
        .await
        .is_err()
    );
    assert!(
        create_account(
            db,
            request(
                "chef@example.com",
                UserRole::Staff,
                vec![slug_2.clone()],
                Some("short")
            )
        )
        .await
        .is_err()
    );
    assert!(
        create_account(db, request(CUSTOMER_A, UserRole::Admin, vec![], None))
            .await
            .is_err()
    );
    for name in ["Ops\u{202E}nimda", "Op\u{200B}s", "Ops\tTeam"] {
        let refused = create_account(
            db,
            CreateAccount {
                display_name: Some(name.to_owned()),
                ..request("named@example.com", UserRole::Admin, vec![], None)
            },
        )
        .await
        .expect_err(name);
        assert!(
            refused.to_string().contains("display name"),
            "{name:?}: {refused:#}"
        );
    }

    let created = create_account(
        db,
        request(
            "Chef@Example.com",
            UserRole::Staff,
            vec![slug_2.clone()],
            None,
        ),
    )
    .await
    .unwrap();
    assert_eq!(created.user.email, "chef@example.com");
    let password = created.generated_password.expect("a generated password");
    let token = app.login("chef@example.com", &password).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, body) = app
        .graphql_as(Some(&token), "query($slug: String!) { restaurant(slug: $slug) { orders(first: 1) { edges { node { id } } } } }", json!({ "slug": slug_2 }))
        .await;
    assert!(
        body.get("errors").is_none(),
        "staff of restaurant 2 reads its orders: {body:#}"
    );

    let admin = create_account(
        db,
        request(
            "ops@example.com",
            UserRole::Admin,
            vec![],
            Some("a long admin passphrase"),
        ),
    )
    .await
    .unwrap();
    assert!(admin.generated_password.is_none());
    app.login("ops@example.com", "a long admin passphrase")
        .await;
    // Roles are in the stored rows too.
    let stored = bistro_sql::entity::user::Entity::find_by_id(admin.user.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.role, UserRole::Admin);
    app.stop().await;
}

#[tokio::test]
async fn an_order_one_may_not_see_answers_exactly_like_one_that_does_not_exist() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let order_a = order_of_customer_a_at_restaurant_1(&app).await;
        let query = "query($id: ID!) { node(id: $id) { id ... on Order { status } } }";
        for viewer in [None, Some(CUSTOMER_B), Some(STAFF_2)] {
            let token = match viewer {
                None => None,
                Some(email) => Some(
                    app.login(email, DEMO_PASSWORD).await["accessToken"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                ),
            };
            let (_, hidden) = app
                .graphql_as(
                    token.as_deref(),
                    query,
                    json!({ "id": global_id(NodeType::Order, order_a) }),
                )
                .await;
            let (_, missing) = app
                .graphql_as(
                    token.as_deref(),
                    query,
                    json!({ "id": global_id(NodeType::Order, order_a + 1_000_000) }),
                )
                .await;
            assert_eq!(
                hidden["data"],
                missing["data"],
                "[{}] {viewer:?}",
                pair.name()
            );
            assert_eq!(hidden.get("errors"), missing.get("errors"));
            assert_eq!(hidden["data"]["node"], Value::Null);
            // The same through `_entities`, where both are an error of their index.
            let entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id status } } }";
            let representation = |id: i64| json!({ "r": [{ "__typename": "Order", "id": global_id(NodeType::Order, id) }] });
            let (_, hidden) = app
                .graphql_as(token.as_deref(), entities, representation(order_a))
                .await;
            let (_, missing) = app
                .graphql_as(
                    token.as_deref(),
                    entities,
                    representation(order_a + 1_000_000),
                )
                .await;
            assert_eq!(hidden, missing, "[{}] {viewer:?} _entities", pair.name());
            assert_eq!(hidden["data"]["_entities"], json!([null]));
            assert_eq!(error_codes(&hidden), ["NOT_FOUND"]);
            // The same through every mutation that names an order.
            for mutation in [
                "mutation($id: ID!) { advanceOrder(input: { orderId: $id, to: ACCEPTED }) { order { id status } userErrors { field code message } } }",
                "mutation($id: ID!) { rejectOrder(input: { orderId: $id, reason: \"No\" }) { order { id } userErrors { field code message } } }",
                "mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { order { id } userErrors { field code message } } }",
            ] {
                let (_, hidden) = app
                    .graphql_as(
                        token.as_deref(),
                        mutation,
                        json!({ "id": global_id(NodeType::Order, order_a) }),
                    )
                    .await;
                let (_, missing) = app
                    .graphql_as(
                        token.as_deref(),
                        mutation,
                        json!({ "id": global_id(NodeType::Order, order_a + 1_000_000) }),
                    )
                    .await;
                assert_eq!(hidden, missing, "[{}] {viewer:?} {mutation}", pair.name());
            }
        }
        app.stop().await;
    }
}
