//! `UserError`: an expected failure of a mutation, reported in its payload,
//! with a code from one closed list ([`UserErrorCode`]) that typed clients
//! can switch on exhaustively.

use async_graphql::{Enum, SimpleObject};
use bistro_auth::password::{EmailProblem, PasswordProblem};

/// Why a mutation did not do what was asked, machine-readable.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserErrorCode {
    /// The email address is not one.
    EmailInvalid,
    /// The email address is longer than allowed.
    EmailTooLong,
    /// An account with this email already exists.
    EmailTaken,
    /// The password is shorter than 10 characters.
    PasswordTooShort,
    /// The password is longer than 128 characters.
    PasswordTooLong,
    /// The password is common, repetitive or made from the email.
    PasswordTooWeak,
    /// The display name is empty, too long, or has invisible or control characters.
    DisplayNameInvalid,
    /// The email or the password is not right.
    InvalidCredentials,
    /// The refresh token is malformed, expired, or of a session that has ended.
    RefreshTokenInvalid,
    /// The refresh token was used before, so its session was ended for safety.
    RefreshTokenReused,
    /// A name is required.
    NameRequired,
    /// The name is too long or has invisible or control characters.
    NameInvalid,
    /// The description has invisible or control characters.
    DescriptionInvalid,
    /// The description is longer than allowed.
    DescriptionTooLong,
    /// The price is not an amount in the restaurant's currency.
    PriceInvalid,
    /// The price is beyond any plausible price.
    PriceTooHigh,
    /// The daily stock is out of range.
    DailyStockInvalid,
    /// The item cannot be ordered now: it does not exist, is switched off,
    /// or (at checkout) its options no longer fit it.
    ItemUnavailable,
    /// A cart line's quantity would not be 1 to 50.
    QuantityInvalid,
    /// The options chosen are not the item's, or too few or too many of a group.
    OptionsInvalid,
    /// The cart holds another restaurant's items (add with `replaceCart: true` to start over).
    CartOtherRestaurant,
    /// The cart has no line with this id.
    CartLineNotFound,
    /// The cart has as many lines as it may hold.
    CartTooLarge,
    /// Another request was changing the cart at the same time; try again.
    CartBusy,
    /// There is nothing in the cart to check out.
    CartEmpty,
    /// Fewer units of an item are left today than the cart holds.
    OutOfStock,
    /// The total is not the `expectedTotal` the customer saw; nothing was ordered.
    PriceChanged,
    /// The card was declined; nothing was charged.
    CardDeclined,
    /// The card's bank asks its holder to confirm the payment (3-D Secure):
    /// complete the challenge with `cardAction.clientSecret` (Stripe.js),
    /// then check out again with the same idempotency key. The cart's
    /// limited stock stays held meanwhile (15 minutes by default).
    CardActionRequired,
    /// The payment could not be made (a processor error, or it refused a
    /// capture or refund); nothing was charged or the order did not move.
    PaymentFailed,
    /// The fulfilment's details are missing or out of place (a delivery
    /// needs an address, dining in a table number, pickup neither).
    InvalidFulfilment,
    /// The idempotency key is empty, too long, or has characters other than letters, digits, `-` and `_`.
    IdempotencyKeyInvalid,
    /// The idempotency key was used for a different checkout (another cart or input).
    IdempotencyKeyReused,
    /// A checkout with this idempotency key is still running; retry shortly.
    CheckoutInProgress,
    /// No order has this id (or the viewer may not see it: the same answer).
    OrderNotFound,
    /// The order's lifecycle does not allow this move from its status.
    TransitionNotAllowed,
    /// The order changed while the move was being made; it did not move.
    OrderChanged,
    /// The reason is too long or has invisible or control characters.
    ReasonInvalid,
    /// A rating is from 1 to 5.
    RatingInvalid,
    /// The review text is too long or has invisible or control characters.
    ReviewBodyInvalid,
    /// Reviews come after a completed order at the restaurant.
    ReviewNotAllowed,
    /// The customer has reviewed this restaurant already.
    AlreadyReviewed,
    /// No review has this id.
    ReviewNotFound,
}

impl From<PasswordProblem> for UserErrorCode {
    fn from(problem: PasswordProblem) -> Self {
        match problem {
            PasswordProblem::TooShort => Self::PasswordTooShort,
            PasswordProblem::TooLong => Self::PasswordTooLong,
            PasswordProblem::TooWeak => Self::PasswordTooWeak,
        }
    }
}

impl From<EmailProblem> for UserErrorCode {
    fn from(problem: EmailProblem) -> Self {
        match problem {
            EmailProblem::Malformed => Self::EmailInvalid,
            EmailProblem::TooLong => Self::EmailTooLong,
        }
    }
}

/// An expected failure of a mutation (invalid input, a taken email…), for
/// the person using the app. Access problems and outages are top-level
/// errors instead.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// Path to the input field at fault, e.g. `["input", "email"]`; null when no single field is.
    pub field: Option<Vec<String>>,
    /// Machine-readable reason.
    pub code: UserErrorCode,
    /// Human-readable explanation.
    pub message: String,
}

impl UserError {
    /// An error about `input.{field}`.
    pub fn on(field: &str, code: UserErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: Some(vec!["input".to_owned(), field.to_owned()]),
            code,
            message: message.into(),
        }
    }

    /// An error about the input as a whole.
    pub fn general(code: UserErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: None,
            code,
            message: message.into(),
        }
    }
}
