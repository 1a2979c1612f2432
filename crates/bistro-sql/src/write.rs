//! Writes: accounts and menu management. Each function is one statement
//! (or one short transaction) and returns the row as stored.
//!
//! The `New*` inputs are plain structs, not `ActiveModel`s, because the
//! schema builds them (through the data layer) and knows no sea-orm; each
//! leaves out what the write decides (ids, times, a menu item's position).
//!
//! Transactions begin with [`crate::ordering::begin_write`] (`BEGIN IMMEDIATE`
//! on SQLite): a deferred transaction that reads before it writes cannot wait
//! for another writer, since SQLite refuses its lock upgrade at once
//! (`database is locked`) instead of calling the busy timeout.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QuerySelect, SqlErr,
};

use crate::entity::{Course, UserRole, menu_item, restaurant_staff, user};
use crate::ordering::begin_write;
use crate::{Error, Result};

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Normalised (lower-case) email.
    pub email: String,
    /// Public name.
    pub display_name: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// Role.
    pub role: UserRole,
    /// Restaurants a staff member works for.
    pub restaurant_ids: Vec<i64>,
}

/// Why an account could not be created.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CreateUserError {
    /// Another account has this email.
    #[error("the email is already registered")]
    EmailTaken,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] Error),
}

fn unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Creates an account (and its staff memberships) in one transaction.
/// A taken email is reported as such, also when two registrations race.
pub async fn create_user(
    db: &DatabaseConnection,
    new: NewUser,
) -> std::result::Result<user::Model, CreateUserError> {
    let (_turn, txn) = begin_write(db).await?;
    let inserted = user::ActiveModel {
        email: Set(new.email),
        display_name: Set(new.display_name),
        password_hash: Set(new.password_hash),
        role: Set(new.role),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let user = match inserted {
        Ok(user) => user,
        Err(err) if unique_violation(&err) => return Err(CreateUserError::EmailTaken),
        Err(err) => return Err(Error::from(err).into()),
    };
    if !new.restaurant_ids.is_empty() {
        restaurant_staff::Entity::insert_many(new.restaurant_ids.iter().map(|rid| {
            restaurant_staff::ActiveModel {
                user_id: Set(user.id),
                restaurant_id: Set(*rid),
                created_at: Set(Utc::now()),
            }
        }))
        .exec_without_returning(&txn)
        .await
        .map_err(Error::from)?;
    }
    txn.commit().await.map_err(Error::from)?;
    Ok(user)
}

/// Ids of the restaurants with these slugs; `Err` names the first unknown slug.
pub async fn restaurant_ids_by_slugs(
    db: &DatabaseConnection,
    slugs: &[String],
) -> Result<std::result::Result<Vec<i64>, String>> {
    let rows = crate::query::restaurants_by_slugs(db, slugs).await?;
    let mut ids = Vec::with_capacity(slugs.len());
    for slug in slugs {
        match rows.iter().find(|r| &r.slug == slug) {
            Some(row) => ids.push(row.id),
            None => return Ok(Err(slug.clone())),
        }
    }
    Ok(Ok(ids))
}

/// A new menu item (validated by the caller).
#[derive(Debug, Clone)]
pub struct NewMenuItem {
    /// Whose menu.
    pub restaurant_id: i64,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Price in minor units of the restaurant's currency.
    pub price_amount: i64,
    /// The restaurant's currency (the caller read the restaurant to check the price).
    pub currency_code: String,
    /// Course.
    pub course: Course,
    /// Dietary tags, stored form.
    pub dietary: Vec<String>,
    /// Orderable now.
    pub available: bool,
    /// Units per day, if limited.
    pub daily_stock: Option<i32>,
}

/// Adds an item at the end of a restaurant's menu.
/// `Ok(None)` when the restaurant does not exist (the foreign key says so).
pub async fn create_menu_item(
    db: &DatabaseConnection,
    new: NewMenuItem,
) -> Result<Option<menu_item::Model>> {
    let (_turn, txn) = begin_write(db).await?;
    let last: Option<Option<i32>> = menu_item::Entity::find()
        .select_only()
        .column_as(menu_item::Column::Position.max(), "max_position")
        .filter(menu_item::Column::RestaurantId.eq(new.restaurant_id))
        .into_tuple()
        .one(&txn)
        .await?;
    let position = last.flatten().map_or(0, |p| p.saturating_add(1));
    let now = Utc::now();
    let item = menu_item::ActiveModel {
        restaurant_id: Set(new.restaurant_id),
        name: Set(new.name),
        description: Set(new.description),
        price_amount: Set(new.price_amount),
        currency_code: Set(new.currency_code),
        course: Set(new.course),
        dietary: Set(new.dietary.join(",")),
        available: Set(new.available),
        daily_stock: Set(new.daily_stock),
        position: Set(position),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let item = match item {
        Ok(item) => item,
        Err(err)
            if matches!(
                err.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ) =>
        {
            return Ok(None);
        }
        Err(err) => return Err(err.into()),
    };
    txn.commit().await?;
    Ok(Some(item))
}

/// Changes to a menu item; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MenuItemChanges {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New price in minor units.
    pub price_amount: Option<i64>,
    /// New course.
    pub course: Option<Course>,
    /// New dietary tags (stored form).
    pub dietary: Option<Vec<String>>,
    /// New availability.
    pub available: Option<bool>,
    /// New daily stock: `Some(None)` makes the item unlimited.
    pub daily_stock: Option<Option<i32>>,
}

/// Applies changes to a menu item; `Ok(None)` when it does not exist.
pub async fn update_menu_item(
    db: &DatabaseConnection,
    id: i64,
    changes: MenuItemChanges,
) -> Result<Option<menu_item::Model>> {
    use menu_item::Column as C;
    let mut update = menu_item::Entity::update_many()
        .col_expr(C::UpdatedAt, Expr::value(Utc::now()))
        .filter(C::Id.eq(id));
    if let Some(name) = changes.name {
        update = update.col_expr(C::Name, Expr::value(name));
    }
    if let Some(description) = changes.description {
        update = update.col_expr(C::Description, Expr::value(description));
    }
    if let Some(price) = changes.price_amount {
        update = update.col_expr(C::PriceAmount, Expr::value(price));
    }
    if let Some(course) = changes.course {
        update = update.col_expr(
            C::Course,
            Expr::value(sea_orm::ActiveEnum::to_value(&course)),
        );
    }
    if let Some(dietary) = changes.dietary {
        update = update.col_expr(C::Dietary, Expr::value(dietary.join(",")));
    }
    if let Some(available) = changes.available {
        update = update.col_expr(C::Available, Expr::value(available));
    }
    if let Some(stock) = changes.daily_stock {
        update = update.col_expr(C::DailyStock, Expr::value(stock));
    }
    let (_turn, txn) = begin_write(db).await?;
    let result = update.exec(&txn).await?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    let item = menu_item::Entity::find_by_id(id).one(&txn).await?;
    txn.commit().await?;
    Ok(item)
}

/// A new review (validated by the caller).
#[derive(Debug, Clone)]
pub struct NewReview {
    /// The reviewer.
    pub user_id: i64,
    /// The restaurant reviewed.
    pub restaurant_id: i64,
    /// 1 to 5.
    pub rating: i32,
    /// What they wrote.
    pub body: String,
}

/// Why a review could not be written.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteReviewError {
    /// The customer has reviewed this restaurant already.
    #[error("the customer has reviewed this restaurant already")]
    AlreadyReviewed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] Error),
}

