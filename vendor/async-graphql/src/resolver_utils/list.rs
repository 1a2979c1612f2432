use crate::{
    ContextSelectionSet, OutputType, Positioned, ServerResult, Value, extensions::ResolveInfo,
    parser::types::Field,
};

/// Resolve an list by executing each of the items concurrently.
pub async fn resolve_list<'a, T: OutputType + 'a>(
    ctx: &ContextSelectionSet<'a>,
    field: &Positioned<Field>,
    iter: impl IntoIterator<Item = T>,
    len: Option<usize>,
) -> ServerResult<Value> {
    let extensions = &ctx.query_env.extensions;
    if !extensions.is_empty() {
        let mut futures = len.map(Vec::with_capacity).unwrap_or_default();
        for (idx, item) in iter.into_iter().enumerate() {
            futures.push({
                let ctx = ctx.clone();
                async move {
                    let ctx_idx = ctx.with_index(idx);
                    let extensions = &ctx.query_env.extensions;

                    let resolve_info = ResolveInfo {
                        path_node: ctx_idx.path_node.as_ref().unwrap(),
                        parent_type: &Vec::<T>::type_name(),
                        return_type: &T::qualified_type_name(),
                        name: field.node.name.node.as_str(),
                        alias: field.node.alias.as_ref().map(|alias| alias.node.as_str()),
                        is_for_introspection: ctx_idx.is_for_introspection,
                        field: &field.node,
                    };
                    let resolve_fut = async {
                        OutputType::resolve(&item, &ctx_idx, field)
                            .await
                            .map(Option::Some)
                            .map_err(|err| ctx_idx.set_error_path(err))
                    };
                    futures_util::pin_mut!(resolve_fut);
                    extensions
                        .resolve(resolve_info, &mut resolve_fut)
                        .await
                        .map(|value| value.expect("You definitely encountered a bug!"))
                }
            });
        }
        Ok(Value::List(
            futures_util::future::try_join_all(futures).await?,
        ))
    } else {
        let raw = ctx.raw_mark();
        let mut futures = len.map(Vec::with_capacity).unwrap_or_default();
        for (idx, item) in iter.into_iter().enumerate() {
            let ctx_idx = ctx.with_index(idx);
            futures.push(async move {
                OutputType::resolve(&item, &ctx_idx, field)
                    .await
                    .map_err(|err| ctx_idx.set_error_path(err))
            });
        }
        let values = futures_util::future::try_join_all(futures).await?;
        Ok(list_value(ctx, raw, values))
    }
}

/// Bistro: the list written as JSON ([`Value::Raw`]) when no error was
/// reported while its items resolved (`ContextBase::raw_mark`) and it is
/// not too long to copy (`RawJson::MAX_LEN`).
fn list_value(ctx: &ContextSelectionSet<'_>, raw: Option<usize>, values: Vec<Value>) -> Value {
    if !values.is_empty()
        && ctx.raw_unchanged(raw)
        && let Some(raw) = async_graphql_value::RawJson::list(&values)
    {
        return Value::Raw(raw);
    }
    Value::List(values)
}

/// Bistro: [`resolve_list`] for items whose type resolves now
/// (`OutputType::RESOLVES_NOW`): the same values, paths and first error, in
/// item order, without a future per item.
pub fn resolve_list_now<'a, T: OutputType + 'a>(
    ctx: &ContextSelectionSet<'a>,
    field: &Positioned<Field>,
    iter: impl IntoIterator<Item = T>,
) -> ServerResult<Value> {
    let raw = ctx.raw_mark();
    let iter = iter.into_iter();
    let mut values = Vec::with_capacity(iter.size_hint().0);
    for (idx, item) in iter.enumerate() {
        let ctx_idx = ctx.with_index(idx);
        values.push(
            OutputType::resolve_now(&item, &ctx_idx, field)
                .map_err(|err| ctx_idx.set_error_path(err))?,
        );
    }
    Ok(list_value(ctx, raw, values))
}

/// Bistro: [`resolve_list_now`] for items that may resolve now
/// (`OutputType::MAY_RESOLVE_NOW`): `None`, with whatever the items before
/// it reported taken back, as soon as one item cannot, and the caller
/// resolves the list with its future instead.
pub fn resolve_list_try_now<'a, T: OutputType + 'a>(
    ctx: &ContextSelectionSet<'a>,
    field: &Positioned<Field>,
    iter: impl IntoIterator<Item = T>,
) -> Option<ServerResult<Value>> {
    if T::RESOLVES_NOW {
        return Some(resolve_list_now(ctx, field, iter));
    }
    if !T::MAY_RESOLVE_NOW {
        return None;
    }
    let mark = ctx.lane_mark();
    let raw = ctx.raw_mark();
    let iter = iter.into_iter();
    let mut values = Vec::with_capacity(iter.size_hint().0);
    for (idx, item) in iter.enumerate() {
        let ctx_idx = ctx.with_index(idx);
        match OutputType::try_resolve_now(&item, &ctx_idx, field) {
            Some(Ok(value)) => values.push(value),
            Some(Err(err)) => return Some(Err(ctx_idx.set_error_path(err))),
            None => {
                ctx.lane_rewind(mark);
                return None;
            }
        }
    }
    Some(Ok(list_value(ctx, raw, values)))
}
