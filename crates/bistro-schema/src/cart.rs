//! `Cart` and `CartLine`: a customer's open cart, as kept by the data layer
//! (`bistro_data::cart`, in the key-value store).

use async_graphql::{Context, Object};
use bistro_data::cart::{StoredCart, StoredCartLine};

use crate::error::{Coded, loaders, soft};
use crate::menu::MenuItem;
use crate::money::Money;
use crate::restaurant::Restaurant;

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
        self.0.lines.iter().cloned().map(CartLine).collect()
    }

    /// Number of units in the cart.
    async fn item_count(&self) -> i32 {
        self.0.lines.iter().map(|line| line.quantity).sum()
    }

    /// Sum of the lines at current prices; null when an item's price cannot be read.
    async fn subtotal(&self, ctx: &Context<'_>) -> Option<Money> {
        let result = async {
            // Asked for together: one batch (shared with `lines.menuItem`).
            let items = loaders(ctx)?
                .menu_item
                .load_many(self.0.lines.iter().map(|line| line.menu_item_id))
                .await
                .coded()?;
            let mut total = 0i64;
            let mut currency = None;
            for line in &self.0.lines {
                if let Some(item) = items.get(&line.menu_item_id) {
                    total += item.price_amount * i64::from(line.quantity);
                    currency = Some(item.currency_code.clone());
                }
            }
            Ok(currency.map(|c| Money::from_minor(total, &c)))
        }
        .await;
        soft(ctx, result).flatten()
    }
}

/// One line of a cart.
pub struct CartLine(StoredCartLine);

#[Object]
/// One line of a cart: an item and how many.
impl CartLine {
    /// The item (null if it was removed from the menu).
    async fn menu_item(&self, ctx: &Context<'_>) -> Option<MenuItem> {
        MenuItem::load(ctx, self.0.menu_item_id).await
    }

    /// How many.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
}
