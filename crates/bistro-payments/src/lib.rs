#![doc = include_str!("../README.md")]

mod simulated;

use std::fmt;

use futures_util::future::BoxFuture;

pub use simulated::{SimulatedProcessor, SimulatedStats};

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
    /// The provider failed or refused the operation (an error on its side,
    /// an illegal operation such as capturing a voided authorization):
    /// nothing moved.
    #[error("payment failed: {code}")]
    Failed {
        /// The provider's reason code, e.g. `processing_error`.
        code: String,
    },
}

impl PaymentError {
    /// The provider's reason code.
    pub fn code(&self) -> &str {
        match self {
            Self::Declined { code } | Self::Failed { code } => code,
        }
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

/// A payment provider. Implementations must be idempotent per key: a call
/// repeated with the same idempotency key returns the first call's result.
pub trait PaymentProvider: Send + Sync + fmt::Debug {
    /// The provider's name, stored with each payment (`simulated`).
    fn name(&self) -> &'static str;

    /// Reserves `amount` on the card.
    fn authorize(&self, request: AuthorizeRequest) -> BoxFuture<'_, Result<Authorization>>;

    /// Takes the authorized amount.
    fn capture<'a>(
        &'a self,
        reference: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<()>>;

    /// Releases an authorization that was not captured.
    fn void<'a>(
        &'a self,
        reference: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<()>>;

    /// Gives a captured amount back.
    fn refund<'a>(
        &'a self,
        reference: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<()>>;
}
