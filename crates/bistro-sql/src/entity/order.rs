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
    /// Client-chosen key that makes checkout idempotent.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
