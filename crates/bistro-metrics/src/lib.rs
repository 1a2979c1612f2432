#![doc = include_str!("../README.md")]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use metrics::{SharedString, counter, gauge, histogram};

/// The name of every metric, as `/metrics` shows it.
pub mod names {
    /// Counter: HTTP requests answered, by `route` (the router's template) and `status`.
    pub const HTTP_REQUESTS: &str = "bistro_http_requests_total";
    /// Counter: GraphQL operations, by `operation`, `type` and `outcome`.
    pub const GRAPHQL_OPERATIONS: &str = "bistro_graphql_operations_total";
    /// Histogram: seconds from taking a GraphQL request in to its answer, by `operation` and `type`.
    pub const GRAPHQL_DURATION: &str = "bistro_graphql_operation_duration_seconds";
    /// Counter: errors in GraphQL answers, by `code`.
    pub const GRAPHQL_ERRORS: &str = "bistro_graphql_errors_total";
    /// Counter: answers that have data but lost part of it to a store that did not answer.
    pub const GRAPHQL_DEGRADED: &str = "bistro_graphql_degraded_requests_total";
    /// Histogram: SQL statements per GraphQL request, by `operation` (the cost receipt).
    pub const COST_SQL: &str = "bistro_graphql_sql_statements";
    /// Histogram: key-value commands per GraphQL request, by `operation`.
    pub const COST_KV_COMMANDS: &str = "bistro_graphql_kv_commands";
    /// Histogram: key-value round trips per GraphQL request, by `operation`.
    pub const COST_KV_ROUND_TRIPS: &str = "bistro_graphql_kv_round_trips";
    /// Gauge: the SQL pool's connections, by `state` (`in_use`, `idle`).
    pub const SQL_POOL_CONNECTIONS: &str = "bistro_sql_pool_connections";
    /// Gauge: the SQL pool's size limit (`sql.max_connections`).
    pub const SQL_POOL_MAX: &str = "bistro_sql_pool_max_connections";
    /// Histogram: seconds a write waited for a connection and its `BEGIN`.
    pub const SQL_ACQUIRE: &str = "bistro_sql_acquire_seconds";
    /// Counter: store failures, by `store` (`sql`, `kv`) and `kind` (`unavailable`, `error`).
    pub const STORE_FAILURES: &str = "bistro_store_failures_total";
    /// Counter: checkouts, by `outcome` (`placed`, `refused`, `failed`) and `code`.
    pub const CHECKOUTS: &str = "bistro_checkouts_total";
    /// Counter: payment provider calls, by `provider`, `operation` and `outcome`.
    pub const PAYMENT_CALLS: &str = "bistro_payment_calls_total";
    /// Histogram: seconds a payment provider call took, by `provider` and `operation`.
    pub const PAYMENT_DURATION: &str = "bistro_payment_call_duration_seconds";
    /// Counter: order transitions, by `from` (`NONE` for a new order) and `to`.
    pub const ORDER_TRANSITIONS: &str = "bistro_order_transitions_total";
    /// Gauge: emails in the outbox not yet sent (nor given up on).
    pub const OUTBOX_BACKLOG: &str = "bistro_outbox_backlog";
    /// Gauge: seconds since the oldest unsent email was written (0 when none).
    pub const OUTBOX_OLDEST_AGE: &str = "bistro_outbox_oldest_age_seconds";
    /// Counter: email deliveries, by `outcome` (`sent`, `retry`, `failed`).
    pub const EMAILS: &str = "bistro_emails_total";
    /// Gauge: WebSockets open on this replica.
    pub const LIVE_SOCKETS: &str = "bistro_live_sockets";
    /// Gauge: subscriptions open on this replica, by `field`.
    pub const LIVE_SUBSCRIPTIONS: &str = "bistro_live_subscriptions";
    /// Counter: live events queued for subscribers (one per subscriber per event).
    pub const LIVE_EVENTS_DELIVERED: &str = "bistro_live_events_delivered_total";
    /// Counter: `MISSED_UPDATES` told to subscribers, by `reason` (`overflow`, `gap`).
    pub const LIVE_MISSED_UPDATES: &str = "bistro_live_missed_updates_total";
    /// Counter: requests refused by a rate limit, by `limit` (`requests`, `login`, `registration`).
    pub const RATE_LIMIT_REFUSALS: &str = "bistro_rate_limit_refusals_total";
    /// Counter: pending steps the recovery task settled.
    pub const RECOVERY_SETTLED: &str = "bistro_recovery_steps_settled_total";

