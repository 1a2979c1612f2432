//! Menu search reads dietary tags too: "spicy", "vegan", "gluten free" find
//! the dishes tagged so, whatever their descriptions say.
//!
//! PostgreSQL: the generated `search_vector` is made again with the tags
//! (weighted B, like descriptions; `gluten_free` is read as "gluten free").
//! SQLite: the FTS5 table gets a `dietary` column, with triggers that follow
//! it, and is rebuilt from `menu_items`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_search_dietary_tags"
    }
}

const POSTGRES_UP: &[&str] = &[
    "DROP INDEX IF EXISTS menu_items_search_idx",
    "ALTER TABLE menu_items DROP COLUMN IF EXISTS search_vector",
    "ALTER TABLE menu_items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (\
       setweight(to_tsvector('english', coalesce(name, '')), 'A') || \
       setweight(to_tsvector('english', coalesce(description, '')), 'B') || \
       setweight(to_tsvector('english', replace(coalesce(dietary, ''), '_', ' ')), 'B')) STORED",
    "CREATE INDEX menu_items_search_idx ON menu_items USING GIN (search_vector)",
];

/// Back to the vector of `m20261125_000002_menu_search`.
const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS menu_items_search_idx",
    "ALTER TABLE menu_items DROP COLUMN IF EXISTS search_vector",
    "ALTER TABLE menu_items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (\
       setweight(to_tsvector('english', coalesce(name, '')), 'A') || \
       setweight(to_tsvector('english', coalesce(description, '')), 'B')) STORED",
    "CREATE INDEX menu_items_search_idx ON menu_items USING GIN (search_vector)",
];

const SQLITE_DROP: &[&str] = &[
    "DROP TRIGGER IF EXISTS menu_items_fts_update",
    "DROP TRIGGER IF EXISTS menu_items_fts_delete",
    "DROP TRIGGER IF EXISTS menu_items_fts_insert",
    "DROP TABLE IF EXISTS menu_items_fts",
];

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE menu_items_fts USING fts5(\
       name, description, dietary, content='menu_items', content_rowid='id', \
       tokenize='porter unicode61')",
    "CREATE TRIGGER menu_items_fts_insert AFTER INSERT ON menu_items BEGIN \
       INSERT INTO menu_items_fts(rowid, name, description, dietary) \
       VALUES (new.id, new.name, new.description, new.dietary); END",
    "CREATE TRIGGER menu_items_fts_delete AFTER DELETE ON menu_items BEGIN \
       INSERT INTO menu_items_fts(menu_items_fts, rowid, name, description, dietary) \
       VALUES ('delete', old.id, old.name, old.description, old.dietary); END",
    "CREATE TRIGGER menu_items_fts_update AFTER UPDATE OF name, description, dietary ON menu_items BEGIN \
       INSERT INTO menu_items_fts(menu_items_fts, rowid, name, description, dietary) \
       VALUES ('delete', old.id, old.name, old.description, old.dietary); \
       INSERT INTO menu_items_fts(rowid, name, description, dietary) \
       VALUES (new.id, new.name, new.description, new.dietary); END",
    "INSERT INTO menu_items_fts(menu_items_fts) VALUES ('rebuild')",
];

/// Back to the table of `m20261125_000002_menu_search`.
const SQLITE_DOWN: &[&str] = &[
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
    "INSERT INTO menu_items_fts(menu_items_fts) VALUES ('rebuild')",
];

async fn run(manager: &SchemaManager<'_>, postgres: &[&str], sqlite: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let statements: Vec<&str> = match db.get_database_backend() {
        DatabaseBackend::Postgres => postgres.to_vec(),
        DatabaseBackend::Sqlite => SQLITE_DROP.iter().chain(sqlite).copied().collect(),
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
    /// In one transaction on SQLite too: its statements then run on one
    /// connection, which sees its own drops before it creates the same names
    /// again (pooled connections may not yet).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_DOWN, SQLITE_DOWN).await
    }
}
