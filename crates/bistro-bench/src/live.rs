//! W4, live updates, and the memory of sockets opened and dropped: a
//! WebSocket load client of our own (wrk and oha do not speak WebSocket),
//! on tokio-tungstenite, against the release server as its own process.
//!
//! **W4** (`bistro-bench live`): N subscribers, nine in ten anonymous to
//! `menuItemAvailability` of one of 100 restaurants (spread evenly), one in
//! ten signed-in customers to `orderUpdated` of an order of their own,
//! placed through checkout before the run. Then events are raised at a fixed
//! rate through the API as an administrator: availability toggles of the
//! 100 restaurants' items and staff transitions of the customers' orders,
//! alternately. Each event is expected by every subscriber it concerns (a
//! toggle: its restaurant's menu subscribers; a transition: its customer);
//! the client counts what arrives and measures, for each delivery, the time
//! from the event's `at` (the server's clock; same machine) to its arrival,
//! with the millisecond resolution `at` has.
//!
//! **Socket memory** (`bistro-bench socket-memory`): after a warm-up round,
//! rounds of N sockets (nine in ten anonymous menu subscribers, one in ten
//! signed-in `restaurantOrders` subscribers) that each hear a few events and
//! are then dropped without a closing handshake (half with a FIN, half with a
//! reset); the server's resident memory after each round, against the
//! first's.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::server::Server;

/// The documents subscribers send, shared with the test suite.
const MENU_DOCUMENT: &str = include_str!("../../../tests/operations/MenuItemAvailability.graphql");
const ORDER_DOCUMENT: &str = include_str!("../../../tests/operations/OrderUpdated.graphql");
const KITCHEN_DOCUMENT: &str = "subscription Kitchen($restaurantId: ID!) { restaurantOrders(restaurantId: $restaurantId) { kind to at order { status } } }";

/// Restaurants whose menus are followed.
const RESTAURANTS: usize = 100;
/// Sockets connecting at once.
const CONNECTING: usize = 256;

/// One subscriber's measurements.
#[derive(Debug, Default)]
struct Heard {
    /// Milliseconds from each event's `at` to its arrival.
    latencies_ms: Vec<f64>,
    /// Whether this subscriber follows an order (else a menu).
    order: bool,
    /// `MISSED_UPDATES` messages.
    missed: u64,
    /// Errors in `next` payloads, `error` messages, closes.
    errors: u64,
}

/// What a W4 run measured.
#[derive(Debug, Clone)]
pub struct W4Result {
    /// Subscribers in all.
    pub subscribers: usize,
    /// Of those, following an order.
    pub order_subscribers: usize,
    /// Seconds until every subscriber was connected and subscribed.
    pub connect_secs: f64,
    /// Toggles and transitions raised.
    pub raised: (u64, u64),
    /// Raises the API refused.
    pub refused: u64,
    /// Deliveries the raised events owe their subscribers.
    pub expected: u64,
    /// Deliveries that arrived.
    pub delivered: u64,
    /// `MISSED_UPDATES` messages, errors.
    pub missed: u64,
    /// Errors seen by subscribers.
    pub errors: u64,
    /// Latency percentiles (ms): p50, p99, max.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest delivery.
    pub max_ms: f64,
    /// p99 of menu deliveries and of order deliveries.
    pub p99_by_kind_ms: (f64, f64),
    /// Server CPU over the raising window, percent of one core.
    pub server_cpu_percent: f64,
    /// Server resident memory with every subscriber connected, MiB.
    pub server_rss_mib: f64,
}

/// The admin's token, the restaurants followed and their items.
struct Fixture {
    admin: String,
    /// Restaurant ids, followed by menu subscribers.
    restaurants: Vec<String>,
    /// Per restaurant: items to toggle, with their availability now.
    toggles: Vec<Vec<(String, bool)>>,
    /// Per restaurant: an item anyone may order without options.
    orderable: Vec<Option<String>>,
}

async fn graphql(
    server: &Server,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let mut request = server
        .client()
        .post(server.url("/graphql"))
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body: Value = request
        .body(json!({ "query": query, "variables": variables }).to_string())
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(body.get("errors").is_none(), "{body}");
    Ok(body["data"].clone())
}

