//! Refresh-token rotation on both key-value backends.

use std::time::Duration;

use bistro_auth::{RotationError, Sessions};
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

#[tokio::test]
async fn rotation_replaces_the_token_and_reuse_revokes_the_family() {
    for kv in stores().await {
        let sessions = Sessions::new(kv.clone(), Duration::from_secs(60));
        let first = sessions.start(7).await.unwrap();
        assert!(sessions.is_active(&first.session_id).await.unwrap());

        let second = sessions.rotate(&first.refresh_token).await.unwrap();
        assert_eq!(second.user_id, 7);
        assert_eq!(second.token.session_id, first.session_id);
        assert_ne!(second.token.refresh_token, first.refresh_token);
        let third = sessions.rotate(&second.token.refresh_token).await.unwrap();

        // The first token again: someone kept a copy. The whole family goes.
        assert!(matches!(
            sessions.rotate(&first.refresh_token).await,
            Err(RotationError::Reused)
        ));
        assert!(!sessions.is_active(&first.session_id).await.unwrap());
        assert!(matches!(
            sessions.rotate(&third.token.refresh_token).await,
            Err(RotationError::Invalid)
        ));
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn racing_refreshes_with_one_token_let_exactly_one_through() {
    for kv in stores().await {
        let sessions = Sessions::new(kv.clone(), Duration::from_secs(60));
        let token = sessions.start(1).await.unwrap().refresh_token;
        let (a, b) = tokio::join!(sessions.rotate(&token), sessions.rotate(&token));
        assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
        // The loser saw a replay and revoked the session: the winner's new
        // token is dead too (a client racing itself must sign in again).
        let winner = a.or(b).unwrap();
        assert!(!sessions.is_active(&winner.token.session_id).await.unwrap());
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn garbage_expired_and_revoked_tokens_are_invalid() {
    for kv in stores().await {
        let sessions = Sessions::new(kv.clone(), Duration::from_millis(200));
        for garbage in ["", "no-dot", ".", "a.", ".b", "a*b.c", "x.y"] {
            assert!(
                matches!(sessions.rotate(garbage).await, Err(RotationError::Invalid)),
                "{garbage:?}"
            );
        }
        let expiring = sessions.start(2).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(matches!(
            sessions.rotate(&expiring.refresh_token).await,
            Err(RotationError::Invalid)
        ));

        let sessions = Sessions::new(kv.clone(), Duration::from_secs(60));
        let revoked = sessions.start(3).await.unwrap();
        assert!(sessions.revoke(&revoked.session_id).await.unwrap());
        assert!(!sessions.revoke(&revoked.session_id).await.unwrap());
        assert!(matches!(
            sessions.rotate(&revoked.refresh_token).await,
            Err(RotationError::Invalid)
        ));
        kv.purge_prefix().await.unwrap();
    }
}
