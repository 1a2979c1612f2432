//! The workloads of `shared/workloads`, as requests.

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::server::{Server, ServerSettings};

/// The documents, shared with the test suite (which asserts their round trips).
const RESTAURANT_PAGE: &str = include_str!("../../../tests/operations/RestaurantPage.graphql");
const RESTAURANT_PAGE_SQL: &str =
    include_str!("../../../tests/operations/RestaurantPageSqlFields.graphql");
const MY_ORDERS: &str = include_str!("../../../tests/operations/MyOrders.graphql");
const NODES: &str = include_str!("../../../tests/operations/Nodes.graphql");

/// Customers W2 signs in as.
const W2_CUSTOMERS: usize = 100;

/// A workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// The composed restaurant page: 20 restaurants, rating, 10 items with popularity, 3 trending.
    W1,
    /// The page with SQL fields only (name, cuisine, rating, 10 items: name, price, course).
    W1Sql,
    /// A signed-in customer's last 20 orders.
    W2,
    /// Checkout: three cart additions and a checkout (the harness's own client).
    W3,
    /// `nodes(ids:)` with 100 mixed ids.
    W5,
}

impl Workload {
    /// From its name in `shared/workloads`.
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name.to_ascii_uppercase().as_str() {
            "W1" => Self::W1,
            "W1-SQL" | "W1SQL" => Self::W1Sql,
            "W2" => Self::W2,
            "W3" => Self::W3,
            "W5" => Self::W5,
            other => anyhow::bail!("unknown workload {other:?} (W1, W1-SQL, W2, W3, W5)"),
        })
    }

    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::W1 => "W1",
            Self::W1Sql => "W1-SQL",
            Self::W2 => "W2",
            Self::W3 => "W3",
            Self::W5 => "W5",
        }
    }

    /// Whether this workload runs in the server configuration `settings`.
    pub fn runs_in(self, settings: &ServerSettings, no_ratios: bool) -> bool {
        match settings.name {
            "caches on" => self != Self::W1Sql || !no_ratios,
            "caches off" => self == Self::W1Sql,
            "caches on, Stripe" => self == Self::W3,
            _ => self == Self::W1,
        }
    }

    /// The request body (and tokens) the load generator sends.
    pub async fn prepare(self, server: &Server) -> anyhow::Result<Prepared> {
        let (document, variables, tokens) = match self {
            Self::W1 => (
                RESTAURANT_PAGE,
                json!({"first": 20, "menuFirst": 10}),
                Vec::new(),
            ),
            Self::W1Sql => (
                RESTAURANT_PAGE_SQL,
                json!({"first": 20, "menuFirst": 10}),
                Vec::new(),
            ),
            Self::W2 => (
                MY_ORDERS,
                json!({"first": 20}),
                sign_in_customers(server).await?,
            ),
            Self::W5 => (NODES, json!({"ids": mixed_ids(server).await?}), Vec::new()),
            Self::W3 => anyhow::bail!("W3 runs with the harness's own client (checkout.rs)"),
        };
        Ok(Prepared {
            body: json!({ "query": document, "variables": variables }).to_string(),
            tokens,
            get_path: None,
        })
    }
}

/// What the load generator sends for one workload.
pub struct Prepared {
    /// The JSON body of every request (a text POST).
    pub body: String,
    /// Bearer tokens to rotate through (empty: anonymous).
    pub tokens: Vec<String>,
    /// Set: the request is this GET instead (`/graphql?…`, the document by
    /// its hash, as Apollo Client's persisted-queries link sends a hit).
    pub get_path: Option<String>,
}

/// What one request of a workload costs, read from `extensions.roundTrips`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Probe {
    /// SQL statements.
    pub sql: u64,
    /// Key-value round trips.
    pub kv: u64,
    /// Key-value commands.
    pub kv_commands: u64,
    /// Size of the response body.
    pub bytes: usize,
}

