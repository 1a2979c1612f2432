//! The two state machines of an order, in one place: its status
//! ([`ORDER_TRANSITIONS`]) and its payment ([`PAYMENT_TRANSITIONS`]), and
//! the transitions that move an order along them.
//!
//! | from | to | who | fulfilment | payment |
//! |---|---|---|---|---|
//! | `PLACED` | `ACCEPTED` | restaurant | any | capture: `AUTHORIZED → CAPTURED` |
//! | `PLACED` | `REJECTED` | restaurant | any | release: `AUTHORIZED → VOIDED` |
//! | `PLACED` | `CANCELLED` | customer, restaurant | any | release: `AUTHORIZED → VOIDED` |
//! | `ACCEPTED` | `PREPARING` | restaurant | any | — |
//! | `ACCEPTED` | `CANCELLED` | customer, restaurant | any | release: `CAPTURED → REFUNDED` |
//! | `PREPARING` | `READY` | restaurant | any | — |
//! | `READY` | `OUT_FOR_DELIVERY` | restaurant | delivery | — |
//! | `READY` | `COMPLETED` | restaurant | pickup, dine-in | — |
//! | `OUT_FOR_DELIVERY` | `COMPLETED` | restaurant | delivery | — |
//!
//! Anything else is illegal. A transition that releases the money of a
//! payment the processor already gave back in part (`PARTIALLY_REFUNDED`)
//! refunds the rest; of one it gave back in full (`REFUNDED`), it moves no
//! money; a `DISPUTED` payment is the bank's until the dispute ends, so a
//! cancellation that would refund it is refused. `PLACED` itself is reached only by checkout,
//! which writes an order once its payment is authorized (`PENDING →
//! AUTHORIZED` happens before the order exists; a `DECLINED` attempt leaves
//! no order). Who may act for "the restaurant" (its staff, admins) and for
//! "the customer" (the account, admins) is the schema's authorization
//! rules; this table decides what each party may do to the order.
//!
//! A transition that moves no money is one conditional SQL write: the status
//! changes only if it is still the one read and no payment change is under
//! way (a concurrent transition that won makes this one a conflict).
//!
//! A transition that moves money (capture, void, refund) first writes down
//! what it is about to do: one transaction writes its pending step and
//! marks the order as going through it (`orders.pending_step_id`), only if
//! the order is still in the status read and going through no other change.
//! Of two concurrent transitions of one order, exactly one gets there; the
//! other is a conflict and moves no money. Then the provider is called,
//! outside any transaction, with the step's idempotency key; then one
//! transaction records the new status, the payment's, the event, and ends
//! the step, only if the order is still going through it. A provider's
//! refusal ends the step with nothing moved; an unknown outcome (the
//! provider did not answer, the process died) leaves the step to a retry
//! or the recovery task, which calls the provider again with the same key
//! (getting the first answer) and records what it says. So money moves if
//! and only if the order moves.
//!
//! After the commit the transition is published (`events`), and a rejected
//! or cancelled order gives its limited stock back, once (its step stays,
//! committed, until that is done, so recovery can finish it).
//!
//! The payment processor also moves money on its own, and reports it
//! (Stripe's webhooks, `processor`): those changes are the rows of
//! [`PROCESSOR_TRANSITIONS`], the one table of what each report does to the
//! payment and to the order:
//!
//! | the processor reports | payment | order |
//! |---|---|---|
//! | the authorization was cancelled (it expired, or was cancelled in the dashboard) | `AUTHORIZED → VOIDED` | `PLACED → CANCELLED` (stock given back): it can no longer be captured |
//! | part of the payment was refunded (the dashboard) | `CAPTURED → PARTIALLY_REFUNDED`, or more of it given back | stays |
//! | the rest or all of it was refunded (the dashboard) | `CAPTURED`, `PARTIALLY_REFUNDED → REFUNDED` | stays: the kitchen decides what a refund means for the food |
//! | the card holder disputed the payment | `CAPTURED`, `PARTIALLY_REFUNDED → DISPUTED` | stays |
//!
//! A report that matches no row (Bistro's own void or refund, reported
//! back; an older report arriving late) changes nothing. So the invariant
//! reads: once quiet, every order's payment status in SQL is the
//! processor's state of its payment, whoever moved the money.