    /// Every name above.
    pub const ALL: &[&str] = &[
        HTTP_REQUESTS,
        GRAPHQL_OPERATIONS,
        GRAPHQL_DURATION,
        GRAPHQL_ERRORS,
        GRAPHQL_DEGRADED,
        COST_SQL,
        COST_KV_COMMANDS,
        COST_KV_ROUND_TRIPS,
        SQL_POOL_CONNECTIONS,
        SQL_POOL_MAX,
        SQL_ACQUIRE,
        STORE_FAILURES,
        CHECKOUTS,
        PAYMENT_CALLS,
        PAYMENT_DURATION,
        ORDER_TRANSITIONS,
        OUTBOX_BACKLOG,
        OUTBOX_OLDEST_AGE,
        EMAILS,
        LIVE_SOCKETS,
        LIVE_SUBSCRIPTIONS,
        LIVE_EVENTS_DELIVERED,
        LIVE_MISSED_UPDATES,
        RATE_LIMIT_REFUSALS,
        RECOVERY_SETTLED,
    ];
}

/// Buckets of the histograms that measure seconds.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Buckets of the cost receipt's histograms (round trips per request).
pub const COUNT_BUCKETS: &[f64] = &[
    0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 50.0,
];

/// Every histogram, with its buckets (the exporter renders them as Prometheus histograms).
pub const HISTOGRAMS: &[(&str, &[f64])] = &[
    (names::GRAPHQL_DURATION, SECONDS_BUCKETS),
    (names::COST_SQL, COUNT_BUCKETS),
    (names::COST_KV_COMMANDS, COUNT_BUCKETS),
    (names::COST_KV_ROUND_TRIPS, COUNT_BUCKETS),
    (names::SQL_ACQUIRE, SECONDS_BUCKETS),
    (names::PAYMENT_DURATION, SECONDS_BUCKETS),
];

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether a recorder is installed. Off (the default), every function here
/// returns at once: callers may skip their own work (a clock read, a label)
/// by asking first.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Turns recording on; the server calls it once it installed its recorder.
pub fn enable() {
    describe();
    ENABLED.store(true, Ordering::Relaxed);
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        names::HTTP_REQUESTS,
        "HTTP requests answered, by route and status."
    );
    describe_counter!(
        names::GRAPHQL_OPERATIONS,
        "GraphQL operations, by operation name, type and outcome."
    );
    describe_histogram!(
        names::GRAPHQL_DURATION,
        Unit::Seconds,
        "Seconds from taking a GraphQL request in to its answer."
    );
    describe_counter!(names::GRAPHQL_ERRORS, "Errors in GraphQL answers, by code.");
    describe_counter!(
        names::GRAPHQL_DEGRADED,
        "GraphQL answers with data that lost part of it to a store that did not answer."
    );
    describe_histogram!(names::COST_SQL, "SQL statements per GraphQL request.");
    describe_histogram!(
        names::COST_KV_COMMANDS,
        "Key-value commands per GraphQL request."
    );
    describe_histogram!(
        names::COST_KV_ROUND_TRIPS,
        "Key-value round trips per GraphQL request."
    );
    describe_gauge!(
        names::SQL_POOL_CONNECTIONS,
        "SQL pool connections, by state."
    );
    describe_gauge!(names::SQL_POOL_MAX, "The SQL pool's size limit.");
    describe_histogram!(
        names::SQL_ACQUIRE,
        Unit::Seconds,
        "Seconds a write waited for a pool connection and its BEGIN."
    );
    describe_counter!(names::STORE_FAILURES, "Store failures, by store and kind.");
    describe_counter!(names::CHECKOUTS, "Checkouts, by outcome and code.");
    describe_counter!(
        names::PAYMENT_CALLS,
        "Payment provider calls, by provider, operation and outcome."
    );
    describe_histogram!(
        names::PAYMENT_DURATION,
        Unit::Seconds,
        "Seconds a payment provider call took."
    );
    describe_counter!(
        names::ORDER_TRANSITIONS,
        "Order transitions, by from and to."
    );
    describe_gauge!(names::OUTBOX_BACKLOG, "Emails in the outbox not yet sent.");
    describe_gauge!(
        names::OUTBOX_OLDEST_AGE,
        Unit::Seconds,
        "Seconds since the oldest unsent email was written."
    );
    describe_counter!(names::EMAILS, "Email deliveries, by outcome.");
    describe_gauge!(names::LIVE_SOCKETS, "WebSockets open on this replica.");
    describe_gauge!(names::LIVE_SUBSCRIPTIONS, "Subscriptions open, by field.");
    describe_counter!(
        names::LIVE_EVENTS_DELIVERED,
        "Live events queued for subscribers."
    );
    describe_counter!(
        names::LIVE_MISSED_UPDATES,
        "MISSED_UPDATES told to subscribers, by reason."
    );
    describe_counter!(
        names::RATE_LIMIT_REFUSALS,
        "Requests refused by a rate limit, by limit."
    );
    describe_counter!(
        names::RECOVERY_SETTLED,
        "Pending steps the recovery task settled."
    );
}

