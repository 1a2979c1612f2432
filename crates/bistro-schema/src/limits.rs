//! Query limits and paging defaults, set from configuration.

use serde::Deserialize;

/// How much one GraphQL request may ask for.
///
/// Depth and complexity are checked before any resolver runs, so a hostile
/// query is refused before it touches a store.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Deepest selection-set nesting allowed.
    pub max_depth: usize,
    /// Highest complexity allowed: each field costs 1, list fields multiply
    /// their children by the page size asked for.
    pub max_complexity: usize,
    /// Most directives on one field.
    pub max_directives: usize,
    /// Page size when a connection is asked for without `first`/`last`.
    pub default_page_size: u64,
    /// Largest `first`/`last` accepted; larger values are clamped.
    pub max_page_size: u64,
    /// Largest `nodes(ids:)` list.
    pub max_node_ids: usize,
    /// Whether `__schema`/`__type` introspection is served.
    pub introspection: bool,
    /// Add `extensions.roundTrips { sql kv }` to every response.
    pub expose_round_trips: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_complexity: 100_000,
            max_directives: 8,
            default_page_size: 20,
            max_page_size: 100,
            max_node_ids: 100,
            introspection: true,
            expose_round_trips: false,
        }
    }
}
