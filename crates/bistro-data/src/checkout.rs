//! Checkout: a customer's cart becomes an order, paid once, whatever the
//! retries, whatever happens to the request, whatever happens to the process.
//!
//! **Idempotency.** The client sends an idempotency key with each checkout
//! and the same key with each retry of it. The key is the customer's (two
//! customers may use the same one). A checkout:
//!
//! 1. fingerprints what it asks for: the input (fulfilment, table, address,
//!    payment token, expected total) and the cart (restaurant, lines,
//!    options), and prices the cart from SQL through the loaders (items,
//!    options, availability; the client's `expectedTotal` must equal the
//!    computed total). A refusal here costs no claim; when the key already
//!    placed an order (a retry finds the cart emptied), that order is the answer;
//! 2. claims the key by writing its **pending step** (`bistro_sql::steps`):
//!    one statement that writes the step unless the customer has an order
//!    with the key or another step holds it. The step records everything
//!    needed to finish or undo the checkout without its request: the
//!    restaurant, the day, the units it will hold, the amount, the token,
//!    the cart, the provider's idempotency key; and a lease (the request's,
//!    for `payments.recovery_after_secs`). A concurrent retry with the same
//!    fingerprint waits for this one; a different request with the key is
//!    refused (`KeyReused`); a retry that finds a step whose lease has passed
//!    (its request died, or left it for recovery) takes it over and carries on;
//! 3. takes limited stock, all lines or none, once per step (`stock`);
//! 4. authorizes the payment outside any transaction, with the step's
//!    provider key (a retry of the step gets the same authorization back),
//!    and records the provider's reference in the step at once;
//! 5. writes the order, its lines, its payment, its first event, its
//!    confirmation email and the step's `COMMITTED` state in one
//!    transaction, only if the step is still this request's;
//! 6. after the commit: empties the cart (if it is still the one ordered),
//!    forgets the stock hold, counts popularity, publishes `PLACED`, and
//!    deletes the step.
//!
//! **A card that asks its holder to act** (3-D Secure, with Stripe): the
//! provider's answer to step 4 is a payment waiting for the customer. Its
//! reference is recorded in the step, the step is handed to the customer
//! (`steps::AWAITING_CUSTOMER`, leased for `payments.customer_action_secs`,
//! fifteen minutes by default) and the request answers
//! `CARD_ACTION_REQUIRED` with the payment's client secret. Meanwhile the
//! stock stays held by the step (`hold:{step}` of the day's stock hash) and
//! the key stays claimed by it: nobody else can order that stock, and no
//! other checkout with the key can start. The browser completes the
//! challenge and checks out again with the same key: that retry takes the
//! step back at once, asks the provider what came of the challenge (by the
//! recorded reference: the same payment, never a second one) and carries on
//! from step 5, or answers `CARD_ACTION_REQUIRED` again, or undoes the step
//! when the challenge failed. If no retry comes within the lease, recovery
//! cancels the payment and gives the stock back, as for any step whose
//! request went away; it never touches a step whose customer is still in time.
//!
//! A refusal after the claim (no stock, a declined card) undoes what the
//! step did (gives the stock back, voids an authorization) and deletes the
//! step: a key is spent only by an order, so a customer whose card was
//! declined fixes it and retries with the same key. Whatever cannot be
//! undone at once (a store or the provider unreachable) is left in the step
//! for the recovery task (`recovery`), which finishes committed steps and
//! undoes the others.
//!
//! The work runs in a task of its own ([`Scope::detached`]): a client that
//! hangs up, a WebSocket `complete` or the request timeout do not stop it,
//! and the client gets the result by retrying with its key.

use bistro_sql::KeyMap;
use std::fmt::Write as _;
use std::time::Duration;

use bistro_kv::typed::Codec as _;
use bistro_payments::{Checkpoint, MAX_TOKEN_CHARS, Operation};
use bistro_sql::entity::{Fulfilment, StepState, order, order_line, pending_step};
use bistro_sql::ordering::{self, NewEmail, NewOrder, NewPayment, PlaceOrderError, StepGuard};
use bistro_sql::steps::{self, CheckoutClaim, NewCheckoutStep};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sha2::{Digest, Sha256};

use crate::cart::{CartKey, StoredCart};
use crate::events::{self, EventActor};
use crate::money::{format_minor, to_minor};
use crate::pending::{Authorized, CheckoutDetail, lease_owner};
use crate::stock::{self, Want};
use crate::{Result, Scope, options, popularity};

/// What a step of a checkout gives: its result, or the checkout's outcome
/// when the checkout ends there.
type Step<T> = std::result::Result<T, CheckoutOutcome>;

/// Longest a checkout waits for another request holding its key.
pub const WAIT_FOR_CLAIM: Duration = Duration::from_secs(10);

/// Added to delivery orders, in minor units of the restaurant's currency.
pub const DELIVERY_FEE: i64 = 350;

/// Longest idempotency key accepted.
pub const MAX_KEY_CHARS: usize = 100;

/// Longest delivery address accepted.
pub const MAX_ADDRESS_CHARS: usize = 300;

/// Highest table number accepted.
pub const MAX_TABLE_NUMBER: i32 = 9_999;

/// What a checkout asks for: hashes of its input and of its cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    input: String,
    cart: String,
}

