//! Persisted documents: automatic persisted queries as Apollo Client 4's
//! persisted-queries link sends them, trusted documents from Apollo's and
//! GraphQL Code Generator's manifests, `graphql.trusted_documents_only`,
//! and HTTP caching of public reads over GET.
//!
//! `operations/persisted/` keeps verbatim copies of what the real clients
//! sent (`clients/check.mjs` records them and fails when they change); the
//! tests here replay them on both store pairs.

use std::collections::BTreeMap;
use std::time::Duration;

use bistro_schema::persisted::sha256_hex;
use bistro_tests::{StorePair, TestApp, error_codes, real_pair, round_trips, store_pairs};
use serde_json::{Value, json};

/// One request a client sent, as `clients/check.mjs` kept it.
#[derive(Debug)]
struct Sent {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Option<String>,
}

fn kept(name: &str) -> Vec<Sent> {
    let path = format!("{}/operations/persisted/{name}", env!("CARGO_MANIFEST_DIR"));
    let kept: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    kept.into_iter()
        .map(|sent| Sent {
            method: sent["method"].as_str().unwrap().to_owned(),
            path: sent["path"].as_str().unwrap().to_owned(),
            headers: sent["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect(),
            body: sent["body"].as_str().map(str::to_owned),
        })
        .collect()
}

fn kept_bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/operations/persisted/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Sends a kept request as it was sent (plus `extra` headers).
async fn replay(app: &TestApp, sent: &Sent, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut request = match sent.method.as_str() {
        "GET" => app.client().get(app.url(&sent.path)),
        "POST" => app.client().post(app.url(&sent.path)),
        other => panic!("unexpected method {other}"),
    };
    for (name, value) in &sent.headers {
        request = request.header(name, value);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    if let Some(body) = &sent.body {
        request = request.body(body.clone());
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned())
}

async fn body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// GETs `/graphql` with these parameters (`variables`/`extensions` as JSON).
async fn get(
    app: &TestApp,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app
        .client()
        .get(app.url("/graphql"))
        .query(params)
        .header("accept", "application/graphql-response+json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// POSTs a JSON body to `/graphql`.
async fn post(app: &TestApp, body: &Value, token: Option<&str>) -> (u16, Value) {
    let mut request = app
        .client()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.body(body.to_string()).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn apq(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

#[tokio::test]
async fn apollo_clients_automatic_persisted_queries_register_then_hit_by_hash() {
    let sent = kept("apollo-apq.json");
    assert_eq!(sent.len(), 3, "hash, registration, hit");
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let name = pair.name();
        let work = || app.app.api.work();
        let before = work();

        // The link's first request: the hash alone, over GET.
        let response = replay(&app, &sent[0], &[]).await;
        assert_eq!(response.status(), 400, "[{name}]");
        assert_eq!(header(&response, "cache-control"), "private, no-store");
        let answer = body(response).await;
        assert_eq!(
            error_codes(&answer),
            ["PERSISTED_QUERY_NOT_FOUND"],
            "[{name}] {answer:#}"
        );
        assert_eq!(answer["errors"][0]["message"], "PersistedQueryNotFound");
        // The hash looked up once in the key-value store, nothing parsed.
        assert_eq!(round_trips(&answer), (0, 1), "[{name}]");
        assert_eq!(work(), before);

        // Its retry: the text with the hash, over POST: run and registered.
        let response = replay(&app, &sent[1], &[]).await;
        assert_eq!(response.status(), 200, "[{name}]");
        let registered = body(response).await;
        assert_eq!(
            registered["data"]["restaurants"]["edges"]
                .as_array()
                .map(Vec::len),
            Some(3),
            "[{name}] {registered:#}"
        );
        // One statement; the registration is two key-value round trips (the
        // period's count, then the document).
        assert_eq!(round_trips(&registered), (1, 2), "[{name}]");
        assert_eq!(work().parsed, before.parsed + 1);
        assert_eq!(work().validated_in_full, before.validated_in_full + 1);

        // Another client's hit by hash, over GET: no parse, no full
        // validation, no key-value round trip (this replica parsed it).
        let response = replay(&app, &sent[2], &[]).await;
        assert_eq!(response.status(), 200, "[{name}]");
        assert_eq!(header(&response, "cache-control"), "public, max-age=300");
        assert_eq!(header(&response, "vary"), "Accept, Authorization");
        let etag = header(&response, "etag");
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        let hit = body(response).await;
        assert_eq!(hit["data"], registered["data"], "[{name}]");
        assert_eq!(round_trips(&hit), (1, 0), "[{name}]");
        assert_eq!(work().parsed, before.parsed + 1, "[{name}] parsed again");
        assert_eq!(work().validated_in_full, before.validated_in_full + 1);

        // curl -H 'If-None-Match: <etag>': 304, no body.
        let response = replay(&app, &sent[2], &[("if-none-match", &etag)]).await;
        assert_eq!(response.status(), 304, "[{name}]");
        assert_eq!(header(&response, "etag"), etag);
        assert_eq!(header(&response, "cache-control"), "public, max-age=300");
        assert!(response.bytes().await.unwrap().is_empty());
        let response = replay(&app, &sent[2], &[("if-none-match", "\"other\"")]).await;
        assert_eq!(response.status(), 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn two_replicas_share_an_apq_registration() {
    let Some(pair) = real_pair() else {
        eprintln!(
            "skipped: replicas share PostgreSQL and Redis (set BISTRO_TEST_DATABASE_URL and BISTRO_TEST_REDIS_URL)"
        );
        return;
    };
    let sent = kept("apollo-apq.json");
    let first = TestApp::spawn(&pair).await;
    let second = first.spawn_replica().await;
    // Unknown on both.
    assert_eq!(replay(&second, &sent[0], &[]).await.status(), 400);
    // Registered through the first...
    assert_eq!(replay(&first, &sent[1], &[]).await.status(), 200);
    // ...hit on the second: one key-value read of the document, then parsed there.
    let parsed = second.app.api.work().parsed;
    let response = replay(&second, &sent[2], &[]).await;
    assert_eq!(response.status(), 200);
    let answer = body(response).await;
    assert_eq!(
        answer["data"]["restaurants"]["edges"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "{answer:#}"
    );
    assert_eq!(round_trips(&answer), (1, 1));
    assert_eq!(second.app.api.work().parsed, parsed + 1);
    // And then from its own parsed documents.
    let again = body(replay(&second, &sent[2], &[]).await).await;
    assert_eq!(round_trips(&again), (1, 0));
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn apq_checks_the_hash_and_is_bounded_and_switchable() {
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| {
            c.graphql.apq_max_registrations = 2;
            c.graphql.apq_max_document_bytes = 200;
        })
        .await;
        let name = pair.name();
        let text = "query One { restaurants(first: 1) { totalCount } }";
        let hash = sha256_hex(text);

        // A hash that is not the text's is refused, and nothing is stored.
        let wrong = sha256_hex("something else");
        let (status, answer) = post(
            &app,
            &json!({ "query": text, "extensions": apq(&wrong) }),
            None,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            error_codes(&answer),
            ["PERSISTED_QUERY_HASH_MISMATCH"],
            "[{name}]"
        );
        let (_, answer) = post(&app, &json!({ "extensions": apq(&wrong) }), None).await;
        assert_eq!(error_codes(&answer), ["PERSISTED_QUERY_NOT_FOUND"]);

        // Version 1 only; a hash is 64 hex digits.
        for extensions in [
            json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } }),
            json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }),
        ] {
            let (status, answer) = post(&app, &json!({ "extensions": extensions }), None).await;
            assert_eq!(
                (status, error_codes(&answer)),
                (400, vec!["BAD_REQUEST".to_owned()])
            );
        }

        // A document longer than apq_max_document_bytes runs, unregistered.
        let long = format!("query Long {{ {} }}", "__typename ".repeat(30));
        let long_hash = sha256_hex(&long);
        let (status, answer) = post(
            &app,
            &json!({ "query": long, "extensions": apq(&long_hash) }),
            None,
        )
        .await;
        assert_eq!(status, 200, "[{name}] {answer:#}");
        assert_eq!(round_trips(&answer).1, 0, "[{name}] nothing stored");

        // A document that does not validate is answered, and not stored.
        let invalid = "query Bad { nope }";
        let (_, answer) = post(
            &app,
            &json!({ "query": invalid, "extensions": apq(&sha256_hex(invalid)) }),
            None,
        )
        .await;
        assert_eq!(
            error_codes(&answer),
            ["GRAPHQL_VALIDATION_FAILED"],
            "[{name}]"
        );
        assert_eq!(round_trips(&answer).1, 0, "[{name}] nothing stored");

        // Two registrations per period, from every client together; the
        // third document runs but is not stored.
        let texts = [
            "query A { __typename }",
            "query B { __typename }",
            "query C { __typename }",
        ];
        for text in texts {
            let (status, _) = post(
                &app,
                &json!({ "query": text, "extensions": apq(&sha256_hex(text)) }),
                None,
            )
            .await;
            assert_eq!(status, 200);
        }
        // Another replica (a fresh parsed-document cache) would find A and B in
        // the store, not C: read the store directly.
        let stored = |text: &str| {
            let kv = app.app.kv.clone();
            let hash = sha256_hex(text);
            async move { bistro_data::persisted::document(&kv, &hash).await.unwrap() }
        };
        assert_eq!(
            stored(texts[0]).await.as_deref(),
            Some(texts[0]),
            "[{name}]"
        );
        assert_eq!(stored(texts[1]).await.as_deref(), Some(texts[1]));
        assert_eq!(stored(texts[2]).await, None);
        assert_eq!(stored(&long).await, None);
        // Stored with the TTL.
        let ttl = app
            .app
            .kv
            .ttl(&format!("apq:v1:{}", sha256_hex(texts[0])))
            .await
            .unwrap()
            .unwrap();
        assert!(
            ttl <= Duration::from_secs(86_400) && ttl > Duration::from_secs(86_000),
            "{ttl:?}"
        );
        app.stop().await;

        // Switched off: Apollo's link is told PersistedQueryNotSupported and sends text.
        let app = TestApp::spawn_with(&pair, |c| c.graphql.apq = false).await;
        let (status, answer) = post(&app, &json!({ "extensions": apq(&hash) }), None).await;
        assert_eq!(status, 400);
        assert_eq!(
            error_codes(&answer),
            ["PERSISTED_QUERY_NOT_SUPPORTED"],
            "[{name}]"
        );
        assert_eq!(answer["errors"][0]["message"], "PersistedQueryNotSupported");
        let (status, answer) = post(
            &app,
            &json!({ "query": text, "extensions": apq(&hash) }),
            None,
        )
        .await;
        assert_eq!(
            (status, error_codes(&answer)),
            (400, vec!["PERSISTED_QUERY_NOT_SUPPORTED".to_owned()])
        );
        let (status, _) = post(&app, &json!({ "query": text }), None).await;
        assert_eq!(status, 200);
        app.stop().await;
    }
}

/// The storefront's manifest as its build wrote it beside the bundle.
fn storefront_manifest() -> BTreeMap<String, String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/bistro-server/assets/storefront/persisted-documents.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn storefront_id(operation: &str) -> String {
    let pattern = format!(" {operation}(");
    let pattern_bare = format!(" {operation} ");
    storefront_manifest()
        .into_iter()
        .find(|(_, body)| {
            ["query", "mutation", "subscription"].iter().any(|kind| {
                body.contains(&format!("{kind}{pattern}"))
                    || body.contains(&format!("{kind}{pattern_bare}"))
            })
        })
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no {operation} in the storefront's manifest"))
}

#[tokio::test]
async fn the_server_knows_the_storefronts_manifest_without_a_command() {
    let generated: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../storefront/src/generated/persisted-documents.json"
        ))
        .unwrap(),
    )
    .unwrap();
    // The copy beside the bundle is what codegen wrote.
    assert_eq!(storefront_manifest(), generated);
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let trusted = app.app.api.trusted();
    assert_eq!(trusted.len(), generated.len());
    for (id, body) in &generated {
        let hex = id
            .strip_prefix("sha256:")
            .expect("codegen's sha256: prefix");
        assert_eq!(
            sha256_hex(body),
            hex,
            "codegen hashes the body with SHA-256"
        );
        let document = trusted.get(hex).expect("trusted");
        assert_eq!(document.clients, ["storefront"]);
    }
    app.stop().await;
}

