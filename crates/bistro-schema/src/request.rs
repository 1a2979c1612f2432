//! The request pipeline: how one GraphQL request is taken in, checked,
//! given its scope of the data layer, executed and answered.
//!
//! [`Api::prepare`] and [`Api::run`] (together [`Api::execute`]) do, in order:
//!
//! 1. the client's request budget (one key-value round trip, when on);
//! 2. the document's SHA-256: hashed from the text, or as the request names
//!    it (a trusted `documentId`, an APQ hash; see `persisted`), so the
//!    checks that need the document come after it is known;
//! 3. with `graphql.trusted_documents_only`, a document no manifest lists is
//!    refused (administrators, authenticated first, and the federation
//!    router excepted);
//! 4. the document: from the [`DocumentCache`] by its hash, else parsed and
//!    measured against the limits (depth, selections, introspection), so a
//!    hostile document is refused before authentication or any store;
//! 5. authentication of the bearer token (one key-value read of the session);
//! 6. execution, with the request's `Scope` and `ViewerCell` as request data,
//!    on one of three builds of the schema (below);
//! 7. the answer: a code on every error, `null` where a field failed, the
//!    errors in the order of their paths in the answer (not the order the
//!    fields finished in), and the round trips in `extensions.roundTrips`
//!    when configured.
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

pub mod context;

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::parser::types::OperationType;
use async_graphql::{
    Name, Request, Response, Schema, ServerError, ValidationMode, ValidationResult, Value,
};
use bistro_data::rate_limit::{BudgetClient, Limited, RateLimits};
use bistro_data::{DataLayer, Scope};
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;

use crate::auth::{AuthDeps, ClientAddr, Viewer, ViewerCell, authenticate};
use crate::documents::{CacheClient, Document, DocumentCache};
use crate::error::{ErrorCode, rate_limited};
use crate::limits::{LimitError, Limits, check_document};
use crate::live::{LiveHub, LiveSettings, Subscription};
use crate::persisted::{DocumentRef, Incoming, TrustedDocuments, sha256_hex};
use crate::{BistroSchema, Mutation, Query, SchemaDeps};

/// Who sent a request, as the transport knows them.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The raw token of an `Authorization: Bearer …` header (or a WebSocket's `connection_init`).
    pub token: Option<String>,
    /// The client's address.
    pub address: Option<IpAddr>,
    /// Whether the request carries the federation router's shared secret
    /// (checked by the transport): a router's query plans are in no
    /// manifest, so `graphql.trusted_documents_only` lets them through.
    pub router: bool,
}

/// The GraphQL API: the schema and everything a request goes through.
pub struct Api {
    pub(crate) strict: BistroSchema,
    fast: BistroSchema,
    pub(crate) introspective: BistroSchema,
    documents: DocumentCache,
    trusted: TrustedDocuments,
    pub(crate) data: DataLayer,
    pub(crate) limits: Arc<Limits>,
    pub(crate) auth: AuthDeps,
    pub(crate) rate_limits: Arc<RateLimits>,
    /// The replica's fan-out of live events to subscriptions.
    pub(crate) live: LiveHub,
    /// Documents parsed and measured, and documents validated in full, since
    /// start: what the parsed-document cache saves shows as requests that
    /// add to neither.
    work: [std::sync::atomic::AtomicU64; 2],
}

/// The document work a replica did since it started ([`Api::work`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentWork {
    /// Documents parsed and measured against the limits.
    pub parsed: u64,
    /// Executions that ran every validation rule (the rest ran the fast set).
    pub validated_in_full: u64,
}

/// A request whose document is known, checked and parsed, and whose caller
/// is authenticated: what runs next (see [`Api::prepare`]).
pub struct Prepared {
    request: Request,
    document: Arc<Document>,
    scope: Arc<Scope>,
    viewer: Viewer,
    address: Option<IpAddr>,
    /// An APQ registration to make when it runs: its hash and text.
    registration: Option<(String, String)>,
    /// When it was taken in (metrics on), and whether a manifest lists its document.
    observed: (Option<std::time::Instant>, bool),
}

