#![doc = include_str!("../README.md")]

pub mod accounts;
pub mod app;
pub mod check;
pub mod client_addr;
pub mod config;
pub mod documents;
pub mod graphiql;
pub mod graphql_http;
pub mod graphql_ws;
pub mod health;
pub mod metrics;
pub mod request_id;
pub mod seed;
pub mod state;
pub mod storefront;
pub mod stripe_webhook;
pub mod telemetry;
pub mod trusted_documents;

pub use app::Application;
pub use config::Config;
pub use state::{App, AppState};
