//! Accounts: users by id, public display names, sign-in lookups, new
//! accounts, and sessions through a request's scope.

use bistro_sql::KeyMap;
use std::sync::Arc;

use bistro_auth::session::{Rotation, SessionToken};
use bistro_auth::{Sessions, TokenKeys};
use bistro_sql::entity::user;
use bistro_sql::query;
use bistro_sql::write::{CreateUserError, NewUser};
use sea_orm::DatabaseConnection;

use crate::batch::Load;
use crate::{Error, Result, Scope};

/// Whole user rows by id (for guarded fields and sign-in).
pub struct UserLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for UserLoader {
    type Value = user::Model;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let rows = query::users_by_ids(&self.db, keys).await?;
        Ok(rows.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// Users' public display names by id.
pub struct UserNameLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for UserNameLoader {
    type Value = String;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        Ok(query::user_display_names(&self.db, keys).await?)
    }
}

/// The restaurants each user works for (staff), by user id, in restaurant
/// id order; empty for everyone else.
pub struct StaffRestaurantsLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for StaffRestaurantsLoader {
    type Value = Arc<[i64]>;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let mut by_user: KeyMap<i64, Vec<i64>> = KeyMap::default();
        for (user_id, restaurant_id) in query::staff_restaurants_by_users(&self.db, keys).await? {
            by_user.entry(user_id).or_default().push(restaurant_id);
        }
        Ok(keys
            .iter()
            .map(|id| (*id, by_user.remove(id).unwrap_or_default().into()))
            .collect())
    }
}

/// Why an account could not be created.
#[derive(Debug, Clone)]
pub enum NewAccountError {
    /// Another account has this email.
    EmailTaken,
    /// A store failed.
    Store(Error),
}

impl Scope {
    /// The account with this (normalised) email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<user::Model>> {
        Ok(query::user_by_email(&self.db, email).await?)
    }

    /// The restaurants a staff member works for.
    pub async fn staff_restaurant_ids(&self, user_id: i64) -> Result<Vec<i64>> {
        Ok(query::staff_restaurant_ids(&self.db, user_id).await?)
    }

    /// Creates an account.
    pub async fn create_user(&self, new: NewUser) -> Result<user::Model, NewAccountError> {
        match bistro_sql::write::create_user(&self.db, new).await {
            Ok(user) => Ok(user),
            Err(CreateUserError::EmailTaken) => Err(NewAccountError::EmailTaken),
            Err(CreateUserError::Store(e)) => Err(NewAccountError::Store(e.into())),
        }
    }
}

/// Sessions (`bistro-auth`'s refresh tokens) through a request's counted
/// key-value handle, failing with the data layer's [`Error`] (logged once,
/// as every store error is).
pub struct ScopedSessions(Sessions);

/// Why a refresh token was not taken.
#[derive(Debug, Clone)]
pub enum RotationError {
    /// Malformed, not signed by us, unknown, expired, or the session was
    /// ended. Nothing was changed.
    Invalid,
    /// A genuine token of the session that had already been replaced: the
    /// session is now revoked.
    Reused,
    /// A store failed.
    Store(Error),
}

impl From<bistro_auth::RotationError> for RotationError {
    fn from(error: bistro_auth::RotationError) -> Self {
        match error {
            bistro_auth::RotationError::Invalid => Self::Invalid,
            bistro_auth::RotationError::Reused => Self::Reused,
            bistro_auth::RotationError::Store(e) => Self::Store(e.into()),
        }
    }
}

impl Scope {
    /// `sessions` through this scope's counted key-value handle.
    pub fn sessions(&self, sessions: &Sessions) -> ScopedSessions {
        ScopedSessions(sessions.with_kv(self.kv.clone()))
    }
}

impl ScopedSessions {
    /// Starts a session for `user_id` (see [`Sessions::start`]).
    pub async fn start(&self, keys: &TokenKeys, user_id: i64) -> Result<SessionToken> {
        Ok(self.0.start(keys, user_id).await?)
    }

    /// Exchanges a refresh token for the next one (see [`Sessions::rotate`]).
    pub async fn rotate(
        &self,
        keys: &TokenKeys,
        refresh_token: &str,
    ) -> Result<Rotation, RotationError> {
        Ok(self.0.rotate(keys, refresh_token).await?)
    }

    /// Ends the session of a refresh token (see [`Sessions::end`]).
    pub async fn end(&self, keys: &TokenKeys, refresh_token: &str) -> Result<bool, RotationError> {
        Ok(self.0.end(keys, refresh_token).await?)
    }

    /// Ends a session by id (see [`Sessions::revoke`]).
    pub async fn revoke(&self, session_id: &str) -> Result<bool> {
        Ok(self.0.revoke(session_id).await?)
    }

    /// Whose the session is, while it is active (see [`Sessions::active_user`]).
    pub async fn active_user(&self, session_id: &str) -> Result<Option<i64>> {
        Ok(self.0.active_user(session_id).await?)
    }
}
