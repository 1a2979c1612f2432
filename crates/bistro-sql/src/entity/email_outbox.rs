//! `email_outbox`: emails written with the transaction that caused them, sent later.

use sea_orm::entity::prelude::*;

pub use super::OutboxStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// What the email is about, e.g. `ORDER_CONFIRMATION`.
    pub kind: String,
    pub order_id: Option<i64>,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// Until when the worker that claimed the row may deliver it alone; an
    /// expired lease (its worker died) makes the row claimable again.
    pub lease_until: Option<DateTimeUtc>,
    /// Which worker holds the lease.
    pub lease_owner: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
