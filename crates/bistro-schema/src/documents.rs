//! Parsed documents, kept by the SHA-256 of their text: a client sends the
//! same few operations over and over (as text, or by hash: persisted
//! queries and trusted documents), so each is parsed and measured once, and
//! validated in full once (later requests skip the rules it already passed).
//! [`DocumentCache`] keeps the documents many clients send even while one
//! client sends thousands of its own.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::Name;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use lru::LruCache;

use crate::limits::DocumentCost;

/// Most documents kept unless configured (`graphql.document_cache_entries`).
const DEFAULT_CAPACITY: usize = 512;

/// Longest document text kept (longer ones are parsed every time).
const MAX_CACHED_BYTES: usize = 16 * 1024;

/// A parsed, measured document.
pub struct Document {
    /// The syntax tree.
    pub document: ExecutableDocument,
    /// What it asks for, as the limits measure it (variables aside).
    pub cost: DocumentCost,
    /// Whether it passed every validation rule once.
    validated: AtomicBool,
    /// Whether it selects `_service` or `_entities` (the router secret's
    /// fields), found once with the cost rather than at every request.
    router_fields: bool,
}

impl Document {
    /// A document just parsed and measured.
    pub fn new(document: ExecutableDocument, cost: DocumentCost) -> Self {
        let router_fields = crate::federation::selects_router_fields(&document);
        Self {
            document,
            cost,
            validated: AtomicBool::new(false),
            router_fields,
        }
    }

    /// How long a shared cache may keep the answer of the operation
    /// `operation_name` selects, when every field it selects is public
    /// (`cache_hints`); `None`: nobody may keep it.
    pub fn public_max_age(&self, operation_name: Option<&str>) -> Option<u32> {
        crate::cache_hints::public_max_age(&self.document, operation_name)
    }

    /// Whether it selects `_service` or `_entities`.
    pub fn selects_router_fields(&self) -> bool {
        self.router_fields
    }

    /// Whether it introspects (`__schema`, `__type`).
    pub fn introspects(&self) -> bool {
        self.cost.introspection_roots > 0
    }

    /// Whether it passed every validation rule once.
    pub fn is_validated(&self) -> bool {
        self.validated.load(Ordering::Relaxed)
    }

    /// Records that it passed every validation rule.
    pub fn mark_validated(&self) {
        self.validated.store(true, Ordering::Relaxed);
    }

    /// The type of the operation a request with `operation_name` selects, if it can be told.
    pub fn operation_type(&self, operation_name: Option<&str>) -> Option<OperationType> {
        self.operation(operation_name).map(|op| op.ty)
    }

    /// The operation `operation_name` selects, if it names one (or the
    /// document has one).
    pub fn operation(&self, operation_name: Option<&str>) -> Option<&OperationDefinition> {
        match (&self.document.operations, operation_name) {
            (DocumentOperations::Single(op), _) => Some(&op.node),
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
                ops.values().next().map(|op| &op.node)
            }
            (DocumentOperations::Multiple(_), None) => None,
        }
    }

    /// The response keys an operation's selection at `path` (the path of an
    /// object in the answer) selects, in the document's order, fragments
    /// spread where they stand: the order of that object's fields in the
    /// answer. Keys of fragments on other types are among them (the answer
    /// simply lacks them).
    pub fn response_keys(
        &self,
        operation_name: Option<&str>,
        path: &[async_graphql::PathSegment],
    ) -> Vec<Name> {
        let Some(operation) = self.operation(operation_name) else {
            return Vec::new();
        };
        let mut sets = vec![&operation.selection_set.node];
        for segment in path {
            let async_graphql::PathSegment::Field(key) = segment else {
                // A list's items share their selection.
                continue;
            };
            let mut fields = Vec::new();
            for set in &sets {
                self.fields_of(set, &mut fields);
            }
            sets = fields
                .into_iter()
                .filter(|field| field.response_key().node.as_str() == key.as_str())
                .map(|field| &field.selection_set.node)
                .collect();
        }
        let mut fields = Vec::new();
        for set in &sets {
            self.fields_of(set, &mut fields);
        }
        let mut keys: Vec<Name> = Vec::with_capacity(fields.len());
        for field in fields {
            let key = &field.response_key().node;
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        keys
    }

    /// The fields `set` selects, in order, its fragments' fields where they
    /// are spread (a fragment spread within itself, which validation
    /// refuses, is not followed twice).
    fn fields_of<'d>(&'d self, set: &'d SelectionSet, out: &mut Vec<&'d Field>) {
        fn walk<'d>(
            document: &'d ExecutableDocument,
            set: &'d SelectionSet,
            out: &mut Vec<&'d Field>,
            spread: &mut Vec<&'d str>,
        ) {
            for selection in &set.items {
                match &selection.node {
                    Selection::Field(field) => out.push(&field.node),
                    Selection::InlineFragment(fragment) => {
                        walk(document, &fragment.node.selection_set.node, out, spread);
                    }
                    Selection::FragmentSpread(spread_of) => {
                        let name = spread_of.node.fragment_name.node.as_str();
                        if spread.contains(&name) {
                            continue;
                        }
                        if let Some(fragment) = document.fragments.get(name) {
                            spread.push(name);
                            walk(document, &fragment.node.selection_set.node, out, spread);
                            spread.pop();
                        }
                    }
                }
            }
        }
        walk(&self.document, set, out, &mut Vec::new());
    }
}

