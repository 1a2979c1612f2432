//! Sessions and rotating refresh tokens, in the key-value store.
//!
//! A refresh token reads `{session id}.{secret}`. The session id is no
//! secret: every access token of the session carries it (claim `sid`). The
//! secret is `base64url(generation ‖ MAC)`: the token's generation in the
//! session (0 at sign-in, one more with each refresh; 8 bytes, big-endian)
//! and HMAC-SHA256 over the session id and that generation, keyed by a key
//! derived from the token secret ([`TokenKeys`]).
//!
//! The store keeps, per session, `session:{sid}` = `{user id}:{current
//! generation}`, expiring with the refresh lifetime and renewed on each
//! refresh. Nothing in it is secret: reading the store does not let anyone
//! make a refresh token.
//!
//! Every operation that takes a refresh token checks its MAC first, in
//! constant time, before the store is read. A token with a wrong secret is
//! invalid and changes nothing, so knowing a session id (from an old access
//! token, say) is not enough to end or refresh the session. Because the MAC
//! covers every generation ever issued, a token that verifies but is older
//! than the current generation is certainly one this session handed out
//! and then replaced: a copy is in someone else's hands, and the whole
//! session is revoked (deleted, so no later compare-and-set can bring it
//! back).
//!
//! Refreshing moves the stored generation on with an atomic compare-and-set,
//! so of two refreshes racing with one token exactly one wins, on any
//! number of replicas; the other sees a replay.
//!
//! Every end of a session (logout, a replayed refresh token, an account
//! gone) is announced on [`SESSION_EVENTS_CHANNEL`] after the session is
//! deleted, so each replica closes the live connections (WebSockets) the
//! session holds. The announcement names the session id, which is no
//! secret (above); a failed publish is logged and ends the session anyway
//! (its connections then close when their access token expires).
//!
//! Session ids and tokens are never logged.

use bistro_kv::typed::Codec;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bistro_kv::Kv;
use chrono::{DateTime, Utc};
use hmac::Mac as _;

use crate::random_string;
use crate::token::{RefreshMac, TokenKeys};

/// The channel (under the key-value prefix) on which every end of a session is
/// announced: `{ "version": 1, "sessionId": "…", "at": "2026-11-29T18:30:00.123Z" }`.
pub const SESSION_EVENTS_CHANNEL: &str = "events:sessions:v1";

/// A session ended, as published on [`SESSION_EVENTS_CHANNEL`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEndedEvent {
    /// Payload format version: 1.
    pub version: u32,
    /// The session that ended.
    pub session_id: String,
    /// When (RFC 3339, UTC).
    pub at: String,
}

/// Bytes of the generation at the start of a token's secret.
const GENERATION_BYTES: usize = 8;
/// Bytes of the MAC after it (HMAC-SHA256, untruncated).
const MAC_BYTES: usize = 32;

/// Issues, rotates and revokes refresh tokens.
#[derive(Clone, Debug)]
pub struct Sessions {
    kv: Kv,
    refresh_ttl: Duration,
}

/// A refresh token just issued.
#[derive(Clone)]
pub struct SessionToken {
    /// The session (token family) id.
    pub session_id: String,
    /// The refresh token to hand to the client.
    pub refresh_token: String,
    /// When it stops working unless used.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for SessionToken {
    // Neither the session id nor the token reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
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
    /// Malformed, not signed by us, unknown, expired, or the session was
    /// ended. Nothing was changed.
    #[error("the refresh token is invalid or expired")]
    Invalid,
    /// A genuine token of the session that had already been replaced: the
    /// session is now revoked.
    #[error("the refresh token was already used; the session has been revoked")]
    Reused,
    /// The key-value store failed.
    #[error(transparent)]
    Store(#[from] bistro_kv::Error),
}

bistro_kv::kv_key! {
    /// One session: whose it is and which refresh-token generation is current.
    pub struct SessionKey { pub session_id: String } => value SessionState = "session:{session_id}";
}

fn session_key(session_id: &str) -> SessionKey {
    SessionKey {
        session_id: session_id.to_owned(),
    }
}

/// A session as stored: `{user id}:{current generation}`. Nothing in it is secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionState {
    /// Whose session it is.
    pub user_id: i64,
    /// The generation of the refresh token that is current.
    pub generation: u64,
}

