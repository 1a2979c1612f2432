//! GraphQL over WebSocket at `/graphql/ws`: the `graphql-transport-ws`
//! protocol (the `graphql-ws` npm library, GraphiQL, Apollo's
//! `GraphQLWsLink`), and the legacy `graphql-ws` subprotocol of
//! `subscriptions-transport-ws` for older clients.
//!
//! Our own loop over the schema's streams rather than async-graphql's
//! handler, which answers an operation that fails to parse or validate
//! with `next` + `complete` (graphql-ws clients take that for a successful
//! stream), has no init timeout (4408) nor duplicate-id check (4409), and
//! closes authentication failures with 1002 (TECH-NOTES §1.7). Here, as the
//! protocol says:
//!
//! | situation | answer |
//! |---|---|
//! | a message that is not JSON, of an unknown type, or malformed | close 4400 |
//! | `subscribe` before `connection_ack` | close 4401 |
//! | a token refused at `connection_init` (invalid, expired, session ended) | close 4403 |
//! | the connection's token expires, or its session ends (logout on any replica) | close 4403, at once |
//! | no `connection_init` within `live.connection_init_timeout_ms` | close 4408 |
//! | `subscribe` with the id of a running operation | close 4409 |
//! | a second `connection_init` | close 4429 |
//! | an operation id longer than `live.max_operation_id_bytes` (128) | close 4400, as for any malformed message |
//! | no subprotocol, or one not spoken here | close 4406 |
//! | a client (address) that already holds `live.max_connections_per_client` sockets here | close 1013 (try again later) at once |
//! | `connection_init` or `ping` past the client's request budget | close 1013 (try again later) |
//! | an operation that fails to parse, be measured or validate | `error` for its id; the socket stays open |
//! | a subscription refused when it starts (`FORBIDDEN`, `NOT_FOUND`) | `next` with `data: null` and the error, then `complete`, as graphql-ws's own server does |
//! | the server shuts down | close 1001 (clients reconnect, to another replica) |
//!
//! 4403 is the code graphql-ws clients retry on: they reconnect and send
//! `connection_init` again with fresh connection params (a new token).
//! They reconnect after 1013 too, with their backoff, while they treat 4429
//! (and the other 44xx codes but 4403 and 4408) as final: so a temporary
//! refusal (too many sockets, the budget spent) is 1013, RFC 6455's "Try
//! Again Later", which the protocol leaves free for such conditions.
//!
//! Each `connection_init` and `ping` spends one request of the client's
//! budget (its user's when the token's signature holds, else its address's),
//! like every `subscribe`: a socket is no way around `rate_limit.requests_per_minute`.
//!
//! The token is read from `connection_init`'s payload, as GraphiQL sends
//! its headers there: `{ "Authorization": "Bearer …" }` (any case), or
//! `{ "token": "…" }`. No payload, or neither key, is an anonymous
//! connection (enough for `menuItemAvailability`). Tokens never ride the
//! upgrade request, so a page of another origin opening a socket here gains
//! nothing from the user's browser (there is no cookie to abuse).
//!
//! Queries and mutations may be sent over the socket as well (`next`, then
//! `complete`); they go through the HTTP pipeline (`Api::execute`) with the
//! connection's token and address, and its timeout.
//!
//! **Slow and vanished clients.** Every subscription has a bounded queue in
//! the live hub (`live.queue_capacity`, 64 events): the hub never waits for
//! a client. While this loop waits to write to a slow client, its queues
//! fill; a full queue drops its oldest event and the client is sent a
//! `MISSED_UPDATES` message before the newer ones, so it refetches. A
//! connection runs at most `live.max_operations` operations. The server
//! pings every `live.keepalive_secs` (WebSocket ping frames, which browsers
//! and every client library answer by themselves; `ka` messages too on the
//! legacy protocol), and a connection that sent nothing for two intervals is
//! dropped. A dropped connection drops its streams, which leave the hub.