impl Fingerprint {
    fn encode(&self) -> String {
        format!("{}.{}", self.input, self.cart)
    }

    fn decode(raw: &str) -> Option<Self> {
        let (input, cart) = raw.split_once('.')?;
        Some(Self {
            input: input.to_owned(),
            cart: cart.to_owned(),
        })
    }

    /// Whether a request with this fingerprint is a retry of the checkout
    /// that placed an order with `placed`: same input, and the same cart or
    /// the empty cart that checkout left behind.
    fn retries(&self, placed: &Self, empty_cart: &str) -> bool {
        self.input == placed.input && (self.cart == placed.cart || self.cart == empty_cart)
    }
}

fn hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..16]
        .iter()
        .fold(String::with_capacity(32), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

fn cart_hash(cart: Option<&StoredCart>) -> String {
    let Some(cart) = cart else {
        return hash("");
    };
    let mut lines: Vec<String> = cart
        .lines
        .iter()
        .map(|l| format!("{}x{}:{:?}", l.menu_item_id, l.quantity, l.option_ids))
        .collect();
    lines.sort();
    hash(&format!("{}|{}", cart.restaurant_id, lines.join(",")))
}

/// A checkout, as the customer asks for it.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    /// The customer.
    pub user_id: i64,
    /// How the order reaches them.
    pub fulfilment: Fulfilment,
    /// Table, for dine-in.
    pub table_number: Option<i32>,
    /// Address, for delivery.
    pub delivery_address: Option<String>,
    /// The card token.
    pub payment_token: String,
    /// The customer's idempotency key.
    pub idempotency_key: String,
    /// The total the customer saw, as they sent it (a decimal in the restaurant's currency).
    pub expected_total: String,
}

impl CheckoutRequest {
    fn input_hash(&self) -> String {
        // "12.5" and "12.50" are the same total.
        let total = if self.expected_total.contains('.') {
            self.expected_total
                .trim_end_matches('0')
                .trim_end_matches('.')
        } else {
            &self.expected_total
        };
        hash(&format!(
            "{:?}|{:?}|{:?}|{}|{}",
            self.fulfilment,
            self.table_number,
            self.delivery_address.as_deref().map(str::trim),
            self.payment_token,
            total
        ))
    }
}

/// What came of a checkout.
#[derive(Debug, Clone)]
pub enum CheckoutOutcome {
    /// The order (new, or the one an earlier attempt with the key placed).
    Placed(order::Model),
    /// Nothing was ordered, for this reason.
    Refused(CheckoutProblem),
}

/// Why a checkout placed no order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutProblem {
    /// The idempotency key is empty, too long, or has characters other than letters, digits, `-` and `_`.
    KeyInvalid,
    /// The key was used for a different checkout.
    KeyReused,
    /// Another request with this key is still running; retry shortly.
    InProgress,
    /// The fulfilment's details are missing or out of place.
    InvalidFulfilment(&'static str),
    /// The cart is empty.
    CartEmpty,
    /// An item cannot be ordered now (gone, switched off, or its options no longer fit).
    ItemUnavailable(i64),
    /// Fewer units of an item are left today than the cart holds.
    OutOfStock(i64),
    /// The total is not what the customer saw; here is the current one (minor units, currency).
    PriceChanged(i64, String),
    /// The card was declined.
    CardDeclined(String),
    /// The card asks its holder to act (3-D Secure): complete the challenge
    /// with this client secret, then check out again with the same key.
    CardActionRequired(String),
    /// The payment could not be made; nothing was charged.
    PaymentFailed(String),
}

impl CheckoutProblem {
    /// The user error code the schema answers this problem with (a metric's label).
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::KeyInvalid => "IDEMPOTENCY_KEY_INVALID",
            Self::KeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::InProgress => "CHECKOUT_IN_PROGRESS",
            Self::InvalidFulfilment(_) => "INVALID_FULFILMENT",
            Self::CartEmpty => "CART_EMPTY",
            Self::ItemUnavailable(_) => "ITEM_UNAVAILABLE",
            Self::OutOfStock(_) => "OUT_OF_STOCK",
            Self::PriceChanged(..) => "PRICE_CHANGED",
            Self::CardDeclined(_) => "CARD_DECLINED",
            Self::CardActionRequired(_) => "CARD_ACTION_REQUIRED",
            Self::PaymentFailed(_) => "PAYMENT_FAILED",
        }
    }

    /// The problem a definite refusal of the payment provider is to the
    /// customer: a decline keeps its code, anything else is `PAYMENT_FAILED`.
    fn refused_by(error: bistro_payments::PaymentError) -> Self {
        match error {
            bistro_payments::PaymentError::Declined { code } => Self::CardDeclined(code),
            other => Self::PaymentFailed(other.code().to_owned()),
        }
    }
}

/// A priced cart.
struct Priced {
    restaurant_id: i64,
    restaurant_name: String,
    currency: String,
    /// Every column set but the ids.
    lines: Vec<order_line::ActiveModel>,
    subtotal: i64,
    total: i64,
    wants: Vec<Want>,
}

