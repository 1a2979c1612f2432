//! Pending steps: a checkout or a payment change, written down before it
//! moves stock or money (`pending_steps`), and leased to whoever works on it.
//!
//! A step is created with a lease for its request; the request finishes it
//! (deletes it) when everything it does is done. A request that dies leaves
//! its step; once the lease has passed, a retry of the same checkout or the
//! recovery task of any replica takes it over (a conditional update of the
//! lease, so one at a time) and finishes or undoes it. Every write a step's
//! holder makes is conditional on still holding the lease, so a request that
//! outlived its lease cannot undo what recovery decided.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::Result;
use crate::entity::{StepKind, StepState, order, pending_step};
use crate::write_turn;

/// A checkout about to take stock or money.
#[derive(Debug, Clone)]
pub struct NewCheckoutStep {
    /// The customer.
    pub user_id: i64,
    /// Their idempotency key.
    pub idempotency_key: String,
    /// The provider's name.
    pub provider: String,
    /// The base of the provider's idempotency keys (the step's id is appended).
    pub provider_key: String,
    /// What it will do, as JSON.
    pub detail: String,
    /// Who works on it.
    pub lease_owner: String,
    /// Until when.
    pub lease_until: DateTime<Utc>,
    /// Now.
    pub now: DateTime<Utc>,
    /// Whether the claim's commit may trail the disk
    /// ([`crate::durability_may_trail`]): only when nothing outside this
    /// database's log happens before the order's synchronous commit (no
    /// stock taken in the key-value store, a processor whose books are
    /// written to this database after the claim). Then a crash of the
    /// database that loses the claim loses everything after it too, since
    /// the log is replayed in order.
    pub durability_may_trail: bool,
}

/// How a checkout's claim on its key went.
#[derive(Debug, Clone)]
pub enum CheckoutClaim {
    /// The step is this request's.
    Claimed(Box<pending_step::Model>),
    /// The customer already has an order with this key.
    Ordered,
    /// Another step holds the key.
    Held,
}

/// Claims a customer's idempotency key for a checkout, in one statement:
/// the step is written unless the customer has an order with the key or
/// another step holds it. `Ordered` and `Held` are told apart by a second
/// read only when the claim fails.
pub async fn claim_checkout(
    db: &DatabaseConnection,
    new: NewCheckoutStep,
) -> Result<CheckoutClaim> {
    use pending_step::Column as C;
    let ordered = Query::select()
        .expr(Expr::val(1))
        .from(order::Entity)
        .and_where(order::Column::UserId.eq(new.user_id))
        .and_where(order::Column::IdempotencyKey.eq(new.idempotency_key.clone()))
        .to_owned();
    let mut values = Query::select();
    values
        .exprs([
            Expr::val(StepKind::Checkout.to_value()),
            Expr::val(StepState::Running.to_value()),
            Expr::val(new.user_id),
            Expr::val(new.idempotency_key.clone()),
            Expr::val(new.provider),
            Expr::val(new.provider_key),
            Expr::val(new.detail),
            Expr::val(new.lease_owner),
            Expr::val(new.lease_until),
            Expr::val(new.now),
            Expr::val(new.now),
        ])
        .and_where(Expr::exists(ordered).not());
    if new.durability_may_trail {
        values.and_where(crate::durability_may_trail(db));
    }
    let insert = Query::insert()
        .into_table(pending_step::Entity)
        .columns([
            C::Kind,
            C::State,
            C::UserId,
            C::IdempotencyKey,
            C::Provider,
            C::ProviderKey,
            C::Detail,
            C::LeaseOwner,
            C::LeaseUntil,
            C::CreatedAt,
            C::UpdatedAt,
        ])
        .select_from(values)
        .map_err(|e| crate::Error::Db(sea_orm::DbErr::Custom(e.to_string())))?
        .on_conflict(
            OnConflict::columns([C::UserId, C::IdempotencyKey])
                .do_nothing()
                .to_owned(),
        )
        .returning_all()
        .to_owned();
    let turn = write_turn::take(db).await;
    let claimed = db.query_one(&insert).await?;
    drop(turn);
    if let Some(row) = claimed {
        let step = pending_step::Model::from_query_result(&row, "")?;
        return Ok(CheckoutClaim::Claimed(Box::new(step)));
    }
    Ok(
        if checkout_step(db, new.user_id, &new.idempotency_key)
            .await?
            .is_some()
        {
            CheckoutClaim::Held
        } else {
            CheckoutClaim::Ordered
        },
    )
}