use bistro_payments::Operation;
use bistro_sql::entity::{Fulfilment, OrderStatus, PaymentStatus, StepKind, order, pending_step};
use bistro_sql::ordering::{self, NewPaymentChange, NewTransition, TransitionStep};
use bistro_sql::steps;
use chrono::Utc;

use crate::events::{self, EventActor};
use crate::pending::{TransitionDetail, lease_owner};
use crate::{Result, Scope, stock};

/// Who makes a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// The customer who placed the order.
    Customer,
    /// The restaurant (its staff).
    Restaurant,
}

/// Which orders a transition applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FulfilmentRule {
    /// Every order.
    Any,
    /// Delivery orders only.
    Delivery,
    /// Pickup and dine-in orders only.
    NotDelivery,
}

impl FulfilmentRule {
    fn admits(self, fulfilment: Fulfilment) -> bool {
        match self {
            Self::Any => true,
            Self::Delivery => fulfilment == Fulfilment::Delivery,
            Self::NotDelivery => fulfilment != Fulfilment::Delivery,
        }
    }
}

/// What a transition does to the order's payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEffect {
    /// Nothing.
    None,
    /// Take the authorized amount.
    Capture,
    /// Give the money back: void an authorization, refund a capture.
    Release,
}

/// One legal order transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRule {
    /// From this status.
    pub from: OrderStatus,
    /// To this status.
    pub to: OrderStatus,
    /// Who may make it.
    pub by: &'static [Party],
    /// Which orders it applies to.
    pub fulfilment: FulfilmentRule,
    /// What it does to the payment.
    pub payment: PaymentEffect,
}

const RESTAURANT: &[Party] = &[Party::Restaurant];
const EITHER: &[Party] = &[Party::Customer, Party::Restaurant];

const fn rule(
    from: OrderStatus,
    to: OrderStatus,
    by: &'static [Party],
    fulfilment: FulfilmentRule,
    payment: PaymentEffect,
) -> OrderRule {
    OrderRule {
        from,
        to,
        by,
        fulfilment,
        payment,
    }
}

/// Every legal order transition (the table of the module documentation).
pub const ORDER_TRANSITIONS: &[OrderRule] = {
    use FulfilmentRule as F;
    use OrderStatus as S;
    use PaymentEffect as P;
    &[
        rule(S::Placed, S::Accepted, RESTAURANT, F::Any, P::Capture),
        rule(S::Placed, S::Rejected, RESTAURANT, F::Any, P::Release),
        rule(S::Placed, S::Cancelled, EITHER, F::Any, P::Release),
        rule(S::Accepted, S::Preparing, RESTAURANT, F::Any, P::None),
        rule(S::Accepted, S::Cancelled, EITHER, F::Any, P::Release),
        rule(S::Preparing, S::Ready, RESTAURANT, F::Any, P::None),
        rule(
            S::Ready,
            S::OutForDelivery,
            RESTAURANT,
            F::Delivery,
            P::None,
        ),
        rule(S::Ready, S::Completed, RESTAURANT, F::NotDelivery, P::None),
        rule(
            S::OutForDelivery,
            S::Completed,
            RESTAURANT,
            F::Delivery,
            P::None,
        ),
    ]
};

