//! Bistro's end-to-end suite: one binary, one module per feature. See `tests/README.md`.

mod auth;
mod federation;
mod graphiql;
mod health;
mod http;
mod lifecycle;
mod limits;
mod mail;
mod ordering;
mod outage;
mod production;
mod rate_limits;
mod read_path;
mod reviews;
mod round_trips;
mod schema_contract;
mod sign_in;
mod storefront;
mod subscriptions;
