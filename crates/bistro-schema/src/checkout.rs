//! `checkout`: the viewer's cart becomes an order, paid for.
//!
//! The rules live below the schema (`bistro_data::checkout`); this module
//! checks who is asking and turns the data layer's refusals into `userErrors`.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use bistro_data::checkout::{CheckoutOutcome, CheckoutProblem, CheckoutRequest};

use crate::auth::signed_in;
use crate::error::Coded;
use crate::money::Decimal;
use crate::objects::{Fulfilment, Order};
use crate::request::context::scope;
use crate::user_error::{UserError, UserErrorCode};

/// Turns the viewer's cart into an order and pays for it.
#[derive(InputObject)]
pub struct CheckoutInput {
    /// How the order reaches the customer.
    pub fulfilment: Fulfilment,
    /// The table, for `DINE_IN` only.
    pub table_number: Option<i32>,
    /// The address, for `DELIVERY` only.
    pub delivery_address: Option<String>,
    /// The card, as a token from the payment form, never a card number: with
    /// Stripe, the PaymentMethod id (`pm_…`) Stripe.js made in the browser;
    /// with the simulated processor, `tok_visa`, `tok_chargeDeclined`,
    /// `tok_processingError` or `tok_slow`.
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
    /// What the customer's card asks of them before it pays (with
    /// `CARD_ACTION_REQUIRED`); null otherwise.
    pub card_action: Option<CardAction>,
    /// Why nothing was ordered, if nothing was.
    pub user_errors: Vec<UserError>,
}

/// A payment waiting for its card holder (3-D Secure): the browser completes
/// it with the payment processor's script, then checks out again with the
/// same idempotency key.
#[derive(SimpleObject)]
pub struct CardAction {
    /// The payment's client secret, for Stripe.js (`stripe.handleNextAction({
    /// clientSecret })`): it lets the browser confirm this one payment and
    /// nothing else. Never store or log it.
    pub client_secret: String,
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
        CheckoutProblem::CardActionRequired(_) => UserError::on(
            "paymentToken",
            C::CardActionRequired,
            "Your bank asks you to confirm this payment; complete its check, then check out again.",
        ),
        CheckoutProblem::PaymentFailed(_) => UserError::on(
            "paymentToken",
            C::PaymentFailed,
            "The payment could not be made; nothing was charged. Try again.",
        ),
    }
}

/// Checkout.
#[derive(Default)]
pub struct CheckoutMutation;

#[Object]
/// Checkout.
impl CheckoutMutation {
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
        signed_in(ctx, |user_id| async move {
            let outcome = scope(ctx)?
                .checkout(CheckoutRequest {
                    user_id,
                    fulfilment: input.fulfilment.to_entity(),
                    table_number: input.table_number,
                    delivery_address: input.delivery_address,
                    payment_token: input.payment_token,
                    idempotency_key: input.idempotency_key,
                    expected_total: input.expected_total.0,
                })
                .await
                .coded()?;
            Ok(match outcome {
                CheckoutOutcome::Placed(order) => CheckoutPayload {
                    order: Some(Order(order)),
                    card_action: None,
                    user_errors: Vec::new(),
                },
                CheckoutOutcome::Refused(problem) => CheckoutPayload {
                    order: None,
                    card_action: match &problem {
                        CheckoutProblem::CardActionRequired(client_secret) => Some(CardAction {
                            client_secret: client_secret.clone(),
                        }),
                        _ => None,
                    },
                    user_errors: vec![checkout_error(problem)],
                },
            })
        })
        .await
    }
}
