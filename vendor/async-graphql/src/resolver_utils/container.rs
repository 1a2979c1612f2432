use std::{future::Future, pin::Pin, sync::Arc};

use futures_util::FutureExt;

use crate::{
    Context, ContextBase, ContextSelectionSet, Error, Name, OutputType, ServerError, ServerResult,
    Value, extensions::ResolveInfo, parser::types::Selection,
};

/// Represents a GraphQL container object.
///
/// This helper trait allows the type to call `resolve_container` on itself in
/// its `OutputType::resolve` implementation.
#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
pub trait ContainerType: OutputType {
    /// This function returns true of type `EmptyMutation` only.
    #[doc(hidden)]
    fn is_empty() -> bool {
        false
    }

    /// Resolves a field value and outputs it as a json value
    /// `async_graphql::Value`.
    ///
    /// If the field was not found returns None.
    #[cfg(feature = "boxed-trait")]
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>>;

    /// Resolves a field value and outputs it as a json value
    /// `async_graphql::Value`.
    ///
    /// If the field was not found returns None.
    #[cfg(not(feature = "boxed-trait"))]
    fn resolve_field(
        &self,
        ctx: &Context<'_>,
    ) -> impl Future<Output = ServerResult<Option<Value>>> + Send;

    /// Bistro: whether the container resolves its fields one after another
    /// (`#[graphql(serial)]`). Outside a fast-lane attempt, its fields take
    /// the lane only when all of them always do, so that none runs before
    /// an earlier one has finished; in an attempt they all resolve in order
    /// or the attempt is given up before any waits.
    #[doc(hidden)]
    const SERIAL: bool = false;

    /// Bistro: the field resolved now, without a future, when its resolver
    /// is a plain `fn` whose type resolves now (`OutputType::RESOLVES_NOW`);
    /// `None` when it has to be resolved with `resolve_field`. The derives
    /// generate it; both call the same resolver.
    #[doc(hidden)]
    fn resolve_field_now(&self, _ctx: &Context<'_>) -> Option<ServerResult<Option<Value>>> {
        None
    }

    /// Collect all the fields of the container that are queried in the
    /// selection set.
    ///
    /// Objects do not have to override this, but interfaces and unions must
    /// call it on their internal type.
    fn collect_all_fields<'a>(
        &'a self,
        ctx: &ContextSelectionSet<'a>,
        fields: &mut Fields<'a>,
    ) -> ServerResult<()>
    where
        Self: Send + Sync,
    {
        fields.add_set(ctx, self)
    }

    /// Find the GraphQL entity with the given name from the parameter.
    ///
    /// Objects should override this in case they are the query root.
    #[cfg(feature = "boxed-trait")]
    async fn find_entity(&self, _: &Context<'_>, _: &Value) -> ServerResult<Option<Value>> {
        Ok(None)
    }

    /// Find the GraphQL entity with the given name from the parameter.
    ///
    /// Objects should override this in case they are the query root.
    #[cfg(not(feature = "boxed-trait"))]
    fn find_entity(
        &self,
        _: &Context<'_>,
        _params: &Value,
    ) -> impl Future<Output = ServerResult<Option<Value>>> + Send {
        async { Ok(None) }
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType + ?Sized> ContainerType for &T {
    const SERIAL: bool = T::SERIAL;

    fn resolve_field_now(&self, ctx: &Context<'_>) -> Option<ServerResult<Option<Value>>> {
        T::resolve_field_now(*self, ctx)
    }

    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        T::resolve_field(*self, ctx).await
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        T::find_entity(*self, ctx, params).await
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType + ?Sized> ContainerType for Arc<T> {
    const SERIAL: bool = T::SERIAL;

    fn resolve_field_now(&self, ctx: &Context<'_>) -> Option<ServerResult<Option<Value>>> {
        T::resolve_field_now(self, ctx)
    }

    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        T::resolve_field(self, ctx).await
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        T::find_entity(self, ctx, params).await
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType + ?Sized> ContainerType for Box<T> {
    const SERIAL: bool = T::SERIAL;

    fn resolve_field_now(&self, ctx: &Context<'_>) -> Option<ServerResult<Option<Value>>> {
        T::resolve_field_now(self, ctx)
    }

    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        T::resolve_field(self, ctx).await
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        T::find_entity(self, ctx, params).await
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType, E: Into<Error> + Send + Sync + Clone> ContainerType for Result<T, E> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        match self {
            Ok(value) => T::resolve_field(value, ctx).await,
            Err(err) => Err(ctx.set_error_path(err.clone().into().into_server_error(ctx.item.pos))),
        }
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        match self {
            Ok(value) => T::find_entity(value, ctx, params).await,
            Err(err) => Err(ctx.set_error_path(err.clone().into().into_server_error(ctx.item.pos))),
        }
    }
}

/// Resolve an container by executing each of the fields concurrently.
pub async fn resolve_container<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    resolve_container_inner(ctx, root, true).await
}

/// Resolve an container by executing each of the fields serially.
pub async fn resolve_container_serial<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    resolve_container_inner(ctx, root, false).await
}