impl Prepared {
    /// Sends the request once (after a warming one) and reads its costs; fails on any error.
    pub async fn probe(&self, server: &Server) -> anyhow::Result<Probe> {
        let mut last = None;
        for _ in 0..2 {
            last = Some(self.send(server).await?);
        }
        let (bytes, body) = last.context("no response")?;
        anyhow::ensure!(
            body.get("errors").is_none(),
            "the workload's request failed: {body}"
        );
        let rt = &body["extensions"]["roundTrips"];
        Ok(Probe {
            sql: rt["sql"].as_u64().unwrap_or(0),
            kv: rt["kv"].as_u64().unwrap_or(0),
            kv_commands: rt["kvCommands"].as_u64().unwrap_or(0),
            bytes,
        })
    }

    /// The same request by hash over GET (automatic persisted queries):
    /// registered first with one POST of the text and its hash, as the link
    /// does after `PersistedQueryNotFound`.
    pub async fn persisted(&self, server: &Server) -> anyhow::Result<Prepared> {
        let body: Value = serde_json::from_str(&self.body)?;
        let query = body["query"].as_str().context("a text request")?;
        let extensions = json!({ "persistedQuery": {
            "version": 1,
            "sha256Hash": bistro_schema::persisted::sha256_hex(query),
        } });
        let registered: Value = server
            .client()
            .post(server.url("/graphql"))
            .header("content-type", "application/json")
            .body(
                json!({ "query": query, "variables": body["variables"], "extensions": extensions })
                    .to_string(),
            )
            .send()
            .await?
            .json()
            .await?;
        anyhow::ensure!(
            registered.get("errors").is_none(),
            "registering the persisted query failed: {registered}"
        );
        let mut url = reqwest::Url::parse("http://bench/graphql")?;
        url.query_pairs_mut()
            .append_pair("variables", &body["variables"].to_string())
            .append_pair("extensions", &extensions.to_string());
        Ok(Prepared {
            body: String::new(),
            tokens: self.tokens.clone(),
            get_path: Some(format!("{}?{}", url.path(), url.query().unwrap_or(""))),
        })
    }

    async fn send(&self, server: &Server) -> anyhow::Result<(usize, Value)> {
        let mut request = match &self.get_path {
            Some(path) => server.client().get(server.url(path)),
            None => server
                .client()
                .post(server.url("/graphql"))
                .header("content-type", "application/json")
                .body(self.body.clone()),
        };
        if let Some(token) = self.tokens.first() {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let text = request.send().await?.text().await?;
        Ok((text.len(), serde_json::from_str(&text)?))
    }
}

async fn graphql(server: &Server, query: &str, variables: Value) -> anyhow::Result<Value> {
    let body: Value = server
        .client()
        .post(server.url("/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": query, "variables": variables }).to_string())
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(body.get("errors").is_none(), "{body}");
    Ok(body["data"].clone())
}

/// Access tokens of the first customers of the standard data set.
async fn sign_in_customers(server: &Server) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::with_capacity(W2_CUSTOMERS);
    for i in 1..=W2_CUSTOMERS {
        let data = graphql(
            server,
            "mutation($input: LoginInput!) { login(input: $input) { session { accessToken } userErrors { code } } }",
            json!({ "input": { "email": format!("customer{i}@bistro.test"), "password": bistro_server::seed::DEMO_PASSWORD } }),
        )
        .await?;
        let token = data["login"]["session"]["accessToken"]
            .as_str()
            .with_context(|| format!("signing in customer{i}: {data}"))?;
        tokens.push(token.to_owned());
    }
    Ok(tokens)
}

/// 50 restaurant ids and 50 menu item ids, interleaved.
async fn mixed_ids(server: &Server) -> anyhow::Result<Vec<String>> {
    let data = graphql(
        server,
        "{ restaurants(first: 50) { edges { node { id menu(first: 1) { edges { node { id } } } } } } }",
        json!({}),
    )
    .await?;
    let mut ids = Vec::with_capacity(100);
    for edge in data["restaurants"]["edges"]
        .as_array()
        .context("restaurants")?
    {
        ids.push(edge["node"]["id"].as_str().context("id")?.to_owned());
        ids.push(
            edge["node"]["menu"]["edges"][0]["node"]["id"]
                .as_str()
                .context("menu item id")?
                .to_owned(),
        );
    }
    Ok(ids)
}
