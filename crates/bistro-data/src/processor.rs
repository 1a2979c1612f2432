//! What the payment processor did on its own, made order state: the changes
//! its webhooks report ([`Scope::apply_processor_change`]), and the
//! comparison of a period's orders with the processor
//! ([`DataLayer::reconcile`], the `bistro payments reconcile` command).
//!
//! A report is applied through [`lifecycle::PROCESSOR_TRANSITIONS`]: the
//! payment (and, for an authorization that is gone, the order) moves only
//! if it is still in the status the row starts from and is going through no
//! payment change of Bistro's own; the event's id is written in the same
//! transaction, so a redelivered or replayed event changes nothing; the
//! change becomes an order event (`from = to` when only the payment
//! changed, its payment status and a note saying what happened), published
//! live like any transition. Nothing here moves money: the processor did.

use bistro_payments::ProviderState;
use bistro_payments::webhook::ProcessorChange;
use bistro_sql::entity::{OrderStatus, PaymentStatus, payment};
use bistro_sql::ordering::{self, NewProcessorChange, ProcessorChangeRecord};
use chrono::{DateTime, Utc};

use crate::events::{self, EventActor};
use crate::lifecycle::{OrderEffect, ProcessorReport, processor_rule_for};
use crate::money::format_minor;
use crate::{DataLayer, Result, Scope, stock};

/// What came of a processor's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorOutcome {
    /// The order changed.
    Recorded {
        /// Which.
        order_id: i64,
    },
    /// The event was handled before.
    Duplicate,
    /// No order has this payment (another system's on the same account).
    UnknownPayment,
    /// It changes nothing: the order is there already (Bistro's own void
    /// or refund reported back), or the report is older than what is known.
    Unchanged,
    /// The order is going through a payment change of Bistro's own: the
    /// report is to be delivered again later (the change's end may make it
    /// moot, or not).
    Busy,
}

fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", format_minor(minor, currency))
}

impl Scope {
    /// Applies what the processor reports it did (see the module
    /// documentation). `event_id` makes it count once; `kind` is the
    /// event's type, for the record.
    pub async fn apply_processor_change(
        &self,
        event_id: &str,
        kind: &str,
        change: &ProcessorChange,
    ) -> Result<ProcessorOutcome> {
        let provider = self.payments.provider.name();
        if ordering::processor_event_seen(&self.db, event_id).await? {
            return Ok(ProcessorOutcome::Duplicate);
        }
        let Some(paid) =
            ordering::payment_by_reference(&self.db, provider, change.reference()).await?
        else {
            return Ok(ProcessorOutcome::UnknownPayment);
        };
        let Some(order) = ordering::order_by_id(&self.db, paid.order_id).await? else {
            return Ok(ProcessorOutcome::UnknownPayment);
        };
        if order.pending_step_id.is_some() {
            return Ok(ProcessorOutcome::Busy);
        }
        let currency = &paid.currency_code;
        let (report, amount_refunded, note) = match change {
            ProcessorChange::AuthorizationCanceled { reason, .. } => (
                ProcessorReport::AuthorizationCanceled,
                paid.amount_refunded,
                match reason.as_deref() {
                    Some("automatic") => "The card's authorization expired at the payment \
                        processor before the order was accepted; the order is cancelled and \
                        nothing was charged."
                        .to_owned(),
                    _ => "The card's authorization was cancelled at the payment processor; the \
                        order is cancelled and nothing was charged."
                        .to_owned(),
                },
            ),
            ProcessorChange::Refunded {
                amount,
                amount_refunded,
                ..
            } => {
                if *amount_refunded <= paid.amount_refunded {
                    // Known already (Bistro's own refund), or an older report.
                    return Ok(ProcessorOutcome::Unchanged);
                }
                let total = (*amount).max(paid.amount);
                let refunded = (*amount_refunded).min(total);
                let report = if refunded >= total {
                    ProcessorReport::FullRefund
                } else {
                    ProcessorReport::PartialRefund
                };
                let note = if report == ProcessorReport::FullRefund {
                    format!(
                        "The payment processor refunded the payment in full ({}).",
                        money(total, currency)
                    )
                } else {
                    format!(
                        "The payment processor refunded {} ({} of {} given back in all).",
                        money(refunded - paid.amount_refunded, currency),
                        money(refunded, currency),
                        money(total, currency)
                    )
                };
                (report, refunded, note)
            }
            ProcessorChange::DisputeOpened { reason, .. } => (
                ProcessorReport::Dispute,
                paid.amount_refunded,
                format!(
                    "The card holder disputed the payment with their bank{}; the bank holds the \
                     money until the dispute ends.",
                    reason
                        .as_deref()
                        .map(|r| format!(" ({})", r.replace('_', " ")))
                        .unwrap_or_default()
                ),
            ),
        };
        let Some(rule) = processor_rule_for(report, order.payment_status) else {
            return Ok(ProcessorOutcome::Unchanged);
        };
        let to = match rule.order {
            OrderEffect::Stays => order.status,
            OrderEffect::Cancels if order.status == OrderStatus::Placed => OrderStatus::Cancelled,
            OrderEffect::Cancels => return Ok(ProcessorOutcome::Unchanged),
        };
        let at = Utc::now();
        let recorded = ordering::record_processor_change(
            &self.db,
            NewProcessorChange {
                event_id: event_id.to_owned(),
                provider: provider.to_owned(),
                kind: kind.to_owned(),
                order_id: order.id,
                from: order.status,
                to,
                payment_from: order.payment_status,
                payment_to: rule.to,
                amount_refunded,
                note,
                at,
            },
        )
        .await?;
        match recorded {
            ProcessorChangeRecord::Recorded(moved, _) => {
                tracing::info!(
                    order.id = order.id,
                    event = kind,
                    payment_status = ?rule.to,
                    "recorded what the payment processor did"
                );
                self.loaders.order.clear();
                self.loaders.payment.clear();
                self.loaders.order_events.clear();
                events::publish_order_transition(
                    &self.kv,
                    &moved,
                    Some(order.status),
                    EventActor::system(),
                    at,
                )
                .await;
                if to == OrderStatus::Cancelled
                    && let Err(error) =
                        stock::give_back_order(&self.loaders, &self.kv, &moved).await
                {
                    tracing::warn!(%error, order.id = order.id, "giving a cancelled order's stock back failed");
                }
                Ok(ProcessorOutcome::Recorded { order_id: order.id })
            }
            ProcessorChangeRecord::Duplicate => Ok(ProcessorOutcome::Duplicate),
            ProcessorChangeRecord::Moved => Ok(ProcessorOutcome::Busy),
        }
    }
}

