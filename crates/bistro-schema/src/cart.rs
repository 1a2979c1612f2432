//! Carts: open, per-customer, in the key-value store only (they expire; an
//! order is what lands in SQL).
//!
//! Layout: one hash per user, `cart:{user id}`, with the field `restaurant`
//! (a cart orders from one restaurant at a time) and one field
//! `item:{menu item id}` per line holding the quantity. The whole cart is
//! one `HGETALL`; many carts are one pipeline.

use std::time::Duration;

use async_graphql::{Context, Object, ResultExt};
use bistro_kv::Kv;

use crate::error::{data, soft};
use crate::loader::Loaders;
use crate::menu::MenuItem;
use crate::money::Money;
use crate::restaurant::Restaurant;

/// How long an untouched cart lives.
pub const CART_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The hash holding a user's cart.
pub fn key(user_id: i64) -> String {
    format!("cart:{user_id}")
}

/// Stores a whole cart (one pipeline), replacing what the hash held.
pub async fn store(
    kv: &Kv,
    user_id: i64,
    restaurant_id: i64,
    lines: &[(i64, i32)],
) -> bistro_kv::Result<()> {
    let key = key(user_id);
    let mut entries = vec![(
        key.clone(),
        "restaurant".to_owned(),
        restaurant_id.to_string(),
    )];
    entries.extend(
        lines
            .iter()
            .map(|(item, quantity)| (key.clone(), format!("item:{item}"), quantity.to_string())),
    );
    kv.del(std::slice::from_ref(&key)).await?;
    kv.hset_many(&entries, Some(CART_TTL)).await
}

/// A cart as stored: `None` for no cart (or an unreadable one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCart {
    /// The restaurant.
    pub restaurant_id: i64,
    /// `(menu item id, quantity)` in item id order.
    pub lines: Vec<(i64, i32)>,
}

/// Reads a cart hash's fields.
pub(crate) fn decode(fields: &[(String, String)]) -> Option<StoredCart> {
    let mut restaurant_id = None;
    let mut lines = Vec::new();
    for (field, value) in fields {
        if field == "restaurant" {
            restaurant_id = value.parse().ok();
        } else if let Some(item) = field.strip_prefix("item:")
            && let (Ok(item), Ok(quantity)) = (item.parse::<i64>(), value.parse::<i32>())
            && quantity > 0
        {
            lines.push((item, quantity));
        }
    }
    lines.sort_unstable();
    Some(StoredCart {
        restaurant_id: restaurant_id?,
        lines,
    })
}

/// A customer's open cart.
pub struct Cart(pub StoredCart);

#[Object]
/// A customer's open cart: items of one restaurant, not yet ordered.
impl Cart {
    /// The restaurant the cart orders from.
    async fn restaurant(&self, ctx: &Context<'_>) -> Option<Restaurant> {
        soft(ctx, Restaurant::try_load(ctx, self.0.restaurant_id).await).flatten()
    }

    /// What is in it.
    async fn lines(&self) -> Vec<CartLine> {
        self.0
            .lines
            .iter()
            .map(|(menu_item_id, quantity)| CartLine {
                menu_item_id: *menu_item_id,
                quantity: *quantity,
            })
            .collect()
    }

    /// Number of units in the cart.
    async fn item_count(&self) -> i32 {
        self.0.lines.iter().map(|(_, q)| *q).sum()
    }

    /// Sum of the lines at current prices; null when an item's price cannot be read.
    async fn subtotal(&self, ctx: &Context<'_>) -> Option<Money> {
        let result = async {
            let loaders = data::<Loaders>(ctx)?;
            // Asked for together: one batch (shared with `lines.menuItem`).
            let items = futures_util::future::join_all(
                self.0
                    .lines
                    .iter()
                    .map(|(id, _)| loaders.menu_item.load_one(*id)),
            )
            .await;
            let mut total = 0i64;
            let mut currency = None;
            for (item, (_, quantity)) in items.into_iter().zip(&self.0.lines) {
                if let Some(item) = item.extend()? {
                    total += item.price_amount * i64::from(*quantity);
                    currency = Some(item.currency_code);
                }
            }
            Ok(currency.map(|c| Money::from_minor(total, &c)))
        }
        .await;
        soft(ctx, result).flatten()
    }
}

/// One line of a cart.
pub struct CartLine {
    menu_item_id: i64,
    quantity: i32,
}

#[Object]
/// One line of a cart: an item and how many.
impl CartLine {
    /// The item (null if it was removed from the menu).
    async fn menu_item(&self, ctx: &Context<'_>) -> Option<MenuItem> {
        MenuItem::load(ctx, self.menu_item_id).await
    }

    /// How many.
    async fn quantity(&self) -> i32 {
        self.quantity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carts_decode_and_ignore_garbage() {
        let fields = [
            ("restaurant".to_owned(), "3".to_owned()),
            ("item:9".to_owned(), "2".to_owned()),
            ("item:4".to_owned(), "1".to_owned()),
            ("item:x".to_owned(), "1".to_owned()),
            ("item:5".to_owned(), "0".to_owned()),
        ];
        assert_eq!(
            decode(&fields),
            Some(StoredCart {
                restaurant_id: 3,
                lines: vec![(4, 1), (9, 2)]
            })
        );
        assert_eq!(decode(&[]), None);
    }
}
