//! What one GraphQL request owns: its viewer and its scope of the data layer
//! (counted store handles, loaders, round-trip counts).
//!
//! [`RequestScope`] is an async-graphql extension. The extension factory is
//! asked for a fresh extension for every execution (HTTP and WebSocket
//! alike), so loaders and their caches never outlive one request and never
//! serve one caller's data to another (TECH-NOTES §1.2).
//!
//! Counting is measured, not estimated: each request gets its own clone of
//! the database handle with a metric callback that counts every statement
//! sea-orm executes, and its own view of the key-value store that counts
//! every round trip. Loaders and resolvers only ever see these handles.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextRequest,
    NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    Name, Request, Response, ServerError, ServerResult, ValidationResult, Value, Variables,
};
use bistro_data::rate_limit::RateLimits;
use bistro_data::{DataLayer, Scope};

use crate::auth::{AuthDeps, BearerToken, ClientAddr, Viewer, ViewerCell, authenticate};
use crate::error::ErrorCode;
use crate::error::rate_limited;
use crate::limits::{LimitError, Limits, check_document};

/// Extension factory installed on the schema (see the module docs).
pub struct RequestScope {
    data: DataLayer,
    limits: Arc<Limits>,
    auth: AuthDeps,
    rate_limits: Arc<RateLimits>,
}

impl RequestScope {
    /// A factory that hands each request its own scope of the data layer.
    pub fn new(
        data: DataLayer,
        limits: Arc<Limits>,
        auth: AuthDeps,
        rate_limits: RateLimits,
    ) -> Self {
        Self {
            data,
            limits,
            auth,
            rate_limits: Arc::new(rate_limits),
        }
    }
}

impl ExtensionFactory for RequestScope {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestScopeExtension {
            data: self.data.clone(),
            limits: self.limits.clone(),
            auth: self.auth.clone(),
            rate_limits: self.rate_limits.clone(),
            scope: Mutex::new(None),
            introspection_complexity: Mutex::new(0),
        })
    }
}

struct RequestScopeExtension {
    data: DataLayer,
    limits: Arc<Limits>,
    auth: AuthDeps,
    rate_limits: Arc<RateLimits>,
    /// The request's scope, kept to read its round-trip counts at the end.
    scope: Mutex<Option<Arc<Scope>>>,
    /// What async-graphql's complexity will count inside introspection.
    introspection_complexity: Mutex<u64>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestScopeExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let request_failed = response.data == Value::Null;
        if !request_failed {
            null_failed_fields(&mut response);
        }
        for error in &mut response.errors {
            fill_missing_code(error, request_failed);
        }
        let scope = lock(&self.scope).take();
        let (sql, kv, kv_commands) = scope.map_or((0, 0, 0), |scope| {
            let (sql, kv) = scope.round_trips();
            (sql, kv, scope.kv_commands())
        });
        tracing::debug!(
            sql,
            kv,
            errors = response.errors.len(),
            "graphql request served"
        );
        if self.limits.expose_round_trips {
            let mut counts = async_graphql::indexmap::IndexMap::new();
            counts.insert(Name::new("sql"), Value::from(sql));
            counts.insert(Name::new("kv"), Value::from(kv));
            counts.insert(Name::new("kvCommands"), Value::from(kv_commands));
            response
                .extensions
                .insert("roundTrips".to_owned(), Value::Object(counts));
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let token = request
            .data
            .get(&std::any::TypeId::of::<BearerToken>())
            .and_then(|value| value.downcast_ref::<BearerToken>())
            .map(|token| token.0.clone());
        let scope = Arc::new(self.data.scope());
        *lock(&self.scope) = Some(scope.clone());

        // The request budget, first: it is what sheds load. The client is the
        // token's user when its signature holds (the session is checked
        // below), else the address.
        if self.rate_limits.budget_enabled() {
            let client = match token.as_deref().map(|t| self.auth.keys.verify(t)) {
                Some(Ok(claims)) => format!("user:{}", claims.sub),
                _ => match request
                    .data
                    .get(&std::any::TypeId::of::<ClientAddr>())
                    .and_then(|value| value.downcast_ref::<ClientAddr>())
                {
                    Some(ClientAddr(address)) => format!("addr:{address}"),
                    None => "addr:unknown".to_owned(),
                },
            };
            if let Err(limited) = self.rate_limits.spend_request(scope.kv(), &client).await {
                return Err(
                    rate_limited("Too many requests; slow down and retry later.", limited)
                        .into_server_error(async_graphql::Pos::default()),
                );
            }
        }

        // Then parse and measure: a document over the limits is refused
        // before it touches a store (authentication included). The parsed
        // document stays in the request, so it is parsed once.
        let limits = &self.limits;
        let document = request
            .parsed_query()
            .map_err(|error| parse_error(error, limits))?;
        let cost = check_document(document, limits).map_err(|error| {
            let code = match error {
                LimitError::Depth { .. } => ErrorCode::MaxDepthExceeded,
                LimitError::Selections { .. } => ErrorCode::MaxSelectionsExceeded,
                LimitError::Introspection(_) => ErrorCode::IntrospectionLimitExceeded,
            };
            with_code(ServerError::new(error.message(), None), code)
        })?;
        *lock(&self.introspection_complexity) = cost.introspection_complexity;

        let viewer = match token {
            None => Viewer(None),
            Some(token) => match authenticate(&self.auth, scope.kv(), &token).await {
                Ok(principal) => Viewer(Some(principal)),
                Err(failure) => {
                    return Err(with_code(
                        ServerError::new(failure.message(), None),
                        ErrorCode::Unauthenticated,
                    ));
                }
            },
        };
        let request = request.data(ViewerCell::new(viewer)).data(scope);
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Documents are parsed in `prepare_request`; this only runs for one
        // that was not (and codes its failure the same way).
        next.run(ctx, query, variables)
            .await
            .map_err(|error| parse_error(error, &self.limits))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|error| {
                    let code = if error.message.starts_with("The recursion depth") {
                        ErrorCode::MaxDepthExceeded
                    } else {
                        ErrorCode::GraphqlValidationFailed
                    };
                    with_code(error, code)
                })
                .collect::<Vec<_>>()
        })?;
        // async-graphql's count includes introspection, which has its own bounds.
        let introspection = usize::try_from(*lock(&self.introspection_complexity)).unwrap_or(0);
        let complexity = result.complexity.saturating_sub(introspection);
        if complexity > self.limits.max_complexity {
            return Err(vec![with_code(
                ServerError::new(
                    format!(
                        "The query's complexity is {complexity}; the limit is {}.",
                        self.limits.max_complexity
                    ),
                    None,
                ),
                ErrorCode::MaxComplexityExceeded,
            )]);
        }
        Ok(result)
    }
}

