//! Query limits and paging defaults, set from configuration, and the
//! analysis of a document against them.
//!
//! Every limit is checked before any resolver runs, so a hostile query is
//! refused before it touches a store:
//!
//! - **Depth** (`max_depth`) and **selections** (`max_selections`) are
//!   measured here, on the parsed document, with fragments expanded (each
//!   fragment summarised once, so a document whose fragments double at every
//!   level costs linear time to measure, not exponential).
//! - **Complexity** (`max_complexity`) is async-graphql's own count (each
//!   field 1, lists multiplied by the page size asked for, fields that run
//!   their own statement priced at [`OWN_STATEMENT_COST`]), minus what it
//!   counted inside introspection.
//! - **Introspection** (`__schema`, `__type` and everything under them) is
//!   left out of depth, selections and complexity: standard tools send a
//!   query whose `ofType` chain nests deeper than any sensible limit for
//!   data (graphql-js' `getIntrospectionQuery`). It is bounded on its own
//!   terms instead ([`MAX_INTROSPECTION_ROOTS`], [`MAX_INTROSPECTION_LISTS`],
//!   [`MAX_INTROSPECTION_SELECTIONS`]), which bounds the size of its answer.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use serde::Deserialize;

/// How much one GraphQL request may ask for.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Deepest field nesting allowed (introspection not counted).
    pub max_depth: usize,
    /// Highest complexity allowed: each field costs 1, list fields multiply
    /// their children by the page size asked for, fields that run their own
    /// statement cost [`OWN_STATEMENT_COST`] more (introspection not counted).
    pub max_complexity: usize,
    /// Most field selections in one document, fragments expanded, aliases and
    /// `__typename` included (introspection not counted).
    pub max_selections: usize,
    /// Most directives on one field.
    pub max_directives: usize,
    /// Page size when a connection is asked for without `first`/`last`.
    pub default_page_size: u64,
    /// Largest `first`/`last` accepted; larger values are clamped.
    pub max_page_size: u64,
    /// Largest `nodes(ids:)` list.
    pub max_node_ids: usize,
    /// Most representations in one `_entities(representations:)`: a
    /// federation router sends every reference to Bistro's entities that one
    /// of its plans needs at once, so this is larger than `max_node_ids`.
    pub max_representations: usize,
    /// Parsed documents kept for reuse (see `documents::DocumentCache`).
    pub document_cache_entries: usize,
    /// Whether `__schema`/`__type` introspection is served.
    pub introspection: bool,
    /// Add `extensions.roundTrips { sql kv }` to every response.
    pub expose_round_trips: bool,
    /// Resolve the fields that need no await while the selection is
    /// walked (the vendored executor's fast lane); `false` resolves every
    /// field through its own future. The answers are the same.
    pub fast_path: bool,
    /// Serve automatic persisted queries (`extensions.persistedQuery`):
    /// register documents by hash in the key-value store.
    pub apq: bool,
    /// How long a document registered by APQ lives, seconds.
    pub apq_ttl_secs: u64,
    /// Longest document APQ registers, in bytes.
    pub apq_max_document_bytes: usize,
    /// Registrations APQ takes per `apq_ttl_secs` window, from every client
    /// together (so at most twice as many documents are stored).
    pub apq_max_registrations: u64,
    /// Refuse every document no manifest lists (`DOCUMENT_NOT_TRUSTED`),
    /// except for administrators and the federation router.
    pub trusted_documents_only: bool,
    /// How often a replica looks for manifest changes, milliseconds.
    pub trusted_documents_refresh_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_complexity: 100_000,
            max_selections: 1_000,
            max_directives: 8,
            default_page_size: 20,
            max_page_size: 100,
            max_node_ids: 100,
            max_representations: 1_000,
            document_cache_entries: 512,
            introspection: true,
            expose_round_trips: false,
            fast_path: true,
            apq: true,
            apq_ttl_secs: 86_400,
            apq_max_document_bytes: 16 * 1024,
            apq_max_registrations: 2_000,
            trusted_documents_only: false,
            trusted_documents_refresh_ms: 2_000,
        }
    }
}

impl Limits {
    /// [`Self::trusted_documents_refresh_ms`] as a duration (at least 10 ms).
    pub fn trusted_documents_refresh(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.trusted_documents_refresh_ms.max(10))
    }
}

/// The complexity a field adds when each of its occurrences runs its own SQL
/// statement (root lists, search, a list's `totalCount`) or a mutation. With
/// the default budget of 100,000, no request runs more than 50 of them,
/// however it repeats them under aliases; fields answered by a loader cost
/// one statement for all their occurrences and are priced like any field.
pub const OWN_STATEMENT_COST: usize = 2_000;

/// The complexity of `searchMenu`: a search of common words ranks thousands
/// of dishes (about 70 ms of PostgreSQL for eight common words over the
/// standard data set's 30,000), so at most 5 per request.
pub const SEARCH_COST: usize = 20_000;

/// The complexity of a mutation that hashes a password (`register`, `login`):
/// at most 25 per request, so aliases cannot turn one request into minutes
/// of CPU (failed sign-ins are rate-limited on top of this).
pub const PASSWORD_HASH_COST: usize = 4_000;

