//! Trusted documents as stored (`persisted_documents`): what
//! `bistro documents add` registers, `list` shows and `remove` retires.
//! Plain storage: reading manifests and checking their documents is the
//! schema's (`bistro_schema::persisted`); every replica reloads its set when
//! [`revision`] changes.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};

use crate::Result;
use crate::entity::{persisted_document, persisted_document_revision};
use crate::ordering::begin_write;

/// A stored trusted document.
pub type StoredDocument = persisted_document::Model;

/// One document of a manifest, checked by the caller (its id is the SHA-256
/// of its body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    /// SHA-256 of `body`, lowercase hex.
    pub id: String,
    /// The operation's name, when known.
    pub operation_name: Option<String>,
    /// The document's text.
    pub body: String,
}

/// Stores `documents` for `client` (documents it already has are kept as
/// they are) and bumps the revision, in one transaction; returns how many
/// were new.
pub async fn add(
    db: &DatabaseConnection,
    client: &str,
    documents: &[NewDocument],
    now: DateTime<Utc>,
) -> Result<u64> {
    let txn = begin_write(db).await?;
    let mut added = 0;
    // A few hundred rows per statement keeps under SQLite's variable limit.
    for chunk in documents.chunks(200) {
        added += persisted_document::Entity::insert_many(chunk.iter().map(|document| {
            persisted_document::ActiveModel {
                client_name: Set(client.to_owned()),
                document_id: Set(document.id.clone()),
                operation_name: Set(document.operation_name.clone()),
                body: Set(document.body.clone()),
                added_at: Set(now),
            }
        }))
        .on_conflict(
            OnConflict::columns([
                persisted_document::Column::ClientName,
                persisted_document::Column::DocumentId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    bump(&txn).await?;
    txn.commit().await?;
    Ok(added)
}

/// Retires documents: those of `ids` (of `client` only, when given), or
/// every document of `client` when `ids` is empty. Bumps the revision in the
/// same transaction; returns how many rows went.
pub async fn remove(db: &DatabaseConnection, client: Option<&str>, ids: &[String]) -> Result<u64> {
    let mut delete = persisted_document::Entity::delete_many();
    if let Some(client) = client {
        delete = delete.filter(persisted_document::Column::ClientName.eq(client));
    }
    if !ids.is_empty() {
        delete = delete.filter(persisted_document::Column::DocumentId.is_in(ids.iter().cloned()));
    } else if client.is_none() {
        // Nothing named: nothing to remove (never "everything").
        return Ok(0);
    }
    let txn = begin_write(db).await?;
    let removed = delete.exec(&txn).await?.rows_affected;
    bump(&txn).await?;
    txn.commit().await?;
    Ok(removed)
}

/// Every stored document, by client, then operation name, then id.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<StoredDocument>> {
    Ok(persisted_document::Entity::find()
        .order_by_asc(persisted_document::Column::ClientName)
        .order_by_asc(persisted_document::Column::OperationName)
        .order_by_asc(persisted_document::Column::DocumentId)
        .all(db)
        .await?)
}

/// The revision of the stored documents: it changes with every `add` and
/// `remove`, so a replica that read it reloads only when it moved.
pub async fn revision(db: &DatabaseConnection) -> Result<i64> {
    Ok(persisted_document_revision::Entity::find_by_id(1)
        .one(db)
        .await?
        .map_or(0, |row| row.revision))
}

async fn bump(txn: &impl ConnectionTrait) -> Result<()> {
    persisted_document_revision::Entity::update_many()
        .col_expr(
            persisted_document_revision::Column::Revision,
            Expr::col(persisted_document_revision::Column::Revision).add(1),
        )
        .filter(persisted_document_revision::Column::Id.eq(1))
        .exec(txn)
        .await?;
    Ok(())
}
