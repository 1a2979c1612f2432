#![doc = include_str!("../README.md")]

mod ledger;
mod observed;
mod simulated;
pub mod stripe;
pub mod webhook;

use std::fmt;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;

pub use ledger::{
    Applied, LedgerAuthorization, LedgerError, LedgerOperation, LedgerOutcome, MemoryLedger,
    PauseState, SimulatedLedger,
};
pub use observed::Observed;
pub use simulated::{Pause, SimulatedProcessor, SimulatedStats};
pub use stripe::{STRIPE_API_VERSION, StripeProcessor, StripeSettings};

/// Longest card token a checkout accepts (a provider's token or payment
/// method id is far shorter; the bound keeps a megabyte "token" out of every
/// store it would pass through).
pub const MAX_TOKEN_CHARS: usize = 255;

/// What a provider answered instead of doing what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The card was refused (insufficient funds, a blocked card, a bad
    /// token): asking again with the same card will not help.
    #[error("declined: {code}")]
    Declined {
        /// The provider's reason code, e.g. `card_declined`.
        code: String,
    },
    /// The provider refused the operation (an error on its side it reported,
    /// an illegal operation such as capturing a voided authorization):
    /// nothing moved.
    #[error("payment failed: {code}")]
    Failed {
        /// The provider's reason code, e.g. `processing_error`.
        code: String,
    },
    /// The outcome is unknown: the provider could not be reached or did not
    /// answer in time, so the operation may or may not have happened. Asking
    /// again with the same idempotency key finds out; the caller leaves its
    /// pending step for recovery.
    #[error("payment provider unavailable: {code}")]
    Unavailable {
        /// What went wrong, e.g. `timeout`.
        code: String,
    },
    /// The card's bank asks its holder to confirm (3-D Secure): nothing is
    /// reserved until they complete the challenge in their browser with the
    /// client secret; then [`PaymentProvider::resume_authorization`] tells
    /// what came of it.
    #[error("the card holder must act (3-D Secure)")]
    ActionRequired {
        /// The provider's id for the payment waiting for its holder.
        reference: String,
        /// What the browser completes the challenge with (Stripe.js); it
        /// can confirm this one payment and nothing else.
        client_secret: String,
    },
}

impl PaymentError {
    /// The provider's reason code.
    pub fn code(&self) -> &str {
        match self {
            Self::Declined { code } | Self::Failed { code } | Self::Unavailable { code } => code,
            Self::ActionRequired { .. } => "requires_action",
        }
    }

    /// Whether the outcome is known (a refusal, or a payment waiting for
    /// its card holder), as opposed to an unknown outcome.
    pub fn is_definite(&self) -> bool {
        !matches!(self, Self::Unavailable { .. })
    }
}

/// Results of provider calls.
pub type Result<T, E = PaymentError> = std::result::Result<T, E>;

/// An authorization to reserve money on a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// Makes the call idempotent: the same key returns the same authorization.
    pub idempotency_key: String,
    /// The card, as a token from the client (never a card number).
    pub token: String,
    /// Amount in minor units.
    pub amount: i64,
    /// ISO 4217 currency.
    pub currency_code: String,
}

/// Reserved money, to capture or void later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The provider's id for it.
    pub reference: String,
}

/// Where a payment stands on the provider's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderState {
    /// Reserved on the card, not taken.
    Authorized,
    /// Taken.
    Captured,
    /// Released before it was taken.
    Voided,
    /// Given back after it was taken.
    Refunded,
    /// Taken, and part of it given back.
    PartiallyRefunded,
    /// Taken, and disputed by the card holder with their bank.
    Disputed,
    /// Nothing reserved yet: the payment waits for its card holder (3-D
    /// Secure) or was never confirmed.
    Pending,
    /// Nothing reserved, and nothing will be: declined, or its challenge failed.
    NotAuthorized,
}

impl ProviderState {
    /// Its name in logs and reports: `AUTHORIZED`, `PARTIALLY_REFUNDED`, ….
    pub fn name(self) -> &'static str {
        match self {
            Self::Authorized => "AUTHORIZED",
            Self::Captured => "CAPTURED",
            Self::Voided => "VOIDED",
            Self::Refunded => "REFUNDED",
            Self::PartiallyRefunded => "PARTIALLY_REFUNDED",
            Self::Disputed => "DISPUTED",
            Self::Pending => "PENDING",
            Self::NotAuthorized => "NOT_AUTHORIZED",
        }
    }

    /// Whether money is reserved or taken in this state (and not all of it
    /// given back): a payment in such a state must belong to an order.
    pub fn holds_money(self) -> bool {
        matches!(
            self,
            Self::Authorized | Self::Captured | Self::PartiallyRefunded | Self::Disputed
        )
    }
}

