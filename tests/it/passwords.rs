//! Password hashing as an attacker would spend it, on both store pairs:
//! guesses sent at once are counted before argon2 runs, so at most the
//! limit of them reach it; argon2 runs a bounded number at a time and
//! refuses beyond its queue with `SERVER_BUSY`; a registration of a taken
//! email hashes nothing; registrations are limited per address.
//!
//! Every argon2 run of a server is counted by its `PasswordHashing`
//! (`App::passwords`), which is what these tests read.

use std::time::Duration;

use bistro_tests::{DEMO_PASSWORD, TestApp, error_codes, store_pairs};
use serde_json::{Value, json};

use crate::rate_limits::fresh_window;

const CUSTOMER: &str = "customer@bistro.test";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) {
    session { accessToken } userErrors { code } } }";
const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) {
    session { accessToken } userErrors { code } } }";

/// What a sign-in or registration came to: the top-level code, the first
/// user error's code, or `OK`.
fn outcome(body: &Value, field: &str) -> String {
    if let Some(code) = error_codes(body).first() {
        return code.clone();
    }
    match body["data"][field]["userErrors"][0]["code"].as_str() {
        Some(code) => code.to_owned(),
        None if body["data"][field]["session"]["accessToken"].is_string() => "OK".to_owned(),
        None => format!("unexpected: {body}"),
    }
}

/// POSTs `query` with `variables`, from `address` when given (as
/// `X-Forwarded-For`, believed where 127.0.0.1 is a trusted proxy).
async fn post(
    client: &reqwest::Client,
    url: &str,
    address: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    bistro_tests::post_from(client, url, address, query, variables)
        .await
        .1
}

fn login(email: &str, password: &str) -> Value {
    json!({ "input": { "email": email, "password": password } })
}

fn registration(email: &str) -> Value {
    json!({ "input": { "email": email, "password": "correct horse battery", "displayName": "Ada" } })
}

fn counts(outcomes: &[String]) -> std::collections::BTreeMap<&str, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for outcome in outcomes {
        *counts.entry(outcome.as_str()).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn forty_wrong_guesses_at_once_reach_argon2_at_most_the_limit() {
    fresh_window(Duration::from_secs(900), Duration::from_secs(60)).await;
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let limit = app.app.config.rate_limit.login_failures_per_pair;
        assert_eq!(limit, 10);
        let url = app.url("/graphql");
        let guesses = futures_util::future::join_all((0..40).map(|i| {
            let (client, url) = (app.client(), url.as_str());
            async move {
                let password = format!("wrong password {i}");
                let body = post(client, url, None, LOGIN, login(CUSTOMER, &password)).await;
                outcome(&body, "login")
            }
        }))
        .await;
        let counted = counts(&guesses);
        // Whatever the interleaving: each guess reserved its place before
        // argon2, so exactly the limit were checked and the rest refused.
        assert_eq!(
            counted,
            [("INVALID_CREDENTIALS", 10), ("RATE_LIMITED", 30)].into(),
            "[{}]",
            pair.name()
        );
        assert_eq!(app.app.passwords.runs(), limit, "[{}]", pair.name());
        // The right password from the same address is refused too, without argon2.
        let body = post(
            app.client(),
            &url,
            None,
            LOGIN,
            login(CUSTOMER, DEMO_PASSWORD),
        )
        .await;
        assert_eq!(outcome(&body, "login"), "RATE_LIMITED", "{body:#}");
        assert_eq!(app.app.passwords.runs(), limit);
        app.stop().await;
    }
}

