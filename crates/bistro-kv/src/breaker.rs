//! A circuit breaker in front of Redis: after `threshold` unavailable
//! failures in a row, calls fail at once for `cooldown`, so a request that
//! touches many key-value fields pays the timeout once, not once per field.
//! After the cooldown calls go through again; one success closes it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::lock;

pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: AtomicU32,
    open_until: Mutex<Option<Instant>>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            failures: AtomicU32::new(0),
            open_until: Mutex::new(None),
        }
    }

    /// Whether a call may go to Redis now.
    pub(crate) fn allows(&self) -> bool {
        lock(&self.open_until).is_none_or(|until| Instant::now() >= until)
    }

    pub(crate) fn success(&self) {
        if self.failures.swap(0, Ordering::Relaxed) != 0 {
            *lock(&self.open_until) = None;
        }
    }

    pub(crate) fn failure(&self) {
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= self.threshold {
            let mut open_until = lock(&self.open_until);
            if open_until.is_none_or(|until| Instant::now() >= until) {
                tracing::warn!(
                    failures,
                    cooldown_ms = self.cooldown.as_millis() as u64,
                    "key-value store unreachable: circuit open"
                );
            }
            *open_until = Some(Instant::now() + self.cooldown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_closes_on_success() {
        let breaker = Breaker::new(2, Duration::from_secs(60));
        assert!(breaker.allows());
        breaker.failure();
        assert!(breaker.allows());
        breaker.failure();
        assert!(!breaker.allows());
        breaker.success();
        assert!(breaker.allows());
    }

    #[test]
    fn lets_calls_through_after_the_cooldown() {
        let breaker = Breaker::new(1, Duration::ZERO);
        breaker.failure();
        assert!(breaker.allows());
    }
}