/// Most `__schema`/`__type` fields in one document (aliases and fragment
/// spreads each count): tools send one.
pub const MAX_INTROSPECTION_ROOTS: u64 = 3;

/// Most list fields (`types`, `fields`, `args`, …) nested along one path
/// inside introspection. The standard query nests three (`types { fields {
/// args } }`); more multiplies the answer by the schema's size at each level.
pub const MAX_INTROSPECTION_LISTS: usize = 3;

/// Most field selections inside introspection, fragments expanded (the
/// standard query has about 200).
pub const MAX_INTROSPECTION_SELECTIONS: u64 = 2_000;

/// Depth the parser and validator allow before they stop recursing: a guard
/// for the stack, above both the depth limit and the standard introspection
/// query (whose fragments nest about 20 deep once expanded).
pub fn recursion_guard(limits: &Limits) -> usize {
    limits.max_depth.max(31) + 1
}

/// Introspection fields that return lists.
const INTROSPECTION_LISTS: [&str; 8] = [
    "types",
    "fields",
    "args",
    "inputFields",
    "interfaces",
    "possibleTypes",
    "enumValues",
    "directives",
];

fn is_introspection_root(name: &str) -> bool {
    name == "__schema" || name == "__type"
}

/// What a document asks for, as the limits measure it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocumentCost {
    /// Deepest field nesting outside introspection (`__typename` not counted).
    pub depth: usize,
    /// Field selections outside introspection, `__typename` included.
    pub selections: u64,
    /// `__schema`/`__type` fields.
    pub introspection_roots: u64,
    /// Field selections inside introspection, `__typename` included.
    pub introspection_selections: u64,
    /// Most list fields along one path inside introspection.
    pub introspection_lists: usize,
    /// What async-graphql's complexity counts inside introspection (every
    /// field but `__typename`, which it does not visit): subtracted from its total.
    pub introspection_complexity: u64,
}

/// Which limit a document breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    /// Nested deeper than `max_depth`.
    Depth { depth: usize, limit: usize },
    /// More selections than `max_selections`.
    Selections { selections: u64, limit: usize },
    /// Introspection beyond its own bounds.
    Introspection(String),
}

impl LimitError {
    /// The message for clients: says what was asked and the configured limit.
    pub fn message(&self) -> String {
        match self {
            Self::Depth { depth, limit } => {
                format!("The query nests {depth} fields deep; the limit is {limit}.")
            }
            Self::Selections { selections, limit } => format!(
                "The query selects {selections} fields (fragments expanded); the limit is {limit}."
            ),
            Self::Introspection(message) => message.clone(),
        }
    }
}

/// Measures every operation of `doc` and checks depth, selections and the
/// introspection bounds (complexity needs the schema: see the module docs).
pub fn check_document(
    doc: &ExecutableDocument,
    limits: &Limits,
) -> Result<DocumentCost, LimitError> {
    let mut walker = Walker {
        doc,
        fragments: HashMap::new(),
        in_progress: HashSet::new(),
    };
    let mut total = Summary::default();
    for (_, operation) in doc.operations.iter() {
        let summary = walker.selection_set(&operation.node.selection_set.node);
        total.merge(&summary);
    }
    let cost = DocumentCost {
        depth: total.plain_depth,
        selections: total.plain_selections,
        introspection_roots: total.intro_roots,
        introspection_selections: total.intro_selections,
        introspection_lists: total.intro_lists,
        introspection_complexity: total.intro_complexity,
    };
    if cost.depth > limits.max_depth {
        return Err(LimitError::Depth {
            depth: cost.depth,
            limit: limits.max_depth,
        });
    }
    if cost.selections > limits.max_selections as u64 {
        return Err(LimitError::Selections {
            selections: cost.selections,
            limit: limits.max_selections,
        });
    }
    if cost.introspection_roots > MAX_INTROSPECTION_ROOTS {
        return Err(LimitError::Introspection(format!(
            "The query has {} `__schema`/`__type` fields; the limit is {MAX_INTROSPECTION_ROOTS}.",
            cost.introspection_roots
        )));
    }
    if cost.introspection_lists > MAX_INTROSPECTION_LISTS {
        return Err(LimitError::Introspection(format!(
            "The introspection nests {} lists along one path; the limit is {MAX_INTROSPECTION_LISTS}.",
            cost.introspection_lists
        )));
    }
    if cost.introspection_selections > MAX_INTROSPECTION_SELECTIONS {
        return Err(LimitError::Introspection(format!(
            "The introspection selects {} fields; the limit is {MAX_INTROSPECTION_SELECTIONS}.",
            cost.introspection_selections
        )));
    }
    Ok(cost)
}

/// The measures of one selection set, fragments expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Summary {
    /// Depth of fields outside introspection.
    plain_depth: usize,
    /// Selections outside introspection, `__typename` included.
    plain_selections: u64,
    intro_roots: u64,
    intro_selections: u64,
    intro_complexity: u64,
    intro_lists: usize,
    /// The whole set taken as one subtree (how it counts under an introspection root).
    all_depth: usize,
    all_selections: u64,
    all_complexity: u64,
    all_lists: usize,
}

