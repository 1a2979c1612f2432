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
