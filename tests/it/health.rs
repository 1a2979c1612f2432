//! Health endpoints on every store pair.

use bistro_tests::{TestApp, store_pairs};
use serde_json::Value;

#[tokio::test]
async fn live_and_ready_report_both_stores() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let live = app
            .client()
            .get(app.url("/health/live"))
            .send()
            .await
            .unwrap();
        assert_eq!(live.status(), 200);
        let ready = app
            .client()
            .get(app.url("/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200, "[{}]", pair.name());
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        assert_eq!(body["checks"]["relationalStore"]["status"], "up");
        assert_eq!(body["checks"]["keyValueStore"]["status"], "up");
        let (sql, kv) = match pair.name() {
            "sqlite+memory" => ("sqlite", "memory"),
            _ => ("postgres", "redis"),
        };
        assert_eq!(body["checks"]["relationalStore"]["backend"], sql);
        assert_eq!(body["checks"]["keyValueStore"]["backend"], kv);
        app.stop().await;
    }
}