impl Scope {
    /// Checks a customer's cart out. See the module documentation.
    pub async fn checkout(&self, request: CheckoutRequest) -> Result<CheckoutOutcome> {
        if let Some(problem) = request_problem(&request) {
            return Ok(CheckoutOutcome::Refused(problem));
        }
        let outcome = self
            .detached(move |scope| async move { scope.checkout_now(request).await })
            .await;
        let (counted, code) = match &outcome {
            Ok(CheckoutOutcome::Placed(_)) => ("placed", "NONE"),
            Ok(CheckoutOutcome::Refused(problem)) => ("refused", problem.code()),
            Err(_) => ("failed", "STORE"),
        };
        crate::observe::checkout(counted, code);
        outcome
    }

    async fn checkout_now(&self, request: CheckoutRequest) -> Result<CheckoutOutcome> {
        use CheckoutOutcome::Refused;
        let cart_key = bistro_kv::typed::Key::render(&CartKey {
            user_id: request.user_id,
        });
        let raw_cart = self.kv.get(&cart_key).await?;
        let cart = raw_cart
            .as_deref()
            .and_then(StoredCart::decode)
            .filter(|cart| !cart.lines.is_empty());
        let fingerprint = Fingerprint {
            input: request.input_hash(),
            cart: cart_hash(cart.as_ref()),
        };
        // Priced before the claim (reads only): a refusal costs no claim.
        let priced = match &cart {
            None => Err(CheckoutProblem::CartEmpty),
            Some(cart) => match self.price(cart).await? {
                Err(problem) => Err(problem),
                Ok(priced) => {
                    let total = priced.total + fee(request.fulfilment);
                    if to_minor(&request.expected_total, &priced.currency) == Some(total) {
                        Ok(priced)
                    } else {
                        Err(CheckoutProblem::PriceChanged(total, priced.currency))
                    }
                }
            },
        };
        let priced = match priced {
            Ok(priced) => priced,
            Err(problem) => {
                // A retry of a checkout that placed its order finds the cart
                // emptied (or changed): the key's order is the answer.
                return Ok(self
                    .placed_with_key(&request, &fingerprint)
                    .await?
                    .unwrap_or(Refused(problem)));
            }
        };
        let owner = lease_owner();
        let now = Utc::now();
        let detail = CheckoutDetail {
            fingerprint: fingerprint.encode(),
            restaurant_id: priced.restaurant_id,
            day: now.date_naive(),
            holds: priced
                .wants
                .iter()
                .map(|w| (w.menu_item_id, w.quantity))
                .collect(),
            amount: priced.total + fee(request.fulfilment),
            currency: priced.currency.clone(),
            token: request.payment_token.clone(),
            cart: raw_cart.clone(),
        };
        let deadline = tokio::time::Instant::now() + WAIT_FOR_CLAIM;
        let mut pause = Duration::from_millis(10);
        // Claim the key, or wait for whoever holds it.
        let step = loop {
            let now = Utc::now();
            let claim = steps::claim_checkout(
                &self.db,
                NewCheckoutStep {
                    user_id: request.user_id,
                    idempotency_key: request.idempotency_key.clone(),
                    provider: self.payments.provider.name().to_owned(),
                    provider_key: format!(
                        "checkout-{}-{}-{owner}",
                        request.user_id, request.idempotency_key
                    ),
                    detail: serde_json::to_string(&detail).unwrap_or_default(),
                    lease_owner: owner.clone(),
                    lease_until: self.lease_from(now),
                    now,
                    durability_may_trail: self.payments.provider.keeps_books_in_the_store()
                        && detail.holds.is_empty(),
                },
            )
            .await?;
            match claim {
                CheckoutClaim::Claimed(step) => break *step,
                CheckoutClaim::Ordered => {
                    if let Some(outcome) = self.placed_with_key(&request, &fingerprint).await? {
                        return Ok(outcome);
                    }
                }
                CheckoutClaim::Held => {
                    let Some(held) =
                        steps::checkout_step(&self.db, request.user_id, &request.idempotency_key)
                            .await?
                    else {
                        continue;
                    };
                    if held.lease_owner == steps::AWAITING_CUSTOMER
                        && held.state == StepState::Running
                        && CheckoutDetail::decode(&held)
                            .is_some_and(|d| d.fingerprint == detail.fingerprint)
                    {
                        // The customer is back from their card's challenge.
                        match steps::take_from_customer(
                            &self.db,
                            held.id,
                            &owner,
                            self.lease_from(now),
                            now,
                        )
                        .await?
                        {
                            Some(step) => break step,
                            // Another retry took it: wait for that one.
                            None => continue,
                        }
                    }
                    if held.lease_until < now
                        && let Some(step) =
                            steps::take_over(&self.db, held.id, &owner, self.lease_from(now), now)
                                .await?
                    {
                        let resumable = step.state == StepState::Running
                            && CheckoutDetail::decode(&step)
                                .is_some_and(|d| d.fingerprint == detail.fingerprint);
                        if resumable {
                            // Its request died or left it: carry on from where it stopped.
                            tracing::info!(
                                step.id = step.id,
                                "a retry resumes an unfinished checkout"
                            );
                            break step;
                        }
                        // Committed (finish what its request left), or another
                        // checkout's (undo it, freeing the key): then claim again.
                        crate::recovery::settle(self, &step).await?;
                        continue;
                    }
                    if held.state == StepState::Committed {
                        // Its order is written (the bookkeeping after it may
                        // still be running): the order is the answer.
                        if let Some(outcome) = self.placed_with_key(&request, &fingerprint).await? {
                            return Ok(outcome);
                        }
                    } else if CheckoutDetail::decode(&held).map(|d| d.fingerprint)
                        != Some(detail.fingerprint.clone())
                    {
                        return Ok(Refused(CheckoutProblem::KeyReused));
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Ok(Refused(CheckoutProblem::InProgress));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
            }
        };
        let outcome = self
            .checkout_holding(&request, &step, priced, &fingerprint)
            .await;
        if outcome.is_err() {
            // A store failed half way: let a retry or recovery settle the step now.
            self.park(&step).await;
        }
        outcome
    }

    /// The order a customer placed with the request's key, as this
    /// request's answer: `Placed` when the request is a retry of the
    /// checkout that placed it, `KeyReused` when it is another; `None`
    /// when the key placed no order.
    async fn placed_with_key(
        &self,
        request: &CheckoutRequest,
        fingerprint: &Fingerprint,
    ) -> Result<Option<CheckoutOutcome>> {
        let Some(existing) =
            ordering::order_by_idempotency_key(&self.db, request.user_id, &request.idempotency_key)
                .await?
        else {
            return Ok(None);
        };
        let placed = existing
            .checkout_fingerprint
            .as_deref()
            .and_then(Fingerprint::decode);
        Ok(Some(match placed {
            Some(placed) if fingerprint.retries(&placed, &cart_hash(None)) => {
                CheckoutOutcome::Placed(existing)
            }
            _ => CheckoutOutcome::Refused(CheckoutProblem::KeyReused),
        }))
    }

    /// The lease a holder of a step takes at `now`.
    pub(crate) fn lease_from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.payments.recovery_after)
            .unwrap_or(chrono::Duration::MAX)
    }

