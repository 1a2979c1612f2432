//! Relay connections: page arguments, opaque cursors, and the connection types.
//!
//! `first`/`last` default to the configured page size and are clamped to the
//! maximum (100), so no query can ask for a whole table. Cursors are opaque
//! base64url strings whose first letter names the list they belong to, so a
//! cursor from one list is refused by another.

use async_graphql::{Context, SimpleObject};
use bistro_data::PageWindow;

use crate::error::ErrorCode;
use crate::ids::CursorList;
use crate::limits::Limits;

/// Relay paging arguments as received.
///
/// A resolver takes them as one parameter, `page: PageArgs`, which
/// `#[bistro_macros::page_args]` (above the `#[Object]` impl) writes out as
/// the four arguments `first`, `after`, `last` and `before` with their
/// descriptions: async-graphql cannot flatten arguments.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    /// The window these arguments ask for in list `L`, with its cursors decoded.
    pub fn window<L: CursorList>(
        &self,
        limits: &Limits,
    ) -> async_graphql::Result<PageWindow<L::Position>> {
        if self.first.is_some() && self.last.is_some() {
            return Err(ErrorCode::BadUserInput.error("Pass `first` or `last`, not both."));
        }
        let size = |name: &str, n: Option<i32>| -> async_graphql::Result<u64> {
            match n {
                None => Ok(limits.default_page_size.min(limits.max_page_size)),
                Some(n) if n < 0 => {
                    Err(ErrorCode::BadUserInput.error(format!("`{name}` must not be negative.")))
                }
                Some(n) => Ok(u64::try_from(n).unwrap_or(0).min(limits.max_page_size)),
            }
        };
        let cursor =
            |name: &str, c: &Option<String>| -> async_graphql::Result<Option<L::Position>> {
                c.as_deref()
                    .map(|c| {
                        L::decode(c).ok_or_else(|| {
                            ErrorCode::BadUserInput
                                .error(format!("`{name}` is not a cursor of this list."))
                        })
                    })
                    .transpose()
            };
        let backward = self.last.is_some();
        Ok(PageWindow {
            after: cursor("after", &self.after)?,
            before: cursor("before", &self.before)?,
            limit: if backward {
                size("last", self.last)?
            } else {
                size("first", self.first)?
            },
            backward,
        })
    }
}

// `@shareable` in the subgraph SDL: every subgraph with Relay connections
// defines the same `PageInfo`.
/// Where the current page sits in its list.
///
/// Cache: as its parent.
#[derive(SimpleObject, Debug, Clone, Default)]
#[graphql(shareable, serial)]
pub struct PageInfo {
    /// Whether more items follow this page (when paging forward with `first`).
    pub has_next_page: bool,
    /// Whether items precede this page (when paging backward with `last`; when paging forward, whether `after` was given).
    pub has_previous_page: bool,
    /// Cursor of the first edge; pass it as `before` to page backward.
    pub start_cursor: Option<String>,
    /// Cursor of the last edge; pass it as `after` to page forward.
    pub end_cursor: Option<String>,
}

/// Trims a fetched window (which holds one extra row when more exist) to the
/// page, and works out the page info.
pub fn trim_page<K, T>(mut rows: Vec<T>, window: &PageWindow<K>) -> (Vec<T>, bool, bool) {
    let limit = usize::try_from(window.limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    if window.backward {
        if more {
            rows.drain(..rows.len() - limit);
        }
        (rows, window.before.is_some(), more)
    } else {
        rows.truncate(limit);
        (rows, more, window.after.is_some())
    }
}

/// [`trim_page`] on a borrowed window: the page's rows, without copying the others.
pub fn trim_slice<'a, K, T>(rows: &'a [T], window: &PageWindow<K>) -> (&'a [T], bool, bool) {
    let limit = usize::try_from(window.limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    if window.backward {
        let page = if more {
            &rows[rows.len() - limit..]
        } else {
            rows
        };
        (page, window.before.is_some(), more)
    } else {
        (&rows[..rows.len().min(limit)], more, window.after.is_some())
    }
}

/// Builds the page info of a trimmed page from its edges (`cursor` reads an
/// edge's cursor): only the first and last cursors are copied.
pub fn page_info<E>(
    edges: &[E],
    cursor: impl Fn(&E) -> &String,
    has_next_page: bool,
    has_previous_page: bool,
) -> PageInfo {
    PageInfo {
        has_next_page,
        has_previous_page,
        start_cursor: edges.first().map(|e| cursor(e).clone()),
        end_cursor: edges.last().map(|e| cursor(e).clone()),
    }
}

/// The paging arguments of `ctx`'s limits.
pub fn limits<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Limits> {
    crate::request::context::data::<std::sync::Arc<Limits>>(ctx).map(|l| l.as_ref())
}

/// The cost multiplier of a connection field for the complexity limit: the
/// page size asked for, or the maximum when none is given (the default is
/// configurable, so the conservative bound is used).
pub fn page_cost(first: Option<i32>, last: Option<i32>) -> usize {
    let asked = first.or(last).unwrap_or(100).clamp(0, 100);
    usize::try_from(asked).unwrap_or(100).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::list::Orders;

    #[test]
    fn page_sizes_default_and_clamp() {
        let limits = Limits::default();
        let w = PageArgs::default().window::<Orders>(&limits).unwrap();
        assert_eq!((w.limit, w.backward), (20, false));
        let w = PageArgs {
            first: Some(10_000),
            ..Default::default()
        }
        .window::<Orders>(&limits)
        .unwrap();
        assert_eq!(w.limit, 100);
        assert!(
            PageArgs {
                first: Some(-1),
                ..Default::default()
            }
            .window::<Orders>(&limits)
            .is_err()
        );
        assert!(
            PageArgs {
                first: Some(1),
                last: Some(1),
                ..Default::default()
            }
            .window::<Orders>(&limits)
            .is_err()
        );
    }

    #[test]
    fn trimming_keeps_the_page_and_reports_more() {
        let w = PageWindow {
            after: None::<i64>,
            before: None,
            limit: 2,
            backward: false,
        };
        assert_eq!(trim_page(vec![1, 2, 3], &w), (vec![1, 2], true, false));
        let w = PageWindow {
            after: None::<i64>,
            before: Some(9),
            limit: 2,
            backward: true,
        };
        assert_eq!(trim_page(vec![1, 2, 3], &w), (vec![2, 3], true, true));
    }
}
