//! Production is safe by default: no demo data (its accounts have a published
//! password), no GraphiQL and no introspection unless switched on, real card
//! payments (Stripe, with its keys; the simulated processor only when asked
//! for on purpose); and the response headers that keep tokens out of caches
//! and pages out of frames.
//!
//! Production starts here as it is deployed: with Stripe configured (keys of
//! Stripe's test mode, `https://api.stripe.com`); nothing here pays, so
//! nothing reaches Stripe.

use bistro_server::Application;
use bistro_server::config::Config;
use bistro_sql::entity::{menu_item, order, restaurant, user};
use bistro_tests::{DEMO_PASSWORD, StorePair, TestApp, base_config_with_env, logs, store_pairs};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const PRODUCTION: (&str, &str) = ("BISTRO_ENVIRONMENT", "production");
/// What a production start needs besides: Stripe and its keys.
const STRIPE: [(&str, &str); 4] = [
    ("BISTRO_PAYMENTS__PROVIDER", "stripe"),
    (
        "BISTRO_PAYMENTS__STRIPE_SECRET_KEY",
        "sk_test_bistro_production_start",
    ),
    (
        "BISTRO_PAYMENTS__STRIPE_PUBLISHABLE_KEY",
        "pk_test_bistro_production_start",
    ),
    (
        "BISTRO_PAYMENTS__STRIPE_WEBHOOK_SECRET",
        "whsec_bistro_production_start",
    ),
];

/// The variables of a production start, then `more`.
fn production(more: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut vars = vec![PRODUCTION];
    vars.extend(STRIPE);
    vars.extend_from_slice(more);
    vars
}
const DEMO_ACCOUNTS: [&str; 3] = [
    bistro_sql::seed::DEMO_ADMIN_EMAIL,
    bistro_sql::seed::DEMO_STAFF_EMAIL,
    bistro_sql::seed::DEMO_CUSTOMER_EMAIL,
];
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { \
    session { accessToken } userErrors { code } } }";
const INTROSPECTION: &str = "{ __schema { queryType { name } } }";

/// Signs in as a demo account; `None` when refused.
async fn demo_login(app: &TestApp, email: &str) -> Option<String> {
    let data = app
        .data(
            LOGIN,
            json!({ "input": { "email": email, "password": DEMO_PASSWORD } }),
        )
        .await;
    match data["login"]["session"]["accessToken"].as_str() {
        Some(token) => Some(token.to_owned()),
        None => {
            assert_eq!(
                data["login"]["userErrors"],
                json!([{ "code": "INVALID_CREDENTIALS" }])
            );
            None
        }
    }
}

#[tokio::test]
async fn a_production_start_on_an_empty_database_seeds_nothing_and_says_so() {
    for pair in store_pairs() {
        let logs = logs::capture();
        let app = TestApp::spawn_with_env(&pair, &production(&[]), |_| {}).await;
        let db = &app.app.db;
        let rows = [
            user::Entity::find().count(db).await.unwrap(),
            restaurant::Entity::find().count(db).await.unwrap(),
            menu_item::Entity::find().count(db).await.unwrap(),
            order::Entity::find().count(db).await.unwrap(),
        ];
        assert_eq!(
            rows,
            [0; 4],
            "[{}] users, restaurants, items, orders",
            pair.name()
        );
        for email in DEMO_ACCOUNTS {
            assert_eq!(
                demo_login(&app, email).await,
                None,
                "[{}] {email} must not sign in",
                pair.name()
            );
        }
        let data = app
            .data("{ restaurants(first: 5) { totalCount } }", json!({}))
            .await;
        assert_eq!(data["restaurants"]["totalCount"], 0);
        app.stop().await;
        assert!(
            logs.text().contains("nothing was seeded"),
            "[{}] the start says why the database is empty",
            pair.name()
        );
    }
}

