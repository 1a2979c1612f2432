//! What the data layer tells `bistro_metrics`: labels (checkout outcomes,
//! as `checkout` names them; order statuses), never an id; and the spans of
//! its SQL statements.

use bistro_sql::entity::OrderStatus;

/// A checkout's outcome, as counted: `placed`, `refused` or `failed`, and
/// the user error code of a refusal.
pub(crate) fn checkout(outcome: &'static str, code: &'static str) {
    if !bistro_metrics::enabled() {
        return;
    }
    bistro_metrics::checkout(outcome, code);
}

/// An order's move from `from` (none for a new order) to `to`.
pub(crate) fn order_transition(from: Option<OrderStatus>, to: OrderStatus) {
    if !bistro_metrics::enabled() {
        return;
    }
    bistro_metrics::order_transition(from.map_or("NONE", status_name), status_name(to));
}

fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Placed => "PLACED",
        OrderStatus::Accepted => "ACCEPTED",
        OrderStatus::Preparing => "PREPARING",
        OrderStatus::Ready => "READY",
        OrderStatus::OutForDelivery => "OUT_FOR_DELIVERY",
        OrderStatus::Completed => "COMPLETED",
        OrderStatus::Rejected => "REJECTED",
        OrderStatus::Cancelled => "CANCELLED",
    }
}

/// A statement's span, when the request it runs for is sampled: named by
/// what it does and to which table (`SELECT menu_items`), never by its
/// values. sea-orm tells a statement once it ran (the hook that counts
/// them), so the span is made afterwards, with the start time it had, on
/// OpenTelemetry's own API (a `tracing` span cannot be given a start time).
pub(crate) fn sql_statement(info: &sea_orm::metric::Info<'_>) {
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    if !bistro_kv::in_sampled_trace() {
        return;
    }
    let parent = tracing::Span::current().context();
    let end = std::time::SystemTime::now();
    let (operation, table) = statement_summary(&info.statement.sql);
    let system = match info.statement.db_backend {
        sea_orm::DbBackend::Postgres => "postgresql",
        sea_orm::DbBackend::Sqlite => "sqlite",
        _ => "other_sql",
    };
    let mut attributes = vec![
        KeyValue::new("db.system.name", system),
        KeyValue::new("db.operation.name", operation.to_owned()),
    ];
    let name = match table {
        Some(table) => {
            attributes.push(KeyValue::new("db.collection.name", table.to_owned()));
            format!("{operation} {table}")
        }
        None => operation.to_owned(),
    };
    let tracer = opentelemetry::global::tracer("bistro");
    let mut span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_start_time(end.checked_sub(info.elapsed).unwrap_or(end))
        .with_attributes(attributes)
        .start_with_context(&tracer, &parent);
    if info.failed {
        span.set_status(Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
}

/// What a statement does (its first keyword) and the first table it names
/// (after `FROM`, `INTO` or `UPDATE`; a subquery's, when the outer
/// statement reads from one), quotes taken off.
pub(crate) fn statement_summary(sql: &str) -> (&str, Option<&str>) {
    let mut words = sql.split_ascii_whitespace().peekable();
    let operation = words.next().unwrap_or("SQL");
    if operation.eq_ignore_ascii_case("UPDATE") {
        return (operation, words.next().and_then(table_name));
    }
    let keyword = if operation.eq_ignore_ascii_case("INSERT") {
        "INTO"
    } else {
        "FROM"
    };
    while let Some(word) = words.next() {
        if word.eq_ignore_ascii_case(keyword)
            && let Some(table) = words.peek().copied().and_then(table_name)
        {
            return (operation, Some(table));
        }
    }
    (operation, None)
}

/// The table a word names (`"schema"."table"` or `"table"`, unquoted);
/// `None` for what is not a name (a subquery's parenthesis).
fn table_name(word: &str) -> Option<&str> {
    let word = word.split([',', ';', '(', ')']).next().unwrap_or(word);
    let word = word.rsplit('.').next().unwrap_or(word);
    let word = word.trim_matches(|c| c == '"' || c == '`');
    (!word.is_empty()).then_some(word)
}

#[cfg(test)]
mod tests {
    use super::statement_summary;

    #[test]
    fn a_statement_is_summarised_by_its_keyword_and_table_never_its_values() {
        let cases = [
            (
                r#"SELECT "menu_items"."id" FROM "menu_items" WHERE "id" IN ($1, $2)"#,
                ("SELECT", Some("menu_items")),
            ),
            (
                r#"INSERT INTO "orders" ("user_id") VALUES ($1) RETURNING "id""#,
                ("INSERT", Some("orders")),
            ),
            (
                r#"UPDATE "orders" SET "status" = $1 WHERE "id" = $2"#,
                ("UPDATE", Some("orders")),
            ),
            (
                r#"DELETE FROM "pending_steps" WHERE "id" = 'secret'"#,
                ("DELETE", Some("pending_steps")),
            ),
            (
                r#"SELECT * FROM (SELECT "id", ROW_NUMBER() OVER () FROM "menu_items") AS "ranked""#,
                ("SELECT", Some("menu_items")),
            ),
            ("BEGIN IMMEDIATE", ("BEGIN", None)),
        ];
        for (sql, expected) in cases {
            assert_eq!(statement_summary(sql), expected, "{sql}");
        }
    }
}
