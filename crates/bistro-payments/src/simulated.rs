//! The simulated card processor: a ledger in the process and the test
//! tokens of the crate's README.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::{Authorization, AuthorizeRequest, PaymentError, PaymentProvider, Result};

/// Where an authorization stands on the processor's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Authorized,
    Captured,
    Voided,
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Operation {
    Capture,
    Void,
    Refund,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Authorize results by idempotency key, with the request they answered.
    authorizations_by_key: HashMap<String, (AuthorizeRequest, Result<Authorization>)>,
    /// Every authorization by reference.
    states: HashMap<String, State>,
    /// Capture, void and refund results by idempotency key.
    operations_by_key: HashMap<String, (Operation, String, Result<()>)>,
    stats: SimulatedStats,
}

/// What the simulated processor has been asked, for tests and demos.
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

/// The built-in provider: moves no real money. See the crate documentation for its tokens.
#[derive(Debug)]
pub struct SimulatedProcessor {
    slow_delay: Duration,
    ledger: Mutex<Ledger>,
}

impl Default for SimulatedProcessor {
    fn default() -> Self {
        Self::new(Duration::from_secs(2))
    }
}

fn failed(code: &str) -> PaymentError {
    PaymentError::Failed { code: code.into() }
}

impl SimulatedProcessor {
    /// A processor whose `tok_slow` answers after `slow_delay`.
    pub fn new(slow_delay: Duration) -> Self {
        Self {
            slow_delay,
            ledger: Mutex::default(),
        }
    }

    /// What it has been asked so far.
    pub fn stats(&self) -> SimulatedStats {
        self.lock().stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The decision for a token (before any delay).
    fn decide(token: &str) -> Result<()> {
        match token {
            "tok_visa" | "tok_slow" => Ok(()),
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
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
        format!("sim_auth_{hex}")
    }

    fn authorize_now(&self, request: AuthorizeRequest) -> Result<Authorization> {
        let mut ledger = self.lock();
        ledger.stats.authorize_calls += 1;
        if let Some((first, result)) = ledger.authorizations_by_key.get(&request.idempotency_key) {
            return if *first == request {
                result.clone()
            } else {
                // A processor refuses a key reused for a different charge.
                Err(failed("idempotency_key_reused"))
            };
        }
        let result = Self::decide(&request.token).and_then(|()| {
            if request.amount <= 0 {
                return Err(failed("invalid_amount"));
            }
            Ok(Authorization {
                reference: Self::reference_for(&request.idempotency_key),
            })
        });
        if let Ok(authorization) = &result {
            ledger
                .states
                .insert(authorization.reference.clone(), State::Authorized);
            ledger.stats.authorizations += 1;
        }
        // Processing errors are not remembered: a retry may succeed, as with a real processor.
        if !matches!(&result, Err(PaymentError::Failed { .. })) {
            ledger
                .authorizations_by_key
                .insert(request.idempotency_key.clone(), (request, result.clone()));
        }
        result
    }

    fn operate(&self, operation: Operation, reference: &str, key: &str) -> Result<()> {
        let mut ledger = self.lock();
        if let Some((first_operation, first_reference, result)) = ledger.operations_by_key.get(key)
        {
            return if *first_operation == operation && first_reference == reference {
                result.clone()
            } else {
                Err(failed("idempotency_key_reused"))
            };
        }
        let (from, to) = match operation {
            Operation::Capture => (State::Authorized, State::Captured),
            Operation::Void => (State::Authorized, State::Voided),
            Operation::Refund => (State::Captured, State::Refunded),
        };
        let result = match ledger.states.get(reference) {
            None => Err(failed("no_such_authorization")),
            Some(state) if *state == from => {
                ledger.states.insert(reference.to_owned(), to);
                match operation {
                    Operation::Capture => ledger.stats.captures += 1,
                    Operation::Void => ledger.stats.voids += 1,
                    Operation::Refund => ledger.stats.refunds += 1,
                }
                Ok(())
            }
            Some(_) => Err(failed("invalid_state")),
        };
        ledger.operations_by_key.insert(
            key.to_owned(),
            (operation, reference.to_owned(), result.clone()),
        );
        result
    }
}

impl PaymentProvider for SimulatedProcessor {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn authorize(&self, request: AuthorizeRequest) -> BoxFuture<'_, Result<Authorization>> {
        async move {
            if request.token == "tok_slow" {
                tokio::time::sleep(self.slow_delay).await;
            }
            self.authorize_now(request)
        }
        .boxed()
    }

    fn capture<'a>(&'a self, reference: &'a str, key: &'a str) -> BoxFuture<'a, Result<()>> {
        futures_util::future::ready(self.operate(Operation::Capture, reference, key)).boxed()
    }

    fn void<'a>(&'a self, reference: &'a str, key: &'a str) -> BoxFuture<'a, Result<()>> {
        futures_util::future::ready(self.operate(Operation::Void, reference, key)).boxed()
    }

    fn refund<'a>(&'a self, reference: &'a str, key: &'a str) -> BoxFuture<'a, Result<()>> {
        futures_util::future::ready(self.operate(Operation::Refund, reference, key)).boxed()
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

    #[tokio::test]
    async fn tokens_decide_and_a_repeated_key_returns_the_first_answer() {
        let p = SimulatedProcessor::new(Duration::from_millis(1));
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
    }

    #[tokio::test]
    async fn authorizations_move_like_a_processor_moves_them() {
        let p = SimulatedProcessor::new(Duration::from_millis(1));
        let a = p.authorize(request("a", "tok_visa", 100)).await.unwrap();
        assert_eq!(
            p.refund(&a.reference, "r0").await,
            Err(failed("invalid_state"))
        );
        p.capture(&a.reference, "c1").await.unwrap();
        // The same key repeats the answer; another key finds it captured already.
        p.capture(&a.reference, "c1").await.unwrap();
        assert_eq!(
            p.capture(&a.reference, "c2").await,
            Err(failed("invalid_state"))
        );
        assert_eq!(
            p.void(&a.reference, "v1").await,
            Err(failed("invalid_state"))
        );
        p.refund(&a.reference, "r1").await.unwrap();
        let b = p.authorize(request("b", "tok_visa", 100)).await.unwrap();
        p.void(&b.reference, "v2").await.unwrap();
        assert_eq!(
            p.capture(&b.reference, "c3").await,
            Err(failed("invalid_state"))
        );
        assert_eq!(
            p.capture("sim_auth_unknown", "c4").await,
            Err(failed("no_such_authorization"))
        );
        let stats = p.stats();
        assert_eq!((stats.captures, stats.voids, stats.refunds), (1, 1, 1));
    }
}