    /// Hands `step` to its customer for their card's challenge (see the
    /// module documentation): the answer tells them to complete it.
    async fn await_customer(
        &self,
        step: &pending_step::Model,
        client_secret: String,
    ) -> CheckoutOutcome {
        let until = Utc::now()
            + chrono::Duration::from_std(self.payments.customer_action)
                .unwrap_or(chrono::Duration::MAX);
        match steps::await_customer(&self.db, step.id, &step.lease_owner, until).await {
            Ok(true) => {
                tracing::info!(
                    step.id = step.id,
                    "a checkout waits for its customer's card challenge"
                );
                CheckoutOutcome::Refused(CheckoutProblem::CardActionRequired(client_secret))
            }
            // Taken over meanwhile: whoever holds it now settles it.
            Ok(false) => CheckoutOutcome::Refused(CheckoutProblem::InProgress),
            Err(error) => {
                // Its lease runs out as it was: the customer's retry, after
                // it, takes the step over and asks the provider again.
                tracing::warn!(%error, step.id = step.id, "handing a checkout to its customer failed");
                CheckoutOutcome::Refused(CheckoutProblem::CardActionRequired(client_secret))
            }
        }
    }

    /// Ends this request's lease on `step` now, so that a retry or the
    /// recovery task settles it without waiting (best effort: if SQL is
    /// down, the lease simply runs out).
    pub(crate) async fn park(&self, step: &pending_step::Model) {
        if let Err(error) = steps::set_lease(&self.db, step.id, &step.lease_owner, Utc::now()).await
        {
            tracing::warn!(%error, step.id = step.id, "leaving a pending step to recovery failed; its lease runs out on its own");
        }
    }

    /// The provider gave no definite answer about a step's payment: the step
    /// is parked for a retry with the key or for recovery, and the request
    /// answers `PAYMENT_FAILED`.
    async fn left_for_recovery(
        &self,
        step: &pending_step::Model,
        error: &bistro_payments::PaymentError,
    ) -> CheckoutOutcome {
        tracing::warn!(
            code = error.code(),
            step.id = step.id,
            "the payment provider gave no definite answer; the checkout is left for a retry or recovery"
        );
        self.park(step).await;
        CheckoutOutcome::Refused(CheckoutProblem::PaymentFailed(error.code().to_owned()))
    }

    /// Everything after the claim: the stock, the payment, the order, the
    /// bookkeeping. Refusals undo what the step did.
    async fn checkout_holding(
        &self,
        request: &CheckoutRequest,
        step: &pending_step::Model,
        priced: Priced,
        fingerprint: &Fingerprint,
    ) -> Result<CheckoutOutcome> {
        use CheckoutOutcome::Refused;
        let provider = &self.payments.provider;
        // The step's own record: a resumed step keeps the day and amount it began with.
        let Some(detail) = CheckoutDetail::decode(step) else {
            tracing::error!(step.id = step.id, "a pending checkout step cannot be read");
            return Ok(Refused(CheckoutProblem::InProgress));
        };
        if let Err(refused) = self.take_stock(step, &detail, &priced).await? {
            return Ok(refused);
        }
        // The payment, before any transaction.
        let reference = match self.authorize(step, &detail).await? {
            Ok(reference) => reference,
            Err(outcome) => return Ok(outcome),
        };
        let placed = match self
            .place(request, step, &detail, priced, reference, fingerprint)
            .await?
        {
            Ok(placed) => placed,
            Err(outcome) => return Ok(outcome),
        };
        provider
            .checkpoint(&detail.token, Checkpoint::Committed)
            .await;
        self.after_commit(&placed, &detail, step.id).await;
        // Deleted with other checkouts' steps, after the answer.
        self.finished_steps
            .finish(step.id, step.lease_owner.clone());
        Ok(CheckoutOutcome::Placed(placed))
    }