use std::net::IpAddr;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use async_graphql::{Response, ServerError};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response as HttpResponse;
use bistro_schema::persisted::Incoming;
use bistro_schema::{Caller, ErrorCode, LiveConnection};
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::time::Instant;
use tokio_stream::StreamMap;

use crate::client_addr::ClientIp;
use crate::state::AppState;

/// The `graphql-transport-ws` subprotocol (graphql-ws 5+).
pub const TRANSPORT_WS: &str = "graphql-transport-ws";
/// The legacy `graphql-ws` subprotocol (subscriptions-transport-ws).
pub const LEGACY_WS: &str = "graphql-ws";

/// Smallest read buffer per connection: subscribers send little, and ten
/// thousand connections must not hold a 128 KiB buffer each (tungstenite's default).
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Which protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `graphql-transport-ws`.
    Transport,
    /// `graphql-ws` (subscriptions-transport-ws).
    Legacy,
}

/// `GET /graphql/ws`: the WebSocket upgrade.
pub async fn upgrade(
    State(state): State<AppState>,
    client: ClientIp,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let limit = state.config.http.body_limit_bytes;
    let upgrade = upgrade
        .protocols([TRANSPORT_WS, LEGACY_WS])
        .read_buffer_size(READ_BUFFER_BYTES)
        // Each message is flushed as it is sent; nothing waits in a buffer.
        .write_buffer_size(0)
        .max_message_size(limit)
        .max_frame_size(limit);
    let protocol = match upgrade.selected_protocol().and_then(|p| p.to_str().ok()) {
        Some(TRANSPORT_WS) => Some(Protocol::Transport),
        Some(LEGACY_WS) => Some(Protocol::Legacy),
        _ => None,
    };
    // Counted from the upgrade: a socket that never sends `connection_init`
    // holds a slot until its timeout closes it.
    let slot = state
        .live_connections
        .enter(client.0, state.config.live.max_connections_per_client);
    upgrade.on_upgrade(move |socket| async move {
        let mut socket = socket;
        let Some(protocol) = protocol else {
            let _ = close(&mut socket, 4406, "Subprotocol not acceptable").await;
            return;
        };
        let Some(slot) = slot else {
            tracing::debug!(client.address = %client.0, "a websocket over the per-client limit was closed");
            let _ = close(
                &mut socket,
                TRY_AGAIN_LATER,
                "Too many connections from this client; try again later",
            )
            .await;
            return;
        };
        Connection::new(socket, state, protocol, client.0)
            .run()
            .await;
        drop(slot);
    })
}

/// Close code 1013, "Try Again Later" (RFC 6455's registry): a temporary
/// condition. graphql-ws clients reconnect after it, with their backoff.
const TRY_AGAIN_LATER: u16 = 1013;

/// What ends a connection: a close frame to send (or none: the peer is gone).
struct Closed(Option<(u16, String)>);

impl Closed {
    fn with(code: u16, reason: impl Into<String>) -> Self {
        Self(Some((code, reason.into())))
    }

    fn gone() -> Self {
        Self(None)
    }
}

/// What an operation's stream yields to the loop.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per message, moved once into the loop; a box would cost an allocation per message"
)]
enum OperationEvent {
    /// A response; `first` for the operation's first.
    Response { response: Response, first: bool },
    /// The operation's stream ended.
    End,
}

type OperationStream = BoxStream<'static, OperationEvent>;

/// One WebSocket connection.
struct Connection {
    socket: WebSocket,
    state: AppState,
    protocol: Protocol,
    address: IpAddr,
    /// Running operations by id.
    operations: StreamMap<String, OperationStream>,
    /// When the client last sent anything (a pong frame included).
    last_heard: Instant,
}

impl Connection {
    fn new(socket: WebSocket, state: AppState, protocol: Protocol, address: IpAddr) -> Self {
        Self {
            socket,
            state,
            protocol,
            address,
            operations: StreamMap::new(),
            last_heard: Instant::now(),
        }
    }

