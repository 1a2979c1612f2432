//! `Cart` and `CartLine`: a customer's open cart, as kept by the data layer
//! (`bistro_data::cart`, in the key-value store). Prices are today's SQL
//! prices, read through the loaders; the cart stores none.

use async_graphql::{Context, ID, Object};
use bistro_data::cart::{StoredCart, StoredCartLine};
use bistro_data::options::OptionGroup;

use crate::error::{Coded, loaders, soft};
use crate::menu::MenuItem;
use crate::money::Money;
use crate::order::Fulfilment;
use crate::restaurant::Restaurant;

/// A customer's open cart.
pub struct Cart(pub StoredCart);

/// Price of one unit of a line with its options, in minor units, and its
/// currency; `None` when the item is gone. Options that no longer exist add nothing.
async fn unit_price(
    ctx: &Context<'_>,
    line: &StoredCartLine,
) -> async_graphql::Result<Option<(i64, String)>> {
    let loaders = loaders(ctx)?;
    let (item, groups) = tokio::join!(
        loaders.menu_item.load_one(line.menu_item_id),
        loaders.option_groups.load_one(line.menu_item_id)
    );
    let Some(item) = item.coded()? else {
        return Ok(None);
    };
    let groups = groups.coded()?.unwrap_or_default();
    Ok(Some((
        item.price_amount + option_deltas(&groups, &line.option_ids),
        item.currency_code.clone(),
    )))
}

fn option_deltas(groups: &[OptionGroup], option_ids: &[i64]) -> i64 {
    groups
        .iter()
        .flat_map(|g| &g.options)
        .filter(|o| option_ids.contains(&o.id))
        .map(|o| o.price_delta_amount)
        .sum()
}

#[Object]
/// A customer's open cart: items of one restaurant, not yet ordered.
impl Cart {
    /// The restaurant the cart orders from.
    async fn restaurant(&self, ctx: &Context<'_>) -> Option<Restaurant> {
        soft(ctx, Restaurant::try_load(ctx, self.0.restaurant_id).await).flatten()
    }

    /// What is in it, in the order it was added.
    async fn lines(&self) -> Vec<CartLine> {
        self.0.lines.iter().cloned().map(CartLine).collect()
    }

    /// Number of units in the cart.
    async fn item_count(&self) -> i32 {
        self.0.lines.iter().map(|line| line.quantity).sum()
    }

    /// Sum of the lines at current prices, options included (before any
    /// delivery fee); null when an item's price cannot be read.
    async fn subtotal(&self, ctx: &Context<'_>) -> Option<Money> {
        let result = self.subtotal_minor(ctx).await;
        soft(ctx, result)
            .flatten()
            .map(|(minor, currency)| Money::from_minor(minor, &currency))
    }

    /// What checkout charges for this cart with this fulfilment: the
    /// subtotal plus the fulfilment's fee (a delivery adds one), computed as
    /// checkout computes it. A checkout page shows it and sends it back as
    /// `expectedTotal`. Null when an item's price cannot be read.
    async fn total(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How the order would reach the customer.")] fulfilment: Fulfilment,
    ) -> Option<Money> {
        let result = self.subtotal_minor(ctx).await;
        soft(ctx, result).flatten().map(|(minor, currency)| {
            let fee = bistro_data::checkout::fee(fulfilment.to_entity());
            Money::from_minor(minor + fee, &currency)
        })
    }
}

impl Cart {
    /// Sum of the lines at today's prices, in minor units, and its
    /// currency; `None` when no line's item can be priced.
    async fn subtotal_minor(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<(i64, String)>> {
        // Every line's item and option groups in one ask per loader (one
        // batch each, shared with `lines`).
        let loaders = loaders(ctx)?;
        let ids = || self.0.lines.iter().map(|l| l.menu_item_id);
        let (items, groups) = tokio::join!(
            loaders.menu_item.load_many(ids()),
            loaders.option_groups.load_many(ids())
        );
        let (items, groups) = (items.coded()?, groups.coded()?);
        let mut total = 0i64;
        let mut currency = None;
        for line in &self.0.lines {
            if let Some(item) = items.get(&line.menu_item_id) {
                let deltas = groups
                    .get(&line.menu_item_id)
                    .map_or(0, |groups| option_deltas(groups, &line.option_ids));
                total += (item.price_amount + deltas) * i64::from(line.quantity);
                currency = Some(item.currency_code.clone());
            }
        }
        Ok(currency.map(|c| (total, c)))
    }
}

/// One line of a cart.
pub struct CartLine(StoredCartLine);

#[Object]
/// One line of a cart: an item, its options, and how many.
impl CartLine {
    /// Identifies the line within the cart, for `updateCartLine` and `removeCartLine`.
    async fn id(&self) -> ID {
        crate::ordering::cart_line_id(self.0.id)
    }

    /// The item (null if it was removed from the menu).
    async fn menu_item(&self, ctx: &Context<'_>) -> Option<MenuItem> {
        MenuItem::load(ctx, self.0.menu_item_id).await
    }

    /// How many.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }

    /// The options chosen, with what each adds today.
    async fn options(&self, ctx: &Context<'_>) -> Option<Vec<CartLineOption>> {
        let result = async {
            let loaders = loaders(ctx)?;
            let (groups, item) = tokio::join!(
                loaders.option_groups.load_one(self.0.menu_item_id),
                loaders.menu_item.load_one(self.0.menu_item_id)
            );
            let groups = groups.coded()?.unwrap_or_default();
            let item = item.coded()?;
            let currency = item.map(|i| i.currency_code.clone()).unwrap_or_default();
            Ok(groups
                .iter()
                .flat_map(|g| g.options.iter().map(move |o| (g, o)))
                .filter(|(_, o)| self.0.option_ids.contains(&o.id))
                .map(|(g, o)| CartLineOption {
                    id: crate::ordering::option_id(o.id),
                    group: g.group.name.clone(),
                    name: o.name.clone(),
                    price_delta: Money::from_minor(o.price_delta_amount, &currency),
                })
                .collect())
        }
        .await;
        soft(ctx, result)
    }

    /// Price of the line at today's prices: (item price + options) × quantity;
    /// null when the item is gone.
    async fn line_total(&self, ctx: &Context<'_>) -> Option<Money> {
        let result = unit_price(ctx, &self.0).await.map(|price| {
            price.map(|(unit, currency)| {
                Money::from_minor(unit * i64::from(self.0.quantity), &currency)
            })
        });
        soft(ctx, result).flatten()
    }
}

/// An option chosen on a cart line.
#[derive(async_graphql::SimpleObject)]
pub struct CartLineOption {
    /// The option's id (as in `MenuOption.id`).
    pub id: ID,
    /// Its group's name, e.g. "Size".
    pub group: String,
    /// Its name, e.g. "Large".
    pub name: String,
    /// What it adds to the unit price today.
    pub price_delta: Money,
}
