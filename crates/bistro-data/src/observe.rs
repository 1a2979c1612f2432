//! What the data layer tells `bistro_metrics`: the labels of its own types
//! (checkout outcomes, order statuses), never an id.

use bistro_sql::entity::OrderStatus;

use crate::checkout::{CheckoutOutcome, CheckoutProblem};

/// A checkout's outcome, as counted.
pub(crate) fn checkout(outcome: &crate::Result<CheckoutOutcome>) {
    if !bistro_metrics::enabled() {
        return;
    }
    let (outcome, code) = match outcome {
        Ok(CheckoutOutcome::Placed(_)) => ("placed", "NONE"),
        Ok(CheckoutOutcome::Refused(problem)) => ("refused", problem_code(problem)),
        Err(_) => ("failed", "STORE"),
    };
    bistro_metrics::checkout(outcome, code);
}

/// The user error code the schema answers a problem with.
fn problem_code(problem: &CheckoutProblem) -> &'static str {
    match problem {
        CheckoutProblem::KeyInvalid => "IDEMPOTENCY_KEY_INVALID",
        CheckoutProblem::KeyReused => "IDEMPOTENCY_KEY_REUSED",
        CheckoutProblem::InProgress => "CHECKOUT_IN_PROGRESS",
        CheckoutProblem::InvalidFulfilment(_) => "INVALID_FULFILMENT",
        CheckoutProblem::CartEmpty => "CART_EMPTY",
        CheckoutProblem::ItemUnavailable(_) => "ITEM_UNAVAILABLE",
        CheckoutProblem::OutOfStock(_) => "OUT_OF_STOCK",
        CheckoutProblem::PriceChanged(..) => "PRICE_CHANGED",
        CheckoutProblem::CardDeclined(_) => "CARD_DECLINED",
        CheckoutProblem::CardActionRequired(_) => "CARD_ACTION_REQUIRED",
        CheckoutProblem::PaymentFailed(_) => "PAYMENT_FAILED",
    }
}

/// An order's move from `from` (none for a new order) to `to`.
pub(crate) fn order_transition(from: Option<OrderStatus>, to: OrderStatus) {
    if !bistro_metrics::enabled() {
        return;
    }
    bistro_metrics::order_transition(from.map_or("NONE", status_name), status_name(to));
}

fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Placed => "PLACED",
        OrderStatus::Accepted => "ACCEPTED",
        OrderStatus::Preparing => "PREPARING",
        OrderStatus::Ready => "READY",
        OrderStatus::OutForDelivery => "OUT_FOR_DELIVERY",
        OrderStatus::Completed => "COMPLETED",
        OrderStatus::Rejected => "REJECTED",
        OrderStatus::Cancelled => "CANCELLED",
    }
}
