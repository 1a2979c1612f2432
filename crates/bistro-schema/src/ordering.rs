//! Ordering mutations: the cart (`addToCart`, `updateCartLine`,
//! `removeCartLine`, `clearCart`), `checkout`, and the order lifecycle
//! (`advanceOrder`, `rejectOrder` for the restaurant's staff, `cancelOrder`
//! for the customer).
//!
//! The rules live below the schema (`bistro_data::cart`, `checkout`,
//! `lifecycle`); this module checks who is asking, turns the data layer's
//! refusals into `userErrors`, and answers an order the viewer may not see
//! exactly like an order that does not exist (`ORDER_NOT_FOUND`, no order).

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bistro_data::cart::{CartProblem, CartWrite, MAX_LINE_QUANTITY};
use bistro_data::checkout::{CheckoutOutcome, CheckoutProblem, CheckoutRequest};
use bistro_data::lifecycle::{Party, Requester, TransitionOutcome, TransitionProblem};
use bistro_data::options::OptionsProblem;
use bistro_data::payments::PaymentProvider;

use crate::auth::{Rule, viewer};
use crate::cart::Cart;
use crate::error::{Coded, data, loaders, scope, soft};
use crate::money::Decimal;
use crate::node::{NodeType, expect_global_id};
use crate::order::{Fulfilment, Order, OrderStatus};
use crate::user_error::{UserError, UserErrorCode};

/// Longest reason a restaurant may give for a rejection.
const MAX_REASON_CHARS: usize = 500;

/// The payment provider orders are paid through (schema data).
#[derive(Clone, Debug)]
pub struct Payments(pub Arc<dyn PaymentProvider>);

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

/// Turns the viewer's cart into an order and pays for it.
#[derive(InputObject)]
pub struct CheckoutInput {
    /// How the order reaches the customer.
    pub fulfilment: Fulfilment,
    /// The table, for `DINE_IN` only.
    pub table_number: Option<i32>,
    /// The address, for `DELIVERY` only.
    pub delivery_address: Option<String>,
    /// The card, as a token from the payment form (with the simulated
    /// processor: `tok_visa`, `tok_chargeDeclined`, `tok_processingError`, `tok_slow`).
    pub payment_token: String,
    /// A key the client makes up for this checkout (letters, digits, `-`,
    /// `_`; at most 100) and sends again with every retry of it: retries
    /// return the same order and never pay twice. A key is spent only by an
    /// order: after a refusal (a declined card, a changed price), retry with
    /// the same key once the problem is fixed.
    pub idempotency_key: String,
    /// The total the customer was shown (subtotal plus any delivery fee), in
    /// the restaurant's currency. If prices changed since, nothing happens
    /// and `PRICE_CHANGED` gives the new total.
    pub expected_total: Decimal,
}

/// Result of `checkout`.
#[derive(SimpleObject)]
pub struct CheckoutPayload {
    /// The order (also when a retry returns the one its key placed); null
    /// when there are user errors.
    pub order: Option<Order>,
    /// Why nothing was ordered, if nothing was.
    pub user_errors: Vec<UserError>,
}

/// Moves an order along its lifecycle.
#[derive(InputObject)]
pub struct AdvanceOrderInput {
    /// The order.
    pub order_id: ID,
    /// The status to move it to (`ACCEPTED`, `PREPARING`, `READY`,
    /// `OUT_FOR_DELIVERY`, `COMPLETED`, or `CANCELLED`), as the lifecycle allows.
    pub to: OrderStatus,
}

/// Refuses an order that was just placed.
#[derive(InputObject)]
pub struct RejectOrderInput {
    /// The order.
    pub order_id: ID,
    /// Why, for the customer (at most 500 characters).
    pub reason: Option<String>,
}

/// Cancels one's own order.
#[derive(InputObject)]
pub struct CancelOrderInput {
    /// The order.
    pub order_id: ID,
}

