//! Accounts: users by id, public display names, sign-in lookups, and new accounts.

use std::collections::HashMap;
use std::sync::Arc;

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

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>> {
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

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>> {
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

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>> {
        let mut by_user: HashMap<i64, Vec<i64>> = HashMap::new();
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