#[tokio::test]
async fn production_refuses_to_start_with_demo_data_switched_on() {
    for pair in store_pairs() {
        let dir = std::env::temp_dir().join(format!(
            "bistro-test-refused-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let mut config: Config = base_config_with_env(&production(&[]));
        config.database_url = match &pair {
            StorePair::Embedded => format!("sqlite://{}/bistro.db", dir.display()),
            StorePair::Real { database_url, .. } => database_url.clone(),
        };
        // Set in code, the way a layer would have set it.
        config.seed_demo_data = true;
        let error = match Application::build(config).await {
            Ok(_) => panic!("[{}] production started with demo data on", pair.name()),
            Err(error) => format!("{error:#}"),
        };
        assert!(
            error.contains("seed_demo_data") && error.contains("production"),
            "[{}] {error}",
            pair.name()
        );
        // Refused before it touched a store: not even the SQLite file exists.
        assert!(!dir.exists(), "[{}] {}", pair.name(), dir.display());
    }
}

#[tokio::test]
async fn a_production_restart_on_the_in_process_store_replants_no_demo_carts() {
    // Only the in-process store loses its carts at a restart and has the demo
    // carts replanted, so this is about the embedded pair alone.
    let development = TestApp::spawn(&StorePair::Embedded).await;
    let cart = "{ me { cart { itemCount } } }";
    let customer = bistro_sql::seed::DEMO_CUSTOMER_EMAIL;
    let token = demo_login(&development, customer).await.unwrap();
    let (_, body) = development.graphql_as(Some(&token), cart, json!({})).await;
    assert!(body["data"]["me"]["cart"]["itemCount"].as_i64().unwrap() >= 1);

    // The same database (seeded in development), started in production.
    let database_url = development.app.config.database_url.clone();
    let production = TestApp::spawn_with_env(&StorePair::Embedded, &production(&[]), |c| {
        c.database_url = database_url;
    })
    .await;
    let token = demo_login(&production, customer).await.unwrap();
    let (_, body) = production.graphql_as(Some(&token), cart, json!({})).await;
    assert_eq!(body["data"]["me"]["cart"], Value::Null, "{body:#}");
    production.stop().await;
    development.stop().await;
}

async fn status(app: &TestApp, path: &str) -> u16 {
    app.client()
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn graphiql_and_introspection_are_off_in_production_unless_switched_on() {
    for pair in store_pairs() {
        let app = TestApp::spawn_with_env(&pair, &production(&[]), |_| {}).await;
        assert_eq!(status(&app, "/graphiql").await, 404, "[{}]", pair.name());
        assert_eq!(
            status(&app, "/graphiql/assets/graphiql.min.js").await,
            404,
            "[{}]",
            pair.name()
        );
        // async-graphql answers introspection that is off with null: nothing
        // of the schema is told.
        let data = app
            .data(
                "{ __schema { queryType { name } } __type(name: \"Query\") { name } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data,
            json!({ "__schema": null, "__type": null }),
            "[{}]",
            pair.name()
        );
        // Ordinary queries still answer.
        app.data("{ restaurants(first: 1) { totalCount } }", json!({}))
            .await;
        app.stop().await;

        let app = TestApp::spawn_with_env(
            &pair,
            &production(&[
                ("BISTRO_HTTP__GRAPHIQL", "true"),
                ("BISTRO_GRAPHQL__INTROSPECTION", "true"),
            ]),
            |_| {},
        )
        .await;
        assert_eq!(status(&app, "/graphiql").await, 200, "[{}]", pair.name());
        let data = app.data(INTROSPECTION, json!({})).await;
        assert_eq!(data["__schema"]["queryType"]["name"], "Query");
        app.stop().await;
    }
}

/// `(Cache-Control, X-Content-Type-Options)` of a response.
fn caching(response: &reqwest::Response) -> (Option<&str>, Option<&str>) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap())
    };
    (header("cache-control"), header("x-content-type-options"))
}

#[tokio::test]
async fn every_graphql_response_but_a_public_read_is_uncacheable_and_unsniffable() {
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| c.http.body_limit_bytes = 4096).await;
        let url = app.url("/graphql");
        let client = app.client();
        let json = "application/json";
        let gql = "application/graphql-response+json";
        let post = |accept: &str, content_type: &str, body: String| {
            client
                .post(&url)
                .header("accept", accept)
                .header("content-type", content_type)
                .body(body)
        };
        let query = |q: &str| json!({ "query": q }).to_string();
        let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
            (
                "POST query",
                post(
                    json,
                    json,
                    query("{ restaurants(first: 1) { totalCount } }"),
                ),
                200,
            ),
            (
                "GET query",
                client
                    .get(&url)
                    .query(&[("query", "{ restaurants(first: 1) { totalCount } }")]),
                200,
            ),
            (
                "a document that does not validate",
                post(gql, json, query("{ nope }")),
                400,
            ),
            ("malformed JSON", post(json, json, "{not json".into()), 400),
            (
                "a mutation over GET",
                client
                    .get(&url)
                    .query(&[("query", "mutation { logout(input: {}) { loggedOut } }")]),
                405,
            ),
            ("another method", client.put(&url), 405),
            (
                "a body over the limit",
                post(
                    json,
                    json,
                    query(&format!("{{ __typename }} # {}", "x".repeat(10_000))),
                ),
                413,
            ),
            (
                "an unsupported content type",
                post(json, "text/plain", "{}".into()),
                415,
            ),
            (
                "an unacceptable Accept",
                post("text/html", json, query("{ __typename }")),
                406,
            ),
            (
                "a malformed Authorization header",
                post(json, json, query("{ __typename }")).header("authorization", "Basic x"),
                401,
            ),
        ];
        for (what, request, expected) in cases {
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status().as_u16(),
                expected,
                "[{}] {what}",
                pair.name()
            );
            // Only an anonymous public read over GET may be kept by a cache.
            let kept = if what == "GET query" {
                "public, max-age=300"
            } else {
                "private, no-store"
            };
            assert_eq!(
                caching(&response),
                (Some(kept), Some("nosniff")),
                "[{}] {what}",
                pair.name()
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn graphiql_is_served_with_a_policy_that_keeps_it_to_this_server() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let response = app.client().get(app.url("/graphiql")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
        let policy = header("content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self';",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            // Subscriptions: the page's own WebSocket origin, named (module docs of graphiql.rs).
            &format!("connect-src 'self' ws://{0} wss://{0};", app.addr),
        ] {
            assert!(
                policy.contains(directive),
                "[{}] {directive} in {policy}",
                pair.name()
            );
        }
        assert!(!policy.contains("'unsafe-"), "{policy}");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("x-content-type-options"), "nosniff");
        // The page has no inline script for the policy to refuse.
        let html = response.text().await.unwrap();
        assert!(!html.contains("<script>"), "{html}");
        app.stop().await;
    }
}

