//! `RatingSummary`: what a restaurant's reviewers think, from the data
//! layer's rating summaries (`bistro_data::rating`).

use async_graphql::SimpleObject;
use bistro_data::RatingAggregate;

/// What a restaurant's reviewers think, on average.
///
/// Cache: public, 60 s.
#[derive(SimpleObject, Debug, Clone, Copy)]
#[graphql(serial)]
pub struct RatingSummary {
    /// Mean rating from 1 to 5, rounded to two decimals; null when there are no reviews yet.
    pub average: Option<f64>,
    /// Number of reviews.
    pub count: u64,
}

impl From<RatingAggregate> for RatingSummary {
    fn from(aggregate: RatingAggregate) -> Self {
        Self {
            average: (aggregate.count > 0).then(|| (aggregate.average * 100.0).round() / 100.0),
            count: aggregate.count,
        }
    }
}
