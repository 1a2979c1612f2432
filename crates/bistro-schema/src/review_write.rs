//! Review mutations: `writeReview` (one per customer and restaurant, after
//! a completed order there), `updateReview` and `deleteReview` (one's own).
//! Each write drops the restaurant's cached rating summary once it has
//! committed, so the next read recomputes it.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use bistro_data::entity::review;
use bistro_data::review::ReviewProblem;

use crate::auth::{Rule, signed_in, viewer};
use crate::error::{Coded, ErrorCode, nullable};
use crate::ids::{NodeType, expect_global_id};
use crate::objects::Review;
use crate::request::context::{loaders, scope};
use crate::user_error::{UserError, UserErrorCode};

const MAX_BODY_CHARS: usize = 2_000;

/// A new review.
#[derive(InputObject)]
pub struct WriteReviewInput {
    /// The restaurant (where the viewer has a completed order).
    pub restaurant_id: ID,
    /// 1 (poor) to 5 (excellent).
    pub rating: i32,
    /// What to say (at most 2,000 characters; may be empty).
    #[graphql(default)]
    pub body: String,
}

/// Changes to one's review; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateReviewInput {
    /// The review.
    pub review_id: ID,
    /// New rating, 1 to 5.
    pub rating: Option<i32>,
    /// New text.
    pub body: Option<String>,
}

/// Deletes one's review.
#[derive(InputObject)]
pub struct DeleteReviewInput {
    /// The review.
    pub review_id: ID,
}

/// Result of `writeReview` and `updateReview`.
#[derive(SimpleObject)]
pub struct ReviewPayload {
    /// The review as stored; null when there are user errors.
    pub review: Option<Review>,
    /// Why it did not work, if it did not.
    pub user_errors: Vec<UserError>,
}

/// Result of `deleteReview`.
#[derive(SimpleObject)]
pub struct DeleteReviewPayload {
    /// The id of the deleted review; null when there are user errors.
    pub deleted_review_id: Option<ID>,
    /// Why it did not work, if it did not.
    pub user_errors: Vec<UserError>,
}

fn check_rating(rating: i32, errors: &mut Vec<UserError>) {
    if !(1..=5).contains(&rating) {
        errors.push(UserError::on(
            "rating",
            UserErrorCode::RatingInvalid,
            "Rate from 1 to 5.",
        ));
    }
}

fn check_body(body: &str, errors: &mut Vec<UserError>) -> String {
    let body = body.trim().to_owned();
    if body.chars().count() > MAX_BODY_CHARS || !bistro_auth::text::is_clean_text(&body) {
        errors.push(UserError::on(
            "body",
            UserErrorCode::ReviewBodyInvalid,
            format!(
                "Use at most {MAX_BODY_CHARS} visible characters and line breaks \
                 (no invisible or direction-changing ones)."
            ),
        ));
    }
    body
}

fn failed(errors: Vec<UserError>) -> ReviewPayload {
    ReviewPayload {
        review: None,
        user_errors: errors,
    }
}

/// The payload of a review write: the review, or why it was refused.
fn written_payload(written: Result<review::Model, ReviewProblem>) -> ReviewPayload {
    match written {
        Ok(review) => ReviewPayload {
            review: Some(Review(review)),
            user_errors: Vec::new(),
        },
        Err(why) => failed(vec![problem(why)]),
    }
}

fn problem(problem: ReviewProblem) -> UserError {
    match problem {
        ReviewProblem::NoCompletedOrder => UserError::on(
            "restaurantId",
            UserErrorCode::ReviewNotAllowed,
            "Reviews come after a completed order at the restaurant.",
        ),
        ReviewProblem::AlreadyReviewed => UserError::on(
            "restaurantId",
            UserErrorCode::AlreadyReviewed,
            "You have reviewed this restaurant already; change that review instead.",
        ),
        ReviewProblem::NotFound => UserError::on(
            "reviewId",
            UserErrorCode::ReviewNotFound,
            "No review has this id.",
        ),
    }
}

/// The review with this id, if it is the viewer's (admins may act on any);
/// NOT_FOUND when there is none (reviews are public, so that leaks nothing).
async fn own_review(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<review::Model> {
    viewer(ctx).check(Rule::SignedIn)?;
    let id = expect_global_id(id, NodeType::Review)?;
    let review = loaders(ctx)?
        .review
        .load_one(id)
        .await
        .coded()?
        .ok_or_else(|| ErrorCode::NotFound.error("No review has this id."))?;
    viewer(ctx).check(Rule::Account {
        user_id: review.user_id,
    })?;
    Ok(review)
}

/// Review mutations.
#[derive(Default)]
pub struct ReviewMutation;

#[Object]
/// Review mutations.
impl ReviewMutation {
    /// Reviews a restaurant where the viewer has a completed order; one
    /// review per customer and restaurant. Signed-in users only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn write_review(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant, a rating, a text.")] input: WriteReviewInput,
    ) -> Option<ReviewPayload> {
        signed_in(ctx, |user_id| async move {
            let restaurant_id = expect_global_id(&input.restaurant_id, NodeType::Restaurant)?;
            let mut errors = Vec::new();
            check_rating(input.rating, &mut errors);
            let body = check_body(&input.body, &mut errors);
            if !errors.is_empty() {
                return Ok(failed(errors));
            }
            let written = scope(ctx)?
                .write_review(bistro_data::NewReview {
                    user_id,
                    restaurant_id,
                    rating: input.rating,
                    body,
                })
                .await
                .coded()?;
            Ok(written_payload(written))
        })
        .await
    }

    /// Changes one's review. The review's author and admins only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn update_review(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The review and what to change.")] input: UpdateReviewInput,
    ) -> Option<ReviewPayload> {
        nullable(ctx, async {
            let review = own_review(ctx, &input.review_id).await?;
            let mut errors = Vec::new();
            if let Some(rating) = input.rating {
                check_rating(rating, &mut errors);
            }
            let body = input.body.as_deref().map(|b| check_body(b, &mut errors));
            if !errors.is_empty() {
                return Ok(failed(errors));
            }
            let updated = scope(ctx)?
                .update_review(review.id, input.rating, body)
                .await
                .coded()?;
            Ok(written_payload(updated))
        })
        .await
    }

    /// Deletes one's review. The review's author and admins only.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn delete_review(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The review.")] input: DeleteReviewInput,
    ) -> Option<DeleteReviewPayload> {
        nullable(ctx, async {
            let review = own_review(ctx, &input.review_id).await?;
            let deleted = scope(ctx)?.delete_review(&review).await.coded()?;
            Ok(match deleted {
                Ok(()) => DeleteReviewPayload {
                    deleted_review_id: Some(input.review_id),
                    user_errors: Vec::new(),
                },
                Err(why) => DeleteReviewPayload {
                    deleted_review_id: None,
                    user_errors: vec![problem(why)],
                },
            })
        })
        .await
    }
}
