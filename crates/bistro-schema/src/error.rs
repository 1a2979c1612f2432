//! Error codes and the conversion of store failures into client errors.
//!
//! Every error a client sees carries `extensions.code` from [`ErrorCode`].
//! Expected failures of a store (it is unreachable) become
//! `STORE_UNAVAILABLE`; anything else becomes `INTERNAL` with an opaque
//! message; the detail is logged once by the data layer, never sent to the client.

use async_graphql::{Context, ErrorExtensions};

/// The machine-readable codes in `extensions.code`.
///
/// | code | meaning |
/// |---|---|
/// | `BAD_REQUEST` | the HTTP request is not a well-formed GraphQL request (bad JSON, missing query, wrong parameter types) |
/// | `PAYLOAD_TOO_LARGE` | the request body is over the configured limit |
/// | `UNSUPPORTED_MEDIA_TYPE` | the request body is not `application/json` |
/// | `NOT_ACCEPTABLE` | the `Accept` header allows no media type the server can answer with |
/// | `METHOD_NOT_ALLOWED` | wrong HTTP method, or a mutation over GET |
/// | `GRAPHQL_PARSE_FAILED` | the document is not valid GraphQL syntax |
/// | `GRAPHQL_VALIDATION_FAILED` | the document does not fit the schema, or the operation cannot be chosen |
/// | `MAX_DEPTH_EXCEEDED` | the document nests deeper than allowed |
/// | `MAX_COMPLEXITY_EXCEEDED` | the document asks for more than allowed |
/// | `MAX_SELECTIONS_EXCEEDED` | the document selects more fields than allowed (fragments expanded) |
/// | `INTROSPECTION_LIMIT_EXCEEDED` | the document's introspection goes beyond its own bounds |
/// | `MAX_OPERATIONS_EXCEEDED` | a WebSocket already runs as many operations as allowed (`live.max_operations`) |
/// | `MAX_REPRESENTATIONS_EXCEEDED` | an `_entities` call names more representations than allowed (`graphql.max_representations`) |
/// | `BAD_USER_INPUT` | an argument value is out of range or malformed |
/// | `NOT_FOUND` | the thing asked for does not exist |
/// | `UNAUTHENTICATED` | a valid identity is needed |
/// | `FORBIDDEN` | the identity may not do this |
/// | `RATE_LIMITED` | too many requests, sign-ins or registrations from this client; retry after `extensions.retryAfterSeconds` |
/// | `SERVER_BUSY` | the server has as much password hashing queued as it allows; not the client's fault, retry after `extensions.retryAfterSeconds` |
/// | `STORE_UNAVAILABLE` | a store behind the API is unreachable; retry later |
/// | `TIMEOUT` | the request took longer than the server allows |
/// | `INTERNAL` | an unexpected failure; details are in the server log |
/// | `PERSISTED_QUERY_NOT_FOUND` | an automatic persisted query's hash is not registered (message `PersistedQueryNotFound`): send the text with it |
/// | `PERSISTED_QUERY_NOT_SUPPORTED` | automatic persisted queries are off (`graphql.apq`; message `PersistedQueryNotSupported`): send the text |
/// | `PERSISTED_QUERY_HASH_MISMATCH` | the hash sent is not the SHA-256 of the text sent |
/// | `PERSISTED_DOCUMENT_NOT_FOUND` | no manifest lists the `documentId` |
/// | `DOCUMENT_NOT_TRUSTED` | `graphql.trusted_documents_only` is on and no manifest lists the document |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    NotAcceptable,
    MethodNotAllowed,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    MaxDepthExceeded,
    MaxComplexityExceeded,
    MaxSelectionsExceeded,
    IntrospectionLimitExceeded,
    MaxOperationsExceeded,
    MaxRepresentationsExceeded,
    BadUserInput,
    NotFound,
    Unauthenticated,
    Forbidden,
    RateLimited,
    ServerBusy,
    StoreUnavailable,
    Timeout,
    Internal,
    PersistedQueryNotFound,
    PersistedQueryNotSupported,
    PersistedQueryHashMismatch,
    PersistedDocumentNotFound,
    DocumentNotTrusted,
}

impl ErrorCode {
    /// A request-level error (no location) carrying this code, as the
    /// pipeline and the WebSocket transport answer with.
    pub fn server_error(self, message: impl Into<String>) -> async_graphql::ServerError {
        let mut error = async_graphql::ServerError::new(message, None);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", self.as_str());
        error
    }

