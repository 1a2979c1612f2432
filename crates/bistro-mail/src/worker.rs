//! The outbox worker: claim a due row, deliver it, mark it; again.
//!
//! **One message per lease, renewed while it is sent.** A worker claims one
//! message at a time, under a lease of `lease_secs`, and while its delivery
//! runs it extends the lease whenever a third of it has passed. So the lease
//! of a message being delivered never lapses, and no other worker (another
//! replica) takes it over and sends it a second time, however slow the SMTP
//! server; and a slow delivery is never cut off half way (which would send
//! it again on the next attempt, the server having perhaps accepted it).
//! Claiming a batch under one lease would let the last messages of a slow
//! batch lapse while they still wait their turn. A worker that dies stops
//! renewing: its lease lapses and another worker takes the message over.
//!
//! Other workers meanwhile claim the next messages, so a slow server delays
//! one message per worker, not a queue.

use std::sync::Arc;
use std::time::Duration;

use bistro_sql::entity::email_outbox;
use bistro_sql::outbox;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::Deserialize;

use crate::delivery::{Delivered, Delivery, DeliveryError, OutgoingMessage};

/// Email settings (configuration section `[mail]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// Whether this process runs the outbox worker.
    pub worker: bool,
    /// The folder messages are written to when no SMTP server is configured.
    pub mailbox_dir: String,
    /// SMTP server URL; empty delivers to the mailbox folder.
    pub smtp_url: String,
    /// The sender, e.g. `Bistro <orders@bistro.test>`; its domain ends every `Message-ID`.
    pub from: String,
    /// How often the worker looks for due messages, milliseconds.
    pub poll_interval_ms: u64,
    /// Most messages one round handles (each claimed on its own) before the
    /// worker looks again without pausing.
    pub batch_size: u64,
    /// How long a claimed message is the claiming worker's alone, seconds;
    /// after that another worker may take it over. A delivery gets three
    /// quarters of it.
    pub lease_secs: u64,
    /// Attempts before a message is given up (`FAILED`).
    pub max_attempts: i32,
    /// Wait before the second attempt, seconds; doubled after each failure.
    pub retry_base_secs: u64,
    /// Longest wait between attempts, seconds.
    pub retry_max_secs: u64,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            worker: true,
            mailbox_dir: "data/mailbox".into(),
            smtp_url: String::new(),
            from: "Bistro <orders@bistro.test>".into(),
            poll_interval_ms: 1_000,
            batch_size: 20,
            lease_secs: 60,
            max_attempts: 8,
            retry_base_secs: 10,
            retry_max_secs: 3_600,
        }
    }
}

impl MailSettings {
    /// The lease a claimed message is held under.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    /// How much of a lease may pass before a delivery still running renews it.
    pub fn renew_after(&self) -> Duration {
        self.lease() / 3
    }

    /// Wait after the `attempt`-th failed attempt: base × 2^(attempt-1), capped.
    pub fn backoff(&self, attempt: i32) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        Duration::from_secs(
            self.retry_base_secs
                .saturating_mul(1u64 << exponent)
                .min(self.retry_max_secs),
        )
    }
}

/// How often a delivery in progress looks whether its lease is due for renewal.
const RENEWAL_CHECK: Duration = Duration::from_millis(100);

/// The time as a worker sees it: the wall clock, or one a test moves.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// One outbox worker. Several may run at once, in one process or many.
#[derive(Clone)]
pub struct Worker {
    db: DatabaseConnection,
    delivery: Delivery,
    settings: MailSettings,
    owner: String,
    clock: Clock,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("delivery", &self.delivery)
            .field("settings", &self.settings)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker named `owner` (unique among the running workers: it marks the leases it holds).
    pub fn new(
        db: DatabaseConnection,
        delivery: Delivery,
        settings: MailSettings,
        owner: impl Into<String>,
    ) -> Self {
        Self {
            db,
            delivery,
            settings,
            owner: owner.into(),
            clock: Arc::new(Utc::now),
        }
    }

