//! Ordering in SQL: placing an order (one transaction for the order, its
//! lines, its payment, its first event and its confirmation email),
//! recording a transition, and the batched reads of ordering data (option
//! groups, payments, events, units sold today).
//!
//! Write transactions begin `IMMEDIATE` on SQLite: they take the write lock
//! up front, so two of them queue on the busy timeout instead of one
//! failing to upgrade a read lock. Every statement of a transaction runs on
//! the transaction, never on the pool (an in-memory SQLite has one
//! connection, which the transaction holds).

use crate::KeyMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, SqlErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use crate::entity::{
    Fulfilment, OrderStatus, OutboxStatus, PaymentStatus, StepKind, StepState, email_outbox,
    menu_option, menu_option_group, order, order_event, order_line, payment, pending_step,
};
use crate::grouped::{self, Rows};
use crate::write_turn::{self, Turn};
use crate::{Error, Result};

/// The stored (upper-case) form of an enumeration, as filters compare it.
pub fn stored<E: sea_orm::ActiveEnum<Value = String>>(value: E) -> String {
    value.to_value()
}

/// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite), after taking
/// the writer's turn ([`write_turn`]); keep the turn until the transaction ends.
///
/// Times the wait for the turn, a pooled connection and the `BEGIN`
/// (SQLite's write lock included) when metrics are on: the pool's
/// saturation as writes feel it.
pub async fn begin_write(db: &DatabaseConnection) -> Result<(Turn, DatabaseTransaction)> {
    let started = bistro_metrics::enabled().then(std::time::Instant::now);
    let turn = write_turn::take(db).await;
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?;
    if let Some(started) = started {
        bistro_metrics::sql_acquire(started.elapsed());
    }
    Ok((turn, txn))
}

/// The authorized payment of a new order.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Provider name.
    pub provider: String,
    /// The provider's id for the authorization.
    pub reference: String,
}

/// An email written with the transaction that causes it.
#[derive(Debug, Clone)]
pub struct NewEmail {
    /// Recipient address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// What it is about, e.g. `ORDER_CONFIRMATION`.
    pub kind: String,
}

/// An order to place (everything priced and authorized already).
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// The customer.
    pub user_id: i64,
    /// The restaurant.
    pub restaurant_id: i64,
    /// How it reaches the customer.
    pub fulfilment: Fulfilment,
    /// Dine-in only.
    pub table_number: Option<i32>,
    /// Delivery only.
    pub delivery_address: Option<String>,
    /// Sum of the lines.
    pub subtotal_amount: i64,
    /// What the customer pays.
    pub total_amount: i64,
    /// Currency of every amount.
    pub currency_code: String,
    /// The customer's idempotency key.
    pub idempotency_key: String,
    /// What the checkout asked for.
    pub checkout_fingerprint: String,
    /// The lines, priced by the caller from SQL prices: every column set
    /// but the ids (the order's is filled in when it is written).
    pub lines: Vec<order_line::ActiveModel>,
    /// The authorization.
    pub payment: NewPayment,
    /// The confirmation email; its body may name the order with `{order_id}`.
    pub confirmation: NewEmail,
    /// When it is placed.
    pub placed_at: DateTime<Utc>,
    /// The checkout's pending step and its holder: the order is written only
    /// while the holder still holds it, and the step is marked committed in
    /// the same transaction (leased until `lease_until`, so recovery leaves
    /// the bookkeeping after the commit to the request).
    pub step: Option<StepGuard>,
}

/// A pending step its holder still holds: a write that carries it commits
/// only if the lease is still the holder's.
#[derive(Debug, Clone)]
pub struct StepGuard {
    /// The step.
    pub id: i64,
    /// Its holder.
    pub owner: String,
    /// The lease to set with the write.
    pub lease_until: DateTime<Utc>,
}

