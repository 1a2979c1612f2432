//! Where the simulated processor keeps its books: a small storage trait, so
//! the books can live where every replica and every restart sees them (the
//! server wires up one over SQL) while this crate knows nothing of SQL.
//!
//! Every method is one atomic step of the storage; the processor's rules
//! (tokens, idempotency, pauses) are in `simulated.rs`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;

use crate::{Operation, ProviderState};

/// The storage failed; the processor answers `Unavailable` (outcome unknown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("simulated ledger: {0}")]
pub struct LedgerError(pub String);

/// Results of ledger calls.
pub type LedgerResult<T> = std::result::Result<T, LedgerError>;

/// The answer to an authorization, recorded under its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAuthorization {
    /// The request's idempotency key.
    pub idempotency_key: String,
    /// A hash of what was asked (token, amount, currency): the same key with
    /// another request is refused. The token itself is never stored.
    pub request_hash: String,
    /// `Ok(reference)` when approved, `Err(decline code)` when declined.
    pub outcome: Result<String, String>,
    /// The operation that pauses once applied to this authorization, and the
    /// pause's name (from a pause token such as `tok_pause:refund:r1`).
    pub pause: Option<(Operation, String)>,
}

/// An operation on an authorization, recorded under its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerOperation {
    /// The request's idempotency key.
    pub idempotency_key: String,
    /// What to do.
    pub operation: Operation,
    /// To which authorization.
    pub reference: String,
}

/// What came of an operation (the first answer for its key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerOutcome {
    /// The authorization moved.
    Applied,
    /// The authorization is not in the state the operation moves from.
    InvalidState,
    /// No authorization has this reference.
    NoSuchAuthorization,
    /// The key was recorded for another operation or reference (not recorded again).
    KeyReused,
}

/// The answer to [`SimulatedLedger::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// What came of the operation.
    pub outcome: LedgerOutcome,
    /// Whether this call recorded it (false: the key's first answer, replayed).
    pub fresh: bool,
    /// The authorization's pause, if it has one.
    pub pause: Option<(Operation, String)>,
}

/// Where a named pause stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseState {
    /// An operation waits at it until someone releases it.
    Waiting,
    /// Released: operations pass it.
    Released,
}

/// The simulated processor's books.
pub trait SimulatedLedger: Send + Sync + std::fmt::Debug {
    /// The authorization recorded under `key`.
    fn authorization<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, LedgerResult<Option<LedgerAuthorization>>>;

    /// Records `entry` unless an authorization is recorded under its key;
    /// returns what is recorded and whether it is `entry` (atomically: of
    /// two concurrent calls with one key, both get the first one's entry).
    fn record_authorization(
        &self,
        entry: LedgerAuthorization,
    ) -> BoxFuture<'_, LedgerResult<(LedgerAuthorization, bool)>>;

    /// Applies `operation` once per key, atomically: moves the authorization
    /// from the operation's `from` state to its `to` state if it is in
    /// `from`. Returns the outcome (the recorded one for a repeated key).
    fn apply(&self, operation: LedgerOperation) -> BoxFuture<'_, LedgerResult<Applied>>;

    /// Where the authorization `reference` stands.
    fn state<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, LedgerResult<Option<ProviderState>>>;

    /// The pause `name`, made `Waiting` if it did not exist.
    fn hold<'a>(&'a self, name: &'a str) -> BoxFuture<'a, LedgerResult<PauseState>>;

    /// Releases the pause `name` (making it released if it did not exist).
    fn release<'a>(&'a self, name: &'a str) -> BoxFuture<'a, LedgerResult<()>>;

    /// Forgets what is older than `age`; returns how many entries went.
    fn prune(&self, age: Duration) -> BoxFuture<'_, LedgerResult<u64>>;

    /// Whether these books are written to Bistro's own relational store,
    /// in the same log as its orders (see
    /// [`PaymentProvider::keeps_books_in_the_store`](crate::PaymentProvider::keeps_books_in_the_store)).
    fn in_the_store(&self) -> bool {
        false
    }
}

