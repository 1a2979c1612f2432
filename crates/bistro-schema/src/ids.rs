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

/// The lists that hand out cursors; a cursor starts with its list's letter,
/// so a cursor of one list is refused by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorList {
    /// `restaurants`.
    Restaurants,
    /// A restaurant's `menu`.
    Menu,
    /// A restaurant's or a user's `orders`.
    Orders,
    /// A restaurant's `reviews`.
    Reviews,
    /// `searchMenu`.
    Search,
}

impl CursorList {
    /// The letter its cursors start with.
    fn tag(self) -> char {
        match self {
            Self::Restaurants => 'r',
            Self::Menu => 'm',
            Self::Orders => 'o',
            Self::Reviews => 'v',
            Self::Search => 's',
        }
    }

    /// A cursor of this list at `payload` (its position).
    pub fn encode(self, payload: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{payload}", self.tag()))
    }

    /// The position a cursor of this list names; `None` for anything else.
    pub fn decode(self, cursor: &str) -> Option<String> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
        let payload = raw.strip_prefix(self.tag())?.strip_prefix(':')?;
        Some(payload.to_owned())
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
        let c = CursorList::Restaurants.encode("42");
        assert_eq!(CursorList::Restaurants.decode(&c).as_deref(), Some("42"));
        assert_eq!(CursorList::Menu.decode(&c), None);
        assert_eq!(CursorList::Restaurants.decode("not base64!"), None);
    }
}