async fn login(server: &Server, email: &str) -> anyhow::Result<String> {
    let data = graphql(
        server,
        None,
        "mutation($input: LoginInput!) { login(input: $input) { session { accessToken } userErrors { code } } }",
        json!({ "input": { "email": email, "password": bistro_server::seed::DEMO_PASSWORD } }),
    )
    .await?;
    Ok(data["login"]["session"]["accessToken"]
        .as_str()
        .with_context(|| format!("signing in {email}: {data}"))?
        .to_owned())
}

async fn fixture(server: &Server) -> anyhow::Result<Fixture> {
    let admin = login(server, "admin@bistro.test").await?;
    let data = graphql(
        server,
        None,
        "{ restaurants(first: 100) { edges { node { id menu(first: 10) { edges { node { \
           id available stockRemaining optionGroups { required } } } } } } } }",
        json!({}),
    )
    .await?;
    let mut fixture = Fixture {
        admin,
        restaurants: Vec::new(),
        toggles: Vec::new(),
        orderable: Vec::new(),
    };
    for edge in data["restaurants"]["edges"]
        .as_array()
        .context("restaurants")?
    {
        let node = &edge["node"];
        fixture
            .restaurants
            .push(node["id"].as_str().context("id")?.to_owned());
        let mut toggles = Vec::new();
        let mut orderable = None;
        for item in node["menu"]["edges"].as_array().context("menu")? {
            let item = &item["node"];
            let id = item["id"].as_str().context("item id")?.to_owned();
            let unlimited = item["stockRemaining"].is_null();
            let plain = item["optionGroups"]
                .as_array()
                .is_some_and(|groups| groups.iter().all(|g| g["required"] == false));
            let available = item["available"] == true;
            if unlimited && plain && available && orderable.is_none() {
                // Ordered by the customers, never toggled.
                orderable = Some(id);
            } else {
                toggles.push((id, available));
            }
        }
        fixture.toggles.push(toggles);
        fixture.orderable.push(orderable);
    }
    anyhow::ensure!(
        fixture.restaurants.len() == RESTAURANTS,
        "the data set has fewer than {RESTAURANTS} restaurants"
    );
    Ok(fixture)
}

/// One customer with a placed order: `(token, order id)`.
async fn customer_with_order(
    server: &Server,
    fixture: &Fixture,
    n: usize,
) -> anyhow::Result<(String, String)> {
    let token = login(server, &format!("customer{}@bistro.test", n + 1)).await?;
    let restaurant = (0..RESTAURANTS)
        .map(|k| (n + k) % RESTAURANTS)
        .find(|r| fixture.orderable[*r].is_some())
        .context("no restaurant with an item to order")?;
    let item = fixture.orderable[restaurant].clone().unwrap_or_default();
    let added = graphql(
        server,
        Some(&token),
        "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { subtotal { amount } } userErrors { code message } } }",
        json!({ "input": { "menuItemId": item, "quantity": 1, "replaceCart": true } }),
    )
    .await?;
    let total = added["addToCart"]["cart"]["subtotal"]["amount"]
        .as_str()
        .with_context(|| format!("adding to the cart: {added}"))?
        .to_owned();
    let placed = graphql(
        server,
        Some(&token),
        "mutation($input: CheckoutInput!) { checkout(input: $input) { order { id } userErrors { code message } } }",
        json!({ "input": { "fulfilment": "PICKUP", "paymentToken": "tok_visa",
            "idempotencyKey": format!("w4-{}-{n}", Utc::now().timestamp_micros()),
            "expectedTotal": total } }),
    )
    .await?;
    let order = placed["checkout"]["order"]["id"]
        .as_str()
        .with_context(|| format!("checking out: {placed}"))?
        .to_owned();
    Ok((token, order))
}

