//! The email outbox as the delivery worker uses it: claim due rows under a
//! lease, then mark each sent, due again later, or failed.
//!
//! **Claiming.** One statement claims a batch: it sets `lease_owner` and
//! `lease_until` (and counts the attempt) on up to `limit` rows that are
//! `PENDING`, due, and not leased (or whose lease has lapsed), and returns
//! them. On PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, so
//! workers claiming at the same moment take different rows instead of
//! waiting on (and then sharing) the same ones. SQLite runs one write
//! statement at a time, so the same `UPDATE … RETURNING` is already atomic
//! there: the second worker's claim sees the first one's leases.
//!
//! **Finishing.** `mark_sent`, `retry_later` and `mark_failed` change a row
//! only while the caller still owns its lease: a worker that stalled past
//! its lease cannot overwrite what the worker that took over decided.
//!
//! Times are compared with `julianday()` on SQLite, whose timestamps are
//! text of varying precision, and natively on PostgreSQL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, Statement,
};

use crate::Result;
use crate::entity::{OutboxStatus, email_outbox};
use crate::write_turn;

/// Claims up to `limit` due rows for `owner` until `now + lease`.
pub async fn claim_due(
    db: &DatabaseConnection,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Vec<email_outbox::Model>> {
    let _turn = write_turn::take(db).await;
    let lease_until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            // The rows are picked once, in a materialized CTE: as `id IN
            // (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` PostgreSQL may run
            // the subquery again per row while another worker holds locks,
            // claiming more than `limit` rows (a worker asking for one then
            // left the others leased and unsent until the lease ran out).
            "WITH picked AS MATERIALIZED (SELECT id FROM email_outbox \
               WHERE status = 'PENDING' AND next_attempt_at <= $3 \
                 AND (lease_until IS NULL OR lease_until <= $3) \
               ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             UPDATE email_outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             FROM picked WHERE email_outbox.id = picked.id \
             RETURNING email_outbox.*"
        }
        _ => {
            "UPDATE email_outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM email_outbox \
               WHERE status = 'PENDING' AND julianday(next_attempt_at) <= julianday(?3) \
                 AND (lease_until IS NULL OR julianday(lease_until) <= julianday(?3)) \
               ORDER BY next_attempt_at, id LIMIT ?4) \
             RETURNING *"
        }
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [owner.into(), lease_until.into(), now.into(), limit.into()],
    );
    let mut rows = email_outbox::Entity::find()
        .from_raw_sql(statement)
        .all(db)
        .await?;
    rows.sort_by_key(|row| row.id);
    Ok(rows)
}

/// Marks a row sent, if `owner` still holds its lease; `true` when it did.
pub async fn mark_sent(
    db: &DatabaseConnection,
    id: i64,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    finish(db, id, owner, OutboxStatus::Sent, now, None, Some(now)).await
}

/// Puts a row back to wait until `next_attempt_at`, recording why the
/// attempt failed, if `owner` still holds its lease.
pub async fn retry_later(
    db: &DatabaseConnection,
    id: i64,
    owner: &str,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> Result<bool> {
    finish(
        db,
        id,
        owner,
        OutboxStatus::Pending,
        next_attempt_at,
        Some(error),
        None,
    )
    .await
}

/// Gives a row up after its last attempt, if `owner` still holds its lease.
pub async fn mark_failed(
    db: &DatabaseConnection,
    id: i64,
    owner: &str,
    now: DateTime<Utc>,
    error: &str,
) -> Result<bool> {
    finish(db, id, owner, OutboxStatus::Failed, now, Some(error), None).await
}

async fn finish(
    db: &DatabaseConnection,
    id: i64,
    owner: &str,
    status: OutboxStatus,
    next_attempt_at: DateTime<Utc>,
    error: Option<&str>,
    sent_at: Option<DateTime<Utc>>,
) -> Result<bool> {
    let _turn = write_turn::take(db).await;
    use email_outbox::Column as C;
    let mut update = email_outbox::Entity::update_many()
        .col_expr(
            C::Status,
            Expr::value(sea_orm::ActiveEnum::to_value(&status)),
        )
        .col_expr(C::NextAttemptAt, Expr::value(next_attempt_at))
        .col_expr(C::LeaseOwner, Expr::value(None::<String>))
        .col_expr(C::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
        .filter(C::Id.eq(id))
        .filter(C::LeaseOwner.eq(owner));
    if let Some(error) = error {
        update = update.col_expr(C::LastError, Expr::value(error.to_owned()));
    }
    if let Some(sent_at) = sent_at {
        update = update.col_expr(C::SentAt, Expr::value(sent_at));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Extends the lease `owner` holds on a row to `until` (a delivery still
/// running keeps its message); `false` when the lease is no longer its.
pub async fn renew_lease(
    db: &DatabaseConnection,
    id: i64,
    owner: &str,
    until: DateTime<Utc>,
) -> Result<bool> {
    let _turn = write_turn::take(db).await;
    use email_outbox::Column as C;
    Ok(email_outbox::Entity::update_many()
        .col_expr(C::LeaseUntil, Expr::value(until))
        .filter(C::Id.eq(id))
        .filter(C::LeaseOwner.eq(owner))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// Emails not yet sent nor given up on, and when the oldest of them was
/// written (read when metrics are scraped: two statements).
pub async fn backlog(db: &DatabaseConnection) -> Result<(u64, Option<DateTime<Utc>>)> {
    use sea_orm::{PaginatorTrait as _, QueryOrder as _, QuerySelect as _};
    let pending = || {
        email_outbox::Entity::find().filter(email_outbox::Column::Status.eq(OutboxStatus::Pending))
    };
    let count = pending().count(db).await?;
    let oldest: Option<DateTime<Utc>> = pending()
        .select_only()
        .column(email_outbox::Column::CreatedAt)
        .order_by_asc(email_outbox::Column::CreatedAt)
        .into_tuple()
        .one(db)
        .await?;
    Ok((count, oldest))
}

/// Every row of the outbox, oldest first (operators and tests).
pub async fn all(db: &DatabaseConnection) -> Result<Vec<email_outbox::Model>> {
    use sea_orm::QueryOrder;
    Ok(email_outbox::Entity::find()
        .order_by_asc(email_outbox::Column::Id)
        .all(db)
        .await?)
}
