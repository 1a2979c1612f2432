//! Staff menu management: `createMenuItem`, `updateMenuItem`,
//! `setMenuItemAvailability`. Allowed to the restaurant's staff and admins;
//! every write invalidates the restaurant's shared menu cache once it has
//! committed, so the next read anywhere sees it.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use bistro_data::entity::{self, menu_item};
use bistro_data::{MenuItemChanges, NewMenuItem};

use crate::auth::{Rule, viewer};
use crate::error::{Coded, ErrorCode, nullable};
use crate::ids::{NodeType, expect_global_id};
use crate::menu::Dietary;
use crate::money::{Decimal, to_minor};
use crate::objects::{Course, MenuItem};
use crate::request::context::{loaders, scope};
use crate::user_error::{UserError, UserErrorCode};

const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Highest price, in major units: beyond it a price is a typo.
const MAX_PRICE_MAJOR: i64 = 100_000;
const MAX_DAILY_STOCK: i32 = 100_000;

/// A new item on a restaurant's menu.
#[derive(InputObject)]
pub struct CreateMenuItemInput {
    /// The restaurant whose menu gets the item.
    pub restaurant_id: ID,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// What is in it (at most 2,000 characters).
    #[graphql(default)]
    pub description: String,
    /// Price of one, in the restaurant's currency, e.g. "12.50".
    pub price: Decimal,
    /// Which part of the meal it is.
    pub course: Course,
    /// Dietary properties.
    #[graphql(default)]
    pub dietary: Vec<Dietary>,
    /// Whether it can be ordered now.
    #[graphql(default = true)]
    pub available: bool,
    /// Units per day when limited; omit for unlimited.
    pub daily_stock: Option<i32>,
}

/// Changes to a menu item; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateMenuItemInput {
    /// The item to change.
    pub id: ID,
    /// New display name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New price, in the restaurant's currency.
    pub price: Option<Decimal>,
    /// New course.
    pub course: Option<Course>,
    /// New dietary properties (replaces the old list).
    pub dietary: Option<Vec<Dietary>>,
    /// New daily stock; `null` makes the item unlimited.
    pub daily_stock: MaybeUndefined<i32>,
}

/// Switches an item on or off.
#[derive(InputObject)]
pub struct SetMenuItemAvailabilityInput {
    /// The item.
    pub id: ID,
    /// Whether it can be ordered now.
    pub available: bool,
}

/// Result of a menu item mutation.
#[derive(SimpleObject)]
pub struct MenuItemPayload {
    /// The item as stored; null when there are user errors.
    pub menu_item: Option<MenuItem>,
    /// Why it did not work, if it did not.
    pub user_errors: Vec<UserError>,
}

impl MenuItemPayload {
    fn failed(errors: Vec<UserError>) -> Self {
        Self {
            menu_item: None,
            user_errors: errors,
        }
    }
}

fn entity_course(course: Course) -> entity::Course {
    match course {
        Course::Drink => entity::Course::Drink,
        Course::Starter => entity::Course::Starter,
        Course::Main => entity::Course::Main,
        Course::Dessert => entity::Course::Dessert,
        Course::Side => entity::Course::Side,
    }
}

fn stored_dietary(tags: &[Dietary]) -> Vec<String> {
    let mut tags: Vec<String> = tags.iter().map(|t| t.stored().to_owned()).collect();
    tags.sort();
    tags.dedup();
    tags
}

fn check_name(name: &str, errors: &mut Vec<UserError>) -> String {
    let name = name.trim().to_owned();
    let chars = name.chars().count();
    if chars == 0 {
        errors.push(UserError::on(
            "name",
            UserErrorCode::NameRequired,
            "Give the item a name.",
        ));
    } else if chars > MAX_NAME_CHARS || !bistro_auth::text::is_clean_line(&name) {
        errors.push(UserError::on(
            "name",
            UserErrorCode::NameInvalid,
            format!(
                "Use at most {MAX_NAME_CHARS} visible characters on one line \
                 (no invisible or direction-changing ones)."
            ),
        ));
    }
    name
}

fn check_description(description: &str, errors: &mut Vec<UserError>) -> String {
    let description = description.trim().to_owned();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        errors.push(UserError::on(
            "description",
            UserErrorCode::DescriptionTooLong,
            format!("Use at most {MAX_DESCRIPTION_CHARS} characters."),
        ));
    } else if !bistro_auth::text::is_clean_text(&description) {
        errors.push(UserError::on(
            "description",
            UserErrorCode::DescriptionInvalid,
            "Use visible characters and line breaks (no invisible or direction-changing ones).",
        ));
    }
    description
}

fn check_price(price: &Decimal, currency: &str, errors: &mut Vec<UserError>) -> i64 {
    match to_minor(&price.0, currency) {
        Some(minor) if minor < 0 => {
            errors.push(UserError::on(
                "price",
                UserErrorCode::PriceInvalid,
                "A price cannot be negative.",
            ));
            0
        }
        Some(minor)
            if minor > to_minor(&MAX_PRICE_MAJOR.to_string(), currency).unwrap_or(i64::MAX) =>
        {
            errors.push(UserError::on(
                "price",
                UserErrorCode::PriceTooHigh,
                format!("A price is at most {MAX_PRICE_MAJOR} {currency}."),
            ));
            0
        }
        Some(minor) => minor,
        None => {
            errors.push(UserError::on(
                "price",
                UserErrorCode::PriceInvalid,
                format!("Not a price in {currency}: too many decimals or too large."),
            ));
            0
        }
    }
}

