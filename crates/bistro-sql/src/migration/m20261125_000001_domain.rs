//! The whole domain: accounts, restaurants, menus, orders, payments, reviews, outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, integer, integer_null, string, string_len,
    string_len_null, string_null, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000001_domain"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    Email,
    DisplayName,
    PasswordHash,
    Role,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Restaurants {
    Table,
    Id,
    Slug,
    Name,
    Cuisine,
    Description,
    Address,
    OpeningHours,
    CurrencyCode,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RestaurantStaff {
    Table,
    UserId,
    RestaurantId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum MenuItems {
    Table,
    Id,
    RestaurantId,
    Name,
    Description,
    PriceAmount,
    CurrencyCode,
    Course,
    Dietary,
    Available,
    DailyStock,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum MenuOptionGroups {
    Table,
    Id,
    MenuItemId,
    Name,
    MinChoices,
    MaxChoices,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum MenuOptions {
    Table,
    Id,
    GroupId,
    Name,
    PriceDeltaAmount,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Orders {
    Table,
    Id,
    UserId,
    RestaurantId,
    Status,
    PaymentStatus,
    Fulfilment,
    TableNumber,
    DeliveryAddress,
    SubtotalAmount,
    TotalAmount,
    CurrencyCode,
    IdempotencyKey,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderLines {
    Table,
    Id,
    OrderId,
    MenuItemId,
    Name,
    Quantity,
    UnitPriceAmount,
    Options,
    LineTotalAmount,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderEvents {
    Table,
    Id,
    OrderId,
    FromStatus,
    ToStatus,
    ActorUserId,
    Note,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Payments {
    Table,
    Id,
    OrderId,
    Provider,
    ProviderReference,
    Status,
    Amount,
    CurrencyCode,
    FailureCode,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Reviews {
    Table,
    Id,
    UserId,
    RestaurantId,
    Rating,
    Body,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum EmailOutbox {
    Table,
    Id,
    Recipient,
    Subject,
    Body,
    Kind,
    OrderId,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    CreatedAt,
    SentAt,
}

/// A foreign key named `{table}_{column}_fkey`, deleting children with the parent
/// only where `cascade` says the child has no meaning alone.
fn fk(
    table: impl IntoIden + Clone + 'static,
    column: impl IntoIden + Clone + 'static,
    parent: impl IntoIden + 'static,
    parent_column: impl IntoIden + 'static,
    cascade: bool,
) -> ForeignKeyCreateStatement {
    let name = format!(
        "{}_{}_fkey",
        table.clone().into_iden(),
        column.clone().into_iden()
    );
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(parent, parent_column)
        .on_delete(if cascade {
            ForeignKeyAction::Cascade
        } else {
            ForeignKeyAction::Restrict
        })
        .to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden + 'static,
    columns: &[&'static str],
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let now = || Expr::current_timestamp();

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_len(Users::Email, 320).unique_key())
                    .col(string_len(Users::DisplayName, 120))
                    .col(string(Users::PasswordHash))
                    .col(string_len(Users::Role, 16))
                    .col(timestamp_with_time_zone(Users::CreatedAt).default(now()))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Restaurants::Table)
                    .col(big_pk_auto(Restaurants::Id))
                    .col(string_len(Restaurants::Slug, 120).unique_key())
                    .col(string_len(Restaurants::Name, 200))
                    .col(string_len(Restaurants::Cuisine, 60))
                    .col(text(Restaurants::Description))
                    .col(text(Restaurants::Address))
                    .col(text(Restaurants::OpeningHours))
                    .col(string_len(Restaurants::CurrencyCode, 3))
                    .col(timestamp_with_time_zone(Restaurants::CreatedAt).default(now()))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "restaurants_cuisine_idx",
                Restaurants::Table,
                &["cuisine", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RestaurantStaff::Table)
                    .col(big_integer(RestaurantStaff::UserId))
                    .col(big_integer(RestaurantStaff::RestaurantId))
                    .col(timestamp_with_time_zone(RestaurantStaff::CreatedAt).default(now()))
                    .primary_key(
                        Index::create()
                            .col(RestaurantStaff::UserId)
                            .col(RestaurantStaff::RestaurantId),
                    )
                    .foreign_key(&mut fk(
                        RestaurantStaff::Table,
                        RestaurantStaff::UserId,
                        Users::Table,
                        Users::Id,
                        true,
                    ))
                    .foreign_key(&mut fk(
                        RestaurantStaff::Table,
                        RestaurantStaff::RestaurantId,
                        Restaurants::Table,
                        Restaurants::Id,
                        true,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "restaurant_staff_restaurant_idx",
                RestaurantStaff::Table,
                &["restaurant_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MenuItems::Table)
                    .col(big_pk_auto(MenuItems::Id))
                    .col(big_integer(MenuItems::RestaurantId))
                    .col(string_len(MenuItems::Name, 200))
                    .col(text(MenuItems::Description))
                    .col(
                        big_integer(MenuItems::PriceAmount)
                            .check(Expr::col(MenuItems::PriceAmount).gte(0)),
                    )
                    .col(string_len(MenuItems::CurrencyCode, 3))
                    .col(string_len(MenuItems::Course, 16))
                    .col(string_len(MenuItems::Dietary, 200).default(""))
                    .col(boolean(MenuItems::Available).default(true))
                    .col(integer_null(MenuItems::DailyStock))
                    .col(integer(MenuItems::Position).default(0))
                    .col(timestamp_with_time_zone(MenuItems::CreatedAt).default(now()))
                    .col(timestamp_with_time_zone(MenuItems::UpdatedAt).default(now()))
                    .foreign_key(&mut fk(
                        MenuItems::Table,
                        MenuItems::RestaurantId,
                        Restaurants::Table,
                        Restaurants::Id,
                        true,
                    ))
                    .to_owned(),
            )
            .await?;
        // The menu connection walks (restaurant, position, id), optionally per course.
        manager
            .create_index(index(
                "menu_items_restaurant_position_idx",
                MenuItems::Table,
                &["restaurant_id", "position", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "menu_items_restaurant_course_idx",
                MenuItems::Table,
                &["restaurant_id", "course", "position", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MenuOptionGroups::Table)
                    .col(big_pk_auto(MenuOptionGroups::Id))
                    .col(big_integer(MenuOptionGroups::MenuItemId))
                    .col(string_len(MenuOptionGroups::Name, 120))
                    .col(integer(MenuOptionGroups::MinChoices).default(0))
                    .col(integer(MenuOptionGroups::MaxChoices).default(1))
                    .col(integer(MenuOptionGroups::Position).default(0))
                    .foreign_key(&mut fk(
                        MenuOptionGroups::Table,
                        MenuOptionGroups::MenuItemId,
                        MenuItems::Table,
                        MenuItems::Id,
                        true,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "menu_option_groups_item_idx",
                MenuOptionGroups::Table,
                &["menu_item_id", "position"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MenuOptions::Table)
                    .col(big_pk_auto(MenuOptions::Id))
                    .col(big_integer(MenuOptions::GroupId))
                    .col(string_len(MenuOptions::Name, 120))
                    .col(big_integer(MenuOptions::PriceDeltaAmount).default(0))
                    .col(integer(MenuOptions::Position).default(0))
                    .foreign_key(&mut fk(
                        MenuOptions::Table,
                        MenuOptions::GroupId,
                        MenuOptionGroups::Table,
                        MenuOptionGroups::Id,
                        true,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "menu_options_group_idx",
                MenuOptions::Table,
                &["group_id", "position"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(big_pk_auto(Orders::Id))
                    .col(big_integer(Orders::UserId))
                    .col(big_integer(Orders::RestaurantId))
                    .col(string_len(Orders::Status, 24))
                    .col(string_len(Orders::PaymentStatus, 16))
                    .col(string_len(Orders::Fulfilment, 16))
                    .col(integer_null(Orders::TableNumber))
                    .col(text_null(Orders::DeliveryAddress))
                    .col(big_integer(Orders::SubtotalAmount))
                    .col(big_integer(Orders::TotalAmount))
                    .col(string_len(Orders::CurrencyCode, 3))
                    .col(string_len(Orders::IdempotencyKey, 200).unique_key())
                    .col(timestamp_with_time_zone(Orders::CreatedAt).default(now()))
                    .col(timestamp_with_time_zone(Orders::UpdatedAt).default(now()))
                    // Orders are records of money: deleting a user or restaurant
                    // must not silently delete them.
                    .foreign_key(&mut fk(
                        Orders::Table,
                        Orders::UserId,
                        Users::Table,
                        Users::Id,
                        false,
                    ))
                    .foreign_key(&mut fk(
                        Orders::Table,
                        Orders::RestaurantId,
                        Restaurants::Table,
                        Restaurants::Id,
                        false,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("orders_user_idx", Orders::Table, &["user_id", "id"]))
            .await?;
        manager
            .create_index(index(
                "orders_restaurant_idx",
                Orders::Table,
                &["restaurant_id", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "orders_created_at_idx",
                Orders::Table,
                &["created_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrderLines::Table)
                    .col(big_pk_auto(OrderLines::Id))
                    .col(big_integer(OrderLines::OrderId))
                    .col(big_integer(OrderLines::MenuItemId))
                    .col(string_len(OrderLines::Name, 200))
                    .col(integer(OrderLines::Quantity).check(Expr::col(OrderLines::Quantity).gt(0)))
                    .col(big_integer(OrderLines::UnitPriceAmount))
                    .col(text(OrderLines::Options).default("[]"))
                    .col(big_integer(OrderLines::LineTotalAmount))
                    .foreign_key(&mut fk(
                        OrderLines::Table,
                        OrderLines::OrderId,
                        Orders::Table,
                        Orders::Id,
                        true,
                    ))
                    .foreign_key(&mut fk(
                        OrderLines::Table,
                        OrderLines::MenuItemId,
                        MenuItems::Table,
                        MenuItems::Id,
                        false,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "order_lines_order_idx",
                OrderLines::Table,
                &["order_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "order_lines_menu_item_idx",
                OrderLines::Table,
                &["menu_item_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrderEvents::Table)
                    .col(big_pk_auto(OrderEvents::Id))
                    .col(big_integer(OrderEvents::OrderId))
                    .col(string_len_null(OrderEvents::FromStatus, 24))
                    .col(string_len(OrderEvents::ToStatus, 24))
                    .col(big_integer_null(OrderEvents::ActorUserId))
                    .col(text_null(OrderEvents::Note))
                    .col(timestamp_with_time_zone(OrderEvents::CreatedAt).default(now()))
                    .foreign_key(&mut fk(
                        OrderEvents::Table,
                        OrderEvents::OrderId,
                        Orders::Table,
                        Orders::Id,
                        true,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("order_events_actor_user_id_fkey")
                            .from(OrderEvents::Table, OrderEvents::ActorUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "order_events_order_idx",
                OrderEvents::Table,
                &["order_id", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .col(big_pk_auto(Payments::Id))
                    .col(big_integer(Payments::OrderId))
                    .col(string_len(Payments::Provider, 40))
                    .col(string_null(Payments::ProviderReference))
                    .col(string_len(Payments::Status, 16))
                    .col(big_integer(Payments::Amount))
                    .col(string_len(Payments::CurrencyCode, 3))
                    .col(string_len_null(Payments::FailureCode, 60))
                    .col(timestamp_with_time_zone(Payments::CreatedAt).default(now()))
                    .col(timestamp_with_time_zone(Payments::UpdatedAt).default(now()))
                    .foreign_key(&mut fk(
                        Payments::Table,
                        Payments::OrderId,
                        Orders::Table,
                        Orders::Id,
                        false,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("payments_order_idx", Payments::Table, &["order_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Reviews::Table)
                    .col(big_pk_auto(Reviews::Id))
                    .col(big_integer(Reviews::UserId))
                    .col(big_integer(Reviews::RestaurantId))
                    .col(integer(Reviews::Rating).check(Expr::col(Reviews::Rating).between(1, 5)))
                    .col(text(Reviews::Body))
                    .col(timestamp_with_time_zone(Reviews::CreatedAt).default(now()))
                    .col(timestamp_with_time_zone(Reviews::UpdatedAt).default(now()))
                    .foreign_key(&mut fk(
                        Reviews::Table,
                        Reviews::UserId,
                        Users::Table,
                        Users::Id,
                        true,
                    ))
                    .foreign_key(&mut fk(
                        Reviews::Table,
                        Reviews::RestaurantId,
                        Restaurants::Table,
                        Restaurants::Id,
                        true,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "reviews_user_restaurant_key",
                    Reviews::Table,
                    &["user_id", "restaurant_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "reviews_restaurant_idx",
                Reviews::Table,
                &["restaurant_id", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(big_pk_auto(EmailOutbox::Id))
                    .col(string_len(EmailOutbox::Recipient, 320))
                    .col(string(EmailOutbox::Subject))
                    .col(text(EmailOutbox::Body))
                    .col(string_len(EmailOutbox::Kind, 40))
                    .col(big_integer_null(EmailOutbox::OrderId))
                    .col(string_len(EmailOutbox::Status, 16))
                    .col(integer(EmailOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(EmailOutbox::NextAttemptAt).default(now()))
                    .col(text_null(EmailOutbox::LastError))
                    .col(timestamp_with_time_zone(EmailOutbox::CreatedAt).default(now()))
                    .col(timestamp_with_time_zone_null(EmailOutbox::SentAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("email_outbox_order_id_fkey")
                            .from(EmailOutbox::Table, EmailOutbox::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // The delivery worker polls "pending and due".
        manager
            .create_index(index(
                "email_outbox_due_idx",
                EmailOutbox::Table,
                &["status", "next_attempt_at"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            EmailOutbox::Table.into_iden(),
            Reviews::Table.into_iden(),
            Payments::Table.into_iden(),
            OrderEvents::Table.into_iden(),
            OrderLines::Table.into_iden(),
            Orders::Table.into_iden(),
            MenuOptions::Table.into_iden(),
            MenuOptionGroups::Table.into_iden(),
            MenuItems::Table.into_iden(),
            RestaurantStaff::Table.into_iden(),
            Restaurants::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