    /// Checkout, step 1: takes the step's stock (once per step, whoever runs it).
    async fn take_stock(
        &self,
        step: &pending_step::Model,
        detail: &CheckoutDetail,
        priced: &Priced,
    ) -> Result<Step<()>> {
        use CheckoutOutcome::Refused;
        match stock::reserve(
            &self.db,
            &self.kv,
            detail.day,
            detail.restaurant_id,
            &priced.wants,
            step.id,
        )
        .await?
        {
            Ok(_) => {}
            Err(item) => {
                self.undo_or_leave(step, detail, Authorized::Nothing).await;
                return Ok(Err(Refused(CheckoutProblem::OutOfStock(item))));
            }
        }
        self.payments
            .provider
            .checkpoint(&detail.token, Checkpoint::StockTaken)
            .await;
        Ok(Ok(()))
    }

    /// Checkout, step 2: the payment, before any transaction (asked anew,
    /// or, for a resumed step, where the payment it asked for stands).
    async fn authorize(
        &self,
        step: &pending_step::Model,
        detail: &CheckoutDetail,
    ) -> Result<Step<String>> {
        use CheckoutOutcome::Refused;
        let provider = &self.payments.provider;
        Ok(Ok(match &step.provider_reference {
            // Resumed after the provider answered: where that payment stands
            // now (a provider that never asks the card holder to act says at
            // once; one that does is asked, e.g. after a card's challenge).
            Some(reference) => match provider.resume_authorization(reference).await {
                Ok(authorization) => authorization.reference,
                Err(bistro_payments::PaymentError::ActionRequired { client_secret, .. }) => {
                    return Ok(Err(self.await_customer(step, client_secret).await));
                }
                Err(error) if error.is_definite() => {
                    self.undo_or_leave(step, detail, Authorized::Reference(reference.clone()))
                        .await;
                    return Ok(Err(Refused(CheckoutProblem::refused_by(error))));
                }
                Err(error) => return Ok(Err(self.left_for_recovery(step, &error).await)),
            },
            None => match provider
                .authorize(detail.authorize_request(&step.provider_key))
                .await
            {
                Ok(authorization) => {
                    // Recorded at once, before anything else can fail, so
                    // that recovery finds the payment by its reference; a
                    // provider that finds authorizations by their key needs
                    // no record (one write fewer per checkout).
                    if !provider.finds_authorizations_by_key()
                        && !steps::set_reference(
                            &self.db,
                            step.id,
                            &step.lease_owner,
                            &authorization.reference,
                        )
                        .await?
                    {
                        // Taken over meanwhile: whoever holds it now settles it.
                        return Ok(Err(Refused(CheckoutProblem::InProgress)));
                    }
                    authorization.reference
                }
                Err(bistro_payments::PaymentError::ActionRequired {
                    reference,
                    client_secret,
                }) => {
                    // The payment exists and waits for its card holder:
                    // recorded first, so that recovery cancels it if the
                    // customer never comes back.
                    if !steps::set_reference(&self.db, step.id, &step.lease_owner, &reference)
                        .await?
                    {
                        return Ok(Err(Refused(CheckoutProblem::InProgress)));
                    }
                    return Ok(Err(self.await_customer(step, client_secret).await));
                }
                Err(error) if error.is_definite() => {
                    self.undo_or_leave(step, detail, Authorized::Nothing).await;
                    return Ok(Err(Refused(CheckoutProblem::refused_by(error))));
                }
                // The outcome is unknown: a retry with the key, or recovery,
                // asks the provider again and settles it.
                Err(error) => return Ok(Err(self.left_for_recovery(step, &error).await)),
            },
        }))
    }

