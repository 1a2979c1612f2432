//! Password policy, argon2id hashing, and email normalisation.

use std::sync::LazyLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// Fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Most characters a password may have: argon2 hashes any length, so a
/// bound keeps a megabyte "password" from being a cheap denial of service.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Why a password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Shorter than [`MIN_PASSWORD_CHARS`].
    TooShort,
    /// Longer than [`MAX_PASSWORD_CHARS`].
    TooLong,
    /// Guessable: a common password, too few distinct characters, or the email in it.
    TooWeak,
}

impl PasswordProblem {
    /// The `userErrors` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::TooShort => "PASSWORD_TOO_SHORT",
            Self::TooLong => "PASSWORD_TOO_LONG",
            Self::TooWeak => "PASSWORD_TOO_WEAK",
        }
    }

    /// A message for the person choosing the password.
    pub fn message(self) -> String {
        match self {
            Self::TooShort => format!("Use at least {MIN_PASSWORD_CHARS} characters."),
            Self::TooLong => format!("Use at most {MAX_PASSWORD_CHARS} characters."),
            Self::TooWeak => {
                "This password is too easy to guess; avoid common words, repeats and your email."
                    .to_owned()
            }
        }
    }
}

/// Passwords found at the top of every leaked-password list.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "password1",
    "password12",
    "password123",
    "password1234",
    "1234567890",
    "12345678910",
    "0123456789",
    "qwertyuiop",
    "qwerty1234",
    "qwerty12345",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "iloveyou12",
    "letmein123",
    "welcome123",
    "abc1234567",
    "abcdefghij",
    "administrator",
    "changeme123",
    "football123",
    "baseball123",
    "trustno1234",
    "sunshine123",
    "princess123",
    "dragon1234",
    "monkey1234",
    "bistro1234",
    "restaurant",
];

/// Checks a new password against the policy.
pub fn check_password(password: &str, email: &str) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    let lower = password.to_lowercase();
    let mut distinct: Vec<char> = lower.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let local_part = email.split('@').next().unwrap_or_default().to_lowercase();
    if distinct.len() < 4
        || COMMON.contains(&lower.as_str())
        || (local_part.chars().count() >= 4 && lower.contains(&local_part))
    {
        return Err(PasswordProblem::TooWeak);
    }
    Ok(())
}

/// Hashing failed (only on a broken runtime or RNG).
#[derive(Debug, Clone, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// The argon2id PHC string of `password` (fresh salt), computed off the async runtime.
pub async fn hash_password(password: &str) -> Result<String, HashError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| HashError(e.to_string()))
    })
    .await
    .map_err(|e| HashError(e.to_string()))?
}

/// A hash no password matches, verified against when the account does not
/// exist, so a login for an unknown email costs the same time as a wrong password.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(crate::random_string(32).as_bytes())
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

/// Whether `password` matches `hash` (`None`: no such account, verify against a decoy).
/// A malformed hash never matches.
pub async fn verify_password(password: &str, hash: Option<&str>) -> bool {
    let password = password.to_owned();
    let known = hash.is_some();
    let hash = hash.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| DECOY_HASH.clone());
        let matches = PasswordVerifier::<str>::verify_password(
            &Argon2::default(),
            password.as_bytes(),
            hash.as_str(),
        )
        .is_ok();
        matches && known
    })
    .await
    .unwrap_or(false)
}

/// Why an email address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailProblem {
    /// Not of the form `name@domain.tld`.
    Malformed,
    /// Longer than an address can be (254 characters).
    TooLong,
}

impl EmailProblem {
    /// The `userErrors` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "EMAIL_INVALID",
            Self::TooLong => "EMAIL_TOO_LONG",
        }
    }
}

/// Trims and lower-cases an email address and checks its shape (one `@`,
/// a non-empty local part, a dotted domain of letters, digits and hyphens).
/// Deliverability is not checked: that needs a message.
pub fn normalize_email(raw: &str) -> Result<String, EmailProblem> {
    let email = raw.trim().to_lowercase();
    if email.chars().count() > 254 {
        return Err(EmailProblem::TooLong);
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(EmailProblem::Malformed);
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(email)
    } else {
        Err(EmailProblem::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_short_long_and_guessable_passwords() {
        let email = "ada.lovelace@example.com";
        assert_eq!(
            check_password("short1!", email),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(
            check_password(&"x".repeat(129), email),
            Err(PasswordProblem::TooLong)
        );
        assert_eq!(
            check_password("Password123", email),
            Err(PasswordProblem::TooWeak)
        );
        assert_eq!(
            check_password("aaaaaaaaaaaa", email),
            Err(PasswordProblem::TooWeak)
        );
        assert_eq!(
            check_password("my ada.lovelace pw", email),
            Err(PasswordProblem::TooWeak)
        );
        assert_eq!(check_password("correct horse battery", email), Ok(()));
        // Length counts characters, not bytes.
        assert_eq!(
            check_password("ééééééééé", email),
            Err(PasswordProblem::TooShort)
        );
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").as_deref(),
            Ok("ada@example.com")
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "ada@-example.com",
            ".ada@example.com",
            "ada@example..com",
        ] {
            assert_eq!(
                normalize_email(bad),
                Err(EmailProblem::Malformed),
                "{bad:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(normalize_email(&long), Err(EmailProblem::TooLong));
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let hash = hash_password("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", Some(&hash)).await);
        assert!(!verify_password("wrong horse battery", Some(&hash)).await);
        assert!(!verify_password("correct horse battery", Some("not a hash")).await);
        assert!(!verify_password("anything at all", None).await);
        // A fresh salt each time.
        assert_ne!(hash, hash_password("correct horse battery").await.unwrap());
    }
}
