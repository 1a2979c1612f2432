//! The recovery task: finishes or undoes what a request left unfinished.
//!
//! Every checkout and every payment change writes its pending step before
//! it moves stock or money (`checkout`, `lifecycle`), leased to its request
//! for `payments.recovery_after_secs`. A request that completes deletes its
//! step. One that died (the process was killed, the store went away half
//! way) or that could not learn an outcome (the provider did not answer)
//! leaves it; once the lease has passed, this task, on every replica, takes
//! each such step over (a conditional update of its lease, so one replica
//! at a time acts on it) and settles it:
//!
//! | step | state | what recovery does |
//! |---|---|---|
//! | checkout | running (no order) | gives its stock hold back, voids its authorization (asking the provider by the step's key when the answer was lost), deletes the step; the key is free again |
//! | checkout | committed (the order exists) | what followed the commit: the cart emptied, the hold forgotten, popularity counted, `PLACED` published; deletes the step |
//! | capture, void, refund | running | asks the provider where the payment stands, by the reference recorded in the step: already moved, the transition is recorded; otherwise the operation is called again with the step's key (which returns the first answer: the money moved or it did not) and the transition recorded if it moved, or the change ended if it was refused |
//! | void, refund of a rejection or cancellation | committed | gives the order's stock back (once per order), deletes the step |
//!
//! A provider or store that is still unreachable leaves the step for the
//! next sweep. The same settling runs inline when a retry of a checkout, or
//! a new transition of the order, finds a step whose lease has passed.
//!
//! The simulated processor's ledger is pruned here too, once an hour's worth
//! of sweeps, when the server runs it; and so are the payment processor's
//! events handled more than [`PROCESSOR_EVENT_RETENTION`] ago (Stripe stops
//! redelivering an event after three days).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bistro_payments::SimulatedLedger;
use bistro_sql::entity::{StepKind, StepState, pending_step};
use bistro_sql::{ordering, steps};
use chrono::Utc;
use tracing::Instrument as _;

use crate::pending::{Authorized, CheckoutDetail, TransitionDetail, lease_owner};
use crate::{DataLayer, Result, Scope};

/// How the recovery task runs.
#[derive(Debug, Clone)]
pub struct RecoverySettings {
    /// Time between sweeps.
    pub interval: Duration,
    /// How long recovery holds a step it settles (a provider that does not
    /// answer keeps it that long before the next attempt).
    pub lease: Duration,
    /// The simulated processor's ledger and how long it keeps entries, when
    /// the server runs the simulated processor.
    pub ledger: Option<(Arc<dyn SimulatedLedger>, Duration)>,
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Steps settled (finished or undone).
    pub settled: u64,
    /// Steps taken over but left for a later sweep (a store or the provider unreachable).
    pub left: u64,
}

/// How a step came out of [`settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Finished or undone; the step is gone.
    Done,
    /// Not yet: it stays for a later attempt.
    Left,
}

/// How long the ids of handled processor events are kept.
pub const PROCESSOR_EVENT_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// Most steps one sweep settles (the rest wait for the next).
const SWEEP_LIMIT: u64 = 100;

/// Settles every step whose lease has passed, once. The task calls this
/// every interval; tests call it to settle deterministically.
pub async fn sweep(data: &DataLayer, lease: Duration) -> Result<Sweep> {
    sweep_while(data, lease, || true).await
}

/// [`sweep`], asking `go_on` before each step: once it says no, the sweep
/// ends after the step in hand, and a step it could not settle then is
/// released at once (its lease ended) for another replica instead of
/// staying leased to a task that is stopping.
pub async fn sweep_while(
    data: &DataLayer,
    lease: Duration,
    go_on: impl Fn() -> bool,
) -> Result<Sweep> {
    let owner = format!("recovery-{}", lease_owner());
    let now = Utc::now();
    let mut report = Sweep::default();
    for step in steps::expired(data.db(), now, SWEEP_LIMIT).await? {
        if !go_on() {
            break;
        }
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let Some(step) = steps::take_over(data.db(), step.id, &owner, until, now).await? else {
            // Another replica took it.
            continue;
        };
        let scope = data.scope();
        let left_before = report.left;
        // Each step settled in a trace of its own (traces on): its provider
        // calls, statements and key-value commands are the span's children.
        let span = tracing::info_span!(
            target: "bistro::recovery",
            parent: None,
            "recovery settle",
            otel.name = "recovery settle",
            step.id = step.id,
            step.kind = ?step.kind,
            step.state = ?step.state,
        );
        match settle(&scope, &step).instrument(span).await {
            Ok(Settled::Done) => {
                report.settled += 1;
                bistro_metrics::recovery_settled();
                tracing::info!(step.id = step.id, kind = ?step.kind, state = ?step.state, "recovery settled a pending step");
            }
            Ok(Settled::Left) => report.left += 1,
            Err(error) => {
                report.left += 1;
                tracing::warn!(%error, step.id = step.id, "recovery could not settle a pending step yet; it tries again later");
            }
        }
        let left = report.left > left_before;
        if left
            && !go_on()
            && let Err(error) = steps::set_lease(data.db(), step.id, &owner, Utc::now()).await
        {
            tracing::warn!(%error, step.id = step.id, "releasing a pending step on stopping failed; its lease runs out on its own");
        }
    }
    Ok(report)
}

