//! W3, checkout: each virtual customer adds three items to a cart and
//! checks out with the success test card and a fresh idempotency key —
//! four requests, one checkout. wrk cannot chain requests with their
//! answers, so this load client is the harness's own (HTTP/1.1 keep-alive,
//! one connection per virtual customer group), measuring the whole
//! sequence. After the run, the orders in SQL must equal the successful
//! checkouts exactly.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

use crate::load::LoadResult;
use crate::server::Server;
use crate::stores::Pair;

const ADD_TO_CART: &str = include_str!("../../../tests/operations/AddToCart.graphql");
const CHECKOUT: &str = include_str!("../../../tests/operations/Checkout.graphql");

/// Customers of the standard data set W3 signs in as (W2 uses the first 100).
const FIRST_CUSTOMER: usize = 101;

/// One virtual customer: a token and the three items it orders.
struct Shopper {
    token: String,
    items: [String; 3],
}

/// What W3 measured.
pub struct CheckoutRun {
    /// The load figures (requests: checkouts; latency: the whole sequence).
    pub result: LoadResult,
    /// Checkouts that placed an order.
    pub placed: u64,
    /// Checkouts refused or failed.
    pub failed: u64,
    /// Orders the run added to SQL.
    pub orders_added: u64,
    /// Confirmation emails still waiting in the outbox when the run ended,
    /// and how long the server took to send them.
    pub outbox_left: (u64, Duration),
}

async fn graphql(
    client: &reqwest::Client,
    server: &Server,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let mut request = client
        .post(server.url("/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": query, "variables": variables }).to_string());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    Ok(request.send().await?.json().await?)
}

/// Signs in `count` customers and gives each three orderable items of one restaurant.
async fn shoppers(server: &Server, count: usize) -> anyhow::Result<Vec<Shopper>> {
    let client = reqwest::Client::new();
    let menus = graphql(
        &client,
        server,
        None,
        "{ restaurants(first: 100) { edges { node { menu(first: 30) { edges { node {
            id available dailyStock optionGroups { required } } } } } } } }",
        json!({}),
    )
    .await?;
    // Items anyone can order any number of: available, unlimited, no required choice.
    let baskets: Vec<[String; 3]> = menus["data"]["restaurants"]["edges"]
        .as_array()
        .context("restaurants")?
        .iter()
        .filter_map(|edge| {
            let items: Vec<String> = edge["node"]["menu"]["edges"]
                .as_array()?
                .iter()
                .map(|e| &e["node"])
                .filter(|item| {
                    item["available"] == true
                        && item["dailyStock"].is_null()
                        && item["optionGroups"]
                            .as_array()
                            .is_none_or(|groups| groups.iter().all(|g| g["required"] != true))
                })
                .filter_map(|item| item["id"].as_str().map(str::to_owned))
                .take(3)
                .collect();
            <[String; 3]>::try_from(items).ok()
        })
        .collect();
    anyhow::ensure!(
        !baskets.is_empty(),
        "no restaurant has three orderable items"
    );
    let mut shoppers = Vec::with_capacity(count);
    for i in 0..count {
        let email = format!("customer{}@bistro.test", FIRST_CUSTOMER + i);
        let login = graphql(
            &client,
            server,
            None,
            "mutation($input: LoginInput!) { login(input: $input) { session { accessToken } } }",
            json!({ "input": { "email": email, "password": bistro_server::seed::DEMO_PASSWORD } }),
        )
        .await?;
        let token = login["data"]["login"]["session"]["accessToken"]
            .as_str()
            .with_context(|| format!("signing in {email}: {login}"))?
            .to_owned();
        shoppers.push(Shopper {
            token,
            items: baskets[i % baskets.len()].clone(),
        });
    }
    Ok(shoppers)
}

/// One whole checkout; `Ok(true)` when it placed an order.
async fn checkout(
    client: &reqwest::Client,
    server: &Server,
    shopper: &Shopper,
) -> anyhow::Result<bool> {
    Ok(checkout_answer(client, server, shopper)
        .await?
        .is_some_and(|a| a["data"]["checkout"]["order"]["id"].is_string()))
}

/// The round trips of one checkout request (after its three cart additions).
pub async fn probe(server: &Server) -> anyhow::Result<crate::workloads::Probe> {
    let client = reqwest::Client::new();
    let shopper = shoppers(server, 1).await?.remove(0);
    let answer = checkout_answer(&client, server, &shopper)
        .await?
        .context("the probe's cart additions failed")?;
    anyhow::ensure!(
        answer["data"]["checkout"]["order"]["id"].is_string(),
        "the probe's checkout failed: {answer}"
    );
    let rt = &answer["extensions"]["roundTrips"];
    Ok(crate::workloads::Probe {
        sql: rt["sql"].as_u64().unwrap_or(0),
        kv: rt["kv"].as_u64().unwrap_or(0),
        kv_commands: rt["kvCommands"].as_u64().unwrap_or(0),
        bytes: answer.to_string().len(),
    })
}