#[tokio::test]
async fn documents_by_id_are_resolved_before_the_checks_that_need_them() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let name = pair.name();
        // A query by documentId over GET, as the storefront sends it.
        let home = storefront_id("Home");
        let response = get(
            &app,
            &[
                ("documentId", home.as_str()),
                ("operationName", "Home"),
                ("variables", r#"{"signedIn":false}"#),
            ],
            &[],
        )
        .await;
        assert_eq!(response.status(), 200, "[{name}]");
        let answer = body(response).await;
        assert!(answer.get("errors").is_none(), "[{name}] {answer:#}");

        // A mutation by documentId over GET: 405, though the request carries no text.
        let login = storefront_id("Login");
        let response = get(
            &app,
            &[
                ("documentId", login.as_str()),
                ("variables", r#"{"input":{"email":"a@b.c","password":"x"}}"#),
            ],
            &[],
        )
        .await;
        assert_eq!(response.status(), 405, "[{name}]");
        assert_eq!(header(&response, "allow"), "POST");
        // The bare hash is an id too; an id no manifest lists is not found.
        let bare = home.trim_start_matches("sha256:").to_owned();
        let (status, _) = post(
            &app,
            &json!({ "documentId": bare, "variables": { "signedIn": false } }),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let unknown = format!("sha256:{}", sha256_hex("query Nope { __typename }"));
        let (status, answer) = post(&app, &json!({ "documentId": unknown }), None).await;
        assert_eq!(
            (status, error_codes(&answer)),
            (400, vec!["PERSISTED_DOCUMENT_NOT_FOUND".to_owned()])
        );
        let (status, answer) = post(
            &app,
            &json!({ "documentId": home, "query": "{ __typename }" }),
            None,
        )
        .await;
        assert_eq!(
            (status, error_codes(&answer)),
            (400, vec!["BAD_REQUEST".to_owned()])
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_manifest_added_with_the_command_reaches_running_replicas_and_can_be_retired() {
    let sent = kept("persisted-query-lists.json");
    let manifest = kept_bytes("apollo-persisted-query-manifest.json");
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| {
            c.graphql.trusted_documents_only = true;
            c.graphql.trusted_documents_refresh_ms = 20;
        })
        .await;
        let name = pair.name();
        let status_of = |answer: &Value| error_codes(answer);
        // persisted-query-lists sends the manifest's id as an APQ hash: refused
        // until the manifest is registered, and not registered by the text.
        let refused = body(replay(&app, &sent[0], &[]).await).await;
        assert_eq!(
            status_of(&refused),
            ["DOCUMENT_NOT_TRUSTED"],
            "[{name}] {refused:#}"
        );

        let added = bistro_server::documents::add(&app.app.db, "apollo-web", &manifest)
            .await
            .unwrap();
        assert_eq!((added.documents, added.new), (2, 2));
        // Again: nothing new.
        let again = bistro_server::documents::add(&app.app.db, "apollo-web", &manifest)
            .await
            .unwrap();
        assert_eq!(again.new, 0);
        let served = until(|| async {
            let answer = body(replay(&app, &sent[0], &[]).await).await;
            answer.get("errors").is_none().then_some(answer)
        })
        .await;
        assert_eq!(
            served["data"]["restaurants"]["edges"]
                .as_array()
                .map(Vec::len),
            Some(3),
            "[{name}]"
        );
        let by_slug = body(replay(&app, &sent[1], &[]).await).await;
        assert!(
            by_slug["data"]["restaurant"]["name"].is_string(),
            "[{name}] {by_slug:#}"
        );
        let listed = bistro_server::documents::list(&app.app.db).await.unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|d| (d.client_name.as_str(), d.operation_name.as_deref()))
                .collect::<Vec<_>>(),
            [
                ("apollo-web", Some("RestaurantBySlug")),
                ("apollo-web", Some("RestaurantNames"))
            ]
        );

        // Retired: refused again, on the running server.
        let removed = bistro_server::documents::remove(&app.app.db, Some("apollo-web"), &[])
            .await
            .unwrap();
        assert_eq!(removed, 2);
        until(|| async {
            let answer = body(replay(&app, &sent[0], &[]).await).await;
            (error_codes(&answer) == ["DOCUMENT_NOT_TRUSTED"]).then_some(())
        })
        .await;
        app.stop().await;
    }
}