fn insert_value(target: &mut async_graphql_value::ObjectMap<Value>, name: Name, value: Value) {
    // Bistro: one hash of the key through `entry`, where `get_mut` and then
    // `insert` hashed a new key twice (a page inserts thousands).
    let prev_value = match target.entry(name) {
        indexmap::map::Entry::Occupied(entry) => entry.into_mut(),
        indexmap::map::Entry::Vacant(entry) => {
            entry.insert(value);
            return;
        }
    };
    // Bistro: a key selected twice merges its two values; one already
    // written as JSON is read back into a tree for it.
    expand_raw(prev_value);
    let value = into_tree(value);
    if let Value::Object(target_map) = prev_value {
        if let Value::Object(obj) = value {
            for (key, value) in obj.into_iter() {
                insert_value(target_map, key, value);
            }
        }
    } else if let Value::List(target_list) = prev_value
        && let Value::List(list) = value
    {
        for (idx, value) in list.into_iter().enumerate() {
            if let Some(target_item) = target_list.get_mut(idx) {
                expand_raw(target_item);
                if let Value::Object(target_map) = target_item
                    && let Value::Object(obj) = into_tree(value)
                {
                    for (key, value) in obj.into_iter() {
                        insert_value(target_map, key, value);
                    }
                }
            }
        }
    }
}

/// Bistro: a value written as JSON, read back into a tree in place.
fn expand_raw(value: &mut Value) {
    if let Value::Raw(raw) = value {
        *value = raw.to_value();
    }
}

/// Bistro: [`expand_raw`] for an owned value.
fn into_tree(value: Value) -> Value {
    match value {
        Value::Raw(raw) => raw.to_value(),
        value => value,
    }
}

/// Bistro: the object written as JSON ([`Value::Raw`]) when every selected
/// field gave a value, no error was reported while it resolved
/// (`ContextBase::raw_mark`), no key is selected twice (those merge,
/// [`insert_value`]) and it is not too long to copy
/// (`RawJson::MAX_LEN`); `None` to build it as a tree.
fn raw_object<'r, I>(ctx: &ContextSelectionSet<'_>, mark: Option<usize>, results: I) -> Option<Value>
where
    I: Iterator<Item = Option<&'r ServerResult<(Name, Value)>>> + Clone,
{
    if !ctx.raw_unchanged(mark) {
        return None;
    }
    let mut fields = 0;
    for (index, result) in results.clone().enumerate() {
        let Some(Ok((name, _))) = result else {
            return None;
        };
        let mut earlier = results.clone().take(index);
        if earlier.any(|other| matches!(other, Some(Ok((other, _))) if other == name)) {
            return None;
        }
        fields += 1;
    }
    // An object with no field selected (all skipped) stays `null`.
    if fields == 0 {
        return None;
    }
    async_graphql_value::RawJson::object(results.filter_map(|result| match result {
        Some(Ok((name, value))) => Some((name, value)),
        _ => None,
    }))
    .map(Value::Raw)
}

