//! `UserError`: an expected failure of a mutation, reported in its payload.

use async_graphql::SimpleObject;

/// An expected failure of a mutation (invalid input, a taken email…), for
/// the person using the app. Access problems and outages are top-level
/// errors instead.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// Path to the input field at fault, e.g. `["input", "email"]`; null when no single field is.
    pub field: Option<Vec<String>>,
    /// Machine-readable reason, e.g. `EMAIL_TAKEN`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl UserError {
    /// An error about `input.{field}`.
    pub fn on(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(vec!["input".to_owned(), field.to_owned()]),
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// An error about the input as a whole.
    pub fn general(code: &str, message: impl Into<String>) -> Self {
        Self {
            field: None,
            code: code.to_owned(),
            message: message.into(),
        }
    }
}