fn check_stock(stock: Option<i32>, errors: &mut Vec<UserError>) {
    if stock.is_some_and(|s| !(0..=MAX_DAILY_STOCK).contains(&s)) {
        errors.push(UserError::on(
            "dailyStock",
            UserErrorCode::DailyStockInvalid,
            format!("Use a number from 0 to {MAX_DAILY_STOCK}."),
        ));
    }
}

/// The item with this id, and the right to change it; NOT_FOUND when there is none.
async fn editable_item(
    ctx: &Context<'_>,
    id: &ID,
) -> async_graphql::Result<std::sync::Arc<menu_item::Model>> {
    let id = expect_global_id(id, NodeType::MenuItem)?;
    let item = loaders(ctx)?.menu_item.load_one(id).await.coded()?;
    let Some(item) = item else {
        // Existence of items is public (menus are), so NOT_FOUND leaks nothing.
        viewer(ctx).check(Rule::SignedIn)?;
        return Err(ErrorCode::NotFound.error("No menu item has this id."));
    };
    viewer(ctx).check(Rule::StaffOf {
        restaurant_id: item.restaurant_id,
    })?;
    Ok(item)
}

/// Menu management mutations.
#[derive(Default)]
pub struct MenuMutation;

#[Object]
/// Menu management mutations.
impl MenuMutation {
    /// Adds an item at the end of a restaurant's menu. Staff of the restaurant and admins only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn create_menu_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new item.")] input: CreateMenuItemInput,
    ) -> Option<MenuItemPayload> {
        nullable(ctx, async {
            let restaurant_id = expect_global_id(&input.restaurant_id, NodeType::Restaurant)?;
            viewer(ctx).check(Rule::StaffOf { restaurant_id })?;
            let restaurant = loaders(ctx)?
                .restaurant
                .load_one(restaurant_id)
                .await
                .coded()?
                .ok_or_else(|| ErrorCode::NotFound.error("No restaurant has this id."))?;
            let mut errors = Vec::new();
            let name = check_name(&input.name, &mut errors);
            let description = check_description(&input.description, &mut errors);
            let price_amount = check_price(&input.price, &restaurant.currency_code, &mut errors);
            check_stock(input.daily_stock, &mut errors);
            if !errors.is_empty() {
                return Ok(MenuItemPayload::failed(errors));
            }
            // The data layer forgets the restaurant's cached menu once the write commits.
            let item = scope(ctx)?
                .create_menu_item(NewMenuItem {
                    restaurant_id,
                    name,
                    description,
                    price_amount,
                    currency_code: restaurant.currency_code.clone(),
                    course: entity_course(input.course),
                    dietary: stored_dietary(&input.dietary),
                    available: input.available,
                    daily_stock: input.daily_stock,
                })
                .await
                .coded()?
                .ok_or_else(|| ErrorCode::NotFound.error("No restaurant has this id."))?;
            Ok(MenuItemPayload {
                menu_item: Some(MenuItem::new(item)),
                user_errors: Vec::new(),
            })
        })
        .await
    }

    /// Changes an item. Staff of its restaurant and admins only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn update_menu_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change.")] input: UpdateMenuItemInput,
    ) -> Option<MenuItemPayload> {
        nullable(ctx, async {
            let item = editable_item(ctx, &input.id).await?;
            let mut errors = Vec::new();
            let changes = MenuItemChanges {
                name: input.name.as_deref().map(|n| check_name(n, &mut errors)),
                description: input
                    .description
                    .as_deref()
                    .map(|d| check_description(d, &mut errors)),
                price_amount: input
                    .price
                    .as_ref()
                    .map(|p| check_price(p, &item.currency_code, &mut errors)),
                course: input.course.map(entity_course),
                dietary: input.dietary.as_deref().map(stored_dietary),
                available: None,
                daily_stock: match input.daily_stock {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => Some(None),
                    MaybeUndefined::Value(stock) => {
                        check_stock(Some(stock), &mut errors);
                        Some(Some(stock))
                    }
                },
            };
            if !errors.is_empty() {
                return Ok(MenuItemPayload::failed(errors));
            }
            self.apply(ctx, item, changes).await
        })
        .await
    }

    /// Switches an item on (orderable) or off (sold out). Staff of its restaurant and admins only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn set_menu_item_availability(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The item and its availability.")] input: SetMenuItemAvailabilityInput,
    ) -> Option<MenuItemPayload> {
        nullable(ctx, async {
            let item = editable_item(ctx, &input.id).await?;
            let changes = MenuItemChanges {
                available: Some(input.available),
                ..MenuItemChanges::default()
            };
            self.apply(ctx, item, changes).await
        })
        .await
    }
}

impl MenuMutation {
    async fn apply(
        &self,
        ctx: &Context<'_>,
        item: std::sync::Arc<menu_item::Model>,
        changes: MenuItemChanges,
    ) -> async_graphql::Result<MenuItemPayload> {
        // The data layer forgets the restaurant's cached menu once the write commits.
        let updated = scope(ctx)?
            .update_menu_item(item.id, changes)
            .await
            .coded()?
            .ok_or_else(|| ErrorCode::NotFound.error("No menu item has this id."))?;
        // Stock counters and live availability follow the change.
        scope(ctx)?.menu_item_changed(&item, &updated).await;
        Ok(MenuItemPayload {
            menu_item: Some(MenuItem::new(updated)),
            user_errors: Vec::new(),
        })
    }
}