/// Whether a payment status in SQL says what the processor's state says.
pub fn agrees(status: PaymentStatus, state: ProviderState) -> bool {
    use PaymentStatus as P;
    use ProviderState as S;
    matches!(
        (status, state),
        (P::Authorized, S::Authorized)
            | (P::Captured, S::Captured)
            | (P::Voided, S::Voided)
            | (P::Refunded, S::Refunded)
            | (P::PartiallyRefunded, S::PartiallyRefunded)
            | (P::Disputed, S::Disputed)
    )
}

/// What reconciliation makes of an order that differs from the processor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The processor moved money on its own and the report never arrived:
    /// recording it is what its webhook would have done (`--fix` does).
    Fixable,
    /// Recorded by this run.
    Fixed,
    /// A payment change of Bistro's is under way or was left for recovery,
    /// which settles it.
    InProgress,
    /// Only a person can decide (say, money taken at the processor for an
    /// order nobody accepted): the reason.
    NeedsOperator(&'static str),
    /// The processor could not be asked: its error code.
    Unreachable(String),
}

/// One order whose payment differs from the processor's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The order.
    pub order_id: i64,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// The processor's id for its payment.
    pub reference: String,
    /// Its payment status in SQL.
    pub status: PaymentStatus,
    /// The payment's currency.
    pub currency: String,
    /// How much of it SQL says was given back.
    pub refunded: i64,
    /// The processor's state of it, when it answered.
    pub provider_state: Option<ProviderState>,
    /// How much of it the processor says was given back, when it says.
    pub provider_refunded: Option<i64>,
    /// What to do about it.
    pub verdict: Verdict,
}

/// What [`DataLayer::reconcile`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Orders of the period paid through this provider.
    pub checked: u64,
    /// Of those, the ones that agree with the processor.
    pub agreeing: u64,
    /// Orders of the period paid through another provider (not compared).
    pub other_provider: u64,
    /// The ones that differ.
    pub differences: Vec<Difference>,
}

