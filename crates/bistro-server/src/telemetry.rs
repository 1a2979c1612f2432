//! Structured logs with `tracing`: pretty for people, JSON for pipelines,
//! level from `RUST_LOG` (default `info`; the SQL driver's own statement
//! logs are kept at `warn` so they do not drown the service's lines); and,
//! with `telemetry.otlp_endpoint` set, OpenTelemetry traces exported over
//! OTLP/HTTP.
//!
//! The spans are made where the work is, not by an async-graphql extension
//! (ARCHITECTURE.md, *Observability*, says why): one per GraphQL request
//! here ([`request_span`], which continues a W3C `traceparent` and puts the
//! trace id in the request's log lines; `graphql_ws` makes one per operation
//! too), one per email the outbox worker delivers (`bistro_mail::Worker`)
//! and per pending step recovery settles (`bistro_data::recovery`), and
//! below them one per loader batch
//! (`bistro_data::batch`), SQL statement (`bistro_data`'s statement hook),
//! key-value command batch (`bistro_kv`), payment provider call
//! (`bistro_payments::Observed`) and SMTP delivery (`bistro_mail`). The
//! spans of the crates below are at `debug` and reach only the exporter's
//! layer (the log filter, `RUST_LOG`, does not see them unless asked); they
//! are made only in a sampled trace, and an unsampled request runs in no
//! span at all.

use async_graphql::parser::types::OperationType;
use axum::http::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::{Status, TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Subscriber;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::{Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, filter};

use crate::config::{LogFormat, TelemetrySettings};

/// The name the tracer reports as its instrumentation scope.
const SCOPE: &str = "bistro";

/// Installs the global subscriber: the log lines, and the exporter's layer
/// when `tracer` is given (see [`tracer_provider`]). Call once, first thing
/// in `main`.
pub fn init(format: LogFormat, tracer: Option<&SdkTracerProvider>) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_http=info"));
    // The filter is the log lines' own: the exporter's layer chooses its
    // spans itself (`otel_layer`), whatever `RUST_LOG` says.
    let logs = log_layer(format, std::io::stderr).with_filter(filter);
    if let Some(provider) = tracer {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    let result = tracing_subscriber::registry()
        .with(logs)
        .with(tracer.map(otel_layer))
        .try_init();
    // A second init (tests) keeps the first subscriber; nothing to do.
    drop(result);
}

/// The log lines, written to `writer`: a line per event, with the fields of
/// the spans it happened in (a request's `request_id` and, traces on, its
/// `trace_id`).
pub fn log_layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    let logs = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Pretty => logs.boxed(),
        LogFormat::Json => logs.json().flatten_event(true).boxed(),
    }
}

/// The tracer provider `settings` ask for: spans batched on a thread of
/// their own and posted as OTLP protobuf over HTTP, sampled by trace id at
/// `sample_ratio` unless a caller's `traceparent` decided. `None` when
/// traces are off.
///
/// Of the OTEL_* variables, the exporter still reads its headers, timeout
/// and the batch processor's `OTEL_BSP_*`, and the resource
/// `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`; the endpoint and the
/// sampler given here win over theirs.
pub fn tracer_provider(settings: &TelemetrySettings) -> anyhow::Result<Option<SdkTracerProvider>> {
    if !settings.enabled() {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(settings.traces_url())
        .build()?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(SCOPE);
    }
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sample_ratio)));
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler)
            .with_resource(resource.build())
            .build(),
    ))
}

/// The layer that hands spans to `provider`'s tracer: Bistro's own spans
/// (targets `bistro…`, every level) and warnings and errors as events of
/// the span they happen in. Tests put it in a subscriber of their own.
pub fn otel_layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(SCOPE))
        // Source locations and thread names: an allocation or two per span
        // that an operator reading a trace does not need.
        .with_location(false)
        .with_threads(false)
        // The span's target and its busy and idle times: the name and the
        // span's own start and end say what a reader needs.
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_filter(filter::filter_fn(|meta| {
            if meta.is_event() {
                *meta.level() <= tracing::Level::WARN
            } else {
                // Spans, and the `enabled!` checks of spans made on
                // OpenTelemetry's API (SQL statements); not the HTTP
                // layer's log span (`request_id::span`, every route's):
                // a GraphQL request's span is the trace's server span.
                meta.target().starts_with(SCOPE) && meta.target() != "bistro_server::request_id"
            }
        }))
}