/// The checkout's answer, or `None` when a cart addition was refused.
async fn checkout_answer(
    client: &reqwest::Client,
    server: &Server,
    shopper: &Shopper,
) -> anyhow::Result<Option<Value>> {
    let mut subtotal = None;
    for (i, item) in shopper.items.iter().enumerate() {
        let added = graphql(
            client,
            server,
            Some(&shopper.token),
            ADD_TO_CART,
            json!({ "input": { "menuItemId": item, "quantity": 1, "replaceCart": i == 0 } }),
        )
        .await?;
        if added["data"]["addToCart"]["userErrors"]
            .as_array()
            .is_none_or(|e| !e.is_empty())
        {
            return Ok(None);
        }
        subtotal = added["data"]["addToCart"]["cart"]["subtotal"]["amount"]
            .as_str()
            .map(str::to_owned);
    }
    let checked_out = graphql(
        client,
        server,
        Some(&shopper.token),
        CHECKOUT,
        json!({ "input": {
            "fulfilment": "PICKUP",
            "paymentToken": server.payment_token,
            "idempotencyKey": uuid_like(),
            "expectedTotal": subtotal.context("the cart has a subtotal")?,
        } }),
    )
    .await?;
    Ok(Some(checked_out))
}

/// A fresh idempotency key.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "bench-{}-{}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn order_count(pair: &Pair) -> anyhow::Result<u64> {
    let db = Database::connect(pair.database_url()).await?;
    let n = count(&db, "SELECT COUNT(*) AS n FROM orders").await;
    let _ = db.close().await;
    n
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<u64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .context("a count")?;
    let n: i64 = row.try_get("", "n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Longest the harness waits for the outbox to be sent after a run.
const OUTBOX_DRAIN_LIMIT: Duration = Duration::from_secs(180);

/// Waits until the server has sent every confirmation email waiting in the
/// outbox: the emails a run's checkouts wrote, which its mail worker sends
/// behind them (under W3 on SQLite it ended runs with nearly all of them
/// left). Otherwise the next build measured starts with them as a backlog
/// and sends them in its own warm-up or run, so builds measured later pay
/// for the emails of the builds before them. Gives how many were left and
/// how long they took.
async fn drain_outbox(pair: &Pair) -> anyhow::Result<(u64, Duration)> {
    const PENDING: &str = "SELECT COUNT(*) AS n FROM email_outbox WHERE status = 'PENDING'";
    let started = Instant::now();
    let db = Database::connect(pair.database_url()).await?;
    let left = count(&db, PENDING).await?;
    let mut pending = left;
    while pending > 0 {
        anyhow::ensure!(
            started.elapsed() < OUTBOX_DRAIN_LIMIT,
            "W3: {pending} emails still waiting in the outbox {} s after the run",
            OUTBOX_DRAIN_LIMIT.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        pending = count(&db, PENDING).await?;
    }
    let _ = db.close().await;
    Ok((left, started.elapsed()))
}

/// Runs W3 with `connections` concurrent virtual customers for `duration`
/// (after a warm-up of a third as long).
pub async fn run(
    pair: &Pair,
    server: &Server,
    connections: u32,
    duration: Duration,
) -> anyhow::Result<CheckoutRun> {
    let shoppers = std::sync::Arc::new(shoppers(server, connections as usize * 10).await?);
    let drive = |length: Duration| {
        let shoppers = shoppers.clone();
        async move {
            let deadline = Instant::now() + length;
            let mut tasks = Vec::new();
            for lane in 0..connections as usize {
                let shoppers = shoppers.clone();
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()?;
                tasks.push(async move {
                    let mut latencies = Vec::new();
                    let (mut placed, mut failed) = (0u64, 0u64);
                    let mut turn = lane;
                    while Instant::now() < deadline {
                        // Each lane cycles through its own ten customers.
                        let shopper = &shoppers[turn % shoppers.len()];
                        turn += connections as usize;
                        let started = Instant::now();
                        match checkout(&client, server, shopper).await {
                            Ok(true) => placed += 1,
                            _ => failed += 1,
                        }
                        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                    }
                    anyhow::Ok((latencies, placed, failed))
                });
            }
            let started = Instant::now();
            let lanes = futures_util::future::try_join_all(tasks).await?;
            anyhow::Ok((lanes, started.elapsed()))
        }
    };
    drive((duration / 3).max(Duration::from_secs(1))).await?;
    let before = order_count(pair).await?;
    server.reset_peak_memory();
    let cpu_before = server.cpu_ms()?;
    let (lanes, elapsed) = drive(duration).await?;
    let cpu_after = server.cpu_ms()?;
    let after = order_count(pair).await?;
    let outbox_left = drain_outbox(pair).await?;
    let mut latencies: Vec<f64> = lanes
        .iter()
        .flat_map(|(l, _, _)| l.iter().copied())
        .collect();
    latencies.sort_by(f64::total_cmp);
    let placed: u64 = lanes.iter().map(|(_, p, _)| p).sum();
    let failed: u64 = lanes.iter().map(|(_, _, f)| f).sum();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let checkouts = placed + failed;
    Ok(CheckoutRun {
        result: LoadResult {
            requests_per_sec: placed as f64 / elapsed.as_secs_f64(),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            requests: checkouts,
            failed,
            cpu_ms_per_request: (cpu_after - cpu_before) / checkouts.max(1) as f64,
            peak_rss_mib: server.peak_memory_mib()?,
        },
        placed,
        failed,
        orders_added: after - before,
        outbox_left,
    })
}
