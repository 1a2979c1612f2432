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

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::entity::{
    Fulfilment, OrderStatus, OutboxStatus, PaymentStatus, email_outbox, menu_option,
    menu_option_group, order, order_event, order_line, payment,
};
use crate::{Error, Result};

/// The stored (upper-case) form of an enumeration, as filters compare it.
pub fn stored<E: sea_orm::ActiveEnum<Value = String>>(value: E) -> String {
    value.to_value()
}

/// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite).
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    Ok(db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?)
}

/// One line of a new order, priced by the caller from SQL prices.
#[derive(Debug, Clone)]
pub struct NewOrderLine {
    /// The menu item.
    pub menu_item_id: i64,
    /// Its name at purchase time.
    pub name: String,
    /// How many.
    pub quantity: i32,
    /// Price of one, options included, in minor units.
    pub unit_price_amount: i64,
    /// Chosen options as JSON (`[{"group":…,"option":…,"priceDelta":…}]`).
    pub options: String,
    /// `unit_price_amount × quantity`.
    pub line_total_amount: i64,
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
    /// The lines.
    pub lines: Vec<NewOrderLine>,
    /// The authorization.
    pub payment: NewPayment,
    /// The confirmation email; its body may name the order with `{order_id}`.
    pub confirmation: NewEmail,
    /// When it is placed.
    pub placed_at: DateTime<Utc>,
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
    let txn = begin_write(db).await?;
    let now = new.placed_at;
    let placed = order::ActiveModel {
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
    }
    .insert(&txn)
    .await?;
    let lines = order_line::Entity::insert_many(new.lines.into_iter().map(|line| {
        order_line::ActiveModel {
            order_id: Set(placed.id),
            menu_item_id: Set(line.menu_item_id),
            name: Set(line.name),
            quantity: Set(line.quantity),
            unit_price_amount: Set(line.unit_price_amount),
            options: Set(line.options),
            line_total_amount: Set(line.line_total_amount),
            ..Default::default()
        }
    }))
    .exec_with_returning(&txn)
    .await?;
    let payment = payment::ActiveModel {
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
    }
    .insert(&txn)
    .await?;
    let event = order_event::ActiveModel {
        order_id: Set(placed.id),
        from_status: Set(None),
        to_status: Set(OrderStatus::Placed),
        actor_user_id: Set(Some(new.user_id)),
        note: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    email_outbox::ActiveModel {
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
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(PlacedOrder {
        order: placed,
        lines,
        payment,
        event,
    })
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
    /// Who made it; `None` for the system.
    pub actor_user_id: Option<i64>,
    /// Why (a rejection's reason).
    pub note: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Records a transition in one transaction: the order's status (and
/// payment status) changes only if it is still `from`, the event is
/// written, the payment row follows. `Ok(None)` when the order was no
/// longer in `from` (a concurrent transition won): nothing was written.
pub async fn record_transition(
    db: &DatabaseConnection,
    transition: NewTransition,
) -> Result<Option<order::Model>> {
    use order::Column as C;
    let txn = begin_write(db).await?;
    let mut update = order::Entity::update_many()
        .col_expr(
            C::Status,
            Expr::value(sea_orm::ActiveEnum::to_value(&transition.to)),
        )
        .col_expr(C::UpdatedAt, Expr::value(transition.at))
        .filter(C::Id.eq(transition.order_id))
        .filter(C::Status.eq(stored(transition.from)));
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
        created_at: Set(transition.at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if let Some((from, to)) = transition.payment {
        payment::Entity::update_many()
            .col_expr(
                payment::Column::Status,
                Expr::value(sea_orm::ActiveEnum::to_value(&to)),
            )
            .col_expr(payment::Column::UpdatedAt, Expr::value(transition.at))
            .filter(payment::Column::OrderId.eq(transition.order_id))
            .filter(payment::Column::Status.eq(stored(from)))
            .exec(&txn)
            .await?;
    }
    let updated = order::Entity::find_by_id(transition.order_id)
        .one(&txn)
        .await?;
    txn.commit().await?;
    Ok(updated)
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
) -> Result<HashMap<i64, Vec<OptionGroup>>> {
    if item_ids.is_empty() {
        return Ok(HashMap::new());
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
    let mut out: HashMap<i64, Vec<OptionGroup>> = HashMap::new();
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
) -> Result<HashMap<i64, i64>> {
    if item_ids.is_empty() {
        return Ok(HashMap::new());
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