/// The error a server built from `vars` stops with before it touches a store.
async fn refused_start(vars: &[(&str, &str)]) -> String {
    let env = vars
        .iter()
        .chain(&[("BISTRO_AUTH__TOKEN_SECRET", bistro_tests::TEST_TOKEN_SECRET)])
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect::<Vec<_>>();
    match Config::load(None, env.into_iter()) {
        Err(error) => format!("{error:#}"),
        Ok(mut config) => {
            config.listen = "127.0.0.1:0".to_owned();
            match Application::build(config).await {
                Ok(_) => panic!("started with {vars:?}"),
                Err(error) => format!("{error:#}"),
            }
        }
    }
}

#[tokio::test]
async fn production_refuses_the_simulated_processor_unless_a_demo_asks_for_it() {
    let error = refused_start(&[PRODUCTION]).await;
    assert!(
        error.contains("\"simulated\" in production")
            && error.contains("allow_simulated_in_production"),
        "{error}"
    );
    // Asked for on purpose: it starts, and says that no money moves.
    for pair in store_pairs() {
        let logs = logs::capture();
        let app = TestApp::spawn_with_env(
            &pair,
            &[
                PRODUCTION,
                ("BISTRO_PAYMENTS__ALLOW_SIMULATED_IN_PRODUCTION", "true"),
            ],
            |_| {},
        )
        .await;
        assert_eq!(app.app.payments.name(), "simulated");
        app.stop().await;
        assert!(
            logs.text().contains("no real money moves"),
            "[{}]",
            pair.name()
        );
    }
}

#[tokio::test]
async fn production_refuses_stripe_without_its_secrets_and_says_which() {
    for (missing, setting) in [
        (
            "BISTRO_PAYMENTS__STRIPE_SECRET_KEY",
            "payments.stripe_secret_key",
        ),
        (
            "BISTRO_PAYMENTS__STRIPE_WEBHOOK_SECRET",
            "payments.stripe_webhook_secret",
        ),
    ] {
        let vars: Vec<(&str, &str)> = production(&[])
            .into_iter()
            .filter(|(k, _)| *k != missing)
            .collect();
        let error = refused_start(&vars).await;
        assert!(error.contains(setting), "{error}");
        assert!(
            error.contains(missing),
            "the variable to set is named: {error}"
        );
        // The secrets that are set are never printed.
        assert!(!error.contains("bistro_production_start"), "{error}");
    }
    // In production Stripe is reached over TLS only.
    let error = refused_start(&production(&[(
        "BISTRO_PAYMENTS__STRIPE_API_BASE",
        "http://127.0.0.1:8420",
    )]))
    .await;
    assert!(error.contains("stripe_api_base"), "{error}");
}

#[tokio::test]
async fn a_production_start_with_stripe_takes_cards_with_stripe_js_and_its_page_allows_it() {
    for pair in store_pairs() {
        let app = TestApp::spawn_with_env(&pair, &production(&[]), |_| {}).await;
        assert_eq!(app.app.payments.name(), "stripe");
        let form = app
            .data(
                "{ paymentForm { processor stripePublishableKey stripeJsUrl } }",
                json!({}),
            )
            .await;
        assert_eq!(
            form["paymentForm"],
            json!({ "processor": "STRIPE", "stripePublishableKey": "pk_test_bistro_production_start",
                "stripeJsUrl": "https://js.stripe.com/v3/" }),
            "[{}]",
            pair.name()
        );
        let response = app.client().get(app.url("/")).send().await.unwrap();
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        for directive in [
            "script-src 'self' https://js.stripe.com https://*.js.stripe.com;",
            "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com;",
            // After the page's own WebSocket origin.
            " https://js.stripe.com https://api.stripe.com; frame-src",
        ] {
            assert!(
                policy.contains(directive),
                "[{}] {directive} in {policy}",
                pair.name()
            );
        }
        // The webhook endpoint is served, and refuses what Stripe did not sign.
        let refused = app
            .client()
            .post(app.url("/webhooks/stripe"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
        app.stop().await;
    }
}
