//! The limits of live connections, on both store pairs: operation ids of at
//! most `live.max_operation_id_bytes` (longer: close 4400, a malformed
//! message), at most `live.max_connections_per_client` sockets per address
//! (one more: close 1013, which graphql-ws clients retry after), and
//! `connection_init` and `ping` spent from the request budget like requests.
//! What the clients people use send still works: the frames of
//! `tests/operations/ws/` replayed under the budget.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bistro_schema::ids::NodeType;
use bistro_tests::ws::{TRANSPORT_WS, WsClient};
use bistro_tests::{TestApp, error_codes, store_pairs};
use serde_json::json;

use crate::ordering::gid;
use crate::rate_limits::fresh_window;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn menu_subscription() -> &'static str {
    "subscription($restaurantId: ID!) { menuItemAvailability(restaurantId: $restaurantId) { kind } }"
}

/// Waits (ten seconds at most) until the server counts `open` sockets of 127.0.0.1.
async fn open_sockets(app: &TestApp, open: usize) {
    for _ in 0..1000 {
        if app.app.live_connections.open(LOCALHOST) == open {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "[{}] {} sockets open, expected {open}",
        app.pair.name(),
        app.app.live_connections.open(LOCALHOST)
    );
}

#[tokio::test]
async fn operation_ids_longer_than_the_limit_close_the_socket_with_4400() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let variables = json!({ "restaurantId": gid(NodeType::Restaurant, 1) });
        let max = app.app.config.live.max_operation_id_bytes;
        assert_eq!(max, 128);

        // 128 bytes is fine: a query answers under its id, a subscription runs.
        let mut ws = app.ws().await;
        ws.init_as(None).await;
        let id = "q".repeat(max);
        ws.subscribe(&id, "{ restaurants(first: 1) { totalCount } }", json!({}))
            .await;
        let answer = ws.next(&id).await;
        assert!(
            answer["data"]["restaurants"]["totalCount"].is_u64(),
            "{answer}"
        );
        assert_eq!(ws.message().await, json!({ "type": "complete", "id": id }));
        let id = "s".repeat(max);
        ws.subscribe(&id, menu_subscription(), variables.clone())
            .await;
        ws.round_trip().await;

        // 129 bytes, or 43 three-byte characters: a malformed message.
        for id in ["x".repeat(max + 1), "€".repeat(43)] {
            let mut ws = app.ws().await;
            ws.init_as(None).await;
            ws.subscribe(&id, menu_subscription(), variables.clone())
                .await;
            let (code, reason) = ws.closed().await;
            assert_eq!(code, 4400, "[{}] {reason}", pair.name());
            assert_eq!(
                reason,
                format!("Invalid message received: `id` is longer than {max} bytes")
            );
        }
        // `complete` carries the id too.
        let mut ws = app.ws().await;
        ws.init_as(None).await;
        ws.send(json!({ "type": "complete", "id": "x".repeat(max + 1) }))
            .await;
        assert_eq!(ws.closed().await.0, 4400);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_client_holds_at_most_so_many_sockets_and_the_next_is_closed_with_1013() {
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| c.live.max_connections_per_client = 2).await;
        let name = pair.name();
        let mut first = app.ws().await;
        first.init_as(None).await;
        let mut second = app.ws().await;
        second.init_as(None).await;
        open_sockets(&app, 2).await;

        // Refused as it opens, before any connection_init.
        let mut third = app.ws().await;
        let (code, reason) = third.closed().await;
        assert_eq!(code, 1013, "[{name}] {reason}");
        assert_eq!(
            reason,
            "Too many connections from this client; try again later"
        );
        // The ones open go on.
        first.round_trip().await;

        // A socket that ends gives its place back.
        drop(second);
        open_sockets(&app, 1).await;
        let mut again = app.ws().await;
        again.init_as(None).await;
        again.round_trip().await;
        open_sockets(&app, 2).await;
        drop((first, again));
        open_sockets(&app, 0).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn connection_init_and_ping_are_spent_from_the_request_budget() {
    fresh_window(Duration::from_secs(60), Duration::from_secs(15)).await;
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| c.rate_limit.requests_per_minute = 4).await;
        let name = pair.name();
        let mut ws = app.ws().await;
        // 1: connection_init; 2, 3: pings; 4: a query over the socket.
        ws.init_as(None).await;
        ws.round_trip().await;
        ws.round_trip().await;
        ws.subscribe("1", "{ restaurants(first: 1) { totalCount } }", json!({}))
            .await;
        assert!(ws.next("1").await["data"]["restaurants"].is_object());
        assert_eq!(ws.message().await, json!({ "type": "complete", "id": "1" }));
        // 5: a ping past the budget closes the socket, as graphql-ws retries.
        ws.send(json!({ "type": "ping" })).await;
        let (code, reason) = ws.closed().await;
        assert_eq!(code, 1013, "[{name}] {reason}");
        assert!(
            reason.starts_with("Too many requests; try again in "),
            "{reason}"
        );

        // A new socket's connection_init is refused the same way (the
        // address's budget is spent), and so is a request over HTTP.
        let mut ws = WsClient::connect(&app.ws_url(), Some(TRANSPORT_WS)).await;
        ws.send(json!({ "type": "connection_init" })).await;
        assert_eq!(ws.closed().await.0, 1013);
        let (status, body) = app
            .graphql("{ restaurants(first: 1) { totalCount } }", json!({}))
            .await;
        assert_eq!(status, 429);
        assert_eq!(error_codes(&body), ["RATE_LIMITED"]);
        app.stop().await;
    }
}

#[tokio::test]
async fn what_graphiql_and_graphql_ws_send_fits_a_production_budget() {
    fresh_window(Duration::from_secs(60), Duration::from_secs(15)).await;
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |c| c.rate_limit.requests_per_minute = 600).await;
        let restaurant = gid(NodeType::Restaurant, 1);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("operations/ws/graphql-ws.menu-item-availability.jsonl");
        let frames: Vec<String> = std::fs::read_to_string(path)
            .unwrap()
            .replace("{{restaurantId}}", &restaurant)
            .lines()
            .map(str::to_owned)
            .collect();
        let mut ws = app.ws().await;
        ws.send_text(&frames[0]).await;
        assert_eq!(ws.message().await, json!({ "type": "connection_ack" }));
        ws.send_text(&frames[1]).await;
        ws.send_text(&frames[2]).await;
        assert_eq!(
            ws.message().await,
            json!({ "type": "pong" }),
            "[{}]",
            pair.name()
        );
        ws.send_text(&frames[3]).await;
        ws.round_trip().await;
        app.stop().await;
    }
}
