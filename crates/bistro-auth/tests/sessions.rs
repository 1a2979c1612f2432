//! Refresh-token rotation on both key-value backends: the in-process store
//! always, Redis too when `BISTRO_TEST_REDIS_URL` is set (an unreachable
//! Redis then fails the test).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bistro_auth::{RotationError, Sessions, TokenKeys};
use bistro_kv::{Kv, KvConfig};

async fn stores() -> Vec<Kv> {
    let prefix = format!("bistro-auth-test:{}:", uuid::Uuid::new_v4().simple());
    let mut out = vec![Kv::memory().with_prefix(&prefix)];
    if let Ok(url) = std::env::var("BISTRO_TEST_REDIS_URL") {
        let kv = Kv::connect_redis(&url, &KvConfig::default()).await.unwrap();
        kv.ping()
            .await
            .unwrap_or_else(|e| panic!("BISTRO_TEST_REDIS_URL is set but unreachable: {e}"));
        out.push(kv.with_prefix(&prefix));
    }
    out
}

fn keys() -> TokenKeys {
    TokenKeys::new(
        b"bistro-auth-test-secret-0123456789abcdef",
        Duration::from_secs(60),
    )
    .unwrap()
}

/// `refresh_token` with its secret replaced by `bytes` (same session id).
fn with_secret(refresh_token: &str, bytes: &[u8]) -> String {
    let session_id = refresh_token.split_once('.').unwrap().0;
    format!("{session_id}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Forgeries an attacker who knows a session id can make: the id with a
/// random secret, with the real token's generation and a wrong MAC, and the
/// real token's MAC under another generation.
fn forgeries(refresh_token: &str) -> Vec<String> {
    let secret = URL_SAFE_NO_PAD
        .decode(refresh_token.split_once('.').unwrap().1)
        .unwrap();
    let mut wrong_mac = secret.clone();
    wrong_mac[20] ^= 1;
    let mut other_generation = secret.clone();
    other_generation[7] ^= 1;
    vec![
        with_secret(refresh_token, &[0u8; 40]),
        with_secret(refresh_token, &wrong_mac),
        with_secret(refresh_token, &other_generation),
        refresh_token.split_once('.').unwrap().0.to_owned(),
    ]
}

#[tokio::test]
async fn rotation_replaces_the_token_and_reuse_revokes_the_family() {
    let keys = keys();
    for kv in stores().await {
        let sessions = Sessions::new(kv.clone(), Duration::from_secs(60));
        let first = sessions.start(&keys, 7).await.unwrap();
        assert_eq!(
            sessions.active_user(&first.session_id).await.unwrap(),
            Some(7)
        );

        let second = sessions.rotate(&keys, &first.refresh_token).await.unwrap();
        assert_eq!(second.user_id, 7);
        assert_eq!(second.token.session_id, first.session_id);
        assert_ne!(second.token.refresh_token, first.refresh_token);
        let third = sessions
            .rotate(&keys, &second.token.refresh_token)
            .await
            .unwrap();

        // The first token again: someone kept a copy. The whole family goes.
        assert!(matches!(
            sessions.rotate(&keys, &first.refresh_token).await,
            Err(RotationError::Reused)
        ));
        assert_eq!(sessions.active_user(&first.session_id).await.unwrap(), None);
        assert!(matches!(
            sessions.rotate(&keys, &third.token.refresh_token).await,
            Err(RotationError::Invalid)
        ));
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_and_changes_nothing() {
    let keys = keys();
    for kv in stores().await {
        let sessions = Sessions::new(kv.clone(), Duration::from_secs(60));
        let first = sessions.start(&keys, 7).await.unwrap();
        let current = sessions
            .rotate(&keys, &first.refresh_token)
            .await
            .unwrap()
            .token;
        // Forged from the current token and from a replaced one: neither is
        // reuse, neither refreshes, neither logs out.
        for forged in forgeries(&current.refresh_token)
            .into_iter()
            .chain(forgeries(&first.refresh_token))
        {
            assert!(
                matches!(
                    sessions.rotate(&keys, &forged).await,
                    Err(RotationError::Invalid)
                ),
                "refresh with {forged:?}"
            );
            assert!(
                matches!(
                    sessions.end(&keys, &forged).await,
                    Err(RotationError::Invalid)
                ),
                "logout with {forged:?}"
            );
            assert_eq!(
                sessions.active_user(&current.session_id).await.unwrap(),
                Some(7)
            );
        }
        // A token made with another server's key is no token of ours.
        let other_keys = TokenKeys::new(
            b"another-deployment-secret-0123456789abcdef",
            Duration::from_secs(60),
        )
        .unwrap();
        let foreign = Sessions::new(Kv::memory(), Duration::from_secs(60))
            .start(&other_keys, 7)
            .await
            .unwrap();
        let foreign = format!(
            "{}.{}",
            current.session_id,
            foreign.refresh_token.split_once('.').unwrap().1
        );
        assert!(matches!(
            sessions.rotate(&keys, &foreign).await,
            Err(RotationError::Invalid)
        ));

        // The session still works: its current token refreshes, and a real
        // logout ends it.
        let next = sessions
            .rotate(&keys, &current.refresh_token)
            .await
            .unwrap()
            .token;
        assert!(sessions.end(&keys, &next.refresh_token).await.unwrap());
        assert_eq!(sessions.active_user(&next.session_id).await.unwrap(), None);
        assert!(!sessions.end(&keys, &next.refresh_token).await.unwrap());
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn a_replaced_token_also_ends_its_session_at_logout() {
    let keys = keys();
    for kv in stores().await {
        let sessions = Sessions::new(kv.clone(), Duration::from_secs(60));
        let first = sessions.start(&keys, 3).await.unwrap();
        let second = sessions.rotate(&keys, &first.refresh_token).await.unwrap();
        assert!(sessions.end(&keys, &first.refresh_token).await.unwrap());
        assert!(matches!(
            sessions.rotate(&keys, &second.token.refresh_token).await,
            Err(RotationError::Invalid)
        ));
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn racing_refreshes_with_one_token_let_exactly_one_through() {
    let keys = keys();
    for kv in stores().await {
        let sessions = Sessions::new(kv.clone(), Duration::from_secs(60));
        let token = sessions.start(&keys, 1).await.unwrap().refresh_token;
        let (a, b) = tokio::join!(
            sessions.rotate(&keys, &token),
            sessions.rotate(&keys, &token)
        );
        assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
        // The loser saw a replay and revoked the session: the winner's new
        // token is dead too (a client racing itself must sign in again).
        let winner = a.or(b).unwrap();
        assert_eq!(
            sessions
                .active_user(&winner.token.session_id)
                .await
                .unwrap(),
            None
        );
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn garbage_expired_and_revoked_tokens_are_invalid() {
    let keys = keys();
    for kv in stores().await {
        let sessions = Sessions::new(kv.clone(), Duration::from_millis(200));
        for garbage in ["", "no-dot", ".", "a.", ".b", "a*b.c", "x.y"] {
            assert!(
                matches!(
                    sessions.rotate(&keys, garbage).await,
                    Err(RotationError::Invalid)
                ),
                "{garbage:?}"
            );
        }
        let expiring = sessions.start(&keys, 2).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(matches!(
            sessions.rotate(&keys, &expiring.refresh_token).await,
            Err(RotationError::Invalid)
        ));

        let sessions = Sessions::new(kv.clone(), Duration::from_secs(60));
        let revoked = sessions.start(&keys, 3).await.unwrap();
        assert!(sessions.revoke(&revoked.session_id).await.unwrap());
        assert!(!sessions.revoke(&revoked.session_id).await.unwrap());
        assert!(matches!(
            sessions.rotate(&keys, &revoked.refresh_token).await,
            Err(RotationError::Invalid)
        ));
        kv.purge_prefix().await.unwrap();
    }
}

/// Everything logged on this thread while the guard lives, at every level.
fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    #[derive(Clone)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Sink(buffer.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    (buffer, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn session_ids_and_tokens_never_reach_the_log() {
    let keys = keys();
    for kv in stores().await {
        // `#[tokio::test]` runs on this one thread, so the thread's
        // subscriber sees everything the sessions log.
        let (logs, guard) = capture_logs();
        let sessions = Sessions::new(kv.clone(), Duration::from_secs(60));
        let first = sessions.start(&keys, 5).await.unwrap();
        let second = sessions.rotate(&keys, &first.refresh_token).await.unwrap();
        for forged in forgeries(&second.token.refresh_token) {
            let _ = sessions.rotate(&keys, &forged).await;
        }
        assert!(matches!(
            sessions.rotate(&keys, &first.refresh_token).await,
            Err(RotationError::Reused)
        ));
        let other = sessions.start(&keys, 6).await.unwrap();
        assert!(sessions.end(&keys, &other.refresh_token).await.unwrap());
        drop(guard);

        let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
        assert!(
            logs.contains("refresh token reuse: session revoked"),
            "the reuse is logged: {logs}"
        );
        for session_id in [&first.session_id, &other.session_id] {
            assert!(!logs.contains(session_id.as_str()), "{logs}");
        }
        kv.purge_prefix().await.unwrap();
    }
}

/// The next session-end announcement on `events`, as its session id.
async fn announced(events: &mut bistro_kv::Subscription) -> String {
    use futures_util::StreamExt as _;
    let delivery = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("announced within 5 s")
        .expect("subscription open");
    let bistro_kv::Delivery::Message(message) = delivery else {
        panic!("a gap instead of the announcement");
    };
    let event: bistro_auth::session::SessionEndedEvent = serde_json::from_str(&message).unwrap();
    assert_eq!(event.version, 1);
    event.session_id
}

#[tokio::test]
async fn every_end_of_a_session_is_announced_for_its_live_connections() {
    use bistro_auth::session::SESSION_EVENTS_CHANNEL;
    for kv in stores().await {
        let name = kv.backend_name();
        let sessions = Sessions::new(kv.clone(), Duration::from_secs(60));
        let mut events = kv.subscribe(SESSION_EVENTS_CHANNEL).await.unwrap();
        events.live().await;

        // Logout.
        let a = sessions.start(&keys(), 1).await.unwrap();
        assert!(sessions.end(&keys(), &a.refresh_token).await.unwrap());
        assert_eq!(announced(&mut events).await, a.session_id, "{name}");

        // A replayed refresh token revokes the session.
        let b = sessions.start(&keys(), 2).await.unwrap();
        sessions.rotate(&keys(), &b.refresh_token).await.unwrap();
        assert!(matches!(
            sessions.rotate(&keys(), &b.refresh_token).await,
            Err(RotationError::Reused)
        ));
        assert_eq!(announced(&mut events).await, b.session_id, "{name}");

        // What was already over is not announced again: the next
        // announcement is the next session to end.
        assert!(!sessions.revoke(&a.session_id).await.unwrap());
        let c = sessions.start(&keys(), 3).await.unwrap();
        assert!(sessions.revoke(&c.session_id).await.unwrap());
        assert_eq!(announced(&mut events).await, c.session_id, "{name}");

        let d = sessions.start(&keys(), 4).await.unwrap();
        let ids = [a.session_id, d.session_id, "not a session id".to_owned()];
        assert_eq!(
            sessions.still_active(&ids).await.unwrap(),
            [false, true, false],
            "{name}"
        );
        kv.purge_prefix().await.unwrap();
    }
}
