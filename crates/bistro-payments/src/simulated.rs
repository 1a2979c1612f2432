//! The simulated card processor: the test tokens of the crate's README,
//! with its books in a [`SimulatedLedger`] that every replica shares.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::ledger::{LedgerAuthorization, LedgerOperation, LedgerOutcome, PauseState};
use crate::{
    Authorization, AuthorizeRequest, Checkpoint, Operation, PaymentError, PaymentProvider,
    ProviderState, Result, SimulatedLedger,
};

/// How often a paused operation looks whether it was released.
const PAUSE_POLL: Duration = Duration::from_millis(20);

/// What the processor has been asked in this process, for tests and demos.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimulatedStats {
    /// `authorize` calls received, repeats included.
    pub authorize_calls: u64,
    /// Authorizations granted (a repeated key does not grant another).
    pub authorizations: u64,
    /// Captures performed.
    pub captures: u64,
    /// Authorizations voided.
    pub voids: u64,
    /// Refunds performed.
    pub refunds: u64,
}

/// Where a pause token (`tok_pause:{step}:{name}`) makes an operation wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// At a point of the checkout (`stock`, `commit`).
    Checkout(Checkpoint),
    /// Inside `authorize`, once the authorization is recorded (`authorize`).
    Authorize,
    /// Inside an operation on the authorization, once it is applied
    /// (`capture`, `void`, `refund`).
    Operation(Operation),
}

impl Pause {
    /// The step and the pause's name of a pause token, if it is one.
    pub fn parse(token: &str) -> Option<(Self, &str)> {
        let rest = token.strip_prefix("tok_pause:")?;
        let (step, name) = rest.split_once(':')?;
        if name.is_empty() {
            return None;
        }
        let pause = match step {
            "stock" => Self::Checkout(Checkpoint::StockTaken),
            "commit" => Self::Checkout(Checkpoint::Committed),
            "authorize" => Self::Authorize,
            "capture" => Self::Operation(Operation::Capture),
            "void" => Self::Operation(Operation::Void),
            "refund" => Self::Operation(Operation::Refund),
            _ => return None,
        };
        Some((pause, name))
    }
}

/// The built-in provider: moves no real money. See the crate documentation for its tokens.
#[derive(Debug)]
pub struct SimulatedProcessor {
    ledger: Arc<dyn SimulatedLedger>,
    slow_delay: Duration,
    pauses: bool,
    stats: Mutex<SimulatedStats>,
}

fn failed(code: &str) -> PaymentError {
    PaymentError::Failed { code: code.into() }
}