/// Every legal payment transition: `PENDING → AUTHORIZED | DECLINED` at
/// checkout, then `AUTHORIZED → CAPTURED | VOIDED`, `CAPTURED → REFUNDED`;
/// and what the processor may report: `CAPTURED → PARTIALLY_REFUNDED`,
/// `PARTIALLY_REFUNDED → REFUNDED`, `CAPTURED | PARTIALLY_REFUNDED → DISPUTED`.
pub const PAYMENT_TRANSITIONS: &[(PaymentStatus, PaymentStatus)] = {
    use PaymentStatus as P;
    &[
        (P::Pending, P::Authorized),
        (P::Pending, P::Declined),
        (P::Authorized, P::Captured),
        (P::Authorized, P::Voided),
        (P::Captured, P::Refunded),
        (P::Captured, P::PartiallyRefunded),
        (P::PartiallyRefunded, P::Refunded),
        (P::Captured, P::Disputed),
        (P::PartiallyRefunded, P::Disputed),
    ]
};

/// What the payment processor reports it did on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcessorReport {
    /// The authorization is gone (expired, or cancelled in the dashboard).
    AuthorizationCanceled,
    /// Part of the payment was given back.
    PartialRefund,
    /// All of it (or the rest) was given back.
    FullRefund,
    /// The card holder disputed the payment.
    Dispute,
}

/// What a processor's report does to the order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEffect {
    /// Nothing: only the payment changes.
    Stays,
    /// `PLACED → CANCELLED`: the order can no longer be paid.
    Cancels,
}

/// One row of [`PROCESSOR_TRANSITIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessorRule {
    /// The report.
    pub report: ProcessorReport,
    /// The payment status it applies to.
    pub from: PaymentStatus,
    /// The payment status after it.
    pub to: PaymentStatus,
    /// What it does to the order.
    pub order: OrderEffect,
}

const fn processor_rule(
    report: ProcessorReport,
    from: PaymentStatus,
    to: PaymentStatus,
    order: OrderEffect,
) -> ProcessorRule {
    ProcessorRule {
        report,
        from,
        to,
        order,
    }
}

/// Every change the processor may make on its own (the second table of the
/// module documentation); a report from a status not listed changes nothing.
pub const PROCESSOR_TRANSITIONS: &[ProcessorRule] = {
    use OrderEffect as O;
    use PaymentStatus as P;
    use ProcessorReport as R;
    &[
        processor_rule(
            R::AuthorizationCanceled,
            P::Authorized,
            P::Voided,
            O::Cancels,
        ),
        processor_rule(
            R::PartialRefund,
            P::Captured,
            P::PartiallyRefunded,
            O::Stays,
        ),
        // More of it given back: the status stays, the amount grows.
        processor_rule(
            R::PartialRefund,
            P::PartiallyRefunded,
            P::PartiallyRefunded,
            O::Stays,
        ),
        processor_rule(R::FullRefund, P::Captured, P::Refunded, O::Stays),
        processor_rule(R::FullRefund, P::PartiallyRefunded, P::Refunded, O::Stays),
        processor_rule(R::Dispute, P::Captured, P::Disputed, O::Stays),
        processor_rule(R::Dispute, P::PartiallyRefunded, P::Disputed, O::Stays),
    ]
};

/// The row for `report` on a payment in `from`, if the report changes it.
pub fn processor_rule_for(
    report: ProcessorReport,
    from: PaymentStatus,
) -> Option<&'static ProcessorRule> {
    PROCESSOR_TRANSITIONS
        .iter()
        .find(|rule| rule.report == report && rule.from == from)
}

/// Why a transition is refused by the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No order in this status (and fulfilment) moves to that status.
    Illegal,
    /// The transition exists, but not for this party.
    NotYours,
}

/// The rule for moving an order from `from` to `to`, if `party` may.
pub fn order_rule(
    from: OrderStatus,
    to: OrderStatus,
    fulfilment: Fulfilment,
    party: Party,
) -> std::result::Result<&'static OrderRule, Refusal> {
    let rule = ORDER_TRANSITIONS
        .iter()
        .find(|r| r.from == from && r.to == to && r.fulfilment.admits(fulfilment))
        .ok_or(Refusal::Illegal)?;
    if rule.by.contains(&party) {
        Ok(rule)
    } else {
        Err(Refusal::NotYours)
    }
}

