//! `restaurants`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "restaurants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// Lower-case cuisine name, e.g. `italian`.
    pub cuisine: String,
    pub description: String,
    pub address: String,
    /// JSON array: `[{"day":"MON","opens":"11:00","closes":"22:00"}]`.
    pub opening_hours: String,
    /// ISO 4217 code of every price on the menu.
    pub currency_code: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