fn unavailable(error: &crate::LedgerError) -> PaymentError {
    tracing::error!(%error, "the simulated processor's ledger failed");
    PaymentError::Unavailable {
        code: "ledger_unavailable".into(),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

impl SimulatedProcessor {
    /// A processor keeping its books in `ledger`, whose `tok_slow` answers
    /// after `slow_delay`, honouring pause tokens when `pauses` is on (never
    /// in production: there they are declined like any unknown token).
    pub fn new(ledger: Arc<dyn SimulatedLedger>, slow_delay: Duration, pauses: bool) -> Self {
        Self {
            ledger,
            slow_delay,
            pauses,
            stats: Mutex::default(),
        }
    }

    /// A processor with its books in this process only (tests of this crate, tools).
    pub fn in_memory() -> Self {
        Self::new(
            Arc::new(crate::MemoryLedger::default()),
            Duration::from_secs(2),
            true,
        )
    }

    /// What it has been asked so far in this process.
    pub fn stats(&self) -> SimulatedStats {
        *self.lock_stats()
    }

    /// Its books.
    pub fn ledger(&self) -> &Arc<dyn SimulatedLedger> {
        &self.ledger
    }

    fn lock_stats(&self) -> std::sync::MutexGuard<'_, SimulatedStats> {
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn pause_of<'t>(&self, token: &'t str) -> Option<(Pause, &'t str)> {
        if self.pauses {
            Pause::parse(token)
        } else {
            None
        }
    }

    /// The decision for a token (before any delay).
    fn decide(&self, token: &str) -> Result<()> {
        match token {
            "tok_visa" | "tok_slow" => Ok(()),
            _ if self.pause_of(token).is_some() => Ok(()),
            "tok_chargeDeclined" => Err(PaymentError::Declined {
                code: "card_declined".into(),
            }),
            "tok_processingError" => Err(failed("processing_error")),
            _ => Err(PaymentError::Declined {
                code: "invalid_token".into(),
            }),
        }
    }

    fn reference_for(key: &str) -> String {
        format!("sim_auth_{}", hex(&Sha256::digest(key.as_bytes())[..10]))
    }

    fn request_hash(request: &AuthorizeRequest) -> String {
        let text = format!(
            "{}|{}|{}",
            request.token, request.amount, request.currency_code
        );
        hex(&Sha256::digest(text.as_bytes())[..16])
    }

    /// Waits until the pause `name` is released (by this process or another).
    async fn wait(&self, name: &str) {
        tracing::info!(
            pause = name,
            "the simulated processor pauses until released"
        );
        loop {
            match self.ledger.hold(name).await {
                Ok(PauseState::Released) => return,
                Ok(PauseState::Waiting) => tokio::time::sleep(PAUSE_POLL).await,
                Err(error) => {
                    tracing::error!(%error, pause = name, "a pause cannot be read; going on");
                    return;
                }
            }
        }
    }

    fn answer(recorded: &LedgerAuthorization, request_hash: &str) -> Result<Authorization> {
        if recorded.request_hash != request_hash {
            // A processor refuses a key reused for a different charge.
            return Err(failed("idempotency_key_reused"));
        }
        match &recorded.outcome {
            Ok(reference) => Ok(Authorization {
                reference: reference.clone(),
            }),
            Err(code) => Err(PaymentError::Declined { code: code.clone() }),
        }
    }
}

impl PaymentProvider for SimulatedProcessor {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn authorize(&self, request: AuthorizeRequest) -> BoxFuture<'_, Result<Authorization>> {
        async move {
            self.lock_stats().authorize_calls += 1;
            if request.token == "tok_slow" {
                tokio::time::sleep(self.slow_delay).await;
            }
            let decision = self.decide(&request.token);
            // Processing errors are not remembered: a retry may succeed, as
            // with a real processor.
            if let Err(error @ PaymentError::Failed { .. }) = decision {
                return Err(error);
            }
            if decision.is_ok() && request.amount <= 0 {
                return Err(failed("invalid_amount"));
            }
            let request_hash = Self::request_hash(&request);
            let pause = self.pause_of(&request.token);
            let entry = LedgerAuthorization {
                idempotency_key: request.idempotency_key.clone(),
                request_hash: request_hash.clone(),
                outcome: match decision {
                    Ok(()) => Ok(Self::reference_for(&request.idempotency_key)),
                    Err(error) => Err(error.code().to_owned()),
                },
                pause: match pause {
                    Some((Pause::Operation(operation), name)) => Some((operation, name.to_owned())),
                    _ => None,
                },
            };
            let (recorded, fresh) = self
                .ledger
                .record_authorization(entry)
                .await
                .map_err(|e| unavailable(&e))?;
            if fresh && recorded.outcome.is_ok() {
                self.lock_stats().authorizations += 1;
            }
            if let Some((Pause::Authorize, name)) = pause {
                self.wait(name).await;
            }
            Self::answer(&recorded, &request_hash)
        }
        .boxed()
    }

    fn find_authorization<'a>(
        &'a self,
        request: &'a AuthorizeRequest,
    ) -> BoxFuture<'a, Result<Option<Authorization>>> {
        async move {
            let recorded = self
                .ledger
                .authorization(&request.idempotency_key)
                .await
                .map_err(|e| unavailable(&e))?;
            Ok(recorded
                .and_then(|recorded| Self::answer(&recorded, &Self::request_hash(request)).ok()))
        }
        .boxed()
    }

    fn finds_authorizations_by_key(&self) -> bool {
        true
    }

    fn keeps_books_in_the_store(&self) -> bool {
        self.ledger.in_the_store()
    }

    fn operate<'a>(
        &'a self,
        operation: Operation,
        reference: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        async move {
            let applied = self
                .ledger
                .apply(LedgerOperation {
                    idempotency_key: key.to_owned(),
                    operation,
                    reference: reference.to_owned(),
                })
                .await
                .map_err(|e| unavailable(&e))?;
            if applied.fresh && applied.outcome == LedgerOutcome::Applied {
                let mut stats = self.lock_stats();
                match operation {
                    Operation::Capture => stats.captures += 1,
                    Operation::Void => stats.voids += 1,
                    Operation::Refund => stats.refunds += 1,
                }
            }
            if self.pauses
                && let Some((paused, name)) = &applied.pause
                && *paused == operation
            {
                self.wait(name).await;
            }
            match applied.outcome {
                LedgerOutcome::Applied => Ok(()),
                LedgerOutcome::InvalidState => Err(failed("invalid_state")),
                LedgerOutcome::NoSuchAuthorization => Err(failed("no_such_authorization")),
                LedgerOutcome::KeyReused => Err(failed("idempotency_key_reused")),
            }
        }
        .boxed()
    }

    fn state<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<ProviderState>> {
        async move {
            self.ledger
                .state(reference)
                .await
                .map_err(|e| unavailable(&e))?
                .ok_or_else(|| failed("no_such_authorization"))
        }
        .boxed()
    }

    fn checkpoint<'a>(&'a self, token: &'a str, at: Checkpoint) -> BoxFuture<'a, ()> {
        async move {
            if let Some((Pause::Checkout(point), name)) = self.pause_of(token)
                && point == at
            {
                self.wait(name).await;
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(key: &str, token: &str, amount: i64) -> AuthorizeRequest {
        AuthorizeRequest {
            idempotency_key: key.into(),
            token: token.into(),
            amount,
            currency_code: "EUR".into(),
        }
    }

    fn processor() -> SimulatedProcessor {
        SimulatedProcessor::new(
            Arc::new(crate::MemoryLedger::default()),
            Duration::from_millis(1),
            true,
        )
    }

    #[tokio::test]
    async fn tokens_decide_and_a_repeated_key_returns_the_first_answer() {
        let p = processor();
        let first = p.authorize(request("k1", "tok_visa", 100)).await.unwrap();
        let again = p.authorize(request("k1", "tok_visa", 100)).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(
            p.authorize(request("k1", "tok_visa", 200)).await,
            Err(failed("idempotency_key_reused"))
        );
        assert_eq!(
            p.authorize(request("k2", "tok_chargeDeclined", 100)).await,
            Err(PaymentError::Declined {
                code: "card_declined".into()
            })
        );
        assert_eq!(
            p.authorize(request("k3", "tok_processingError", 100)).await,
            Err(failed("processing_error"))
        );
        assert!(p.authorize(request("k4", "tok_slow", 100)).await.is_ok());
        assert!(matches!(
            p.authorize(request("k5", "4242424242424242", 100)).await,
            Err(PaymentError::Declined { .. })
        ));
        let stats = p.stats();
        assert_eq!((stats.authorize_calls, stats.authorizations), (7, 2));
        // Found by its key without making another.
        assert_eq!(
            p.find_authorization(&request("k1", "tok_visa", 100))
                .await
                .unwrap(),
            Some(first)
        );
        assert_eq!(
            p.find_authorization(&request("k9", "tok_visa", 100))
                .await
                .unwrap(),
            None
        );
        assert_eq!(p.stats().authorizations, 2);
    }

    #[tokio::test]
    async fn authorizations_move_like_a_processor_moves_them() {
        use Operation::{Capture, Refund, Void};
        let p = processor();
        let a = p.authorize(request("a", "tok_visa", 100)).await.unwrap();
        assert_eq!(
            p.operate(Refund, &a.reference, "r0").await,
            Err(failed("invalid_state"))
        );
        p.operate(Capture, &a.reference, "c1").await.unwrap();
        // The same key repeats the answer; another key finds it captured already.
        p.operate(Capture, &a.reference, "c1").await.unwrap();
        assert_eq!(
            p.operate(Capture, &a.reference, "c2").await,
            Err(failed("invalid_state"))
        );
        assert_eq!(
            p.operate(Void, &a.reference, "v1").await,
            Err(failed("invalid_state"))
        );
        // A key used for one operation is refused for another.
        assert_eq!(
            p.operate(Refund, &a.reference, "c1").await,
            Err(failed("idempotency_key_reused"))
        );
        p.operate(Refund, &a.reference, "r1").await.unwrap();
        assert_eq!(p.state(&a.reference).await, Ok(ProviderState::Refunded));
        let b = p.authorize(request("b", "tok_visa", 100)).await.unwrap();
        p.operate(Void, &b.reference, "v2").await.unwrap();
        assert_eq!(
            p.operate(Capture, &b.reference, "c3").await,
            Err(failed("invalid_state"))
        );
        assert_eq!(
            p.operate(Capture, "sim_auth_unknown", "c4").await,
            Err(failed("no_such_authorization"))
        );
        let stats = p.stats();
        assert_eq!((stats.captures, stats.voids, stats.refunds), (1, 1, 1));
    }

    #[tokio::test]
    async fn a_pause_token_waits_at_its_step_until_released() {
        let p = Arc::new(processor());
        let a = p
            .authorize(request("p", "tok_pause:refund:r1", 100))
            .await
            .unwrap();
        p.operate(Operation::Capture, &a.reference, "c")
            .await
            .unwrap();
        let refund = {
            let p = p.clone();
            let reference = a.reference.clone();
            tokio::spawn(async move { p.operate(Operation::Refund, &reference, "r").await })
        };
        // The refund is applied, then waits for its release.
        while p.ledger.state(&a.reference).await.unwrap() != Some(ProviderState::Refunded) {
            tokio::task::yield_now().await;
        }
        assert!(!refund.is_finished());
        p.ledger.release("r1").await.unwrap();
        assert_eq!(refund.await.unwrap(), Ok(()));
        // Released pauses stay released: a repeat passes.
        p.operate(Operation::Refund, &a.reference, "r")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn pause_tokens_are_declined_where_pauses_are_off() {
        let p = SimulatedProcessor::new(
            Arc::new(crate::MemoryLedger::default()),
            Duration::from_millis(1),
            false,
        );
        assert_eq!(
            p.authorize(request("x", "tok_pause:authorize:x", 100))
                .await,
            Err(PaymentError::Declined {
                code: "invalid_token".into()
            })
        );
    }
}