/// The step holding a customer's idempotency key.
pub async fn checkout_step(
    db: &DatabaseConnection,
    user_id: i64,
    idempotency_key: &str,
) -> Result<Option<pending_step::Model>> {
    Ok(pending_step::Entity::find()
        .filter(pending_step::Column::UserId.eq(user_id))
        .filter(pending_step::Column::IdempotencyKey.eq(idempotency_key))
        .one(db)
        .await?)
}

/// The payment change an order is going through.
pub async fn order_step(
    db: &DatabaseConnection,
    order_id: i64,
) -> Result<Option<pending_step::Model>> {
    Ok(pending_step::Entity::find()
        .filter(pending_step::Column::OrderId.eq(order_id))
        .one(db)
        .await?)
}

/// Takes over a step whose lease has passed: `Some` (with the new lease)
/// when it is now `owner`'s, `None` when someone holds it (or it is gone).
pub async fn take_over(
    db: &DatabaseConnection,
    id: i64,
    owner: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<pending_step::Model>> {
    let lease_passed = pending_step::Column::LeaseUntil.lt(now);
    lease_to(db, id, owner, until, now, lease_passed).await
}

/// Gives the lease of step `id` to `owner` until `until` where `condition`
/// holds: `Some` (the step, re-read) when it is now `owner`'s.
async fn lease_to(
    db: &DatabaseConnection,
    id: i64,
    owner: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    condition: sea_orm::sea_query::SimpleExpr,
) -> Result<Option<pending_step::Model>> {
    use pending_step::Column as C;
    let turn = write_turn::take(db).await;
    let taken = pending_step::Entity::update_many()
        .col_expr(C::LeaseOwner, Expr::value(owner))
        .col_expr(C::LeaseUntil, Expr::value(until))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::Id.eq(id))
        .filter(condition)
        .exec(db)
        .await?;
    drop(turn);
    if taken.rows_affected == 0 {
        return Ok(None);
    }
    Ok(pending_step::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|step| step.lease_owner == owner))
}

