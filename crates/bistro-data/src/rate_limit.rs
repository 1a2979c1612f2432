//! Abuse limits, counted in the key-value store so that every replica
//! enforces the same budget: failed sign-ins, and a per-client request budget.
//!
//! Both are fixed windows: a counter per client and window, created with the
//! window's remaining time as its expiry. A window allows at most its limit,
//! and at a window boundary a client may spend two windows' worth back to
//! back; the retry hint is the time until the window ends.
//!
//! **Layouts** (counters, expiring with their window):
//! - `ratelimit:login:pair:{account}:{address}:{window}`, `ratelimit:login:address:{address}:{window}`,
//!   `ratelimit:login:account:{account}:{window}`: failed sign-ins; `{account}` is a hash of the
//!   normalised email, never the email itself.
//! - `ratelimit:requests:{client}:{window}`: requests of a client (`user:{id}` or `addr:{ip}`).
//!
//! Lost (flushed, or the store restarted), a window simply starts again.
//!
//! When the key-value store is unreachable the limits fail open: a request
//! is not refused because its budget cannot be read. The first failure of an
//! outage is logged, and the recovery, not every request in between.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bistro_kv::Kv;
use bistro_kv::typed::CounterKey;
use serde::Deserialize;
use sha2::{Digest, Sha256};

bistro_kv::kv_key! {
    /// Failed sign-ins for one account from one address in one window.
    pub struct LoginPairKey { pub account: String, pub address: IpAddr, pub window: u64 } => counter = "ratelimit:login:pair:{account}:{address}:{window}";
}
bistro_kv::kv_key! {
    /// Failed sign-ins from one address, any account, in one window.
    pub struct LoginAddressKey { pub address: IpAddr, pub window: u64 } => counter = "ratelimit:login:address:{address}:{window}";
}
bistro_kv::kv_key! {
    /// Failed sign-ins for one account, from any address, in one window.
    pub struct LoginAccountKey { pub account: String, pub window: u64 } => counter = "ratelimit:login:account:{account}:{window}";
}
bistro_kv::kv_key! {
    /// Requests of one client in one window.
    pub struct RequestBudgetKey { pub client: String, pub window: u64 } => counter = "ratelimit:requests:{client}:{window}";
}

/// Abuse limits (configuration section `[rate_limit]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// Requests one client may make per minute (the token's user, else the
    /// client address); 0 turns the budget off.
    pub requests_per_minute: u64,
    /// Failed sign-ins per window for one account from one address.
    pub login_failures_per_pair: u64,
    /// Failed sign-ins per window from one address, whatever the account.
    pub login_failures_per_address: u64,
    /// Failed sign-ins per window for one account, from any address: higher
    /// than the pair limit, so one address cannot lock an account out, but a
    /// ceiling on guessing spread over many addresses.
    pub login_failures_per_account: u64,
    /// Length of a sign-in window, seconds.
    pub login_window_secs: u64,
    /// Whether the store was unreachable at the last count, shared by the
    /// clones of one configuration (so an outage is logged once per server).
    #[serde(skip)]
    store_down: Arc<AtomicBool>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            requests_per_minute: 0,
            login_failures_per_pair: 10,
            login_failures_per_address: 30,
            login_failures_per_account: 100,
            login_window_secs: 900,
            store_down: Arc::default(),
        }
    }
}

/// A refusal: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Seconds until the window that refused ends (at least 1).
    pub retry_after_secs: u64,
}

/// Seconds since the epoch, and the window of length `length` they fall in.
fn window(length: Duration) -> (u64, u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let length = length.as_secs().max(1);
    (now, now / length)
}

/// Seconds left in window `index` of length `length` at `now`.
fn remaining(now: u64, index: u64, length: Duration) -> u64 {
    let length = length.as_secs().max(1);
    ((index + 1) * length).saturating_sub(now).max(1)
}