/// An HTTP request answered: `route` is the router's template (`/graphql`,
/// `/assets/{*path}`), never the path itself.
pub fn http_request(route: &str, status: u16) {
    if !enabled() {
        return;
    }
    counter!(
        names::HTTP_REQUESTS,
        "route" => route.to_owned(),
        "status" => status_label(status),
    )
    .increment(1);
}

fn status_label(status: u16) -> SharedString {
    match status {
        200 => SharedString::const_str("200"),
        304 => SharedString::const_str("304"),
        400 => SharedString::const_str("400"),
        401 => SharedString::const_str("401"),
        404 => SharedString::const_str("404"),
        429 => SharedString::const_str("429"),
        503 => SharedString::const_str("503"),
        other => SharedString::from_owned(other.to_string()),
    }
}

/// Longest operation name admitted as a label; longer ones are `other`.
const MAX_OPERATION_NAME: usize = 64;

/// How many operation names of documents no manifest lists are admitted as
/// labels, first seen first; every later one is `other`.
pub const OTHER_OPERATION_NAMES: usize = 50;

/// Most operation names of trusted documents admitted (a bound for a manifest
/// gone wrong; real ones list far fewer).
const KNOWN_OPERATION_NAMES: usize = 1_000;

/// The operation names admitted as label values: clients choose names, so
/// without a bound each new name would be a new time series. Those of
/// trusted documents are admitted (an operator's manifests list them), and
/// the first [`OTHER_OPERATION_NAMES`] others; anything else is `other`.
/// One set per process, as the recorder is.
#[derive(Default)]
pub struct OperationNames {
    known: RwLock<HashSet<Arc<str>>>,
    others: RwLock<HashSet<Arc<str>>>,
}

impl OperationNames {
    /// The label for operation `name`; `known` when a manifest lists its document.
    pub fn label(&self, name: Option<&str>, known: bool) -> SharedString {
        let Some(name) = name else {
            return SharedString::const_str("anonymous");
        };
        if name.len() > MAX_OPERATION_NAME
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return SharedString::const_str("other");
        }
        let (set, cap) = if known {
            (&self.known, KNOWN_OPERATION_NAMES)
        } else {
            (&self.others, OTHER_OPERATION_NAMES)
        };
        // A known name first seen as another's keeps that label.
        for set in [&self.known, &self.others] {
            if let Some(found) = read(set).get(name) {
                return SharedString::from(found.clone());
            }
        }
        let mut admitted = set
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(found) = admitted.get(name) {
            return SharedString::from(found.clone());
        }
        if admitted.len() >= cap {
            return SharedString::const_str("other");
        }
        let name: Arc<str> = Arc::from(name);
        admitted.insert(name.clone());
        SharedString::from(name)
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The process's admitted operation names.
pub fn operation_names() -> &'static OperationNames {
    static NAMES: std::sync::OnceLock<OperationNames> = std::sync::OnceLock::new();
    NAMES.get_or_init(OperationNames::default)
}

