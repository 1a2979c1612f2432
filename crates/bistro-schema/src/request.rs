//! The request pipeline: how one GraphQL request is taken in, checked,
//! given its scope of the data layer, executed and answered.
//!
//! [`Api::execute`] does, in order:
//!
//! 1. the client's request budget (one key-value round trip, when on);
//! 2. the document: from the [`DocumentCache`], else parsed and measured
//!    against the limits (depth, selections, introspection), so a hostile
//!    document is refused before authentication or any store;
//! 3. authentication of the bearer token (one key-value read of the session);
//! 4. execution, with the request's `Scope` and `ViewerCell` as request data,
//!    on one of three builds of the schema (below);
//! 5. the answer: a code on every error, `null` where a field failed, and
//!    the round trips in `extensions.roundTrips` when configured.
//!
//! No async-graphql extension is registered on the schemas that serve data:
//! any extension sends every field and list item through async-graphql's
//! slower path (a boxed future and registry lookups per field). The three
//! builds share every type:
//!
//! - `strict`: every validation rule and the complexity limit, for a
//!   document seen for the first time;
//! - `fast`: the complexity limit only (`ValidationMode::Fast`), for a
//!   document that already passed every rule once;
//! - `introspective`: for documents that introspect, whose complexity is
//!   async-graphql's count minus what it counted inside introspection (an
//!   extension on this build alone does the subtraction: introspection has
//!   its own bounds, and tools' standard query must not count against data).
//!
//! Subscriptions go through the same builds (`live::Api::subscribe`).

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{
    Name, Request, Response, Schema, ServerError, ValidationMode, ValidationResult, Value,
};
use bistro_data::DataLayer;
use bistro_data::rate_limit::RateLimits;
use bistro_kv::Kv;

use crate::auth::{AuthDeps, ClientAddr, Viewer, ViewerCell, authenticate};
use crate::documents::{Document, DocumentCache};
use crate::error::{ErrorCode, rate_limited};
use crate::limits::{LimitError, Limits, check_document};
use crate::live::{LiveHub, LiveSettings, Subscription};
use crate::{BistroSchema, Mutation, Query, SchemaDeps};

/// Who sent a request, as the transport knows them.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The raw token of an `Authorization: Bearer …` header (or a WebSocket's `connection_init`).
    pub token: Option<String>,
    /// The client's address.
    pub address: Option<IpAddr>,
}

/// The GraphQL API: the schema and everything a request goes through.
pub struct Api {
    pub(crate) strict: BistroSchema,
    fast: BistroSchema,
    pub(crate) introspective: BistroSchema,
    documents: DocumentCache,
    pub(crate) data: DataLayer,
    pub(crate) limits: Arc<Limits>,
    pub(crate) auth: AuthDeps,
    pub(crate) rate_limits: Arc<RateLimits>,
    /// The replica's fan-out of live events to subscriptions.
    pub(crate) live: LiveHub,
}

impl Api {
    /// Builds the API over its dependencies.
    pub fn new(deps: SchemaDeps) -> Self {
        let limits = Arc::new(deps.limits);
        let build = |mode: ValidationMode, complexity: bool, introspection_ext: bool| {
            let mut builder = Schema::build(Query, Mutation::default(), Subscription)
                .validation_mode(mode)
                // Depth is measured by `limits::check_document` (introspection
                // apart); this guards the parser's and validator's stacks.
                .limit_recursive_depth(crate::limits::recursion_guard(&limits))
                .limit_directives(limits.max_directives)
                .data(limits.clone())
                .data(deps.auth.clone())
                .data(deps.rate_limits.clone())
                .data(crate::ordering::Payments(deps.payments.clone()));
            if complexity {
                builder = builder.limit_complexity(limits.max_complexity);
            }
            if introspection_ext {
                builder = builder.extension(IntrospectionApart {
                    max_complexity: limits.max_complexity,
                });
            }
            if !limits.introspection {
                builder = builder.disable_introspection();
            }
            builder.finish()
        };
        Self {
            strict: build(ValidationMode::Strict, true, false),
            fast: build(ValidationMode::Fast, true, false),
            introspective: build(ValidationMode::Strict, false, true),
            documents: DocumentCache::default(),
            live: LiveHub::new(
                deps.data.clone(),
                deps.auth.clone(),
                LiveSettings::default().queue_capacity,
            ),
            data: deps.data,
            auth: deps.auth,
            rate_limits: Arc::new(deps.rate_limits),
            limits,
        }
    }

    /// The same API with live connections configured by `settings` (before
    /// the live hub is started).
    pub fn with_live_settings(mut self, settings: &LiveSettings) -> Self {
        self.live = LiveHub::new(
            self.data.clone(),
            self.auth.clone(),
            settings.queue_capacity,
        );
        self
    }

    /// The schema (for its SDL, and for serving subscriptions).
    pub fn schema(&self) -> &BistroSchema {
        &self.strict
    }