/// A payment as the provider sees it (recovery and reconciliation ask).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentSnapshot {
    /// Where it stands.
    pub state: ProviderState,
    /// How much was given back so far, in minor units, when the provider says.
    pub amount_refunded: Option<i64>,
}

/// The three operations on an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Take the authorized amount: `Authorized → Captured`.
    Capture,
    /// Release the authorization: `Authorized → Voided`.
    Void,
    /// Give the captured amount back: `Captured → Refunded`.
    Refund,
}

impl Operation {
    /// The state the payment must be in, and the state it moves to.
    pub fn moves(self) -> (ProviderState, ProviderState) {
        match self {
            Self::Capture => (ProviderState::Authorized, ProviderState::Captured),
            Self::Void => (ProviderState::Authorized, ProviderState::Voided),
            Self::Refund => (ProviderState::Captured, ProviderState::Refunded),
        }
    }

    /// Its name in keys and logs: `capture`, `void`, `refund`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Capture => "capture",
            Self::Void => "void",
            Self::Refund => "refund",
        }
    }
}

/// A point of a checkout between two of its steps, where the simulated
/// processor can be told to pause (tests drive races and crashes with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// Limited stock is taken; the payment is not yet asked for.
    StockTaken,
    /// The order is committed; the bookkeeping after it has not run.
    Committed,
}

/// A payment provider. Implementations must be idempotent per key: a call
/// repeated with the same idempotency key returns the first call's result.
pub trait PaymentProvider: Send + Sync + fmt::Debug {
    /// The provider's name, stored with each payment (`simulated`).
    fn name(&self) -> &'static str;

    /// Reserves `amount` on the card.
    fn authorize(&self, request: AuthorizeRequest) -> BoxFuture<'_, Result<Authorization>>;

    /// The authorization an earlier [`authorize`](Self::authorize) with this
    /// request's key made, if any (recovery asks, after a process died
    /// before it learnt the answer). A provider that can look it up without
    /// making one does; one that cannot replays the request with the same
    /// key, which returns the first answer (this default).
    fn find_authorization<'a>(
        &'a self,
        request: &'a AuthorizeRequest,
    ) -> BoxFuture<'a, Result<Option<Authorization>>> {
        async move {
            match self.authorize(request.clone()).await {
                Ok(authorization) => Ok(Some(authorization)),
                // Waiting for its card holder: there is a payment to cancel.
                Err(PaymentError::ActionRequired { reference, .. }) => {
                    Ok(Some(Authorization { reference }))
                }
                Err(error) if error.is_definite() => Ok(None),
                Err(error) => Err(error),
            }
        }
        .boxed()
    }

    /// Whether [`find_authorization`](Self::find_authorization) looks an
    /// authorization up by its key without making one. Then a checkout need
    /// not record the provider's reference before it writes its order (one
    /// write fewer): recovery finds the authorization by the key instead.
    fn finds_authorizations_by_key(&self) -> bool {
        false
    }

    /// Whether the provider writes its books to Bistro's own relational
    /// store (the simulated processor with its ledger in SQL). Then a
    /// checkout that takes no stock may let its claim's commit trail the
    /// disk: the authorization is written after the claim to the same log,
    /// so a crash of the database cannot keep the one without the other.
    /// A processor elsewhere (Stripe) keeps this default: the claim must be
    /// on disk before the processor is asked for money.
    fn keeps_books_in_the_store(&self) -> bool {
        false
    }

    /// What came of a payment that waited for its card holder
    /// ([`PaymentError::ActionRequired`]), asked by the checkout that
    /// resumes it: the authorization once they completed the challenge,
    /// `ActionRequired` again while they have not, `Declined` when it failed.
    /// A provider that never asks for the holder's action keeps this default.
    fn resume_authorization<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Authorization>> {
        futures_util::future::ready(Ok(Authorization {
            reference: reference.to_owned(),
        }))
        .boxed()
    }

    /// Performs `operation` on the authorization `reference`.
    fn operate<'a>(
        &'a self,
        operation: Operation,
        reference: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<()>>;

    /// Where the payment `reference` stands (recovery and reconciliation ask).
    fn state<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<ProviderState>>;

    /// Where the payment `reference` stands and how much of it was given
    /// back (reconciliation asks); by default [`state`](Self::state) alone.
    fn snapshot<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<PaymentSnapshot>> {
        async move {
            Ok(PaymentSnapshot {
                state: self.state(reference).await?,
                amount_refunded: None,
            })
        }
        .boxed()
    }

    /// Called by checkout at `at` with the customer's token; only the
    /// simulated processor does anything here (pause tokens, for tests).
    fn checkpoint<'a>(&'a self, token: &'a str, at: Checkpoint) -> BoxFuture<'a, ()> {
        let _ = (token, at);
        futures_util::future::ready(()).boxed()
    }
}
