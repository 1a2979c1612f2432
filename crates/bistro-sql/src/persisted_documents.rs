//! Trusted documents as stored (`persisted_documents`): what
//! `bistro documents add` registers, `list` shows and `remove` retires.
//! Plain storage: reading manifests and checking their documents is the
//! schema's (`bistro_schema::persisted`); every replica reloads its set when
//! [`revision`] changes.

use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};

use crate::Result;
use crate::entity::{persisted_document, persisted_document_revision};
use crate::ordering::begin_write;

/// A stored trusted document.
pub type StoredDocument = persisted_document::Model;

/// Stores `documents`, checked by the caller (each id the SHA-256 of its
/// body); a document its client already has is kept as it is. Bumps the
/// revision in the same transaction; returns how many were new.
pub async fn add(db: &DatabaseConnection, documents: &[StoredDocument]) -> Result<u64> {
    let (_turn, txn) = begin_write(db).await?;
    let mut added = 0;
    // A few hundred rows per statement keeps under SQLite's variable limit.
    for chunk in documents.chunks(200) {
        added += persisted_document::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
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
    let (_turn, txn) = begin_write(db).await?;
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