/// What a subscriber follows.
#[derive(Debug, Clone)]
enum Follow {
    /// `menuItemAvailability`, anonymous.
    Menu { restaurant: String },
    /// `orderUpdated`, as the order's customer.
    Order { token: String, order: String },
    /// `restaurantOrders`, as an administrator.
    Kitchen { token: String, restaurant: String },
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects, initialises, subscribes, and proves the subscription started
/// (two ping round trips: the server starts an operation on the loop turn
/// after reading it).
async fn subscribe(url: &str, follow: &Follow) -> anyhow::Result<Socket> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
    let (init, query, variables) = match follow {
        Follow::Menu { restaurant } => (
            json!({ "type": "connection_init" }),
            MENU_DOCUMENT,
            json!({ "restaurantId": restaurant }),
        ),
        Follow::Order { token, order } => (
            json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
            ORDER_DOCUMENT,
            json!({ "orderId": order }),
        ),
        Follow::Kitchen { token, restaurant } => (
            json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
            KITCHEN_DOCUMENT,
            json!({ "restaurantId": restaurant }),
        ),
    };
    socket.send(Message::text(init.to_string())).await?;
    expect(&mut socket, "connection_ack").await?;
    let subscribe = json!({ "id": "1", "type": "subscribe",
        "payload": { "query": query, "variables": variables } });
    socket.send(Message::text(subscribe.to_string())).await?;
    for _ in 0..2 {
        socket
            .send(Message::text(r#"{"type":"ping"}"#.to_owned()))
            .await?;
        expect(&mut socket, "pong").await?;
    }
    Ok(socket)
}

async fn expect(socket: &mut Socket, kind: &str) -> anyhow::Result<()> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .with_context(|| format!("waiting for {kind}"))?
            .with_context(|| format!("closed before {kind}"))??;
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text)?;
            anyhow::ensure!(value["type"] == kind, "expected {kind}, got {value}");
            return Ok(());
        }
        if let Message::Close(frame) = message {
            anyhow::bail!("closed before {kind}: {frame:?}");
        }
    }
}

