//! `simulated_operations`: the simulated card processor's answers to
//! captures, voids and refunds, by idempotency key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "simulated_operations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub idempotency_key: String,
    /// `CAPTURE`, `VOID` or `REFUND`.
    pub operation: String,
    /// The authorization it was applied to.
    pub reference: String,
    /// `APPLIED`, `INVALID_STATE` or `NO_SUCH_AUTHORIZATION`.
    pub outcome: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
