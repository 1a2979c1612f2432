//! The state every request handler shares: the running service's parts
//! ([`App`]), and the live connections each client holds open.

use std::net::IpAddr;
use std::sync::Arc;

use bistro_data::DataLayer;
use bistro_kv::Kv;
use bistro_payments::{PaymentProvider, SimulatedProcessor};
use bistro_schema::Api;
use sea_orm::DatabaseConnection;

use crate::config::Config;

/// Shared by every request handler.
pub type AppState = Arc<App>;

/// The running service's parts.
pub struct App {
    /// The configuration it was started with.
    pub config: Config,
    /// Relational store pool.
    pub db: DatabaseConnection,
    /// Key-value store, namespaced by `kv.key_prefix`.
    pub kv: Kv,
    /// Both stores, as the schema (and the seeder) use them.
    pub data: DataLayer,
    /// The GraphQL API: the schema and the request pipeline.
    pub api: Api,
    /// Proxies whose `X-Forwarded-For` names the client (`http.trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The payment provider checkout and the order lifecycle use.
    pub payments: Arc<dyn PaymentProvider>,
    /// The built-in simulated processor, when it is the provider (its counts, for tests and demos).
    pub simulated_payments: Option<Arc<SimulatedProcessor>>,
    /// Where the outbox worker delivers email.
    pub mail_delivery: bistro_mail::Delivery,
    /// Set when the server starts shutting down: live connections close
    /// with 1001, so their clients reconnect (to another replica).
    pub closing: tokio::sync::watch::Sender<bool>,
    /// Set when the shutdown signal arrives: `/health/ready` answers 503
    /// from then on, while the listener still accepts for
    /// `http.shutdown_ready_delay_secs`.
    pub draining: tokio::sync::watch::Sender<bool>,
    /// The WebSockets each client address holds open on this server.
    pub live_connections: Arc<ClientConnections>,
    /// The server's bounded argon2 work (sign-ins, registrations), with its count of runs.
    pub passwords: bistro_auth::password::PasswordHashing,
    /// The storefront's built-in manifest of trusted documents, and the
    /// revision of the stored ones the API's set was loaded at.
    pub trusted_documents: (Vec<bistro_schema::persisted::ManifestEntry>, i64),
    /// The storefront page's Content-Security-Policy without its WebSocket
    /// origin (Stripe's origins in it when the provider is Stripe).
    pub storefront_policy: String,
}

/// The WebSockets each client address holds open on this server
/// (`live.max_connections_per_client`). Counted per server: behind a load
/// balancer a client may hold that many on each replica.
#[derive(Debug, Default)]
pub struct ClientConnections {
    open: std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>,
}

impl ClientConnections {
    /// WebSockets open now, every client together.
    pub fn total(&self) -> usize {
        self.lock().values().sum()
    }

    /// A slot for one more connection of `client`, or `None` when it holds
    /// `max` already. The slot is given back when dropped.
    pub fn enter(self: &Arc<Self>, client: IpAddr, max: usize) -> Option<ConnectionSlot> {
        let mut open = self.lock();
        let count = open.entry(client).or_insert(0);
        if *count >= max {
            if *count == 0 {
                open.remove(&client);
            }
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            registry: self.clone(),
            client,
        })
    }

    /// How many connections `client` holds open.
    pub fn open(&self, client: IpAddr) -> usize {
        self.lock().get(&client).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<IpAddr, usize>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One open connection's place in [`ClientConnections`].
#[derive(Debug)]
pub struct ConnectionSlot {
    registry: Arc<ClientConnections>,
    client: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.registry.lock();
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}