/// Polls `check` every 20 ms until it gives a value (10 s at most): for what
/// a replica learns on its refresh interval.
async fn until<T, F: Future<Output = Option<T>>>(mut check: impl FnMut() -> F) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "not within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn manifests_are_checked_before_anything_is_stored() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let db = &app.app.db;
    let body = "query Ping { __typename }";
    // codegen's default, SHA-1: refused, naming the setting.
    let sha1 = json!({ "0123456789abcdef0123456789abcdef01234567": body }).to_string();
    let error = bistro_server::documents::add(db, "web", sha1.as_bytes())
        .await
        .unwrap_err();
    assert!(
        format!("{error:#}").contains("hashAlgorithm: 'sha256'"),
        "{error:#}"
    );
    // An id that is not the body's hash, and a body that is not GraphQL.
    let wrong = json!({ sha256_hex("other"): body }).to_string();
    assert!(
        bistro_server::documents::add(db, "web", wrong.as_bytes())
            .await
            .is_err()
    );
    let junk = "query {";
    let junk = json!({ sha256_hex(junk): junk }).to_string();
    assert!(
        bistro_server::documents::add(db, "web", junk.as_bytes())
            .await
            .is_err()
    );
    // The storefront's name is the built-in manifest's.
    let good = json!({ format!("sha256:{}", sha256_hex(body)): body }).to_string();
    assert!(
        bistro_server::documents::add(db, "storefront", good.as_bytes())
            .await
            .is_err()
    );
    assert!(bistro_server::documents::list(db).await.unwrap().is_empty());
    assert_eq!(
        bistro_server::documents::add(db, "web", good.as_bytes())
            .await
            .unwrap()
            .new,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn trusted_documents_only_refuses_the_rest_but_administrators_and_the_router() {
    const SECRET: &str = "router-secret-0123456789abcdef-0123456789";
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| {
            c.graphql.trusted_documents_only = true;
            c.federation.router_secret = SECRET.to_owned();
        })
        .await;
        let name = pair.name();
        let text = "{ restaurants(first: 1) { totalCount } }";
        let hash = sha256_hex(text);

        // Text, anonymously or as a customer: refused before it is parsed.
        let parsed = app.app.api.work().parsed;
        let (status, answer) = post(&app, &json!({ "query": text }), None).await;
        assert_eq!(
            (status, error_codes(&answer)),
            (400, vec!["DOCUMENT_NOT_TRUSTED".to_owned()]),
            "[{name}]"
        );
        assert_eq!(app.app.api.work().parsed, parsed);
        let customer = sign_in(&app, "customer@bistro.test").await;
        let (_, answer) = post(&app, &json!({ "query": text }), Some(&customer)).await;
        assert_eq!(error_codes(&answer), ["DOCUMENT_NOT_TRUSTED"]);
        // APQ registration is refused too, and leaves nothing.
        let (_, answer) = post(
            &app,
            &json!({ "query": text, "extensions": apq(&hash) }),
            None,
        )
        .await;
        assert_eq!(error_codes(&answer), ["DOCUMENT_NOT_TRUSTED"]);
        assert_eq!(
            bistro_data::persisted::document(&app.app.kv, &hash)
                .await
                .unwrap(),
            None
        );

        // The storefront's documents run, by id and by their exact text.
        let home = storefront_id("Home");
        let (status, answer) = post(
            &app,
            &json!({ "documentId": home, "variables": { "signedIn": false } }),
            None,
        )
        .await;
        assert_eq!(status, 200, "[{name}] {answer:#}");
        let home_text = storefront_manifest()[&home].clone();
        let (status, _) = post(
            &app,
            &json!({ "query": home_text, "variables": { "signedIn": false } }),
            None,
        )
        .await;
        assert_eq!(status, 200);

        // An administrator may explore (authenticated before the check).
        let admin = sign_in(&app, "admin@bistro.test").await;
        let (status, answer) = post(&app, &json!({ "query": text }), Some(&admin)).await;
        assert_eq!(status, 200, "[{name}] {answer:#}");
        // A bad token is a 401, as ever.
        let (status, _) = post(&app, &json!({ "query": text }), Some("not-a-token")).await;
        assert_eq!(status, 401);

        // The router, with its secret: its query plans are in no manifest.
        let response = app
            .client()
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .header("router-authorization", SECRET)
            .body(json!({ "query": "{ _service { sdl } }" }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "[{name}]");
        let (_, answer) = post(&app, &json!({ "query": "{ _service { sdl } }" }), None).await;
        assert_eq!(error_codes(&answer), ["DOCUMENT_NOT_TRUSTED"]);

        // Over the WebSocket, subscriptions too: by text refused, by id served.
        let mut socket = app.ws().await;
        socket.init_as(None).await;
        let availability =
            "subscription { menuItemAvailability(restaurantId: \"UmVzdGF1cmFudDox\") { kind } }";
        socket.subscribe("1", availability, json!({})).await;
        let refused = socket.message().await;
        assert_eq!(refused["type"], "error", "[{name}] {refused:#}");
        assert_eq!(
            refused["payload"][0]["extensions"]["code"],
            "DOCUMENT_NOT_TRUSTED"
        );
        let live = storefront_id("MenuAvailability");
        socket
            .send(json!({
                "id": "2", "type": "subscribe",
                "payload": { "query": "", "documentId": live, "variables": { "restaurantId": "UmVzdGF1cmFudDox" } }
            }))
            .await;
        socket.round_trip().await;
        socket.send(json!({ "id": "2", "type": "complete" })).await;
        socket.round_trip().await;
        app.stop().await;
    }
}