/// Whether the payment may move from `from` to `to`.
pub fn payment_transition_is_legal(from: PaymentStatus, to: PaymentStatus) -> bool {
    PAYMENT_TRANSITIONS.contains(&(from, to))
}

/// The payment transition an effect makes from `from`; `Err` when the
/// effect does not apply to a payment in that status.
pub fn payment_change(
    from: PaymentStatus,
    effect: PaymentEffect,
) -> std::result::Result<Option<(PaymentStatus, PaymentStatus)>, Refusal> {
    use PaymentStatus as P;
    let to = match (effect, from) {
        (PaymentEffect::None, _) => return Ok(None),
        (PaymentEffect::Capture, P::Authorized) => P::Captured,
        (PaymentEffect::Release, P::Authorized) => P::Voided,
        (PaymentEffect::Release, P::Captured | P::PartiallyRefunded) => P::Refunded,
        // Given back in full already: nothing left to move.
        (PaymentEffect::Release, P::Refunded) => return Ok(None),
        _ => return Err(Refusal::Illegal),
    };
    debug_assert!(payment_transition_is_legal(from, to));
    Ok(Some((from, to)))
}

/// Who asks for a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requester {
    /// As which party.
    pub party: Party,
    /// The signed-in user.
    pub user_id: i64,
}

/// What came of a transition request.
#[derive(Debug, Clone)]
pub enum TransitionOutcome {
    /// The order moved; here it is as stored now.
    Moved(order::Model),
    /// The order did not move; here it is as it stands.
    Refused(order::Model, TransitionProblem),
    /// No order has this id.
    NotFound,
}

/// Why an order did not move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionProblem {
    /// The table has no such transition from the order's status.
    Illegal,
    /// The requester's party may not make it.
    NotYours,
    /// The payment provider refused the capture, void or refund.
    Payment(String),
    /// Another transition changed the order first.
    Conflict,
}

// The record is `pending`'s; what it means to a transition is this module's.
impl TransitionDetail {
    fn actor(&self) -> EventActor {
        if self.restaurant_party {
            EventActor::restaurant(self.actor_user_id)
        } else {
            EventActor::customer(self.actor_user_id)
        }
    }

    /// Whether something must follow the commit (stock given back).
    fn gives_stock_back(&self) -> bool {
        matches!(self.to, OrderStatus::Rejected | OrderStatus::Cancelled)
    }
}

/// The provider operation of a payment change.
fn operation_of(to: PaymentStatus) -> (Operation, StepKind) {
    match to {
        PaymentStatus::Captured => (Operation::Capture, StepKind::Capture),
        PaymentStatus::Voided => (Operation::Void, StepKind::Void),
        _ => (Operation::Refund, StepKind::Refund),
    }
}

impl Scope {
    /// Moves an order to `to` for `requester` (whose right to act for the
    /// order's customer or restaurant the caller has checked), with `note`
    /// as the reason. See the module documentation for the steps. Runs in a
    /// task of its own: once money may move, the request's end does not
    /// stop it.
    pub async fn transition_order(
        &self,
        order_id: i64,
        to: OrderStatus,
        requester: Requester,
        note: Option<String>,
    ) -> Result<TransitionOutcome> {
        self.detached(move |scope| async move {
            scope.transition_now(order_id, to, requester, note).await
        })
        .await
    }

