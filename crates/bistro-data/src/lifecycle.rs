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
//! Anything else is illegal. `PLACED` itself is reached only by checkout,
//! which writes an order once its payment is authorized (`PENDING →
//! AUTHORIZED` happens before the order exists; a `DECLINED` attempt leaves
//! no order). Who may act for "the restaurant" (its staff, admins) and for
//! "the customer" (the account, admins) is the schema's authorization
//! rules; this table decides what each party may do to the order.
//!
//! A transition calls the payment provider first, outside any database
//! transaction (a slow provider holds no lock), with an idempotency key
//! naming the order and the operation; then one SQL transaction changes the
//! status only if it is still the one read (a concurrent transition that won
//! makes this one a no-op, reported as a conflict) and writes the event.
//! After the commit the transition is published (`events`), and a rejected
//! or cancelled order of today gives its limited stock back.

use bistro_payments::PaymentProvider;
use bistro_sql::entity::{Fulfilment, OrderStatus, PaymentStatus, order};
use bistro_sql::ordering::{self, NewTransition};
use chrono::Utc;

use crate::events::{self, EventActor};
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
/// checkout, then `AUTHORIZED → CAPTURED | VOIDED`, `CAPTURED → REFUNDED`.
pub const PAYMENT_TRANSITIONS: &[(PaymentStatus, PaymentStatus)] = {
    use PaymentStatus as P;
    &[
        (P::Pending, P::Authorized),
        (P::Pending, P::Declined),
        (P::Authorized, P::Captured),
        (P::Authorized, P::Voided),
        (P::Captured, P::Refunded),
    ]
};

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
        (PaymentEffect::Release, P::Captured) => P::Refunded,
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

impl Scope {
    /// Moves an order to `to` for `requester` (whose right to act for the
    /// order's customer or restaurant the caller has checked), with `note`
    /// as the reason. See the module documentation for the steps.
    pub async fn transition_order(
        &self,
        provider: &dyn PaymentProvider,
        order_id: i64,
        to: OrderStatus,
        requester: Requester,
        note: Option<String>,
    ) -> Result<TransitionOutcome> {
        // The current row, not a loader's copy from earlier in the request.
        let Some(current) = ordering::order_by_id(&self.db, order_id).await? else {
            return Ok(TransitionOutcome::NotFound);
        };
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
        if let Some((_, payment_to)) = payment {
            let reference = ordering::payments_by_orders(&self.db, &[order_id])
                .await?
                .into_iter()
                .filter(|p| p.status == current.payment_status)
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
            let key = format!("order-{order_id}-{}", stored(payment_to).to_lowercase());
            let called = match payment_to {
                PaymentStatus::Captured => provider.capture(&reference, &key).await,
                PaymentStatus::Voided => provider.void(&reference, &key).await,
                _ => provider.refund(&reference, &key).await,
            };
            if let Err(error) = called {
                tracing::warn!(
                    order.id = order_id,
                    code = error.code(),
                    "payment provider refused a transition's payment step"
                );
                return Ok(TransitionOutcome::Refused(
                    current,
                    TransitionProblem::Payment(error.code().to_owned()),
                ));
            }
        }
        let at = Utc::now();
        let recorded = ordering::record_transition(
            &self.db,
            NewTransition {
                order_id,
                from: current.status,
                to,
                payment,
                actor_user_id: Some(requester.user_id),
                note,
                at,
            },
        )
        .await?;
        let Some(moved) = recorded else {
            let now = ordering::order_by_id(&self.db, order_id)
                .await?
                .unwrap_or(current);
            return Ok(TransitionOutcome::Refused(now, TransitionProblem::Conflict));
        };
        // The order, its payment and its events changed: what this request
        // read of them before (an earlier mutation of the same document) is stale.
        self.loaders.order.clear();
        self.loaders.payment.clear();
        self.loaders.order_events.clear();
        let actor = match requester.party {
            Party::Customer => EventActor::customer(requester.user_id),
            Party::Restaurant => EventActor::restaurant(requester.user_id),
        };
        events::publish_order_transition(&self.kv, &moved, Some(current.status), actor, at).await;
        if matches!(to, OrderStatus::Rejected | OrderStatus::Cancelled) {
            stock::give_back_order(&self.loaders, &self.kv, &moved).await;
        }
        Ok(TransitionOutcome::Moved(moved))
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
}