async fn resolve_container_inner<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
    parallel: bool,
) -> ServerResult<Value> {
    let raw = ctx.raw_mark();
    let mut fields = Fields::new(ctx);
    fields.add_set(ctx, root)?;

    Ok(do_resolve_container(ctx, parallel, fields.slots, raw).await)
}

/// Bistro: [`resolve_container`] for a container whose type resolves now
/// (`OutputType::RESOLVES_NOW`), called only in an open fast lane
/// (`ContextBase::fast_lane`), where every field it selects is resolved
/// while the selection is walked.
pub fn resolve_container_now<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    let raw = ctx.raw_mark();
    let mut fields = Fields::new(ctx);
    fields.add_set(ctx, root)?;
    if !fields.slots.iter().all(FieldSlot::is_ready) {
        return Err(ServerError::new(
            format!(
                "a field of `{}` could not be resolved synchronously",
                T::type_name()
            ),
            None,
        ));
    }
    Ok(merge_ready(ctx, fields.slots, raw))
}

/// Bistro: [`resolve_container_now`] for a container that may resolve now
/// (`OutputType::MAY_RESOLVE_NOW`): its selection is walked as an attempt,
/// given up at the first field that cannot resolve now, and then `None`,
/// with what the attempt reported taken back; the caller resolves the
/// container with its future instead.
pub fn resolve_container_try_now<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> Option<ServerResult<Value>> {
    if T::RESOLVES_NOW {
        return Some(resolve_container_now(ctx, root));
    }
    let mark = ctx.lane_mark();
    let raw = ctx.raw_mark();
    let mut fields = Fields::new(ctx);
    fields.attempt = true;
    if let Err(err) = fields.add_set(ctx, root) {
        return Some(Err(err));
    }
    if fields.missed {
        ctx.lane_rewind(mark);
        return None;
    }
    Some(Ok(merge_ready(ctx, fields.slots, raw)))
}

/// The values of fields that are all ready, merged in selection order.
fn merge_ready(
    ctx: &ContextSelectionSet<'_>,
    fields: Vec<FieldSlot<'_>>,
    raw: Option<usize>,
) -> Value {
    let ready = fields.iter().map(|field| match field {
        FieldSlot::Ready(result) => result.as_ref(),
        FieldSlot::Pending(_) => None,
    });
    if let Some(value) = raw_object(ctx, raw, ready) {
        return value;
    }
    let mut results =
        async_graphql_value::ObjectMap::with_capacity_and_hasher(fields.len(), Default::default());
    for field in fields {
        match field {
            FieldSlot::Ready(Some(Ok((name, value)))) => insert_value(&mut results, name, value),
            FieldSlot::Ready(Some(Err(e))) => ctx.add_error(e),
            FieldSlot::Ready(None) | FieldSlot::Pending(_) => {}
        }
    }
    if results.is_empty() {
        Value::Null
    } else {
        Value::Object(results)
    }
}

pub(crate) async fn do_resolve_container<'a>(
    ctx: &ContextSelectionSet<'a>,
    parallel: bool,
    futures: Vec<FieldSlot<'a>>,
    raw: Option<usize>,
) -> Value {
    // Bistro: an object whose selected fields were all resolved while its
    // selection was walked (the fast lane) has nothing to await.
    if futures.iter().all(FieldSlot::is_ready) {
        return merge_ready(ctx, futures, raw);
    }

    let fields = if parallel {
        // Bistro: the fields run concurrently, but the response keeps them in
        // the order of the selection set (GraphQL spec, "Objects": ordered by
        // the order in which they appear in the query), not the order in
        // which they finish (async-graphql issue #612).
        // `join_all` keeps them in order and, for up to 30 fields, in one
        // allocation (a task per field in a `FuturesUnordered` otherwise).
        futures_util::future::join_all(futures).await
    } else {
        let mut fields = Vec::with_capacity(futures.len());
        for fut in futures {
            fields.push(fut.await);
        }
        fields
    };
    if let Some(value) = raw_object(ctx, raw, fields.iter().map(Some)) {
        return value;
    }

    let mut results =
        async_graphql_value::ObjectMap::with_capacity_and_hasher(fields.len(), Default::default());
    for field in fields {
        match field {
            Ok((name, value)) => insert_value(&mut results, name, value),
            Err(e) => ctx.add_error(e),
        }
    }

    if results.is_empty() {
        Value::Null
    } else {
        Value::Object(results)
    }
}

