//! [`Observed`]: a provider whose calls are counted and timed (`bistro_metrics`)
//! and traced (a span per call).

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use tracing::Instrument as _;

use crate::{
    Authorization, AuthorizeRequest, Checkpoint, Operation, PaymentError, PaymentProvider,
    PaymentSnapshot, ProviderState, Result,
};

/// A provider whose every call is counted by operation and outcome and
/// timed (`bistro_payment_calls_total`, `bistro_payment_call_duration_seconds`).
/// Every method of [`PaymentProvider`] is forwarded, those with a default
/// too (a provider's own `resume_authorization` or `snapshot` must not be
/// replaced by the trait's default behind the wrapper). With metrics off,
/// a call costs one atomic load more.
pub struct Observed<P: ?Sized> {
    inner: Arc<P>,
}

impl<P: ?Sized> Observed<P> {
    /// Wraps `inner`.
    pub fn new(inner: Arc<P>) -> Self {
        Self { inner }
    }
}

impl<P: fmt::Debug + ?Sized> fmt::Debug for Observed<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Observed").field(&self.inner).finish()
    }
}

/// Whether traces are on and the current span is sampled.
fn in_sampled_trace() -> bool {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    tracing::enabled!(target: "bistro_payments::trace", tracing::Level::DEBUG)
        && tracing::Span::current()
            .context()
            .span()
            .span_context()
            .is_sampled()
}

fn outcome<T>(result: &Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(PaymentError::Declined { .. }) => "declined",
        Err(PaymentError::Failed { .. }) => "failed",
        Err(PaymentError::Unavailable { .. }) => "unavailable",
        Err(PaymentError::ActionRequired { .. }) => "action_required",
    }
}

impl<P: PaymentProvider + ?Sized + 'static> Observed<P> {
    fn observe<'a, T: Send + 'a>(
        &'a self,
        operation: &'static str,
        call: BoxFuture<'a, Result<T>>,
    ) -> BoxFuture<'a, Result<T>> {
        let provider = self.inner.name();
        // The call's span, in the trace of the sampled request that makes
        // it (a call of an unsampled request or of a background task makes
        // none: it would start a trace of its own).
        let call = if in_sampled_trace() {
            let span = tracing::debug_span!(
                "payment",
                otel.name = format!("{provider} {operation}"),
                otel.kind = "client",
                payment.provider = provider,
                payment.operation = operation,
            );
            call.instrument(span).boxed()
        } else {
            call
        };
        if !bistro_metrics::enabled() {
            return call;
        }
        async move {
            let started = Instant::now();
            let result = call.await;
            bistro_metrics::payment_call(provider, operation, outcome(&result), started.elapsed());
            result
        }
        .boxed()
    }
}

impl<P: PaymentProvider + ?Sized + 'static> PaymentProvider for Observed<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn authorize(&self, request: AuthorizeRequest) -> BoxFuture<'_, Result<Authorization>> {
        self.observe("authorize", self.inner.authorize(request))
    }

    fn find_authorization<'a>(
        &'a self,
        request: &'a AuthorizeRequest,
    ) -> BoxFuture<'a, Result<Option<Authorization>>> {
        self.observe("find_authorization", self.inner.find_authorization(request))
    }

    fn finds_authorizations_by_key(&self) -> bool {
        self.inner.finds_authorizations_by_key()
    }

    fn keeps_books_in_the_store(&self) -> bool {
        self.inner.keeps_books_in_the_store()
    }

    fn resume_authorization<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Authorization>> {
        self.observe(
            "resume_authorization",
            self.inner.resume_authorization(reference),
        )
    }

    fn operate<'a>(
        &'a self,
        operation: Operation,
        reference: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        self.observe(
            operation.name(),
            self.inner.operate(operation, reference, idempotency_key),
        )
    }

    fn state<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<ProviderState>> {
        self.observe("state", self.inner.state(reference))
    }

    fn snapshot<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<PaymentSnapshot>> {
        self.observe("snapshot", self.inner.snapshot(reference))
    }

    fn checkpoint<'a>(&'a self, token: &'a str, at: Checkpoint) -> BoxFuture<'a, ()> {
        self.inner.checkpoint(token, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryLedger, SimulatedProcessor};

    /// Simulated books that say they are in the server's database.
    #[derive(Debug, Default)]
    struct BooksInTheStore(MemoryLedger);

    impl crate::SimulatedLedger for BooksInTheStore {
        fn authorization<'a>(
            &'a self,
            key: &'a str,
        ) -> BoxFuture<'a, crate::ledger::LedgerResult<Option<crate::LedgerAuthorization>>>
        {
            self.0.authorization(key)
        }
        fn record_authorization(
            &self,
            entry: crate::LedgerAuthorization,
        ) -> BoxFuture<'_, crate::ledger::LedgerResult<(crate::LedgerAuthorization, bool)>>
        {
            self.0.record_authorization(entry)
        }
        fn apply(
            &self,
            operation: crate::LedgerOperation,
        ) -> BoxFuture<'_, crate::ledger::LedgerResult<crate::Applied>> {
            self.0.apply(operation)
        }
        fn state<'a>(
            &'a self,
            reference: &'a str,
        ) -> BoxFuture<'a, crate::ledger::LedgerResult<Option<ProviderState>>> {
            self.0.state(reference)
        }
        fn hold<'a>(
            &'a self,
            name: &'a str,
        ) -> BoxFuture<'a, crate::ledger::LedgerResult<crate::PauseState>> {
            self.0.hold(name)
        }
        fn release<'a>(&'a self, name: &'a str) -> BoxFuture<'a, crate::ledger::LedgerResult<()>> {
            self.0.release(name)
        }
        fn prune(
            &self,
            age: std::time::Duration,
        ) -> BoxFuture<'_, crate::ledger::LedgerResult<u64>> {
            self.0.prune(age)
        }
        fn in_the_store(&self) -> bool {
            true
        }
    }

    #[test]
    fn the_wrapper_answers_what_its_provider_answers_about_itself() {
        for in_the_store in [false, true] {
            let ledger: Arc<dyn crate::SimulatedLedger> = if in_the_store {
                Arc::new(BooksInTheStore::default())
            } else {
                Arc::new(MemoryLedger::default())
            };
            let inner = Arc::new(SimulatedProcessor::new(
                ledger,
                std::time::Duration::ZERO,
                false,
            ));
            let observed = Observed::new(inner.clone());
            assert_eq!(observed.name(), inner.name());
            assert_eq!(
                observed.finds_authorizations_by_key(),
                inner.finds_authorizations_by_key()
            );
            assert_eq!(observed.keeps_books_in_the_store(), in_the_store);
        }
    }
}