    /// Checkout, step 3: the order, written in one transaction while the
    /// step is still this request's.
    async fn place(
        &self,
        request: &CheckoutRequest,
        step: &pending_step::Model,
        detail: &CheckoutDetail,
        priced: Priced,
        reference: String,
        fingerprint: &Fingerprint,
    ) -> Result<Step<order::Model>> {
        use CheckoutOutcome::Refused;
        let provider = &self.payments.provider;
        let Some(customer) = self.loaders.user.load_one(request.user_id).await? else {
            self.undo_or_leave(step, detail, Authorized::Reference(reference))
                .await;
            return Ok(Err(Refused(CheckoutProblem::CartEmpty)));
        };
        let new = NewOrder {
            user_id: request.user_id,
            restaurant_id: detail.restaurant_id,
            fulfilment: request.fulfilment,
            table_number: request.table_number,
            delivery_address: request
                .delivery_address
                .as_deref()
                .map(|a| a.trim().to_owned()),
            subtotal_amount: priced.subtotal,
            total_amount: detail.amount,
            currency_code: detail.currency.clone(),
            idempotency_key: request.idempotency_key.clone(),
            checkout_fingerprint: detail.fingerprint.clone(),
            confirmation: confirmation_email(&customer.email, request, &priced, detail.amount),
            lines: priced.lines,
            payment: NewPayment {
                provider: provider.name().to_owned(),
                reference: reference.clone(),
            },
            // Dated when the checkout began: the day its stock was taken from.
            placed_at: step.created_at,
            step: Some(StepGuard {
                id: step.id,
                owner: step.lease_owner.clone(),
                lease_until: self.lease_from(Utc::now()),
            }),
        };
        let placed = match ordering::place_order(&self.db, new).await {
            Ok(written) => {
                // The answer reads the order's lines, payment and events:
                // hand them the rows just written instead of reading them back.
                let id = written.order.id;
                self.loaders.order_lines.prime([(id, written.lines.into())]);
                self.loaders.payment.prime([(id, written.payment)]);
                self.loaders
                    .order_events
                    .prime([(id, vec![written.event].into())]);
                self.loaders.order.prime([(id, written.order.clone())]);
                written.order
            }
            Err(PlaceOrderError::DuplicateKey) => {
                // The key has an order that no step of this key wrote (placed
                // before steps existed): it is the answer; this attempt is undone.
                self.undo_or_leave(step, detail, Authorized::Reference(reference))
                    .await;
                return Ok(Err(self
                    .placed_with_key(request, fingerprint)
                    .await?
                    .unwrap_or(Refused(CheckoutProblem::InProgress))));
            }
            Err(PlaceOrderError::LeaseLost) => {
                // The step outlived its lease and was taken over: whoever holds it settles it.
                return Ok(Err(Refused(CheckoutProblem::InProgress)));
            }
            // The outcome of the commit is unknown: nothing is given back
            // here. The step's state says what happened, and a retry or
            // recovery (once this request parks it) acts on it.
            Err(PlaceOrderError::Store(error)) => return Err(error.into()),
        };
        Ok(Ok(placed))
    }

    /// What follows the commit of a checkout's order (by its request, or by
    /// recovery when the request died): the cart emptied if it is still the
    /// one ordered, the stock hold forgotten, popularity counted, `PLACED`
    /// published. Failures are logged: the order stands.
    pub(crate) async fn after_commit(
        &self,
        placed: &order::Model,
        detail: &CheckoutDetail,
        step_id: i64,
    ) {
        if let Some(raw_cart) = &detail.cart {
            let cart_key = bistro_kv::typed::Key::render(&CartKey {
                user_id: placed.user_id,
            });
            match self.kv.delete_if(&cart_key, raw_cart).await {
                Ok(_) => self.loaders.cart.clear(),
                Err(error) => {
                    tracing::warn!(%error, order.id = placed.id, "emptying the ordered cart failed");
                }
            }
        }
        if !detail.holds.is_empty() {
            stock::settle_hold(&self.kv, detail.day, detail.restaurant_id, step_id).await;
        }
        let mut units: KeyMap<i64, i64> = KeyMap::default();
        match self.loaders.order_lines.load_one(placed.id).await {
            Ok(lines) => {
                for line in lines.iter().flat_map(|lines| lines.iter()) {
                    *units.entry(line.menu_item_id).or_default() += i64::from(line.quantity);
                }
            }
            Err(error) => {
                tracing::warn!(%error, order.id = placed.id, "reading an order's lines to count popularity failed");
            }
        }
        for (menu_item_id, quantity) in units {
            if let Err(error) = popularity::record(
                &self.kv,
                detail.day,
                placed.restaurant_id,
                menu_item_id,
                quantity,
            )
            .await
            {
                tracing::warn!(%error, order.id = placed.id, "counting popularity failed");
            }
        }
        events::publish_order_transition(
            &self.kv,
            placed,
            None,
            EventActor::customer(placed.user_id),
            placed.created_at,
        )
        .await;
    }

    /// Undoes a checkout that places no order: gives back its stock hold,
    /// voids its authorization, deletes its step. `Err` when a store or the
    /// provider could not be reached: the step then stays for recovery.
    pub(crate) async fn undo_checkout(
        &self,
        step: &pending_step::Model,
        detail: &CheckoutDetail,
        authorized: Authorized,
    ) -> Result<bool> {
        stock::release_hold(
            &self.kv,
            detail.day,
            detail.restaurant_id,
            step.id,
            &detail.holds,
        )
        .await?;
        let provider = &self.payments.provider;
        let reference = match authorized {
            Authorized::Nothing => None,
            Authorized::Reference(reference) => Some(reference),
            Authorized::Unknown => provider
                .find_authorization(&detail.authorize_request(&step.provider_key))
                .await
                .map_err(|error| crate::Error::Task(format!("payment provider: {error}")))?
                .map(|authorization| authorization.reference),
        };
        if let Some(reference) = reference {
            let key = format!("{}-void", step.provider_key);
            match provider.operate(Operation::Void, &reference, &key).await {
                Ok(()) => {}
                Err(error) if error.is_definite() => {
                    // Voided already, or expired: nothing is held any more.
                    tracing::info!(
                        code = error.code(),
                        step.id = step.id,
                        "voiding an unused authorization was refused; it holds nothing"
                    );
                }
                Err(error) => {
                    return Err(crate::Error::Task(format!("payment provider: {error}")));
                }
            }
        }
        Ok(steps::finish(&self.db, step.id, &step.lease_owner).await?)
    }

