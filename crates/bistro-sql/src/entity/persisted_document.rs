//! `persisted_documents`: the trusted documents of each client's manifest.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "persisted_documents")]
pub struct Model {
    /// The client (frontend) whose manifest listed it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_name: String,
    /// SHA-256 of `body`, lowercase hex.
    #[sea_orm(primary_key, auto_increment = false)]
    pub document_id: String,
    /// The operation's name, when the manifest gave one.
    pub operation_name: Option<String>,
    /// The document's text, exactly as hashed.
    pub body: String,
    pub added_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
