//! `orders`.

use sea_orm::entity::prelude::*;

pub use super::{Fulfilment, OrderStatus, PaymentStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub restaurant_id: i64,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub fulfilment: Fulfilment,
    /// Dine-in only.
    pub table_number: Option<i32>,
    /// Delivery only.
    pub delivery_address: Option<String>,
    pub subtotal_amount: i64,
    pub total_amount: i64,
    pub currency_code: String,
    /// Client-chosen key that makes checkout idempotent; unique per
    /// customer (`orders_user_idempotency_key`), not across customers.
    pub idempotency_key: String,
    /// What the checkout that placed the order asked for (a hash of its
    /// input and cart), so a retry with the same key is told apart from a
    /// different request reusing it. `None` for orders placed before it was kept.
    pub checkout_fingerprint: Option<String>,
    /// The payment change (a `pending_steps` row) the order is going
    /// through; while set, no other transition of the order can start.
    pub pending_step_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
