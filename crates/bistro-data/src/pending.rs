//! The records of pending steps: what a checkout (`checkout`) or a payment
//! change (`lifecycle`) writes down before it moves stock or money, enough
//! to finish or undo it without the request that started it, and who holds
//! a step. `recovery` reads them back; they live apart from the code that
//! writes them so that recovery depends on the records only.

use bistro_payments::AuthorizeRequest;
use bistro_sql::entity::{OrderStatus, PaymentStatus, pending_step};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What a checkout's pending step records: enough to finish or undo it
/// without the request that started it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CheckoutDetail {
    /// What the checkout asks for (its fingerprint, encoded).
    pub fingerprint: String,
    /// The cart's restaurant.
    pub restaurant_id: i64,
    /// The day whose stock it takes; the order is dated that day.
    pub day: NaiveDate,
    /// Units of limited items it holds: `(menu item, units)`.
    pub holds: Vec<(i64, i64)>,
    /// The amount to authorize, in minor units.
    pub amount: i64,
    /// Its currency.
    pub currency: String,
    /// The card token (a processor's token, never a card number).
    pub token: String,
    /// The cart as stored when it was ordered (emptied after the order if unchanged).
    pub cart: Option<String>,
}

impl CheckoutDetail {
    pub(crate) fn decode(step: &pending_step::Model) -> Option<Self> {
        serde_json::from_str(&step.detail).ok()
    }

    pub(crate) fn authorize_request(&self, provider_key: &str) -> AuthorizeRequest {
        AuthorizeRequest {
            idempotency_key: provider_key.to_owned(),
            token: self.token.clone(),
            amount: self.amount,
            currency_code: self.currency.clone(),
        }
    }
}

/// What is known of a checkout's authorization when it is undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Authorized {
    /// The provider may have authorized (its answer was lost): ask it.
    Unknown,
    /// Nothing was authorized.
    Nothing,
    /// This authorization.
    Reference(String),
}

impl Authorized {
    pub(crate) fn of(step: &pending_step::Model) -> Self {
        step.provider_reference
            .clone()
            .map_or(Self::Unknown, Self::Reference)
    }
}

/// What a payment change's pending step records: the transition it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TransitionDetail {
    /// The order's status before.
    pub from: OrderStatus,
    /// Its status after.
    pub to: OrderStatus,
    /// The payment's status before.
    pub payment_from: PaymentStatus,
    /// Its status after.
    pub payment_to: PaymentStatus,
    /// Who asked: the user.
    pub actor_user_id: i64,
    /// Who asked: as which party.
    pub restaurant_party: bool,
    /// Why (a rejection's reason).
    pub note: Option<String>,
}

impl TransitionDetail {
    pub(crate) fn decode(step: &pending_step::Model) -> Option<Self> {
        serde_json::from_str(&step.detail).ok()
    }
}

/// Who holds a step: this attempt, unique across processes and restarts.
pub(crate) fn lease_owner() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:x}-{:x}-{:x}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
