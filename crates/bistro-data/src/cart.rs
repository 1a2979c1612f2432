//! Open carts: per customer, in the key-value store only (they expire; an
//! order is what lands in SQL).
//!
//! **Layout** `cart:v2:{user id}` (string): the whole cart as JSON — its
//! restaurant (a cart orders from one restaurant at a time) and its lines.
//! One cart is one `GET`, the carts of many users one `MGET`. Expires after
//! [`CART_TTL`] untouched; lost, the customer's cart is simply empty.

use std::collections::HashMap;
use std::time::Duration;

use bistro_kv::Kv;
use bistro_kv::typed::Codec;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::batch::Load;

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

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>> {
        let cart_keys: Vec<CartKey> = keys.iter().map(|id| CartKey { user_id: *id }).collect();
        let carts = self.kv.load_many(&cart_keys).await?;
        Ok(keys
            .iter()
            .zip(carts)
            .filter_map(|(id, cart)| Some((*id, cart?)))
            .collect())
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
