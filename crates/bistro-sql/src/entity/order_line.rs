//! `order_lines`: what was bought, at the price of the day.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub menu_item_id: i64,
    /// Item name at purchase time.
    pub name: String,
    pub quantity: i32,
    /// Unit price including options, at purchase time.
    pub unit_price_amount: i64,
    /// Chosen options as JSON: `[{"group":"milk","option":"oat","priceDelta":50}]`.
    pub options: String,
    pub line_total_amount: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
