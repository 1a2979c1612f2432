//! A card processor that acts on its own (Stripe's webhooks): what it did
//! outside Bistro becomes order state, once per event.
//!
//! - `payments.amount_refunded`: how much of a captured payment was given
//!   back (a refund from the processor's dashboard may be partial).
//! - `order_events.payment_status`: the payment status a change left the
//!   order in, when it changed the payment (a refund or a dispute reported
//!   by the processor changes the payment alone: `from_status = to_status`).
//! - `processor_events`: the processor's events already handled, by their
//!   id, so a redelivered or replayed event changes nothing.
//! - `payments_provider_reference_idx`: an event names the payment by the
//!   processor's id.
//! - On PostgreSQL, payment statuses get 24 characters
//!   (`PARTIALLY_REFUNDED` is 18); SQLite does not enforce lengths.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, string_len, string_len_null, timestamp_with_time_zone,
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261215_000006_processor_events"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Payments {
    Table,
    Status,
    ProviderReference,
    AmountRefunded,
}

#[derive(DeriveIden, Clone, Copy)]
enum Orders {
    Table,
    PaymentStatus,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderEvents {
    Table,
    PaymentStatus,
}

#[derive(DeriveIden, Clone, Copy)]
enum ProcessorEvents {
    Table,
    EventId,
    Provider,
    Kind,
    OrderId,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Payments::Table)
                    .add_column(big_integer(Payments::AmountRefunded).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OrderEvents::Table)
                    .add_column(string_len_null(OrderEvents::PaymentStatus, 24))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            for (table, column) in [
                (Orders::Table.into_iden(), Orders::PaymentStatus.into_iden()),
                (Payments::Table.into_iden(), Payments::Status.into_iden()),
            ] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table)
                            .modify_column(ColumnDef::new(column).string_len(24))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        manager
            .create_index(
                Index::create()
                    .name("payments_provider_reference_idx")
                    .table(Payments::Table)
                    .col(Payments::ProviderReference)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProcessorEvents::Table)
                    .col(string_len(ProcessorEvents::EventId, 255).primary_key())
                    .col(string_len(ProcessorEvents::Provider, 32))
                    .col(string_len(ProcessorEvents::Kind, 100))
                    .col(big_integer_null(ProcessorEvents::OrderId))
                    .col(timestamp_with_time_zone(ProcessorEvents::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("processor_events_received_idx")
                    .table(ProcessorEvents::Table)
                    .col(ProcessorEvents::ReceivedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProcessorEvents::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("payments_provider_reference_idx")
                    .table(Payments::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OrderEvents::Table)
                    .drop_column(OrderEvents::PaymentStatus)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Payments::Table)
                    .drop_column(Payments::AmountRefunded)
                    .to_owned(),
            )
            .await
    }
}
