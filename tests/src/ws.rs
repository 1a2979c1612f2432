//! A raw WebSocket client for the live tests: it sends the frames
//! graphql-ws clients send (`tests/operations/ws/` keeps verbatim copies of
//! what the `graphql-ws` library and GraphiQL put on the wire) and shows
//! every frame the server answers with, close codes included.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The `graphql-transport-ws` subprotocol.
pub const TRANSPORT_WS: &str = "graphql-transport-ws";
/// The legacy `graphql-ws` subprotocol (subscriptions-transport-ws).
pub const LEGACY_WS: &str = "graphql-ws";

/// How long any single expected frame may take: generous, since it only
/// bounds a failing test.
const PATIENCE: Duration = Duration::from_secs(10);

/// What the server sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A protocol message.
    Message(Value),
    /// The server closed the connection with this code and reason.
    Closed(u16, String),
    /// The connection ended without a close frame.
    Ended,
}

/// One WebSocket connection to `/graphql/ws`.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Server ping frames seen so far.
    pub pings: usize,
}

impl WsClient {
    /// Opens a WebSocket offering `protocol` (none: no subprotocol header).
    pub async fn connect(url: &str, protocol: Option<&str>) -> Self {
        let mut request = url.into_client_request().expect("a WebSocket URL");
        if let Some(protocol) = protocol {
            request.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_str(protocol).expect("a header value"),
            );
        }
        let (socket, response) =
            tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
                .await
                .expect("connected in time")
                .expect("the upgrade succeeds");
        if let Some(protocol) = protocol {
            assert_eq!(
                response
                    .headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok()),
                Some(protocol),
                "the server speaks the subprotocol asked for"
            );
        }
        Self { socket, pings: 0 }
    }

    /// Sends a text frame as is.
    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .await
            .expect("sending a frame");
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    /// The next frame from the server (ping frames are counted and skipped).
    pub async fn frame(&mut self) -> Frame {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a frame from the server in time");
            match next {
                None => return Frame::Ended,
                Some(Err(error)) => {
                    eprintln!("websocket ended: {error}");
                    return Frame::Ended;
                }
                Some(Ok(Message::Text(text))) => {
                    return Frame::Message(serde_json::from_str(&text).expect("JSON"));
                }
                Some(Ok(Message::Close(Some(close)))) => {
                    return Frame::Closed(close.code.into(), close.reason.to_string());
                }
                Some(Ok(Message::Close(None))) => return Frame::Ended,
                Some(Ok(Message::Ping(_))) => self.pings += 1,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next message; panics on anything else.
    pub async fn message(&mut self) -> Value {
        match self.frame().await {
            Frame::Message(message) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Waits for the server to close; returns the code and reason. Panics
    /// if a message arrives first.
    pub async fn closed(&mut self) -> (u16, String) {
        match self.frame().await {
            Frame::Closed(code, reason) => (code, reason),
            other => panic!("expected the server to close, got {other:?}"),
        }
    }

    /// Sends `connection_init` with `payload` and expects `connection_ack`.
    pub async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let ack = self.message().await;
        assert_eq!(ack, json!({ "type": "connection_ack" }), "{ack}");
    }

    /// `connection_init` with the token as GraphiQL sends it (`Authorization`), or none.
    pub async fn init_as(&mut self, token: Option<&str>) {
        let payload = match token {
            Some(token) => json!({ "Authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        self.init(payload).await;
    }

    /// Starts an operation (`subscribe`).
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "id": id, "type": "subscribe",
            "payload": { "query": query, "variables": variables }
        }))
        .await;
    }

    /// The next message, which must be `next` for `id`: its payload.
    pub async fn next(&mut self, id: &str) -> Value {
        let message = self.message().await;
        assert_eq!(
            (&message["type"], &message["id"]),
            (&json!("next"), &json!(id)),
            "{message:#}"
        );
        message["payload"].clone()
    }

    /// Sends a `ping` and expects the `pong`: the connection is open and
    /// everything the server sent before the pong has been read.
    pub async fn round_trip(&mut self) {
        self.send(json!({ "type": "ping" })).await;
        let pong = self.message().await;
        assert_eq!(pong["type"], "pong", "{pong}");
    }
}