    /// The wire form, as it appears in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::NotAcceptable => "NOT_ACCEPTABLE",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::MaxDepthExceeded => "MAX_DEPTH_EXCEEDED",
            Self::MaxComplexityExceeded => "MAX_COMPLEXITY_EXCEEDED",
            Self::MaxSelectionsExceeded => "MAX_SELECTIONS_EXCEEDED",
            Self::IntrospectionLimitExceeded => "INTROSPECTION_LIMIT_EXCEEDED",
            Self::MaxOperationsExceeded => "MAX_OPERATIONS_EXCEEDED",
            Self::MaxRepresentationsExceeded => "MAX_REPRESENTATIONS_EXCEEDED",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::RateLimited => "RATE_LIMITED",
            Self::ServerBusy => "SERVER_BUSY",
            Self::StoreUnavailable => "STORE_UNAVAILABLE",
            Self::Timeout => "TIMEOUT",
            Self::Internal => "INTERNAL",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::PersistedQueryNotSupported => "PERSISTED_QUERY_NOT_SUPPORTED",
            Self::PersistedQueryHashMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
            Self::PersistedDocumentNotFound => "PERSISTED_DOCUMENT_NOT_FOUND",
            Self::DocumentNotTrusted => "DOCUMENT_NOT_TRUSTED",
        }
    }

    /// A resolver error with this code.
    pub fn error(self, message: impl Into<String>) -> async_graphql::Error {
        async_graphql::Error::new(message).extend_with(|_, e| e.set("code", self.as_str()))
    }
}

/// A `RATE_LIMITED` error with `extensions.retryAfterSeconds`.
pub fn rate_limited(
    message: &str,
    limited: bistro_data::rate_limit::Limited,
) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| {
        e.set("code", ErrorCode::RateLimited.as_str());
        e.set("retryAfterSeconds", limited.retry_after_secs);
    })
}

/// A `SERVER_BUSY` error: the server's password hashing has as much work
/// running and queued as it allows. A second is a fair wait: the queue moves
/// by a hash every few tens of milliseconds per core.
pub fn server_busy() -> async_graphql::Error {
    async_graphql::Error::new("The server is busy; try again in a moment.").extend_with(|_, e| {
        e.set("code", ErrorCode::ServerBusy.as_str());
        e.set("retryAfterSeconds", 1);
    })
}

/// Turns a data-layer failure into the client's error.
///
/// The data layer has already logged the failure, once, where it happened
/// (a batch failing is one log line however many fields waited on it), so
/// this only chooses the code and a message without internal detail.
pub fn store_error(error: &bistro_data::Error) -> async_graphql::Error {
    if error.is_unavailable() {
        ErrorCode::StoreUnavailable.error(format!(
            "The {} store is unavailable; retry later.",
            error.store()
        ))
    } else {
        ErrorCode::Internal.error("Internal server error")
    }
}

/// `.coded()?` on a data-layer result: the client error of [`store_error`].
///
/// There is no `From<bistro_data::Error> for async_graphql::Error`:
/// async-graphql's blanket `From<T: Display>` would win and send the store's
/// message to the client.
pub trait Coded<T> {
    /// The value, or the coded client error.
    fn coded(self) -> async_graphql::Result<T>;
}

impl<T> Coded<T> for Result<T, bistro_data::Error> {
    fn coded(self) -> async_graphql::Result<T> {
        self.map_err(|e| store_error(&e))
    }
}

/// Resolves a field that may fail without failing its parent: on error the
/// field is `null` and the error is reported with its path.
///
/// async-graphql 7.2 leaves a failed field out of `data` instead of setting
/// it to `null` (TECH-NOTES §1.3); nullable fields that record their own
/// error give the spec's shape on every version.
pub fn soft<T>(ctx: &Context<'_>, result: async_graphql::Result<T>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
            None
        }
    }
}

/// Resolves a nullable field from `work` (most fields and mutations): on
/// error the field is `null` and the error is reported with its path (see [`soft`]).
pub async fn nullable<T>(
    ctx: &Context<'_>,
    work: impl Future<Output = async_graphql::Result<T>>,
) -> Option<T> {
    soft(ctx, work.await)
}
