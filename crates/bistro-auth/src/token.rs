//! JWT access tokens (HS256).
//!
//! Access tokens are short-lived and self-contained: verifying one needs the
//! key, not a store. What they say (role, restaurants) is refreshed with
//! every refresh, so a role change reaches a session within one access
//! token lifetime.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac as _};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Who issues and who accepts Bistro's tokens.
const ISSUER: &str = "bistro";
const AUDIENCE: &str = "bistro-api";

/// Shortest accepted signing key.
pub const MIN_KEY_BYTES: usize = 32;

/// What the refresh-token key is derived for: a key of its own, so a MAC of
/// one kind of token can never pass for the other.
const REFRESH_KEY_LABEL: &[u8] = b"bistro refresh-token key v1";

/// HMAC-SHA256, which signs refresh tokens.
pub(crate) type RefreshMac = Hmac<sha2::Sha256>;

/// What an account may do, as tokens carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Orders food.
    Customer,
    /// Works for the restaurants listed in the token.
    Staff,
    /// Operates the platform.
    Admin,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id, as a string (RFC 7519).
    pub sub: String,
    /// The account's role when the token was issued.
    pub role: Role,
    /// For staff: the restaurants they work for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restaurants: Vec<i64>,
    /// The session the token belongs to; logout ends it.
    pub sid: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Always `bistro`.
    pub iss: String,
    /// Always `bistro-api`.
    pub aud: String,
}

impl AccessClaims {
    /// The user id.
    pub fn user_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

/// A token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Well-formed and correctly signed, but past its expiry.
    #[error("the access token has expired")]
    Expired,
    /// Malformed, tampered with, signed with another key, or for someone else.
    #[error("the access token is invalid")]
    Invalid,
}

/// A signing key was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the token signing key must be at least {MIN_KEY_BYTES} bytes long")]
pub struct KeyError;

/// Signs and verifies access tokens with one secret, and keys the MACs of
/// refresh tokens with a key derived from it.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    refresh_key: [u8; 32],
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("access_ttl", &self.access_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Keys from a secret of at least [`MIN_KEY_BYTES`] bytes.
    pub fn new(secret: &[u8], access_ttl: Duration) -> Result<Self, KeyError> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(KeyError);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Clocks of replicas drift a little; not a minute (the library default).
        validation.leeway = 5;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_key: derive_key(secret, REFRESH_KEY_LABEL),
        })
    }

    /// A MAC keyed for refresh tokens, ready for their content.
    pub(crate) fn refresh_mac(&self) -> RefreshMac {
        #[allow(clippy::expect_used)]
        RefreshMac::new_from_slice(&self.refresh_key).expect("HMAC takes keys of any length")
    }

    /// Keys from a fresh random secret: for development, where tokens need
    /// not survive a restart.
    pub fn generate(access_ttl: Duration) -> Self {
        let secret = crate::random_string(48);
        #[allow(clippy::expect_used)]
        Self::new(secret.as_bytes(), access_ttl).expect("48 random bytes are a valid key")
    }

    /// How long access tokens live.
    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// Issues an access token; returns it with its expiry.
    pub fn issue(
        &self,
        user_id: i64,
        role: Role,
        restaurants: Vec<i64>,
        session_id: &str,
    ) -> (String, DateTime<Utc>) {
        let now = Utc::now();
        let expires = now + chrono::Duration::from_std(self.access_ttl).unwrap_or_default();
        let claims = AccessClaims {
            sub: user_id.to_string(),
            role,
            restaurants,
            sid: session_id.to_owned(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        (self.sign(&claims), expires)
    }

    /// Signs arbitrary claims (tests craft expired tokens with it).
    pub fn sign(&self, claims: &AccessClaims) -> String {
        // HS256 over serialisable claims cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .unwrap_or_default()
    }

    /// Checks signature, expiry, issuer and audience.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        match jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation) {
            Ok(data) if data.claims.user_id().is_some() => Ok(data.claims),
            Ok(_) => Err(TokenError::Invalid),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => Err(TokenError::Expired),
            Err(_) => Err(TokenError::Invalid),
        }
    }
}

/// HMAC-SHA256(secret, label): a key for one purpose out of the one configured secret.
fn derive_key(secret: &[u8], label: &[u8]) -> [u8; 32] {
    #[allow(clippy::expect_used)]
    let mut mac = RefreshMac::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32], Duration::from_secs(900)).unwrap()
    }

    #[test]
    fn issued_tokens_verify() {
        let (token, expires) = keys().issue(42, Role::Staff, vec![1, 3], "s1");
        let claims = keys().verify(&token).unwrap();
        assert_eq!(claims.user_id(), Some(42));
        assert_eq!(claims.role, Role::Staff);
        assert_eq!(claims.restaurants, [1, 3]);
        assert_eq!(claims.sid, "s1");
        assert_eq!(claims.exp, expires.timestamp());
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let keys = keys();
        let (token, _) = keys.issue(42, Role::Customer, vec![], "s1");
        let mut claims = keys.verify(&token).unwrap();
        claims.exp = Utc::now().timestamp() - 60;
        assert_eq!(keys.verify(&keys.sign(&claims)), Err(TokenError::Expired));

        // Change the payload, keep the signature.
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = keys.verify(&token).unwrap();
        forged.role = Role::Admin;
        let forged_payload = keys.sign(&forged);
        let forged_payload = forged_payload.split('.').nth(1).unwrap();
        let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(keys.verify(&tampered), Err(TokenError::Invalid));

        let other = TokenKeys::new(&[8u8; 32], Duration::from_secs(900)).unwrap();
        assert_eq!(other.verify(&token), Err(TokenError::Invalid));
        assert_eq!(keys.verify("not.a.token"), Err(TokenError::Invalid));
        assert_eq!(keys.verify(""), Err(TokenError::Invalid));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(TokenKeys::new(b"too short", Duration::from_secs(1)).is_err());
    }
}