/// Records the provider's reference for the payment of a step `owner` holds.
/// Its commit does not wait for the disk ([`crate::durability_may_trail`]):
/// the order's commit that follows makes it durable, and lost before that
/// (a crash of the database) the reference is asked of the provider again.
pub async fn set_reference(
    db: &DatabaseConnection,
    id: i64,
    owner: &str,
    reference: &str,
) -> Result<bool> {
    let _turn = write_turn::take(db).await;
    use pending_step::Column as C;
    let updated = pending_step::Entity::update_many()
        .col_expr(C::ProviderReference, Expr::value(reference))
        .filter(C::Id.eq(id))
        .filter(C::LeaseOwner.eq(owner))
        .filter(crate::durability_may_trail(db))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// The lease owner of a checkout step that waits for its customer (a card
/// challenge, 3-D Secure): no request works on it, the customer's retry
/// takes it back at once ([`take_from_customer`]), and anyone else only
/// after its lease (`until`), as for any step.
pub const AWAITING_CUSTOMER: &str = "awaiting-customer";

/// Hands a checkout step `owner` holds to its customer until `until`: see
/// [`AWAITING_CUSTOMER`].
pub async fn await_customer(
    db: &DatabaseConnection,
    id: i64,
    owner: &str,
    until: DateTime<Utc>,
) -> Result<bool> {
    let _turn = write_turn::take(db).await;
    use pending_step::Column as C;
    let updated = pending_step::Entity::update_many()
        .col_expr(C::LeaseOwner, Expr::value(AWAITING_CUSTOMER))
        .col_expr(C::LeaseUntil, Expr::value(until))
        .filter(C::Id.eq(id))
        .filter(C::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Takes a step that waits for its customer back for the customer's retry
/// (`owner`), whatever its lease: `Some` when it is now `owner`'s.
pub async fn take_from_customer(
    db: &DatabaseConnection,
    id: i64,
    owner: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<pending_step::Model>> {
    let awaiting = pending_step::Column::LeaseOwner.eq(AWAITING_CUSTOMER);
    lease_to(db, id, owner, until, now, awaiting).await
}

/// Moves the lease of a step `owner` holds to `until` (earlier: let a retry
/// or recovery take it over sooner; later: keep it).
pub async fn set_lease(
    db: &DatabaseConnection,
    id: i64,
    owner: &str,
    until: DateTime<Utc>,
) -> Result<bool> {
    let _turn = write_turn::take(db).await;
    use pending_step::Column as C;
    let updated = pending_step::Entity::update_many()
        .col_expr(C::LeaseUntil, Expr::value(until))
        .filter(C::Id.eq(id))
        .filter(C::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Deletes a step `owner` holds: everything it did is done (or undone).
///
/// Its commit does not wait for the disk ([`crate::durability_may_trail`]):
/// lost in a crash of the database, the step would be found committed and
/// its bookkeeping repeated.
pub async fn finish(db: &DatabaseConnection, id: i64, owner: &str) -> Result<bool> {
    let _turn = write_turn::take(db).await;
    let deleted = pending_step::Entity::delete_many()
        .filter(pending_step::Column::Id.eq(id))
        .filter(pending_step::Column::LeaseOwner.eq(owner))
        .filter(crate::durability_may_trail(db))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected == 1)
}

/// Deletes the steps `(id, owner)` whose owner still holds them, in one
/// statement; returns how many went. Its commit does not wait for the disk,
/// as [`finish`]'s.
pub async fn finish_many(db: &DatabaseConnection, held: &[(i64, String)]) -> Result<u64> {
    use pending_step::Column as C;
    if held.is_empty() {
        return Ok(0);
    }
    let _turn = write_turn::take(db).await;
    let mut any = sea_orm::Condition::any();
    for (id, owner) in held {
        any = any.add(C::Id.eq(*id).and(C::LeaseOwner.eq(owner.as_str())));
    }
    let deleted = pending_step::Entity::delete_many()
        .filter(any)
        .filter(crate::durability_may_trail(db))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// Deletes a step whatever its lease (its work is done, and repeating it
/// would change nothing).
pub async fn finish_any(db: &DatabaseConnection, id: i64) -> Result<()> {
    let _turn = write_turn::take(db).await;
    pending_step::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Steps whose lease has passed, oldest lease first.
pub async fn expired(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<pending_step::Model>> {
    Ok(pending_step::Entity::find()
        .filter(pending_step::Column::LeaseUntil.lt(now))
        .order_by_asc(pending_step::Column::LeaseUntil)
        .limit(limit)
        .all(db)
        .await?)
}

/// Every step, oldest first (operators and tests).
pub async fn all(db: &DatabaseConnection) -> Result<Vec<pending_step::Model>> {
    Ok(pending_step::Entity::find()
        .order_by_asc(pending_step::Column::Id)
        .all(db)
        .await?)
}

/// How many steps there are and the oldest one's age in seconds (health, metrics).
pub async fn backlog(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<(u64, Option<i64>)> {
    let oldest: Option<(i64, Option<DateTime<Utc>>)> = pending_step::Entity::find()
        .select_only()
        .column_as(pending_step::Column::Id.count(), "count")
        .column_as(pending_step::Column::CreatedAt.min(), "oldest")
        .into_tuple()
        .one(db)
        .await?;
    Ok(match oldest {
        Some((count, oldest)) => (
            u64::try_from(count).unwrap_or(0),
            oldest.map(|at| (now - at).num_seconds()),
        ),
        None => (0, None),
    })
}
