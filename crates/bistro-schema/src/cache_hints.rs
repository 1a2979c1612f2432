//! HTTP cache hints: how long a shared cache (a CDN, a browser) may keep
//! the answer of a query, read from the schema itself.
//!
//! A hint is a line of a type's or field's description (so it is next to
//! the Rust type, in `schema.graphql` and in GraphiQL's docs pane):
//!
//! - `Cache: public, N s.` — public data, fresh for N seconds;
//! - `Cache: as its parent.` — a value (money, a page of a connection) as
//!   fresh as what holds it;
//! - `Cache: private.` — never kept by a shared cache.
//!
//! A query's answer may be kept when every field it selects is covered:
//! by its own hint or the hint of the type it returns (both count when both
//! are declared); a field that returns a scalar or enum without a hint is as
//! fresh as its parent;
//! anything else (a field returning an object type without a hint, a root
//! field without one, introspection, a private hint) makes the whole answer
//! private. The answer's `max-age` is the smallest hint met. So a new type
//! or field is private until someone declares it public, never the other
//! way round.
//!
//! The HTTP layer adds what this cannot see: only queries over GET, only
//! for callers without a token, only answers without errors
//! (`bistro-server::graphql_http`).

use std::collections::HashMap;
use std::sync::OnceLock;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
    TypeKind,
};

/// A declared hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// Public, fresh for this many seconds.
    Public(u32),
    /// As fresh as the field's parent.
    AsParent,
    /// Never kept by a shared cache.
    Private,
}

impl Hint {
    /// The hint a description declares, if any.
    pub fn of_description(description: &str) -> Option<Self> {
        description.lines().find_map(|line| {
            let rest = line.trim().strip_prefix("Cache: ")?;
            if rest.starts_with("private") {
                return Some(Self::Private);
            }
            if rest.starts_with("as its parent") {
                return Some(Self::AsParent);
            }
            let seconds = rest.strip_prefix("public, ")?.split(' ').next()?;
            seconds.parse().ok().map(Self::Public)
        })
    }
}

struct FieldInfo {
    hint: Option<Hint>,
    /// The named type it returns (lists and non-null unwrapped).
    returns: String,
}

struct TypeInfo {
    hint: Option<Hint>,
    composite: bool,
    fields: HashMap<String, FieldInfo>,
}

/// Every type's and field's hint, read once from the schema's SDL.
pub struct Hints {
    types: HashMap<String, TypeInfo>,
}

impl Hints {
    /// The hints the SDL `sdl` declares.
    pub fn from_sdl(sdl: &str) -> Self {
        let mut types = HashMap::new();
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            return Self { types };
        };
        for definition in document.definitions {
            let async_graphql::parser::types::TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let ty = ty.node;
            let hint = ty
                .description
                .as_ref()
                .and_then(|d| Hint::of_description(&d.node));
            let (composite, fields) = match &ty.kind {
                TypeKind::Object(object) => (true, object.fields.as_slice()),
                TypeKind::Interface(interface) => (true, interface.fields.as_slice()),
                TypeKind::Union(_) => (true, &[][..]),
                _ => (false, &[][..]),
            };
            let fields = fields
                .iter()
                .map(|field| {
                    let field = &field.node;
                    let mut base = &field.ty.node.base;
                    while let BaseType::List(inner) = base {
                        base = &inner.base;
                    }
                    let BaseType::Named(name) = base else {
                        unreachable!("lists were unwrapped")
                    };
                    (
                        field.name.node.to_string(),
                        FieldInfo {
                            hint: field
                                .description
                                .as_ref()
                                .and_then(|d| Hint::of_description(&d.node)),
                            returns: name.to_string(),
                        },
                    )
                })
                .collect();
            types.insert(
                ty.name.node.to_string(),
                TypeInfo {
                    hint,
                    composite,
                    fields,
                },
            );
        }
        Self { types }
    }

    /// The `max-age` of the answer to the operation `operation_name` selects
    /// in `document`, when every field it selects is public.
    pub fn public_max_age(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
    ) -> Option<u32> {
        let operation = match (&document.operations, operation_name) {
            (DocumentOperations::Single(op), _) => op,
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
            (DocumentOperations::Multiple(_), None) => return None,
        };
        if operation.node.ty != OperationType::Query {
            return None;
        }
        let mut walk = Walk {
            hints: self,
            document,
            max_age: None,
        };
        walk.selection_set(&operation.node.selection_set.node, "Query", true, 0)?;
        walk.max_age
    }
}

struct Walk<'a> {
    hints: &'a Hints,
    document: &'a ExecutableDocument,
    max_age: Option<u32>,
}

