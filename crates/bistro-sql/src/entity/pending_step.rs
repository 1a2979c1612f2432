//! `pending_steps`: a checkout or a payment change of an order in progress,
//! written before it moves stock or money, so that whoever finds it
//! unfinished can finish or undo it.

use sea_orm::entity::prelude::*;

pub use super::{StepKind, StepState};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pending_steps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: StepKind,
    pub state: StepState,
    /// The customer (checkouts).
    pub user_id: Option<i64>,
    /// The customer's idempotency key (checkouts): unique per customer.
    pub idempotency_key: Option<String>,
    /// The order (payment changes): at most one step per order.
    pub order_id: Option<i64>,
    /// The payment provider's name.
    pub provider: String,
    /// The idempotency key the provider is called with.
    pub provider_key: String,
    /// The provider's id for the payment, once it answered.
    pub provider_reference: Option<String>,
    /// What the step does, as JSON (the data layer's to read).
    pub detail: String,
    /// Who works on it.
    pub lease_owner: String,
    /// Until when; after that anyone may take it over.
    pub lease_until: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
