//! What the request pipeline tells `bistro_metrics`, recorded in the
//! pipeline itself (`Api::prepare`, `Api::run`, `Api::stream`) rather than
//! by an async-graphql extension (see `request`'s module docs for why none is
//! registered). With metrics off, each call is one atomic load.

use std::time::Instant;

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
use async_graphql::{Response, Value};
use bistro_data::Scope;

use crate::documents::Document;
use crate::error::ErrorCode;

/// When a request was taken in, when metrics are on (no clock read when off).
pub(crate) fn start() -> Option<Instant> {
    bistro_metrics::enabled().then(Instant::now)
}

/// The operation a request runs: what it names, else the one operation a
/// document names.
pub(crate) fn operation_name<'a>(
    document: Option<&'a Document>,
    requested: Option<&'a str>,
) -> Option<&'a str> {
    if requested.is_some() {
        return requested;
    }
    match &document?.document.operations {
        DocumentOperations::Multiple(ops) if ops.len() == 1 => {
            ops.keys().next().map(|name| name.as_str())
        }
        _ => None,
    }
}

/// A request answered: its receipt, its errors by code, and whether a store
/// that did not answer cost it part of its data.
pub(crate) fn request(
    started: Option<Instant>,
    document: Option<&Document>,
    requested: Option<&str>,
    known: bool,
    scope: &Scope,
    response: &Response,
    ty: Option<OperationType>,
) {
    let Some(started) = started else {
        return;
    };
    let failed = response.data == Value::Null && !response.errors.is_empty();
    let outcome = if failed {
        bistro_metrics::Outcome::Failed
    } else if response.errors.is_empty() {
        bistro_metrics::Outcome::Ok
    } else {
        bistro_metrics::Outcome::Partial
    };
    let (sql, kv_round_trips) = scope.round_trips();
    bistro_metrics::graphql_request(&bistro_metrics::Receipt {
        operation: operation_name(document, requested),
        known,
        ty: match ty {
            Some(OperationType::Query) => "query",
            Some(OperationType::Mutation) => "mutation",
            Some(OperationType::Subscription) => "subscription",
            None => "unknown",
        },
        outcome,
        elapsed: started.elapsed(),
        sql,
        kv_round_trips,
        kv_commands: scope.kv_commands(),
    });
    let mut degraded = false;
    for error in &response.errors {
        let code = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .and_then(|code| match code {
                Value::String(code) => Some(code_label(code)),
                _ => None,
            })
            .unwrap_or("NONE");
        degraded |= code == ErrorCode::StoreUnavailable.as_str();
        bistro_metrics::graphql_error(code);
    }
    if degraded && !failed {
        bistro_metrics::degraded_request();
    }
}

/// A code as a label: one of [`ErrorCode`]'s, else `OTHER` (labels stay bounded).
fn code_label(code: &str) -> &'static str {
    use ErrorCode as C;
    const CODES: &[ErrorCode] = &[
        C::BadRequest,
        C::PayloadTooLarge,
        C::UnsupportedMediaType,
        C::NotAcceptable,
        C::MethodNotAllowed,
        C::GraphqlParseFailed,
        C::GraphqlValidationFailed,
        C::MaxDepthExceeded,
        C::MaxComplexityExceeded,
        C::MaxSelectionsExceeded,
        C::IntrospectionLimitExceeded,
        C::MaxOperationsExceeded,
        C::MaxRepresentationsExceeded,
        C::BadUserInput,
        C::NotFound,
        C::Unauthenticated,
        C::Forbidden,
        C::RateLimited,
        C::ServerBusy,
        C::StoreUnavailable,
        C::Timeout,
        C::Internal,
        C::PersistedQueryNotFound,
        C::PersistedQueryNotSupported,
        C::PersistedQueryHashMismatch,
        C::PersistedDocumentNotFound,
        C::DocumentNotTrusted,
    ];
    CODES
        .iter()
        .map(|c| c.as_str())
        .find(|c| *c == code)
        .unwrap_or("OTHER")
}

/// The subscription root fields, as labels.
const LIVE_FIELDS: &[&str] = &["orderUpdated", "restaurantOrders", "menuItemAvailability"];

/// An open subscription, counted by its root field until dropped.
pub(crate) struct OpenSubscription(Option<&'static str>);

impl OpenSubscription {
    /// Counts a subscription of `document` (one more of its root field).
    pub(crate) fn open(document: &Document, requested: Option<&str>) -> Self {
        if !bistro_metrics::enabled() {
            return Self(None);
        }
        let operation = match (&document.document.operations, requested) {
            (DocumentOperations::Single(op), _) => Some(op),
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
            (DocumentOperations::Multiple(ops), None) => ops.values().next(),
        };
        let field = operation
            .and_then(|op| op.node.selection_set.node.items.first())
            .and_then(|selection| match &selection.node {
                Selection::Field(field) => Some(field.node.name.node.as_str()),
                _ => None,
            })
            .and_then(|name| LIVE_FIELDS.iter().copied().find(|known| *known == name))
            .unwrap_or("other");
        bistro_metrics::subscription(field, 1.0);
        Self(Some(field))
    }
}

impl Drop for OpenSubscription {
    fn drop(&mut self) {
        if let Some(field) = self.0 {
            bistro_metrics::subscription(field, -1.0);
        }
    }
}