    async fn transition_now(
        &self,
        order_id: i64,
        to: OrderStatus,
        requester: Requester,
        note: Option<String>,
    ) -> Result<TransitionOutcome> {
        // The current row, not a loader's copy from earlier in the request.
        let Some(mut current) = ordering::order_by_id(&self.db, order_id).await? else {
            return Ok(TransitionOutcome::NotFound);
        };
        if let Some(step_id) = current.pending_step_id {
            // Another payment change is under way. If its request died,
            // settle it first; if it is running, this one loses.
            let now = Utc::now();
            let taken = match steps::order_step(&self.db, order_id).await? {
                Some(step) if step.id == step_id && step.lease_until < now => {
                    steps::take_over(&self.db, step.id, &lease_owner(), self.lease_from(now), now)
                        .await?
                }
                _ => None,
            };
            let Some(step) = taken else {
                return Ok(TransitionOutcome::Refused(
                    current,
                    TransitionProblem::Conflict,
                ));
            };
            crate::recovery::settle(self, &step).await?;
            let Some(now_stored) = ordering::order_by_id(&self.db, order_id).await? else {
                return Ok(TransitionOutcome::NotFound);
            };
            if now_stored.pending_step_id.is_some() {
                return Ok(TransitionOutcome::Refused(
                    now_stored,
                    TransitionProblem::Conflict,
                ));
            }
            current = now_stored;
        }
        let rule = match order_rule(current.status, to, current.fulfilment, requester.party) {
            Ok(rule) => rule,
            Err(Refusal::Illegal) => {
                return Ok(TransitionOutcome::Refused(
                    current,
                    TransitionProblem::Illegal,
                ));
            }
            Err(Refusal::NotYours) => {
                return Ok(TransitionOutcome::Refused(
                    current,
                    TransitionProblem::NotYours,
                ));
            }
        };
        let Ok(payment) = payment_change(current.payment_status, rule.payment) else {
            return Ok(TransitionOutcome::Refused(
                current,
                TransitionProblem::Illegal,
            ));
        };
        let detail = TransitionDetail {
            from: current.status,
            to,
            payment_from: current.payment_status,
            payment_to: payment.map_or(current.payment_status, |(_, to)| to),
            actor_user_id: requester.user_id,
            restaurant_party: requester.party == Party::Restaurant,
            note,
        };
        let Some((payment_from, payment_to)) = payment else {
            // No money moves: one conditional write decides.
            let at = Utc::now();
            let recorded = ordering::record_transition(
                &self.db,
                NewTransition {
                    order_id,
                    from: current.status,
                    to,
                    payment: None,
                    step: None,
                    actor_user_id: Some(requester.user_id),
                    note: detail.note.clone(),
                    at,
                },
            )
            .await?;
            return Ok(match recorded {
                Some(moved) => {
                    self.after_transition(&moved, &detail, at).await?;
                    TransitionOutcome::Moved(moved)
                }
                None => self.conflict(order_id, current).await?,
            });
        };
        // The order's payment (its latest, should there be several). Not
        // filtered by status: a concurrent transition may have moved it
        // since the order was read, which the conditional start below catches.
        let reference = ordering::payments_by_orders(&self.db, &[order_id])
            .await?
            .into_iter()
            .rev()
            .find_map(|p| p.provider_reference);
        let Some(reference) = reference else {
            tracing::error!(
                order.id = order_id,
                "an order's payment has no provider reference"
            );
            return Ok(TransitionOutcome::Refused(
                current,
                TransitionProblem::Payment("no_payment".into()),
            ));
        };
        // Written down before the provider is called: the order is marked as
        // going through this change, so no other transition can start, and
        // whoever finds it unfinished knows what to finish.
        let (operation, kind) = operation_of(payment_to);
        let owner = lease_owner();
        let now = Utc::now();
        let step = ordering::begin_payment_change(
            &self.db,
            NewPaymentChange {
                order_id,
                from: current.status,
                payment_from,
                kind,
                provider: self.payments.provider.name().to_owned(),
                provider_key: format!("order-{order_id}-{}-{owner}", operation.name()),
                reference,
                detail: serde_json::to_string(&detail).unwrap_or_default(),
                lease_owner: owner,
                lease_until: self.lease_from(now),
                now,
            },
        )
        .await?;
        let Some(step) = step else {
            return self.conflict(order_id, current).await;
        };
        let outcome = self.settle_payment_change(&step, &detail, false).await;
        if outcome.is_err() {
            self.park(&step).await;
        }
        match outcome? {
            Some(outcome) => Ok(outcome),
            None => {
                let now = ordering::order_by_id(&self.db, order_id)
                    .await?
                    .unwrap_or(current);
                Ok(TransitionOutcome::Refused(now, TransitionProblem::Conflict))
            }
        }
    }

