//! `Cart` and `CartLine`: a customer's open cart, as kept by the data layer
//! (`bistro_data::cart`, in the key-value store), and its mutations
//! (`addToCart`, `updateCartLine`, `removeCartLine`, `clearCart`). Prices
//! are today's SQL prices, read through the loaders; the cart stores none.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use bistro_data::cart::{CartProblem, CartWrite, MAX_LINE_QUANTITY, StoredCartLine};
use bistro_data::options::{OptionGroup, OptionsProblem};

use crate::auth::signed_in;
use crate::error::{Coded, nullable, soft};
use crate::ids::{
    NodeType, cart_line_id, expect_global_id, option_id, parse_cart_line_id, parse_option_id,
};
use crate::money::Money;
use crate::objects::{Cart, Fulfilment, MenuItem, Restaurant};
use crate::request::context::{loaders, scope};
use crate::user_error::{UserError, UserErrorCode};

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
    fn lines(&self) -> Vec<CartLine> {
        self.0.lines.iter().cloned().map(CartLine).collect()
    }

    /// Number of units in the cart.
    fn item_count(&self) -> i32 {
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
    fn id(&self) -> ID {
        cart_line_id(self.0.id)
    }

    /// The item (null if it was removed from the menu).
    async fn menu_item(&self, ctx: &Context<'_>) -> Option<MenuItem> {
        MenuItem::load(ctx, self.0.menu_item_id).await
    }

    /// How many.
    fn quantity(&self) -> i32 {
        self.0.quantity
    }

    /// The options chosen, with what each adds today.
    async fn options(&self, ctx: &Context<'_>) -> Option<Vec<CartLineOption>> {
        nullable(ctx, async {
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
                    id: option_id(o.id),
                    group: g.group.name.clone(),
                    name: o.name.clone(),
                    price_delta: Money::from_minor(o.price_delta_amount, &currency),
                })
                .collect())
        })
        .await
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

/// Adds an item to the viewer's cart.
#[derive(InputObject)]
pub struct AddToCartInput {
    /// The menu item.
    pub menu_item_id: ID,
    /// How many (1 to 50 on one line).
    #[graphql(default = 1)]
    pub quantity: i32,
    /// The options chosen (`MenuOption.id`), fitting the item's option groups.
    #[graphql(default)]
    pub option_ids: Vec<ID>,
    /// If the cart holds another restaurant's items: `true` empties it first;
    /// `false` refuses with `CART_OTHER_RESTAURANT`.
    #[graphql(default = false)]
    pub replace_cart: bool,
}

/// Changes how many of a cart line.
#[derive(InputObject)]
pub struct UpdateCartLineInput {
    /// The line (`CartLine.id`).
    pub line_id: ID,
    /// The new quantity (1 to 50; remove the line with `removeCartLine`).
    pub quantity: i32,
}

/// Removes a cart line.
#[derive(InputObject)]
pub struct RemoveCartLineInput {
    /// The line (`CartLine.id`).
    pub line_id: ID,
}

/// Empties the cart.
#[derive(InputObject)]
pub struct ClearCartInput {
    /// Only empty the cart if it orders from this restaurant (a page showing
    /// a cart it loaded earlier); omit to empty whatever it holds.
    pub restaurant_id: Option<ID>,
}

/// Result of a cart mutation.
#[derive(SimpleObject)]
pub struct CartPayload {
    /// The cart after the change; null when it is empty.
    pub cart: Option<Cart>,
    /// Why it did not work, if it did not.
    pub user_errors: Vec<UserError>,
}

fn cart_payload(write: CartWrite) -> CartPayload {
    match write {
        Ok(cart) => CartPayload {
            cart: cart.map(Cart),
            user_errors: Vec::new(),
        },
        Err(problem) => CartPayload {
            cart: None,
            user_errors: vec![cart_error(&problem)],
        },
    }
}

