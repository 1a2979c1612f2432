//! `menu_option_groups`: choices offered on an item ("milk", "size").

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "menu_option_groups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub menu_item_id: i64,
    pub name: String,
    /// Fewest options a customer must pick (0 = optional).
    pub min_choices: i32,
    /// Most options a customer may pick.
    pub max_choices: i32,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
