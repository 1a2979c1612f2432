//! `processor_events`: the payment processor's events (Stripe's webhooks)
//! already handled, by the processor's id, so each changes an order once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "processor_events")]
pub struct Model {
    /// The processor's id for the event (`evt_…`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    /// The processor (`stripe`).
    pub provider: String,
    /// The event's type, e.g. `charge.refunded`.
    pub kind: String,
    /// The order it changed, if any.
    pub order_id: Option<i64>,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