    /// [`Self::undo_checkout`] for a request that answers a refusal: what
    /// cannot be undone now is left to recovery.
    async fn undo_or_leave(
        &self,
        step: &pending_step::Model,
        detail: &CheckoutDetail,
        authorized: Authorized,
    ) {
        if let Err(error) = self.undo_checkout(step, detail, authorized).await {
            tracing::warn!(%error, step.id = step.id, "undoing a refused checkout failed; recovery finishes it");
            self.park(step).await;
        }
    }

    /// Prices a cart from SQL through the loaders: every item must exist,
    /// belong to the cart's restaurant, be available, and its options must
    /// still fit it.
    async fn price(
        &self,
        cart: &StoredCart,
    ) -> Result<std::result::Result<Priced, CheckoutProblem>> {
        let ids: Vec<i64> = cart.lines.iter().map(|l| l.menu_item_id).collect();
        let (items, groups, restaurant) = tokio::join!(
            self.loaders.menu_item.load_many(ids.iter().copied()),
            self.loaders.option_groups.load_many(ids.iter().copied()),
            self.loaders.restaurant.load_one(cart.restaurant_id),
        );
        let (items, groups) = (items?, groups?);
        let Some(restaurant) = restaurant? else {
            return Ok(Err(CheckoutProblem::ItemUnavailable(ids[0])));
        };
        let mut lines = Vec::with_capacity(cart.lines.len());
        let mut subtotal = 0i64;
        let mut wanted: KeyMap<i64, (i32, i64)> = KeyMap::default();
        for line in &cart.lines {
            let id = line.menu_item_id;
            let Some(item) = items.get(&id) else {
                return Ok(Err(CheckoutProblem::ItemUnavailable(id)));
            };
            if !item.available
                || item.restaurant_id != cart.restaurant_id
                || item.currency_code != restaurant.currency_code
            {
                return Ok(Err(CheckoutProblem::ItemUnavailable(id)));
            }
            let item_groups = groups.get(&id).cloned().unwrap_or_default();
            let Ok(chosen) = options::validate(&item_groups, &line.option_ids) else {
                return Ok(Err(CheckoutProblem::ItemUnavailable(id)));
            };
            let unit = options::unit_price(item.price_amount, &chosen);
            let line_total = unit * i64::from(line.quantity);
            subtotal += line_total;
            let options_json = serde_json::Value::Array(
                chosen
                    .iter()
                    .map(|(group, option)| {
                        serde_json::json!({
                            "group": group,
                            "option": option.name,
                            "priceDelta": option.price_delta_amount,
                        })
                    })
                    .collect(),
            )
            .to_string();
            lines.push(order_line::ActiveModel {
                menu_item_id: Set(id),
                name: Set(item.name.clone()),
                quantity: Set(line.quantity),
                unit_price_amount: Set(unit),
                options: Set(options_json),
                line_total_amount: Set(line_total),
                ..Default::default()
            });
            if let Some(daily_stock) = item.daily_stock {
                wanted.entry(id).or_insert((daily_stock, 0)).1 += i64::from(line.quantity);
            }
        }
        let mut wants: Vec<Want> = wanted
            .into_iter()
            .map(|(menu_item_id, (daily_stock, quantity))| Want {
                menu_item_id,
                daily_stock,
                quantity,
            })
            .collect();
        wants.sort_by_key(|w| w.menu_item_id);
        Ok(Ok(Priced {
            restaurant_id: restaurant.id,
            restaurant_name: restaurant.name.clone(),
            currency: restaurant.currency_code.clone(),
            lines,
            subtotal,
            total: subtotal,
            wants,
        }))
    }
}

/// The fee a fulfilment adds.
pub fn fee(fulfilment: Fulfilment) -> i64 {
    if fulfilment == Fulfilment::Delivery {
        DELIVERY_FEE
    } else {
        0
    }
}

fn fulfilment_problem(request: &CheckoutRequest) -> Option<CheckoutProblem> {
    let address = request
        .delivery_address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    match request.fulfilment {
        Fulfilment::Delivery => match address {
            None => Some(CheckoutProblem::InvalidFulfilment(
                "A delivery needs a delivery address.",
            )),
            // The shared rule for text others read (the kitchen, the courier):
            // no control, invisible or direction-changing characters.
            Some(a)
                if a.chars().count() > MAX_ADDRESS_CHARS
                    || !bistro_auth::text::is_clean_line(a) =>
            {
                Some(CheckoutProblem::InvalidFulfilment(
                    "The delivery address is too long or has control, invisible or direction-changing characters.",
                ))
            }
            _ if request.table_number.is_some() => Some(CheckoutProblem::InvalidFulfilment(
                "A delivery has no table number.",
            )),
            _ => None,
        },
        Fulfilment::DineIn => match request.table_number {
            None => Some(CheckoutProblem::InvalidFulfilment(
                "Dining in needs a table number.",
            )),
            Some(n) if !(1..=MAX_TABLE_NUMBER).contains(&n) => Some(
                CheckoutProblem::InvalidFulfilment("The table number is out of range."),
            ),
            _ if address.is_some() => Some(CheckoutProblem::InvalidFulfilment(
                "Dining in has no delivery address.",
            )),
            _ => None,
        },
        Fulfilment::Pickup => {
            if request.table_number.is_some() || address.is_some() {
                Some(CheckoutProblem::InvalidFulfilment(
                    "A pickup has neither a table number nor a delivery address.",
                ))
            } else {
                None
            }
        }
    }
}

