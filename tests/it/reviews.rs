//! Reviews on both store pairs: only after a completed order, one per
//! customer and restaurant, one's own to change or delete, and the cached
//! rating summary follows every write.

use bistro_schema::ids::NodeType;
use bistro_tests::{DEMO_PASSWORD, TestApp, error_codes, store_pairs};
use serde_json::{Value, json};

use crate::ordering::{STAFF_1, gid, place_order, user_codes};

const WRITE: &str = "mutation($input: WriteReviewInput!) { writeReview(input: $input) { \
    review { id rating body authorName } userErrors { field code } } }";
const UPDATE: &str = "mutation($input: UpdateReviewInput!) { updateReview(input: $input) { \
    review { id rating body } userErrors { field code } } }";
const DELETE: &str = "mutation($id: ID!) { deleteReview(input: { reviewId: $id }) { \
    deletedReviewId userErrors { code } } }";

async fn summary(app: &TestApp, slug: &str) -> (Value, Value) {
    let data = app
        .data(
            "query($slug: String!) { restaurant(slug: $slug) { rating { average count } reviews(first: 1) { totalCount } } }",
            json!({ "slug": slug }),
        )
        .await;
    let restaurant = &data["restaurant"];
    assert_eq!(
        restaurant["rating"]["count"],
        restaurant["reviews"]["totalCount"]
    );
    (
        restaurant["rating"]["count"].clone(),
        restaurant["rating"]["average"].clone(),
    )
}

#[tokio::test]
async fn reviews_follow_completed_orders_and_refresh_the_rating() {
    for pair in store_pairs() {
        let app = TestApp::spawn(&pair).await;
        let slug = bistro_sql::query::restaurants_by_ids(&app.app.db, &[1])
            .await
            .unwrap()[0]
            .slug
            .clone();
        let restaurant = gid(NodeType::Restaurant, 1);
        let (_, author) = app.new_customer("critic").await;
        let (_, other) = app.new_customer("bystander").await;
        let review = |rating: i32, body: &str| json!({ "input": { "restaurantId": restaurant, "rating": rating, "body": body } });

        let (_, anonymous) = app.graphql(WRITE, review(5, "Lovely")).await;
        assert_eq!(error_codes(&anonymous), ["UNAUTHENTICATED"]);
        let (_, early) = app
            .graphql_as(Some(&author), WRITE, review(5, "Lovely"))
            .await;
        assert_eq!(
            user_codes(&early["data"]["writeReview"]),
            ["REVIEW_NOT_ALLOWED"]
        );

        // A placed order is not enough; a completed one is.
        let staff = app.login(STAFF_1, DEMO_PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let order = place_order(&app, &author, 1, "PICKUP").await;
        let (_, placed_only) = app
            .graphql_as(Some(&author), WRITE, review(5, "Lovely"))
            .await;
        assert_eq!(
            user_codes(&placed_only["data"]["writeReview"]),
            ["REVIEW_NOT_ALLOWED"]
        );
        for to in ["ACCEPTED", "PREPARING", "READY", "COMPLETED"] {
            app.graphql_as(Some(&staff), "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(input: { orderId: $id, to: $to }) { userErrors { code } } }", json!({ "id": order, "to": to }))
                .await;
        }

        let (count_before, _) = summary(&app, &slug).await;
        let count_before = count_before.as_u64().unwrap();
        for (input, code) in [
            (review(0, "Zero"), "RATING_INVALID"),
            (review(6, "Six"), "RATING_INVALID"),
            (review(4, "Tasty\u{202E}!"), "REVIEW_BODY_INVALID"),
            (review(4, &"long ".repeat(500)), "REVIEW_BODY_INVALID"),
        ] {
            let (_, refused) = app.graphql_as(Some(&author), WRITE, input).await;
            assert_eq!(
                user_codes(&refused["data"]["writeReview"]),
                [code],
                "[{}]",
                pair.name()
            );
        }
        let (_, written) = app
            .graphql_as(Some(&author), WRITE, review(5, "  Lovely pasta.  "))
            .await;
        let written = &written["data"]["writeReview"];
        assert_eq!(
            written["userErrors"],
            json!([]),
            "[{}] {written}",
            pair.name()
        );
        assert_eq!(written["review"]["body"], "Lovely pasta.");
        assert_eq!(written["review"]["authorName"], "critic");
        let review_id = written["review"]["id"].as_str().unwrap().to_owned();
        // The cached summary was warmed before the write and dropped by it.
        let (count, average) = summary(&app, &slug).await;
        assert_eq!(count, count_before + 1, "[{}]", pair.name());
        let (_, twice) = app
            .graphql_as(Some(&author), WRITE, review(4, "Again"))
            .await;
        assert_eq!(
            user_codes(&twice["data"]["writeReview"]),
            ["ALREADY_REVIEWED"]
        );

        // One's own review only.
        let change = json!({ "input": { "reviewId": review_id, "rating": 1 } });
        let (_, foreign) = app.graphql_as(Some(&other), UPDATE, change.clone()).await;
        assert_eq!(error_codes(&foreign), ["FORBIDDEN"]);
        let (_, changed) = app.graphql_as(Some(&author), UPDATE, change).await;
        assert_eq!(
            changed["data"]["updateReview"]["review"]["rating"], 1,
            "{changed}"
        );
        let (count_after, average_after) = summary(&app, &slug).await;
        assert_eq!(count_after, count);
        assert!(
            average_after.as_f64().unwrap() < average.as_f64().unwrap(),
            "{average} → {average_after}"
        );

        let (_, foreign) = app
            .graphql_as(Some(&other), DELETE, json!({ "id": review_id }))
            .await;
        assert_eq!(error_codes(&foreign), ["FORBIDDEN"]);
        let (_, deleted) = app
            .graphql_as(Some(&author), DELETE, json!({ "id": review_id }))
            .await;
        assert_eq!(
            deleted["data"]["deleteReview"]["deletedReviewId"], review_id,
            "{deleted}"
        );
        assert_eq!(summary(&app, &slug).await.0, count_before);
        let (_, gone) = app
            .graphql_as(Some(&author), DELETE, json!({ "id": review_id }))
            .await;
        assert_eq!(error_codes(&gone), ["NOT_FOUND"]);
        app.stop().await;
    }
}
