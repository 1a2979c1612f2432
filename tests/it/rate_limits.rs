//! Abuse limits, counted in the key-value store: failed sign-ins per
//! account-and-address and per address, the account's delay for addresses
//! that failed on it; a per-client request budget answered with HTTP 429.
//!
//! Limits count in fixed windows (15 minutes for sign-ins, a minute for
//! requests). A test that straddled a window boundary would see its counts
//! reset midway, so each test first waits, if need be, for a fresh window.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bistro_tests::{DEMO_PASSWORD, TestApp, error_codes, round_trips, store_pairs};
use serde_json::{Value, json};

const CUSTOMER: &str = "customer@bistro.test";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) {
    session { accessToken } userErrors { code } } }";

/// Waits until at least `margin` is left in the current window of `length`.
pub(crate) async fn fresh_window(length: Duration, margin: Duration) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = Duration::from_secs(now.as_secs() % length.as_secs());
    let left = length - into;
    if left < margin {
        tokio::time::sleep(left + Duration::from_millis(200)).await;
    }
}

/// Signs in with `X-Forwarded-For: address` (believed where 127.0.0.1 is a trusted proxy).
async fn login_from(app: &TestApp, address: &str, email: &str, password: &str) -> (u16, Value) {
    app.post_from(
        Some(address),
        LOGIN,
        json!({ "input": { "email": email, "password": password } }),
    )
    .await
}

fn outcome(body: &Value) -> String {
    if let Some(code) = error_codes(body).first() {
        return code.clone();
    }
    match body["data"]["login"]["userErrors"][0]["code"].as_str() {
        Some(code) => code.to_owned(),
        None if body["data"]["login"]["session"]["accessToken"].is_string() => "OK".to_owned(),
        None => format!("unexpected: {body}"),
    }
}

async fn spawn_trusting_localhost(pair: &bistro_tests::StorePair) -> TestApp {
    TestApp::spawn_with(pair, |c| {
        c.http.trusted_proxies = vec!["127.0.0.1".to_owned()];
    })
    .await
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_account_and_address() {
    fresh_window(Duration::from_secs(900), Duration::from_secs(30)).await;
    for pair in store_pairs() {
        let app = spawn_trusting_localhost(&pair).await;
        for attempt in 1..=10 {
            let (_, body) = login_from(&app, "198.51.100.1", CUSTOMER, "wrong password!").await;
            assert_eq!(
                outcome(&body),
                "INVALID_CREDENTIALS",
                "[{}] attempt {attempt}",
                pair.name()
            );
        }
        // The 11th, even with the right password, is refused.
        let (status, body) = login_from(&app, "198.51.100.1", CUSTOMER, DEMO_PASSWORD).await;
        assert_eq!(status, 200);
        assert_eq!(outcome(&body), "RATE_LIMITED", "{body:#}");
        assert_eq!(body["data"]["login"], Value::Null);
        let retry = body["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .expect("retryAfterSeconds");
        assert!((1..=900).contains(&retry), "{retry}");
        assert_eq!(body["errors"][0]["path"], json!(["login"]));

        // Another address is not locked out of the same account.
        let (_, body) = login_from(&app, "198.51.100.2", CUSTOMER, DEMO_PASSWORD).await;
        assert_eq!(outcome(&body), "OK", "{body:#}");
        // And the limited address can still sign in to another account.
        let (_, body) =
            login_from(&app, "198.51.100.1", "customer1@bistro.test", DEMO_PASSWORD).await;
        assert_eq!(outcome(&body), "OK", "{body:#}");

        // Without a trusted proxy, X-Forwarded-For names nobody: the peer is the client.
        app.stop().await;
    }
}

#[tokio::test]
async fn each_aliased_sign_in_counts() {
    fresh_window(Duration::from_secs(900), Duration::from_secs(30)).await;
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let fields: String = (0..20)
            .map(|i| {
                format!(
                    "a{i}: login(input: {{ email: \"{CUSTOMER}\", password: \"wrong password {i}\" }}) {{ userErrors {{ code }} }} "
                )
            })
            .collect();
        let (status, body) = app
            .graphql(&format!("mutation {{ {fields} }}"), json!({}))
            .await;
        assert_eq!(status, 200, "[{}] {body:#}", pair.name());
        for i in 0..10 {
            assert_eq!(
                body["data"][format!("a{i}")]["userErrors"][0]["code"],
                "INVALID_CREDENTIALS",
                "attempt {i}: {body:#}"
            );
        }
        for i in 10..20 {
            assert_eq!(body["data"][format!("a{i}")], Value::Null, "attempt {i}");
        }
        let codes = error_codes(&body);
        assert_eq!(codes.len(), 10, "{body:#}");
        assert!(codes.iter().all(|c| c == "RATE_LIMITED"));
        // No proxy is trusted here: X-Forwarded-For names nobody, the peer is the client.
        let (_, body) = login_from(&app, "198.51.100.77", CUSTOMER, DEMO_PASSWORD).await;
        assert_eq!(outcome(&body), "RATE_LIMITED", "{body:#}");
        app.stop().await;
    }
}

#[tokio::test]
async fn one_address_has_its_own_ceiling_for_any_accounts() {
    fresh_window(Duration::from_secs(900), Duration::from_secs(30)).await;
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| {
            c.http.trusted_proxies = vec!["127.0.0.1".to_owned()];
            c.rate_limit.login_failures_per_pair = 2;
            c.rate_limit.login_failures_per_address = 3;
        })
        .await;
        // One address, many accounts: stopped by the address ceiling.
        for account in ["a@example.com", "b@example.com", "c@example.com"] {
            let (_, body) = login_from(&app, "203.0.113.1", account, "wrong password!").await;
            assert_eq!(outcome(&body), "INVALID_CREDENTIALS");
        }
        let (_, body) =
            login_from(&app, "203.0.113.1", "customer1@bistro.test", DEMO_PASSWORD).await;
        assert_eq!(outcome(&body), "RATE_LIMITED", "[{}] {body:#}", pair.name());
        // Refused attempts are given back: the ceiling counts failures only.
        let (_, body) =
            login_from(&app, "203.0.113.2", "customer1@bistro.test", DEMO_PASSWORD).await;
        assert_eq!(outcome(&body), "OK", "{body:#}");
        assert_eq!(app.app.passwords.runs(), 4);
        app.stop().await;
    }
}

