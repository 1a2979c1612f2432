//! Sessions and rotating refresh tokens, in the key-value store.
//!
//! A refresh token reads `{session id}.{token id}`. The store keeps, per
//! session, `session:{sid}` = `{user id}:{current token id}`, expiring with
//! the refresh lifetime and renewed on each refresh. Refreshing swaps the
//! current token id for a new one with an atomic compare-and-set, so of two
//! refreshes racing with one token exactly one wins, on any number of
//! replicas. A token of the session that is not the current one means a copy
//! is in someone else's hands: the whole session is revoked (deleted, so no
//! later compare-and-set can bring it back).

use std::time::Duration;

use bistro_kv::Kv;
use chrono::{DateTime, Utc};

use crate::random_string;

/// Issues, rotates and revokes refresh tokens.
#[derive(Clone, Debug)]
pub struct Sessions {
    kv: Kv,
    refresh_ttl: Duration,
}

/// A refresh token just issued.
#[derive(Debug, Clone)]
pub struct SessionToken {
    /// The session (token family) id.
    pub session_id: String,
    /// The refresh token to hand to the client.
    pub refresh_token: String,
    /// When it stops working unless used.
    pub expires_at: DateTime<Utc>,
}

/// A successful refresh.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// Whose session it is.
    pub user_id: i64,
    /// The replacement token (same session).
    pub token: SessionToken,
}

/// A refresh was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RotationError {
    /// Malformed, unknown, expired, or the session was ended.
    #[error("the refresh token is invalid or expired")]
    Invalid,
    /// The token had already been used: the session is now revoked.
    #[error("the refresh token was already used; the session has been revoked")]
    Reused,
    /// The key-value store failed.
    #[error(transparent)]
    Store(#[from] bistro_kv::Error),
}

fn session_key(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// Ids are base64url: anything else is not ours (and must not reach a key).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `(session id, token id)` of a well-formed refresh token.
fn parse(refresh_token: &str) -> Option<(&str, &str)> {
    let (session_id, token_id) = refresh_token.trim().split_once('.')?;
    (valid_id(session_id) && valid_id(token_id)).then_some((session_id, token_id))
}

impl Sessions {
    /// Sessions stored in `kv`, each refresh token valid for `refresh_ttl` after its issue.
    pub fn new(kv: Kv, refresh_ttl: Duration) -> Self {
        Self { kv, refresh_ttl }
    }

    /// The same sessions through another handle on the store (a counted one).
    pub fn with_kv(&self, kv: Kv) -> Self {
        Self {
            kv,
            refresh_ttl: self.refresh_ttl,
        }
    }

    fn token(&self, session_id: String, token_id: &str) -> SessionToken {
        SessionToken {
            refresh_token: format!("{session_id}.{token_id}"),
            session_id,
            expires_at: Utc::now()
                + chrono::Duration::from_std(self.refresh_ttl).unwrap_or_default(),
        }
    }

    /// Starts a session for `user_id` (one round trip).
    pub async fn start(&self, user_id: i64) -> Result<SessionToken, bistro_kv::Error> {
        let session_id = random_string(16);
        let token_id = random_string(32);
        self.kv
            .set(
                &session_key(&session_id),
                &format!("{user_id}:{token_id}"),
                Some(self.refresh_ttl),
            )
            .await?;
        Ok(self.token(session_id, &token_id))
    }

    /// Replaces a refresh token with a new one of the same session (two round trips).
    pub async fn rotate(&self, refresh_token: &str) -> Result<Rotation, RotationError> {
        let Some((session_id, token_id)) = parse(refresh_token) else {
            return Err(RotationError::Invalid);
        };
        let key = session_key(session_id);
        let Some(state) = self.kv.get(&key).await? else {
            return Err(RotationError::Invalid);
        };
        let Some(user_id) = state
            .split_once(':')
            .and_then(|(user, _)| user.parse::<i64>().ok())
        else {
            return Err(RotationError::Invalid);
        };
        let next = random_string(32);
        let rotated = self
            .kv
            .compare_and_set(
                &key,
                &format!("{user_id}:{token_id}"),
                &format!("{user_id}:{next}"),
                Some(self.refresh_ttl),
            )
            .await?;
        if !rotated {
            // Not the current token: an old one, replayed. Revoked for good:
            // a deleted session never matches a compare-and-set again.
            self.kv.del(&[key]).await?;
            tracing::warn!(
                session = session_id,
                user = user_id,
                "refresh token reuse: session revoked"
            );
            return Err(RotationError::Reused);
        }
        Ok(Rotation {
            user_id,
            token: self.token(session_id.to_owned(), &next),
        })
    }

    /// The session a refresh token belongs to, if the token is well-formed.
    pub fn session_of(refresh_token: &str) -> Option<&str> {
        parse(refresh_token).map(|(session_id, _)| session_id)
    }

    /// Ends a session; `true` when it was active.
    pub async fn revoke(&self, session_id: &str) -> Result<bool, bistro_kv::Error> {
        if !valid_id(session_id) {
            return Ok(false);
        }
        Ok(self.kv.del(&[session_key(session_id)]).await? > 0)
    }

    /// Whether a session is still active (one round trip).
    pub async fn is_active(&self, session_id: &str) -> Result<bool, bistro_kv::Error> {
        if !valid_id(session_id) {
            return Ok(false);
        }
        Ok(self.kv.get(&session_key(session_id)).await?.is_some())
    }
}