    async fn run(mut self) {
        let closed = match self.initialise().await {
            Ok(connection) => self.serve(&connection).await,
            Err(closed) => closed,
        };
        if let Closed(Some((code, reason))) = closed {
            let _ = close(&mut self.socket, code, &reason).await;
        }
    }

    /// Until `connection_init` is accepted: the connection, acknowledged.
    async fn initialise(&mut self) -> Result<LiveConnection, Closed> {
        let settings = self.state.config.live.clone();
        let deadline = Instant::now() + settings.connection_init_timeout();
        let mut closing = self.state.closing.subscribe();
        loop {
            let message = tokio::select! {
                message = self.socket.recv() => message,
                () = tokio::time::sleep_until(deadline) => {
                    return Err(Closed::with(4408, "Connection initialisation timeout"));
                }
                () = shutting_down(&mut closing) => {
                    return Err(Closed::with(1001, "Server shutting down"));
                }
            };
            let Some(text) = self.text(message)? else {
                continue;
            };
            match parse(self.protocol, &text, settings.max_operation_id_bytes)? {
                ClientMessage::Init(payload) => {
                    let token = match token(payload.as_ref()) {
                        Ok(token) => token,
                        Err(reason) => return Err(self.refuse(reason).await),
                    };
                    // The budget first, as for a request: it is what sheds load.
                    let caller = Caller {
                        token: token.clone(),
                        address: Some(self.address),
                        ..Caller::default()
                    };
                    self.spend(&caller).await?;
                    return match self.state.api.connect(token, Some(self.address)).await {
                        Ok(connection) => {
                            self.send(&Outgoing::bare("connection_ack")).await?;
                            if self.protocol == Protocol::Legacy {
                                self.send(&Outgoing::bare("ka")).await?;
                            }
                            Ok(connection)
                        }
                        Err(failure) => Err(self.refuse(failure.message()).await),
                    };
                }
                ClientMessage::Ping => {
                    let caller = Caller {
                        token: None,
                        address: Some(self.address),
                        ..Caller::default()
                    };
                    self.spend(&caller).await?;
                    self.send(&Outgoing::bare("pong")).await?;
                }
                ClientMessage::Pong | ClientMessage::Complete(_) => {}
                ClientMessage::Subscribe { .. } => {
                    return Err(Closed::with(4401, "Unauthorized"));
                }
                ClientMessage::Terminate => return Err(Closed::gone()),
            }
        }
    }

    /// Spends one request of `caller`'s budget on a message; past the
    /// budget the connection closes with 1013, after which graphql-ws clients
    /// reconnect with their backoff (by then the budget's minute may be over).
    async fn spend(&mut self, caller: &Caller) -> Result<(), Closed> {
        self.state
            .api
            .spend_message(caller)
            .await
            .map_err(|limited| {
                Closed::with(
                    TRY_AGAIN_LATER,
                    format!(
                        "Too many requests; try again in {} s",
                        limited.retry_after_secs
                    ),
                )
            })
    }

    /// Refuses a `connection_init` (the legacy protocol hears why first).
    async fn refuse(&mut self, reason: &str) -> Closed {
        if self.protocol == Protocol::Legacy {
            let payload = serde_json::json!({ "message": reason });
            let _ = self
                .send(&Outgoing::with_payload("connection_error", None, &payload))
                .await;
        }
        Closed::with(4403, format!("Forbidden: {reason}"))
    }

    /// After `connection_ack`: operations, until the connection ends.
    async fn serve(&mut self, connection: &LiveConnection) -> Closed {
        let settings = self.state.config.live.clone();
        let keepalive = settings.keepalive();
        let mut ping = tokio::time::interval_at(Instant::now() + keepalive, keepalive);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The token's last instant: then the connection closes, so the
        // client signs in again (refresh) and reconnects.
        let expiry = connection.expires_in().map(|left| Instant::now() + left);
        let mut closing = self.state.closing.subscribe();
        loop {
            let step = tokio::select! {
                message = self.socket.recv() => match self.text(message) {
                    Ok(Some(text)) => self.on_message(connection, &text).await,
                    Ok(None) => Ok(()),
                    Err(closed) => Err(closed),
                },
                Some((id, event)) = self.operations.next(), if !self.operations.is_empty() => {
                    self.on_operation(&id, event).await
                }
                () = sleep_until(expiry) => {
                    Err(Closed::with(4403, "Forbidden: the access token has expired"))
                }
                () = connection.session_ended() => {
                    Err(Closed::with(4403, "Forbidden: the session has ended"))
                }
                _ = ping.tick() => self.keep_alive(keepalive).await,
                () = shutting_down(&mut closing) => {
                    Err(Closed::with(1001, "Server shutting down"))
                }
            };
            if let Err(closed) = step {
                return closed;
            }
        }
    }