#[derive(Debug, Default)]
struct Books {
    authorizations: HashMap<String, (LedgerAuthorization, Instant)>,
    states: HashMap<String, (ProviderState, String)>,
    operations: HashMap<String, (LedgerOperation, LedgerOutcome, Instant)>,
    pauses: HashMap<String, PauseState>,
}

/// Books in this process's memory: for the crate's own tests and tools
/// that need no other process to see them.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    books: Mutex<Books>,
}

impl MemoryLedger {
    fn lock(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    futures_util::future::ready(value).boxed()
}

impl SimulatedLedger for MemoryLedger {
    fn authorization<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, LedgerResult<Option<LedgerAuthorization>>> {
        ready(Ok(self
            .lock()
            .authorizations
            .get(key)
            .map(|(entry, _)| entry.clone())))
    }

    fn record_authorization(
        &self,
        entry: LedgerAuthorization,
    ) -> BoxFuture<'_, LedgerResult<(LedgerAuthorization, bool)>> {
        let mut books = self.lock();
        if let Some((recorded, _)) = books.authorizations.get(&entry.idempotency_key) {
            return ready(Ok((recorded.clone(), false)));
        }
        if let Ok(reference) = &entry.outcome {
            books.states.insert(
                reference.clone(),
                (ProviderState::Authorized, entry.idempotency_key.clone()),
            );
        }
        books.authorizations.insert(
            entry.idempotency_key.clone(),
            (entry.clone(), Instant::now()),
        );
        ready(Ok((entry, true)))
    }

    fn apply(&self, operation: LedgerOperation) -> BoxFuture<'_, LedgerResult<Applied>> {
        let mut books = self.lock();
        let pause = |books: &Books, reference: &str| {
            books
                .states
                .get(reference)
                .and_then(|(_, key)| books.authorizations.get(key))
                .and_then(|(entry, _)| entry.pause.clone())
        };
        if let Some((first, outcome, _)) = books.operations.get(&operation.idempotency_key) {
            let outcome = if *first == operation {
                *outcome
            } else {
                LedgerOutcome::KeyReused
            };
            return ready(Ok(Applied {
                outcome,
                fresh: false,
                pause: pause(&books, &operation.reference),
            }));
        }
        let (from, to) = operation.operation.moves();
        let outcome = match books.states.get_mut(&operation.reference) {
            None => LedgerOutcome::NoSuchAuthorization,
            Some((state, _)) if *state == from => {
                *state = to;
                LedgerOutcome::Applied
            }
            Some(_) => LedgerOutcome::InvalidState,
        };
        let paused = pause(&books, &operation.reference);
        books.operations.insert(
            operation.idempotency_key.clone(),
            (operation, outcome, Instant::now()),
        );
        ready(Ok(Applied {
            outcome,
            fresh: true,
            pause: paused,
        }))
    }

    fn state<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, LedgerResult<Option<ProviderState>>> {
        ready(Ok(self.lock().states.get(reference).map(|(s, _)| *s)))
    }

    fn hold<'a>(&'a self, name: &'a str) -> BoxFuture<'a, LedgerResult<PauseState>> {
        ready(Ok(*self
            .lock()
            .pauses
            .entry(name.to_owned())
            .or_insert(PauseState::Waiting)))
    }

    fn release<'a>(&'a self, name: &'a str) -> BoxFuture<'a, LedgerResult<()>> {
        self.lock()
            .pauses
            .insert(name.to_owned(), PauseState::Released);
        ready(Ok(()))
    }

    fn prune(&self, age: Duration) -> BoxFuture<'_, LedgerResult<u64>> {
        let mut books = self.lock();
        let before = books.authorizations.len() + books.operations.len();
        let keep = |at: &Instant| at.elapsed() < age;
        books.authorizations.retain(|_, (_, at)| keep(at));
        books.operations.retain(|_, (_, _, at)| keep(at));
        let Books {
            authorizations,
            states,
            ..
        } = &mut *books;
        states.retain(|_, (_, key)| authorizations.contains_key(key));
        let after = books.authorizations.len() + books.operations.len();
        ready(Ok(u64::try_from(before - after).unwrap_or(u64::MAX)))
    }
}