fn retry_after(body: &Value) -> u64 {
    body["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap_or_else(|| panic!("retryAfterSeconds in {body:#}"))
}

/// OWASP's point against account lockout: an attacker with many addresses
/// must not be able to lock the owner out. The account's failures from other
/// addresses slow down each address that failed on it (one attempt per
/// delay for that address, the delay doubling per failure elsewhere), never
/// an address without a failure on it; and the owner's own address, after
/// a typo, waits its own delay, which no attacker can keep taking. The
/// delays here (100 s doubling to 400 s) are long enough that none runs out
/// while the test looks.
#[tokio::test]
async fn an_attacker_with_many_addresses_is_slowed_and_the_owner_is_not_locked_out() {
    fresh_window(Duration::from_secs(900), Duration::from_secs(30)).await;
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| {
            c.http.trusted_proxies = vec!["127.0.0.1".to_owned()];
            c.rate_limit.login_delay_base_secs = 100;
            c.rate_limit.login_delay_max_secs = 400;
        })
        .await;
        let name = pair.name();
        let attacker = |n: u8| format!("198.51.100.{n}");
        let guess = |n: u8| {
            let app = &app;
            async move {
                login_from(app, &attacker(n), CUSTOMER, "wrong password!")
                    .await
                    .1
            }
        };
        // Two addresses fail once each: a first attempt from an address is
        // never delayed, and an address's own failures never delay itself.
        assert_eq!(outcome(&guess(1).await), "INVALID_CREDENTIALS");
        assert_eq!(outcome(&guess(2).await), "INVALID_CREDENTIALS");
        // The first address again: one failure from another address, a
        // delay of 100 s, which this attempt opens for that address.
        assert_eq!(outcome(&guess(1).await), "INVALID_CREDENTIALS", "[{name}]");
        // The second's own delay (200 s: two failures elsewhere) opens too.
        assert_eq!(outcome(&guess(2).await), "INVALID_CREDENTIALS", "[{name}]");
        // Within their delays both are refused, told the delay they face
        // now (two failures from elsewhere for the first: 200 s).
        let refused = guess(1).await;
        assert_eq!(outcome(&refused), "RATE_LIMITED", "[{name}] {refused:#}");
        assert_eq!(retry_after(&refused), 200, "{refused:#}");
        let refused = guess(2).await;
        assert_eq!(outcome(&refused), "RATE_LIMITED", "[{name}] {refused:#}");
        assert_eq!(app.app.passwords.runs(), 4);

        // Another account: ten addresses that failed once each guess again
        // all at once: each gets its one attempt of its delay, whatever the
        // timing, and at once again none does.
        const OTHER: &str = "customer1@bistro.test";
        for n in 10..20 {
            let (_, body) = login_from(&app, &attacker(n), OTHER, "wrong password!").await;
            assert_eq!(outcome(&body), "INVALID_CREDENTIALS");
        }
        for expected in ["INVALID_CREDENTIALS", "RATE_LIMITED"] {
            let runs = app.app.passwords.runs();
            let again = futures_util::future::join_all((10..20).map(|n| {
                let app = &app;
                let address = attacker(n);
                async move { login_from(app, &address, OTHER, "wrong password!").await.1 }
            }))
            .await;
            assert!(
                again.iter().all(|body| outcome(body) == expected),
                "[{name}] {again:#?}"
            );
            let checked = if expected == "RATE_LIMITED" { 0 } else { 10 };
            assert_eq!(app.app.passwords.runs(), runs + checked);
        }

        // The owner, from an address with no failure on the account, is let
        // in at once, with no delay, however many addresses attack it; and
        // after a typo from there, the right password goes through at once:
        // the delay gate is that address's own.
        let (_, body) = login_from(&app, "192.0.2.7", CUSTOMER, DEMO_PASSWORD).await;
        assert_eq!(outcome(&body), "OK", "[{name}] {body:#}");
        let (_, body) = login_from(&app, "192.0.2.8", OTHER, "a typo").await;
        assert_eq!(outcome(&body), "INVALID_CREDENTIALS", "[{name}] {body:#}");
        let (_, body) = login_from(&app, "192.0.2.8", OTHER, DEMO_PASSWORD).await;
        assert_eq!(outcome(&body), "OK", "[{name}] {body:#}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_request_budget_answers_429_with_retry_after() {
    fresh_window(Duration::from_secs(60), Duration::from_secs(15)).await;
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| c.rate_limit.requests_per_minute = 3).await;
        let query = "{ restaurants(first: 1) { edges { cursor } } }";
        for _ in 0..3 {
            let (status, body) = app.graphql(query, json!({})).await;
            assert_eq!(status, 200, "[{}] {body:#}", pair.name());
            // The budget costs one key-value round trip per request, no more.
            assert_eq!(round_trips(&body), (1, 1));
        }
        let response = app
            .client()
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(json!({ "query": query }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 429);
        let retry: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_codes(&body), ["RATE_LIMITED"]);
        assert_eq!(body["errors"][0]["extensions"]["retryAfterSeconds"], retry);
        assert!(body.get("data").is_none());

        // A signed-in user has a budget of their own, apart from the address.
        let session = login_token(&app).await;
        let (status, _) = app.graphql_as(Some(&session), query, json!({})).await;
        assert_eq!(status, 200);
        app.stop().await;
    }
}

/// An access token minted directly (signing in would spend the exhausted budget).
async fn login_token(app: &TestApp) -> String {
    let customer_id: i64 = {
        use sea_orm::{ConnectionTrait, Statement};
        let db = &app.app.db;
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT id FROM users WHERE email = '{CUSTOMER}'"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "id").unwrap()
    };
    let keys = bistro_auth::TokenKeys::new(
        bistro_tests::TEST_TOKEN_SECRET.as_bytes(),
        Duration::from_secs(600),
    )
    .unwrap();
    let sessions = bistro_auth::Sessions::new(app.app.kv.clone(), Duration::from_secs(600));
    let session = sessions.start(&keys, customer_id).await.unwrap();
    keys.issue(
        customer_id,
        bistro_auth::Role::Customer,
        Vec::new(),
        &session.session_id,
    )
    .0
}

#[tokio::test]
async fn the_budget_is_off_by_default_in_development_and_costs_nothing() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        for _ in 0..30 {
            let (status, body) = app
                .graphql("{ restaurants(first: 1) { edges { cursor } } }", json!({}))
                .await;
            assert_eq!(status, 200);
            assert_eq!(
                round_trips(&body),
                (1, 0),
                "no key-value round trip when off"
            );
        }
        app.stop().await;
    }
}
