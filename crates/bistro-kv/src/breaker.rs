//! A circuit breaker in front of Redis: after `threshold` unavailable
//! failures in a row, calls fail at once for `cooldown`, so a request that
//! touches many key-value fields pays the timeout once, not once per field.
//! After the cooldown one call (the probe) goes through while the others
//! still fail fast; its success closes the breaker, its failure reopens it.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::{Error, Result, lock};

pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Unavailable failures in a row.
    failures: u32,
    /// Set while open (and after, until a probe settles it).
    open_until: Option<Instant>,
    /// A half-open probe is in flight.
    probing: bool,
}

/// Leave to make one call; report its outcome with [`Permit::finish`].
/// Dropped unfinished (the call was cancelled), a probe frees its slot.
pub(crate) struct Permit<'a> {
    breaker: &'a Breaker,
    probe: bool,
    finished: bool,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::default()),
        }
    }

    /// Lets a call through, or fails fast while open.
    pub(crate) fn admit(&self) -> Result<Permit<'_>> {
        let mut state = lock(&self.state);
        let probe = match state.open_until {
            None => false,
            Some(until) if Instant::now() < until => return Err(open()),
            Some(_) if state.probing => return Err(open()),
            Some(_) => {
                state.probing = true;
                true
            }
        };
        Ok(Permit {
            breaker: self,
            probe,
            finished: false,
        })
    }

    fn record(&self, probe: bool, unavailable: bool) {
        let mut state = lock(&self.state);
        if probe {
            state.probing = false;
        }
        if !unavailable {
            if state.open_until.is_some() {
                tracing::info!("key-value store reachable again: circuit closed");
            }
            *state = State {
                probing: state.probing,
                ..State::default()
            };
            return;
        }
        state.failures = state.failures.saturating_add(1);
        if probe || state.failures >= self.threshold {
            if state.open_until.is_none() {
                tracing::warn!(
                    failures = state.failures,
                    cooldown_ms = u64::try_from(self.cooldown.as_millis()).unwrap_or(u64::MAX),
                    "key-value store unreachable: circuit open"
                );
            }
            state.open_until = Some(Instant::now() + self.cooldown);
        }
    }
}

impl Permit<'_> {
    /// Records the call's outcome: only an unreachable store counts against
    /// it (an error reply proves the server is there).
    pub(crate) fn finish<T>(mut self, result: &Result<T>) {
        self.finished = true;
        let unavailable = matches!(result, Err(Error::Unavailable(_)));
        self.breaker.record(self.probe, unavailable);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.probe && !self.finished {
            lock(&self.breaker.state).probing = false;
        }
    }
}

fn open() -> Error {
    Error::Unavailable("circuit open after repeated failures".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(breaker: &Breaker) {
        breaker
            .admit()
            .unwrap()
            .finish::<()>(&Err(Error::Unavailable("down".into())));
    }

    #[test]
    fn opens_after_threshold_and_closes_on_success() {
        let breaker = Breaker::new(2, Duration::from_secs(60));
        fail(&breaker);
        assert!(breaker.admit().is_ok());
        fail(&breaker);
        assert!(breaker.admit().is_err());
    }

    #[test]
    fn store_errors_do_not_count() {
        let breaker = Breaker::new(2, Duration::from_secs(60));
        fail(&breaker);
        breaker
            .admit()
            .unwrap()
            .finish::<()>(&Err(Error::Store("WRONGTYPE".into())));
        fail(&breaker);
        assert!(breaker.admit().is_ok(), "the reply reset the run");
    }

    #[test]
    fn half_open_lets_one_probe_through() {
        let breaker = Breaker::new(1, Duration::ZERO);
        fail(&breaker);
        let probe = breaker.admit().expect("cooldown over: probe");
        assert!(breaker.admit().is_err(), "only one probe at a time");
        probe.finish::<()>(&Ok(()));
        assert!(breaker.admit().is_ok(), "closed again");
        assert!(breaker.admit().is_ok());
    }

    #[test]
    fn a_failed_probe_reopens_and_a_cancelled_one_frees_its_slot() {
        let breaker = Breaker::new(1, Duration::ZERO);
        fail(&breaker);
        drop(breaker.admit().expect("probe"));
        fail(&breaker);
        let probe = breaker.admit().expect("probe after reopening");
        assert!(breaker.admit().is_err());
        drop(probe);
    }
}