fn cart_error(problem: &CartProblem) -> UserError {
    use UserErrorCode as C;
    match problem {
        CartProblem::ItemNotFound => UserError::on(
            "menuItemId",
            C::ItemUnavailable,
            "No menu item has this id.",
        ),
        CartProblem::ItemUnavailable => UserError::on(
            "menuItemId",
            C::ItemUnavailable,
            "This item cannot be ordered now.",
        ),
        CartProblem::OtherRestaurant => UserError::on(
            "replaceCart",
            C::CartOtherRestaurant,
            "The cart holds items of another restaurant; add with replaceCart: true to start a new cart.",
        ),
        CartProblem::QuantityOutOfRange => UserError::on(
            "quantity",
            C::QuantityInvalid,
            format!("A line holds 1 to {MAX_LINE_QUANTITY} units."),
        ),
        CartProblem::TooManyLines => UserError::general(
            C::CartTooLarge,
            format!(
                "A cart holds at most {} lines.",
                bistro_data::cart::MAX_LINES
            ),
        ),
        CartProblem::Options(OptionsProblem::Unknown(_)) => UserError::on(
            "optionIds",
            C::OptionsInvalid,
            "An option is not one of this item's.",
        ),
        CartProblem::Options(OptionsProblem::Count { group, min, max }) => UserError::on(
            "optionIds",
            C::OptionsInvalid,
            format!("Choose {min} to {max} options of \"{group}\"."),
        ),
        CartProblem::LineNotFound => {
            UserError::on("lineId", C::CartLineNotFound, "The cart has no such line.")
        }
        CartProblem::Busy => UserError::general(
            C::CartBusy,
            "The cart was being changed by another request; try again.",
        ),
    }
}

/// Cart mutations: `addToCart`, `updateCartLine`, `removeCartLine`, `clearCart`.
#[derive(Default)]
pub struct CartMutation;

#[Object]
/// Cart mutations: `addToCart`, `updateCartLine`, `removeCartLine`, `clearCart`.
impl CartMutation {
    /// Adds an item (with options) to the viewer's cart; the same item with
    /// the same options adds to its line. Signed-in users only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn add_to_cart(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The item, how many, its options.")] input: AddToCartInput,
    ) -> Option<CartPayload> {
        signed_in(ctx, |user_id| async move {
            let item = expect_global_id(&input.menu_item_id, NodeType::MenuItem)?;
            let mut options = Vec::with_capacity(input.option_ids.len());
            for id in &input.option_ids {
                let Some(option) = parse_option_id(id) else {
                    return Ok(CartPayload {
                        cart: None,
                        user_errors: vec![cart_error(&CartProblem::Options(
                            OptionsProblem::Unknown(0),
                        ))],
                    });
                };
                options.push(option);
            }
            let write = scope(ctx)?
                .add_to_cart(user_id, item, input.quantity, options, input.replace_cart)
                .await
                .coded()?;
            Ok(cart_payload(write))
        })
        .await
    }

    /// Sets how many of a line the viewer's cart holds. Signed-in users only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn update_cart_line(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The line and its new quantity.")] input: UpdateCartLineInput,
    ) -> Option<CartPayload> {
        signed_in(ctx, |user_id| async move {
            let Some(line) = parse_cart_line_id(&input.line_id) else {
                return Ok(cart_payload(Err(CartProblem::LineNotFound)));
            };
            let write = scope(ctx)?
                .update_cart_line(user_id, line, input.quantity)
                .await
                .coded()?;
            Ok(cart_payload(write))
        })
        .await
    }

    /// Removes a line from the viewer's cart. Signed-in users only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn remove_cart_line(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The line.")] input: RemoveCartLineInput,
    ) -> Option<CartPayload> {
        signed_in(ctx, |user_id| async move {
            let Some(line) = parse_cart_line_id(&input.line_id) else {
                return Ok(cart_payload(Err(CartProblem::LineNotFound)));
            };
            let write = scope(ctx)?.remove_cart_line(user_id, line).await.coded()?;
            Ok(cart_payload(write))
        })
        .await
    }

    /// Empties the viewer's cart. Signed-in users only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn clear_cart(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which cart to empty.")] input: ClearCartInput,
    ) -> Option<CartPayload> {
        signed_in(ctx, |user_id| async move {
            if let Some(restaurant) = &input.restaurant_id {
                let restaurant = expect_global_id(restaurant, NodeType::Restaurant)?;
                let cart = loaders(ctx)?.cart.load_one(user_id).await.coded()?;
                if let Some(cart) = cart.filter(|c| c.restaurant_id != restaurant) {
                    // Another restaurant's cart: left as it is.
                    return Ok(cart_payload(Ok(Some(cart))));
                }
            }
            let write = scope(ctx)?.clear_cart(user_id).await.coded()?;
            Ok(cart_payload(write))
        })
        .await
    }
}
