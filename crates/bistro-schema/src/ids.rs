//! Ids and cursors as clients see them: global ids of the node types,
//! opaque ids of what is no node (menu options, cart lines), and list
//! cursors. A leaf: every type that hands out an id imports it, and it
//! imports none of them.
//!
//! A global id is base64url of `"{Type}:{database id}"`; a cursor is
//! base64url of `"{list letter}:{position}"`. Clients treat both as opaque.

use async_graphql::ID;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ErrorCode;

/// The entity types a global id can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeType {
    Restaurant,
    MenuItem,
    Review,
    User,
    Order,
}

impl NodeType {
    /// Every entity type, in the order the schema lists them.
    pub const ALL: [Self; 5] = [
        Self::Restaurant,
        Self::MenuItem,
        Self::Review,
        Self::User,
        Self::Order,
    ];

    /// The GraphQL type name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Restaurant => "Restaurant",
            Self::MenuItem => "MenuItem",
            Self::Review => "Review",
            Self::User => "User",
            Self::Order => "Order",
        }
    }

    /// The entity type of a GraphQL type name; `None` for any other type.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|ty| ty.name() == name)
    }
}

/// The global id of an entity.
pub fn global_id(ty: NodeType, id: i64) -> ID {
    // Without `format!`: one per node of every page (see `format_minor`).
    let mut raw = String::with_capacity(32);
    raw.push_str(ty.name());
    raw.push(':');
    raw.push_str(itoa::Buffer::new().format(id));
    ID(URL_SAFE_NO_PAD.encode(raw))
}

/// Reads a global id; `None` when it is not one of ours.
pub fn parse_global_id(id: &str) -> Option<(NodeType, i64)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (ty, id) = raw.split_once(':')?;
    Some((NodeType::from_name(ty)?, id.parse().ok()?))
}

/// Reads a global id of one expected type, as an argument.
pub fn expect_global_id(id: &ID, expected: NodeType) -> async_graphql::Result<i64> {
    match parse_global_id(id) {
        Some((ty, id)) if ty == expected => Ok(id),
        _ => Err(ErrorCode::BadUserInput.error(format!("Not a {} id.", expected.name()))),
    }
}

fn opaque(kind: &str, id: impl std::fmt::Display) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{kind}:{id}")))
}

fn parse_opaque<T: std::str::FromStr>(kind: &str, id: &ID) -> Option<T> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id.as_str()).ok()?).ok()?;
    let (k, value) = raw.split_once(':')?;
    (k == kind).then(|| value.parse().ok()).flatten()
}

/// The opaque id of a menu option.
pub fn option_id(id: i64) -> ID {
    opaque("MenuOption", id)
}

/// The opaque id of a cart line.
pub fn cart_line_id(id: u32) -> ID {
    opaque("CartLine", id)
}

/// Reads a menu option's opaque id; `None` when it is not one.
pub fn parse_option_id(id: &ID) -> Option<i64> {
    parse_opaque("MenuOption", id)
}

/// Reads a cart line's opaque id; `None` when it is not one.
pub fn parse_cart_line_id(id: &ID) -> Option<u32> {
    parse_opaque("CartLine", id)
}

/// A list that hands out cursors: the letter its cursors start with (so a
/// cursor of one list is refused by another) and the position they encode,
/// declared once per list kind in [`list`].
pub trait CursorList {
    /// The letter its cursors start with; each list has its own.
    const TAG: char;
    /// What a cursor of this list names: where the list continues.
    type Position;

    /// The position as cursor text.
    fn write(position: &Self::Position) -> String;

    /// The position cursor text names; `None` for anything else.
    fn read(payload: &str) -> Option<Self::Position>;

    /// A cursor of this list at `position`.
    fn encode(position: &Self::Position) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", Self::TAG, Self::write(position)))
    }

    /// The position a cursor of this list names; `None` for anything else.
    fn decode(cursor: &str) -> Option<Self::Position> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
        let payload = raw.strip_prefix(Self::TAG)?.strip_prefix(':')?;
        Self::read(payload)
    }
}

