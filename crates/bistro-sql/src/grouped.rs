//! Statements sent together: one hand-off to SQLite for several statements.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every
//! statement to it over a channel, then waits for the answer: two thread
//! switches per statement. Under W3's checkouts on SQLite a quarter of the
//! server's CPU went to those switches (BENCHMARKS.md). SQLite runs the
//! statements of one string in order, binding the arguments in turn, so a
//! group of statements written as one string costs one hand-off there.
//! PostgreSQL takes one statement per round trip of its extended protocol:
//! there a group runs statement by statement, as before.
//!
//! Either way each statement's returned rows come back apart, told apart by
//! how many each returns: every statement of a group but the last says
//! exactly how many rows it returns (`RETURNING` on an insert of known
//! rows, or none); the last takes what is left. On SQLite the rows of one
//! string cannot be told apart otherwise, so a count is a promise its
//! caller keeps: only a group that returns too few rows is found out there. A group that fails half way
//! leaves its earlier statements' effects in the transaction it ran in,
//! which its caller drops (rolling back), as after a single failed statement.

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, QueryResult, Statement, Values};

/// How many rows a statement of a group returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Exactly this many (an insert `RETURNING` its rows: as many as it inserts).
    Exactly(usize),
    /// Whatever the group returns after the statements before it: only for
    /// the last statement of a group.
    Rest,
}

/// Runs `statements` on `conn` as one hand-off where the backend allows it
/// (SQLite), one by one otherwise; gives each statement's rows.
pub async fn run<C: ConnectionTrait>(
    conn: &C,
    statements: Vec<(Statement, Rows)>,
) -> Result<Vec<Vec<QueryResult>>, DbErr> {
    if let Some(position) = statements.iter().position(|(_, rows)| *rows == Rows::Rest)
        && position + 1 != statements.len()
    {
        return Err(DbErr::Custom(
            "only the last statement of a group may return the rest".to_owned(),
        ));
    }
    if conn.get_database_backend() != DatabaseBackend::Sqlite || statements.len() < 2 {
        let mut returned = Vec::with_capacity(statements.len());
        for (statement, rows) in statements {
            let got = conn.query_all_raw(statement).await?;
            check(rows, got.len())?;
            returned.push(got);
        }
        return Ok(returned);
    }
    let counts: Vec<Rows> = statements.iter().map(|(_, rows)| *rows).collect();
    let joined = join(statements.into_iter().map(|(statement, _)| statement));
    let mut got = conn.query_all_raw(joined).await?.into_iter();
    let mut returned = Vec::with_capacity(counts.len());
    for rows in counts {
        let taken: Vec<QueryResult> = match rows {
            Rows::Exactly(n) => got.by_ref().take(n).collect(),
            Rows::Rest => got.by_ref().collect(),
        };
        check(rows, taken.len())?;
        returned.push(taken);
    }
    Ok(returned)
}

/// One SQLite string of `statements`, with their arguments in order (each
/// placeholder is an anonymous `?`, bound in turn across the statements).
fn join(statements: impl Iterator<Item = Statement>) -> Statement {
    let mut sql = String::new();
    let mut values = Vec::new();
    for statement in statements {
        if !sql.is_empty() {
            sql.push_str(";\n");
        }
        sql.push_str(&statement.sql);
        if let Some(Values(more)) = statement.values {
            values.extend(more);
        }
    }
    Statement::from_sql_and_values(DatabaseBackend::Sqlite, sql, values)
}

fn check(rows: Rows, got: usize) -> Result<(), DbErr> {
    match rows {
        Rows::Exactly(n) if n != got => Err(DbErr::Custom(format!(
            "a statement of a group returned {got} rows where {n} were expected"
        ))),
        _ => Ok(()),
    }
}