    /// Pings, or gives up on a client that has been silent for two intervals.
    async fn keep_alive(&mut self, keepalive: Duration) -> Result<(), Closed> {
        if self.last_heard.elapsed() > keepalive * 2 {
            tracing::debug!("websocket client silent for two keepalive intervals; dropped");
            return Err(Closed::gone());
        }
        self.socket
            .send(Message::Ping(axum::body::Bytes::new()))
            .await
            .map_err(|_| Closed::gone())?;
        if self.protocol == Protocol::Legacy {
            self.send(&Outgoing::bare("ka")).await?;
        }
        Ok(())
    }

    /// The text of a frame: `None` for control frames, an error when the
    /// connection ended or the frame cannot carry a message.
    fn text(
        &mut self,
        message: Option<Result<Message, axum::Error>>,
    ) -> Result<Option<Utf8Bytes>, Closed> {
        self.last_heard = Instant::now();
        match message {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Err(Closed::gone()),
            Some(Ok(Message::Text(text))) => Ok(Some(text)),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(None),
            Some(Ok(Message::Binary(_))) => Err(Closed::with(
                4400,
                "Invalid message received: binary frames are not supported",
            )),
        }
    }

    async fn on_message(&mut self, connection: &LiveConnection, text: &str) -> Result<(), Closed> {
        let max_id_bytes = self.state.config.live.max_operation_id_bytes;
        match parse(self.protocol, text, max_id_bytes)? {
            ClientMessage::Init(_) => Err(Closed::with(4429, "Too many initialisation requests")),
            ClientMessage::Ping => {
                self.spend(connection.caller()).await?;
                self.send(&Outgoing::bare("pong")).await
            }
            ClientMessage::Pong => Ok(()),
            ClientMessage::Terminate => Err(Closed::gone()),
            ClientMessage::Complete(id) => {
                self.operations.remove(&id);
                Ok(())
            }
            ClientMessage::Subscribe { id, payload } => {
                if self.operations.contains_key(&id) {
                    match self.protocol {
                        Protocol::Transport => {
                            return Err(Closed::with(
                                4409,
                                format!("Subscriber for {id} already exists"),
                            ));
                        }
                        // subscriptions-transport-ws restarts an operation started again.
                        Protocol::Legacy => {
                            self.operations.remove(&id);
                        }
                    }
                }
                let incoming = crate::graphql_http::build_request(payload).map_err(|message| {
                    Closed::with(4400, format!("Invalid message received: {message}"))
                })?;
                let max = self.state.config.live.max_operations;
                if self.operations.len() >= max {
                    let error = ErrorCode::MaxOperationsExceeded.server_error(format!(
                        "This connection already runs {max} operations; complete one first."
                    ));
                    return self.send_error(&id, &[error]).await;
                }
                let stream = self.operation(connection, incoming);
                self.operations.insert(id, stream);
                Ok(())
            }
        }
    }

