//! Recovery: what a checkout or a payment change is about to do is written
//! down before it happens, so that whoever finds it unfinished (a retry, the
//! recovery task of any replica) can finish or undo it; and the simulated
//! card processor's books, which every replica and every restart must see.
//!
//! - `pending_steps`: one row per checkout in progress (claimed by the
//!   customer's idempotency key: `pending_steps_checkout_key`) and per
//!   payment change of an order in progress (`pending_steps_order_key`), with
//!   the provider's idempotency key, what the provider answered, and a lease
//!   (`lease_owner`, `lease_until`) saying who works on it until when.
//! - `orders.pending_step_id`: the payment change an order is going through;
//!   while it is set no other transition of the order can start, so of two
//!   concurrent transitions exactly one moves money.
//! - `simulated_authorizations`, `simulated_operations`, `simulated_pauses`:
//!   the simulated processor's ledger and the pauses tests set on it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer_null, big_pk_auto, string_len, string_len_null, text, timestamp_with_time_zone,
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000005_recovery"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PendingSteps {
    Table,
    Id,
    Kind,
    State,
    UserId,
    IdempotencyKey,
    OrderId,
    Provider,
    ProviderKey,
    ProviderReference,
    Detail,
    LeaseOwner,
    LeaseUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Orders {
    Table,
    PendingStepId,
}

#[derive(DeriveIden, Clone, Copy)]
enum SimulatedAuthorizations {
    Table,
    IdempotencyKey,
    RequestHash,
    Reference,
    DeclineCode,
    State,
    PauseOperation,
    PauseName,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SimulatedOperations {
    Table,
    IdempotencyKey,
    Operation,
    Reference,
    Outcome,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SimulatedPauses {
    Table,
    Name,
    State,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PendingSteps::Table)
                    .col(big_pk_auto(PendingSteps::Id))
                    .col(string_len(PendingSteps::Kind, 16))
                    .col(string_len(PendingSteps::State, 16))
                    .col(big_integer_null(PendingSteps::UserId))
                    .col(string_len_null(PendingSteps::IdempotencyKey, 200))
                    .col(big_integer_null(PendingSteps::OrderId))
                    .col(string_len(PendingSteps::Provider, 32))
                    .col(string_len(PendingSteps::ProviderKey, 400))
                    .col(string_len_null(PendingSteps::ProviderReference, 255))
                    .col(text(PendingSteps::Detail))
                    .col(string_len(PendingSteps::LeaseOwner, 64))
                    .col(timestamp_with_time_zone(PendingSteps::LeaseUntil))
                    .col(timestamp_with_time_zone(PendingSteps::CreatedAt))
                    .col(timestamp_with_time_zone(PendingSteps::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Both backends treat NULLs as distinct in a unique index: checkout
        // steps have no order, payment changes no idempotency key.
        manager
            .create_index(
                Index::create()
                    .name("pending_steps_checkout_key")
                    .table(PendingSteps::Table)
                    .col(PendingSteps::UserId)
                    .col(PendingSteps::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("pending_steps_order_key")
                    .table(PendingSteps::Table)
                    .col(PendingSteps::OrderId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("pending_steps_lease_idx")
                    .table(PendingSteps::Table)
                    .col(PendingSteps::LeaseUntil)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(big_integer_null(Orders::PendingStepId))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SimulatedAuthorizations::Table)
                    .col(string_len(SimulatedAuthorizations::IdempotencyKey, 400).primary_key())
                    .col(string_len(SimulatedAuthorizations::RequestHash, 64))
                    .col(string_len_null(SimulatedAuthorizations::Reference, 64))
                    .col(string_len_null(SimulatedAuthorizations::DeclineCode, 64))
                    .col(string_len_null(SimulatedAuthorizations::State, 16))
                    .col(string_len_null(SimulatedAuthorizations::PauseOperation, 16))
                    .col(string_len_null(SimulatedAuthorizations::PauseName, 100))
                    .col(timestamp_with_time_zone(SimulatedAuthorizations::CreatedAt))
                    .col(timestamp_with_time_zone(SimulatedAuthorizations::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("simulated_authorizations_reference_key")
                    .table(SimulatedAuthorizations::Table)
                    .col(SimulatedAuthorizations::Reference)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("simulated_authorizations_created_idx")
                    .table(SimulatedAuthorizations::Table)
                    .col(SimulatedAuthorizations::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SimulatedOperations::Table)
                    .col(string_len(SimulatedOperations::IdempotencyKey, 400).primary_key())
                    .col(string_len(SimulatedOperations::Operation, 16))
                    .col(string_len(SimulatedOperations::Reference, 64))
                    .col(string_len(SimulatedOperations::Outcome, 32))
                    .col(timestamp_with_time_zone(SimulatedOperations::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("simulated_operations_created_idx")
                    .table(SimulatedOperations::Table)
                    .col(SimulatedOperations::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SimulatedPauses::Table)
                    .col(string_len(SimulatedPauses::Name, 100).primary_key())
                    .col(string_len(SimulatedPauses::State, 16))
                    .col(timestamp_with_time_zone(SimulatedPauses::CreatedAt))
                    .col(timestamp_with_time_zone(SimulatedPauses::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SimulatedPauses::Table.into_iden(),
            SimulatedOperations::Table.into_iden(),
            SimulatedAuthorizations::Table.into_iden(),
            PendingSteps::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::PendingStepId)
                    .to_owned(),
            )
            .await
    }
}
