//! `simulated_authorizations`: the simulated card processor's answers to
//! authorizations, by idempotency key, and where each approved one stands.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "simulated_authorizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub idempotency_key: String,
    /// A hash of the request (token, amount, currency); the token is never stored.
    pub request_hash: String,
    /// The authorization's reference, when approved.
    pub reference: Option<String>,
    /// Why it was declined, when it was.
    pub decline_code: Option<String>,
    /// `AUTHORIZED`, `CAPTURED`, `VOIDED` or `REFUNDED` (approved ones).
    pub state: Option<String>,
    /// The operation that pauses on it (`CAPTURE`, `VOID`, `REFUND`), from a pause token.
    pub pause_operation: Option<String>,
    /// That pause's name.
    pub pause_name: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