/// The report that turns `payment` into what the processor's `snapshot`
/// says, when it is one the processor could have sent.
fn report_for(
    payment: &payment::Model,
    state: ProviderState,
    refunded: Option<i64>,
) -> Option<ProcessorChange> {
    let reference = payment.provider_reference.clone()?;
    match state {
        ProviderState::Voided => Some(ProcessorChange::AuthorizationCanceled {
            reference,
            reason: None,
        }),
        ProviderState::Refunded | ProviderState::PartiallyRefunded => {
            Some(ProcessorChange::Refunded {
                reference,
                amount: payment.amount,
                amount_refunded: refunded.unwrap_or(if state == ProviderState::Refunded {
                    payment.amount
                } else {
                    payment.amount_refunded
                }),
            })
        }
        ProviderState::Disputed => Some(ProcessorChange::DisputeOpened {
            reference,
            reason: None,
        }),
        _ => None,
    }
}

impl DataLayer {
    /// Compares every order placed since `since` with the processor, by
    /// the reference of its payment, and lists the orders that differ;
    /// with `fix`, records what the processor did where that is what its
    /// webhooks would have recorded ([`Verdict::Fixable`]), and nothing else.
    pub async fn reconcile(&self, since: DateTime<Utc>, fix: bool) -> Result<Reconciliation> {
        let provider = self.payments().provider.clone();
        let scope = self.scope();
        let mut report = Reconciliation::default();
        for (order, payments) in ordering::orders_with_payments_since(self.db(), since).await? {
            let Some(paid) = payments
                .into_iter()
                .rev()
                .find(|p| p.provider_reference.is_some())
            else {
                continue;
            };
            if paid.provider != provider.name() {
                report.other_provider += 1;
                continue;
            }
            report.checked += 1;
            let reference = paid.provider_reference.clone().unwrap_or_default();
            let mut difference = Difference {
                order_id: order.id,
                placed_at: order.created_at,
                reference: reference.clone(),
                status: order.payment_status,
                currency: paid.currency_code.clone(),
                refunded: paid.amount_refunded,
                provider_state: None,
                provider_refunded: None,
                verdict: Verdict::InProgress,
            };
            let snapshot = match provider.snapshot(&reference).await {
                Ok(snapshot) => snapshot,
                Err(error) => {
                    difference.verdict = Verdict::Unreachable(error.code().to_owned());
                    report.differences.push(difference);
                    continue;
                }
            };
            difference.provider_state = Some(snapshot.state);
            difference.provider_refunded = snapshot.amount_refunded;
            let same_amount = snapshot
                .amount_refunded
                .is_none_or(|refunded| refunded == paid.amount_refunded);
            if agrees(order.payment_status, snapshot.state) && same_amount {
                report.agreeing += 1;
                continue;
            }
            if order.pending_step_id.is_some() {
                report.differences.push(difference);
                continue;
            }
            let change = report_for(&paid, snapshot.state, snapshot.amount_refunded);
            let fixable = change.as_ref().is_some_and(|change| {
                let report = match change {
                    ProcessorChange::AuthorizationCanceled { .. } => {
                        ProcessorReport::AuthorizationCanceled
                    }
                    ProcessorChange::Refunded {
                        amount_refunded, ..
                    } if *amount_refunded >= paid.amount => ProcessorReport::FullRefund,
                    ProcessorChange::Refunded { .. } => ProcessorReport::PartialRefund,
                    ProcessorChange::DisputeOpened { .. } => ProcessorReport::Dispute,
                };
                processor_rule_for(report, order.payment_status).is_some()
            });
            difference.verdict = if !fixable {
                Verdict::NeedsOperator(match (order.payment_status, snapshot.state) {
                    (PaymentStatus::Authorized, ProviderState::Captured) => {
                        "taken at the processor, but the order was never accepted"
                    }
                    (_, ProviderState::Authorized | ProviderState::Pending) => {
                        "Bistro recorded money the processor never took"
                    }
                    (_, ProviderState::NotAuthorized) => "the processor holds no money for it",
                    _ => "no report of the processor leads from one to the other",
                })
            } else if fix {
                let change = change.expect("a fixable difference has a report");
                let event_id = format!(
                    "reconcile:{}:{}:{}",
                    order.id,
                    snapshot.state.name(),
                    snapshot.amount_refunded.unwrap_or_default()
                );
                match scope
                    .apply_processor_change(&event_id, "reconciliation", &change)
                    .await?
                {
                    ProcessorOutcome::Recorded { .. } | ProcessorOutcome::Duplicate => {
                        Verdict::Fixed
                    }
                    ProcessorOutcome::Busy => Verdict::InProgress,
                    ProcessorOutcome::UnknownPayment | ProcessorOutcome::Unchanged => {
                        Verdict::Fixable
                    }
                }
            } else {
                Verdict::Fixable
            };
            report.differences.push(difference);
        }
        Ok(report)
    }
}
