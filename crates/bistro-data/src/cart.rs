//! Open carts: per customer, in the key-value store only (they expire; an
//! order is what lands in SQL).
//!
//! **Layout** `cart:v2:{user id}` (string): the whole cart as JSON — its
//! restaurant (a cart orders from one restaurant at a time) and its lines.
//! One cart is one `GET`, the carts of many users one `MGET`. Expires after
//! [`CART_TTL`] untouched; lost, the customer's cart is simply empty.
//!
//! **Writes** read the cart, change it, and write it back only if it is
//! still what was read (compare-and-set; retried a few times when another
//! request changed it meanwhile), so two tabs adding at once lose nothing.
//! Items, options and availability come from SQL through the loaders; no
//! price is stored in the cart: totals are computed from SQL prices when
//! read and again at checkout.

use bistro_sql::KeyMap;
use std::time::Duration;

use bistro_kv::Kv;
use bistro_kv::typed::Codec;
use serde::{Deserialize, Serialize};

use crate::batch::Load;
use crate::options::{self, OptionsProblem};
use crate::{Result, Scope};

/// Most units on one cart line.
pub const MAX_LINE_QUANTITY: i32 = 50;

/// Most lines in one cart.
pub const MAX_LINES: usize = 50;

/// How often a cart write is tried again when another request changed the cart meanwhile.
const WRITE_ATTEMPTS: usize = 8;

/// How long an untouched cart lives.
pub const CART_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

bistro_kv::kv_key! {
    /// A customer's open cart.
    pub struct CartKey { pub user_id: i64 } => value StoredCart = "cart:v2:{user_id}";
}

/// A cart as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCart {
    /// The restaurant it orders from.
    pub restaurant_id: i64,
    /// Its lines, in the order they were added.
    pub lines: Vec<StoredCartLine>,
}

/// One line of a stored cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCartLine {
    /// Identifies the line within its cart (unique, never reused in that cart).
    pub id: u32,
    /// The menu item.
    pub menu_item_id: i64,
    /// How many.
    pub quantity: i32,
    /// Chosen options (ids of option rows), sorted.
    #[serde(default)]
    pub option_ids: Vec<i64>,
}

impl Codec for StoredCart {
    fn encode(&self) -> String {
        // Plain numbers and lists: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
    fn decode(raw: &str) -> Option<Self> {
        serde_json::from_str(raw).ok()
    }
}

/// Stores a whole cart, replacing the customer's previous one (one round trip).
pub async fn store(kv: &Kv, user_id: i64, cart: &StoredCart) -> bistro_kv::Result<()> {
    kv.store(&CartKey { user_id }, cart, Some(CART_TTL)).await
}

/// Open carts by user id: one `MGET` per batch. Carts exist only in the
/// key-value store: with it unreachable, the load fails.
pub struct CartLoader {
    pub(crate) kv: Kv,
}

impl Load<i64> for CartLoader {
    type Value = StoredCart;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let cart_keys: Vec<CartKey> = keys.iter().map(|id| CartKey { user_id: *id }).collect();
        let carts = self.kv.load_many(&cart_keys).await?;
        Ok(keys
            .iter()
            .zip(carts)
            .filter_map(|(id, cart)| Some((*id, cart?)))
            .collect())
    }
}

/// Why a cart write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartProblem {
    /// No menu item has this id.
    ItemNotFound,
    /// The item cannot be ordered now.
    ItemUnavailable,
    /// The cart holds items of another restaurant (and replacing it was not asked for).
    OtherRestaurant,
    /// A line's quantity would leave 1 to [`MAX_LINE_QUANTITY`].
    QuantityOutOfRange,
    /// The cart would have more than [`MAX_LINES`] lines.
    TooManyLines,
    /// The options do not fit the item.
    Options(OptionsProblem),
    /// The cart has no line with this id.
    LineNotFound,
    /// Other requests kept changing the cart; try again.
    Busy,
}

/// What a cart write leads to: the new cart (`None`: no cart), or a refusal.
pub type CartWrite = std::result::Result<Option<StoredCart>, CartProblem>;