    /// The answer when a concurrent transition got there first: the order as it stands.
    async fn conflict(&self, order_id: i64, current: order::Model) -> Result<TransitionOutcome> {
        let now = ordering::order_by_id(&self.db, order_id)
            .await?
            .unwrap_or(current);
        Ok(TransitionOutcome::Refused(now, TransitionProblem::Conflict))
    }

    /// Calls the provider for a started payment change and records the
    /// transition (by its request, or by recovery): the provider's key makes
    /// a repeated call return the first answer, and the write is conditional
    /// on the order still going through this change, so the money and the
    /// order move once, together. `None` when someone else recorded it
    /// first. When the provider does not answer, the step stays, parked for
    /// recovery, and the answer is a refusal with the order as it stands.
    ///
    /// `ask_first` (recovery, or a transition settling a step its request
    /// left): the provider is first asked where the payment stands, by the
    /// reference recorded in the step, and a payment already where the
    /// change takes it is recorded without calling the operation again (an
    /// answer that was lost; an idempotency key the provider may have
    /// forgotten by now).
    pub(crate) async fn settle_payment_change(
        &self,
        step: &pending_step::Model,
        detail: &TransitionDetail,
        ask_first: bool,
    ) -> Result<Option<TransitionOutcome>> {
        let Some(order_id) = step.order_id else {
            return Ok(None);
        };
        let (operation, _) = operation_of(detail.payment_to);
        let reference = step.provider_reference.clone().unwrap_or_default();
        let provider = &self.payments.provider;
        let already = if ask_first {
            match provider.state(&reference).await {
                Ok(state) => state == operation.moves().1,
                // Unknown: the operation with the step's key says.
                Err(_) => false,
            }
        } else {
            false
        };
        let called = if already {
            tracing::info!(
                order.id = order_id,
                step.id = step.id,
                operation = operation.name(),
                "the payment provider had done it already; recording it"
            );
            Ok(())
        } else {
            match provider
                .operate(operation, &reference, &step.provider_key)
                .await
            {
                // Refused because it is done already (captured or refunded
                // from the processor's dashboard, a key the processor
                // forgot): the money is where the transition takes it.
                Err(error)
                    if error.is_definite()
                        && provider.state(&reference).await == Ok(operation.moves().1) =>
                {
                    tracing::info!(
                        order.id = order_id,
                        code = error.code(),
                        operation = operation.name(),
                        "the payment provider refused the operation as done already; recording it"
                    );
                    Ok(())
                }
                called => called,
            }
        };
        match called {
            Ok(()) => {}
            Err(error) if error.is_definite() => {
                tracing::warn!(
                    order.id = order_id,
                    code = error.code(),
                    "payment provider refused a transition's payment step"
                );
                ordering::abandon_payment_change(&self.db, order_id, step.id).await?;
                let now = ordering::order_by_id(&self.db, order_id).await?;
                return Ok(now.map(|order| {
                    TransitionOutcome::Refused(
                        order,
                        TransitionProblem::Payment(error.code().to_owned()),
                    )
                }));
            }
            Err(error) => {
                // The outcome is unknown: the step stays (the order going
                // through it), for a later call with the same key to learn it.
                tracing::warn!(
                    order.id = order_id,
                    code = error.code(),
                    step.id = step.id,
                    "the payment provider did not answer a transition's payment step; recovery settles it"
                );
                self.park(step).await;
                let now = ordering::order_by_id(&self.db, order_id).await?;
                return Ok(now.map(|order| {
                    TransitionOutcome::Refused(
                        order,
                        TransitionProblem::Payment(error.code().to_owned()),
                    )
                }));
            }
        }
        let at = Utc::now();
        let recorded = ordering::record_transition(
            &self.db,
            NewTransition {
                order_id,
                from: detail.from,
                to: detail.to,
                payment: Some((detail.payment_from, detail.payment_to)),
                step: Some(TransitionStep {
                    id: step.id,
                    keep_until: detail.gives_stock_back().then(|| self.lease_from(at)),
                }),
                actor_user_id: Some(detail.actor_user_id),
                note: detail.note.clone(),
                at,
            },
        )
        .await?;
        let Some(moved) = recorded else {
            return Ok(None);
        };
        self.after_transition(&moved, detail, at).await?;
        if detail.gives_stock_back()
            && let Err(error) = steps::finish_any(&self.db, step.id).await
        {
            tracing::warn!(%error, step.id = step.id, "deleting a finished transition's step failed; recovery repeats what followed it");
        }
        Ok(Some(TransitionOutcome::Moved(moved)))
    }

