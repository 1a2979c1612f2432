//! The shared cache of restaurant menus in the key-value store.
//!
//! One hash per restaurant, `menu:v1:{restaurant id}`; each field is one
//! menu page shape (course filter, cursor, size) and holds that page's rows
//! as JSON. A write to a restaurant's menu deletes its one hash: every page
//! of it is gone at once, with no tag set to maintain and no `SCAN`.
//! Entries also expire, which bounds the damage of an invalidation lost
//! while the key-value store was unreachable.

use bistro_kv::Kv;
use bistro_sql::entity::menu_item;
use bistro_sql::query::MenuPageArgs;

/// The hash holding every cached page of one restaurant's menu.
pub fn key(restaurant_id: i64) -> String {
    format!("menu:v1:{restaurant_id}")
}

/// The field of one page shape.
pub(crate) fn field(args: &MenuPageArgs) -> String {
    let window = &args.window;
    let cursor = |c: Option<bistro_sql::query::MenuCursor>| {
        c.map_or_else(String::new, |c| format!("{}:{}", c.position, c.id))
    };
    format!(
        "{}|{}|{}|{}|{}",
        args.course.as_deref().unwrap_or("*"),
        cursor(window.after),
        cursor(window.before),
        window.limit,
        if window.backward { "b" } else { "f" }
    )
}

pub(crate) fn encode(rows: &[menu_item::Model]) -> Option<String> {
    serde_json::to_string(rows).ok()
}

/// `None` for a value this version cannot read: a miss.
pub(crate) fn decode(value: &str) -> Option<Vec<menu_item::Model>> {
    serde_json::from_str(value).ok()
}

/// Forgets every cached page of a restaurant's menu; call after the write commits.
pub async fn invalidate(kv: &Kv, restaurant_id: i64) -> bistro_kv::Result<()> {
    kv.del(&[key(restaurant_id)]).await.map(|_| ())
}
