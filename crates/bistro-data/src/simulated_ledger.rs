//! The simulated card processor's books in SQL: [`SqlLedger`] implements
//! `bistro-payments`' [`SimulatedLedger`] over `bistro_sql::simulated_ledger`,
//! so every replica and every restart sees one ledger while the payments
//! crate knows nothing of SQL. The server wires it up.

use std::time::Duration;

use bistro_payments::{
    Applied, LedgerAuthorization, LedgerError, LedgerOperation, LedgerOutcome, Operation,
    PauseState, ProviderState, SimulatedLedger,
};
use bistro_sql::simulated_ledger as sql;
use chrono::Utc;
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;

/// The ledger in the relational store (its own, uncounted connection pool
/// handle: the processor is outside every request's cost).
#[derive(Debug, Clone)]
pub struct SqlLedger {
    db: DatabaseConnection,
}

impl SqlLedger {
    /// A ledger over `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn store(error: bistro_sql::Error) -> LedgerError {
    LedgerError(error.to_string())
}

fn operation_name(operation: Operation) -> &'static str {
    match operation {
        Operation::Capture => "CAPTURE",
        Operation::Void => "VOID",
        Operation::Refund => "REFUND",
    }
}

fn operation_named(name: &str) -> Option<Operation> {
    match name {
        "CAPTURE" => Some(Operation::Capture),
        "VOID" => Some(Operation::Void),
        "REFUND" => Some(Operation::Refund),
        _ => None,
    }
}

fn state_name(state: ProviderState) -> &'static str {
    // The simulated processor only ever records the first four.
    state.name()
}

/// A ledger state as stored, read back.
pub fn state_named(name: &str) -> Option<ProviderState> {
    match name {
        "AUTHORIZED" => Some(ProviderState::Authorized),
        "CAPTURED" => Some(ProviderState::Captured),
        "VOIDED" => Some(ProviderState::Voided),
        "REFUNDED" => Some(ProviderState::Refunded),
        _ => None,
    }
}

fn from_row(row: sql::AuthorizationRow) -> LedgerAuthorization {
    LedgerAuthorization {
        idempotency_key: row.idempotency_key,
        request_hash: row.request_hash,
        outcome: match (row.reference, row.decline_code) {
            (Some(reference), _) => Ok(reference),
            (None, code) => Err(code.unwrap_or_default()),
        },
        pause: row
            .pause_operation
            .as_deref()
            .and_then(operation_named)
            .zip(row.pause_name),
    }
}

impl SimulatedLedger for SqlLedger {
    fn authorization<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<LedgerAuthorization>, LedgerError>> {
        async move {
            Ok(sql::authorization(&self.db, key)
                .await
                .map_err(store)?
                .map(from_row))
        }
        .boxed()
    }

    fn record_authorization(
        &self,
        entry: LedgerAuthorization,
    ) -> BoxFuture<'_, Result<(LedgerAuthorization, bool), LedgerError>> {
        async move {
            let row = sql::new_authorization(
                entry.idempotency_key,
                entry.request_hash,
                entry.outcome,
                entry
                    .pause
                    .map(|(operation, name)| (operation_name(operation).to_owned(), name)),
                Utc::now(),
            );
            let (recorded, fresh) = sql::record_authorization(&self.db, row)
                .await
                .map_err(store)?;
            Ok((from_row(recorded), fresh))
        }
        .boxed()
    }

    fn apply(&self, operation: LedgerOperation) -> BoxFuture<'_, Result<Applied, LedgerError>> {
        async move {
            let (from, to) = operation.operation.moves();
            let applied = sql::apply(
                &self.db,
                &operation.idempotency_key,
                operation_name(operation.operation),
                &operation.reference,
                (state_name(from), state_name(to)),
                Utc::now(),
            )
            .await
            .map_err(store)?;
            Ok(Applied {
                outcome: match applied.outcome.as_str() {
                    "APPLIED" => LedgerOutcome::Applied,
                    "INVALID_STATE" => LedgerOutcome::InvalidState,
                    "NO_SUCH_AUTHORIZATION" => LedgerOutcome::NoSuchAuthorization,
                    _ => LedgerOutcome::KeyReused,
                },
                fresh: applied.fresh,
                pause: applied
                    .pause
                    .and_then(|(operation, name)| operation_named(&operation).zip(Some(name))),
            })
        }
        .boxed()
    }

    fn state<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<ProviderState>, LedgerError>> {
        async move {
            Ok(sql::state(&self.db, reference)
                .await
                .map_err(store)?
                .as_deref()
                .and_then(state_named))
        }
        .boxed()
    }

    fn hold<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<PauseState, LedgerError>> {
        async move {
            let state = sql::hold(&self.db, name, Utc::now()).await.map_err(store)?;
            Ok(if state == "RELEASED" {
                PauseState::Released
            } else {
                PauseState::Waiting
            })
        }
        .boxed()
    }

    fn release<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), LedgerError>> {
        async move {
            sql::release(&self.db, name, Utc::now())
                .await
                .map_err(store)
        }
        .boxed()
    }

    fn prune(&self, age: Duration) -> BoxFuture<'_, Result<u64, LedgerError>> {
        async move {
            let before =
                Utc::now() - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
            sql::prune(&self.db, before).await.map_err(store)
        }
        .boxed()
    }

    // The server's database: the one its orders are written to.
    fn in_the_store(&self) -> bool {
        true
    }
}
