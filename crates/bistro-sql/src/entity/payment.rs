//! `payments`: attempts to charge an order through the payment provider.

use sea_orm::entity::prelude::*;

pub use super::PaymentStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    /// Provider name, e.g. `simulated`.
    pub provider: String,
    /// The provider's id for the charge.
    pub provider_reference: Option<String>,
    pub status: PaymentStatus,
    pub amount: i64,
    pub currency_code: String,
    /// Provider error code when declined or failed.
    pub failure_code: Option<String>,
    /// How much of it was given back, in minor units (all refunds together).
    pub amount_refunded: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