#[tokio::test]
async fn argon2_runs_a_bounded_number_at_once_and_refuses_beyond_its_queue() {
    fresh_window(Duration::from_secs(900), Duration::from_secs(60)).await;
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| {
            c.http.trusted_proxies = vec!["127.0.0.1".to_owned()];
            c.auth.password_hashes_at_once = 1;
            c.auth.password_hash_queue = 1;
            c.rate_limit.registrations_per_address = 1;
        })
        .await;
        let name = pair.name();
        let passwords = app.app.passwords.clone();
        assert_eq!(passwords.at_once(), 1);
        // The one place is taken, as by a hash in progress.
        let held = passwords.occupy().await.unwrap();
        let url = app.url("/graphql");
        let queued = tokio::spawn({
            let client = app.client().clone();
            let url = url.clone();
            async move {
                post(
                    &client,
                    &url,
                    Some("192.0.2.1"),
                    LOGIN,
                    login(CUSTOMER, "wrong password!"),
                )
                .await
            }
        });
        // Until that sign-in waits in the queue (it reserved its count first).
        for _ in 0..1000 {
            if passwords.waiting() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(passwords.waiting(), 1, "[{name}] the sign-in never queued");

        // The queue is full: the next sign-in and registration are refused at once.
        let busy = post(
            app.client(),
            &url,
            Some("192.0.2.2"),
            LOGIN,
            login(CUSTOMER, DEMO_PASSWORD),
        )
        .await;
        assert_eq!(error_codes(&busy), ["SERVER_BUSY"], "[{name}] {busy:#}");
        assert_eq!(busy["errors"][0]["extensions"]["retryAfterSeconds"], 1);
        assert_eq!(busy["errors"][0]["path"], json!(["login"]));
        assert_eq!(busy["data"]["login"], Value::Null);
        let busy = post(
            app.client(),
            &url,
            Some("192.0.2.3"),
            REGISTER,
            registration("busy@example.com"),
        )
        .await;
        assert_eq!(error_codes(&busy), ["SERVER_BUSY"], "[{name}] {busy:#}");
        assert_eq!(passwords.runs(), 0);

        drop(held);
        let queued = queued.await.unwrap();
        assert_eq!(
            outcome(&queued, "login"),
            "INVALID_CREDENTIALS",
            "{queued:#}"
        );
        assert_eq!(passwords.runs(), 1);
        // Refused for business, neither attempt was counted: the busy
        // sign-in's address signs in, and the registration's address still
        // has its one registration.
        let body = post(
            app.client(),
            &url,
            Some("192.0.2.2"),
            LOGIN,
            login(CUSTOMER, DEMO_PASSWORD),
        )
        .await;
        assert_eq!(outcome(&body, "login"), "OK", "{body:#}");
        let body = post(
            app.client(),
            &url,
            Some("192.0.2.3"),
            REGISTER,
            registration("busy@example.com"),
        )
        .await;
        assert_eq!(outcome(&body, "register"), "OK", "{body:#}");
        assert_eq!(passwords.runs(), 3);
        assert_eq!(passwords.admitted(), 0);
        app.stop().await;
    }
}

/// A taken email is answered before anything is hashed, and each answer is
/// a registration attempt of its address: asking which emails have
/// accounts costs an indexed read and is bounded like signing up.
#[tokio::test]
async fn a_hundred_registrations_of_a_taken_email_at_once_hash_nothing_and_count_as_attempts() {
    fresh_window(Duration::from_secs(3600), Duration::from_secs(60)).await;
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| {
            c.http.trusted_proxies = vec!["127.0.0.1".to_owned()];
        })
        .await;
        let url = app.url("/graphql");
        let outcomes = futures_util::future::join_all((0..100).map(|i| {
            let (client, url) = (app.client(), url.as_str());
            // The demo customer's email, in the cases and spaces people type.
            let email = if i % 2 == 0 {
                CUSTOMER.to_owned()
            } else {
                format!("  {}", CUSTOMER.to_uppercase())
            };
            async move {
                let body = post(
                    client,
                    url,
                    Some("203.0.113.9"),
                    REGISTER,
                    registration(&email),
                )
                .await;
                outcome(&body, "register")
            }
        }))
        .await;
        let limit = app.app.config.rate_limit.registrations_per_address;
        let limit_usize = usize::try_from(limit).unwrap();
        assert_eq!(
            counts(&outcomes),
            [
                ("EMAIL_TAKEN", limit_usize),
                ("RATE_LIMITED", 100 - limit_usize)
            ]
            .into(),
            "[{}]",
            pair.name()
        );
        assert_eq!(app.app.passwords.runs(), 0, "[{}] no hash", pair.name());
        // Another address registers as usual.
        for n in 0..limit {
            let body = post(
                app.client(),
                &url,
                Some("203.0.113.10"),
                REGISTER,
                registration(&format!("new{n}@example.com")),
            )
            .await;
            assert_eq!(outcome(&body, "register"), "OK", "{body:#}");
        }
        assert_eq!(app.app.passwords.runs(), limit);
        app.stop().await;
    }
}

#[tokio::test]
async fn registrations_are_limited_per_address() {
    fresh_window(Duration::from_secs(3600), Duration::from_secs(60)).await;
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| {
            c.http.trusted_proxies = vec!["127.0.0.1".to_owned()];
            c.rate_limit.registrations_per_address = 3;
        })
        .await;
        let url = app.url("/graphql");
        let register = |address: &'static str, email: String| {
            let (client, url) = (app.client(), url.as_str());
            async move { post(client, url, Some(address), REGISTER, registration(&email)).await }
        };
        for n in 0..3 {
            let body = register("203.0.113.5", format!("a{n}@example.com")).await;
            assert_eq!(
                outcome(&body, "register"),
                "OK",
                "[{}] {body:#}",
                pair.name()
            );
        }
        let refused = register("203.0.113.5", "a3@example.com".to_owned()).await;
        assert_eq!(error_codes(&refused), ["RATE_LIMITED"], "{refused:#}");
        let retry = refused["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .expect("retryAfterSeconds");
        assert!((1..=3600).contains(&retry), "{retry}");
        assert_eq!(refused["data"]["register"], Value::Null);
        // No account was made, and nothing was hashed for it.
        assert_eq!(app.app.passwords.runs(), 3);
        let elsewhere = register("203.0.113.6", "a3@example.com".to_owned()).await;
        assert_eq!(outcome(&elsewhere, "register"), "OK", "{elsewhere:#}");
        app.stop().await;
    }
}
