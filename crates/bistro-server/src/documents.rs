//! `bistro documents`: the manifests of trusted documents frontend teams
//! ship (GraphQL Code Generator's `persisted-documents.json`, Apollo's
//! persisted query manifest), stored durably in SQL. Running replicas pick
//! a change up within `graphql.trusted_documents_refresh_ms`
//! (`trusted_documents`).

use anyhow::Context as _;
use bistro_schema::persisted::parse_manifest;
use bistro_sql::persisted_documents::{self, StoredDocument};
use sea_orm::DatabaseConnection;

/// The client name when `--client` is not given.
pub const DEFAULT_CLIENT: &str = "default";

/// What `add` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    /// Documents in the manifest.
    pub documents: usize,
    /// Of those, how many the client did not have yet.
    pub new: u64,
}

/// Checks the manifest `bytes` (every id the SHA-256 of its body, every body
/// GraphQL) and stores its documents for `client`; nothing is stored when
/// one document is refused.
pub async fn add(db: &DatabaseConnection, client: &str, bytes: &[u8]) -> anyhow::Result<Added> {
    check_client(client)?;
    let entries = parse_manifest(bytes).context("the manifest was refused; nothing was stored")?;
    let now = chrono::Utc::now();
    let documents: Vec<StoredDocument> = entries
        .into_iter()
        .map(|entry| StoredDocument {
            client_name: client.to_owned(),
            document_id: entry.id,
            operation_name: entry.operation_name,
            body: entry.body,
            added_at: now,
        })
        .collect();
    let new = persisted_documents::add(db, &documents).await?;
    Ok(Added {
        documents: documents.len(),
        new,
    })
}

/// Every stored document, by client.
pub async fn list(db: &DatabaseConnection) -> anyhow::Result<Vec<StoredDocument>> {
    Ok(persisted_documents::list(db).await?)
}

/// Retires documents: `ids` (`sha256:<hex>` or the hex), of `client` only
/// when given; every document of `client` when no id is given.
pub async fn remove(
    db: &DatabaseConnection,
    client: Option<&str>,
    ids: &[String],
) -> anyhow::Result<u64> {
    if client.is_none() && ids.is_empty() {
        anyhow::bail!(
            "name the documents to retire (their ids), or a --client to retire all of its"
        );
    }
    let ids: Vec<String> = ids
        .iter()
        .map(|id| {
            id.strip_prefix("sha256:")
                .unwrap_or(id)
                .to_ascii_lowercase()
        })
        .collect();
    Ok(persisted_documents::remove(db, client, &ids).await?)
}

fn check_client(client: &str) -> anyhow::Result<()> {
    if client.is_empty()
        || client.len() > 100
        || !client
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        anyhow::bail!(
            "a client name is 1 to 100 letters, digits, '-', '_' or '.' (got {client:?})"
        );
    }
    if client == crate::trusted_documents::STOREFRONT_CLIENT {
        anyhow::bail!(
            "\"storefront\" is the built-in storefront's manifest, which ships inside the binary; \
             choose another client name"
        );
    }
    Ok(())
}