    /// The same worker reading the time from `clock` (tests move time
    /// forward past leases without waiting for it).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Runs until `shutdown` resolves: a round, then a pause, again.
    /// A round that fails (the database is down) is logged and retried after the pause.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tracing::info!(
            worker = %self.owner,
            delivery = self.delivery.kind(),
            "email outbox worker started"
        );
        let mut shutdown = std::pin::pin!(shutdown);
        let pause = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        loop {
            // One message at a time, so a shutdown stops the worker after
            // the message in hand (finished and marked: no lease is left
            // behind), however long the backlog.
            let busy = match self.run_one().await {
                Ok(handled) => handled,
                Err(error) => {
                    tracing::warn!(%error, "email outbox unreachable; trying again");
                    false
                }
            };
            let stopping = tokio::select! {
                biased;
                () = &mut shutdown => true,
                () = std::future::ready(()) => false,
            };
            if stopping {
                break;
            }
            // One was due: more may be, go on at once.
            if busy {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!(worker = %self.owner, "email outbox worker stopped");
    }

    /// Handles due messages one by one, each claimed under its own lease,
    /// until none is due or `batch_size` were handled; returns how many.
    pub async fn run_once(&self) -> bistro_sql::Result<usize> {
        let mut handled = 0;
        while handled < self.settings.batch_size as usize {
            let Some(row) = self.claim().await? else {
                break;
            };
            self.handle(&row).await?;
            handled += 1;
        }
        Ok(handled)
    }

    /// Handles the next due message, if any; `true` when there was one.
    async fn run_one(&self) -> bistro_sql::Result<bool> {
        let Some(row) = self.claim().await? else {
            return Ok(false);
        };
        self.handle(&row).await?;
        Ok(true)
    }

    /// Delivers a claimed message and records how it went, in the span of
    /// its own trace (traces on): the SMTP exchange is its child. The span
    /// names the message by its outbox id and attempt, never its address.
    async fn handle(&self, row: &email_outbox::Model) -> bistro_sql::Result<()> {
        let span = tracing::info_span!(
            target: "bistro::outbox",
            parent: None,
            "outbox message",
            otel.name = "outbox deliver",
            otel.kind = "consumer",
            outbox.id = row.id,
            outbox.attempt = row.attempts,
        );
        tracing::Instrument::instrument(
            async {
                let delivered = self.deliver(row).await;
                self.finish(row, delivered).await
            },
            span,
        )
        .await
    }

    /// Claims the next due message under this worker's lease.
    pub async fn claim(&self) -> bistro_sql::Result<Option<email_outbox::Model>> {
        let mut rows = outbox::claim_due(
            &self.db,
            &self.owner,
            (self.clock)(),
            self.settings.lease(),
            1,
        )
        .await?;
        Ok(rows.pop())
    }

    /// Delivers one claimed message (without marking it), renewing its
    /// lease while the delivery runs (see the module docs).
    pub async fn deliver(&self, row: &email_outbox::Model) -> Result<Delivered, DeliveryError> {
        let message = OutgoingMessage::from_row(row, &self.settings.from);
        let delivery = self.delivery.deliver(&message);
        let mut delivery = std::pin::pin!(delivery);
        let lease =
            chrono::Duration::from_std(self.settings.lease()).unwrap_or(chrono::Duration::MAX);
        let renew_after = chrono::Duration::from_std(self.settings.renew_after())
            .unwrap_or(chrono::Duration::MAX);
        let mut renewed_at = (self.clock)();
        loop {
            tokio::select! {
                delivered = &mut delivery => return delivered,
                // Looks often, renews rarely: a third of the lease apart, on
                // the worker's clock (the one that dates the lease).
                () = tokio::time::sleep(RENEWAL_CHECK) => {}
            }
            let now = (self.clock)();
            if now - renewed_at < renew_after {
                continue;
            }
            match outbox::renew_lease(&self.db, row.id, &self.owner, now + lease).await {
                Ok(true) => renewed_at = now,
                Ok(false) => {
                    tracing::warn!(outbox.id = row.id, worker = %self.owner, "the lease of a message being delivered was taken over; another worker may send it too");
                    renewed_at = now;
                }
                Err(error) => {
                    // Tried again at the next check; the lease still has two thirds left.
                    tracing::warn!(%error, outbox.id = row.id, "renewing the lease of a message being delivered failed");
                }
            }
        }
    }

    /// Records how a claimed message's delivery went: sent, due again after
    /// the backoff, or failed for good.
    pub async fn finish(
        &self,
        row: &email_outbox::Model,
        delivered: Result<Delivered, DeliveryError>,
    ) -> bistro_sql::Result<()> {
        let now = (self.clock)();
        let kept = match delivered {
            Ok(how) => {
                tracing::info!(
                    outbox.id = row.id,
                    order.id = row.order_id,
                    kind = %row.kind,
                    attempt = row.attempts,
                    already_there = how == Delivered::AlreadyThere,
                    "email delivered"
                );
                bistro_metrics::email("sent");
                outbox::mark_sent(&self.db, row.id, &self.owner, now).await?
            }
            Err(error) if error.is_permanent() || row.attempts >= self.settings.max_attempts => {
                tracing::error!(
                    outbox.id = row.id,
                    kind = %row.kind,
                    attempt = row.attempts,
                    %error,
                    "email delivery failed for good"
                );
                bistro_metrics::email("failed");
                outbox::mark_failed(&self.db, row.id, &self.owner, now, &error.to_string()).await?
            }
            Err(error) => {
                let wait = self.settings.backoff(row.attempts);
                tracing::warn!(
                    outbox.id = row.id,
                    kind = %row.kind,
                    attempt = row.attempts,
                    retry_in_secs = wait.as_secs(),
                    %error,
                    "email delivery failed"
                );
                bistro_metrics::email("retry");
                let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                outbox::retry_later(&self.db, row.id, &self.owner, next, &error.to_string()).await?
            }
        };
        if !kept {
            // Our lease lapsed and another worker took the row over; it decides.
            tracing::warn!(outbox.id = row.id, worker = %self.owner, "lease lapsed before the outcome was recorded");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let settings = MailSettings {
            retry_base_secs: 10,
            retry_max_secs: 60,
            ..MailSettings::default()
        };
        let waits: Vec<u64> = (1..=5).map(|a| settings.backoff(a).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 60, 60]);
        assert_eq!(settings.backoff(1000).as_secs(), 60);
    }

    #[test]
    fn a_delivery_renews_its_lease_when_a_third_has_passed() {
        let settings = MailSettings {
            lease_secs: 60,
            ..MailSettings::default()
        };
        assert_eq!(settings.renew_after(), Duration::from_secs(20));
    }
}