/// The account part of sign-in keys: a hash of the normalised email, so
/// the store never holds the email.
fn account_id(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Failed sign-ins of one email from one address.
pub struct LoginAttempts {
    pair: LoginPairKey,
    address: LoginAddressKey,
    account: LoginAccountKey,
    now: u64,
}

impl LoginAttempts {
    fn keys(&self) -> [&(dyn CounterKey + Sync); 3] {
        [&self.pair, &self.address, &self.account]
    }
}

impl RateLimits {
    fn fail_open(&self, error: &bistro_kv::Error) {
        if !self.store_down.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "rate limits cannot be counted: the key-value store is unreachable; allowing requests until it returns");
        }
    }

    fn store_up(&self) {
        if self.store_down.swap(false, Ordering::Relaxed) {
            tracing::info!("rate limits are counted again");
        }
    }

    /// The counters a sign-in with `email` from `address` is judged by.
    pub fn login_attempts(&self, email: &str, address: IpAddr) -> LoginAttempts {
        let (now, window) = window(Duration::from_secs(self.login_window_secs));
        let account = account_id(email);
        LoginAttempts {
            pair: LoginPairKey {
                account: account.clone(),
                address,
                window,
            },
            address: LoginAddressKey { address, window },
            account: LoginAccountKey { account, window },
            now,
        }
    }

    fn login_window(&self) -> Duration {
        Duration::from_secs(self.login_window_secs)
    }

    /// Whether a sign-in may be tried (one round trip), before the password
    /// is looked at: refused past any of the three limits, even for the
    /// right password.
    pub async fn check_login(&self, kv: &Kv, attempts: &LoginAttempts) -> Result<(), Limited> {
        let counts = match kv.counter_values(&attempts.keys()).await {
            Ok(values) => {
                self.store_up();
                values
            }
            Err(error) => {
                self.fail_open(&error);
                return Ok(());
            }
        };
        let limits = [
            self.login_failures_per_pair,
            self.login_failures_per_address,
            self.login_failures_per_account,
        ];
        if counts
            .iter()
            .zip(limits)
            .any(|(count, limit)| u64::try_from(*count).unwrap_or(0) >= limit)
        {
            return Err(Limited {
                retry_after_secs: remaining(
                    attempts.now,
                    attempts.pair.window,
                    self.login_window(),
                ),
            });
        }
        Ok(())
    }

    /// Counts a failed sign-in against all three limits (one round trip).
    pub async fn record_login_failure(&self, kv: &Kv, attempts: &LoginAttempts) {
        let ttl = Some(Duration::from_secs(remaining(
            attempts.now,
            attempts.pair.window,
            self.login_window(),
        )));
        match kv.bump_each(&attempts.keys(), 1, ttl).await {
            Ok(_) => self.store_up(),
            Err(error) => self.fail_open(&error),
        }
    }

    /// Whether the request budget is on.
    pub fn budget_enabled(&self) -> bool {
        self.requests_per_minute > 0
    }

    /// Counts one request of `client` against its budget (one round trip;
    /// none when the budget is off). `client` is `user:{id}` or `addr:{ip}`.
    pub async fn spend_request(&self, kv: &Kv, client: &str) -> Result<(), Limited> {
        if !self.budget_enabled() {
            return Ok(());
        }
        let length = Duration::from_secs(60);
        let (now, window) = window(length);
        let key = RequestBudgetKey {
            client: client.to_owned(),
            window,
        };
        let left = remaining(now, window, length);
        match kv.bump(&key, 1, Some(Duration::from_secs(left))).await {
            Ok(count) => {
                self.store_up();
                if u64::try_from(count).unwrap_or(0) > self.requests_per_minute {
                    return Err(Limited {
                        retry_after_secs: left,
                    });
                }
                Ok(())
            }
            Err(error) => {
                self.fail_open(&error);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_hashed_and_normalised() {
        assert_eq!(
            account_id("Ada@Example.com "),
            account_id("ada@example.com")
        );
        assert_ne!(account_id("ada@example.com"), account_id("bob@example.com"));
        assert!(!account_id("ada@example.com").contains('@'));
    }

    #[test]
    fn the_retry_hint_is_the_rest_of_the_window() {
        let length = Duration::from_secs(60);
        assert_eq!(remaining(120, 2, length), 60);
        assert_eq!(remaining(179, 2, length), 1);
    }
}
