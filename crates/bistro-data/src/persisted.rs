//! Automatic persisted queries (APQ) in the key-value store: the documents
//! clients registered by hash, shared by every replica, and bounded.
//!
//! - Each document lives `ttl` at most (`apq:v1:{sha256}`, written once:
//!   set-if-absent), so a document nobody sends any more goes by itself and a
//!   client that sends its hash after that is told `PersistedQueryNotFound`
//!   and registers it again.
//! - Each document is at most `max_document_bytes` (checked by the caller).
//! - In all: at most `max_registrations` registrations are taken per window
//!   of `ttl` (`apq:v1:registrations:{window}`), and a document outlives its
//!   window by less than one window, so at most twice that many documents
//!   are stored at any time, whoever sends them. Past it, a document is run
//!   but not stored until the next window.
//!
//! The hash is the caller's to check (the schema checks it is the SHA-256
//! of the text it received before registering).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bistro_kv::Kv;

use crate::{Result, Scope};

bistro_kv::kv_key! {
    /// The text of a document registered by automatic persisted queries, by its SHA-256 (hex).
    pub struct ApqDocumentKey { pub hash: String } => value String = "apq:v1:{hash}";
}
bistro_kv::kv_key! {
    /// Registrations of automatic persisted queries in one window of the TTL's length.
    pub struct ApqRegistrationsKey { pub window: u64 } => counter = "apq:v1:registrations:{window}";
}

/// How registrations are bounded.
#[derive(Debug, Clone, Copy)]
pub struct ApqBounds {
    /// How long a registered document lives.
    pub ttl: Duration,
    /// Registrations taken per window of `ttl`.
    pub max_registrations: u64,
}

/// What a registration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// The document is stored (by this call, or it was already).
    Stored,
    /// The window's registrations are spent: not stored.
    Full,
}

impl Scope {
    /// The automatic persisted query registered under `hash`, if any (one `GET`).
    pub async fn apq_document(&self, hash: &str) -> Result<Option<String>> {
        document(&self.kv, hash).await
    }

    /// Registers an automatic persisted query (see [`register`]).
    pub async fn register_apq(
        &self,
        hash: &str,
        text: &str,
        bounds: ApqBounds,
    ) -> Result<Registered> {
        register(&self.kv, hash, text, bounds).await
    }
}

/// The text registered under `hash`, if any (one `GET`).
pub async fn document(kv: &Kv, hash: &str) -> Result<Option<String>> {
    Ok(kv
        .load(&ApqDocumentKey {
            hash: hash.to_owned(),
        })
        .await?)
}

/// Registers `text` under `hash` within `bounds`: two round trips (the
/// window's count, then set-if-absent with the TTL), none of which waits for
/// the other replicas.
pub async fn register(kv: &Kv, hash: &str, text: &str, bounds: ApqBounds) -> Result<Registered> {
    let length = bounds.ttl.as_secs().max(1);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let window = now / length;
    let left = ((window + 1) * length).saturating_sub(now).max(1);
    let taken = kv
        .bump(
            &ApqRegistrationsKey { window },
            1,
            Some(Duration::from_secs(left)),
        )
        .await?;
    if u64::try_from(taken).unwrap_or(u64::MAX) > bounds.max_registrations {
        return Ok(Registered::Full);
    }
    kv.store_if_absent(
        &ApqDocumentKey {
            hash: hash.to_owned(),
        },
        &text.to_owned(),
        Some(bounds.ttl),
    )
    .await?;
    Ok(Registered::Stored)
}