impl Codec for SessionState {
    fn encode(&self) -> String {
        format!("{}:{}", self.user_id, self.generation)
    }
    fn decode(raw: &str) -> Option<Self> {
        let (user, generation) = raw.split_once(':')?;
        Some(Self {
            user_id: user.parse().ok()?,
            generation: generation.parse().ok()?,
        })
    }
}

/// Session ids are base64url: anything else is not ours (and must not reach a key).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A well-formed refresh token, not yet verified.
struct Presented<'a> {
    session_id: &'a str,
    generation: u64,
    mac: [u8; MAC_BYTES],
}

/// Splits a refresh token into session id, generation and MAC.
fn parse(refresh_token: &str) -> Option<Presented<'_>> {
    let (session_id, secret) = refresh_token.trim().split_once('.')?;
    if !valid_id(session_id) || secret.len() > 64 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(secret).ok()?;
    if bytes.len() != GENERATION_BYTES + MAC_BYTES {
        return None;
    }
    let (generation, mac) = bytes.split_at(GENERATION_BYTES);
    Some(Presented {
        session_id,
        generation: u64::from_be_bytes(generation.try_into().ok()?),
        mac: mac.try_into().ok()?,
    })
}

/// The MAC of generation `generation` of session `session_id`, ready to finish or verify.
fn mac(keys: &TokenKeys, session_id: &str, generation: u64) -> RefreshMac {
    let mut mac = keys.refresh_mac();
    // Session ids never contain a dot, so the input splits one way only.
    mac.update(session_id.as_bytes());
    mac.update(b".");
    mac.update(&generation.to_be_bytes());
    mac
}

impl Presented<'_> {
    /// Whether we issued this token: its MAC checked in constant time.
    fn is_genuine(&self, keys: &TokenKeys) -> bool {
        mac(keys, self.session_id, self.generation)
            .verify_slice(&self.mac)
            .is_ok()
    }
}