    /// What follows a transition's commit: the request's copies forgotten,
    /// the transition published, a rejected or cancelled order's stock
    /// given back (once per order, so recovery may repeat it).
    pub(crate) async fn after_transition(
        &self,
        moved: &order::Model,
        detail: &TransitionDetail,
        at: chrono::DateTime<Utc>,
    ) -> Result<()> {
        // The order, its payment and its events changed: what this request
        // read of them before (an earlier mutation of the same document) is stale.
        self.loaders.order.clear();
        self.loaders.payment.clear();
        self.loaders.order_events.clear();
        events::publish_order_transition(&self.kv, moved, Some(detail.from), detail.actor(), at)
            .await;
        if detail.gives_stock_back() {
            stock::give_back_order(&self.loaders, &self.kv, moved).await?;
        }
        Ok(())
    }
}

pub use bistro_sql::ordering::stored;

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    /// The lifecycle of PRODUCT.md, written out independently of the table:
    /// `PLACED → ACCEPTED → PREPARING → READY → (OUT_FOR_DELIVERY →)
    /// COMPLETED`, `REJECTED` by the restaurant from `PLACED`, `CANCELLED`
    /// from `PLACED`/`ACCEPTED`.
    fn expected(from: OrderStatus, to: OrderStatus, fulfilment: Fulfilment, party: Party) -> bool {
        use OrderStatus as S;
        let delivery = fulfilment == Fulfilment::Delivery;
        let restaurant = party == Party::Restaurant;
        match (from, to) {
            (S::Placed, S::Accepted) | (S::Placed, S::Rejected) => restaurant,
            (S::Placed, S::Cancelled) | (S::Accepted, S::Cancelled) => true,
            (S::Accepted, S::Preparing) | (S::Preparing, S::Ready) => restaurant,
            (S::Ready, S::OutForDelivery) | (S::OutForDelivery, S::Completed) => {
                restaurant && delivery
            }
            (S::Ready, S::Completed) => restaurant && !delivery,
            _ => false,
        }
    }

    #[test]
    fn every_order_transition_is_decided_as_the_product_describes() {
        let mut legal = 0;
        for from in OrderStatus::iter() {
            for to in OrderStatus::iter() {
                for fulfilment in Fulfilment::iter() {
                    for party in [Party::Customer, Party::Restaurant] {
                        let decided = order_rule(from, to, fulfilment, party);
                        assert_eq!(
                            decided.is_ok(),
                            expected(from, to, fulfilment, party),
                            "{from:?} → {to:?} ({fulfilment:?}) by {party:?}: {decided:?}"
                        );
                        if decided.is_ok() {
                            legal += 1;
                        }
                    }
                }
            }
        }
        // Six transitions for every fulfilment (3 each), cancellations for
        // both parties (twice that), and the last steps: one delivery path
        // of two transitions, one direct completion for pickup and dine-in.
        assert_eq!(legal, 4 * 3 + 2 * 6 + 2 + 2);
    }

    #[test]
    fn terminal_statuses_go_nowhere() {
        for terminal in [
            OrderStatus::Completed,
            OrderStatus::Rejected,
            OrderStatus::Cancelled,
        ] {
            assert!(ORDER_TRANSITIONS.iter().all(|r| r.from != terminal));
        }
    }

    #[test]
    fn every_payment_transition_is_decided() {
        use PaymentStatus as P;
        let legal = [
            (P::Pending, P::Authorized),
            (P::Pending, P::Declined),
            (P::Authorized, P::Captured),
            (P::Authorized, P::Voided),
            (P::Captured, P::Refunded),
            (P::Captured, P::PartiallyRefunded),
            (P::PartiallyRefunded, P::Refunded),
            (P::Captured, P::Disputed),
            (P::PartiallyRefunded, P::Disputed),
        ];
        for from in PaymentStatus::iter() {
            for to in PaymentStatus::iter() {
                assert_eq!(
                    payment_transition_is_legal(from, to),
                    legal.contains(&(from, to)),
                    "{from:?} → {to:?}"
                );
            }
            // What each effect does from each status.
            let capture = payment_change(from, PaymentEffect::Capture);
            let release = payment_change(from, PaymentEffect::Release);
            assert_eq!(
                capture,
                if from == P::Authorized {
                    Ok(Some((P::Authorized, P::Captured)))
                } else {
                    Err(Refusal::Illegal)
                },
                "capture from {from:?}"
            );
            assert_eq!(
                release,
                match from {
                    P::Authorized => Ok(Some((P::Authorized, P::Voided))),
                    P::Captured => Ok(Some((P::Captured, P::Refunded))),
                    P::PartiallyRefunded => Ok(Some((P::PartiallyRefunded, P::Refunded))),
                    P::Refunded => Ok(None),
                    _ => Err(Refusal::Illegal),
                },
                "release from {from:?}"
            );
            assert_eq!(payment_change(from, PaymentEffect::None), Ok(None));
        }
    }

    #[test]
    fn every_order_rule_moves_the_payment_legally() {
        // The payment a rule finds when an order reaches its `from` status
        // along the table: authorized until accepted, captured after.
        for rule in ORDER_TRANSITIONS {
            let payment = if rule.from == OrderStatus::Placed {
                PaymentStatus::Authorized
            } else {
                PaymentStatus::Captured
            };
            let change = payment_change(payment, rule.payment);
            assert!(change.is_ok(), "{rule:?} from {payment:?}");
            if let Ok(Some((from, to))) = change {
                assert!(payment_transition_is_legal(from, to), "{rule:?}");
            }
        }
    }

    #[test]
    fn every_processor_report_moves_the_payment_legally_and_once_per_status() {
        use PaymentStatus as P;
        for rule in PROCESSOR_TRANSITIONS {
            assert!(
                rule.from == rule.to || payment_transition_is_legal(rule.from, rule.to),
                "{rule:?}"
            );
            // One row per report and status: the report decides alone.
            assert_eq!(
                PROCESSOR_TRANSITIONS
                    .iter()
                    .filter(|r| r.report == rule.report && r.from == rule.from)
                    .count(),
                1,
                "{rule:?}"
            );
            // Only an authorization that is gone ends the order.
            assert_eq!(
                rule.order == OrderEffect::Cancels,
                rule.report == ProcessorReport::AuthorizationCanceled,
                "{rule:?}"
            );
        }
        // Bistro's own void or refund reported back changes nothing.
        assert_eq!(
            processor_rule_for(ProcessorReport::AuthorizationCanceled, P::Voided),
            None
        );
        assert_eq!(
            processor_rule_for(ProcessorReport::FullRefund, P::Refunded),
            None
        );
        // A disputed payment is the bank's: no refund report moves it, no cancellation refunds it.
        assert_eq!(
            processor_rule_for(ProcessorReport::FullRefund, P::Disputed),
            None
        );
        assert_eq!(
            payment_change(P::Disputed, PaymentEffect::Release),
            Err(Refusal::Illegal)
        );
    }
}