/// Runs [`sweep`] every `settings.interval` until `stop` resolves; the
/// sweep in progress finishes first.
pub async fn run(data: DataLayer, settings: RecoverySettings, stop: impl Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    // The first sweep one interval after start, not at once: steps left by
    // a process that died are still leased for `recovery_after` then, so a
    // sweep at start would find nothing to do, and tests that prepare steps
    // of their own sweep them themselves.
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + settings.interval,
        settings.interval,
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let prune_every =
        (Duration::from_secs(3_600).as_secs() / settings.interval.as_secs().max(1)).max(1);
    let mut ticks: u64 = 0;
    let stopping = AtomicBool::new(false);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = ticker.tick() => {}
        }
        let swept = {
            let mut sweep = std::pin::pin!(sweep_while(&data, settings.lease, || {
                !stopping.load(Ordering::Relaxed)
            }));
            tokio::select! {
                biased;
                swept = &mut sweep => swept,
                // Stopping: the step in hand is settled, the rest left.
                () = &mut stop => {
                    stopping.store(true, Ordering::Relaxed);
                    sweep.await
                }
            }
        };
        if let Err(error) = swept {
            tracing::warn!(%error, "a recovery sweep failed; the next one tries again");
        }
        if stopping.load(Ordering::Relaxed) {
            break;
        }
        if ticks.is_multiple_of(prune_every) {
            let before = Utc::now()
                - chrono::Duration::from_std(PROCESSOR_EVENT_RETENTION)
                    .unwrap_or(chrono::Duration::MAX);
            match ordering::prune_processor_events(data.db(), before).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "forgot old payment processor events"),
                Err(error) => tracing::warn!(%error, "pruning payment processor events failed"),
            }
        }
        if ticks.is_multiple_of(prune_every)
            && let Some((ledger, keep)) = &settings.ledger
        {
            match ledger.prune(*keep).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned the simulated processor's ledger"),
                Err(error) => {
                    tracing::warn!(%error, "pruning the simulated processor's ledger failed")
                }
            }
        }
        ticks = ticks.wrapping_add(1);
    }
    tracing::info!("the recovery task stopped");
}

/// Finishes or undoes one step the caller holds (see the module documentation).
pub(crate) async fn settle(scope: &Scope, step: &pending_step::Model) -> Result<Settled> {
    match step.kind {
        StepKind::Checkout => {
            let Some(detail) = CheckoutDetail::decode(step) else {
                tracing::error!(
                    step.id = step.id,
                    "a pending checkout step cannot be read; an operator must look at it"
                );
                return Ok(Settled::Left);
            };
            match step.state {
                StepState::Running => {
                    scope
                        .undo_checkout(step, &detail, Authorized::of(step))
                        .await?;
                }
                StepState::Committed => {
                    let (Some(user_id), Some(key)) = (step.user_id, &step.idempotency_key) else {
                        return Ok(Settled::Left);
                    };
                    if let Some(placed) =
                        ordering::order_by_idempotency_key(&scope.db, user_id, key).await?
                    {
                        scope.after_commit(&placed, &detail, step.id).await;
                    }
                    steps::finish(&scope.db, step.id, &step.lease_owner).await?;
                }
            }
            Ok(Settled::Done)
        }
        StepKind::Capture | StepKind::Void | StepKind::Refund => {
            let Some(detail) = TransitionDetail::decode(step) else {
                tracing::error!(
                    step.id = step.id,
                    "a pending payment change cannot be read; an operator must look at it"
                );
                return Ok(Settled::Left);
            };
            match step.state {
                StepState::Running => {
                    scope.settle_payment_change(step, &detail, true).await?;
                    // Recorded or ended by this call (or by someone before
                    // it); or, the provider still silent, parked for later.
                    if steps::order_step(&scope.db, step.order_id.unwrap_or_default())
                        .await?
                        .is_some_and(|left| left.id == step.id)
                    {
                        return Ok(Settled::Left);
                    }
                }
                StepState::Committed => {
                    if let Some(order_id) = step.order_id
                        && let Some(order) = ordering::order_by_id(&scope.db, order_id).await?
                    {
                        scope.after_transition(&order, &detail, Utc::now()).await?;
                    }
                    steps::finish_any(&scope.db, step.id).await?;
                }
            }
            Ok(Settled::Done)
        }
    }
}