    /// The stream of one operation: a subscription's events, or the one
    /// response of a query or mutation. Its document is resolved first
    /// (text, `documentId`, or an APQ hash; with
    /// `graphql.trusted_documents_only`, one no manifest lists is refused
    /// unless the connection's viewer is an administrator), then the
    /// operation's type decides how it runs.
    fn operation(&self, connection: &LiveConnection, incoming: Incoming) -> OperationStream {
        let state = self.state.clone();
        let caller = connection.caller().clone();
        let viewer = connection.viewer().clone();
        let address = self.address;
        // Each operation is a request of its own to traces: its span starts
        // a trace (a connection outlives any one trace).
        let traced = state.config.telemetry.enabled();
        let span = crate::telemetry::request_span(traced, &axum::http::HeaderMap::new());
        let start = async move {
            let once = |response: Response| -> BoxStream<'static, Response> {
                futures_util::stream::once(std::future::ready(response)).boxed()
            };
            let prepared = match state.api.prepare(incoming, &caller, Some(viewer)).await {
                Ok(prepared) => prepared,
                Err(response) => return once(response),
            };
            crate::telemetry::name_request(
                traced,
                prepared.operation_type(),
                prepared.operation_name(),
            );
            // The router secret guards `_service` and `_entities` on every
            // transport; routers send them over HTTP only, where the header is.
            if state.config.federation.router_secret().is_some()
                && prepared.document().selects_router_fields()
            {
                tracing::warn!(
                    client.address = %address,
                    "a WebSocket operation for _service or _entities was refused: the router secret is set"
                );
                return once(Response::from_errors(vec![ErrorCode::Unauthenticated.server_error(
                    "`_service` and `_entities` are for the federation router, over HTTP with its shared secret.",
                )]));
            }
            match prepared.operation_type() {
                Some(OperationType::Query | OperationType::Mutation) => {
                    let prepared = match state.api.authenticate_again(prepared, &caller).await {
                        Ok(prepared) => prepared,
                        Err(response) => return once(response),
                    };
                    let timeout = state.config.request_timeout();
                    once(
                        match tokio::time::timeout(timeout, state.api.run(prepared)).await {
                            Ok(response) => response,
                            Err(_) => Response::from_errors(vec![ErrorCode::Timeout.server_error(
                                format!("The request took longer than {} ms.", timeout.as_millis()),
                            )]),
                        },
                    )
                }
                // Subscriptions, and documents whose operation cannot be told:
                // execution reports what is wrong with them.
                _ if !traced => state.api.subscribe(prepared),
                _ => {
                    let events = crate::telemetry::event_spans(prepared.operation_name());
                    let start = tracing::Span::current();
                    bistro_schema::live::traced(state.api.subscribe(prepared), start, events)
                }
            }
        };
        let responses =
            futures_util::stream::once(tracing::Instrument::instrument(start, span)).flatten();
        responses
            .enumerate()
            .map(|(n, response)| OperationEvent::Response {
                response,
                first: n == 0,
            })
            .chain(futures_util::stream::once(std::future::ready(
                OperationEvent::End,
            )))
            .boxed()
    }

    async fn on_operation(&mut self, id: &str, event: OperationEvent) -> Result<(), Closed> {
        match event {
            OperationEvent::Response { response, first } => {
                if first && is_request_error(&response) {
                    // Nothing ran: the protocol's `error`, and no `complete`.
                    self.operations.remove(id);
                    return self.send_error(id, &response.errors).await;
                }
                let payload = ResponsePayload {
                    data: &response.data,
                    errors: &response.errors,
                    extensions: &response.extensions,
                };
                let kind = match self.protocol {
                    Protocol::Transport => "next",
                    Protocol::Legacy => "data",
                };
                self.send(&Outgoing::with_payload(kind, Some(id), &payload))
                    .await
            }
            OperationEvent::End => self.send(&Outgoing::id_only("complete", id)).await,
        }
    }

    async fn send_error(&mut self, id: &str, errors: &[ServerError]) -> Result<(), Closed> {
        self.send(&Outgoing::with_payload("error", Some(id), &errors))
            .await
    }

    async fn send<P: Serialize>(&mut self, message: &Outgoing<'_, P>) -> Result<(), Closed> {
        let text = serde_json::to_string(message).map_err(|error| {
            tracing::error!(%error, "websocket message did not serialise");
            Closed::with(1011, "Internal server error")
        })?;
        self.socket
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| Closed::gone())
    }
}

