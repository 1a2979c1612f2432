//! Writes of every kind on SQLite, all at once, behind a writer that holds
//! the database's write lock: each one waits its turn and succeeds.
//!
//! SQLite lets one writer in at a time. Bistro's writers take turns in the
//! process (`bistro_sql::write_turn`), and the one whose turn it is waits
//! on the busy timeout for a writer outside (a tool, another process). A
//! transaction that began deferred and read first could not wait: its
//! upgrade to a write lock is refused at once with `database is locked`.
//! So every write transaction begins `IMMEDIATE`
//! (`bistro_sql::ordering::begin_write`), and this test holds the lock from a
//! connection of its own (a pool of one, which takes no turn) while the
//! writes arrive, then lets it go.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bistro_schema::ids::NodeType;
use bistro_sql::SqlConfig;
use bistro_tests::{DEMO_PASSWORD, StorePair, TestApp};
use futures_util::future::BoxFuture;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::ordering::{STAFF_1, gid, place_order};

const CREATE_ITEM: &str = "mutation($input: CreateMenuItemInput!) { createMenuItem(input: $input) { menuItem { id } userErrors { code } } }";
const UPDATE_ITEM: &str = "mutation($input: UpdateMenuItemInput!) { updateMenuItem(input: $input) { menuItem { id } userErrors { code } } }";
const SET_AVAILABILITY: &str = "mutation($input: SetMenuItemAvailabilityInput!) { setMenuItemAvailability(input: $input) { menuItem { id } userErrors { code } } }";
const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { session { user { id } } userErrors { code } } }";
const WRITE_REVIEW: &str = "mutation($input: WriteReviewInput!) { writeReview(input: $input) { review { id } userErrors { code } } }";
const UPDATE_REVIEW: &str = "mutation($input: UpdateReviewInput!) { updateReview(input: $input) { review { id } userErrors { code } } }";
const DELETE_REVIEW: &str = "mutation($input: DeleteReviewInput!) { deleteReview(input: $input) { deletedReviewId userErrors { code } } }";
const ADVANCE: &str = "mutation($input: AdvanceOrderInput!) { advanceOrder(input: $input) { order { status } userErrors { code } } }";
const CANCEL: &str = "mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { order { status } userErrors { code } } }";

