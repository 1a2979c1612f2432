//! Ordering: idempotency keys unique per customer, the checkout fingerprint,
//! and leases for the email outbox worker.
//!
//! - `orders.idempotency_key` was unique across every customer, so two
//!   customers who happened to pick the same key could not both order. It
//!   becomes unique per customer (`orders_user_idempotency_key` on
//!   `(user_id, idempotency_key)`), which is what decides a retried checkout
//!   when the key-value claim is gone. `orders.checkout_fingerprint` keeps
//!   what the checkout asked for, to refuse a key reused for another request.
//! - `email_outbox.lease_until` / `lease_owner`: a worker claims a row for a
//!   while; a worker that dies lets its lease lapse and another takes over.
//!   `email_outbox_order_kind_key` allows one email of each kind per order.
//!
//! PostgreSQL drops the old constraint in place. SQLite cannot drop a
//! column's `UNIQUE`, so `orders` is rebuilt the way SQLite documents
//! (<https://www.sqlite.org/lang_altertable.html#otheralter>): on one
//! connection with foreign keys off, in one transaction, create the new
//! table, copy, drop the old one, rename, recreate the indexes, check the
//! foreign keys, commit.

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseExecutor};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{string_len_null, timestamp_with_time_zone_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000003_ordering"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Orders {
    Table,
    CheckoutFingerprint,
}

#[derive(DeriveIden, Clone, Copy)]
enum EmailOutbox {
    Table,
    LeaseUntil,
    LeaseOwner,
}

/// The columns of `orders` after this migration, in order.
const ORDER_COLUMNS: &str = "id, user_id, restaurant_id, status, payment_status, fulfilment, \
    table_number, delivery_address, subtotal_amount, total_amount, currency_code, \
    idempotency_key, created_at, updated_at";

/// `orders` as the domain migration made it, minus the global unique key,
/// plus the fingerprint, in the types SQLite was given.
const SQLITE_ORDERS: &str = r#"CREATE TABLE "orders_rebuilt" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "user_id" integer NOT NULL,
    "restaurant_id" integer NOT NULL,
    "status" varchar(24) NOT NULL,
    "payment_status" varchar(16) NOT NULL,
    "fulfilment" varchar(16) NOT NULL,
    "table_number" integer NULL,
    "delivery_address" text NULL,
    "subtotal_amount" integer NOT NULL,
    "total_amount" integer NOT NULL,
    "currency_code" varchar(3) NOT NULL,
    "idempotency_key" varchar(200) NOT NULL,
    "created_at" timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "checkout_fingerprint" varchar(200) NULL,
    FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE RESTRICT,
    FOREIGN KEY ("restaurant_id") REFERENCES "restaurants" ("id") ON DELETE RESTRICT
)"#;

const ORDER_INDEXES: &[&str] = &[
    r#"CREATE INDEX "orders_user_idx" ON "orders" ("user_id", "id")"#,
    r#"CREATE INDEX "orders_restaurant_idx" ON "orders" ("restaurant_id", "id")"#,
    r#"CREATE INDEX "orders_created_at_idx" ON "orders" ("created_at")"#,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                let db = manager.get_connection();
                db.execute_unprepared(
                    "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_idempotency_key_key",
                )
                .await?;
                manager
                    .alter_table(
                        Table::alter()
                            .table(Orders::Table)
                            .add_column(string_len_null(Orders::CheckoutFingerprint, 200))
                            .to_owned(),
                    )
                    .await?;
            }
            _ => rebuild_sqlite_orders(manager).await?,
        }
        manager
            .create_index(
                Index::create()
                    .name("orders_user_idempotency_key")
                    .table(Orders::Table)
                    .col(Alias::new("user_id"))
                    .col(Alias::new("idempotency_key"))
                    .unique()
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER.
        manager
            .alter_table(
                Table::alter()
                    .table(EmailOutbox::Table)
                    .add_column(timestamp_with_time_zone_null(EmailOutbox::LeaseUntil))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EmailOutbox::Table)
                    .add_column(string_len_null(EmailOutbox::LeaseOwner, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("email_outbox_order_kind_key")
                    .table(EmailOutbox::Table)
                    .col(Alias::new("order_id"))
                    .col(Alias::new("kind"))
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Restoring a global unique key could fail on data this migration
        // allows (two customers' equal keys); there is no safe way down.
        Err(DbErr::Migration(
            "m20261129_000003_ordering cannot be reverted".into(),
        ))
    }
}

/// Rebuilds SQLite's `orders` without the column-level unique key.
async fn rebuild_sqlite_orders(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let DatabaseExecutor::Connection(db) = manager.get_connection() else {
        return Err(DbErr::Migration(
            "the SQLite orders rebuild needs a connection, not a transaction".into(),
        ));
    };
    // Foreign keys must be off while the old table is dropped (its implicit
    // DELETE would cascade to the lines and events), and the pragma only
    // applies outside a transaction, per connection: hold one connection.
    let mut conn = db
        .get_sqlite_connection_pool()
        .acquire()
        .await
        .map_err(|e| DbErr::Migration(format!("acquiring a connection: {e}")))?;
    let run = |sql: String| sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(sql));
    run("PRAGMA foreign_keys = OFF".into())
        .execute(&mut *conn)
        .await
        .map_err(|e| DbErr::Migration(e.to_string()))?;
    let rebuilt = async {
        run("BEGIN IMMEDIATE".into()).execute(&mut *conn).await?;
        let steps = [
            SQLITE_ORDERS.to_owned(),
            format!(
                r#"INSERT INTO "orders_rebuilt" ({ORDER_COLUMNS}) SELECT {ORDER_COLUMNS} FROM "orders""#
            ),
            r#"DROP TABLE "orders""#.to_owned(),
            r#"ALTER TABLE "orders_rebuilt" RENAME TO "orders""#.to_owned(),
        ];
        for sql in steps.into_iter().chain(ORDER_INDEXES.iter().map(|s| (*s).to_owned())) {
            run(sql).execute(&mut *conn).await?;
        }
        let violations = run("PRAGMA foreign_key_check".into())
            .fetch_all(&mut *conn)
            .await?;
        if !violations.is_empty() {
            run("ROLLBACK".into()).execute(&mut *conn).await?;
            return Err(sea_orm::sqlx::Error::Protocol(format!(
                "{} foreign key violations after rebuilding orders",
                violations.len()
            )));
        }
        run("COMMIT".into()).execute(&mut *conn).await?;
        Ok(())
    }
    .await;
    if rebuilt.is_err() {
        let _ = run("ROLLBACK".into()).execute(&mut *conn).await;
    }
    // Back on before the connection returns to the pool, whatever happened.
    run("PRAGMA foreign_keys = ON".into())
        .execute(&mut *conn)
        .await
        .map_err(|e| DbErr::Migration(e.to_string()))?;
    rebuilt.map_err(|e| DbErr::Migration(format!("rebuilding orders: {e}")))
}