/// `traceparent` and `tracestate`, read from a request's headers.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// The span of one GraphQL request, continuing the trace of the request's
/// W3C `traceparent` when it has one (so a trace starts at the router or
/// the browser), with the trace id as a field, which the JSON log lines of
/// the request carry (`span.trace_id`). None when traces are off (`traced`
/// is `telemetry.otlp_endpoint` set) or the sampler does not keep the
/// request's trace.
pub fn request_span(traced: bool, headers: &HeaderMap) -> tracing::Span {
    if !traced {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        target: "bistro::request",
        "graphql",
        otel.kind = "server",
        graphql.operation.name = Empty,
        graphql.operation.type = Empty,
        trace_id = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    // From an empty context, not the thread's current one: a request
    // without a `traceparent` starts a trace of its own.
    let parent = TraceContextPropagator::new()
        .extract_with_context(&opentelemetry::Context::new(), &Headers(headers));
    // Fails only without the exporter's layer (a subscriber of a test's own).
    drop(span.set_parent(parent));
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if !span_context.is_sampled() {
        // An unsampled request runs in no span: a span is entered and left
        // at every poll of the request's futures, hundreds per page, which
        // cost a tenth of a page's instructions (BENCHMARKS.md).
        return tracing::Span::none();
    }
    span.record("trace_id", tracing::field::display(span_context.trace_id()));
    span
}

/// Names the current request's span (see [`request_span`]) after its
/// operation, as OpenTelemetry's GraphQL conventions do (`query
/// RestaurantPage`; the type alone for an anonymous operation).
pub fn name_request(traced: bool, ty: Option<OperationType>, name: Option<&str>) {
    if !traced {
        return;
    }
    let ty = ty.map(|ty| match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    });
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    if let Some(ty) = ty {
        span.record("graphql.operation.type", ty);
    }
    if let Some(name) = name {
        span.record("graphql.operation.name", name);
    }
    if let Some(title) = title(ty, name) {
        span.context().span().update_name(title);
    }
}

/// A request span's name: `query RestaurantPage`, the type alone for an
/// anonymous operation.
fn title(ty: Option<&str>, name: Option<&str>) -> Option<String> {
    match (ty, name) {
        (Some(ty), Some(name)) => Some(format!("{ty} {name}")),
        (Some(ty), None) => Some(ty.to_owned()),
        (None, Some(name)) => Some(name.to_owned()),
        (None, None) => None,
    }
}

/// The spans of each event a subscription delivers (traces on): a maker
/// for `bistro_schema::live::traced`. Each event is a trace of its own (a
/// write elsewhere caused it, not the subscriber), named after the
/// subscription (`subscription OrderUpdates event`) and linked to the span
/// of the subscription's start, the current span when this is called. An
/// event the sampler does not keep runs in no span.
pub fn event_spans(name: Option<&str>) -> impl Fn() -> tracing::Span + Send + 'static {
    let otel_name = format!(
        "{} event",
        title(Some("subscription"), name).unwrap_or_default()
    );
    let name = name.unwrap_or_default().to_owned();
    let start = tracing::Span::current()
        .context()
        .span()
        .span_context()
        .clone();
    move || {
        let span = tracing::info_span!(
            target: "bistro::request",
            parent: None,
            "graphql event",
            otel.name = %otel_name,
            otel.kind = "server",
            graphql.operation.type = "subscription",
            graphql.operation.name = %name,
        );
        if span.is_disabled() {
            return span;
        }
        if start.is_valid() {
            span.add_link(start.clone());
        }
        if !span.context().span().span_context().is_sampled() {
            return tracing::Span::none();
        }
        span
    }
}

/// Marks the current request's span failed: an answer without data.
pub fn request_failed(traced: bool, code: &str) {
    if traced {
        tracing::Span::current().set_status(Status::error(code.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_requests_json_log_lines_carry_the_trace_id_it_continues() {
        let lines = Lines::default();
        let writer = lines.clone();
        // No exporter: spans are sampled and dropped.
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(log_layer(LogFormat::Json, move || writer.clone()))
            .with(otel_layer(&provider));
        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            format!("00-{trace_id}-00f067aa0ba902b7-01")
                .parse()
                .unwrap(),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = request_span(true, &headers);
            let _entered = span.enter();
            tracing::info!("a line inside the request");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(line["message"], "a line inside the request");
        assert_eq!(line["span"]["trace_id"], trace_id, "{line}");
        assert_eq!(line["span"]["name"], "graphql");
    }

    #[test]
    fn a_request_whose_caller_does_not_sample_runs_in_no_span() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry().with(otel_layer(&provider));
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
                .parse()
                .unwrap(),
        );
        tracing::subscriber::with_default(subscriber, || {
            assert!(request_span(true, &headers).is_none());
        });
    }

    #[test]
    fn with_traces_off_a_request_makes_no_span() {
        assert!(request_span(false, &HeaderMap::new()).is_none());
    }
}