/// How a GraphQL request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Data and no error.
    Ok,
    /// Data, and errors beside it (a field failed or was refused).
    Partial,
    /// No data: the request was refused or failed as a whole.
    Failed,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Partial => "partial",
            Self::Failed => "failed",
        }
    }
}

/// One GraphQL request's receipt: what it was, how it ended, how long it
/// took and what it cost in round trips.
pub struct Receipt<'a> {
    /// Its operation name (admitted by [`operation_names`]) or `None`.
    pub operation: Option<&'a str>,
    /// Whether a manifest lists its document.
    pub known: bool,
    /// `query`, `mutation`, `subscription`, or `unknown` (the document was refused before it was known).
    pub ty: &'static str,
    /// How it ended.
    pub outcome: Outcome,
    /// From taking it in to its answer.
    pub elapsed: Duration,
    /// SQL statements.
    pub sql: u64,
    /// Key-value round trips.
    pub kv_round_trips: u64,
    /// Key-value commands.
    pub kv_commands: u64,
}

/// A GraphQL request answered.
pub fn graphql_request(receipt: &Receipt<'_>) {
    if !enabled() {
        return;
    }
    let operation = operation_names().label(receipt.operation, receipt.known);
    counter!(
        names::GRAPHQL_OPERATIONS,
        "operation" => operation.clone(),
        "type" => receipt.ty,
        "outcome" => receipt.outcome.label(),
    )
    .increment(1);
    histogram!(
        names::GRAPHQL_DURATION,
        "operation" => operation.clone(),
        "type" => receipt.ty,
    )
    .record(receipt.elapsed.as_secs_f64());
    histogram!(names::COST_SQL, "operation" => operation.clone()).record(receipt.sql as f64);
    histogram!(names::COST_KV_ROUND_TRIPS, "operation" => operation.clone())
        .record(receipt.kv_round_trips as f64);
    histogram!(names::COST_KV_COMMANDS, "operation" => operation)
        .record(receipt.kv_commands as f64);
}

/// An error in a GraphQL answer, by its `extensions.code`.
pub fn graphql_error(code: &'static str) {
    if !enabled() {
        return;
    }
    counter!(names::GRAPHQL_ERRORS, "code" => code).increment(1);
}

/// An answer with data that lost part of it to a store that did not answer.
pub fn degraded_request() {
    if !enabled() {
        return;
    }
    counter!(names::GRAPHQL_DEGRADED).increment(1);
}

/// A store failed: `store` is `sql` or `kv`.
pub fn store_failure(store: &'static str, unavailable: bool) {
    if !enabled() {
        return;
    }
    let kind = if unavailable { "unavailable" } else { "error" };
    counter!(names::STORE_FAILURES, "store" => store, "kind" => kind).increment(1);
}

