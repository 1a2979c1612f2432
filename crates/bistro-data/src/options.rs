//! Option groups of menu items ("milk: oat +0.50"), with their options.

use bistro_sql::KeyMap;
use std::sync::Arc;

pub use bistro_sql::ordering::OptionGroup;
use sea_orm::DatabaseConnection;

use crate::Result;
use crate::batch::Load;

/// The option groups of many menu items, in menu order: one statement per
/// batch (groups joined to their options). Items without groups load to an
/// empty list.
pub struct OptionGroupsLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for OptionGroupsLoader {
    type Value = Arc<[OptionGroup]>;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let mut groups = bistro_sql::ordering::option_groups_by_items(&self.db, keys).await?;
        Ok(keys
            .iter()
            .map(|id| (*id, groups.remove(id).unwrap_or_default().into()))
            .collect())
    }
}

/// Why a choice of options does not fit an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionsProblem {
    /// An option is not one of the item's.
    Unknown(i64),
    /// A group has fewer or more choices than it allows.
    Count {
        /// The group's name.
        group: String,
        /// Fewest allowed.
        min: i32,
        /// Most allowed.
        max: i32,
    },
}

/// Checks a choice of options against an item's groups; returns the chosen
/// options as `(group name, option)` in menu order.
pub fn validate<'a>(
    groups: &'a [OptionGroup],
    option_ids: &[i64],
) -> std::result::Result<Vec<(&'a str, &'a bistro_sql::entity::menu_option::Model)>, OptionsProblem>
{
    for id in option_ids {
        if !groups.iter().any(|g| g.options.iter().any(|o| o.id == *id)) {
            return Err(OptionsProblem::Unknown(*id));
        }
    }
    let mut chosen = Vec::new();
    for group in groups {
        let picked: Vec<_> = group
            .options
            .iter()
            .filter(|o| option_ids.contains(&o.id))
            .collect();
        let count = i32::try_from(picked.len()).unwrap_or(i32::MAX);
        if count < group.group.min_choices || count > group.group.max_choices {
            return Err(OptionsProblem::Count {
                group: group.group.name.clone(),
                min: group.group.min_choices,
                max: group.group.max_choices,
            });
        }
        chosen.extend(picked.into_iter().map(|o| (group.group.name.as_str(), o)));
    }
    Ok(chosen)
}

/// An item's price with these options (already validated), in minor units.
pub fn unit_price(base: i64, chosen: &[(&str, &bistro_sql::entity::menu_option::Model)]) -> i64 {
    base + chosen
        .iter()
        .map(|(_, o)| o.price_delta_amount)
        .sum::<i64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bistro_sql::entity::{menu_option, menu_option_group};

    fn group(id: i64, name: &str, min: i32, max: i32, options: &[(i64, i64)]) -> OptionGroup {
        OptionGroup {
            group: menu_option_group::Model {
                id,
                menu_item_id: 1,
                name: name.into(),
                min_choices: min,
                max_choices: max,
                position: 0,
            },
            options: options
                .iter()
                .enumerate()
                .map(|(i, (id, delta))| menu_option::Model {
                    id: *id,
                    group_id: 1,
                    name: format!("o{id}"),
                    price_delta_amount: *delta,
                    position: i32::try_from(i).unwrap(),
                })
                .collect(),
        }
    }

    #[test]
    fn choices_must_belong_to_the_item_and_fit_each_group() {
        let groups = vec![
            group(1, "Size", 1, 1, &[(10, 0), (11, 150)]),
            group(2, "Extras", 0, 2, &[(20, 50), (21, 50), (22, 100)]),
        ];
        let chosen = validate(&groups, &[11, 20]).unwrap();
        assert_eq!(unit_price(500, &chosen), 700);
        assert_eq!(validate(&groups, &[99]), Err(OptionsProblem::Unknown(99)));
        assert!(matches!(
            validate(&groups, &[20]),
            Err(OptionsProblem::Count { min: 1, .. })
        ));
        assert!(matches!(
            validate(&groups, &[10, 11]),
            Err(OptionsProblem::Count { max: 1, .. })
        ));
        assert!(matches!(
            validate(&groups, &[10, 20, 21, 22]),
            Err(OptionsProblem::Count { max: 2, .. })
        ));
        assert_eq!(validate(&[], &[]).unwrap(), vec![]);
    }
}
