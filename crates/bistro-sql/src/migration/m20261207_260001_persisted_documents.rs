//! Trusted documents: the manifests frontend teams register with
//! `bistro documents add` (GraphQL Code Generator's `persisted-documents.json`
//! or Apollo's persisted query manifest), one row per document and client.
//!
//! - `persisted_documents`: `(client_name, document_id)` is the key, so two
//!   clients may ship the same document and retiring one client's leaves the
//!   other's; `document_id` is the SHA-256 of `body`, in lowercase hex.
//! - `persisted_document_revisions`: one row whose `revision` goes up in the
//!   same transaction as every change, so a replica learns of a change by
//!   reading one integer.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, integer, string_len, string_len_null, text, timestamp_with_time_zone,
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_260001_persisted_documents"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PersistedDocuments {
    Table,
    ClientName,
    DocumentId,
    OperationName,
    Body,
    AddedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PersistedDocumentRevisions {
    Table,
    Id,
    Revision,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PersistedDocuments::Table)
                    .col(string_len(PersistedDocuments::ClientName, 100))
                    .col(string_len(PersistedDocuments::DocumentId, 64))
                    .col(string_len_null(PersistedDocuments::OperationName, 200))
                    .col(text(PersistedDocuments::Body))
                    .col(timestamp_with_time_zone(PersistedDocuments::AddedAt))
                    .primary_key(
                        Index::create()
                            .col(PersistedDocuments::ClientName)
                            .col(PersistedDocuments::DocumentId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PersistedDocumentRevisions::Table)
                    .col(integer(PersistedDocumentRevisions::Id).primary_key())
                    .col(big_integer(PersistedDocumentRevisions::Revision))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(PersistedDocumentRevisions::Table)
                    .columns([
                        PersistedDocumentRevisions::Id,
                        PersistedDocumentRevisions::Revision,
                    ])
                    .values_panic([1.into(), 0.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(PersistedDocumentRevisions::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PersistedDocuments::Table).to_owned())
            .await
    }
}