/// Result of an order lifecycle mutation.
#[derive(SimpleObject)]
pub struct OrderPayload {
    /// The order as it stands after the mutation (also when it was refused);
    /// null when there is no such order (or the viewer may not see it).
    pub order: Option<Order>,
    /// Why it did not move, if it did not.
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

fn checkout_error(problem: CheckoutProblem) -> UserError {
    use UserErrorCode as C;
    match problem {
        CheckoutProblem::KeyInvalid => UserError::on(
            "idempotencyKey",
            C::IdempotencyKeyInvalid,
            "Use 1 to 100 letters, digits, '-' or '_'.",
        ),
        CheckoutProblem::KeyReused => UserError::on(
            "idempotencyKey",
            C::IdempotencyKeyReused,
            "This key was used for a different checkout; make a new key for a new checkout.",
        ),
        CheckoutProblem::InProgress => UserError::on(
            "idempotencyKey",
            C::CheckoutInProgress,
            "A checkout with this key is still running; retry in a moment.",
        ),
        CheckoutProblem::InvalidFulfilment(why) => {
            UserError::on("fulfilment", C::InvalidFulfilment, why)
        }
        CheckoutProblem::CartEmpty => UserError::general(C::CartEmpty, "The cart is empty."),
        CheckoutProblem::ItemUnavailable(_) => UserError::general(
            C::ItemUnavailable,
            "An item in the cart cannot be ordered now; remove it and check out again.",
        ),
        CheckoutProblem::OutOfStock(_) => UserError::general(
            C::OutOfStock,
            "Fewer units of an item are left today than the cart holds.",
        ),
        CheckoutProblem::PriceChanged(total, currency) => UserError::on(
            "expectedTotal",
            C::PriceChanged,
            format!(
                "Prices changed: the total is now {} {currency}; check out again with it.",
                bistro_data::money::format_minor(total, &currency)
            ),
        ),
        CheckoutProblem::CardDeclined(_) => UserError::on(
            "paymentToken",
            C::CardDeclined,
            "The card was declined; nothing was charged. Try another card.",
        ),
        CheckoutProblem::PaymentFailed(_) => UserError::on(
            "paymentToken",
            C::PaymentFailed,
            "The payment could not be made; nothing was charged. Try again.",
        ),
    }
}

fn order_not_found() -> OrderPayload {
    OrderPayload {
        order: None,
        user_errors: vec![UserError::on(
            "orderId",
            UserErrorCode::OrderNotFound,
            "No order has this id.",
        )],
    }
}

fn transition_payload(
    outcome: TransitionOutcome,
    to: bistro_data::entity::OrderStatus,
) -> OrderPayload {
    use UserErrorCode as C;
    match outcome {
        TransitionOutcome::Moved(order) => OrderPayload {
            order: Some(Order(order)),
            user_errors: Vec::new(),
        },
        TransitionOutcome::NotFound => order_not_found(),
        TransitionOutcome::Refused(order, problem) => {
            let error = match problem {
                TransitionProblem::Illegal | TransitionProblem::NotYours => UserError::on(
                    "to",
                    C::TransitionNotAllowed,
                    format!(
                        "A {} order cannot move to {}.",
                        bistro_data::lifecycle::stored(order.status),
                        bistro_data::lifecycle::stored(to)
                    ),
                ),
                TransitionProblem::Payment(_) => UserError::general(
                    C::PaymentFailed,
                    "The payment processor refused this step; the order did not move.",
                ),
                TransitionProblem::Conflict => UserError::general(
                    C::OrderChanged,
                    "The order changed meanwhile; here it is as it stands now.",
                ),
            };
            OrderPayload {
                order: Some(Order(order)),
                user_errors: vec![error],
            }
        }
    }
}

/// The order with this id if the viewer may see it (signed in first); `None`
/// for one that does not exist and for one the viewer may not see alike.
async fn visible_order(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Option<Order>> {
    viewer(ctx).check(Rule::SignedIn)?;
    let id = expect_global_id(id, NodeType::Order)?;
    Order::try_load(ctx, id).await
}

/// Cart, checkout and order lifecycle mutations.
#[derive(Default)]
pub struct OrderingMutation;

#[Object]
/// Cart, checkout and order lifecycle mutations.
impl OrderingMutation {
    /// Adds an item (with options) to the viewer's cart; the same item with
    /// the same options adds to its line. Signed-in users only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn add_to_cart(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The item, how many, its options.")] input: AddToCartInput,
    ) -> Option<CartPayload> {
        let result = async {
            viewer(ctx).check(Rule::SignedIn)?;
            let user_id = viewer(ctx).user_id().unwrap_or_default();
            let item = expect_global_id(&input.menu_item_id, NodeType::MenuItem)?;
            let mut options = Vec::with_capacity(input.option_ids.len());
            for id in &input.option_ids {
                let Some(option) = parse_opaque::<i64>("MenuOption", id) else {
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
        }
        .await;
        soft(ctx, result)
    }

    /// Sets how many of a line the viewer's cart holds. Signed-in users only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn update_cart_line(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The line and its new quantity.")] input: UpdateCartLineInput,
    ) -> Option<CartPayload> {
        let result = async {
            viewer(ctx).check(Rule::SignedIn)?;
            let user_id = viewer(ctx).user_id().unwrap_or_default();
            let Some(line) = parse_opaque::<u32>("CartLine", &input.line_id) else {
                return Ok(cart_payload(Err(CartProblem::LineNotFound)));
            };
            let write = scope(ctx)?
                .update_cart_line(user_id, line, input.quantity)
                .await
                .coded()?;
            Ok(cart_payload(write))
        }
        .await;
        soft(ctx, result)
    }

    /// Removes a line from the viewer's cart. Signed-in users only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn remove_cart_line(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The line.")] input: RemoveCartLineInput,
    ) -> Option<CartPayload> {
        let result = async {
            viewer(ctx).check(Rule::SignedIn)?;
            let user_id = viewer(ctx).user_id().unwrap_or_default();
            let Some(line) = parse_opaque::<u32>("CartLine", &input.line_id) else {
                return Ok(cart_payload(Err(CartProblem::LineNotFound)));
            };
            let write = scope(ctx)?.remove_cart_line(user_id, line).await.coded()?;
            Ok(cart_payload(write))
        }
        .await;
        soft(ctx, result)
    }

    /// Empties the viewer's cart. Signed-in users only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn clear_cart(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which cart to empty.")] input: ClearCartInput,
    ) -> Option<CartPayload> {
        let result = async {
            viewer(ctx).check(Rule::SignedIn)?;
            let user_id = viewer(ctx).user_id().unwrap_or_default();
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
        }
        .await;
        soft(ctx, result)
    }

