//! Whoever just signed in can read themselves in the sign-in payload: the
//! payload of `register`, `login` and `refreshSession` is resolved as the new
//! session's viewer, not as the anonymous request that signed in.

use bistro_tests::{DEMO_PASSWORD, TestApp, store_pairs};
use serde_json::{Value, json};

const SESSION_USER: &str = "session { refreshToken user { id email role cart { itemCount } } }
    userErrors { code }";

fn assert_reads_itself(pair: &str, payload: &Value, email: &str, has_cart: bool) {
    assert_eq!(payload["userErrors"], json!([]), "[{pair}] {payload:#}");
    let user = &payload["session"]["user"];
    assert_eq!(user["email"], email, "[{pair}] {payload:#}");
    assert_eq!(user["role"], "CUSTOMER");
    if has_cart {
        assert!(
            user["cart"]["itemCount"].as_i64().is_some_and(|n| n > 0),
            "{payload:#}"
        );
    } else {
        assert_eq!(user["cart"], Value::Null);
    }
}

#[tokio::test]
async fn sign_in_payloads_are_read_as_the_new_session() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let name = pair.name();

        // login: the demo customer has an open cart.
        let (status, body) = app
            .graphql(
                &format!(
                    "mutation($input: LoginInput!) {{ login(input: $input) {{ {SESSION_USER} }} }}"
                ),
                json!({ "input": { "email": "customer@bistro.test", "password": DEMO_PASSWORD } }),
            )
            .await;
        assert_eq!(status, 200);
        assert!(body.get("errors").is_none(), "[{name}] {body:#}");
        let login = &body["data"]["login"];
        assert_reads_itself(name, login, "customer@bistro.test", true);

        // refreshSession: the same user, through the rotated session.
        let (status, body) = app
            .graphql(
                &format!(
                    "mutation($token: String!) {{ refreshSession(input: {{ refreshToken: $token }}) {{ {SESSION_USER} }} }}"
                ),
                json!({ "token": login["session"]["refreshToken"] }),
            )
            .await;
        assert_eq!(status, 200);
        assert!(body.get("errors").is_none(), "[{name}] {body:#}");
        assert_reads_itself(
            name,
            &body["data"]["refreshSession"],
            "customer@bistro.test",
            true,
        );

        // register: a new customer, no cart yet.
        let (status, body) = app
            .graphql(
                &format!("mutation($input: RegisterInput!) {{ register(input: $input) {{ {SESSION_USER} }} }}"),
                json!({ "input": {
                    "email": "new.customer@example.com",
                    "password": "correct horse battery",
                    "displayName": "New"
                } }),
            )
            .await;
        assert_eq!(status, 200);
        assert!(body.get("errors").is_none(), "[{name}] {body:#}");
        assert_reads_itself(
            name,
            &body["data"]["register"],
            "new.customer@example.com",
            false,
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_failed_sign_in_leaves_the_request_anonymous() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (status, body) = app
            .graphql(
                "mutation { login(input: { email: \"customer@bistro.test\", password: \"wrong password\" }) {
                    session { user { email } } userErrors { code } } }",
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["login"]["session"], Value::Null);
        assert_eq!(
            body["data"]["login"]["userErrors"][0]["code"],
            "INVALID_CREDENTIALS"
        );
        app.stop().await;
    }
}
