//! Trusted documents on this replica: the storefront's manifest, built into
//! the binary with the bundle (`assets/storefront/persisted-documents.json`,
//! GraphQL Code Generator's format, SHA-256), and the manifests registered
//! with `bistro documents add` (SQL, `bistro_sql::persisted_documents`).
//!
//! The set is loaded before the server listens, then kept current by a
//! task that reads the stored revision (one SQL statement) every
//! `graphql.trusted_documents_refresh_ms` (2 s) and reloads everything when
//! it moved: a document added or retired on any replica, or by the command,
//! reaches every running replica within that interval, with no restart.

use std::time::Duration;

use anyhow::Context as _;
use bistro_schema::persisted::{ManifestEntry, TrustedDocuments, parse_manifest};
use sea_orm::DatabaseConnection;

/// The client name the storefront's built-in manifest goes by.
pub const STOREFRONT_CLIENT: &str = "storefront";

/// The storefront's manifest, as built into the binary (none: empty).
pub fn storefront_manifest() -> anyhow::Result<Vec<ManifestEntry>> {
    match crate::storefront::persisted_documents() {
        None => Ok(Vec::new()),
        Some(bytes) => parse_manifest(&bytes).context("the storefront's persisted-documents.json"),
    }
}

/// Every stored manifest, grouped by client, with the built-in one.
async fn manifests(
    db: &DatabaseConnection,
    builtin: &[ManifestEntry],
) -> anyhow::Result<Vec<(String, Vec<ManifestEntry>)>> {
    let mut manifests: Vec<(String, Vec<ManifestEntry>)> =
        vec![(STOREFRONT_CLIENT.to_owned(), builtin.to_vec())];
    for row in bistro_sql::persisted_documents::list(db).await? {
        let entry = ManifestEntry {
            id: row.document_id,
            operation_name: row.operation_name,
            body: row.body,
        };
        match manifests.last_mut() {
            Some((client, entries)) if *client == row.client_name => entries.push(entry),
            _ => manifests.push((row.client_name, vec![entry])),
        }
    }
    Ok(manifests)
}

/// Loads the current set into `trusted`; returns the revision it reflects.
pub async fn load(
    db: &DatabaseConnection,
    trusted: &TrustedDocuments,
    builtin: &[ManifestEntry],
) -> anyhow::Result<i64> {
    // The revision first: a change made while the rows are read moves it
    // again, and the next check reloads.
    let revision = bistro_sql::persisted_documents::revision(db).await?;
    let manifests = manifests(db, builtin).await?;
    trusted.replace(
        manifests
            .iter()
            .map(|(client, entries)| (client.as_str(), entries.as_slice())),
    );
    Ok(revision)
}

/// Keeps `trusted` current until `stop` resolves (module docs).
pub async fn refresh(
    db: DatabaseConnection,
    trusted: TrustedDocuments,
    builtin: Vec<ManifestEntry>,
    mut revision: i64,
    interval: Duration,
    stop: impl Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(interval) => {}
        }
        match bistro_sql::persisted_documents::revision(&db).await {
            Ok(now) if now == revision => {}
            Ok(_) => match load(&db, &trusted, &builtin).await {
                Ok(now) => {
                    tracing::info!(
                        documents = trusted.len(),
                        revision = now,
                        "trusted documents reloaded"
                    );
                    revision = now;
                }
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "trusted documents could not be reloaded; keeping the previous set")
                }
            },
            // The store's outage is logged where it is noticed; the set stays.
            Err(_) => {}
        }
    }
}
