//! Schema migrations, applied in order by `bistro migrate` and on start.
//!
//! The first migration creates the whole domain of the product, so later
//! features add columns and indexes, not tables.

use sea_orm_migration::prelude::*;

mod m20261125_000001_domain;
mod m20261125_000002_menu_search;
mod m20261129_000003_ordering;
mod m20261201_000004_search_dietary_tags;
mod m20261207_000005_recovery;
mod m20261207_260001_persisted_documents;
mod m20261215_000006_processor_events;

/// Every migration of the relational store.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_domain::Migration),
            Box::new(m20261125_000002_menu_search::Migration),
            Box::new(m20261129_000003_ordering::Migration),
            Box::new(m20261201_000004_search_dietary_tags::Migration),
            Box::new(m20261207_000005_recovery::Migration),
            Box::new(m20261207_260001_persisted_documents::Migration),
            Box::new(m20261215_000006_processor_events::Migration),
        ]
    }
}
