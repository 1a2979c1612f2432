//! Abuse limits, counted in the key-value store so that every replica
//! enforces the same budget: sign-ins, registrations, and a per-client
//! request budget.
//!
//! All are fixed windows: a counter per client and window, created with the
//! window's remaining time as its expiry. A window allows at most its limit,
//! and at a window boundary a client may spend two windows' worth back to
//! back; the retry hint is the time until the window ends.
//!
//! **Sign-ins are counted before the password is checked.** An attempt first
//! *reserves* its place in the counters (one atomic increment of all three),
//! and only an attempt whose reservation fits the limits goes on to argon2;
//! a correct password *releases* the reservation (the counts go back down),
//! a wrong one leaves it counted as a failure, and a refused attempt gives
//! it back. So N guesses sent at once are counted as they arrive, and at
//! most the limit of them reach argon2, whichever order they arrive in (the
//! refused ones are given back: a failure is a guess argon2 checked). An
//! attempt whose request is cut off while its password is checked stays
//! counted, as a failure.
//!
//! **An account under attack is slowed, never locked.** Following OWASP's
//! Authentication Cheat Sheet ("account lockout": a hard per-account
//! ceiling lets anyone lock anyone out), there is no ceiling per account.
//! Instead, an attempt from an address that has itself failed on the account
//! in this window waits a delay that grows with the account's failures from
//! *other* addresses: `login_delay_base_secs` (1 s) for the first, doubled
//! for each further one, at most `login_delay_max_secs` (30 s). One such
//! attempt per address may start per delay (a gate per account and address
//! in the store, taken atomically); the others are refused with the delay
//! as retry hint. The gate is the address's own, so no other address can
//! keep taking it: an owner who mistyped once waits one delay at most, what
//! ever an attacker sends. An address with no failure on the account — its
//! owner's, usually — is never delayed; the per-address and per-pair limits
//! bound what a single address can try, and the delay slows every address
//! that has failed on the account once others are failing on it too.
//! Addresses are counted as the server normalises them: an IPv6 client by
//! its /64.
//!
//! **Layouts** (counters expiring with their window, and the delay's gate):
//! - `ratelimit:login:pair:{account}:{address}:{window}`, `ratelimit:login:address:{address}:{window}`,
//!   `ratelimit:login:account:{account}:{window}`: sign-ins failed or in
//!   progress; `{account}` is a hash of the normalised email, never the email itself.
//! - `ratelimit:login:gate:{account}:{address}`: present while the account's delay runs for that address.
//! - `ratelimit:register:{address}:{window}`: registrations from one address.
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

use crate::Scope;
use sha2::{Digest, Sha256};

bistro_kv::kv_key! {
    /// Sign-ins for one account from one address, failed or in progress, in one window.
    pub struct LoginPairKey { pub account: String, pub address: IpAddr, pub window: u64 } => counter = "ratelimit:login:pair:{account}:{address}:{window}";
}
bistro_kv::kv_key! {
    /// Sign-ins from one address, any account, failed or in progress, in one window.
    pub struct LoginAddressKey { pub address: IpAddr, pub window: u64 } => counter = "ratelimit:login:address:{address}:{window}";
}
bistro_kv::kv_key! {
    /// Sign-ins for one account, from any address, failed or in progress, in one window.
    pub struct LoginAccountKey { pub account: String, pub window: u64 } => counter = "ratelimit:login:account:{account}:{window}";
}
bistro_kv::kv_key! {
    /// Present while the sign-in delay of one account for one address runs:
    /// the attempt that set it is the one the delay lets through.
    pub struct LoginGateKey { pub account: String, pub address: IpAddr } => value u64 = "ratelimit:login:gate:{account}:{address}";
}
bistro_kv::kv_key! {
    /// Registrations from one address in one window.
    pub struct RegistrationKey { pub address: IpAddr, pub window: u64 } => counter = "ratelimit:register:{address}:{window}";
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
    /// Length of a sign-in window, seconds.
    pub login_window_secs: u64,
    /// The delay after the account's first failure from another address,
    /// seconds; doubled for each further one.
    pub login_delay_base_secs: u64,
    /// The longest delay, seconds.
    pub login_delay_max_secs: u64,
    /// Accounts one address may register per registration window.
    pub registrations_per_address: u64,
    /// Length of a registration window, seconds.
    pub registration_window_secs: u64,
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
            login_window_secs: 900,
            login_delay_base_secs: 1,
            login_delay_max_secs: 30,
            registrations_per_address: 10,
            registration_window_secs: 3_600,
            store_down: Arc::default(),
        }
    }
}

