//! One conformance suite, run against both backends: the in-process store
//! always, Redis too when `BISTRO_TEST_REDIS_URL` is set (unreachable then
//! means failure, never a skip). Every test works under its own prefix.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bistro_kv::{Delivery, Error, Kv, KvConfig, KvCounter};
use futures_util::StreamExt;

async fn backends() -> Vec<Kv> {
    let prefix = format!("bistro-kv-test:{}:", uuid::Uuid::new_v4().simple());
    let mut out = vec![Kv::memory().with_prefix(&prefix)];
    if let Ok(url) = std::env::var("BISTRO_TEST_REDIS_URL") {
        let redis = Kv::connect_redis(&url, &KvConfig::default())
            .await
            .expect("BISTRO_TEST_REDIS_URL is not a valid Redis URL");
        redis.ping().await.unwrap_or_else(|e| {
            panic!("BISTRO_TEST_REDIS_URL is set but Redis is unreachable: {e}")
        });
        out.push(redis.with_prefix(&prefix));
    }
    out
}

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn strings_get_set_overwrite_delete() {
    for kv in backends().await {
        let name = kv.backend_name();
        assert_eq!(kv.get("a").await.unwrap(), None, "{name}");
        kv.set("a", "1", None).await.unwrap();
        assert_eq!(kv.get("a").await.unwrap().as_deref(), Some("1"), "{name}");
        kv.set("a", "2", None).await.unwrap();
        assert_eq!(kv.get("a").await.unwrap().as_deref(), Some("2"), "{name}");
        assert_eq!(kv.ttl("a").await.unwrap(), None, "{name}: no expiry");
        kv.set("b", "x", None).await.unwrap();
        assert_eq!(
            kv.del(&keys(&["a", "b", "missing"])).await.unwrap(),
            2,
            "{name}"
        );
        assert_eq!(kv.get("a").await.unwrap(), None, "{name}");
        assert_eq!(kv.del(&[]).await.unwrap(), 0, "{name}");
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn expiry_is_honoured() {
    for kv in backends().await {
        let name = kv.backend_name();
        kv.set("short", "v", Some(Duration::from_millis(150)))
            .await
            .unwrap();
        kv.set("long", "v", Some(Duration::from_secs(60)))
            .await
            .unwrap();
        let ttl = kv.ttl("short").await.unwrap().expect("has a ttl");
        assert!(ttl <= Duration::from_millis(150), "{name}: {ttl:?}");
        assert!(
            kv.set_nx("nx", "first", Some(Duration::from_millis(150)))
                .await
                .unwrap()
        );
        kv.set("later", "v", None).await.unwrap();
        assert!(
            kv.expire("later", Duration::from_millis(150))
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !kv.expire("missing", Duration::from_secs(1)).await.unwrap(),
            "{name}"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(kv.get("short").await.unwrap(), None, "{name}: expired");
        assert_eq!(
            kv.get("later").await.unwrap(),
            None,
            "{name}: expired via expire"
        );
        assert_eq!(kv.ttl("short").await.unwrap(), None, "{name}");
        assert_eq!(
            kv.get("long").await.unwrap().as_deref(),
            Some("v"),
            "{name}"
        );
        // An expired key is free again for set-if-absent.
        assert!(kv.set_nx("nx", "second", None).await.unwrap(), "{name}");
        assert_eq!(kv.get("nx").await.unwrap().as_deref(), Some("second"));
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn set_if_absent_first_writer_wins() {
    for kv in backends().await {
        let name = kv.backend_name();
        assert!(kv.set_nx("k", "first", None).await.unwrap(), "{name}");
        assert!(!kv.set_nx("k", "second", None).await.unwrap(), "{name}");
        assert_eq!(
            kv.get("k").await.unwrap().as_deref(),
            Some("first"),
            "{name}"
        );
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn compare_and_set_changes_only_the_expected_value() {
    for kv in backends().await {
        let name = kv.backend_name();
        assert!(
            !kv.compare_and_set("k", "a", "b", None).await.unwrap(),
            "{name}: missing key"
        );
        assert_eq!(kv.get("k").await.unwrap(), None, "{name}");
        kv.set("k", "a", None).await.unwrap();
        assert!(
            !kv.compare_and_set("k", "x", "b", None).await.unwrap(),
            "{name}"
        );
        assert!(
            kv.compare_and_set("k", "a", "b", Some(Duration::from_secs(60)))
                .await
                .unwrap(),
            "{name}"
        );
        assert_eq!(kv.get("k").await.unwrap().as_deref(), Some("b"), "{name}");
        assert!(kv.ttl("k").await.unwrap().is_some(), "{name}");
        // Racing writers with the same expectation: exactly one wins.
        let (x, y) = tokio::join!(
            kv.compare_and_set("k", "b", "from x", None),
            kv.compare_and_set("k", "b", "from y", None)
        );
        assert_eq!(u8::from(x.unwrap()) + u8::from(y.unwrap()), 1, "{name}");
        kv.hset("h", "f", "v").await.unwrap();
        assert!(
            matches!(
                kv.compare_and_set("h", "v", "w", None).await,
                Err(Error::Store(_))
            ),
            "{name}"
        );
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn multi_get_keeps_order_and_reports_missing() {
    for kv in backends().await {
        let name = kv.backend_name();
        kv.set_many(
            &[("x".into(), "1".into()), ("z".into(), "3".into())],
            Some(Duration::from_secs(60)),
        )
        .await
        .unwrap();
        let got = kv.mget(&keys(&["z", "y", "x"])).await.unwrap();
        assert_eq!(got, [Some("3".into()), None, Some("1".into())], "{name}");
        assert!(
            kv.ttl("x").await.unwrap().is_some(),
            "{name}: set_many applies ttl"
        );
        assert!(kv.mget(&[]).await.unwrap().is_empty());
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn counters_start_at_zero_and_expire_when_created() {
    for kv in backends().await {
        let name = kv.backend_name();
        assert_eq!(
            kv.incr_by("c", 5, Some(Duration::from_secs(60)))
                .await
                .unwrap(),
            5,
            "{name}"
        );
        assert_eq!(kv.incr_by("c", -2, None).await.unwrap(), 3, "{name}");
        assert!(kv.ttl("c").await.unwrap().is_some(), "{name}: ttl kept");
        // Only the call that creates the key sets its expiry; later ones leave it.
        assert_eq!(
            kv.incr_by("c", 1, Some(Duration::from_millis(1)))
                .await
                .unwrap(),
            4,
            "{name}"
        );
        let ttl = kv.ttl("c").await.unwrap().expect("still expires");
        assert!(ttl > Duration::from_secs(30), "{name}: {ttl:?}");
        assert_eq!(kv.incr_by("plain", 1, None).await.unwrap(), 1, "{name}");
        assert_eq!(kv.ttl("plain").await.unwrap(), None, "{name}");
        // Redis' integer syntax is strict: these are not integers.
        for (i, text) in ["abc", "05", "+5", " 5", "-0", "1.0"].iter().enumerate() {
            let key = format!("text{i}");
            kv.set(&key, text, None).await.unwrap();
            assert!(
                matches!(kv.incr_by(&key, 1, None).await, Err(Error::Store(_))),
                "{name}: {text:?}"
            );
            kv.hset("texts", &key, text).await.unwrap();
            assert!(
                matches!(kv.hincr_by("texts", &key, 1).await, Err(Error::Store(_))),
                "{name}: {text:?}"
            );
        }
        kv.set("max", &i64::MAX.to_string(), None).await.unwrap();
        assert!(
            matches!(kv.incr_by("max", 1, None).await, Err(Error::Store(_))),
            "{name}: overflow"
        );
        assert_eq!(
            kv.get("max").await.unwrap(),
            Some(i64::MAX.to_string()),
            "{name}"
        );
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn sorted_sets_rank_like_redis() {
    for kv in backends().await {
        let name = kv.backend_name();
        let ttl = Some(Duration::from_secs(60));
        assert_eq!(
            kv.zincr_by("lb", "a", 2.0, ttl).await.unwrap(),
            2.0,
            "{name}"
        );
        assert_eq!(
            kv.zincr_by("lb", "a", 3.0, ttl).await.unwrap(),
            5.0,
            "{name}"
        );
        kv.zincr_by("lb", "b", 7.0, ttl).await.unwrap();
        kv.zincr_by("lb", "c", 5.0, None).await.unwrap();
        kv.zincr_by("lb", "d", 1.5, None).await.unwrap();
        assert!(kv.ttl("lb").await.unwrap().is_some(), "{name}");
        assert_eq!(kv.zscore("lb", "a").await.unwrap(), Some(5.0), "{name}");
        assert_eq!(kv.zscore("lb", "zz").await.unwrap(), None, "{name}");
        // Ties: member descending, so "c" before "a".
        let all = kv.zrevrange_with_scores("lb", 0, -1).await.unwrap();
        assert_eq!(
            all,
            [
                ("b".into(), 7.0),
                ("c".into(), 5.0),
                ("a".into(), 5.0),
                ("d".into(), 1.5)
            ],
            "{name}"
        );
        assert_eq!(kv.zrevrank("lb", "a").await.unwrap(), Some(2), "{name}");
        assert_eq!(kv.zrevrank("lb", "zz").await.unwrap(), None, "{name}");
        assert_eq!(
            kv.zrevrange_with_scores("lb", 1, 2).await.unwrap(),
            [("c".into(), 5.0), ("a".into(), 5.0)],
            "{name}"
        );
        assert_eq!(
            kv.zrevrange_with_scores("lb", -1, -1).await.unwrap(),
            [("d".into(), 1.5)],
            "{name}"
        );
        assert!(
            kv.zrevrange_with_scores("lb", 10, 20)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            kv.zrevrange_with_scores("none", 0, -1)
                .await
                .unwrap()
                .is_empty()
        );

        // Scores are doubles on both sides: same sums, same infinities, and a
        // NaN result is refused without touching the member.
        assert_eq!(kv.zincr_by("f", "d", 0.1, None).await.unwrap(), 0.1);
        assert_eq!(
            kv.zincr_by("f", "d", 0.2, None).await.unwrap(),
            0.1 + 0.2,
            "{name}"
        );
        assert_eq!(
            kv.zincr_by("f", "i", f64::INFINITY, None).await.unwrap(),
            f64::INFINITY,
            "{name}"
        );
        assert!(
            matches!(
                kv.zincr_by("f", "i", f64::NEG_INFINITY, None).await,
                Err(Error::Store(_))
            ),
            "{name}"
        );
        assert!(
            matches!(
                kv.zincr_by("f", "n", f64::NAN, None).await,
                Err(Error::Store(_))
            ),
            "{name}"
        );
        assert_eq!(
            kv.zscore("f", "i").await.unwrap(),
            Some(f64::INFINITY),
            "{name}"
        );
        assert_eq!(kv.zscore("f", "n").await.unwrap(), None, "{name}");

        kv.zincr_by("other", "q", 1.0, None).await.unwrap();
        let many = kv
            .zrevrange_with_scores_many(&keys(&["other", "none", "lb"]), 0, 0)
            .await
            .unwrap();
        assert_eq!(
            many,
            [vec![("q".into(), 1.0)], vec![], vec![("b".into(), 7.0)]],
            "{name}"
        );
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn hashes_store_fields() {
    for kv in backends().await {
        let name = kv.backend_name();
        kv.hset("h", "b", "2").await.unwrap();
        kv.hset("h", "a", "1").await.unwrap();
        assert_eq!(
            kv.hget("h", "a").await.unwrap().as_deref(),
            Some("1"),
            "{name}"
        );
        assert_eq!(kv.hget("h", "z").await.unwrap(), None, "{name}");
        assert_eq!(kv.hget("nothing", "z").await.unwrap(), None, "{name}");
        assert_eq!(kv.hincr_by("h", "n", 4).await.unwrap(), 4, "{name}");
        assert_eq!(kv.hincr_by("h", "n", -1).await.unwrap(), 3, "{name}");
        assert_eq!(
            kv.hgetall("h").await.unwrap(),
            [
                ("a".into(), "1".into()),
                ("b".into(), "2".into()),
                ("n".into(), "3".into())
            ],
            "{name}"
        );
        assert_eq!(
            kv.hdel("h", &keys(&["a", "missing"])).await.unwrap(),
            1,
            "{name}"
        );
        assert_eq!(kv.hdel("h", &keys(&["b", "n"])).await.unwrap(), 2, "{name}");
        // An emptied hash is gone, as in Redis.
        assert!(kv.hgetall("h").await.unwrap().is_empty(), "{name}");
        assert_eq!(kv.mget(&keys(&["h"])).await.unwrap(), [None], "{name}");
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn many_hash_fields_in_one_round_trip() {
    for kv in backends().await {
        let name = kv.backend_name();
        let counter = Arc::new(KvCounter::default());
        let counted = kv.counted(counter.clone());
        counted
            .hset_many(
                &[
                    ("h1".into(), "a".into(), "1".into()),
                    ("h2".into(), "b".into(), "2".into()),
                    ("h1".into(), "c".into(), "3".into()),
                ],
                Some(Duration::from_secs(60)),
            )
            .await
            .unwrap();
        let got = counted
            .hget_many(&[
                ("h1".into(), "c".into()),
                ("h2".into(), "a".into()),
                ("none".into(), "a".into()),
                ("h2".into(), "b".into()),
            ])
            .await
            .unwrap();
        assert_eq!(
            got,
            [Some("3".into()), None, None, Some("2".into())],
            "{name}"
        );
        assert_eq!(counter.round_trips(), 2, "{name}: one round trip each");
        assert!(kv.ttl("h2").await.unwrap().is_some(), "{name}");
        assert!(counted.hget_many(&[]).await.unwrap().is_empty());
        let all = counted
            .hgetall_many(&["h2".into(), "none".into(), "h1".into()])
            .await
            .unwrap();
        assert_eq!(
            all,
            [
                vec![("b".into(), "2".into())],
                vec![],
                vec![("a".into(), "1".into()), ("c".into(), "3".into())],
            ],
            "{name}"
        );
        assert_eq!(
            counter.round_trips(),
            3,
            "{name}: hgetall_many is one round trip"
        );
        kv.set("s", "v", None).await.unwrap();
        assert!(
            matches!(
                kv.hget_many(&[("s".into(), "f".into())]).await,
                Err(Error::Store(_))
            ),
            "{name}"
        );
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn wrong_kinds_are_store_errors() {
    for kv in backends().await {
        let name = kv.backend_name();
        kv.set("s", "v", None).await.unwrap();
        kv.hset("h", "f", "v").await.unwrap();
        kv.zincr_by("z", "m", 1.0, None).await.unwrap();
        assert!(
            matches!(kv.hget("s", "f").await, Err(Error::Store(_))),
            "{name}"
        );
        assert!(
            matches!(kv.hset("z", "f", "v").await, Err(Error::Store(_))),
            "{name}"
        );
        assert!(
            matches!(kv.zincr_by("s", "m", 1.0, None).await, Err(Error::Store(_))),
            "{name}"
        );
        assert!(
            matches!(
                kv.zrevrange_with_scores("h", 0, -1).await,
                Err(Error::Store(_))
            ),
            "{name}"
        );
        assert!(matches!(kv.get("h").await, Err(Error::Store(_))), "{name}");
        // MGET answers nil for other kinds instead of failing.
        assert_eq!(
            kv.mget(&keys(&["h", "s"])).await.unwrap(),
            [None, Some("v".into())],
            "{name}"
        );
        // zincr_by's expiry is pipelined after the increment on Redis, so it
        // applies to the key even when the increment failed: same in memory.
        assert!(
            matches!(
                kv.zincr_by("s", "m", 1.0, Some(Duration::from_secs(60)))
                    .await,
                Err(Error::Store(_))
            ),
            "{name}"
        );
        assert!(kv.ttl("s").await.unwrap().is_some(), "{name}");
        // hset_many runs every command and reports the first error.
        assert!(
            matches!(
                kv.hset_many(
                    &[
                        ("s".into(), "f".into(), "x".into()),
                        ("h".into(), "g".into(), "y".into()),
                    ],
                    None
                )
                .await,
                Err(Error::Store(_))
            ),
            "{name}"
        );
        assert_eq!(
            kv.hget("h", "g").await.unwrap().as_deref(),
            Some("y"),
            "{name}"
        );
        assert!(
            matches!(
                kv.zrevrange_with_scores_many(&keys(&["z", "s"]), 0, -1)
                    .await,
                Err(Error::Store(_))
            ),
            "{name}"
        );
        // Setting a string replaces any kind.
        kv.set("h", "now a string", None).await.unwrap();
        assert_eq!(
            kv.get("h").await.unwrap().as_deref(),
            Some("now a string"),
            "{name}"
        );
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn prefixes_isolate_handles() {
    for kv in backends().await {
        let name = kv.backend_name();
        let a = kv.with_prefix("a:");
        let b = kv.with_prefix("b:");
        a.set("k", "from a", None).await.unwrap();
        assert_eq!(b.get("k").await.unwrap(), None, "{name}");
        assert_eq!(
            kv.get("a:k").await.unwrap().as_deref(),
            Some("from a"),
            "{name}"
        );
        assert_eq!(b.purge_prefix().await.unwrap(), 0, "{name}");
        assert_eq!(a.purge_prefix().await.unwrap(), 1, "{name}");
        assert_eq!(kv.get("a:k").await.unwrap(), None, "{name}");
    }
    assert!(
        Kv::memory().purge_prefix().await.is_err(),
        "empty prefix is refused"
    );
}

#[tokio::test]
async fn round_trips_are_counted_alike() {
    let mut seen = Vec::new();
    for kv in backends().await {
        let counter = Arc::new(KvCounter::default());
        let counted = kv.counted(counter.clone());
        let mut steps = Vec::new();
        let mut step = |n: &KvCounter| steps.push(n.take());
        counted.get("a").await.unwrap();
        step(&counter);
        counted.mget(&keys(&["a", "b", "c"])).await.unwrap();
        step(&counter);
        counted.mget(&[]).await.unwrap();
        step(&counter);
        counted
            .set_many(&[("a".into(), "1".into()), ("b".into(), "2".into())], None)
            .await
            .unwrap();
        step(&counter);
        counted
            .zrevrange_with_scores_many(&keys(&["x", "y", "z"]), 0, -1)
            .await
            .unwrap();
        step(&counter);
        counted
            .zincr_by("x", "m", 1.0, Some(Duration::from_secs(5)))
            .await
            .unwrap();
        step(&counter);
        counted
            .incr_by("n", 1, Some(Duration::from_secs(5)))
            .await
            .unwrap();
        step(&counter);
        // (round trips, commands): a pipeline is one round trip of several
        // commands, a multi-key command one of one.
        assert_eq!(
            steps,
            [(1, 1), (1, 1), (0, 0), (1, 2), (1, 3), (1, 2), (1, 2)],
            "{}",
            kv.backend_name()
        );
        // The uncounted handle shares the store but not the counter.
        kv.get("a").await.unwrap();
        assert_eq!(counter.round_trips(), 0);
        seen.push(steps);
        kv.purge_prefix().await.unwrap();
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
}

/// Publishes until at least one subscriber is listening (a Redis SUBSCRIBE
/// takes effect asynchronously), with a deadline instead of a fixed sleep.
async fn publish_when_listened(kv: &Kv, channel: &str, message: &str, listeners: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if kv.publish(channel, message).await.unwrap() >= listeners {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: nobody subscribed",
            kv.backend_name()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn publish_reaches_every_subscriber() {
    for kv in backends().await {
        let name = kv.backend_name();
        assert_eq!(kv.publish("nobody", "x").await.unwrap(), 0, "{name}");
        let mut one = kv.subscribe("events").await.unwrap();
        let mut two = kv.subscribe("events").await.unwrap();
        let mut other = kv.subscribe("other").await.unwrap();
        publish_when_listened(&kv, "events", "ready?", 1).await;
        kv.publish("events", "hello").await.unwrap();
        for sub in [&mut one, &mut two] {
            // Skip the readiness probes that arrived before "hello".
            let got = tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    let message = sub.next().await.expect("stream open");
                    if message != Delivery::Message("ready?".into()) {
                        return message;
                    }
                }
            })
            .await
            .expect("message delivered");
            assert_eq!(got, Delivery::Message("hello".into()), "{name}");
        }
        // Another channel heard nothing.
        publish_when_listened(&kv, "other", "ping", 1).await;
        let first = tokio::time::timeout(Duration::from_secs(5), other.next())
            .await
            .unwrap();
        assert_eq!(first, Some(Delivery::Message("ping".into())), "{name}");

        // Prefixes separate channels too.
        let elsewhere = kv.with_prefix("elsewhere:");
        assert_eq!(elsewhere.publish("events", "x").await.unwrap(), 0, "{name}");
        drop((one, two, other));
        // The last subscriber gone, the channel is released (on Redis the
        // UNSUBSCRIBE is asynchronous: poll with a deadline).
        let deadline = Instant::now() + Duration::from_secs(5);
        while kv.publish("events", "anyone?").await.unwrap() > 0 {
            assert!(Instant::now() < deadline, "{name}: still subscribed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut again = kv.subscribe("events").await.unwrap();
        publish_when_listened(&kv, "events", "back", 1).await;
        let got = tokio::time::timeout(Duration::from_secs(5), again.next())
            .await
            .expect("message delivered");
        assert_eq!(got, Some(Delivery::Message("back".into())), "{name}");
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_is_told_once_with_a_gap() {
    for kv in backends().await {
        let name = kv.backend_name();
        let mut slow = kv.subscribe("busy").await.unwrap();
        slow.live().await;
        publish_when_listened(&kv, "busy", "0", 1).await;
        // More than the in-process buffer holds, unread.
        for n in 1..=1100 {
            kv.publish("busy", &n.to_string()).await.unwrap();
        }
        kv.publish("busy", "last").await.unwrap();
        let mut seen = Vec::new();
        loop {
            let delivery = tokio::time::timeout(Duration::from_secs(5), slow.next())
                .await
                .expect("delivered")
                .expect("stream open");
            let last = delivery == Delivery::Message("last".into());
            seen.push(delivery);
            if last {
                break;
            }
        }
        assert_eq!(seen[0], Delivery::Gap, "{name}: the gap comes first");
        assert_eq!(
            seen.iter().filter(|d| **d == Delivery::Gap).count(),
            1,
            "{name}: told once"
        );
        assert!(seen.len() < 1100, "{name}: the oldest were skipped");
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn a_live_subscription_hears_what_is_published_next() {
    for kv in backends().await {
        let name = kv.backend_name();
        let mut subscription = kv.subscribe("confirmed").await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), subscription.live())
            .await
            .expect("confirmed");
        // No retry loop: once live, the first publish is heard.
        assert_eq!(kv.publish("confirmed", "one").await.unwrap(), 1, "{name}");
        let got = tokio::time::timeout(Duration::from_secs(5), subscription.next()).await;
        assert_eq!(
            got.unwrap(),
            Some(Delivery::Message("one".into())),
            "{name}"
        );
        kv.purge_prefix().await.unwrap();
    }
}

/// Asserts a call failed as unavailable, without hanging (the client's
/// defaults would stall ~9 s); returns the error's text.
async fn fails_unavailable<T: std::fmt::Debug>(
    call: impl std::future::Future<Output = bistro_kv::Result<T>>,
) -> String {
    let started = Instant::now();
    let result = call.await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    match result {
        Err(Error::Unavailable(reason)) => reason,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_dead_redis_fails_fast_and_opens_the_breaker() {
    let config = KvConfig {
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_secs(30),
        ..KvConfig::default()
    };
    // Nothing listens on port 1; connecting is lazy, so this succeeds.
    let kv = Kv::connect_redis("redis://127.0.0.1:1", &config)
        .await
        .expect("connecting is lazy");
    let counter = Arc::new(KvCounter::default());
    let counted = kv.counted(counter.clone());
    for _ in 0..2 {
        let reason = fails_unavailable(counted.get("k")).await;
        assert!(!reason.contains("circuit"), "{reason}");
    }
    assert_eq!(counter.take().0, 2);
    // Open: no attempt at all, so no round trip counted.
    let reason = fails_unavailable(counted.ping()).await;
    assert!(reason.contains("circuit"), "{reason}");
    let reason = fails_unavailable(counted.set("k", "v", None)).await;
    assert!(reason.contains("circuit"), "{reason}");
    assert_eq!(counter.round_trips(), 0);
    assert!(
        Kv::connect_redis("not a url", &config)
            .await
            .is_err_and(|e| !e.is_unavailable())
    );
}

#[tokio::test]
async fn the_breaker_lets_one_probe_through_after_its_cooldown() {
    let config = KvConfig {
        breaker_threshold: 1,
        breaker_cooldown: Duration::from_millis(500),
        ..KvConfig::default()
    };
    let kv = Kv::connect_redis("redis://127.0.0.1:1", &config)
        .await
        .unwrap();
    let reason = fails_unavailable(kv.get("k")).await;
    assert!(!reason.contains("circuit"), "{reason}");
    let reason = fails_unavailable(kv.get("k")).await;
    assert!(reason.contains("circuit"), "open: {reason}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Half-open: the probe reaches the (still dead) server and reopens it.
    let reason = fails_unavailable(kv.get("k")).await;
    assert!(!reason.contains("circuit"), "probe: {reason}");
    let reason = fails_unavailable(kv.get("k")).await;
    assert!(reason.contains("circuit"), "reopened: {reason}");
}

#[tokio::test]
async fn a_black_hole_times_out_instead_of_hanging() {
    // Accepts TCP connections (the kernel completes the handshake from the
    // backlog) but never answers.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", hole.local_addr().unwrap());
    let config = KvConfig {
        breaker_threshold: 3,
        ..KvConfig::default()
    };
    let kv = Kv::connect_redis(&url, &config).await.unwrap();
    for _ in 0..3 {
        let reason = fails_unavailable(kv.get("k")).await;
        assert!(!reason.contains("circuit"), "{reason}");
    }
    let reason = fails_unavailable(kv.get("k")).await;
    assert!(reason.contains("circuit"), "{reason}");
    // Subscribing never waits for the connection either.
    let started = Instant::now();
    let _subscription = kv.subscribe("events").await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(hole);
}

/// A TCP proxy in front of Redis that the test can cut and restore, to play
/// "Redis went down, then came back" without touching the shared server.
struct Proxy {
    port: u16,
    upstream: std::net::SocketAddr,
    acceptor: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(upstream: std::net::SocketAddr) -> Self {
        let mut proxy = Self {
            port: 0,
            upstream,
            acceptor: None,
        };
        proxy.up().await;
        proxy
    }

    async fn up(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("proxy port free again");
        self.port = listener.local_addr().unwrap().port();
        let upstream = self.upstream;
        self.acceptor = Some(tokio::spawn(async move {
            // Dropping the set (when this task is aborted) aborts every
            // connection, closing both of its sockets.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                connections.spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        () = pump(&client, &server) => {}
                        () = pump(&server, &client) => {}
                    }
                });
            }
        }));
    }

    async fn down(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.abort();
            let _ = acceptor.await;
        }
    }
}

/// Copies bytes one way until either side closes (tokio's `io-util` is not
/// among this crate's features, so by hand).
async fn pump(from: &tokio::net::TcpStream, to: &tokio::net::TcpStream) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if from.readable().await.is_err() {
            return;
        }
        let n = match from.try_read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        };
        let mut written = 0;
        while written < n {
            if to.writable().await.is_err() {
                return;
            }
            match to.try_write(&buffer[written..n]) {
                Ok(m) => written += m,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }
}

/// Splits `redis://[auth@]host:port[/db][?query]` around its `host:port`.
fn split_url(url: &str) -> (String, String, String) {
    let (scheme, rest) = url.split_once("://").expect("a redis:// URL");
    let (auth, rest) = match rest.rsplit_once('@') {
        Some((auth, rest)) => (format!("{auth}@"), rest),
        None => (String::new(), rest),
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (address, tail) = rest.split_at(end);
    (
        format!("{scheme}://{auth}"),
        address.to_owned(),
        tail.to_owned(),
    )
}

#[tokio::test]
async fn redis_comes_back_by_itself_commands_and_subscriptions() {
    let Ok(url) = std::env::var("BISTRO_TEST_REDIS_URL") else {
        return; // Redis-only behaviour; the in-process store never goes away.
    };
    let (head, address, tail) = split_url(&url);
    let address = if address.contains(':') {
        address
    } else {
        format!("{address}:6379")
    };
    let upstream = tokio::net::lookup_host(&address)
        .await
        .unwrap_or_else(|e| panic!("BISTRO_TEST_REDIS_URL host {address}: {e}"))
        .next()
        .expect("an address");
    let mut proxy = Proxy::start(upstream).await;
    let config = KvConfig {
        breaker_cooldown: Duration::from_millis(200),
        ..KvConfig::default()
    };
    let prefix = format!("bistro-kv-test:{}:", uuid::Uuid::new_v4().simple());
    let direct = Kv::connect_redis(&url, &config)
        .await
        .unwrap()
        .with_prefix(&prefix);
    let proxied_url = format!("{head}127.0.0.1:{}{tail}", proxy.port);
    let kv = Kv::connect_redis(&proxied_url, &config)
        .await
        .unwrap()
        .with_prefix(&prefix);

    kv.set("k", "v", None).await.unwrap();
    let mut subscription = kv.subscribe("events").await.unwrap();
    publish_when_listened(&direct, "events", "first", 1).await;
    let got = tokio::time::timeout(Duration::from_secs(5), subscription.next()).await;
    assert_eq!(got.unwrap(), Some(Delivery::Message("first".into())));

    proxy.down().await;
    // Down: fails (fast), whatever the breaker's state.
    fails_unavailable(kv.get("k")).await;
    fails_unavailable(kv.get("k")).await;
    assert_eq!(direct.publish("events", "lost").await.unwrap(), 0);

    proxy.up().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match kv.get("k").await {
            Ok(value) => {
                assert_eq!(value.as_deref(), Some("v"));
                break;
            }
            Err(e) => assert!(
                e.is_unavailable() && Instant::now() < deadline,
                "no recovery: {e:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The supervisor reconnected and subscribed again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while direct.publish("events", "again").await.unwrap() == 0 {
        assert!(Instant::now() < deadline, "not subscribed again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The outage is told first (once), then what is published after it.
    let got = tokio::time::timeout(Duration::from_secs(5), subscription.next()).await;
    assert_eq!(got.unwrap(), Some(Delivery::Gap));
    let got = tokio::time::timeout(Duration::from_secs(5), subscription.next()).await;
    assert_eq!(got.unwrap(), Some(Delivery::Message("again".into())));
    drop(subscription);
    direct.purge_prefix().await.unwrap();
    proxy.down().await;
}

bistro_kv::kv_key! {
    /// A test layout holding a count.
    struct CountKey { name: &'static str } => value u64 = "typed:count:{name}";
}
bistro_kv::kv_key! {
    /// A test hash layout.
    struct ScoresKey { name: &'static str } => hash String => i64 = "typed:scores:{name}";
}
bistro_kv::kv_key! {
    /// A test sorted-set layout.
    struct RankKey { name: &'static str } => sorted_set i64 = "typed:rank:{name}";
}
bistro_kv::kv_key! {
    /// A test counter layout.
    struct HitsKey { name: &'static str } => counter = "typed:hits:{name}";
}

#[tokio::test]
async fn typed_keys_read_what_they_wrote_and_garbage_as_missing() {
    for kv in backends().await {
        let a = CountKey { name: "a" };
        let b = CountKey { name: "b" };
        kv.store(&a, &7, None).await.unwrap();
        assert_eq!(kv.load(&a).await.unwrap(), Some(7));
        // The same key written with another encoding reads as missing.
        kv.set("typed:count:b", "not a number", None).await.unwrap();
        assert_eq!(
            kv.load_many(&[a.clone(), b.clone()]).await.unwrap(),
            vec![Some(7), None]
        );
        assert!(!kv.store_if_absent(&a, &1, None).await.unwrap());
        assert!(kv.replace_if(&a, &7, &8, None).await.unwrap());
        assert!(!kv.replace_if(&a, &7, &9, None).await.unwrap());
        assert_eq!(kv.remove(&[a.clone(), b]).await.unwrap(), 2);
        assert_eq!(kv.load(&a).await.unwrap(), None);

        let scores = ScoresKey { name: "s" };
        kv.store_fields(&[(scores.clone(), "x".to_owned(), 3)], None)
            .await
            .unwrap();
        assert_eq!(
            kv.load_fields(&[(scores.clone(), "x".to_owned()), (scores, "y".to_owned())])
                .await
                .unwrap(),
            vec![Some(3), None]
        );

        let rank = RankKey { name: "r" };
        kv.add_score(&rank, &10, 2.0, None).await.unwrap();
        kv.add_score(&rank, &11, 5.0, None).await.unwrap();
        kv.zincr_by("typed:rank:r", "garbage", 9.0, None)
            .await
            .unwrap();
        assert_eq!(
            kv.rankings(&[rank, RankKey { name: "none" }])
                .await
                .unwrap(),
            vec![vec![(11, 5.0), (10, 2.0)], vec![]]
        );

        let hits = HitsKey { name: "h" };
        assert_eq!(
            kv.bump(&hits, 2, Some(Duration::from_secs(60)))
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            kv.counters(&[hits.clone(), HitsKey { name: "none" }])
                .await
                .unwrap(),
            vec![2, 0]
        );
        let other = HitsKey { name: "other" };
        assert_eq!(
            kv.bump_many(
                &[hits.clone(), other.clone()],
                1,
                Some(Duration::from_secs(60))
            )
            .await
            .unwrap(),
            vec![3, 1]
        );
        // A counter created by the call gets the expiry; an existing one keeps its own.
        assert!(kv.ttl("typed:hits:other").await.unwrap().is_some());
        kv.set("typed:hits:forever", "5", None).await.unwrap();
        assert_eq!(
            kv.bump_many(
                &[HitsKey { name: "forever" }],
                1,
                Some(Duration::from_secs(60))
            )
            .await
            .unwrap(),
            vec![6]
        );
        assert_eq!(kv.ttl("typed:hits:forever").await.unwrap(), None);
    }
}

#[tokio::test]
async fn rankings_snapshot_atomically_and_read_with_one_command() {
    for kv in backends().await {
        let name = kv.backend_name();
        for (member, delta) in [("7", 2.0), ("9", 5.0), ("8", 2.0), ("7", 1.0)] {
            kv.zincr_by_with_snapshot(
                "z",
                member,
                delta,
                Some(Duration::from_secs(60)),
                "snap",
                "r1",
            )
            .await
            .unwrap();
        }
        // Highest first, ties by member descending, like ZREVRANGE.
        assert_eq!(
            kv.hmget("snap", &keys(&["r1", "r2"])).await.unwrap(),
            vec![Some("9:5,7:3,8:2".to_owned()), None],
            "{name}"
        );
        assert_eq!(
            kv.zrevrange_with_scores("z", 0, -1).await.unwrap(),
            vec![("9".into(), 5.0), ("7".into(), 3.0), ("8".into(), 2.0)]
        );
        assert!(kv.ttl("snap").await.unwrap().is_some());
        assert_eq!(kv.hmget("none", &keys(&["a"])).await.unwrap(), vec![None]);
        let counter = Arc::new(KvCounter::default());
        let counted = kv.counted(counter.clone());
        counted
            .hmget("snap", &keys(&["r1", "r2", "r3"]))
            .await
            .unwrap();
        assert_eq!(counter.take(), (1, 1), "{name}");
        // The wrong kind fails like Redis.
        kv.set("s", "x", None).await.unwrap();
        assert!(matches!(
            kv.hmget("s", &keys(&["a"])).await,
            Err(Error::Store(_))
        ));
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn delete_if_removes_only_the_expected_value() {
    for kv in backends().await {
        let name = kv.backend_name();
        kv.set("claim", "mine", None).await.unwrap();
        assert!(!kv.delete_if("claim", "theirs").await.unwrap(), "{name}");
        assert_eq!(kv.get("claim").await.unwrap().as_deref(), Some("mine"));
        assert!(kv.delete_if("claim", "mine").await.unwrap(), "{name}");
        assert_eq!(kv.get("claim").await.unwrap(), None, "{name}");
        assert!(!kv.delete_if("claim", "mine").await.unwrap(), "{name}");
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn hash_takes_are_all_or_nothing_and_never_go_below_zero() {
    for kv in backends().await {
        let name = kv.backend_name();
        let take = |f: &str, amount: i64, initial: i64| (f.to_owned(), amount, initial);
        // Missing fields start at their initial value; the new hash gets the expiry.
        assert_eq!(
            kv.htake(
                "stock",
                &[take("a", 2, 5), take("b", 1, 1)],
                Some(Duration::from_secs(60)),
                None
            )
            .await
            .unwrap(),
            Ok(vec![3, 0]),
            "{name}"
        );
        assert!(kv.ttl("stock").await.unwrap().is_some(), "{name}");
        // One field short: nothing is taken, and the index says which.
        assert_eq!(
            kv.htake("stock", &[take("a", 1, 99), take("b", 1, 99)], None, None)
                .await
                .unwrap(),
            Err(1),
            "{name}"
        );
        assert_eq!(
            kv.hget("stock", "a").await.unwrap().as_deref(),
            Some("3"),
            "{name}: the failed take left `a` alone"
        );
        // Giving back touches only fields that exist.
        assert_eq!(
            kv.hgive("stock", &[("b".to_owned(), 1), ("gone".to_owned(), 4)])
                .await
                .unwrap(),
            vec![Some(1), None],
            "{name}"
        );
        assert_eq!(kv.hget("stock", "gone").await.unwrap(), None, "{name}");
        assert_eq!(
            kv.hgive("missing-hash", &[("a".to_owned(), 1)])
                .await
                .unwrap(),
            vec![None],
            "{name}"
        );
        assert_eq!(
            kv.htake("stock", &[], None, None).await.unwrap(),
            Ok(vec![])
        );

        // Many takers racing for the last units: exactly as many win as there are units.
        kv.htake("race", &[take("x", 0, 10)], None, None)
            .await
            .unwrap()
            .unwrap();
        let attempts = (0..40).map(|_| {
            let kv = kv.clone();
            async move {
                kv.htake("race", &[("x".to_owned(), 1, 10)], None, None)
                    .await
            }
        });
        let results = futures_util::future::join_all(attempts).await;
        let won = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
        assert_eq!(won, 10, "{name}");
        assert_eq!(
            kv.hget("race", "x").await.unwrap().as_deref(),
            Some("0"),
            "{name}"
        );
        kv.purge_prefix().await.unwrap();
    }
}

#[tokio::test]
async fn a_held_take_happens_once_and_is_released_once() {
    for kv in backends().await {
        let name = kv.backend_name();
        let take = |f: &str, amount: i64, initial: i64| (f.to_owned(), amount, initial);
        let hold = Some(("hold:7", "a:2,b:1"));
        let first = kv
            .htake("stock", &[take("a", 2, 5), take("b", 1, 3)], None, hold)
            .await
            .unwrap();
        assert_eq!(first, Ok(vec![3, 2]), "{name}");
        // Repeated (its answer lost, say): nothing is taken again.
        let again = kv
            .htake("stock", &[take("a", 2, 5), take("b", 1, 3)], None, hold)
            .await
            .unwrap();
        assert_eq!(again, Ok(vec![3, 2]), "{name}");
        assert_eq!(
            kv.hget("stock", "hold:7").await.unwrap().as_deref(),
            Some("a:2,b:1"),
            "{name}"
        );
        // A short take records no hold.
        assert_eq!(
            kv.htake("stock", &[take("a", 9, 5)], None, Some(("hold:8", "a:9")))
                .await
                .unwrap(),
            Err(0),
            "{name}"
        );
        assert_eq!(kv.hget("stock", "hold:8").await.unwrap(), None, "{name}");
        let gives = [("a".to_owned(), 2), ("b".to_owned(), 1)];
        assert_eq!(
            kv.hrelease("stock", "hold:7", &gives).await.unwrap(),
            vec![Some(5), Some(3)],
            "{name}"
        );
        // Released once: a second release (recovery after the request) gives nothing.
        assert_eq!(
            kv.hrelease("stock", "hold:7", &gives).await.unwrap(),
            vec![None, None],
            "{name}"
        );
        assert_eq!(kv.hget("stock", "a").await.unwrap().as_deref(), Some("5"));
        // A hold never taken releases nothing.
        assert_eq!(
            kv.hrelease("stock", "hold:9", &gives).await.unwrap(),
            vec![None, None],
            "{name}"
        );
        // Gives by marker happen once per marker, and never create a hash.
        let back = [("a".to_owned(), 1)];
        assert_eq!(
            kv.hgive_once("stock", "back:1", &back).await.unwrap(),
            vec![Some(6)],
            "{name}"
        );
        assert_eq!(
            kv.hgive_once("stock", "back:1", &back).await.unwrap(),
            vec![None],
            "{name}"
        );
        assert_eq!(
            kv.hgive_once("no-such-hash", "back:1", &back)
                .await
                .unwrap(),
            vec![None],
            "{name}"
        );
        assert_eq!(kv.hget("no-such-hash", "back:1").await.unwrap(), None);
        kv.purge_prefix().await.unwrap();
    }
}