/// What is wrong with a checkout's input before anything is read.
fn request_problem(request: &CheckoutRequest) -> Option<CheckoutProblem> {
    let key = &request.idempotency_key;
    if key.is_empty()
        || key.chars().count() > MAX_KEY_CHARS
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Some(CheckoutProblem::KeyInvalid);
    }
    if request.payment_token.is_empty() || request.payment_token.chars().count() > MAX_TOKEN_CHARS {
        // A processor declines a token it cannot know; this one is not even sent.
        return Some(CheckoutProblem::CardDeclined("invalid_token".into()));
    }
    fulfilment_problem(request)
}

/// The confirmation email: the order (its id is filled in when it is
/// written), the lines, the total and how it reaches the customer.
fn confirmation_email(
    recipient: &str,
    request: &CheckoutRequest,
    priced: &Priced,
    total: i64,
) -> NewEmail {
    let money = |minor: i64| {
        format!(
            "{} {}",
            format_minor(minor, &priced.currency),
            priced.currency
        )
    };
    let fulfilment = match request.fulfilment {
        Fulfilment::Pickup => "Pickup at the counter".to_owned(),
        Fulfilment::Delivery => format!(
            "Delivery to {}",
            request
                .delivery_address
                .as_deref()
                .unwrap_or_default()
                .trim()
        ),
        Fulfilment::DineIn => format!(
            "Dine-in, table {}",
            request.table_number.unwrap_or_default()
        ),
    };
    let mut body = format!(
        "Thank you for your order at {}.\n\nOrder number: {{order_id}}\nFulfilment: {fulfilment}\n\n",
        priced.restaurant_name
    );
    for line in &priced.lines {
        // Priced lines have every column but the ids set (`price`).
        let (Set(quantity), Set(name), Set(options), Set(line_total)) = (
            &line.quantity,
            &line.name,
            &line.options,
            &line.line_total_amount,
        ) else {
            continue;
        };
        let options: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(options)
            .unwrap_or_default()
            .iter()
            .filter_map(|o| o["option"].as_str().map(str::to_owned))
            .collect();
        let options = if options.is_empty() {
            String::new()
        } else {
            format!(" ({})", options.join(", "))
        };
        let _ = writeln!(
            body,
            "  {quantity} x {name}{options}: {}",
            money(*line_total)
        );
    }
    let _ = writeln!(body, "\nSubtotal: {}", money(priced.subtotal));
    if fee(request.fulfilment) > 0 {
        let _ = writeln!(body, "Delivery fee: {}", money(fee(request.fulfilment)));
    }
    let _ = writeln!(body, "Total: {}", money(total));
    // Lines under 76 characters keep the message plain text, unencoded.
    body.push_str(
        "\nYour card is authorized for the total; it is charged when the\nrestaurant accepts the order.\n",
    );
    NewEmail {
        recipient: recipient.to_owned(),
        subject: format!("Your order {{order_id}} at {}", priced.restaurant_name),
        body,
        kind: "ORDER_CONFIRMATION".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_matches_the_same_input_with_the_same_or_the_emptied_cart() {
        let placed = Fingerprint {
            input: "in".into(),
            cart: "cart".into(),
        };
        let empty = cart_hash(None);
        let same = placed.clone();
        let emptied = Fingerprint {
            input: "in".into(),
            cart: empty.clone(),
        };
        let other_cart = Fingerprint {
            input: "in".into(),
            cart: "other".into(),
        };
        let other_input = Fingerprint {
            input: "else".into(),
            cart: "cart".into(),
        };
        assert!(same.retries(&placed, &empty));
        assert!(emptied.retries(&placed, &empty));
        assert!(!other_cart.retries(&placed, &empty));
        assert!(!other_input.retries(&placed, &empty));
    }

    fn request(
        fulfilment: Fulfilment,
        table: Option<i32>,
        address: Option<&str>,
    ) -> CheckoutRequest {
        CheckoutRequest {
            user_id: 1,
            fulfilment,
            table_number: table,
            delivery_address: address.map(str::to_owned),
            payment_token: "tok_visa".into(),
            idempotency_key: "k".into(),
            expected_total: "12.50".into(),
        }
    }

    #[test]
    fn fulfilment_details_must_fit_the_fulfilment() {
        use Fulfilment::{Delivery, DineIn, Pickup};
        assert_eq!(fulfilment_problem(&request(Pickup, None, None)), None);
        assert!(fulfilment_problem(&request(Pickup, Some(3), None)).is_some());
        assert_eq!(fulfilment_problem(&request(DineIn, Some(3), None)), None);
        assert!(fulfilment_problem(&request(DineIn, None, None)).is_some());
        assert!(fulfilment_problem(&request(DineIn, Some(0), None)).is_some());
        assert_eq!(
            fulfilment_problem(&request(Delivery, None, Some("1 Main St"))),
            None
        );
        assert!(fulfilment_problem(&request(Delivery, None, Some("  "))).is_some());
        assert!(fulfilment_problem(&request(Delivery, Some(2), Some("1 Main St"))).is_some());
        // The same total written two ways is the same input.
        let mut a = request(Pickup, None, None);
        let b = a.clone();
        a.expected_total = "12.5".into();
        assert_eq!(a.input_hash(), b.input_hash());
    }
}