    /// Orders what is in the viewer's cart and pays for it: prices from the
    /// menu, `expectedTotal` checked, limited stock reserved, the card
    /// authorized (captured when the restaurant accepts), a confirmation
    /// email sent. Idempotent per `idempotencyKey`. Signed-in users only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn checkout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How, where and with what to pay.")] input: CheckoutInput,
    ) -> Option<CheckoutPayload> {
        let result = async {
            viewer(ctx).check(Rule::SignedIn)?;
            let user_id = viewer(ctx).user_id().unwrap_or_default();
            let payments = data::<Payments>(ctx)?;
            let outcome = scope(ctx)?
                .checkout(
                    payments.0.as_ref(),
                    CheckoutRequest {
                        user_id,
                        fulfilment: input.fulfilment.to_entity(),
                        table_number: input.table_number,
                        delivery_address: input.delivery_address,
                        payment_token: input.payment_token,
                        idempotency_key: input.idempotency_key,
                        expected_total: input.expected_total.0,
                    },
                )
                .await
                .coded()?;
            Ok(match outcome {
                CheckoutOutcome::Placed(order) => CheckoutPayload {
                    order: Some(Order(order)),
                    user_errors: Vec::new(),
                },
                CheckoutOutcome::Refused(problem) => CheckoutPayload {
                    order: None,
                    user_errors: vec![checkout_error(problem)],
                },
            })
        }
        .await;
        soft(ctx, result)
    }

    /// Moves an order along its lifecycle (accept, start preparing, ready,
    /// out for delivery, completed; or cancel). Staff of the order's
    /// restaurant and admins only; accepting captures the payment,
    /// cancelling releases it.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn advance_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order and its next status.")] input: AdvanceOrderInput,
    ) -> Option<OrderPayload> {
        let result = async {
            let Some(order) = visible_order(ctx, &input.order_id).await? else {
                return Ok(order_not_found());
            };
            self.transition(ctx, &order, Party::Restaurant, input.to.to_entity(), None)
                .await
        }
        .await;
        soft(ctx, result)
    }

    /// Refuses an order that was just placed (`PLACED` → `REJECTED`),
    /// releasing its payment. Staff of the order's restaurant and admins only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn reject_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order and why.")] input: RejectOrderInput,
    ) -> Option<OrderPayload> {
        let result = async {
            let Some(order) = visible_order(ctx, &input.order_id).await? else {
                return Ok(order_not_found());
            };
            let reason = input
                .reason
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty());
            if let Some(reason) = &reason
                && (reason.chars().count() > MAX_REASON_CHARS
                    || !bistro_auth::text::is_clean_text(reason))
            {
                viewer(ctx).check(Rule::StaffOf {
                    restaurant_id: order.0.restaurant_id,
                })?;
                return Ok(OrderPayload {
                    order: Some(order),
                    user_errors: vec![UserError::on(
                        "reason",
                        UserErrorCode::ReasonInvalid,
                        format!(
                            "Use at most {MAX_REASON_CHARS} visible characters (no invisible or direction-changing ones)."
                        ),
                    )],
                });
            }
            self.transition(
                ctx,
                &order,
                Party::Restaurant,
                bistro_data::entity::OrderStatus::Rejected,
                reason,
            )
            .await
        }
        .await;
        soft(ctx, result)
    }

    /// Cancels one's own order while the lifecycle allows (`PLACED` or
    /// `ACCEPTED`), releasing its payment (voided, or refunded once
    /// captured). The order's customer and admins only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order.")] input: CancelOrderInput,
    ) -> Option<OrderPayload> {
        let result = async {
            let Some(order) = visible_order(ctx, &input.order_id).await? else {
                return Ok(order_not_found());
            };
            self.transition(
                ctx,
                &order,
                Party::Customer,
                bistro_data::entity::OrderStatus::Cancelled,
                None,
            )
            .await
        }
        .await;
        soft(ctx, result)
    }
}

