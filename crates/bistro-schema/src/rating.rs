//! Restaurant rating summaries: computed from reviews in SQL, cached in the
//! key-value store under `rating:v1:{restaurant id}` as `"{average}|{count}"`.

use async_graphql::SimpleObject;
use bistro_sql::query::RatingAggregate;

/// The cache key of a restaurant's summary (the version allows changing the encoding).
pub fn cache_key(restaurant_id: i64) -> String {
    format!("rating:v1:{restaurant_id}")
}

pub(crate) fn encode(aggregate: &RatingAggregate) -> String {
    format!("{}|{}", aggregate.average, aggregate.count)
}

/// `None` for a value this version cannot read: treated as a cache miss.
pub(crate) fn decode(value: &str) -> Option<RatingAggregate> {
    let (average, count) = value.split_once('|')?;
    Some(RatingAggregate {
        average: average.parse().ok()?,
        count: count.parse().ok()?,
    })
}

/// What a restaurant's reviewers think, on average.
#[derive(SimpleObject, Debug, Clone, Copy)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_summaries_round_trip_and_garbage_is_a_miss() {
        let agg = RatingAggregate {
            average: 4.25,
            count: 12,
        };
        assert_eq!(decode(&encode(&agg)), Some(agg));
        assert_eq!(decode("4.25"), None);
        assert_eq!(decode("x|1"), None);
    }
}
