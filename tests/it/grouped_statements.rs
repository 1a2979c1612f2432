//! Statements run as a group (`bistro_sql::grouped`): one hand-off on
//! SQLite, one by one on PostgreSQL, with the same rows and the same
//! atomicity on both.

use bistro_sql::entity::simulated_pause;
use bistro_sql::grouped::{self, Rows};
use bistro_tests::{TestApp, store_pairs};
use chrono::Utc;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, QueryTrait, Statement, TransactionTrait,
};

/// `SELECT` of the values given, one row each, under the column `n`.
fn select(db: &impl ConnectionTrait, values: &[i64]) -> Statement {
    let mut union = Query::select()
        .expr_as(Expr::val(values[0]), "n")
        .to_owned();
    for value in &values[1..] {
        union.union(
            sea_orm::sea_query::UnionType::All,
            Query::select().expr_as(Expr::val(*value), "n").to_owned(),
        );
    }
    db.get_database_backend().build(&union)
}

fn numbers(rows: &[sea_orm::QueryResult]) -> Vec<i64> {
    rows.iter()
        .map(|row| row.try_get("", "n").unwrap())
        .collect()
}

fn new_pause(db: &impl ConnectionTrait, name: &str) -> Statement {
    let now = Utc::now();
    let insert = simulated_pause::Entity::insert(simulated_pause::ActiveModel {
        name: Set(name.to_owned()),
        state: Set("WAITING".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .into_query();
    db.get_database_backend().build(&insert)
}

#[tokio::test]
async fn a_group_gives_each_statement_its_rows_with_its_arguments_in_order() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let db = &app.app.db;
        let rows = grouped::run(
            db,
            vec![
                (select(db, &[1, 2]), Rows::Exactly(2)),
                (select(db, &[3]), Rows::Exactly(1)),
                (new_pause(db, "grouped-a"), Rows::Exactly(0)),
                (select(db, &[4, 5, 6]), Rows::Rest),
            ],
        )
        .await
        .unwrap();
        let got: Vec<Vec<i64>> = rows.iter().map(|rows| numbers(rows)).collect();
        assert_eq!(
            got,
            vec![vec![1, 2], vec![3], vec![], vec![4, 5, 6]],
            "[{}]",
            pair.name()
        );
        let stored = simulated_pause::Entity::find_by_id("grouped-a")
            .one(db)
            .await
            .unwrap();
        assert!(stored.is_some(), "[{}] the insert ran", pair.name());
        // Rows missing are an error, not a shorter answer (on SQLite a
        // group's rows are split by the counts given, so a count is a
        // promise the caller keeps: an insert returning what it inserts).
        let wrong = grouped::run(
            db,
            vec![
                (select(db, &[1, 2]), Rows::Exactly(3)),
                (select(db, &[3]), Rows::Exactly(1)),
            ],
        )
        .await;
        assert!(wrong.is_err(), "[{}] {wrong:?}", pair.name());
        // Only the last statement may take the rest.
        let misplaced = grouped::run(
            db,
            vec![
                (select(db, &[1]), Rows::Rest),
                (select(db, &[2]), Rows::Rest),
            ],
        )
        .await;
        assert!(misplaced.is_err(), "[{}]", pair.name());
        app.stop().await;
    }
}

#[tokio::test]
async fn a_group_that_fails_half_way_leaves_nothing_once_its_transaction_is_dropped() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let db = &app.app.db;
        let txn = db.begin().await.unwrap();
        // The second insert breaks the primary key after the first one ran.
        let failed = grouped::run(
            &txn,
            vec![
                (new_pause(&txn, "grouped-b"), Rows::Exactly(0)),
                (new_pause(&txn, "grouped-b"), Rows::Rest),
            ],
        )
        .await;
        assert!(failed.is_err(), "[{}]", pair.name());
        drop(txn);
        let stored = simulated_pause::Entity::find_by_id("grouped-b")
            .one(db)
            .await
            .unwrap();
        assert!(stored.is_none(), "[{}] rolled back", pair.name());
        // The connection is usable again: the next group runs.
        let rows = grouped::run(
            db,
            vec![
                (new_pause(db, "grouped-b"), Rows::Exactly(0)),
                (select(db, &[7]), Rows::Rest),
            ],
        )
        .await
        .unwrap();
        assert_eq!(numbers(&rows[1]), vec![7], "[{}]", pair.name());
        app.stop().await;
    }
}