/// One write, as a client sends it: what it is, and whether it succeeded.
type Write = (String, BoxFuture<'static, Result<(), String>>);

/// A GraphQL mutation as `token`; succeeds when the answer has no error, no
/// user error, and `field` of its payload is not null.
fn mutation(
    app: &Arc<TestApp>,
    what: &str,
    token: Option<&str>,
    query: &'static str,
    input: Value,
    field: &'static str,
) -> Write {
    let app = app.clone();
    let token = token.map(str::to_owned);
    (
        what.to_owned(),
        Box::pin(async move {
            let (status, body) = app
                .graphql_as(token.as_deref(), query, json!({ "input": input }))
                .await;
            let payload = body["data"]
                .as_object()
                .and_then(|data| data.values().next())
                .cloned()
                .unwrap_or(Value::Null);
            if status == 200
                && body.get("errors").is_none()
                && payload["userErrors"] == json!([])
                && !payload[field].is_null()
            {
                Ok(())
            } else {
                Err(format!("{status} {body}"))
            }
        }),
    )
}

/// Moves an order through `steps` as staff.
async fn advance(app: &TestApp, staff: &str, order: &str, steps: &[&str]) {
    for to in steps {
        let (_, body) = app
            .graphql_as(
                Some(staff),
                ADVANCE,
                json!({ "input": { "orderId": order, "to": to } }),
            )
            .await;
        assert_eq!(
            body["data"]["advanceOrder"]["userErrors"],
            json!([]),
            "{body}"
        );
    }
}

/// A customer whose order at the first restaurant is completed (so they may review it).
async fn completed_customer(app: &TestApp, staff: &str, name: &str) -> String {
    let (_, token) = app.new_customer(name).await;
    let order = place_order(app, &token, 1, "PICKUP").await;
    advance(
        app,
        staff,
        &order,
        &["ACCEPTED", "PREPARING", "READY", "COMPLETED"],
    )
    .await;
    token
}

#[tokio::test]
async fn concurrent_writes_of_every_kind_wait_for_the_writer_before_them() {
    // Room in the pool for every waiting writer and the reads beside them.
    let app = Arc::new(
        TestApp::spawn_with(&StorePair::Embedded, |config| {
            config.sql.max_connections = 32;
        })
        .await,
    );
    let staff = app.login(STAFF_1, DEMO_PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let restaurant = gid(NodeType::Restaurant, 1);

    // What the writes act on: reviews to write, change and delete, orders to
    // accept and cancel, confirmation emails waiting in the outbox.
    let reviewer = completed_customer(&app, &staff, "reviewer").await;
    let mut reviews = Vec::new();
    for name in ["editor", "deleter"] {
        let token = completed_customer(&app, &staff, name).await;
        let (_, body) = app
            .graphql_as(
                Some(&token),
                WRITE_REVIEW,
                json!({ "input": { "restaurantId": restaurant, "rating": 4, "body": "Good" } }),
            )
            .await;
        let id = body["data"]["writeReview"]["review"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned();
        reviews.push((token, id));
    }
    let (_, buyer) = app.new_customer("buyer").await;
    let to_accept = place_order(&app, &buyer, 1, "DELIVERY").await;
    let (_, canceller) = app.new_customer("canceller").await;
    let to_cancel = place_order(&app, &canceller, 1, "PICKUP").await;
    let pending_mail = bistro_sql::outbox::all(&app.app.db)
        .await
        .unwrap()
        .iter()
        .filter(|row| row.sent_at.is_none())
        .count();
    assert!(pending_mail > 0);

    // Another writer takes the lock and writes, and holds on.
    let other = bistro_sql::connect(
        &app.app.config.database_url,
        &SqlConfig {
            max_connections: 1,
            ..SqlConfig::default()
        },
    )
    .await
    .unwrap();
    let (_turn, holder) = bistro_sql::ordering::begin_write(&other).await.unwrap();
    holder
        .execute_unprepared("UPDATE menu_items SET updated_at = updated_at WHERE restaurant_id = 2")
        .await
        .unwrap();

    let mut writes: Vec<Write> = Vec::new();
    for n in 0..3 {
        writes.push(mutation(
            &app,
            &format!("createMenuItem {n}"),
            Some(&staff),
            CREATE_ITEM,
            json!({ "restaurantId": restaurant, "name": format!("Special {n}"), "price": "9.50", "course": "MAIN" }),
            "menuItem",
        ));
    }
    writes.push(mutation(
        &app,
        "updateMenuItem",
        Some(&staff),
        UPDATE_ITEM,
        json!({ "id": gid(NodeType::MenuItem, 1), "description": "Now with more peas" }),
        "menuItem",
    ));
    writes.push(mutation(
        &app,
        "setMenuItemAvailability",
        Some(&staff),
        SET_AVAILABILITY,
        json!({ "id": gid(NodeType::MenuItem, 2), "available": false }),
        "menuItem",
    ));
    for n in 0..2 {
        writes.push(mutation(
            &app,
            &format!("register {n}"),
            None,
            REGISTER,
            json!({ "email": format!("queue-{n}-{}@example.com", uuid::Uuid::new_v4().simple()), "password": "a long and unusual passphrase", "displayName": "Queued" }),
            "session",
        ));
    }
    writes.push(mutation(
        &app,
        "writeReview",
        Some(&reviewer),
        WRITE_REVIEW,
        json!({ "restaurantId": restaurant, "rating": 5, "body": "Lovely" }),
        "review",
    ));
    writes.push(mutation(
        &app,
        "updateReview",
        Some(&reviews[0].0),
        UPDATE_REVIEW,
        json!({ "reviewId": reviews[0].1, "rating": 2 }),
        "review",
    ));
    writes.push(mutation(
        &app,
        "deleteReview",
        Some(&reviews[1].0),
        DELETE_REVIEW,
        json!({ "reviewId": reviews[1].1 }),
        "deletedReviewId",
    ));
    writes.push(mutation(
        &app,
        "advanceOrder",
        Some(&staff),
        ADVANCE,
        json!({ "orderId": to_accept, "to": "ACCEPTED" }),
        "order",
    ));
    writes.push(mutation(
        &app,
        "cancelOrder",
        Some(&canceller),
        CANCEL,
        json!({ "orderId": to_cancel }),
        "order",
    ));
    let mailer = app.clone();
    writes.push((
        "the outbox worker's round".to_owned(),
        Box::pin(async move {
            match mailer.mail_worker("queued-worker").run_once().await {
                Ok(handled) if handled > 0 => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }),
    ));

    // Every write starts; each one ends (refused) or waits: for the writer's
    // turn, or, the one whose turn it is, on its connection for the lock.
    let count = writes.len();
    let finished = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = writes
        .into_iter()
        .map(|(what, write)| {
            let finished = finished.clone();
            tokio::spawn(async move {
                let result = write.await;
                finished.fetch_add(1, Ordering::SeqCst);
                (what, result)
            })
        })
        .collect();
    let waiting = || bistro_sql::write_turn::writers(&app.app.db);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while waiting() + finished.load(Ordering::SeqCst) < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} writes waiting and {} finished of {count}",
            waiting(),
            finished.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    holder.commit().await.unwrap();
    let mut failures = Vec::new();
    for task in tasks {
        let (what, result) = task.await.unwrap();
        if let Err(error) = result {
            failures.push(format!("{what}: {error}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    other.close().await.unwrap();

    // And what they wrote is there.
    let data = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on MenuItem { available description } } }",
            json!({ "ids": [gid(NodeType::MenuItem, 1), gid(NodeType::MenuItem, 2)] }),
        )
        .await;
    assert_eq!(data["nodes"][0]["description"], "Now with more peas");
    assert_eq!(data["nodes"][1]["available"], false);
    let app = Arc::into_inner(app).expect("every write is done");
    app.stop().await;
}
