//! `menu_items`.

use sea_orm::entity::prelude::*;

pub use super::Course;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "menu_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub restaurant_id: i64,
    pub name: String,
    pub description: String,
    /// Price in minor units (cents) of `currency_code`; never a float.
    pub price_amount: i64,
    pub currency_code: String,
    pub course: Course,
    /// Comma-separated dietary tags (`vegetarian,gluten_free`); empty for none.
    pub dietary: String,
    pub available: bool,
    /// Units per day when limited; `None` for unlimited.
    pub daily_stock: Option<i32>,
    /// Order on the menu (ties broken by id).
    pub position: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
