//! Full-text search over menu item names and descriptions.
//!
//! PostgreSQL: a stored generated `tsvector` (names weighted A, descriptions
//! B, `english` stemming) with a GIN index. SQLite: an FTS5 external-content
//! table over `menu_items` (porter stemming), kept in step by triggers.
//! `m20261201_000004_search_dietary_tags` adds the dietary tags to both.
//! [`crate::query::search_menu_items`] reads whichever exists.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000002_menu_search"
    }
}

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE menu_items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (\
       setweight(to_tsvector('english', coalesce(name, '')), 'A') || \
       setweight(to_tsvector('english', coalesce(description, '')), 'B')) STORED",
    "CREATE INDEX menu_items_search_idx ON menu_items USING GIN (search_vector)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS menu_items_search_idx",
    "ALTER TABLE menu_items DROP COLUMN IF EXISTS search_vector",
];

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE menu_items_fts USING fts5(\
       name, description, content='menu_items', content_rowid='id', \
       tokenize='porter unicode61')",
    "CREATE TRIGGER menu_items_fts_insert AFTER INSERT ON menu_items BEGIN \
       INSERT INTO menu_items_fts(rowid, name, description) \
       VALUES (new.id, new.name, new.description); END",
    "CREATE TRIGGER menu_items_fts_delete AFTER DELETE ON menu_items BEGIN \
       INSERT INTO menu_items_fts(menu_items_fts, rowid, name, description) \
       VALUES ('delete', old.id, old.name, old.description); END",
    "CREATE TRIGGER menu_items_fts_update AFTER UPDATE OF name, description ON menu_items BEGIN \
       INSERT INTO menu_items_fts(menu_items_fts, rowid, name, description) \
       VALUES ('delete', old.id, old.name, old.description); \
       INSERT INTO menu_items_fts(rowid, name, description) \
       VALUES (new.id, new.name, new.description); END",
    // Items that existed before this migration.
    "INSERT INTO menu_items_fts(menu_items_fts) VALUES ('rebuild')",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS menu_items_fts_update",
    "DROP TRIGGER IF EXISTS menu_items_fts_delete",
    "DROP TRIGGER IF EXISTS menu_items_fts_insert",
    "DROP TABLE IF EXISTS menu_items_fts",
];

async fn run(manager: &SchemaManager<'_>, postgres: &[&str], sqlite: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let statements = match db.get_database_backend() {
        DatabaseBackend::Postgres => postgres,
        DatabaseBackend::Sqlite => sqlite,
        other => {
            return Err(DbErr::Migration(format!(
                "menu search is not implemented for {other:?}"
            )));
        }
    };
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_DOWN, SQLITE_DOWN).await
    }
}
