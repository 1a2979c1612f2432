//! The simulated card processor's books in SQL (`simulated_authorizations`,
//! `simulated_operations`, `simulated_pauses`), so every replica and every
//! restart sees the same ones. Plain storage: what the processor decides is
//! in `bistro-payments`; `bistro-data` connects the two.
//!
//! Its writes do not wait for the disk on PostgreSQL
//! ([`crate::let_durability_trail`]): a real processor's books are not
//! Bistro's database, and the simulation should not add a disk flush to
//! every checkout; the order's own commit, which follows an authorization,
//! makes it durable.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};

use crate::Result;
use crate::entity::{simulated_authorization, simulated_operation, simulated_pause};
use crate::ordering::begin_write;
use crate::write_turn;

/// An authorization's answer, as stored.
pub type AuthorizationRow = simulated_authorization::Model;

/// The authorization recorded under `key`.
pub async fn authorization(db: &DatabaseConnection, key: &str) -> Result<Option<AuthorizationRow>> {
    Ok(simulated_authorization::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?)
}

/// Records `row` unless an authorization is recorded under its key; returns
/// what is recorded and whether it is `row`.
pub async fn record_authorization(
    db: &DatabaseConnection,
    row: AuthorizationRow,
) -> Result<(AuthorizationRow, bool)> {
    let key = row.idempotency_key.clone();
    let insert = simulated_authorization::Entity::insert(simulated_authorization::ActiveModel {
        idempotency_key: Set(row.idempotency_key.clone()),
        request_hash: Set(row.request_hash.clone()),
        reference: Set(row.reference.clone()),
        decline_code: Set(row.decline_code.clone()),
        state: Set(row.state.clone()),
        pause_operation: Set(row.pause_operation.clone()),
        pause_name: Set(row.pause_name.clone()),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    })
    .on_conflict(
        OnConflict::column(simulated_authorization::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    );
    let turn = write_turn::take(db).await;
    let inserted = if db.get_database_backend() == DatabaseBackend::Postgres {
        let txn = db.begin().await?;
        crate::let_durability_trail(&txn).await?;
        let inserted = insert.exec_without_returning(&txn).await?;
        txn.commit().await?;
        inserted
    } else {
        insert.exec_without_returning(db).await?
    };
    drop(turn);
    if inserted == 1 {
        return Ok((row, true));
    }
    let recorded = authorization(db, &key).await?.ok_or_else(|| {
        crate::Error::Db(sea_orm::DbErr::RecordNotFound(
            "a simulated authorization vanished while being recorded".into(),
        ))
    })?;
    Ok((recorded, false))
}

/// What [`apply`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// `APPLIED`, `INVALID_STATE`, `NO_SUCH_AUTHORIZATION`, or `KEY_REUSED`
    /// (the key was recorded for another operation; not recorded again).
    pub outcome: String,
    /// Whether this call recorded it.
    pub fresh: bool,
    /// The authorization's pause: `(operation, name)`.
    pub pause: Option<(String, String)>,
}