/// Reads a subscriber's socket until told to stop: what it heard.
async fn listen(
    mut socket: Socket,
    mut stop: watch::Receiver<bool>,
    delivered: Arc<AtomicU64>,
) -> (Socket, Heard) {
    let mut heard = Heard::default();
    loop {
        let message = tokio::select! {
            message = socket.next() => message,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => {
                heard.errors += 1;
                break;
            }
        };
        let arrived = Utc::now();
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            heard.errors += 1;
            continue;
        };
        if value["type"] != "next" {
            heard.errors += 1;
            continue;
        }
        let payload = &value["payload"];
        if payload.get("errors").is_some() {
            heard.errors += 1;
        }
        let Some(update) = payload["data"].as_object().and_then(|d| d.values().next()) else {
            heard.errors += 1;
            continue;
        };
        heard.order = update.get("orderId").is_some();
        if update["kind"] == "MISSED_UPDATES" {
            heard.missed += 1;
            continue;
        }
        delivered.fetch_add(1, Ordering::Relaxed);
        if let Some(at) = update["at"]
            .as_str()
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        {
            let latency = arrived.signed_duration_since(at.with_timezone(&Utc));
            heard
                .latencies_ms
                .push(latency.num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
    }
    (socket, heard)
}

/// Subscribers, connected and listening.
struct Crowd {
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<(Socket, Heard)>>>,
    stop: watch::Sender<bool>,
    delivered: Arc<AtomicU64>,
    connect_secs: f64,
}

/// Connects every follower (at most [`CONNECTING`] at once); returns once
/// all are subscribed.
async fn gather(server: &Server, follows: Vec<Follow>) -> anyhow::Result<Crowd> {
    let url = server.url("/graphql/ws").replacen("http", "ws", 1);
    let (stop, stopped) = watch::channel(false);
    let delivered = Arc::new(AtomicU64::new(0));
    let gate = Arc::new(Semaphore::new(CONNECTING));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<anyhow::Result<()>>();
    let started = Instant::now();
    let total = follows.len();
    let mut tasks = Vec::with_capacity(total);
    for follow in follows {
        let url = url.clone();
        let gate = gate.clone();
        let stopped = stopped.clone();
        let delivered = delivered.clone();
        let ready = ready_tx.clone();
        tasks.push(tokio::spawn(async move {
            let socket = {
                let _permit = gate.acquire().await?;
                subscribe(&url, &follow).await
            };
            match socket {
                Ok(socket) => {
                    let _ = ready.send(Ok(()));
                    Ok(listen(socket, stopped, delivered).await)
                }
                Err(error) => {
                    let _ = ready.send(Err(anyhow::anyhow!("{error:#}")));
                    Err(error)
                }
            }
        }));
    }
    drop(ready_tx);
    for n in 0..total {
        let ready = tokio::time::timeout(Duration::from_secs(600), ready_rx.recv())
            .await
            .context("subscribers did not connect within ten minutes")?
            .context("a subscriber task vanished")?;
        ready.with_context(|| format!("subscriber {n} of {total}"))?;
    }
    Ok(Crowd {
        tasks,
        stop,
        delivered,
        connect_secs: started.elapsed().as_secs_f64(),
    })
}

impl Crowd {
    /// Waits (at most `patience`) until `expected` deliveries arrived.
    async fn drain(&self, expected: u64, patience: Duration) {
        let deadline = Instant::now() + patience;
        while self.delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops listening; the sockets and what each heard.
    async fn disperse(self) -> anyhow::Result<Vec<(Socket, Heard)>> {
        let _ = self.stop.send(true);
        let mut out = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            out.push(task.await??);
        }
        Ok(out)
    }
}

/// Raises events at `rate` per second for `duration`: availability toggles
/// and transitions of `orders` (`(order id, statuses reached so far)`),
/// alternately. Returns (toggles, transitions, refused, expected deliveries).
async fn raise(
    server: &Server,
    fixture: &mut Fixture,
    menu_followers: &[u64],
    orders: &mut [(String, usize)],
    rate: u32,
    duration: Duration,
) -> anyhow::Result<(u64, u64, u64, u64)> {
    const PATH: [&str; 4] = ["ACCEPTED", "PREPARING", "READY", "COMPLETED"];
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let end = Instant::now() + duration;
    let mut pending = Vec::new();
    let (mut toggles, mut transitions) = (0u64, 0u64);
    let mut next_restaurant = 0usize;
    let mut next_order = 0usize;
    let mut tick = 0u64;
    while Instant::now() < end {
        ticker.tick().await;
        tick += 1;
        let transition = tick.is_multiple_of(2)
            && !orders.is_empty()
            && orders.iter().any(|(_, reached)| *reached < PATH.len());
        let (query, variables, owed) = if transition {
            // The next order with a step left, round robin.
            let mut index = next_order % orders.len();
            while orders[index].1 >= PATH.len() {
                index = (index + 1) % orders.len();
            }
            next_order = index + 1;
            let (order, reached) = &mut orders[index];
            let to = PATH[*reached];
            *reached += 1;
            transitions += 1;
            (
                "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(input: { orderId: $id, to: $to }) { userErrors { code } } }",
                json!({ "id": order, "to": to }),
                1,
            )
        } else {
            let restaurant = next_restaurant % RESTAURANTS;
            next_restaurant += 1;
            let items = &mut fixture.toggles[restaurant];
            if items.is_empty() {
                continue;
            }
            let slot = (next_restaurant / RESTAURANTS) % items.len();
            let (item, available) = &mut items[slot];
            *available = !*available;
            toggles += 1;
            (
                "mutation($id: ID!, $available: Boolean!) { setMenuItemAvailability(input: { id: $id, available: $available }) { userErrors { code } } }",
                json!({ "id": item, "available": *available }),
                menu_followers[restaurant],
            )
        };
        let request = server
            .client()
            .post(server.url("/graphql"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", fixture.admin))
            .body(json!({ "query": query, "variables": variables }).to_string())
            .send();
        pending.push(tokio::spawn(async move {
            let accepted = match request.await {
                Ok(response) => response.json::<Value>().await.ok().is_some_and(|body| {
                    body.get("errors").is_none()
                        && body["data"]
                            .as_object()
                            .and_then(|d| d.values().next())
                            .is_some_and(|payload| payload["userErrors"] == json!([]))
                }),
                Err(_) => false,
            };
            (accepted, owed)
        }));
    }
    let mut refused = 0;
    let mut expected = 0;
    for raised in pending {
        let (accepted, owed) = raised.await?;
        if accepted {
            expected += owed;
        } else {
            refused += 1;
        }
    }
    Ok((toggles, transitions, refused, expected))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One W4 run with `subscribers` subscribers.
pub async fn w4(
    server: &Server,
    subscribers: usize,
    rate: u32,
    duration: Duration,
) -> anyhow::Result<W4Result> {
    let mut fixture = fixture(server).await?;
    let order_subscribers = subscribers / 10;
    eprintln!("bench: W4 signing in {order_subscribers} customers and placing an order each");
    let customers: Vec<(String, String)> = futures_util::stream::iter(0..order_subscribers)
        .map(|n| customer_with_order(server, &fixture, n))
        // Two at a time: a sign-in hashes with argon2 (19 MiB each), and
        // the server's allocator keeps what it freed, which would show in
        // the resident memory reported.
        .buffer_unordered(2)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let mut follows = Vec::with_capacity(subscribers);
    let mut menu_followers = vec![0u64; RESTAURANTS];
    let mut menu_count = 0;
    for n in 0..subscribers {
        if n % 10 == 9 && n / 10 < customers.len() {
            let (token, order) = &customers[n / 10];
            follows.push(Follow::Order {
                token: token.clone(),
                order: order.clone(),
            });
        } else {
            let restaurant = menu_count % RESTAURANTS;
            menu_count += 1;
            menu_followers[restaurant] += 1;
            follows.push(Follow::Menu {
                restaurant: fixture.restaurants[restaurant].clone(),
            });
        }
    }
    eprintln!("bench: W4 connecting {subscribers} subscribers");
    let crowd = gather(server, follows).await?;
    let rss = server.rss_mib()?;
    eprintln!(
        "bench: W4 {subscribers} subscribed in {:.1} s; raising {rate} events a second for {} s",
        crowd.connect_secs,
        duration.as_secs()
    );
    let mut orders: Vec<(String, usize)> = customers
        .iter()
        .map(|(_, order)| (order.clone(), 0))
        .collect();
    let cpu_before = server.cpu_ms()?;
    let raising = Instant::now();
    let (toggles, transitions, refused, expected) = raise(
        server,
        &mut fixture,
        &menu_followers,
        &mut orders,
        rate,
        duration,
    )
    .await?;
    let cpu_ms = server.cpu_ms()? - cpu_before;
    let window_ms = raising.elapsed().as_secs_f64() * 1000.0;
    crowd.drain(expected, Duration::from_secs(20)).await;
    let delivered = crowd.delivered.load(Ordering::Relaxed);
    let connect_secs = crowd.connect_secs;
    let heard = crowd.disperse().await?;
    let mut latencies: Vec<f64> = heard
        .iter()
        .flat_map(|(_, h)| h.latencies_ms.iter().copied())
        .collect();
    latencies.sort_by(f64::total_cmp);
    let p99_of = |order: bool| {
        let mut kind: Vec<f64> = heard
            .iter()
            .filter(|(_, h)| h.order == order)
            .flat_map(|(_, h)| h.latencies_ms.iter().copied())
            .collect();
        kind.sort_by(f64::total_cmp);
        percentile(&kind, 99.0)
    };
    let p99_by_kind_ms = (p99_of(false), p99_of(true));
    Ok(W4Result {
        subscribers,
        order_subscribers: customers.len(),
        connect_secs,
        raised: (toggles, transitions),
        refused,
        expected,
        delivered,
        missed: heard.iter().map(|(_, h)| h.missed).sum(),
        errors: heard.iter().map(|(_, h)| h.errors).sum(),
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        max_ms: latencies.last().copied().unwrap_or(0.0),
        p99_by_kind_ms,
        server_cpu_percent: 100.0 * cpu_ms / window_ms,
        server_rss_mib: rss,
    })
}

/// What the socket-memory measurement read.
#[derive(Debug, Clone)]
pub struct MemoryResult {
    /// Sockets per round.
    pub sockets: usize,
    /// Resident memory after start, after the warm-up round, after each round (MiB).
    pub baseline_mib: f64,
    /// After the warm-up round.
    pub warm_mib: f64,
    /// After each measured round.
    pub rounds_mib: Vec<f64>,
    /// With each measured round's sockets open (before they drop).
    pub open_mib: Vec<f64>,
    /// Events each round raised, and deliveries owed and received.
    pub deliveries: Vec<(u64, u64)>,
}

impl MemoryResult {
    /// Whether the last round ends within 10 % or 8 MiB of the first.
    pub fn holds(&self) -> bool {
        let (Some(first), Some(last)) = (self.rounds_mib.first(), self.rounds_mib.last()) else {
            return false;
        };
        (last - first).abs() <= (first * 0.10).max(8.0)
    }
}

/// Resident memory once the server has let go of dropped sockets: when it
/// holds no more file descriptors than `fds` (its count before the round),
/// plus a second for the allocator to return what it frees.
async fn settled_rss(server: &Server, fds: usize) -> anyhow::Result<f64> {
    for _ in 0..300 {
        if server.open_fds()? <= fds {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.rss_mib()
}

/// Raises `count` availability toggles, one after the other; returns the
/// deliveries they owe.
async fn toggle(
    server: &Server,
    fixture: &mut Fixture,
    menu_followers: &[u64],
    count: usize,
) -> anyhow::Result<u64> {
    let mut owed = 0;
    for n in 0..count {
        let restaurant = n % RESTAURANTS;
        let items = &mut fixture.toggles[restaurant];
        let slot = n / RESTAURANTS % items.len().max(1);
        let Some((item, available)) = items.get_mut(slot) else {
            continue;
        };
        *available = !*available;
        let data = graphql(
            server,
            Some(&fixture.admin),
            "mutation($id: ID!, $available: Boolean!) { setMenuItemAvailability(input: { id: $id, available: $available }) { userErrors { code } } }",
            json!({ "id": item, "available": *available }),
        )
        .await?;
        anyhow::ensure!(
            data["setMenuItemAvailability"]["userErrors"] == json!([]),
            "toggling an item: {data}"
        );
        owed += menu_followers[restaurant];
    }
    Ok(owed)
}

/// One round: `sockets` subscribers that hear `events` toggles, then drop.
/// Returns the deliveries owed and received, and the resident memory (MiB)
/// while the sockets were open.
async fn memory_round(
    server: &Server,
    fixture: &mut Fixture,
    sockets: usize,
    events: usize,
) -> anyhow::Result<((u64, u64), f64)> {
    let mut follows = Vec::with_capacity(sockets);
    let mut menu_followers = vec![0u64; RESTAURANTS];
    let mut menu_count = 0;
    for n in 0..sockets {
        if n % 10 == 9 {
            follows.push(Follow::Kitchen {
                token: fixture.admin.clone(),
                restaurant: fixture.restaurants[n / 10 % RESTAURANTS].clone(),
            });
        } else {
            let restaurant = menu_count % RESTAURANTS;
            menu_count += 1;
            menu_followers[restaurant] += 1;
            follows.push(Follow::Menu {
                restaurant: fixture.restaurants[restaurant].clone(),
            });
        }
    }
    let crowd = gather(server, follows).await?;
    let expected = toggle(server, fixture, &menu_followers, events).await?;
    crowd.drain(expected, Duration::from_secs(30)).await;
    let delivered = crowd.delivered.load(Ordering::Relaxed);
    let open = server.rss_mib()?;
    let heard = crowd.disperse().await?;
    // Dropped without a closing handshake: half with a FIN, half with a reset.
    for (n, (socket, _)) in heard.into_iter().enumerate() {
        if n % 2 == 1
            && let MaybeTlsStream::Plain(stream) = socket.get_ref()
        {
            let _ = stream.set_zero_linger();
        }
        drop(socket);
    }
    Ok(((expected, delivered), open))
}

/// Availability toggles each socket-memory round raises while its sockets are open.
const EVENTS_A_ROUND: usize = 20;

/// The socket-memory measurement: a warm-up round, then `rounds` rounds.
pub async fn socket_memory(
    server: &Server,
    sockets: usize,
    rounds: usize,
) -> anyhow::Result<MemoryResult> {
    let mut fixture = fixture(server).await?;
    let fds = server.open_fds()?;
    let baseline_mib = settled_rss(server, fds).await?;
    eprintln!("bench: socket memory: warm-up round of {sockets} sockets");
    memory_round(server, &mut fixture, sockets, EVENTS_A_ROUND).await?;
    let warm_mib = settled_rss(server, fds).await?;
    let mut rounds_mib = Vec::new();
    let mut open_mib = Vec::new();
    let mut deliveries = Vec::new();
    for round in 1..=rounds {
        let (delivered, open) = memory_round(server, &mut fixture, sockets, EVENTS_A_ROUND).await?;
        deliveries.push(delivered);
        open_mib.push(open);
        let rss = settled_rss(server, fds).await?;
        eprintln!("bench: socket memory: round {round}: {rss:.1} MiB");
        rounds_mib.push(rss);
    }
    Ok(MemoryResult {
        sockets,
        baseline_mib,
        warm_mib,
        rounds_mib,
        open_mib,
        deliveries,
    })
}

/// Follower counts by restaurant, for tests of the spread.
#[cfg(test)]
fn spread(subscribers: usize) -> std::collections::HashMap<usize, usize> {
    let mut out = std::collections::HashMap::new();
    let mut menu = 0;
    for n in 0..subscribers {
        if n % 10 != 9 {
            *out.entry(menu % RESTAURANTS).or_insert(0) += 1;
            menu += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_subscribers_spread_evenly_over_the_hundred_restaurants() {
        let spread = spread(10_000);
        assert_eq!(spread.len(), RESTAURANTS);
        assert!(spread.values().all(|n| *n == 90));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }
}
