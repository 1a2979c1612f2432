//! The confirmation email on both store pairs: one per order in the
//! mailbox folder, across a worker that dies between sending and marking,
//! with two workers at once, with failed attempts retried and logged, and
//! sent once through an SMTP server slower than the lease.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bistro_sql::entity::{OutboxStatus, email_outbox};
use bistro_tests::{TestApp, store_pairs};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::ordering::place_order;

async fn outbox(app: &TestApp) -> Vec<email_outbox::Model> {
    bistro_sql::outbox::all(&app.app.db).await.unwrap()
}

/// Makes every lease lapse, as time would after a worker died.
async fn lapse_leases(app: &TestApp) {
    email_outbox::Entity::update_many()
        .col_expr(
            email_outbox::Column::LeaseUntil,
            Expr::value(chrono::Utc::now() - chrono::Duration::hours(1)),
        )
        .filter(email_outbox::Column::LeaseUntil.is_not_null())
        .exec(&app.app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_worker_killed_between_sending_and_marking_never_sends_twice() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, customer) = app.new_customer("crash").await;
        place_order(&app, &customer, 1, "PICKUP").await;

        // The first worker claims and delivers, then dies before marking.
        let doomed = app.mail_worker("doomed");
        let claimed = doomed.claim().await.unwrap().expect("a due message");
        assert_eq!(
            doomed.deliver(&claimed).await.unwrap(),
            bistro_mail::Delivered::Sent
        );
        drop(doomed);
        assert_eq!(app.mailbox().len(), 1);
        // While its lease holds, nobody else takes the message.
        assert_eq!(app.mail_worker("early").run_once().await.unwrap(), 0);

        // The lease lapses; the restarted worker finds the message delivered.
        lapse_leases(&app).await;
        let restarted = app.mail_worker("restarted");
        assert_eq!(restarted.run_once().await.unwrap(), 1);
        let files = app.mailbox();
        assert_eq!(files.len(), 1, "[{}] {files:?}", pair.name());
        let rows = outbox(&app).await;
        assert_eq!(rows[0].status, OutboxStatus::Sent);
        assert_eq!(rows[0].attempts, 2);
        assert!(rows[0].sent_at.is_some());
        // The dead worker, back from a long pause, cannot overwrite that.
        let late = app.mail_worker("doomed");
        late.finish(
            &claimed,
            Err(bistro_mail::DeliveryError::Transport("late".into())),
        )
        .await
        .unwrap();
        assert_eq!(outbox(&app).await[0].status, OutboxStatus::Sent);
        app.stop().await;
    }
}

#[tokio::test]
async fn two_workers_at_once_send_each_message_once() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, customer) = app.new_customer("busy").await;
        for _ in 0..12 {
            place_order(&app, &customer, 1, "PICKUP").await;
        }
        let settings = bistro_mail::MailSettings {
            batch_size: 3,
            mailbox_dir: app.mailbox_dir().display().to_string(),
            ..app.app.config.mail.clone()
        };
        let worker = |name: &str| {
            bistro_mail::Worker::new(
                app.app.db.clone(),
                app.app.mail_delivery.clone(),
                settings.clone(),
                name,
            )
        };
        let (a, b) = (worker("a"), worker("b"));
        loop {
            let (x, y) = tokio::join!(a.run_once(), b.run_once());
            if x.unwrap() + y.unwrap() == 0 {
                break;
            }
        }
        let rows = outbox(&app).await;
        assert_eq!(rows.len(), 12);
        for row in &rows {
            assert_eq!(row.status, OutboxStatus::Sent, "[{}] {row:?}", pair.name());
            assert_eq!(row.attempts, 1, "[{}] delivered once: {row:?}", pair.name());
        }
        assert_eq!(app.mailbox().len(), 12);
        app.stop().await;
    }
}

