//! The outbox worker: claim due rows, deliver, mark.

use std::time::Duration;

use bistro_sql::entity::email_outbox;
use bistro_sql::outbox;
use chrono::Utc;
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
    /// Most messages claimed at once.
    pub batch_size: u64,
    /// How long a claimed message is the claiming worker's alone, seconds;
    /// after that another worker may take it over.
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

/// One outbox worker. Several may run at once, in one process or many.
#[derive(Debug, Clone)]
pub struct Worker {
    db: DatabaseConnection,
    delivery: Delivery,
    settings: MailSettings,
    owner: String,
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
        }
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
            let busy = match self.run_once().await {
                Ok(handled) => handled == self.settings.batch_size as usize,
                Err(error) => {
                    tracing::warn!(%error, "email outbox unreachable; trying again");
                    false
                }
            };
            // A full batch suggests more is due: go on at once.
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

    /// Claims the due messages and handles each; returns how many it handled.
    pub async fn run_once(&self) -> bistro_sql::Result<usize> {
        let claimed = self.claim().await?;
        for row in &claimed {
            let delivered = self.deliver(row).await;
            self.finish(row, delivered).await?;
        }
        Ok(claimed.len())
    }

    /// Claims due messages under this worker's lease.
    pub async fn claim(&self) -> bistro_sql::Result<Vec<email_outbox::Model>> {
        outbox::claim_due(
            &self.db,
            &self.owner,
            Utc::now(),
            Duration::from_secs(self.settings.lease_secs),
            self.settings.batch_size,
        )
        .await
    }

    /// Delivers one claimed message (without marking it).
    pub async fn deliver(&self, row: &email_outbox::Model) -> Result<Delivered, DeliveryError> {
        let message = OutgoingMessage::from_row(row, &self.settings.from);
        self.delivery.deliver(&message).await
    }

    /// Records how a claimed message's delivery went: sent, due again after
    /// the backoff, or failed for good.
    pub async fn finish(
        &self,
        row: &email_outbox::Model,
        delivered: Result<Delivered, DeliveryError>,
    ) -> bistro_sql::Result<()> {
        let now = Utc::now();
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
}