/// A new order as written, with its lines, payment and first event: what
/// the checkout answers with, so it need not read them back.
#[derive(Debug, Clone)]
pub struct PlacedOrder {
    /// The order.
    pub order: order::Model,
    /// Its lines, in the cart's order.
    pub lines: Vec<order_line::Model>,
    /// Its authorized payment.
    pub payment: payment::Model,
    /// Its first event (`PLACED`).
    pub event: order_event::Model,
}

/// Why an order was not placed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlaceOrderError {
    /// The customer already has an order with this idempotency key.
    #[error("the idempotency key is already used by an order of this customer")]
    DuplicateKey,
    /// The checkout's pending step is no longer the writer's (it outlived
    /// its lease and another took it over): nothing was written.
    #[error("the checkout's pending step was taken over")]
    LeaseLost,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<DbErr> for PlaceOrderError {
    fn from(err: DbErr) -> Self {
        if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
            Self::DuplicateKey
        } else {
            Self::Store(err.into())
        }
    }
}

/// Places an order: the order (`PLACED`, payment `AUTHORIZED`), its lines,
/// its payment, its first event and its confirmation email, in one
/// transaction. A customer's second order with the same idempotency key is
/// refused by the unique index, whoever got there first.
pub async fn place_order(
    db: &DatabaseConnection,
    new: NewOrder,
) -> std::result::Result<PlacedOrder, PlaceOrderError> {
    let (_turn, txn) = begin_write(db).await?;
    let backend = txn.get_database_backend();
    let now = new.placed_at;
    // Two groups of statements (one hand-off each on SQLite, see
    // `grouped`): the order with its step marked committed, then what
    // needs the order's id.
    let mut insert_order = order::Entity::insert(order::ActiveModel {
        user_id: Set(new.user_id),
        restaurant_id: Set(new.restaurant_id),
        status: Set(OrderStatus::Placed),
        payment_status: Set(PaymentStatus::Authorized),
        fulfilment: Set(new.fulfilment),
        table_number: Set(new.table_number),
        delivery_address: Set(new.delivery_address),
        subtotal_amount: Set(new.subtotal_amount),
        total_amount: Set(new.total_amount),
        currency_code: Set(new.currency_code.clone()),
        idempotency_key: Set(new.idempotency_key),
        checkout_fingerprint: Set(Some(new.checkout_fingerprint)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .into_query();
    insert_order.returning_all();
    let mut first = vec![(backend.build(&insert_order), Rows::Exactly(1))];
    if let Some(step) = &new.step {
        // Returns the step's id when its holder still holds it.
        first.push((backend.build(&mark_committed(step, now)), Rows::Rest));
    }
    let mut first = grouped::run(&txn, first).await?.into_iter();
    let placed = one_row::<order::Model>(first.next())?;
    if new.step.is_some() && first.next().is_none_or(|rows| rows.len() != 1) {
        // Dropping the transaction rolls the order back.
        return Err(PlaceOrderError::LeaseLost);
    }
    let line_count = new.lines.len();
    let mut insert_lines = order_line::Entity::insert_many(new.lines.into_iter().map(|line| {
        order_line::ActiveModel {
            order_id: Set(placed.id),
            ..line
        }
    }))
    .into_query();
    insert_lines.returning_all();
    let mut insert_payment = payment::Entity::insert(payment::ActiveModel {
        order_id: Set(placed.id),
        provider: Set(new.payment.provider),
        provider_reference: Set(Some(new.payment.reference)),
        status: Set(PaymentStatus::Authorized),
        amount: Set(new.total_amount),
        currency_code: Set(new.currency_code),
        failure_code: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .into_query();
    insert_payment.returning_all();
    let mut insert_event = order_event::Entity::insert(order_event::ActiveModel {
        order_id: Set(placed.id),
        from_status: Set(None),
        to_status: Set(OrderStatus::Placed),
        actor_user_id: Set(Some(new.user_id)),
        note: Set(None),
        payment_status: Set(Some(PaymentStatus::Authorized)),
        created_at: Set(now),
        ..Default::default()
    })
    .into_query();
    insert_event.returning_all();
    let insert_email = email_outbox::Entity::insert(email_outbox::ActiveModel {
        recipient: Set(new.confirmation.recipient),
        subject: Set(new
            .confirmation
            .subject
            .replace("{order_id}", &placed.id.to_string())),
        body: Set(new
            .confirmation
            .body
            .replace("{order_id}", &placed.id.to_string())),
        kind: Set(new.confirmation.kind),
        order_id: Set(Some(placed.id)),
        status: Set(OutboxStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        lease_until: Set(None),
        lease_owner: Set(None),
        ..Default::default()
    })
    .into_query();
    let mut second = grouped::run(
        &txn,
        vec![
            (backend.build(&insert_lines), Rows::Exactly(line_count)),
            (backend.build(&insert_payment), Rows::Exactly(1)),
            (backend.build(&insert_event), Rows::Exactly(1)),
            (backend.build(&insert_email), Rows::Rest),
        ],
    )
    .await?
    .into_iter();
    let lines = second
        .next()
        .unwrap_or_default()
        .iter()
        .map(|row| order_line::Model::from_query_result(row, ""))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let payment = one_row::<payment::Model>(second.next())?;
    let event = one_row::<order_event::Model>(second.next())?;
    txn.commit().await?;
    Ok(PlacedOrder {
        order: placed,
        lines,
        payment,
        event,
    })
}

/// The one row a statement of a group returned, as `M`.
fn one_row<M: FromQueryResult>(
    rows: Option<Vec<sea_orm::QueryResult>>,
) -> std::result::Result<M, DbErr> {
    match rows.as_deref() {
        Some([row]) => M::from_query_result(row, ""),
        _ => Err(DbErr::Custom(
            "a statement returned no row where one was expected".to_owned(),
        )),
    }
}

/// Marks a step committed inside the transaction of its write, if its
/// holder still holds it (the statement then returns its id); renews its
/// lease for the bookkeeping that follows.
fn mark_committed(step: &StepGuard, now: DateTime<Utc>) -> sea_orm::sea_query::UpdateStatement {
    use pending_step::Column as C;
    let mut update = pending_step::Entity::update_many()
        .col_expr(C::State, Expr::value(StepState::Committed.to_value()))
        .col_expr(C::LeaseUntil, Expr::value(step.lease_until))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::Id.eq(step.id))
        .filter(C::LeaseOwner.eq(step.owner.clone()))
        .filter(C::State.eq(StepState::Running.to_value()))
        .into_query();
    update.returning_col(C::Id);
    update
}

/// The customer's order placed with this idempotency key.
pub async fn order_by_idempotency_key(
    db: &DatabaseConnection,
    user_id: i64,
    key: &str,
) -> Result<Option<order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::UserId.eq(user_id))
        .filter(order::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// One order as stored now (not through a request's loader, whose copy may be older).
pub async fn order_by_id(db: &DatabaseConnection, id: i64) -> Result<Option<order::Model>> {
    Ok(order::Entity::find_by_id(id).one(db).await?)
}

/// A status change and what it does to the payment.
#[derive(Debug, Clone)]
pub struct NewTransition {
    /// The order.
    pub order_id: i64,
    /// The status it must still be in (another transition may have won).
    pub from: OrderStatus,
    /// Its new status.
    pub to: OrderStatus,
    /// The payment status change that goes with it, if any: `(from, to)`.
    pub payment: Option<(PaymentStatus, PaymentStatus)>,
    /// The payment change's pending step, which the order must still be
    /// going through; `None` for a transition that moves no money (it then
    /// needs an order going through no payment change).
    pub step: Option<TransitionStep>,
    /// Who made it; `None` for the system.
    pub actor_user_id: Option<i64>,
    /// Why (a rejection's reason).
    pub note: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The pending step a transition completes, and what becomes of it.
#[derive(Debug, Clone, Copy)]
pub struct TransitionStep {
    /// The step.
    pub id: i64,
    /// `None`: the step is deleted with the write (nothing follows it).
    /// `Some(until)`: it stays, `COMMITTED` and leased until then, for what
    /// must follow the commit (stock given back) to be finished by recovery
    /// if its holder dies first.
    pub keep_until: Option<DateTime<Utc>>,
}

/// Records a transition in one transaction: the order's status (and
/// payment status) changes only if it is still `from` and going through
/// exactly the transition's pending step (or none), the event is written,
/// the payment row follows, and the step, done, is deleted. `Ok(None)` when
/// the order was no longer in `from` or is going through another payment
/// change (a concurrent transition won): nothing was written.
pub async fn record_transition(
    db: &DatabaseConnection,
    transition: NewTransition,
) -> Result<Option<order::Model>> {
    use order::Column as C;
    let (_turn, txn) = begin_write(db).await?;
    let mut update = order::Entity::update_many()
        .col_expr(
            C::Status,
            Expr::value(sea_orm::ActiveEnum::to_value(&transition.to)),
        )
        .col_expr(C::UpdatedAt, Expr::value(transition.at))
        .col_expr(C::PendingStepId, Expr::value(None::<i64>))
        .filter(C::Id.eq(transition.order_id))
        .filter(C::Status.eq(stored(transition.from)));
    update = match transition.step {
        Some(step) => update.filter(C::PendingStepId.eq(step.id)),
        None => update.filter(C::PendingStepId.is_null()),
    };
    if let Some((from, to)) = transition.payment {
        update = update
            .col_expr(
                C::PaymentStatus,
                Expr::value(sea_orm::ActiveEnum::to_value(&to)),
            )
            .filter(C::PaymentStatus.eq(stored(from)));
    }
    if update.exec(&txn).await?.rows_affected == 0 {
        // Dropping the transaction rolls it back.
        return Ok(None);
    }
    order_event::ActiveModel {
        order_id: Set(transition.order_id),
        from_status: Set(Some(transition.from)),
        to_status: Set(transition.to),
        actor_user_id: Set(transition.actor_user_id),
        note: Set(transition.note),
        payment_status: Set(transition.payment.map(|(_, to)| to)),
        created_at: Set(transition.at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if let Some((from, to)) = transition.payment {
        let mut update = payment::Entity::update_many()
            .col_expr(
                payment::Column::Status,
                Expr::value(sea_orm::ActiveEnum::to_value(&to)),
            )
            .col_expr(payment::Column::UpdatedAt, Expr::value(transition.at));
        if to == PaymentStatus::Refunded {
            // A refund gives back whatever was left: all of it now.
            update = update.col_expr(
                payment::Column::AmountRefunded,
                Expr::col(payment::Column::Amount),
            );
        }
        update
            .filter(payment::Column::OrderId.eq(transition.order_id))
            .filter(payment::Column::Status.eq(stored(from)))
            .exec(&txn)
            .await?;
    }
    match transition.step {
        Some(TransitionStep {
            id,
            keep_until: None,
        }) => {
            pending_step::Entity::delete_by_id(id).exec(&txn).await?;
        }
        Some(TransitionStep {
            id,
            keep_until: Some(until),
        }) => {
            use pending_step::Column as S;
            pending_step::Entity::update_many()
                .col_expr(S::State, Expr::value(StepState::Committed.to_value()))
                .col_expr(S::LeaseUntil, Expr::value(until))
                .col_expr(S::UpdatedAt, Expr::value(transition.at))
                .filter(S::Id.eq(id))
                .exec(&txn)
                .await?;
        }
        None => {}
    }
    let updated = order::Entity::find_by_id(transition.order_id)
        .one(&txn)
        .await?;
    txn.commit().await?;
    Ok(updated)
}

/// A payment change of an order about to call the provider.
#[derive(Debug, Clone)]
pub struct NewPaymentChange {
    /// The order.
    pub order_id: i64,
    /// The status the order must be in.
    pub from: OrderStatus,
    /// The payment status it must have.
    pub payment_from: PaymentStatus,
    /// Capture, void or refund.
    pub kind: StepKind,
    /// The provider's name.
    pub provider: String,
    /// The provider's idempotency key for the operation.
    pub provider_key: String,
    /// The payment's reference at the provider.
    pub reference: String,
    /// The transition it belongs to, as JSON.
    pub detail: String,
    /// Who works on it.
    pub lease_owner: String,
    /// Until when.
    pub lease_until: DateTime<Utc>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Starts a payment change of an order, in one transaction: its pending step
/// is written and the order is marked as going through it, only if the order
/// is still in `from` with payment `payment_from` and going through no other
/// change. `None` when it was not (another transition got there first).
pub async fn begin_payment_change(
    db: &DatabaseConnection,
    change: NewPaymentChange,
) -> Result<Option<pending_step::Model>> {
    let (_turn, txn) = begin_write(db).await?;
    let step = pending_step::ActiveModel {
        kind: Set(change.kind),
        state: Set(StepState::Running),
        user_id: Set(None),
        idempotency_key: Set(None),
        order_id: Set(Some(change.order_id)),
        provider: Set(change.provider),
        provider_key: Set(change.provider_key),
        provider_reference: Set(Some(change.reference)),
        detail: Set(change.detail),
        lease_owner: Set(change.lease_owner),
        lease_until: Set(change.lease_until),
        created_at: Set(change.now),
        updated_at: Set(change.now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let step = match step {
        Ok(step) => step,
        // Another change of this order has a step (`pending_steps_order_key`).
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Ok(None);
        }
        Err(err) => return Err(err.into()),
    };
    use order::Column as C;
    let marked = order::Entity::update_many()
        .col_expr(C::PendingStepId, Expr::value(step.id))
        .filter(C::Id.eq(change.order_id))
        .filter(C::Status.eq(stored(change.from)))
        .filter(C::PaymentStatus.eq(stored(change.payment_from)))
        .filter(C::PendingStepId.is_null())
        .exec(&txn)
        .await?;
    if marked.rows_affected == 0 {
        return Ok(None);
    }
    txn.commit().await?;
    Ok(Some(step))
}

/// Abandons a payment change the provider refused: the order goes through
/// no change any more and the step is deleted (one transaction).
pub async fn abandon_payment_change(
    db: &DatabaseConnection,
    order_id: i64,
    step: i64,
) -> Result<()> {
    let (_turn, txn) = begin_write(db).await?;
    order::Entity::update_many()
        .col_expr(order::Column::PendingStepId, Expr::value(None::<i64>))
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::PendingStepId.eq(step))
        .exec(&txn)
        .await?;
    pending_step::Entity::delete_by_id(step).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// A change the payment processor made on its own (reported by a webhook),
/// to record on its order.
#[derive(Debug, Clone)]
pub struct NewProcessorChange {
    /// The processor's id for the event that reported it.
    pub event_id: String,
    /// The processor's name (`stripe`).
    pub provider: String,
    /// The event's type.
    pub kind: String,
    /// The order.
    pub order_id: i64,
    /// The order's status, which it must still have.
    pub from: OrderStatus,
    /// Its status after (the same when only the payment changes).
    pub to: OrderStatus,
    /// The payment's status, which it must still have.
    pub payment_from: PaymentStatus,
    /// Its status after (the same when only the refunded amount grows).
    pub payment_to: PaymentStatus,
    /// How much of the payment is given back after it, in minor units.
    pub amount_refunded: i64,
    /// What happened, in words staff and the customer read.
    pub note: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What [`record_processor_change`] did.
#[derive(Debug, Clone)]
pub enum ProcessorChangeRecord {
    /// Recorded: the order as it is now, and its new event.
    Recorded(Box<order::Model>, Box<order_event::Model>),
    /// The event was handled before: nothing was written.
    Duplicate,
    /// The order is no longer in the statuses read, or is going through a
    /// payment change of Bistro's own: nothing was written.
    Moved,
}

/// Records a change the processor made, in one transaction: the event's id
/// (once: a known id writes nothing), the order's status and payment status
/// (only if they are still those read and the order is going through no
/// payment change), the payment row and the order's event.
pub async fn record_processor_change(
    db: &DatabaseConnection,
    change: NewProcessorChange,
) -> Result<ProcessorChangeRecord> {
    use crate::entity::processor_event;
    use sea_orm::sea_query::OnConflict;
    let (_turn, txn) = begin_write(db).await?;
    let inserted = processor_event::Entity::insert(processor_event::ActiveModel {
        event_id: Set(change.event_id.clone()),
        provider: Set(change.provider.clone()),
        kind: Set(change.kind.clone()),
        order_id: Set(Some(change.order_id)),
        received_at: Set(change.at),
    })
    .on_conflict(
        OnConflict::column(processor_event::Column::EventId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 0 {
        return Ok(ProcessorChangeRecord::Duplicate);
    }
    let moved = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(change.to.to_value()))
        .col_expr(
            order::Column::PaymentStatus,
            Expr::value(change.payment_to.to_value()),
        )
        .col_expr(order::Column::UpdatedAt, Expr::value(change.at))
        .filter(order::Column::Id.eq(change.order_id))
        .filter(order::Column::Status.eq(stored(change.from)))
        .filter(order::Column::PaymentStatus.eq(stored(change.payment_from)))
        .filter(order::Column::PendingStepId.is_null())
        .exec(&txn)
        .await?;
    if moved.rows_affected == 0 {
        // Dropping the transaction rolls the event's id back too: a later
        // delivery of the event is looked at again.
        return Ok(ProcessorChangeRecord::Moved);
    }
    payment::Entity::update_many()
        .col_expr(
            payment::Column::Status,
            Expr::value(change.payment_to.to_value()),
        )
        .col_expr(
            payment::Column::AmountRefunded,
            Expr::value(change.amount_refunded),
        )
        .col_expr(payment::Column::UpdatedAt, Expr::value(change.at))
        .filter(payment::Column::OrderId.eq(change.order_id))
        .filter(payment::Column::Status.eq(stored(change.payment_from)))
        .exec(&txn)
        .await?;
    let event = order_event::ActiveModel {
        order_id: Set(change.order_id),
        from_status: Set(Some(change.from)),
        to_status: Set(change.to),
        actor_user_id: Set(None),
        note: Set(Some(change.note)),
        payment_status: Set(Some(change.payment_to)),
        created_at: Set(change.at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let order = order::Entity::find_by_id(change.order_id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::Db(DbErr::RecordNotFound("an order vanished".into())))?;
    txn.commit().await?;
    Ok(ProcessorChangeRecord::Recorded(
        Box::new(order),
        Box::new(event),
    ))
}

/// Whether the processor's event `event_id` was handled already.
pub async fn processor_event_seen(db: &DatabaseConnection, event_id: &str) -> Result<bool> {
    use crate::entity::processor_event;
    Ok(processor_event::Entity::find_by_id(event_id.to_owned())
        .one(db)
        .await?
        .is_some())
}

/// The payment a provider knows by `reference`, if any.
pub async fn payment_by_reference(
    db: &DatabaseConnection,
    provider: &str,
    reference: &str,
) -> Result<Option<payment::Model>> {
    Ok(payment::Entity::find()
        .filter(payment::Column::Provider.eq(provider))
        .filter(payment::Column::ProviderReference.eq(reference))
        .order_by_desc(payment::Column::Id)
        .one(db)
        .await?)
}

/// Orders placed since `since` with their payments, oldest first
/// (reconciliation reads a period; two statements).
pub async fn orders_with_payments_since(
    db: &DatabaseConnection,
    since: DateTime<Utc>,
) -> Result<Vec<(order::Model, Vec<payment::Model>)>> {
    let orders = order::Entity::find()
        .filter(order::Column::CreatedAt.gte(since))
        .order_by_asc(order::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
    let mut payments: KeyMap<i64, Vec<payment::Model>> = KeyMap::default();
    for chunk in ids.chunks(500) {
        for payment in payments_by_orders(db, chunk).await? {
            payments.entry(payment.order_id).or_default().push(payment);
        }
    }
    Ok(orders
        .into_iter()
        .map(|order| {
            let paid = payments.remove(&order.id).unwrap_or_default();
            (order, paid)
        })
        .collect())
}

/// Forgets handled processor events received before `before` (the
/// processor stops redelivering an event after three days); returns how
/// many went.
pub async fn prune_processor_events(db: &DatabaseConnection, before: DateTime<Utc>) -> Result<u64> {
    use crate::entity::processor_event;
    let _turn = write_turn::take(db).await;
    Ok(processor_event::Entity::delete_many()
        .filter(processor_event::Column::ReceivedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

/// The payments of many orders, oldest first (one statement).
pub async fn payments_by_orders(
    db: &DatabaseConnection,
    order_ids: &[i64],
) -> Result<Vec<payment::Model>> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(payment::Entity::find()
        .filter(payment::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?)
}

/// The events of many orders, in the order they happened (one statement).
pub async fn events_by_orders(
    db: &DatabaseConnection,
    order_ids: &[i64],
) -> Result<Vec<order_event::Model>> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(order_event::Entity::find()
        .filter(order_event::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(order_event::Column::OrderId)
        .order_by_asc(order_event::Column::Id)
        .all(db)
        .await?)
}

/// One option group of a menu item with its options, in menu order.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionGroup {
    /// The group.
    pub group: menu_option_group::Model,
    /// Its options.
    pub options: Vec<menu_option::Model>,
}

#[derive(FromQueryResult)]
struct GroupOptionRow {
    group_id: i64,
    menu_item_id: i64,
    group_name: String,
    min_choices: i32,
    max_choices: i32,
    group_position: i32,
    option_id: Option<i64>,
    option_name: Option<String>,
    price_delta_amount: Option<i64>,
    option_position: Option<i32>,
}

/// The option groups (with their options) of many menu items, grouped by
/// item, in menu order: one statement (groups joined to their options).
pub async fn option_groups_by_items(
    db: &DatabaseConnection,
    item_ids: &[i64],
) -> Result<KeyMap<i64, Vec<OptionGroup>>> {
    if item_ids.is_empty() {
        return Ok(KeyMap::default());
    }
    use menu_option::Column as O;
    use menu_option_group::Column as G;
    let statement = Query::select()
        .expr_as(Expr::col((menu_option_group::Entity, G::Id)), "group_id")
        .expr_as(
            Expr::col((menu_option_group::Entity, G::MenuItemId)),
            "menu_item_id",
        )
        .expr_as(
            Expr::col((menu_option_group::Entity, G::Name)),
            "group_name",
        )
        .expr_as(
            Expr::col((menu_option_group::Entity, G::MinChoices)),
            "min_choices",
        )
        .expr_as(
            Expr::col((menu_option_group::Entity, G::MaxChoices)),
            "max_choices",
        )
        .expr_as(
            Expr::col((menu_option_group::Entity, G::Position)),
            "group_position",
        )
        .expr_as(Expr::col((menu_option::Entity, O::Id)), "option_id")
        .expr_as(Expr::col((menu_option::Entity, O::Name)), "option_name")
        .expr_as(
            Expr::col((menu_option::Entity, O::PriceDeltaAmount)),
            "price_delta_amount",
        )
        .expr_as(
            Expr::col((menu_option::Entity, O::Position)),
            "option_position",
        )
        .from(menu_option_group::Entity)
        .left_join(
            menu_option::Entity,
            Expr::col((menu_option::Entity, O::GroupId)).equals((menu_option_group::Entity, G::Id)),
        )
        .and_where(
            Expr::col((menu_option_group::Entity, G::MenuItemId)).is_in(item_ids.iter().copied()),
        )
        .order_by((menu_option_group::Entity, G::MenuItemId), Order::Asc)
        .order_by((menu_option_group::Entity, G::Position), Order::Asc)
        .order_by((menu_option_group::Entity, G::Id), Order::Asc)
        .order_by((menu_option::Entity, O::Position), Order::Asc)
        .order_by((menu_option::Entity, O::Id), Order::Asc)
        .to_owned();
    let rows = db.query_all(&statement).await?;
    let mut out: KeyMap<i64, Vec<OptionGroup>> = KeyMap::default();
    for row in rows {
        let row = GroupOptionRow::from_query_result(&row, "")?;
        let groups = out.entry(row.menu_item_id).or_default();
        if groups.last().is_none_or(|g| g.group.id != row.group_id) {
            groups.push(OptionGroup {
                group: menu_option_group::Model {
                    id: row.group_id,
                    menu_item_id: row.menu_item_id,
                    name: row.group_name,
                    min_choices: row.min_choices,
                    max_choices: row.max_choices,
                    position: row.group_position,
                },
                options: Vec::new(),
            });
        }
        if let (Some(id), Some(name), Some(price_delta_amount), Some(position), Some(group)) = (
            row.option_id,
            row.option_name,
            row.price_delta_amount,
            row.option_position,
            groups.last_mut(),
        ) {
            group.options.push(menu_option::Model {
                id,
                group_id: row.group_id,
                name,
                price_delta_amount,
                position,
            });
        }
    }
    Ok(out)
}

/// Units of each menu item in orders placed on `day` (UTC) that were not
/// rejected or cancelled (one statement); items not ordered are absent.
pub async fn units_sold_on(
    db: &DatabaseConnection,
    day: NaiveDate,
    item_ids: &[i64],
) -> Result<KeyMap<i64, i64>> {
    if item_ids.is_empty() {
        return Ok(KeyMap::default());
    }
    let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
    let end = start + chrono::Duration::days(1);
    let orders_of_the_day = Query::select()
        .column(order::Column::Id)
        .from(order::Entity)
        .and_where(order::Column::CreatedAt.gte(start))
        .and_where(order::Column::CreatedAt.lt(end))
        .and_where(order::Column::Status.is_not_in([
            stored(OrderStatus::Rejected),
            stored(OrderStatus::Cancelled),
        ]))
        .to_owned();
    let rows: Vec<(i64, Option<i64>)> = order_line::Entity::find()
        .select_only()
        .column(order_line::Column::MenuItemId)
        .column_as(Expr::cust("CAST(SUM(quantity) AS BIGINT)"), "units")
        .filter(order_line::Column::MenuItemId.is_in(item_ids.iter().copied()))
        .filter(order_line::Column::OrderId.in_subquery(orders_of_the_day))
        .group_by(order_line::Column::MenuItemId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, units)| (id, units.unwrap_or(0)))
        .collect())
}

/// Whether the customer has a completed order at the restaurant.
pub async fn has_completed_order(
    db: &DatabaseConnection,
    user_id: i64,
    restaurant_id: i64,
) -> Result<bool> {
    Ok(order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::UserId.eq(user_id))
        .filter(order::Column::RestaurantId.eq(restaurant_id))
        .filter(order::Column::Status.eq(stored(OrderStatus::Completed)))
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some())
}