/// Applies an operation once per key, in one transaction: moves the
/// authorization `reference` from state `from` to `to` if it is in `from`,
/// and records the outcome under `key`.
pub async fn apply(
    db: &DatabaseConnection,
    key: &str,
    operation: &str,
    reference: &str,
    (from, to): (&str, &str),
    now: DateTime<Utc>,
) -> Result<Applied> {
    let (turn, txn) = begin_write(db).await?;
    crate::let_durability_trail(&txn).await?;
    let pause_of = |auth: &Option<AuthorizationRow>| {
        auth.as_ref()
            .and_then(|a| a.pause_operation.clone().zip(a.pause_name.clone()))
    };
    let authorization = simulated_authorization::Entity::find()
        .filter(simulated_authorization::Column::Reference.eq(reference))
        .one(&txn)
        .await?;
    if let Some(first) = simulated_operation::Entity::find_by_id(key.to_owned())
        .one(&txn)
        .await?
    {
        let outcome = if first.operation == operation && first.reference == reference {
            first.outcome
        } else {
            "KEY_REUSED".to_owned()
        };
        return Ok(Applied {
            outcome,
            fresh: false,
            pause: pause_of(&authorization),
        });
    }
    let outcome = match &authorization {
        None => "NO_SUCH_AUTHORIZATION",
        Some(_) => {
            let moved = simulated_authorization::Entity::update_many()
                .col_expr(simulated_authorization::Column::State, Expr::value(to))
                .col_expr(simulated_authorization::Column::UpdatedAt, Expr::value(now))
                .filter(simulated_authorization::Column::Reference.eq(reference))
                .filter(simulated_authorization::Column::State.eq(from))
                .exec(&txn)
                .await?;
            if moved.rows_affected == 1 {
                "APPLIED"
            } else {
                "INVALID_STATE"
            }
        }
    };
    let recorded = simulated_operation::Entity::insert(simulated_operation::ActiveModel {
        idempotency_key: Set(key.to_owned()),
        operation: Set(operation.to_owned()),
        reference: Set(reference.to_owned()),
        outcome: Set(outcome.to_owned()),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(simulated_operation::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if recorded == 0 {
        // A concurrent call with the same key recorded first: its answer is the key's.
        drop(txn);
        // The turn too: the answer is read with a turn of its own.
        drop(turn);
        return Box::pin(apply(db, key, operation, reference, (from, to), now)).await;
    }
    txn.commit().await?;
    Ok(Applied {
        outcome: outcome.to_owned(),
        fresh: true,
        pause: pause_of(&authorization),
    })
}

/// The state of the authorization `reference`.
pub async fn state(db: &DatabaseConnection, reference: &str) -> Result<Option<String>> {
    Ok(simulated_authorization::Entity::find()
        .filter(simulated_authorization::Column::Reference.eq(reference))
        .one(db)
        .await?
        .and_then(|a| a.state))
}

/// Every approved authorization's reference and state (tests compare them with the orders).
pub async fn states(db: &DatabaseConnection) -> Result<Vec<(String, String)>> {
    Ok(simulated_authorization::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|a| a.reference.zip(a.state))
        .collect())
}

/// The pause `name`'s state, made `WAITING` if it did not exist.
pub async fn hold(db: &DatabaseConnection, name: &str, now: DateTime<Utc>) -> Result<String> {
    let turn = write_turn::take(db).await;
    simulated_pause::Entity::insert(simulated_pause::ActiveModel {
        name: Set(name.to_owned()),
        state: Set("WAITING".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(simulated_pause::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    drop(turn);
    Ok(pause(db, name)
        .await?
        .unwrap_or_else(|| "WAITING".to_owned()))
}

/// The pause `name`'s state, if it exists.
pub async fn pause(db: &DatabaseConnection, name: &str) -> Result<Option<String>> {
    Ok(simulated_pause::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .map(|p| p.state))
}

/// Releases the pause `name` (creating it released if it did not exist).
pub async fn release(db: &DatabaseConnection, name: &str, now: DateTime<Utc>) -> Result<()> {
    let _turn = write_turn::take(db).await;
    simulated_pause::Entity::insert(simulated_pause::ActiveModel {
        name: Set(name.to_owned()),
        state: Set("RELEASED".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(simulated_pause::Column::Name)
            .update_columns([
                simulated_pause::Column::State,
                simulated_pause::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Forgets authorizations, operations and pauses created before `before`;
/// returns how many rows went.
pub async fn prune(db: &DatabaseConnection, before: DateTime<Utc>) -> Result<u64> {
    let (_turn, txn) = begin_write(db).await?;
    let operations = simulated_operation::Entity::delete_many()
        .filter(simulated_operation::Column::CreatedAt.lt(before))
        .exec(&txn)
        .await?
        .rows_affected;
    let authorizations = simulated_authorization::Entity::delete_many()
        .filter(simulated_authorization::Column::CreatedAt.lt(before))
        .exec(&txn)
        .await?
        .rows_affected;
    let pauses = simulated_pause::Entity::delete_many()
        .filter(simulated_pause::Column::CreatedAt.lt(before))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(operations + authorizations + pauses)
}

/// A new row, for the adapter that builds them.
pub fn new_authorization(
    key: String,
    request_hash: String,
    outcome: std::result::Result<String, String>,
    pause: Option<(String, String)>,
    now: DateTime<Utc>,
) -> AuthorizationRow {
    let (reference, decline_code, state) = match outcome {
        Ok(reference) => (Some(reference), None, Some("AUTHORIZED".to_owned())),
        Err(code) => (None, Some(code), None),
    };
    let (pause_operation, pause_name) = pause.unzip();
    AuthorizationRow {
        idempotency_key: key,
        request_hash,
        reference,
        decline_code,
        state,
        pause_operation,
        pause_name,
        created_at: now,
        updated_at: now,
    }
}