fn state(user_id: i64, generation: u64) -> SessionState {
    SessionState {
        user_id,
        generation,
    }
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

    fn token(&self, keys: &TokenKeys, session_id: String, generation: u64) -> SessionToken {
        let mut secret = Vec::with_capacity(GENERATION_BYTES + MAC_BYTES);
        secret.extend_from_slice(&generation.to_be_bytes());
        secret.extend_from_slice(&mac(keys, &session_id, generation).finalize().into_bytes());
        SessionToken {
            refresh_token: format!("{session_id}.{}", URL_SAFE_NO_PAD.encode(secret)),
            session_id,
            expires_at: Utc::now()
                + chrono::Duration::from_std(self.refresh_ttl).unwrap_or_default(),
        }
    }

    /// Starts a session for `user_id` (one round trip).
    pub async fn start(
        &self,
        keys: &TokenKeys,
        user_id: i64,
    ) -> Result<SessionToken, bistro_kv::Error> {
        let session_id = random_string(16);
        self.kv
            .store(
                &session_key(&session_id),
                &state(user_id, 0),
                Some(self.refresh_ttl),
            )
            .await?;
        Ok(self.token(keys, session_id, 0))
    }

    /// Replaces a refresh token with a new one of the same session (two
    /// round trips; none for a token we did not issue).
    pub async fn rotate(
        &self,
        keys: &TokenKeys,
        refresh_token: &str,
    ) -> Result<Rotation, RotationError> {
        let Some(presented) = parse(refresh_token).filter(|p| p.is_genuine(keys)) else {
            return Err(RotationError::Invalid);
        };
        let key = session_key(presented.session_id);
        let Some(SessionState {
            user_id,
            generation: current,
        }) = self.kv.load(&key).await?
        else {
            return Err(RotationError::Invalid);
        };
        if presented.generation > current {
            // Never issued by this session (a session id is never reused):
            // nothing to revoke.
            return Err(RotationError::Invalid);
        }
        let next = current + 1;
        let rotated = presented.generation == current
            && self
                .kv
                .replace_if(
                    &key,
                    &state(user_id, current),
                    &state(user_id, next),
                    Some(self.refresh_ttl),
                )
                .await?;
        if !rotated {
            // A token this session issued and has since replaced (or a
            // racing refresh with the same token got there first): a copy is
            // loose. Revoked for good: a deleted session never matches a
            // compare-and-set again.
            if self.kv.remove(&[key]).await? == 0 {
                // Ended meanwhile (logout, or another replay).
                return Err(RotationError::Invalid);
            }
            tracing::warn!(user = user_id, "refresh token reuse: session revoked");
            self.announce_end(presented.session_id).await;
            return Err(RotationError::Reused);
        }
        Ok(Rotation {
            user_id,
            token: self.token(keys, presented.session_id.to_owned(), next),
        })
    }

    /// Ends the session of a refresh token, once its secret has been checked
    /// (one round trip; none for a token we did not issue). `Ok(true)` when
    /// the session was active; any token the session issued, current or
    /// replaced, ends it. `Err(Invalid)` changes nothing.
    pub async fn end(&self, keys: &TokenKeys, refresh_token: &str) -> Result<bool, RotationError> {
        let Some(presented) = parse(refresh_token).filter(|p| p.is_genuine(keys)) else {
            return Err(RotationError::Invalid);
        };
        Ok(self.revoke(presented.session_id).await?)
    }

    /// Ends a session by id; `true` when it was active. Only for callers that
    /// proved they hold it (a verified access token of the session).
    pub async fn revoke(&self, session_id: &str) -> Result<bool, bistro_kv::Error> {
        if !valid_id(session_id) {
            return Ok(false);
        }
        let ended = self.kv.remove(&[session_key(session_id)]).await? > 0;
        if ended {
            self.announce_end(session_id).await;
        }
        Ok(ended)
    }

    /// Publishes that `session_id` ended (one round trip), so its live
    /// connections close on every replica.
    async fn announce_end(&self, session_id: &str) {
        let event = SessionEndedEvent {
            version: 1,
            session_id: session_id.to_owned(),
            at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        };
        let Ok(payload) = serde_json::to_string(&event) else {
            return;
        };
        if let Err(error) = self.kv.publish(SESSION_EVENTS_CHANNEL, &payload).await {
            tracing::warn!(
                %error,
                "session end not announced; its live connections close when their token expires"
            );
        }
    }

    /// Which of `session_ids` are still active, in order (one round trip;
    /// none for an empty list): `true` where the session exists.
    pub async fn still_active(
        &self,
        session_ids: &[String],
    ) -> Result<Vec<bool>, bistro_kv::Error> {
        let keys: Vec<SessionKey> = session_ids.iter().map(|id| session_key(id)).collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .kv
            .load_many(&keys)
            .await?
            .into_iter()
            .zip(session_ids)
            .map(|(state, id)| valid_id(id) && state.is_some())
            .collect())
    }

    /// The user whose session this is, while it is active (one round trip).
    pub async fn active_user(&self, session_id: &str) -> Result<Option<i64>, bistro_kv::Error> {
        if !valid_id(session_id) {
            return Ok(None);
        }
        Ok(self
            .kv
            .load(&session_key(session_id))
            .await?
            .map(|state| state.user_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> TokenKeys {
        TokenKeys::new(&[byte; 32], Duration::from_secs(60)).unwrap()
    }

    #[test]
    fn tokens_verify_only_with_the_key_session_and_generation_they_were_made_for() {
        let sessions = Sessions::new(Kv::memory(), Duration::from_secs(60));
        let token = sessions.token(&keys(1), "abc".to_owned(), 7).refresh_token;
        let presented = parse(&token).unwrap();
        assert_eq!((presented.session_id, presented.generation), ("abc", 7));
        assert!(presented.is_genuine(&keys(1)));
        assert!(!presented.is_genuine(&keys(2)));

        // Another session id or generation with the same MAC is a forgery.
        let secret = token.split_once('.').unwrap().1;
        assert!(
            !parse(&format!("abd.{secret}"))
                .unwrap()
                .is_genuine(&keys(1))
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(secret).unwrap();
        bytes[7] = 6;
        let older = format!("abc.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert!(!parse(&older).unwrap().is_genuine(&keys(1)));

        for malformed in ["abc", "abc.", "abc.short", "a*c.x", &format!("{token}x")] {
            assert!(parse(malformed).is_none(), "{malformed:?}");
        }
    }

    #[test]
    fn a_session_token_prints_neither_its_id_nor_its_secret() {
        let sessions = Sessions::new(Kv::memory(), Duration::from_secs(60));
        let token = sessions.token(&keys(1), "the-session-id".to_owned(), 0);
        let printed = format!("{token:?}");
        assert!(!printed.contains("the-session-id"), "{printed}");
    }
}