/// The issue this guards against: a worker that claimed a batch under one
/// lease and sent it message by message to a slow SMTP server let the later
/// messages' lease lapse, and another replica sent them again; and a worker
/// that cut a slow delivery off after a deadline sent it again on its next
/// attempt, the server having accepted it. Time moves on the workers'
/// clock, not the wall's: the SMTP server holds the first message for 100
/// seconds of a 60-second lease, answering only when released; its worker
/// renews the lease meanwhile, and another replica looking then takes the
/// next message, not that one.
#[tokio::test]
async fn a_slow_smtp_server_never_receives_a_message_twice() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let name = pair.name();
        let (_, customer) = app.new_customer("slow").await;
        for _ in 0..3 {
            place_order(&app, &customer, 1, "PICKUP").await;
        }
        let rows = outbox(&app).await;
        let settings = app.app.config.mail.clone();
        assert_eq!(settings.lease_secs, 60);
        let message_ids: Vec<String> = rows
            .iter()
            .map(|row| {
                let message = bistro_mail::OutgoingMessage::from_row(row, &settings.from);
                format!("<{}>", message.message_id)
            })
            .collect();

        let smtp = bistro_tests::smtp::SmtpServer::start_held().await;
        let delivery = bistro_mail::Delivery::from_settings(
            std::path::Path::new("unused"),
            &smtp.url(),
            &settings.from,
        )
        .unwrap();
        let elapsed = Arc::new(AtomicI64::new(0));
        let clock: bistro_mail::Clock = {
            let elapsed = elapsed.clone();
            Arc::new(move || {
                chrono::Utc::now() + chrono::Duration::seconds(elapsed.load(Ordering::SeqCst))
            })
        };
        let worker = |name: &str| {
            bistro_mail::Worker::new(app.app.db.clone(), delivery.clone(), settings.clone(), name)
                .with_clock(clock.clone())
        };
        // Waits until the first message's lease reaches beyond `secs` from
        // now on the workers' clock: its worker renewed it.
        let renewed_past = |secs: i64| {
            let (db, clock, id) = (app.app.db.clone(), clock.clone(), rows[0].id);
            async move {
                for _ in 0..500 {
                    let row = bistro_sql::outbox::all(&db)
                        .await
                        .unwrap()
                        .into_iter()
                        .find(|r| r.id == id)
                        .unwrap();
                    if row
                        .lease_until
                        .is_some_and(|until| until > clock() + chrono::Duration::seconds(secs))
                    {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                panic!("the lease of the message in delivery was not renewed");
            }
        };

        // Replica A takes the first message; the server is slow to answer.
        let a = tokio::spawn({
            let a = worker("a");
            async move { a.run_once().await }
        });
        assert_eq!(smtp.next_arrival().await, message_ids[0], "[{name}]");
        // 50 s later (of a 60 s lease) A has renewed its lease …
        elapsed.fetch_add(50, Ordering::SeqCst);
        renewed_past(30).await;
        // … and 100 s after A began, when a lease that was not renewed would
        // have lapsed, replica B looks: it takes the second message, not
        // the first, which is still A's.
        elapsed.fetch_add(50, Ordering::SeqCst);
        renewed_past(30).await;
        let b = tokio::spawn({
            let b = worker("b");
            async move { b.run_once().await }
        });
        assert_eq!(smtp.next_arrival().await, message_ids[1], "[{name}]");
        // The server answers both; the third goes to whoever asks first.
        smtp.release(3);
        let handled = a.await.unwrap().unwrap() + b.await.unwrap().unwrap();
        assert_eq!(handled, 3, "[{name}]");

        let mut received = smtp.received();
        received.sort();
        let mut expected = message_ids.clone();
        expected.sort();
        assert_eq!(received, expected, "[{name}] each message once");
        for row in outbox(&app).await {
            assert_eq!(row.status, OutboxStatus::Sent, "[{name}] {row:?}");
            assert_eq!(
                row.attempts, 1,
                "[{name}] sent at its first attempt: {row:?}"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn failed_deliveries_are_retried_later_and_logged_once_per_attempt() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let (_, customer) = app.new_customer("unlucky").await;
        place_order(&app, &customer, 1, "PICKUP").await;
        // A mailbox "folder" that is a file: every delivery fails.
        let blocked = app.mailbox_dir().with_extension("blocked");
        std::fs::write(&blocked, "not a folder").unwrap();
        let settings = bistro_mail::MailSettings {
            max_attempts: 2,
            ..app.app.config.mail.clone()
        };
        let worker = bistro_mail::Worker::new(
            app.app.db.clone(),
            bistro_mail::Delivery::Mailbox(blocked.clone()),
            settings,
            "unlucky",
        );
        let logs = bistro_tests::logs::capture();
        assert_eq!(worker.run_once().await.unwrap(), 1);
        let row = &outbox(&app).await[0];
        assert_eq!(row.status, OutboxStatus::Pending);
        assert_eq!(row.attempts, 1);
        assert!(row.last_error.is_some());
        assert!(row.next_attempt_at > chrono::Utc::now() + chrono::Duration::seconds(5));
        // Not due yet: the next round leaves it.
        assert_eq!(worker.run_once().await.unwrap(), 0);
        email_outbox::Entity::update_many()
            .col_expr(
                email_outbox::Column::NextAttemptAt,
                Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
            )
            .exec(&app.app.db)
            .await
            .unwrap();
        assert_eq!(worker.run_once().await.unwrap(), 1);
        assert_eq!(outbox(&app).await[0].status, OutboxStatus::Failed);
        let text = logs.text();
        let failures: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("email delivery failed"))
            .collect();
        assert_eq!(failures.len(), 2, "[{}] {text}", pair.name());
        assert!(
            failures[0].contains("attempt=1") && failures[0].contains("WARN"),
            "{}",
            failures[0]
        );
        assert!(
            failures[1].contains("attempt=2") && failures[1].contains("ERROR"),
            "{}",
            failures[1]
        );
        drop(logs);
        std::fs::remove_file(&blocked).unwrap();
        app.stop().await;
    }
}

#[tokio::test]
async fn the_server_runs_the_worker_and_each_confirmation_arrives_once() {
    for pair in store_pairs() {
        let app = TestApp::spawn_with(&pair, |config| {
            config.mail.worker = true;
            config.mail.poll_interval_ms = 20;
        })
        .await;
        let (_, customer) = app.new_customer("served").await;
        place_order(&app, &customer, 1, "DINE_IN").await;
        place_order(&app, &customer, 2, "DELIVERY").await;
        // Waits (bounded) until the background worker has marked both
        // messages sent, then checks what it did.
        for _ in 0..1500 {
            if outbox(&app)
                .await
                .iter()
                .all(|r| r.status == OutboxStatus::Sent)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let files = app.mailbox();
        assert_eq!(files.len(), 2, "[{}] {files:?}", pair.name());
        let texts: Vec<String> = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        assert!(texts.iter().any(|t| t.contains("Dine-in, table 4")));
        assert!(
            texts
                .iter()
                .any(|t| t.contains("Delivery to 1 Main Street"))
        );
        let rows = outbox(&app).await;
        assert!(
            rows.iter()
                .all(|r| r.status == OutboxStatus::Sent && r.attempts == 1)
        );
        app.stop().await;
    }
}
