//! Password policy, argon2id hashing, and email normalisation.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

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

/// The argon2id PHC string of `password` (fresh salt), computed off the async
/// runtime. Unbounded: for commands (`bistro user create`, seeding); the
/// server hashes through [`PasswordHashing`].
pub async fn hash_password(password: &str) -> Result<String, HashError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| HashError(e.to_string()))?
}

fn hash_now(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
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
/// A malformed hash never matches. Unbounded, like [`hash_password`].
pub async fn verify_password(password: &str, hash: Option<&str>) -> bool {
    let password = password.to_owned();
    let hash = hash.map(str::to_owned);
    tokio::task::spawn_blocking(move || verify_now(&password, hash.as_deref()))
        .await
        .unwrap_or(false)
}

fn verify_now(password: &str, hash: Option<&str>) -> bool {
    let matches = PasswordVerifier::<str>::verify_password(
        &Argon2::default(),
        password.as_bytes(),
        hash.unwrap_or(DECOY_HASH.as_str()),
    )
    .is_ok();
    matches && hash.is_some()
}

/// The server has as much argon2 work running and queued as it allows:
/// the request is refused at once rather than wait (`SERVER_BUSY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing is saturated")]
pub struct Busy;

/// Why a bounded hash gave no hash.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HashingError {
    /// Refused: too much argon2 work running and queued.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// Hashing itself failed.
    #[error(transparent)]
    Failed(#[from] HashError),
}

/// The server's argon2 work, bounded. Each hash or verification takes about
/// 19 MiB and tens of milliseconds of a core (argon2id's defaults, as OWASP's
/// Password Storage Cheat Sheet recommends them), so an unbounded number at
/// once is a way to exhaust memory and every core with sign-in requests.
///
/// At most `at_once` run at a time (each on a blocking thread); up to
/// `queue` more wait their turn in order; one more is refused at once with
/// [`Busy`]. A request cut off while its hash runs leaves the hash to finish
/// and its slot taken until then, so the bound holds for the work, not for
/// the requests. Clones share one bound and one count.
#[derive(Clone)]
pub struct PasswordHashing {
    shared: Arc<Shared>,
}

struct Shared {
    /// A permit per argon2 run allowed at once.
    permits: Arc<Semaphore>,
    at_once: usize,
    /// Work admitted: running or waiting for a permit.
    admitted: AtomicUsize,
    /// Most work admitted at once: `at_once` plus the queue.
    max_admitted: usize,
    /// Argon2 runs so far.
    runs: AtomicU64,
}

impl std::fmt::Debug for PasswordHashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHashing")
            .field("at_once", &self.shared.at_once)
            .field("max_admitted", &self.shared.max_admitted)
            .field("runs", &self.runs())
            .finish()
    }
}

/// Work admitted to [`PasswordHashing`]: leaves the count when dropped.
struct Admission(Arc<Shared>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordHashing {
    /// At most `at_once` argon2 runs at a time (0: as many as the machine
    /// has cores), and at most `queue` more waiting.
    pub fn new(at_once: usize, queue: usize) -> Self {
        let at_once = if at_once == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        } else {
            at_once
        };
        Self {
            shared: Arc::new(Shared {
                permits: Arc::new(Semaphore::new(at_once)),
                at_once,
                admitted: AtomicUsize::new(0),
                max_admitted: at_once.saturating_add(queue),
                runs: AtomicU64::new(0),
            }),
        }
    }

    /// How many argon2 runs may go at once.
    pub fn at_once(&self) -> usize {
        self.shared.at_once
    }

    /// How many argon2 runs (hashes and verifications) this server started.
    pub fn runs(&self) -> u64 {
        self.shared.runs.load(Ordering::Acquire)
    }

    /// How many are admitted now, running or waiting.
    pub fn admitted(&self) -> usize {
        self.shared.admitted.load(Ordering::Acquire)
    }

    /// How many wait for a turn now.
    pub fn waiting(&self) -> usize {
        self.admitted()
            .saturating_sub(self.shared.at_once - self.shared.permits.available_permits())
    }

    fn admit(&self) -> Result<Admission, Busy> {
        let shared = &self.shared;
        let before = shared.admitted.fetch_add(1, Ordering::AcqRel);
        let admission = Admission(shared.clone());
        if before >= shared.max_admitted {
            return Err(Busy);
        }
        Ok(admission)
    }

    /// Runs `work` on a blocking thread once a permit is free; the permit
    /// and the admission go with the work, so they are held until it ends
    /// even when the caller stops waiting.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Option<T>, Busy> {
        let admission = self.admit()?;
        let Ok(permit) = self.shared.permits.clone().acquire_owned().await else {
            // The semaphore is never closed.
            return Ok(None);
        };
        let shared = self.shared.clone();
        let joined = tokio::task::spawn_blocking(move || {
            shared.runs.fetch_add(1, Ordering::AcqRel);
            let out = work();
            drop(permit);
            drop(admission);
            out
        })
        .await;
        Ok(joined.ok())
    }

    /// The argon2id PHC string of `password` (fresh salt), within the bound.
    pub async fn hash(&self, password: &str) -> Result<String, HashingError> {
        let password = password.to_owned();
        match self.run(move || hash_now(&password)).await? {
            Some(hashed) => Ok(hashed?),
            None => Err(HashError("the hashing task failed".to_owned()).into()),
        }
    }

    /// Whether `password` matches `hash` (`None`: verify against a decoy,
    /// never a match), within the bound.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, Busy> {
        let password = password.to_owned();
        let hash = hash.map(str::to_owned);
        Ok(self
            .run(move || verify_now(&password, hash.as_deref()))
            .await?
            .unwrap_or(false))
    }

    /// Holds one run's place, as an argon2 run in progress does, until the
    /// returned guard is dropped: lets a test (or an operator's drill) see
    /// what waiting and refused sign-ins do without timing anything.
    pub async fn occupy(&self) -> Result<Occupied, Busy> {
        let admission = self.admit()?;
        let permit = self
            .shared
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Busy)?;
        Ok(Occupied {
            _permit: permit,
            _admission: admission,
        })
    }
}

/// A place held by [`PasswordHashing::occupy`].
pub struct Occupied {
    _permit: tokio::sync::OwnedSemaphorePermit,
    _admission: Admission,
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

    #[tokio::test]
    async fn bounded_hashing_counts_its_runs_and_refuses_beyond_its_queue() {
        let hashing = PasswordHashing::new(1, 1);
        let hash = hashing.hash("correct horse battery").await.unwrap();
        assert!(
            hashing
                .verify("correct horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !hashing
                .verify("wrong horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(!hashing.verify("anything at all", None).await.unwrap());
        assert_eq!(hashing.runs(), 4);

        // One place held, one waiting: the next is refused without running.
        let held = hashing.occupy().await.unwrap();
        let waiting = tokio::spawn({
            let hashing = hashing.clone();
            let hash = hash.clone();
            async move { hashing.verify("correct horse battery", Some(&hash)).await }
        });
        while hashing.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        assert_eq!(hashing.verify("x", Some(&hash)).await, Err(Busy));
        assert!(matches!(
            hashing.hash("x").await,
            Err(HashingError::Busy(Busy))
        ));
        assert_eq!(hashing.runs(), 4);
        drop(held);
        assert_eq!(waiting.await.unwrap(), Ok(true));
        assert_eq!(hashing.runs(), 5);
        assert_eq!(hashing.admitted(), 0);
    }
}