/// A refusal: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Seconds until the window that refused ends, or the delay that
    /// refused runs out (at least 1).
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

/// The counters a sign-in of one email from one address is judged by.
pub struct LoginAttempts {
    pair: LoginPairKey,
    address: LoginAddressKey,
    account: LoginAccountKey,
    gate: LoginGateKey,
    now: u64,
}

impl LoginAttempts {
    fn keys(&self) -> [&(dyn CounterKey + Sync); 3] {
        [&self.pair, &self.address, &self.account]
    }
}

/// A sign-in attempt let through to the password check, its place held in
/// the counters: [`RateLimits::login_released`] gives it back, a failure
/// keeps it.
#[must_use = "a reservation is released on success, kept on failure"]
pub struct LoginReservation {
    /// Whether the counters were reached (not when the store was down).
    counted: bool,
}

/// A registration attempt counted against its address (give it back with
/// [`RateLimits::registration_abandoned`] when it makes nothing).
#[derive(Debug)]
#[must_use = "a counted registration is kept or given back"]
pub struct RegistrationReservation {
    /// The counter it went into (none when the store was down).
    key: Option<RegistrationKey>,
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
            account: LoginAccountKey {
                account: account.clone(),
                window,
            },
            gate: LoginGateKey { account, address },
            now,
        }
    }

    fn login_window(&self) -> Duration {
        Duration::from_secs(self.login_window_secs)
    }

    /// The delay an attempt waits when the account has `others` failures
    /// from other addresses in this window: base × 2^(others − 1), at most
    /// the maximum; none without such failures.
    pub fn login_delay(&self, others: u64) -> Duration {
        if others == 0 {
            return Duration::ZERO;
        }
        let exponent = u32::try_from(others - 1).unwrap_or(u32::MAX).min(30);
        Duration::from_secs(
            self.login_delay_base_secs
                .saturating_mul(1u64 << exponent)
                .min(self.login_delay_max_secs),
        )
    }

    /// Reserves a sign-in attempt before its password is checked (see the
    /// module docs): one round trip when it is let through, one more when
    /// it must take the account's delay, one more again when refused (the
    /// reservation is given back). Refused past the pair or address limit,
    /// even for the right password, or while the account's delay runs for
    /// an address that failed on it.
    pub async fn begin_login(
        &self,
        scope: &Scope,
        attempts: &LoginAttempts,
    ) -> Result<LoginReservation, Limited> {
        let kv = scope.kv();
        let ttl = remaining(attempts.now, attempts.pair.window, self.login_window());
        let counts = match kv
            .bump_each(&attempts.keys(), 1, Some(Duration::from_secs(ttl)))
            .await
        {
            Ok(counts) => {
                self.store_up();
                counts
            }
            Err(error) => {
                self.fail_open(&error);
                return Ok(LoginReservation { counted: false });
            }
        };
        let count = |i: usize| u64::try_from(counts.get(i).copied().unwrap_or(0)).unwrap_or(0);
        let (pair, address, account) = (count(0), count(1), count(2));
        let reservation = LoginReservation { counted: true };
        if pair > self.login_failures_per_pair || address > self.login_failures_per_address {
            self.release(kv, attempts, reservation).await;
            bistro_metrics::rate_limit_refusal("login");
            return Err(Limited {
                retry_after_secs: ttl,
            });
        }
        // This address failed on the account before (or tries in parallel):
        // it takes the account's delay, if others failed on it too.
        let others = account.saturating_sub(pair);
        let delay = self.login_delay(others);
        if pair > 1 && !delay.is_zero() {
            match kv
                .store_if_absent(&attempts.gate, &attempts.now, Some(delay))
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    self.release(kv, attempts, reservation).await;
                    bistro_metrics::rate_limit_refusal("login");
                    return Err(Limited {
                        retry_after_secs: delay.as_secs().max(1),
                    });
                }
                Err(error) => self.fail_open(&error),
            }
        }
        Ok(reservation)
    }

    /// Gives a sign-in's reservation back (one round trip): its password was
    /// right, or was never checked (the server was too busy to hash, a store
    /// failed); either way it is no failure.
    pub async fn login_released(
        &self,
        scope: &Scope,
        attempts: &LoginAttempts,
        reservation: LoginReservation,
    ) {
        self.release(scope.kv(), attempts, reservation).await;
    }

    /// A sign-in whose password was wrong: its reservation stays, a failure
    /// in the window (no round trip).
    pub fn login_failed(&self, reservation: LoginReservation) {
        let _ = reservation;
    }

    async fn release(&self, kv: &Kv, attempts: &LoginAttempts, reservation: LoginReservation) {
        if !reservation.counted {
            return;
        }
        // Should the window have ended meanwhile, the decrement lands on a
        // fresh counter that expires at once.
        match kv
            .bump_each(&attempts.keys(), -1, Some(Duration::from_secs(1)))
            .await
        {
            Ok(_) => self.store_up(),
            Err(error) => self.fail_open(&error),
        }
    }

    /// Counts a registration attempt from `address` (one round trip), before
    /// anything else is looked at: refused past `registrations_per_address`
    /// in the window (and then given back, one more round trip). A taken
    /// email answered after it counts too, so asking which emails have
    /// accounts costs a registration each.
    pub async fn begin_registration(
        &self,
        scope: &Scope,
        address: IpAddr,
    ) -> Result<RegistrationReservation, Limited> {
        let (key, left) = self.registration_key(address);
        match scope
            .kv()
            .bump(&key, 1, Some(Duration::from_secs(left)))
            .await
        {
            Ok(count) => {
                self.store_up();
                let reservation = RegistrationReservation { key: Some(key) };
                if u64::try_from(count).unwrap_or(0) > self.registrations_per_address {
                    self.registration_abandoned(scope, reservation).await;
                    bistro_metrics::rate_limit_refusal("registration");
                    return Err(Limited {
                        retry_after_secs: left,
                    });
                }
                Ok(reservation)
            }
            Err(error) => {
                self.fail_open(&error);
                Ok(RegistrationReservation { key: None })
            }
        }
    }

    /// Gives back a registration counted by [`Self::begin_registration`]
    /// that made no account and hashed nothing (the server was too busy, a
    /// store failed): the same counter, even should its window have ended.
    pub async fn registration_abandoned(
        &self,
        scope: &Scope,
        reservation: RegistrationReservation,
    ) {
        let Some(key) = reservation.key else {
            return;
        };
        if let Err(error) = scope
            .kv()
            .bump(&key, -1, Some(Duration::from_secs(1)))
            .await
        {
            self.fail_open(&error);
        }
    }

    fn registration_key(&self, address: IpAddr) -> (RegistrationKey, u64) {
        let length = Duration::from_secs(self.registration_window_secs);
        let (now, window) = window(length);
        (
            RegistrationKey { address, window },
            remaining(now, window, length),
        )
    }

    /// Whether the request budget is on.
    pub fn budget_enabled(&self) -> bool {
        self.requests_per_minute > 0
    }

    /// Counts one request of `client` against its budget (one round trip;
    /// none when the budget is off).
    pub async fn spend_request(
        &self,
        scope: &Scope,
        client: BudgetClient<'_>,
    ) -> Result<(), Limited> {
        if !self.budget_enabled() {
            return Ok(());
        }
        let length = Duration::from_secs(60);
        let (now, window) = window(length);
        let key = RequestBudgetKey {
            client: client.key(),
            window,
        };
        let left = remaining(now, window, length);
        match scope
            .kv()
            .bump(&key, 1, Some(Duration::from_secs(left)))
            .await
        {
            Ok(count) => {
                self.store_up();
                if u64::try_from(count).unwrap_or(0) > self.requests_per_minute {
                    bistro_metrics::rate_limit_refusal("requests");
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

/// Whose request budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetClient<'a> {
    /// The user a validly signed token names (its `sub`), whether or not
    /// its session is still active (that is checked later).
    User(&'a str),
    /// Otherwise the client's address, when known.
    Address(Option<IpAddr>),
}

impl BudgetClient<'_> {
    /// Its part of the budget's key: `user:{id}`, `addr:{ip}` or `addr:unknown`.
    fn key(self) -> String {
        match self {
            Self::User(subject) => format!("user:{subject}"),
            Self::Address(Some(address)) => format!("addr:{address}"),
            Self::Address(None) => "addr:unknown".to_owned(),
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
    fn the_delay_doubles_from_the_base_to_the_maximum() {
        let limits = RateLimits::default();
        let delays: Vec<u64> = (0..=8).map(|n| limits.login_delay(n).as_secs()).collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(limits.login_delay(u64::MAX).as_secs(), 30);
    }

    #[test]
    fn the_retry_hint_is_the_rest_of_the_window() {
        let length = Duration::from_secs(60);
        assert_eq!(remaining(120, 2, length), 60);
        assert_eq!(remaining(179, 2, length), 1);
    }
}