/// Deeper than any document the limits let through: a guard for documents
/// that never passed validation (fragment cycles).
const MAX_NESTING: usize = 64;

impl Walk<'_> {
    /// `None` as soon as something selected is not public.
    fn selection_set(
        &mut self,
        set: &SelectionSet,
        ty: &str,
        root: bool,
        nesting: usize,
    ) -> Option<()> {
        if nesting > MAX_NESTING {
            return None;
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    if name == "__typename" {
                        continue;
                    }
                    let info = self.hints.types.get(ty)?.fields.get(name)?;
                    let returns = self.hints.types.get(&info.returns);
                    let composite = returns.is_some_and(|t| t.composite);
                    // The field's own hint and its type's both count: the
                    // smallest wins, and private anywhere is private.
                    let hints = [info.hint, returns.and_then(|t| t.hint)];
                    for hint in hints.into_iter().flatten() {
                        match hint {
                            Hint::Private => return None,
                            Hint::Public(seconds) => {
                                self.max_age =
                                    Some(self.max_age.map_or(seconds, |m| m.min(seconds)));
                            }
                            // A value as fresh as what holds it; a root field
                            // holds nothing, so its children must say.
                            Hint::AsParent => {}
                        }
                    }
                    if hints.iter().all(Option::is_none) && (composite || root) {
                        return None;
                    }
                    if composite {
                        self.selection_set(
                            &field.selection_set.node,
                            &info.returns,
                            false,
                            nesting + 1,
                        )?;
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    let on = fragment
                        .type_condition
                        .as_ref()
                        .map_or(ty, |c| c.node.on.node.as_str());
                    self.selection_set(&fragment.selection_set.node, on, root, nesting + 1)?;
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = self
                        .document
                        .fragments
                        .get(&spread.node.fragment_name.node)?;
                    let on = fragment.node.type_condition.node.on.node.as_str();
                    self.selection_set(&fragment.node.selection_set.node, on, root, nesting + 1)?;
                }
            }
        }
        Some(())
    }
}

/// The schema's hints, read from its SDL once.
pub fn hints() -> &'static Hints {
    static HINTS: OnceLock<Hints> = OnceLock::new();
    HINTS.get_or_init(|| Hints::from_sdl(&crate::sdl()))
}

/// [`Hints::public_max_age`] with the schema's hints.
pub fn public_max_age(document: &ExecutableDocument, operation_name: Option<&str>) -> Option<u32> {
    hints().public_max_age(document, operation_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = r#"
"Cache: public, 300 s."
type Shop { name: String! items: [Item!]! owner: Person secret: String
  """
  Sold out or not.
  Cache: public, 5 s.
  """
  open: Boolean! }
type Item { name: String! price: Money! }
"Cache: as its parent."
type Money { amount: String! }
type Person { email: String! }
type Query {
  "Cache: public, 600 s."
  shops: [Shop!]!
  me: Person
  "Cache: private."
  mine: Shop
  count: Int!
}
"#;

    fn age(query: &str) -> Option<u32> {
        let hints = Hints::from_sdl(SDL);
        let document = async_graphql::parser::parse_query(query).unwrap();
        hints.public_max_age(&document, None)
    }

    #[test]
    fn descriptions_declare_hints() {
        assert_eq!(
            Hint::of_description("A shop.\n\nCache: public, 300 s."),
            Some(Hint::Public(300))
        );
        assert_eq!(Hint::of_description("Cache: private."), Some(Hint::Private));
        assert_eq!(
            Hint::of_description("Cache: as its parent."),
            Some(Hint::AsParent)
        );
        assert_eq!(Hint::of_description("A shop."), None);
    }

    #[test]
    fn the_smallest_hint_wins_and_anything_undeclared_is_private() {
        assert_eq!(age("{ shops { name } }"), Some(300));
        assert_eq!(age("{ shops { name open } }"), Some(5));
        assert_eq!(
            age("{ shops { __typename ...F } } fragment F on Shop { open }"),
            Some(5)
        );
        assert_eq!(age("{ shops { ... on Shop { name } } }"), Some(300));
        // A value type is as fresh as its parent; an undeclared object is private.
        assert_eq!(age("{ shops { items { price { amount } } } }"), None);
        assert_eq!(age("{ shops { owner { email } } }"), None);
        // Root fields must be declared; private is private wherever it is.
        assert_eq!(age("{ count }"), None);
        assert_eq!(age("{ me { email } }"), None);
        assert_eq!(age("{ mine { name } }"), None);
        assert_eq!(age("{ shops { name } me { email } }"), None);
        assert_eq!(age("{ __schema { types { name } } }"), None);
        assert_eq!(age("mutation { shops { name } }"), None);
        assert_eq!(age("{ nope }"), None);
    }
}