type BoxFieldFuture<'a> = Pin<Box<dyn Future<Output = ServerResult<(Name, Value)>> + 'a + Send>>;

/// Bistro: one selected field, either resolved already (the fast lane,
/// `ContainerType::resolve_field_now`) or still to be awaited.
pub enum FieldSlot<'a> {
    /// Resolved while the selection was walked; taken once.
    Ready(Option<ServerResult<(Name, Value)>>),
    /// To be awaited with its siblings.
    Pending(BoxFieldFuture<'a>),
}

impl FieldSlot<'_> {
    fn is_ready(&self) -> bool {
        matches!(self, FieldSlot::Ready(_))
    }
}

impl Future for FieldSlot<'_> {
    type Output = ServerResult<(Name, Value)>;

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.get_mut() {
            FieldSlot::Ready(value) => {
                std::task::Poll::Ready(value.take().expect("a field slot polled after its value"))
            }
            FieldSlot::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

/// A set of fields on an container that are being selected.
pub struct Fields<'a> {
    slots: Vec<FieldSlot<'a>>,
    /// Bistro: a fast-lane attempt (`resolve_container_try_now`): a field
    /// that cannot resolve now ends the walk instead of becoming a future.
    attempt: bool,
    /// Bistro: the attempt met such a field.
    missed: bool,
}

impl<'a> Fields<'a> {
    fn new(ctx: &ContextSelectionSet<'_>) -> Self {
        Fields {
            slots: Vec::with_capacity(ctx.item.node.items.len()),
            attempt: false,
            missed: false,
        }
    }