impl OrderingMutation {
    /// Checks the viewer may act as `party` for the (visible) order, then moves it.
    async fn transition(
        &self,
        ctx: &Context<'_>,
        order: &Order,
        party: Party,
        to: bistro_data::entity::OrderStatus,
        note: Option<String>,
    ) -> async_graphql::Result<OrderPayload> {
        let viewer = viewer(ctx);
        viewer.check(match party {
            Party::Restaurant => Rule::StaffOf {
                restaurant_id: order.0.restaurant_id,
            },
            Party::Customer => Rule::Account {
                user_id: order.0.user_id,
            },
        })?;
        let payments = data::<Payments>(ctx)?;
        let outcome = scope(ctx)?
            .transition_order(
                payments.0.as_ref(),
                order.0.id,
                to,
                Requester {
                    party,
                    user_id: viewer.user_id().unwrap_or_default(),
                },
                note,
            )
            .await
            .coded()?;
        Ok(transition_payload(outcome, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_ids_round_trip_and_keep_their_kind() {
        assert_eq!(parse_opaque::<i64>("MenuOption", &option_id(12)), Some(12));
        assert_eq!(parse_opaque::<u32>("CartLine", &cart_line_id(3)), Some(3));
        assert_eq!(parse_opaque::<u32>("CartLine", &option_id(3)), None);
        assert_eq!(parse_opaque::<i64>("MenuOption", &ID("12".into())), None);
    }
}