/// Codes a parse failure; the parser's recursion guard is a depth limit to clients.
fn parse_error(error: ServerError, limits: &Limits) -> ServerError {
    // The parser's own guard ("recursion limit exceeded.") and the schema's
    // ("The recursion depth of the query …") are both depth limits to clients.
    if error.message.starts_with("The recursion depth")
        || error.message.starts_with("recursion limit")
    {
        let depth = limits.max_depth;
        let mut error = error;
        error.message =
            format!("The query nests more than {depth} levels deep; the limit is {depth}.");
        with_code(error, ErrorCode::MaxDepthExceeded)
    } else {
        with_code(error, ErrorCode::GraphqlParseFailed)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Puts `null` where a field failed.
///
/// async-graphql 7.2 leaves a failed field out of `data` instead of setting
/// it to `null` (TECH-NOTES §1.3); guards fail that way too. The spec (and
/// typed clients) expect the key with `null`: every field that can fail is
/// nullable in this schema, so the error path's last key is restored as
/// `null` wherever its parent object exists.
fn null_failed_fields(response: &mut Response) {
    use async_graphql::PathSegment;
    fn walk<'v>(node: &'v mut Value, path: &[PathSegment]) -> Option<&'v mut Value> {
        let Some((first, rest)) = path.split_first() else {
            return Some(node);
        };
        let child = match (first, node) {
            (PathSegment::Field(name), Value::Object(map)) => map.get_mut(name.as_str())?,
            (PathSegment::Index(i), Value::List(items)) => items.get_mut(*i)?,
            _ => return None,
        };
        walk(child, rest)
    }
    for error in &response.errors {
        let Some((PathSegment::Field(last), parents)) = error.path.split_last() else {
            continue;
        };
        if let Some(Value::Object(map)) = walk(&mut response.data, parents) {
            map.entry(Name::new(last)).or_insert(Value::Null);
        }
    }
}

fn with_code(mut error: ServerError, code: ErrorCode) -> ServerError {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
    error
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
}

/// Every error leaves with a code. Request-level errors without one come from
/// choosing the operation ("Unknown operation named …"); field errors without
/// one are argument coercion failures or, if anything else, a bug whose
/// message must not reach the client.
fn fill_missing_code(error: &mut ServerError, request_failed: bool) {
    if has_code(error) {
        return;
    }
    let code = if request_failed {
        ErrorCode::GraphqlValidationFailed
    } else if error.message.starts_with("Failed to parse")
        || error.message.starts_with("Invalid value")
    {
        ErrorCode::BadUserInput
    } else {
        tracing::error!(message = %error.message, path = ?error.path, "uncoded resolver error");
        error.message = "Internal server error".to_owned();
        ErrorCode::Internal
    };
    *error = with_code(std::mem::replace(error, ServerError::new("", None)), code);
}