impl Summary {
    fn merge(&mut self, other: &Self) {
        self.plain_depth = self.plain_depth.max(other.plain_depth);
        self.plain_selections = self.plain_selections.saturating_add(other.plain_selections);
        self.intro_roots = self.intro_roots.saturating_add(other.intro_roots);
        self.intro_selections = self.intro_selections.saturating_add(other.intro_selections);
        self.intro_complexity = self.intro_complexity.saturating_add(other.intro_complexity);
        self.intro_lists = self.intro_lists.max(other.intro_lists);
        self.all_depth = self.all_depth.max(other.all_depth);
        self.all_selections = self.all_selections.saturating_add(other.all_selections);
        self.all_complexity = self.all_complexity.saturating_add(other.all_complexity);
        self.all_lists = self.all_lists.max(other.all_lists);
    }
}

struct Walker<'a> {
    doc: &'a ExecutableDocument,
    /// Each fragment's summary, computed once.
    fragments: HashMap<&'a str, Summary>,
    /// Fragments being summarised: a spread of one of them is a cycle, which
    /// validation refuses; it counts nothing here.
    in_progress: HashSet<&'a str>,
}

impl<'a> Walker<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Summary {
        let mut summary = Summary::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    let child = self.selection_set(&field.selection_set.node);
                    let typename = name == "__typename";
                    let list = usize::from(INTROSPECTION_LISTS.contains(&name));
                    let own_complexity = u64::from(!typename);
                    let mut this = Summary {
                        all_depth: if typename { 0 } else { 1 + child.all_depth },
                        all_selections: 1 + child.all_selections,
                        all_complexity: own_complexity + child.all_complexity,
                        all_lists: list + child.all_lists,
                        ..Summary::default()
                    };
                    if is_introspection_root(name) {
                        this.intro_roots = 1 + child.intro_roots;
                        this.intro_selections = this.all_selections;
                        this.intro_complexity = this.all_complexity;
                        this.intro_lists = child.all_lists;
                    } else {
                        this.plain_depth = if typename { 0 } else { 1 + child.plain_depth };
                        this.plain_selections = 1 + child.plain_selections;
                        this.intro_roots = child.intro_roots;
                        this.intro_selections = child.intro_selections;
                        this.intro_complexity = child.intro_complexity;
                        this.intro_lists = child.intro_lists;
                    }
                    summary.merge(&this);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let fragment = self.fragment(name);
                    summary.merge(&fragment);
                }
                Selection::InlineFragment(inline) => {
                    let inner = self.selection_set(&inline.node.selection_set.node);
                    summary.merge(&inner);
                }
            }
        }
        summary
    }

    fn fragment(&mut self, name: &'a str) -> Summary {
        if let Some(summary) = self.fragments.get(name) {
            return *summary;
        }
        let Some(definition) = self.doc.fragments.get(name) else {
            // Unknown fragment: validation refuses it.
            return Summary::default();
        };
        if !self.in_progress.insert(name) {
            return Summary::default();
        }
        let summary = self.selection_set(&definition.node.selection_set.node);
        self.in_progress.remove(name);
        self.fragments.insert(name, summary);
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(query: &str) -> Result<DocumentCost, LimitError> {
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        check_document(&doc, &Limits::default())
    }

    #[test]
    fn depth_counts_fields_and_skips_typename() {
        let c = cost("{ a { b { c __typename } } }").unwrap();
        assert_eq!(c.depth, 3);
        assert_eq!(c.selections, 4);
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        let c = cost("{ a { ...F } b { ...F } } fragment F on T { x y { z } }").unwrap();
        assert_eq!(c.depth, 3);
        assert_eq!(c.selections, 2 + 2 * 3);
    }

    #[test]
    fn doubling_fragments_are_measured_quickly_and_refused() {
        let mut query = String::from("{ ...F0 }");
        for i in 0..60 {
            query.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        query.push_str(" fragment F60 on Query { a }");
        assert!(matches!(cost(&query), Err(LimitError::Selections { .. })));
    }

    #[test]
    fn introspection_is_measured_apart() {
        let c =
            cost("{ a __schema { types { name fields { name type { name ofType { name } } } } } }")
                .unwrap();
        assert_eq!(c.depth, 1);
        assert_eq!(c.selections, 1);
        assert_eq!(c.introspection_roots, 1);
        assert_eq!(c.introspection_lists, 2);
        assert_eq!(c.introspection_selections, 9);
        assert_eq!(c.introspection_complexity, 9);
    }

    #[test]
    fn deep_introspection_lists_and_many_roots_are_refused() {
        assert!(matches!(
            cost(
                "{ __type(name: \"Query\") { fields { type { fields { type { fields { type { fields { name } } } } } } } } }"
            ),
            Err(LimitError::Introspection(_))
        ));
        let roots: String = (0..4)
            .map(|i| format!("s{i}: __schema {{ description }} "))
            .collect();
        assert!(matches!(
            cost(&format!("{{ {roots} }}")),
            Err(LimitError::Introspection(_))
        ));
    }
}
