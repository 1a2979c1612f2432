#![doc = include_str!("../README.md")]

pub mod accounts;
pub mod app;
pub mod client_addr;
pub mod config;
pub mod graphiql;
pub mod graphql_http;
pub mod graphql_ws;
pub mod health;
pub mod seed;
pub mod storefront;
pub mod telemetry;

pub use app::{App, Application};
pub use config::Config;