/// Signs in with the storefront's own `Login` document (what a server with
/// `trusted_documents_only` runs); the access token.
async fn sign_in(app: &TestApp, email: &str) -> String {
    let (status, answer) = post(
        app,
        &json!({
            "documentId": storefront_id("Login"),
            "variables": { "input": { "email": email, "password": bistro_tests::DEMO_PASSWORD } }
        }),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer:#}");
    answer["data"]["login"]["session"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer:#}"))
        .to_owned()
}

/// GETs `query` (with the bearer `token`): the status and `Cache-Control`.
async fn cache_control(app: &TestApp, query: &str, token: Option<&str>) -> (u16, String) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("authorization", b.as_str()))
        .collect();
    let response = get(app, &[("query", query)], &headers).await;
    assert_eq!(header(&response, "vary"), "Accept, Authorization");
    (
        response.status().as_u16(),
        header(&response, "cache-control"),
    )
}

#[tokio::test]
async fn only_anonymous_public_reads_over_get_are_cacheable() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let name = pair.name();
        let public = |seconds: u32| (200, format!("public, max-age={seconds}"));
        let private = || "private, no-store".to_owned();
        let of = |query: &'static str| cache_control(&app, query, None);
        // Restaurants and menus: five minutes; ratings a minute; today's
        // popularity half a minute; stock and availability ten seconds.
        assert_eq!(
            of("{ restaurants(first: 2) { edges { node { name openingHours { day } } } } }").await,
            public(300),
            "[{name}]"
        );
        assert_eq!(
            of("{ restaurant(slug: \"tandoor-hughes-1\") { name menu(first: 3) { nodes { name price { amount } } } } }").await,
            public(300)
        );
        assert_eq!(
            of("{ restaurants(first: 2) { nodes { name rating { average } } } }").await,
            public(60)
        );
        assert_eq!(
            of("{ restaurants(first: 2) { nodes { trendingItems { ordersToday } } } }").await,
            public(30)
        );
        assert_eq!(
            of("{ restaurants(first: 2) { nodes { menu(first: 2) { nodes { available stockRemaining } } } } }").await,
            public(10)
        );
        // The viewer, a private or undeclared field, introspection: private.
        assert_eq!(of("{ me { email } }").await.1, private());
        assert_eq!(
            of("{ restaurants(first: 1) { nodes { name orders(first: 1) { totalCount } } } }")
                .await
                .1,
            private()
        );
        assert_eq!(
            of("{ node(id: \"UmVzdGF1cmFudDox\") { id } }").await.1,
            private()
        );
        assert_eq!(of("{ __schema { queryType { name } } }").await.1, private());
        // An error: never kept.
        assert_eq!(of("{ restaurant(slug: 7) { name } }").await.1, private());
        // A caller with a token, even for public fields.
        let token = sign_in(&app, "customer@bistro.test").await;
        assert_eq!(
            cache_control(
                &app,
                "{ restaurants(first: 2) { nodes { name } } }",
                Some(&token)
            )
            .await,
            (200, private())
        );
        // POST: never.
        let response = app
            .client()
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(json!({ "query": "{ restaurants(first: 2) { nodes { name } } }" }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(header(&response, "cache-control"), private());
        app.stop().await;
    }
}

