//! Parsed documents, kept by their text: a client sends the same few
//! operations over and over, so each is parsed and measured once, and
//! validated in full once (later requests skip the rules it already passed).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};

use crate::limits::DocumentCost;

/// Most documents kept.
const CAPACITY: usize = 512;

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
        match (&self.document.operations, operation_name) {
            (DocumentOperations::Single(op), _) => Some(op.node.ty),
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
                ops.values().next().map(|op| op.node.ty)
            }
            (DocumentOperations::Multiple(_), None) => None,
        }
    }
}

/// Documents by text, bounded in number and size.
#[derive(Default)]
pub struct DocumentCache {
    documents: Mutex<HashMap<Arc<str>, Arc<Document>>>,
}

impl DocumentCache {
    /// The document with this text, when kept.
    pub fn get(&self, text: &str) -> Option<Arc<Document>> {
        self.lock().get(text).cloned()
    }

    /// Keeps `document` (unless its text is too long to be worth it).
    pub fn insert(&self, text: &str, document: Arc<Document>) {
        if text.len() > MAX_CACHED_BYTES {
            return;
        }
        let mut documents = self.lock();
        if documents.len() >= CAPACITY {
            // Full of documents nobody may send again: start over rather
            // than keep an order of use on the hot path.
            documents.clear();
        }
        documents.insert(Arc::from(text), document);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<Document>>> {
        self.documents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