    /// The parsed, measured document of `text`, or the coded error that refuses it.
    pub fn document(&self, text: &str) -> Result<Arc<Document>, ServerError> {
        if let Some(document) = self.documents.get(text) {
            return Ok(document);
        }
        let parsed = async_graphql::parser::parse_query(text).map_err(|error| {
            parse_error(
                ServerError::new(error.to_string(), error.positions().next()),
                &self.limits,
            )
        })?;
        let cost = check_document(&parsed, &self.limits).map_err(|error| {
            let code = match error {
                LimitError::Depth { .. } => ErrorCode::MaxDepthExceeded,
                LimitError::Selections { .. } => ErrorCode::MaxSelectionsExceeded,
                LimitError::Introspection(_) => ErrorCode::IntrospectionLimitExceeded,
            };
            code.server_error(error.message())
        })?;
        let document = Arc::new(Document::new(parsed, cost));
        self.documents.insert(text, document.clone());
        Ok(document)
    }

    /// Serves one request from `caller`.
    pub async fn execute(&self, mut request: Request, caller: Caller) -> Response {
        let scope = Arc::new(self.data.scope());
        let answer = async {
            // The request budget, first: it is what sheds load.
            spend_budget(&self.rate_limits, &self.auth, scope.kv(), &caller).await?;
            let document = self.document(&request.query)?;
            let viewer = match &caller.token {
                None => Viewer(None),
                Some(token) => match authenticate(&self.auth, scope.kv(), token).await {
                    Ok(principal) => Viewer(Some(principal)),
                    Err(failure) => {
                        return Err(ErrorCode::Unauthenticated.server_error(failure.message()));
                    }
                },
            };
            request.set_parsed_query(document.document.clone());
            let mut request = request.data(ViewerCell::new(viewer)).data(scope.clone());
            if let Some(address) = caller.address {
                request = request.data(ClientAddr(address));
            }
            let (schema, strict) = if document.introspects() {
                request = request.data(IntrospectionCost(document.cost.introspection_complexity));
                (&self.introspective, true)
            } else if document.is_validated() {
                (&self.fast, false)
            } else {
                (&self.strict, true)
            };
            let response = schema.execute(request).await;
            let request_failed = response.data == Value::Null && !response.errors.is_empty();
            if strict && !request_failed {
                document.mark_validated();
            }
            Ok(response)
        }
        .await;
        let mut response = match answer {
            Ok(response) => response,
            Err(error) => Response::from_errors(vec![error]),
        };
        finish(&mut response, &self.limits);
        let (sql, kv) = scope.round_trips();
        let kv_commands = scope.kv_commands();
        tracing::debug!(
            sql,
            kv,
            kv_commands,
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
}

/// Spends one request of the caller's budget (one key-value round trip, when
/// the budget is on). The client is the token's user when its signature
/// holds (the session is checked later), else the address.
pub(crate) async fn spend_budget(
    rate_limits: &RateLimits,
    auth: &AuthDeps,
    kv: &Kv,
    caller: &Caller,
) -> Result<(), ServerError> {
    if !rate_limits.budget_enabled() {
        return Ok(());
    }
    let client = match caller.token.as_deref().map(|t| auth.keys.verify(t)) {
        Some(Ok(claims)) => format!("user:{}", claims.sub),
        _ => caller
            .address
            .map_or_else(|| "addr:unknown".to_owned(), |a| format!("addr:{a}")),
    };
    rate_limits
        .spend_request(kv, &client)
        .await
        .map_err(|limited| {
            rate_limited("Too many requests; slow down and retry later.", limited)
                .into_server_error(async_graphql::Pos::default())
        })
}

/// What async-graphql's complexity counts inside a document's introspection.
pub(crate) struct IntrospectionCost(pub(crate) u64);

/// The complexity limit for documents that introspect: async-graphql's count
/// minus [`IntrospectionCost`] (see the module docs).
struct IntrospectionApart {
    max_complexity: usize,
}

impl ExtensionFactory for IntrospectionApart {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(IntrospectionApart {
            max_complexity: self.max_complexity,
        })
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for IntrospectionApart {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let introspection = ctx
            .data_opt::<IntrospectionCost>()
            .map_or(0, |cost| usize::try_from(cost.0).unwrap_or(usize::MAX));
        let complexity = result.complexity.saturating_sub(introspection);
        if complexity > self.max_complexity {
            return Err(vec![
                ErrorCode::MaxComplexityExceeded
                    .server_error(complexity_message(self.max_complexity)),
            ]);
        }
        Ok(result)
    }
}

fn complexity_message(limit: usize) -> String {
    format!("The query is more complex than the limit of {limit}.")
}

/// Codes every error and restores `null` where a field failed.
pub(crate) fn finish(response: &mut Response, limits: &Limits) {
    let request_failed = response.data == Value::Null;
    if !request_failed {
        null_failed_fields(response);
    }
    for error in &mut response.errors {
        code_request_error(error, limits);
        fill_missing_code(error, request_failed);
    }
}

/// Codes the errors async-graphql itself raises before execution, with
/// messages that name the configured limits.
fn code_request_error(error: &mut ServerError, limits: &Limits) {
    if has_code(error) {
        return;
    }
    let code = match error.message.as_str() {
        "Query is too complex." => {
            error.message = complexity_message(limits.max_complexity);
            ErrorCode::MaxComplexityExceeded
        }
        message if message.starts_with("The recursion depth") => {
            let depth = limits.max_depth;
            error.message =
                format!("The query nests more than {depth} levels deep; the limit is {depth}.");
            ErrorCode::MaxDepthExceeded
        }
        _ => return,
    };
    *error = with_code(std::mem::replace(error, ServerError::new("", None)), code);
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