impl Scope {
    /// Adds `quantity` of an item with these options (merged into the line
    /// with the same item and options, if any). `replace_cart` empties a
    /// cart of another restaurant first; without it such a cart is refused.
    pub async fn add_to_cart(
        &self,
        user_id: i64,
        menu_item_id: i64,
        quantity: i32,
        mut option_ids: Vec<i64>,
        replace_cart: bool,
    ) -> Result<CartWrite> {
        if !(1..=MAX_LINE_QUANTITY).contains(&quantity) {
            return Ok(Err(CartProblem::QuantityOutOfRange));
        }
        // The answer lists the whole cart: read it first, then load the new
        // item with the cart's items (and their option groups, and the
        // cart's restaurant) in one batch each, which the answer then finds
        // loaded. The write starts from this read.
        let key = bistro_kv::typed::Key::render(&CartKey { user_id });
        let raw = self.kv.get(&key).await?;
        let current = raw.as_deref().and_then(StoredCart::decode);
        let mut ids = vec![menu_item_id];
        ids.extend(
            current
                .iter()
                .flat_map(|c| c.lines.iter().map(|l| l.menu_item_id)),
        );
        let (items, groups, restaurant) = tokio::join!(
            self.loaders.menu_item.load_many(ids.iter().copied()),
            self.loaders.option_groups.load_many(ids.iter().copied()),
            async {
                match &current {
                    Some(cart) => self.loaders.restaurant.load_one(cart.restaurant_id).await,
                    None => Ok(None),
                }
            },
        );
        let (mut items, mut groups) = (items?, groups?);
        restaurant?;
        let Some(item) = items.remove(&menu_item_id) else {
            return Ok(Err(CartProblem::ItemNotFound));
        };
        if !item.available {
            return Ok(Err(CartProblem::ItemUnavailable));
        }
        let groups = groups.remove(&menu_item_id).unwrap_or_default();
        option_ids.sort_unstable();
        option_ids.dedup();
        if let Err(problem) = options::validate(&groups, &option_ids) {
            return Ok(Err(CartProblem::Options(problem)));
        }
        self.change_cart_from(user_id, raw, |cart| {
            let mut cart = match cart {
                Some(cart) if cart.restaurant_id == item.restaurant_id => cart,
                Some(_) if !replace_cart => return Err(CartProblem::OtherRestaurant),
                _ => StoredCart {
                    restaurant_id: item.restaurant_id,
                    lines: Vec::new(),
                },
            };
            let same = cart
                .lines
                .iter_mut()
                .find(|l| l.menu_item_id == menu_item_id && l.option_ids == option_ids);
            match same {
                Some(line) => {
                    let total = line.quantity.saturating_add(quantity);
                    if total > MAX_LINE_QUANTITY {
                        return Err(CartProblem::QuantityOutOfRange);
                    }
                    line.quantity = total;
                }
                None => {
                    if cart.lines.len() >= MAX_LINES {
                        return Err(CartProblem::TooManyLines);
                    }
                    let id = cart.lines.iter().map(|l| l.id).max().unwrap_or(0) + 1;
                    cart.lines.push(StoredCartLine {
                        id,
                        menu_item_id,
                        quantity,
                        option_ids: option_ids.clone(),
                    });
                }
            }
            Ok(Some(cart))
        })
        .await
    }

    /// Sets a line's quantity (1 to [`MAX_LINE_QUANTITY`]).
    pub async fn update_cart_line(
        &self,
        user_id: i64,
        line_id: u32,
        quantity: i32,
    ) -> Result<CartWrite> {
        if !(1..=MAX_LINE_QUANTITY).contains(&quantity) {
            return Ok(Err(CartProblem::QuantityOutOfRange));
        }
        self.change_cart(user_id, |cart| {
            let mut cart = cart.ok_or(CartProblem::LineNotFound)?;
            let line = cart
                .lines
                .iter_mut()
                .find(|l| l.id == line_id)
                .ok_or(CartProblem::LineNotFound)?;
            line.quantity = quantity;
            Ok(Some(cart))
        })
        .await
    }

    /// Removes a line; the cart goes when its last line does.
    pub async fn remove_cart_line(&self, user_id: i64, line_id: u32) -> Result<CartWrite> {
        self.change_cart(user_id, |cart| {
            let mut cart = cart.ok_or(CartProblem::LineNotFound)?;
            let before = cart.lines.len();
            cart.lines.retain(|l| l.id != line_id);
            if cart.lines.len() == before {
                return Err(CartProblem::LineNotFound);
            }
            Ok((!cart.lines.is_empty()).then_some(cart))
        })
        .await
    }

    /// Empties the cart.
    pub async fn clear_cart(&self, user_id: i64) -> Result<CartWrite> {
        self.change_cart(user_id, |_| Ok(None)).await
    }

    /// Reads the cart, applies `change`, and writes the result only if the
    /// cart is still what was read; tries again if it is not.
    async fn change_cart(
        &self,
        user_id: i64,
        change: impl Fn(Option<StoredCart>) -> CartWrite,
    ) -> Result<CartWrite> {
        let key = bistro_kv::typed::Key::render(&CartKey { user_id });
        let raw = self.kv.get(&key).await?;
        self.change_cart_from(user_id, raw, change).await
    }

    /// [`Self::change_cart`] from a cart already read (`raw`, as stored).
    async fn change_cart_from(
        &self,
        user_id: i64,
        mut raw: Option<String>,
        change: impl Fn(Option<StoredCart>) -> CartWrite,
    ) -> Result<CartWrite> {
        let key = bistro_kv::typed::Key::render(&CartKey { user_id });
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                raw = self.kv.get(&key).await?;
            }
            let current = raw.as_deref().and_then(StoredCart::decode);
            let next = match change(current) {
                Ok(next) => next,
                Err(problem) => return Ok(Err(problem)),
            };
            let written = match (&raw, &next) {
                (None, None) => true,
                (None, Some(cart)) => self.kv.set_nx(&key, &cart.encode(), Some(CART_TTL)).await?,
                (Some(raw), Some(cart)) => {
                    self.kv
                        .compare_and_set(&key, raw, &cart.encode(), Some(CART_TTL))
                        .await?
                }
                (Some(raw), None) => self.kv.delete_if(&key, raw).await?,
            };
            if written {
                self.loaders.cart.clear();
                return Ok(Ok(next));
            }
        }
        Ok(Err(CartProblem::Busy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carts_round_trip_and_garbage_reads_as_no_cart() {
        let cart = StoredCart {
            restaurant_id: 3,
            lines: vec![StoredCartLine {
                id: 1,
                menu_item_id: 9,
                quantity: 2,
                option_ids: vec![],
            }],
        };
        assert_eq!(StoredCart::decode(&cart.encode()), Some(cart));
        assert_eq!(StoredCart::decode("restaurant=3"), None);
    }
}