/// The lists that hand out cursors, one type per list kind.
pub mod list {
    use super::CursorList;
    use bistro_data::MenuCursor;

    /// `restaurants`: by id.
    pub enum Restaurants {}

    /// A restaurant's `menu`: by menu position, then id.
    pub enum Menu {}

    /// A restaurant's or a user's `orders`: by id.
    pub enum Orders {}

    /// A restaurant's `reviews`: by id.
    pub enum Reviews {}

    /// `searchMenu`: by the offset of the next hit (ranked results have no
    /// stable key).
    pub enum Search {}

    /// Lists whose cursors are a database id.
    macro_rules! by_id {
        ($($list:ty => $tag:literal),* $(,)?) => {$(
            impl CursorList for $list {
                const TAG: char = $tag;
                type Position = i64;

                fn write(id: &i64) -> String {
                    id.to_string()
                }

                fn read(payload: &str) -> Option<i64> {
                    payload.parse().ok()
                }
            }
        )*};
    }

    by_id!(Restaurants => 'r', Orders => 'o', Reviews => 'v');

    impl CursorList for Menu {
        const TAG: char = 'm';
        type Position = MenuCursor;

        fn write(at: &MenuCursor) -> String {
            format!("{}:{}", at.position, at.id)
        }

        fn read(payload: &str) -> Option<MenuCursor> {
            let (position, id) = payload.split_once(':')?;
            Some(MenuCursor {
                position: position.parse().ok()?,
                id: id.parse().ok()?,
            })
        }
    }

    impl CursorList for Search {
        const TAG: char = 's';
        type Position = u64;

        fn write(offset: &u64) -> String {
            offset.to_string()
        }

        fn read(payload: &str) -> Option<u64> {
            payload.parse().ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_reject_foreign_strings() {
        let id = global_id(NodeType::MenuItem, 42);
        assert_eq!(id.0, URL_SAFE_NO_PAD.encode("MenuItem:42"));
        assert_eq!(
            global_id(NodeType::Restaurant, -3).0,
            URL_SAFE_NO_PAD.encode("Restaurant:-3")
        );
        assert_eq!(parse_global_id(&id), Some((NodeType::MenuItem, 42)));
        assert_eq!(parse_global_id("42"), None);
        assert_eq!(parse_global_id(&URL_SAFE_NO_PAD.encode("Cart:1")), None);
        assert_eq!(
            parse_global_id(&URL_SAFE_NO_PAD.encode("User:1")),
            Some((NodeType::User, 1))
        );
        assert!(expect_global_id(&id, NodeType::Restaurant).is_err());
    }

    #[test]
    fn opaque_ids_round_trip_and_keep_their_kind() {
        assert_eq!(parse_option_id(&option_id(12)), Some(12));
        assert_eq!(parse_cart_line_id(&cart_line_id(3)), Some(3));
        assert_eq!(parse_cart_line_id(&option_id(3)), None);
        assert_eq!(parse_option_id(&ID("12".into())), None);
    }

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_list() {
        let c = list::Restaurants::encode(&42);
        assert_eq!(c, URL_SAFE_NO_PAD.encode("r:42"));
        assert_eq!(list::Restaurants::decode(&c), Some(42));
        assert_eq!(list::Orders::decode(&c), None);
        assert_eq!(list::Menu::decode(&c), None);
        assert_eq!(list::Restaurants::decode("not base64!"), None);
        let at = bistro_data::MenuCursor { position: 3, id: 7 };
        let c = list::Menu::encode(&at);
        assert_eq!(c, URL_SAFE_NO_PAD.encode("m:3:7"));
        assert_eq!(list::Menu::decode(&c), Some(at));
    }

    #[test]
    fn every_list_has_its_own_letter() {
        let tags = [
            list::Restaurants::TAG,
            list::Menu::TAG,
            list::Orders::TAG,
            list::Reviews::TAG,
            list::Search::TAG,
        ];
        let distinct: std::collections::BTreeSet<char> = tags.into_iter().collect();
        assert_eq!(distinct.len(), tags.len());
    }
}