#[tokio::test]
async fn with_redis_down_a_hash_is_a_miss_and_the_text_is_served() {
    let Some(mut redis) = bistro_tests::redis::OwnRedis::start().await else {
        return;
    };
    let url = redis.url();
    let app = TestApp::spawn_with(&StorePair::Embedded, |c| c.redis_url = url).await;
    let text = "query Names { restaurants(first: 2) { nodes { name } } }";
    let hash = sha256_hex(text);
    redis.stop().await;
    // The link is told to send the text, and the text is served: APQ never
    // fails a request its store cannot answer.
    let (status, answer) = post(&app, &json!({ "extensions": apq(&hash) }), None).await;
    assert_eq!(status, 400);
    assert_eq!(
        error_codes(&answer),
        ["PERSISTED_QUERY_NOT_FOUND"],
        "{answer:#}"
    );
    let (status, answer) = post(
        &app,
        &json!({ "query": text, "extensions": apq(&hash) }),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(
        answer["data"]["restaurants"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // Back: registered by the next text, then a hit from the store.
    assert!(redis.launch().await, "redis restarted");
    until(|| async {
        let (status, _) = post(
            &app,
            &json!({ "query": text, "extensions": apq(&hash) }),
            None,
        )
        .await;
        let stored = bistro_data::persisted::document(&app.app.kv, &hash).await;
        (status == 200 && matches!(stored, Ok(Some(_)))).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn curls_if_none_match_is_answered_not_modified() {
    // `operations/persisted/curl-if-none-match.txt`: the tag and path curl sent.
    let curl = String::from_utf8(kept_bytes("curl-if-none-match.txt")).unwrap();
    let line = curl.lines().find(|l| l.starts_with("curl ")).unwrap();
    let tag = line
        .split("If-None-Match: ")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    let path = line.rsplit(" '").next().unwrap().trim_end_matches('\'');
    let sent = kept("apollo-apq.json");
    for pair in store_pairs() {
        // As clients/check.mjs's server answers: no round trips in the body.
        let app = TestApp::spawn_with(&pair, |c| c.graphql.expose_round_trips = false).await;
        assert_eq!(replay(&app, &sent[1], &[]).await.status(), 200);
        let response = app
            .client()
            .get(app.url(path))
            .header("if-none-match", tag)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            304,
            "[{}] the same data, the same tag",
            pair.name()
        );
        assert_eq!(header(&response, "etag"), tag);
        app.stop().await;
    }
}