/// Resolves when the server starts shutting down.
async fn shutting_down(closing: &mut tokio::sync::watch::Receiver<bool>) {
    // An error means the server is gone: shutting down too.
    let _ = closing.wait_for(|closing| *closing).await;
}

/// Sleeps until `at`, or forever.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) -> Result<(), axum::Error> {
    // A close reason is at most 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason[..end].into(),
        })))
        .await
}

/// Whether a first response is a request error: nothing was executed (a
/// parse, limit or validation failure, a refused budget or token), or the
/// operation's variables do not fit it (async-graphql finds those when the
/// root field reads its arguments, so they carry its path; the schema
/// codes them `GRAPHQL_VALIDATION_FAILED`, as HTTP answers them).
fn is_request_error(response: &Response) -> bool {
    let validation = async_graphql::Value::from(ErrorCode::GraphqlValidationFailed.as_str());
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| {
            error.path.is_empty()
                || error
                    .extensions
                    .as_ref()
                    .and_then(|extensions| extensions.get("code"))
                    == Some(&validation)
        })
}

/// A message from the client, in either protocol.
#[derive(Debug)]
enum ClientMessage {
    /// `connection_init`, with its payload.
    Init(Option<Map<String, Value>>),
    /// `ping` (graphql-transport-ws).
    Ping,
    /// `pong` (graphql-transport-ws).
    Pong,
    /// `subscribe` (`start` in the legacy protocol).
    Subscribe {
        id: String,
        payload: Map<String, Value>,
    },
    /// `complete` (`stop` in the legacy protocol).
    Complete(String),
    /// `connection_terminate` (legacy).
    Terminate,
}

/// Reads a client message; anything malformed closes with 4400, the
/// protocol's answer to a message of a format it does not specify: an
/// operation id longer than `max_id_bytes` among them (graphql-ws clients
/// make 36-byte UUIDs).
fn parse(protocol: Protocol, text: &str, max_id_bytes: usize) -> Result<ClientMessage, Closed> {
    let invalid = |why: &str| Closed::with(4400, format!("Invalid message received: {why}"));
    let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text) else {
        return Err(invalid("not a JSON object"));
    };
    let Some(Value::String(kind)) = message.remove("type") else {
        return Err(invalid("no `type`"));
    };
    let id = |message: &mut Map<String, Value>| match message.remove("id") {
        Some(Value::String(id)) if id.len() > max_id_bytes => Err(invalid(&format!(
            "`id` is longer than {max_id_bytes} bytes"
        ))),
        Some(Value::String(id)) if !id.is_empty() => Ok(id),
        _ => Err(invalid("no `id`")),
    };
    let payload = |message: &mut Map<String, Value>| match message.remove("payload") {
        Some(Value::Object(payload)) => Ok(Some(payload)),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(invalid("`payload` must be an object")),
    };
    Ok(match (protocol, kind.as_str()) {
        (_, "connection_init") => ClientMessage::Init(payload(&mut message)?),
        (Protocol::Transport, "ping") => ClientMessage::Ping,
        (Protocol::Transport, "pong") => ClientMessage::Pong,
        (Protocol::Transport, "subscribe") | (Protocol::Legacy, "start") => {
            let id = id(&mut message)?;
            let payload = payload(&mut message)?.ok_or_else(|| invalid("no `payload`"))?;
            ClientMessage::Subscribe { id, payload }
        }
        (Protocol::Transport, "complete") | (Protocol::Legacy, "stop") => {
            ClientMessage::Complete(id(&mut message)?)
        }
        (Protocol::Legacy, "connection_terminate") => ClientMessage::Terminate,
        (_, other) => return Err(invalid(&format!("unknown type `{other}`"))),
    })
}