    /// Add another set of fields to this set of fields using the given
    /// container.
    pub fn add_set<T: ContainerType + ?Sized>(
        &mut self,
        ctx: &ContextSelectionSet<'a>,
        root: &'a T,
    ) -> ServerResult<()> {
        let fast_lane = ctx.fast_lane() && (self.attempt || !T::SERIAL || T::RESOLVES_NOW);
        for selection in &ctx.item.node.items {
            if self.missed {
                return Ok(());
            }
            match &selection.node {
                Selection::Field(field) => {
                    if field.node.name.node == "__typename" {
                        // Get the typename
                        let field_name = field.node.response_key().node.clone();
                        let typename = root.introspection_type_name().into_owned();

                        self.slots
                            .push(FieldSlot::Ready(Some(Ok((field_name, Value::String(typename))))));
                        continue;
                    }

                    // Bistro: the fast lane. A field whose resolver is a
                    // plain `fn` of a type that resolves now is resolved
                    // here, with no future, context copy or task of its own.
                    if fast_lane {
                        let ctx_field = ctx.with_field(field);
                        if let Some(value) = root.resolve_field_now(&ctx_field) {
                            let field_name = field.node.response_key().node.clone();
                            self.slots.push(FieldSlot::Ready(Some(
                                value.map(|value| (field_name, value.unwrap_or_default())),
                            )));
                            continue;
                        }
                        if self.attempt {
                            self.missed = true;
                            return Ok(());
                        }
                    }

                    let resolve_fut = Box::pin({
                        let ctx = ctx.clone();
                        async move {
                            let ctx_field = ctx.with_field(field);
                            let field_name = ctx_field.item.node.response_key().node.clone();
                            let extensions = &ctx.query_env.extensions;

                            if extensions.is_empty() && field.node.directives.is_empty() {
                                Ok((
                                    field_name,
                                    root.resolve_field(&ctx_field).await?.unwrap_or_default(),
                                ))
                            } else {
                                let type_name = T::type_name();
                                let resolve_info = ResolveInfo {
                                    path_node: ctx_field.path_node.as_ref().unwrap(),
                                    parent_type: &type_name,
                                    return_type: match ctx_field
                                        .schema_env
                                        .registry
                                        .types
                                        .get(type_name.as_ref())
                                        .and_then(|ty| {
                                            ty.field_by_name(field.node.name.node.as_str())
                                        })
                                        .map(|field| &field.ty)
                                    {
                                        Some(ty) => &ty,
                                        None => {
                                            return Err(ServerError::new(
                                                format!(
                                                    r#"Cannot query field "{}" on type "{}"."#,
                                                    field_name, type_name
                                                ),
                                                Some(ctx_field.item.pos),
                                            ));
                                        }
                                    },
                                    name: field.node.name.node.as_str(),
                                    alias: field
                                        .node
                                        .alias
                                        .as_ref()
                                        .map(|alias| alias.node.as_str()),
                                    is_for_introspection: ctx_field.is_for_introspection,
                                    field: &field.node,
                                };

                                let resolve_fut = root.resolve_field(&ctx_field);

                                if field.node.directives.is_empty() {
                                    futures_util::pin_mut!(resolve_fut);
                                    Ok((
                                        field_name,
                                        extensions
                                            .resolve(resolve_info, &mut resolve_fut)
                                            .await?
                                            .unwrap_or_default(),
                                    ))
                                } else {
                                    let mut resolve_fut = resolve_fut.boxed();

                                    for directive in &field.node.directives {
                                        if let Some(directive_factory) = ctx
                                            .schema_env
                                            .custom_directives
                                            .get(directive.node.name.node.as_str())
                                        {
                                            let ctx_directive = ContextBase {
                                                path_node: ctx_field.path_node,
                                                is_for_introspection: false,
                                                item: directive,
                                                schema_env: ctx_field.schema_env,
                                                query_env: ctx_field.query_env,
                                                execute_data: ctx_field.execute_data,
                                            };
                                            let directive_instance = directive_factory
                                                .create(&ctx_directive, &directive.node)?;
                                            resolve_fut = Box::pin({
                                                let ctx_field = ctx_field.clone();
                                                async move {
                                                    directive_instance
                                                        .resolve_field(&ctx_field, &mut resolve_fut)
                                                        .await
                                                }
                                            });
                                        }
                                    }

                                    Ok((
                                        field_name,
                                        extensions
                                            .resolve(resolve_info, &mut resolve_fut)
                                            .await?
                                            .unwrap_or_default(),
                                    ))
                                }
                            }
                        }
                    });

                    self.slots.push(FieldSlot::Pending(resolve_fut));
                }
                selection => {
                    let (type_condition, selection_set) = match selection {
                        Selection::Field(_) => unreachable!(),
                        Selection::FragmentSpread(spread) => {
                            let fragment =
                                ctx.query_env.fragments.get(&spread.node.fragment_name.node);
                            let fragment = match fragment {
                                Some(fragment) => fragment,
                                None => {
                                    return Err(ServerError::new(
                                        format!(
                                            r#"Unknown fragment "{}"."#,
                                            spread.node.fragment_name.node
                                        ),
                                        Some(spread.pos),
                                    ));
                                }
                            };
                            (
                                Some(&fragment.node.type_condition),
                                &fragment.node.selection_set,
                            )
                        }
                        Selection::InlineFragment(fragment) => (
                            fragment.node.type_condition.as_ref(),
                            &fragment.node.selection_set,
                        ),
                    };
                    let type_condition =
                        type_condition.map(|condition| condition.node.on.node.as_str());

                    let introspection_type_name = root.introspection_type_name();

                    let applies_concrete_object = type_condition.is_some_and(|condition| {
                        introspection_type_name == condition
                            || ctx
                                .schema_env
                                .registry
                                .implements
                                .get(&*introspection_type_name)
                                .is_some_and(|interfaces| interfaces.contains(condition))
                    });
                    if applies_concrete_object {
                        root.collect_all_fields(&ctx.with_selection_set(selection_set), self)?;
                    } else if type_condition.is_none_or(|condition| T::type_name() == condition) {
                        // The fragment applies to an interface type.
                        self.add_set(&ctx.with_selection_set(selection_set), root)?;
                    }
                }
            }
        }
        Ok(())
    }
}