impl Prepared {
    /// The parsed, measured document.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// The type of the operation it runs, when the document tells.
    pub fn operation_type(&self) -> Option<OperationType> {
        self.document
            .operation_type(self.request.operation_name.as_deref())
    }

    /// The operation it runs: the one it names, else the one its document names.
    pub fn operation_name(&self) -> Option<&str> {
        crate::observe::operation_name(Some(&self.document), self.request.operation_name.as_deref())
    }

    /// Whether nobody signed in sent it.
    pub fn is_anonymous(&self) -> bool {
        self.viewer.0.is_none()
    }

    /// How long a shared cache may keep its answer, when every field it
    /// selects is public (see `cache_hints`); `None`: nobody may keep it.
    pub fn public_max_age(&self) -> Option<u32> {
        self.document
            .public_max_age(self.request.operation_name.as_deref())
    }
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
                .data(deps.rate_limits.clone());
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
            if !limits.fast_path {
                builder = builder.disable_fast_lane();
            }
            builder.finish()
        };
        Self {
            strict: build(ValidationMode::Strict, true, false),
            fast: build(ValidationMode::Fast, true, false),
            introspective: build(ValidationMode::Strict, false, true),
            documents: DocumentCache::new(limits.document_cache_entries),
            trusted: TrustedDocuments::default(),
            live: LiveHub::new(
                deps.data.clone(),
                deps.auth.clone(),
                LiveSettings::default().queue_capacity,
            ),
            data: deps.data,
            auth: deps.auth,
            rate_limits: Arc::new(deps.rate_limits),
            limits,
            work: Default::default(),
        }
    }

    /// The document work done since start (see [`DocumentWork`]).
    pub fn work(&self) -> DocumentWork {
        use std::sync::atomic::Ordering::Relaxed;
        DocumentWork {
            parsed: self.work[0].load(Relaxed),
            validated_in_full: self.work[1].load(Relaxed),
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

    /// The trusted documents (the manifests') this replica knows; the server
    /// replaces them when the manifests change.
    pub fn trusted(&self) -> &TrustedDocuments {
        &self.trusted
    }

    /// The parsed, measured document of `text` as `client` sends it (the
    /// cache keeps what many clients send), or the coded error that refuses it.
    pub fn document(&self, text: &str, client: CacheClient) -> Result<Arc<Document>, ServerError> {
        self.document_by_hash(&sha256_hex(text), text, client)
    }

    /// [`Self::document`] for a text whose SHA-256 (lowercase hex) is known.
    fn document_by_hash(
        &self,
        hash: &str,
        text: &str,
        client: CacheClient,
    ) -> Result<Arc<Document>, ServerError> {
        if let Some(document) = self.documents.get(hash, client) {
            return Ok(document);
        }
        self.work[0].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
        self.documents
            .insert(hash, text.len(), client, document.clone());
        Ok(document)
    }

    /// The parsed-document cache (operators and tests look into it).
    pub fn documents(&self) -> &DocumentCache {
        &self.documents
    }

    /// Serves one request that carries its text, from `caller`.
    pub async fn execute(&self, request: Request, caller: Caller) -> Response {
        self.execute_incoming(Incoming::text(request), caller).await
    }

    /// Serves one request, however it names its document, from `caller`.
    pub async fn execute_incoming(&self, incoming: Incoming, caller: Caller) -> Response {
        match self.prepare(incoming, &caller, None).await {
            Ok(prepared) => self.run(prepared).await,
            Err(response) => response,
        }
    }

    /// Everything before execution, in order:
    ///
    /// 1. the client's request budget (one key-value round trip, when on);
    /// 2. the document's SHA-256 (hashed from the text, or as sent);
    /// 3. with `graphql.trusted_documents_only`, a document no manifest lists
    ///    is refused, unless the caller is an administrator (authenticated
    ///    here, first) or the federation router;
    /// 4. the document: from the parsed-document cache by its hash, else its
    ///    text (sent, a manifest's, or APQ's in the key-value store) parsed
    ///    and measured against the limits;
    /// 5. an APQ registration, when the text came with its hash (made by
    ///    [`Api::run`], once the document ran without a request error);
    /// 6. authentication of the bearer token (one key-value read).
    ///
    /// `viewer` is the caller when the transport authenticated it already (a
    /// live connection). The error is the finished response.
    pub async fn prepare(
        &self,
        incoming: Incoming,
        caller: &Caller,
        viewer: Option<Viewer>,
    ) -> Result<Prepared, Response> {
        let scope = Arc::new(self.data.scope());
        let started = crate::observe::start();
        let Incoming {
            mut request,
            document,
        } = incoming;
        // Only when metrics are on: the refused request's label.
        let requested = started.and(request.operation_name.clone());
        let mut viewer = viewer;
        let prepared = async {
            // The request budget, first: it is what sheds load.
            spend_budget(&self.rate_limits, &self.auth, &scope, caller).await?;
            let (hash, sent_text, apq) = match document {
                DocumentRef::Text(text) => (sha256_hex(&text), Some(text), false),
                DocumentRef::Trusted(hash) => {
                    if !self.trusted.contains(&hash) {
                        return Err(ErrorCode::PersistedDocumentNotFound.server_error(format!(
                            "No manifest lists the document sha256:{hash}."
                        )));
                    }
                    (hash, None, false)
                }
                DocumentRef::Apq { hash, text } => {
                    if let Some(text) = &text
                        && sha256_hex(text) != hash
                    {
                        return Err(ErrorCode::PersistedQueryHashMismatch.server_error(
                            "The persisted query's sha256Hash is not the SHA-256 of the query sent.",
                        ));
                    }
                    (hash, text, true)
                }
            };
            let trusted = self.trusted.get(&hash);
            if self.limits.trusted_documents_only && trusted.is_none() && !caller.router {
                // Administrators may still explore a production server:
                // authenticate before refusing.
                let known = match viewer.take() {
                    Some(known) => known,
                    None => self.viewer(&scope, caller).await?,
                };
                let admin = known
                    .0
                    .as_ref()
                    .is_some_and(|principal| principal.role == bistro_auth::Role::Admin);
                if !admin {
                    return Err(ErrorCode::DocumentNotTrusted.server_error(
                        "This server runs only documents its clients' manifests list \
                         (graphql.trusted_documents_only); send the document's `documentId`.",
                    ));
                }
                viewer = Some(known);
            }
            let cached = self.documents.get(&hash, caller.address);
            let document = match (cached, sent_text.as_deref(), &trusted) {
                (Some(document), _, _) if !apq || self.limits.apq || trusted.is_some() => document,
                (_, Some(text), _) => {
                    if apq && !self.limits.apq {
                        return Err(not_supported());
                    }
                    self.document_by_hash(&hash, text, caller.address)?
                }
                (_, None, Some(trusted)) => {
                    self.document_by_hash(&hash, &trusted.body, caller.address)?
                }
                (_, None, None) => {
                    if !self.limits.apq {
                        return Err(not_supported());
                    }
                    // An unreachable store is a miss (logged where it
                    // happened): the client sends the text and is served.
                    let text = scope.apq_document(&hash).await
                        .unwrap_or_default();
                    let Some(text) = text else {
                        return Err(ErrorCode::PersistedQueryNotFound
                            .server_error("PersistedQueryNotFound"));
                    };
                    self.document_by_hash(&hash, &text, caller.address)?
                }
            };
            let viewer = match viewer.take() {
                Some(viewer) => viewer,
                None => self.viewer(&scope, caller).await?,
            };
            request.set_parsed_query(document.document.clone());
            // Registered once it ran: a request refused after this point (a
            // mutation over GET, a router field without the secret, a document
            // that does not validate) leaves nothing.
            let registration = match sent_text {
                Some(text) if apq && self.limits.apq => Some((hash, text)),
                _ => None,
            };
            Ok(Prepared {
                request,
                document,
                scope: scope.clone(),
                viewer,
                address: caller.address,
                registration,
                observed: (started, trusted.is_some()),
            })
        }
        .await;
        prepared.map_err(|error| {
            let response = self.respond(&scope, Response::from_errors(vec![error]), None);
            let requested = requested.as_deref();
            crate::observe::request(started, None, requested, false, &scope, &response, None);
            response
        })
    }

    /// `prepared` with its viewer authenticated again from `caller`'s token
    /// (one key-value read of the session): a live connection's queries and
    /// mutations are checked against the session as it is now, as over HTTP,
    /// while its subscriptions use the viewer the connection authenticated.
    pub async fn authenticate_again(
        &self,
        mut prepared: Prepared,
        caller: &Caller,
    ) -> Result<Prepared, Response> {
        match self.viewer(&prepared.scope, caller).await {
            Ok(viewer) => {
                prepared.viewer = viewer;
                Ok(prepared)
            }
            Err(error) => {
                Err(self.respond(&prepared.scope, Response::from_errors(vec![error]), None))
            }
        }
    }

    /// The caller's viewer: anonymous without a token, else the token's
    /// principal (one key-value read of the session).
    async fn viewer(&self, scope: &Scope, caller: &Caller) -> Result<Viewer, ServerError> {
        match &caller.token {
            None => Ok(Viewer(None)),
            Some(token) => match authenticate(&self.auth, scope, token).await {
                Ok(principal) => Ok(Viewer(Some(principal))),
                Err(failure) => Err(ErrorCode::Unauthenticated.server_error(failure.message())),
            },
        }
    }

    /// Executes a prepared request on the right build of the schema.
    pub async fn run(&self, prepared: Prepared) -> Response {
        let Prepared {
            request,
            document,
            scope,
            viewer,
            address,
            registration,
            observed: (started, known),
        } = prepared;
        let operation_name = request.operation_name.clone();
        let mut request = request.data(ViewerCell::new(viewer)).data(scope.clone());
        if let Some(address) = address {
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
        if strict {
            self.work[1].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let response = schema.execute(request).await;
        let request_failed = response.data == Value::Null && !response.errors.is_empty();
        if strict && !request_failed {
            document.mark_validated();
        }
        // Registered once it ran: a document that does not validate is not stored.
        if let Some((hash, text)) = registration
            && !request_failed
        {
            register(&self.limits, &scope, &hash, &text).await;
        }
        let response = self.respond(
            &scope,
            response,
            Some((&document, operation_name.as_deref())),
        );
        let requested = started.and(operation_name.as_deref());
        let ty = started.and_then(|_| document.operation_type(requested));
        crate::observe::request(
            started,
            Some(&document),
            requested,
            known,
            &scope,
            &response,
            ty,
        );
        response
    }

    /// The stream of a prepared subscription (see `live`), on the strict build (a
    /// subscription starts rarely; its events never run validation again).
    pub(crate) fn stream(&self, prepared: Prepared) -> BoxStream<'static, Response> {
        let Prepared {
            request,
            document,
            scope,
            viewer,
            address,
            registration,
            observed: _,
        } = prepared;
        let open =
            crate::observe::OpenSubscription::open(&document, request.operation_name.as_deref());
        let operation_name = request.operation_name.clone();
        let limits = self.limits.clone();
        let registering = {
            let limits = self.limits.clone();
            let scope = scope.clone();
            futures_util::stream::once(async move {
                if let Some((hash, text)) = registration {
                    register(&limits, &scope, &hash, &text).await;
                }
            })
            .filter_map(|()| std::future::ready(None::<Response>))
        };
        let mut request = request
            .data(ViewerCell::new(viewer))
            .data(scope)
            .data(self.live.clone());
        if let Some(address) = address {
            request = request.data(ClientAddr(address));
        }
        let schema = if document.introspects() {
            request = request.data(IntrospectionCost(document.cost.introspection_complexity));
            self.introspective.clone()
        } else {
            self.strict.clone()
        };
        self.work[1].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        registering
            .chain(schema.execute_stream(request).map(move |mut response| {
                // Counted open while the stream lives.
                let _open = &open;
                finish(
                    &mut response,
                    &limits,
                    Some((&document, operation_name.as_deref())),
                );
                response
            }))
            .boxed()
    }

    /// Codes the response's errors, and adds the round trips when configured.
    fn respond(&self, scope: &Scope, mut response: Response, shape: Option<Shape<'_>>) -> Response {
        finish(&mut response, &self.limits, shape);
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
            let mut counts = async_graphql::ObjectMap::default();
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

/// Registers an APQ document in the key-value store (bounded, see
/// `bistro_data::persisted`); the request runs whatever happens here.
async fn register(limits: &Limits, scope: &Scope, hash: &str, text: &str) {
    if text.len() > limits.apq_max_document_bytes {
        tracing::debug!(
            bytes = text.len(),
            "an APQ document too long to register was run unregistered"
        );
        return;
    }
    let bounds = bistro_data::persisted::ApqBounds {
        ttl: std::time::Duration::from_secs(limits.apq_ttl_secs),
        max_registrations: limits.apq_max_registrations,
    };
    match scope.register_apq(hash, text, bounds).await {
        Ok(bistro_data::persisted::Registered::Stored) => {}
        Ok(bistro_data::persisted::Registered::Full) => tracing::warn!(
            max = limits.apq_max_registrations,
            "APQ registrations for this window are spent; the document ran unregistered"
        ),
        // Logged where it happened; the request runs all the same.
        Err(_) => {}
    }
}

/// APQ is off: the message and code Apollo's link take to stop hashing.
fn not_supported() -> ServerError {
    ErrorCode::PersistedQueryNotSupported.server_error("PersistedQueryNotSupported")
}

/// Spends one request of the caller's budget (one key-value round trip, when
/// the budget is on). The client is the token's user when its signature
/// holds (the session is checked later), else the address.
pub(crate) async fn spend_budget(
    rate_limits: &RateLimits,
    auth: &AuthDeps,
    scope: &Scope,
    caller: &Caller,
) -> Result<(), ServerError> {
    spend(rate_limits, auth, scope, caller)
        .await
        .map_err(|limited| {
            rate_limited("Too many requests; slow down and retry later.", limited)
                .into_server_error(async_graphql::Pos::default())
        })
}

async fn spend(
    rate_limits: &RateLimits,
    auth: &AuthDeps,
    scope: &Scope,
    caller: &Caller,
) -> Result<(), Limited> {
    if !rate_limits.budget_enabled() {
        return Ok(());
    }
    let claims = caller.token.as_deref().map(|t| auth.keys.verify(t));
    let client = match &claims {
        Some(Ok(claims)) => BudgetClient::User(&claims.sub),
        _ => BudgetClient::Address(caller.address),
    };
    rate_limits.spend_request(scope, client).await
}

impl Api {
    /// Spends one request of `caller`'s budget on a message that runs no
    /// operation but costs the server work all the same (a WebSocket's
    /// `connection_init` and `ping`); one key-value round trip when the
    /// budget is on, none when it is off.
    pub async fn spend_message(&self, caller: &Caller) -> Result<(), Limited> {
        if !self.rate_limits.budget_enabled() {
            return Ok(());
        }
        spend(&self.rate_limits, &self.auth, &self.data.scope(), caller).await
    }
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

/// The document an answer is of, and the name of its operation: where a
/// restored `null` goes among its object's fields.
type Shape<'a> = (&'a Document, Option<&'a str>);

/// Codes every error, restores `null` where a field failed, and puts the
/// errors in their defined order ([`order_errors`]).
pub(crate) fn finish(response: &mut Response, limits: &Limits, shape: Option<Shape<'_>>) {
    let request_failed = response.data == Value::Null;
    for error in &mut response.errors {
        code_request_error(error, limits);
        fill_missing_code(error, request_failed);
    }
    // Ordered before the nulls are restored too: they are appended in the
    // errors' order, which must not be the order the fields failed in.
    order_errors(response);
    if !request_failed {
        null_failed_fields(response, shape);
        order_errors(response);
    }
}

/// Puts the errors in the order of their paths in the finished answer.
///
/// async-graphql appends a field's error when the field finishes, so the
/// errors of fields that run concurrently come in whatever order their
/// loaders answered. The order defined here depends only on the answer's
/// `data` and the set of errors, so any execution strategy that gives the
/// same answer gives the same bytes:
///
/// 1. errors without a path (request errors) first, as they were raised;
/// 2. then by path, segment by segment: a field by its key's position in
///    its object in `data` (the order it was selected), a list item by its
///    index; a path is after its own prefix (a parent's error before its
///    children's);
/// 3. a segment `data` does not have (under a value that failed as a whole)
///    comes after its present siblings, ordered by the error's location in
///    the document, then by the rest of its path, then by message.
fn order_errors(response: &mut Response) {
    if response.errors.len() < 2 {
        return;
    }
    let data = &response.data;
    // Stable: errors with equal keys (none in practice) keep their order.
    response
        .errors
        .sort_by_cached_key(|error| ErrorRank::of(data, error));
}

/// Where an error goes in the answer's `errors` ([`order_errors`]).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct ErrorRank {
    /// Whether it has a path: request errors (`false`) come first.
    has_path: bool,
    /// Positions of the path's segments in `data`, ending with `usize::MAX`
    /// at the first segment `data` does not have.
    positions: Vec<usize>,
    /// For a path that leaves `data`: the error's location in the document.
    location: Option<(usize, usize)>,
    /// For a path that leaves `data`: its remaining segments (an index as
    /// `Ok`, a field as `Err`).
    rest: Vec<Result<usize, String>>,
    message: String,
}

impl ErrorRank {
    fn of(data: &Value, error: &ServerError) -> Self {
        use async_graphql::PathSegment;
        let mut positions = Vec::with_capacity(error.path.len());
        let mut node = Some(data);
        let mut left = error.path.len();
        for segment in &error.path {
            let found = match (segment, node) {
                (PathSegment::Field(name), Some(Value::Object(map))) => map
                    .get_full(name.as_str())
                    .map(|(index, _, value)| (index, value)),
                (PathSegment::Index(index), Some(Value::List(items))) => {
                    items.get(*index).map(|value| (*index, value))
                }
                _ => None,
            };
            let Some((position, value)) = found else {
                break;
            };
            positions.push(position);
            node = Some(value);
            left -= 1;
        }
        let (location, rest) = if left == 0 {
            (None, Vec::new())
        } else {
            positions.push(usize::MAX);
            let rest = error.path[error.path.len() - left..]
                .iter()
                .map(|segment| match segment {
                    PathSegment::Index(index) => Ok(*index),
                    PathSegment::Field(name) => Err(name.clone()),
                })
                .collect();
            let location = error.locations.first().map(|pos| (pos.line, pos.column));
            (location, rest)
        };
        Self {
            has_path: !error.path.is_empty(),
            positions,
            location,
            rest,
            message: error.message.clone(),
        }
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
/// A field async-graphql left out (a refused guard) goes back to its place
/// among its object's fields, the order the document selects them in
/// ([`Document::response_keys`]); without the document (an answer of no
/// operation), after the fields that answered, in the errors' order.
///
/// async-graphql 7.2 leaves a failed field out of `data` instead of setting
/// it to `null` (TECH-NOTES §1.3); guards fail that way too. The spec (and
/// typed clients) expect the key with `null`: every field that can fail is
/// nullable in this schema, so the error path's last key is restored as
/// `null` wherever its parent object exists.
fn null_failed_fields(response: &mut Response, shape: Option<Shape<'_>>) {
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
        let Some(Value::Object(map)) = walk(&mut response.data, parents) else {
            continue;
        };
        if map.contains_key(last.as_str()) {
            continue;
        }
        let key = Name::new(last);
        let order = shape
            .map(|(document, operation)| document.response_keys(operation, parents))
            .unwrap_or_default();
        match order.iter().position(|k| *k == key) {
            // After every field present that the document selects before it.
            Some(place) => {
                let before = &order[..place];
                let index = map.keys().filter(|k| before.contains(k)).count();
                map.shift_insert(index, key, Value::Null);
            }
            None => {
                map.insert(key, Value::Null);
            }
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

#[cfg(test)]
mod tests {
    use async_graphql::{PathSegment, Pos, Response, ServerError, Value};
    use serde_json::json;

    fn error(message: &str, path: &[PathSegment], line: usize) -> ServerError {
        let mut error = ServerError::new(message, Some(Pos { line, column: 1 }));
        error.path = path.to_vec();
        error
    }

    fn field(name: &str) -> PathSegment {
        PathSegment::Field(name.to_owned())
    }

    #[test]
    fn errors_are_ordered_by_their_paths_in_the_answer_whatever_order_they_came_in() {
        use PathSegment::Index;
        let data = Value::from_json(json!({
            "b": [{ "x": null, "y": null }, { "x": null, "y": null }],
            "a": null,
            "c": { "d": null },
        }))
        .unwrap();
        let expected = [
            error("request", &[], 1),
            error("b.0", &[field("b"), Index(0)], 2),
            error("b.0.y", &[field("b"), Index(0), field("y")], 3),
            error("b.1.x", &[field("b"), Index(1), field("x")], 2),
            error("b.1.y", &[field("b"), Index(1), field("y")], 3),
            error("a", &[field("a")], 9),
            // Under `c.d`, which failed as a whole: after `d` itself, by location.
            error("c.d", &[field("c"), field("d")], 4),
            error(
                "c.d.0.e",
                &[field("c"), field("d"), Index(0), field("e")],
                5,
            ),
            error(
                "c.d.1.e",
                &[field("c"), field("d"), Index(1), field("e")],
                5,
            ),
            error(
                "c.d.0.f",
                &[field("c"), field("d"), Index(0), field("f")],
                6,
            ),
            // A key the answer does not have: after the object's keys.
            error("z", &[field("z")], 1),
        ];
        let messages = |errors: &[ServerError]| -> Vec<String> {
            errors.iter().map(|e| e.message.clone()).collect()
        };
        // Every rotation and the reverse of the expected order gives it back.
        let mut arrivals: Vec<Vec<ServerError>> = (0..expected.len())
            .map(|k| {
                let mut errors = expected.to_vec();
                errors.rotate_left(k);
                errors
            })
            .collect();
        arrivals.push(expected.iter().rev().cloned().collect());
        for errors in arrivals {
            let mut response = Response::new(data.clone());
            response.errors = errors;
            super::order_errors(&mut response);
            assert_eq!(messages(&response.errors), messages(&expected));
        }
    }

    #[test]
    fn fields_left_out_of_data_come_back_the_same_whatever_order_they_failed_in() {
        use PathSegment::Index;
        // Two guarded fields of a list item, refused (left out by
        // async-graphql) in either order.
        let data = Value::from_json(json!({ "list": [{ "name": "a" }] })).unwrap();
        let first = error("first", &[field("list"), Index(0), field("orders")], 3);
        let second = error("second", &[field("list"), Index(0), field("late")], 5);
        let answers: Vec<String> = [
            vec![first.clone(), second.clone()],
            vec![second.clone(), first.clone()],
        ]
        .into_iter()
        .map(|errors| {
            let mut response = Response::new(data.clone());
            response.errors = errors;
            super::finish(&mut response, &crate::limits::Limits::default(), None);
            serde_json::to_string(&response).unwrap()
        })
        .collect();
        assert_eq!(answers[0], answers[1]);
        assert!(
            answers[0].contains(r#"{"name":"a","orders":null,"late":null}"#),
            "{}",
            answers[0]
        );
    }

    #[test]
    fn a_field_left_out_of_data_comes_back_at_its_selected_place() {
        use PathSegment::Index;
        let text = "query Page { list { orders name ... on Item { late } ...rest } } \
                    fragment rest on Item { z }";
        let document = crate::documents::Document::new(
            async_graphql::parser::parse_query(text).unwrap(),
            Default::default(),
        );
        let data = Value::from_json(json!({ "list": [{ "name": "a", "z": 1 }] })).unwrap();
        let mut response = Response::new(data);
        response.errors = vec![
            error("late", &[field("list"), Index(0), field("late")], 1),
            error("orders", &[field("list"), Index(0), field("orders")], 1),
        ];
        super::finish(
            &mut response,
            &crate::limits::Limits::default(),
            Some((&document, Some("Page"))),
        );
        assert_eq!(
            serde_json::to_string(&response.data).unwrap(),
            r#"{"list":[{"orders":null,"name":"a","late":null,"z":1}]}"#
        );
    }
}