/// The access token of a `connection_init` payload: `Authorization: Bearer …`
/// (any case, as GraphiQL sends its headers) or `token`. `Ok(None)`: anonymous.
fn token(payload: Option<&Map<String, Value>>) -> Result<Option<String>, &'static str> {
    let Some(payload) = payload else {
        return Ok(None);
    };
    if let Some((_, value)) = payload
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
    {
        return value
            .as_str()
            .and_then(crate::graphql_http::parse_bearer)
            .map(Some)
            .ok_or("Authorization must be `Bearer <access token>`.");
    }
    match payload.get("token") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(token)) if !token.is_empty() => Ok(Some(token.clone())),
        Some(_) => Err("`token` must be the access token, a string."),
    }
}

/// A message to the client.
#[derive(Serialize)]
struct Outgoing<'a, P: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a P>,
}

impl<'a> Outgoing<'a, ()> {
    fn bare(kind: &'static str) -> Self {
        Self {
            kind,
            id: None,
            payload: None,
        }
    }

    fn id_only(kind: &'static str, id: &'a str) -> Self {
        Self {
            kind,
            id: Some(id),
            payload: None,
        }
    }
}

impl<'a, P: Serialize> Outgoing<'a, P> {
    fn with_payload(kind: &'static str, id: Option<&'a str>, payload: &'a P) -> Self {
        Self {
            kind,
            id,
            payload: Some(payload),
        }
    }
}

/// A `next` message's payload: an execution result.
#[derive(Serialize)]
struct ResponsePayload<'a> {
    data: &'a async_graphql::Value,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init(payload: Value) -> Result<Option<String>, &'static str> {
        token(payload.as_object())
    }

    #[test]
    fn tokens_come_from_the_headers_graphiql_sends_or_a_token_key() {
        use serde_json::json;
        assert_eq!(init(json!({})), Ok(None));
        assert_eq!(token(None), Ok(None));
        assert_eq!(
            init(json!({"Authorization": "Bearer abc"})),
            Ok(Some("abc".into()))
        );
        assert_eq!(
            init(json!({"authorization": "bearer  abc "})),
            Ok(Some("abc".into()))
        );
        assert_eq!(init(json!({"token": "abc"})), Ok(Some("abc".into())));
        assert!(init(json!({"Authorization": "abc"})).is_err());
        assert!(init(json!({"Authorization": 3})).is_err());
        assert!(init(json!({"token": 3})).is_err());
    }

    #[test]
    fn malformed_messages_are_told_apart_from_good_ones() {
        let bad = |protocol, text: &str| {
            matches!(parse(protocol, text, 128), Err(Closed(Some((4400, _)))))
        };
        assert!(bad(Protocol::Transport, "not json"));
        assert!(bad(
            Protocol::Transport,
            r#"{"type":"subscribe","payload":{}}"#
        ));
        assert!(bad(
            Protocol::Transport,
            r#"{"type":"start","id":"1","payload":{}}"#
        ));
        assert!(bad(
            Protocol::Transport,
            r#"{"type":"connection_init","payload":3}"#
        ));
        assert!(bad(Protocol::Legacy, r#"{"type":"ping"}"#));
        assert!(matches!(
            parse(
                Protocol::Transport,
                r#"{"type":"subscribe","id":"1","payload":{"query":"{a}"}}"#,
                128
            ),
            Ok(ClientMessage::Subscribe { .. })
        ));
        assert!(matches!(
            parse(Protocol::Legacy, r#"{"type":"stop","id":"1"}"#, 128),
            Ok(ClientMessage::Complete(_))
        ));
        // Ids up to the limit, in bytes: 128 ASCII, not 43 three-byte characters.
        let subscribe = |id: &str| {
            format!(r#"{{"type":"subscribe","id":"{id}","payload":{{"query":"{{a}}"}}}}"#)
        };
        assert!(parse(Protocol::Transport, &subscribe(&"x".repeat(128)), 128).is_ok());
        assert!(bad(Protocol::Transport, &subscribe(&"x".repeat(129))));
        assert!(bad(Protocol::Transport, &subscribe(&"€".repeat(43))));
        assert!(bad(
            Protocol::Transport,
            &format!(r#"{{"type":"complete","id":"{}"}}"#, "x".repeat(129))
        ));
    }
}