/// The SQL pool as it is now.
pub fn sql_pool(in_use: u64, idle: u64, max: u64) {
    if !enabled() {
        return;
    }
    gauge!(names::SQL_POOL_CONNECTIONS, "state" => "in_use").set(in_use as f64);
    gauge!(names::SQL_POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
    gauge!(names::SQL_POOL_MAX).set(max as f64);
}

/// A write waited this long for its connection and `BEGIN`.
pub fn sql_acquire(elapsed: Duration) {
    if !enabled() {
        return;
    }
    histogram!(names::SQL_ACQUIRE).record(elapsed.as_secs_f64());
}

/// A checkout ended: `outcome` is `placed`, `refused` (the customer's
/// problem, with its code) or `failed` (a store failed; code `STORE`).
pub fn checkout(outcome: &'static str, code: &'static str) {
    if !enabled() {
        return;
    }
    counter!(names::CHECKOUTS, "outcome" => outcome, "code" => code).increment(1);
}

/// A payment provider call ended: `outcome` is `ok`, `declined`, `failed`,
/// `unavailable` or `action_required`.
pub fn payment_call(
    provider: &'static str,
    operation: &'static str,
    outcome: &'static str,
    elapsed: Duration,
) {
    if !enabled() {
        return;
    }
    counter!(
        names::PAYMENT_CALLS,
        "provider" => provider,
        "operation" => operation,
        "outcome" => outcome,
    )
    .increment(1);
    histogram!(names::PAYMENT_DURATION, "provider" => provider, "operation" => operation)
        .record(elapsed.as_secs_f64());
}

/// An order moved (`from` is `NONE` for a new order).
pub fn order_transition(from: &'static str, to: &'static str) {
    if !enabled() {
        return;
    }
    counter!(names::ORDER_TRANSITIONS, "from" => from, "to" => to).increment(1);
}

/// The outbox as it is now.
pub fn outbox(backlog: u64, oldest_age: Duration) {
    if !enabled() {
        return;
    }
    gauge!(names::OUTBOX_BACKLOG).set(backlog as f64);
    gauge!(names::OUTBOX_OLDEST_AGE).set(oldest_age.as_secs_f64());
}

/// An email delivery ended: `sent`, `retry` (it is tried again later) or `failed` (given up).
pub fn email(outcome: &'static str) {
    if !enabled() {
        return;
    }
    counter!(names::EMAILS, "outcome" => outcome).increment(1);
}

/// The replica's live connections as they are now; the counters are the
/// replica's totals since it started.
pub struct LiveNumbers {
    /// WebSockets open.
    pub sockets: u64,
    /// Events queued for subscribers.
    pub delivered: u64,
    /// Events dropped from a full queue.
    pub overflowed: u64,
    /// Gaps of the event bus told to subscribers.
    pub gaps: u64,
}

/// The replica's live numbers (read when scraped).
pub fn live(numbers: &LiveNumbers) {
    if !enabled() {
        return;
    }
    gauge!(names::LIVE_SOCKETS).set(numbers.sockets as f64);
    counter!(names::LIVE_EVENTS_DELIVERED).absolute(numbers.delivered);
    counter!(names::LIVE_MISSED_UPDATES, "reason" => "overflow").absolute(numbers.overflowed);
    counter!(names::LIVE_MISSED_UPDATES, "reason" => "gap").absolute(numbers.gaps);
}

/// A subscription to root field `field` (one of the schema's, so bounded)
/// started (`+1`) or ended (`-1`).
pub fn subscription(field: &'static str, delta: f64) {
    if !enabled() {
        return;
    }
    gauge!(names::LIVE_SUBSCRIPTIONS, "field" => field).increment(delta);
}

/// A rate limit refused: `requests`, `login` or `registration`.
pub fn rate_limit_refusal(limit: &'static str) {
    if !enabled() {
        return;
    }
    counter!(names::RATE_LIMIT_REFUSALS, "limit" => limit).increment(1);
}

/// The recovery task settled a pending step.
pub fn recovery_settled() {
    if !enabled() {
        return;
    }
    counter!(names::RECOVERY_SETTLED).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded() {
        let names = OperationNames::default();
        for i in 0..1000 {
            names.label(Some(&format!("Op{i}")), false);
        }
        assert_eq!(names.label(Some("Op0"), false).as_ref(), "Op0");
        assert_eq!(names.label(Some("Op999"), false).as_ref(), "other");
        // A trusted document's name is admitted even when the others are spent.
        assert_eq!(names.label(Some("MenuPage"), true).as_ref(), "MenuPage");
        assert_eq!(names.label(Some("MenuPage"), false).as_ref(), "MenuPage");
        assert_eq!(names.label(None, false).as_ref(), "anonymous");
        assert_eq!(names.label(Some("a-b@c.d"), true).as_ref(), "other");
    }
}
