//! Order lifecycle mutations: `advanceOrder` and `rejectOrder` for the
//! restaurant's staff, `cancelOrder` for the customer.
//!
//! The rules live below the schema (`bistro_data::lifecycle`); this module
//! checks who is asking, turns the data layer's refusals into `userErrors`,
//! and answers an order the viewer may not see exactly like an order that
//! does not exist (`ORDER_NOT_FOUND`, no order).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use bistro_data::lifecycle::{Party, Requester, TransitionOutcome, TransitionProblem};

use crate::auth::{Rule, viewer};
use crate::error::{Coded, nullable};
use crate::ids::{NodeType, expect_global_id};
use crate::objects::{Order, OrderStatus};
use crate::request::context::scope;
use crate::user_error::{UserError, UserErrorCode};

/// Longest reason a restaurant may give for a rejection.
const MAX_REASON_CHARS: usize = 500;

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

/// Order lifecycle mutations.
#[derive(Default)]
pub struct OrderLifecycleMutation;

#[Object]
/// Order lifecycle mutations.
impl OrderLifecycleMutation {
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
        nullable(ctx, async {
            let Some(order) = visible_order(ctx, &input.order_id).await? else {
                return Ok(order_not_found());
            };
            self.transition(ctx, &order, Party::Restaurant, input.to.to_entity(), None)
                .await
        })
        .await
    }

    /// Refuses an order that was just placed (`PLACED` → `REJECTED`),
    /// releasing its payment. Staff of the order's restaurant and admins only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn reject_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order and why.")] input: RejectOrderInput,
    ) -> Option<OrderPayload> {
        nullable(ctx, async {
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
        })
        .await
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
        nullable(ctx, async {
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
        })
        .await
    }
}

impl OrderLifecycleMutation {
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
        let outcome = scope(ctx)?
            .transition_order(
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
