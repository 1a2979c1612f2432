//! The GraphiQL playground is served by the binary itself and works offline.

use bistro_tests::{StorePair, TestApp};

#[tokio::test]
async fn graphiql_loads_every_asset_from_the_server_itself() {
    let app = TestApp::spawn(&StorePair::Embedded).await;
    let page = app.client().get(app.url("/graphiql")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();

    // Every src/href is local (no CDN), and each one is served.
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let url = part.split('"').next().unwrap();
            assert!(
                !url.contains("://"),
                "GraphiQL must not load {url} from the network"
            );
            if url.starts_with('/') {
                assets.push(url.to_owned());
            }
        }
    }
    assert!(
        assets.len() >= 6,
        "graphiql's css and ours, react, react-dom, graphiql and our script: {assets:?}"
    );
    let mut scripts = String::new();
    for asset in assets {
        let response = app.client().get(app.url(&asset)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let body = response.text().await.unwrap();
        assert!(!body.trim().is_empty(), "{asset} has content");
        if asset.ends_with(".js") {
            scripts.push_str(&body);
        }
    }
    assert!(
        scripts.contains("query RestaurantPage"),
        "the page carries the example query"
    );
    let missing = app
        .client()
        .get(app.url("/graphiql/assets/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn graphiql_can_be_switched_off() {
    let app = TestApp::spawn_with(&StorePair::Embedded, |c| c.http.graphiql = false).await;
    let page = app.client().get(app.url("/graphiql")).send().await.unwrap();
    assert_eq!(page.status(), 404);
    app.stop().await;
}
