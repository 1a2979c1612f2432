//! `order_events`: every status transition, with time and actor.

use sea_orm::entity::prelude::*;

pub use super::{OrderStatus, PaymentStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "order_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    /// `None` for the creation event.
    pub from_status: Option<OrderStatus>,
    pub to_status: OrderStatus,
    /// Who made the transition; `None` for the system.
    pub actor_user_id: Option<i64>,
    pub note: Option<String>,
    /// The payment status the change left the order in, when it changed
    /// the payment (`None` for a change that moved no money).
    pub payment_status: Option<PaymentStatus>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