/// Writes a review; one per customer and restaurant (the unique index
/// decides, also when two writes race).
pub async fn create_review(
    db: &DatabaseConnection,
    new: NewReview,
) -> std::result::Result<crate::entity::review::Model, WriteReviewError> {
    let now = Utc::now();
    let _turn = crate::write_turn::take(db).await;
    let inserted = crate::entity::review::ActiveModel {
        user_id: Set(new.user_id),
        restaurant_id: Set(new.restaurant_id),
        rating: Set(new.rating),
        body: Set(new.body),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await;
    match inserted {
        Ok(review) => Ok(review),
        Err(err) if unique_violation(&err) => Err(WriteReviewError::AlreadyReviewed),
        Err(err) => Err(Error::from(err).into()),
    }
}

/// Changes a review's rating and text; `Ok(None)` when it does not exist.
pub async fn update_review(
    db: &DatabaseConnection,
    id: i64,
    rating: Option<i32>,
    body: Option<String>,
) -> Result<Option<crate::entity::review::Model>> {
    use crate::entity::review::{Column as C, Entity};
    let mut update = Entity::update_many()
        .col_expr(C::UpdatedAt, Expr::value(Utc::now()))
        .filter(C::Id.eq(id));
    if let Some(rating) = rating {
        update = update.col_expr(C::Rating, Expr::value(rating));
    }
    if let Some(body) = body {
        update = update.col_expr(C::Body, Expr::value(body));
    }
    let (_turn, txn) = begin_write(db).await?;
    if update.exec(&txn).await?.rows_affected == 0 {
        return Ok(None);
    }
    let review = Entity::find_by_id(id).one(&txn).await?;
    txn.commit().await?;
    Ok(review)
}

/// Deletes a review; `false` when it did not exist.
pub async fn delete_review(db: &DatabaseConnection, id: i64) -> Result<bool> {
    let _turn = crate::write_turn::take(db).await;
    Ok(crate::entity::review::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        == 1)
}