/// Who sent a document, as far as the cache tells clients apart: the
/// client's address (`None` when the transport does not know it).
pub type CacheClient = Option<IpAddr>;

/// How a probationary document earns its place among the protected ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Sent so far by this client only: another client's use promotes it.
    By(CacheClient),
    /// Was protected and made room: any use promotes it again.
    Many,
}

struct Probationary {
    document: Arc<Document>,
    seen: Seen,
}

/// The two segments, each in order of use.
struct Segments {
    /// Documents one client sent: new ones come in here, and the least
    /// recently used of them is the first to go.
    probation: LruCache<Arc<str>, Probationary>,
    /// Documents more than one client sent: they go only when the protected
    /// segment is full, to the head of probation, not out.
    protected: LruCache<Arc<str>, Arc<Document>>,
}

/// Parsed documents by key (the SHA-256 of the document's text, in hex),
/// bounded in number and size: a segmented LRU that keeps what many clients use.
///
/// A plain LRU (or the map it replaced, emptied when full) lets one client
/// that sends thousands of distinct documents push out the few that every
/// client sends. Here a document enters *probation*; when a *second client*
/// sends it, it moves to the *protected* segment (at most three quarters of
/// the capacity), which only such promotions can fill. A flood of new
/// documents, or one client repeating its own, churns probation and never
/// reaches the documents other clients keep using. Clients are told apart by
/// address (behind a reverse proxy, only once `http.trusted_proxies` names it).
pub struct DocumentCache {
    capacity: usize,
    protected_capacity: usize,
    segments: Mutex<Segments>,
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl DocumentCache {
    /// A cache of at most `capacity` documents (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            protected_capacity: capacity - capacity / 4,
            segments: Mutex::new(Segments {
                probation: LruCache::unbounded(),
                protected: LruCache::unbounded(),
            }),
        }
    }

    /// The document kept under `key`, when kept, as `client` uses it: a
    /// document another client sent first is promoted to the protected segment.
    pub fn get(&self, key: &str, client: CacheClient) -> Option<Arc<Document>> {
        let mut segments = self.lock();
        if let Some(document) = segments.protected.get(key) {
            return Some(document.clone());
        }
        let entry = segments.probation.get(key)?;
        if entry.seen == Seen::By(client) {
            return Some(entry.document.clone());
        }
        let (key, Probationary { document, .. }) = segments.probation.pop_entry(key)?;
        segments.protected.put(key, document.clone());
        if segments.protected.len() > self.protected_capacity
            && let Some((demoted, demoted_document)) = segments.protected.pop_lru()
        {
            segments.probation.put(
                demoted,
                Probationary {
                    document: demoted_document,
                    seen: Seen::Many,
                },
            );
        }
        Some(document)
    }

    /// Keeps `document` under `key` as sent by `client` (unless its text,
    /// `text_len` bytes, is too long to be worth it), making room by
    /// dropping the least recently used probationary document.
    pub fn insert(&self, key: &str, text_len: usize, client: CacheClient, document: Arc<Document>) {
        if text_len > MAX_CACHED_BYTES || self.capacity == 0 {
            return;
        }
        let mut segments = self.lock();
        if segments.protected.contains(key) || segments.probation.contains(key) {
            // Parsed twice at once; the first one kept stays.
            return;
        }
        segments.probation.put(
            Arc::from(key),
            Probationary {
                document,
                seen: Seen::By(client),
            },
        );
        while segments.probation.len() + segments.protected.len() > self.capacity {
            // Probation always holds at least a quarter of the capacity's
            // worth of room (protected is bounded), so it gives first.
            if segments.probation.pop_lru().is_none() {
                segments.protected.pop_lru();
            }
        }
    }

    /// Whether a document is kept under `key`, without counting as a use.
    pub fn contains(&self, key: &str) -> bool {
        let segments = self.lock();
        segments.protected.contains(key) || segments.probation.contains(key)
    }

    /// How many documents are kept: `(probation, protected)`.
    pub fn len(&self) -> (usize, usize) {
        let segments = self.lock();
        (segments.probation.len(), segments.protected.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Segments> {
        self.segments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(text: &str) -> Arc<Document> {
        let parsed = async_graphql::parser::parse_query(text).expect("a valid document");
        Arc::new(Document::new(parsed, DocumentCost::default()))
    }

    fn client(n: u8) -> CacheClient {
        Some(IpAddr::from([203, 0, 113, n]))
    }

    #[test]
    fn a_flood_from_one_client_does_not_evict_what_others_share() {
        let cache = DocumentCache::new(512);
        let shared = "{ restaurants { totalCount } }";
        cache.insert(shared, shared.len(), client(1), document(shared));
        assert!(cache.get(shared, client(2)).is_some());
        for i in 0..2_000 {
            let text = format!("{{ a{i}: __typename }}");
            cache.insert(&text, text.len(), client(9), document(&text));
            // Sent twice by its one client: still probation.
            assert!(cache.get(&text, client(9)).is_some());
        }
        assert!(cache.contains(shared));
        assert_eq!(cache.len(), (511, 1));
    }

    #[test]
    fn the_same_client_never_promotes_its_own_documents() {
        let cache = DocumentCache::new(8);
        cache.insert("{ a }", "{ a }".len(), client(1), document("{ a }"));
        for _ in 0..5 {
            cache.get("{ a }", client(1));
        }
        assert_eq!(cache.len(), (1, 0));
        cache.get("{ a }", client(2));
        assert_eq!(cache.len(), (0, 1));
    }

    #[test]
    fn protected_documents_make_room_through_probation() {
        let cache = DocumentCache::new(4);
        // Capacity 4: at most 3 protected.
        for name in ["a", "b", "c", "d"] {
            let text = format!("{{ {name} }}");
            cache.insert(&text, text.len(), client(1), document(&text));
            cache.get(&text, client(2));
        }
        assert_eq!(cache.len(), (1, 3));
        // The least recently used protected one ("a") moved to probation,
        // and any client's next use promotes it again.
        assert!(cache.contains("{ a }"));
        cache.get("{ a }", client(1));
        assert_eq!(cache.len(), (1, 3));
        assert!(cache.contains("{ b }"));
        // New documents push out probation first.
        cache.insert("{ e }", "{ e }".len(), client(3), document("{ e }"));
        cache.insert("{ f }", "{ f }".len(), client(3), document("{ f }"));
        assert_eq!(cache.len(), (1, 3));
        assert!(cache.contains("{ f }") && !cache.contains("{ e }"));
    }

    #[test]
    fn long_documents_and_a_zero_capacity_keep_nothing() {
        let long = format!("{{ {} }}", "a ".repeat(MAX_CACHED_BYTES));
        let cache = DocumentCache::new(8);
        cache.insert(&long, long.len(), client(1), document("{ a }"));
        assert!(!cache.contains(&long));
        let none = DocumentCache::new(0);
        none.insert("{ a }", 5, client(1), document("{ a }"));
        assert_eq!(none.len(), (0, 0));
    }
}
