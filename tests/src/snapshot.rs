//! What clients see, made comparable between runs: ids, times, tokens,
//! cursors, emails and keys replaced by placeholders, so that a snapshot
//! (`insta`) changes only when the shape or the values a client reads do.

use serde_json::{Map, Value};

/// What replaces the value of a field called `key`, if anything does.
fn placeholder(key: &str) -> Option<&'static str> {
    Some(match key {
        "id" => "[id]",
        "accessToken" | "refreshToken" | "clientSecret" => "[token]",
        "cursor" | "startCursor" | "endCursor" => "[cursor]",
        "email" => "[email]",
        "idempotencyKey" => "[key]",
        "at" => "[time]",
        _ if key.ends_with("At") => "[time]",
        _ if key.ends_with("Id") => "[id]",
        _ => return None,
    })
}

/// `value` with every run-dependent string replaced (see the module docs);
/// nulls, numbers and everything else are kept.
pub fn redacted(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, field)| {
                    let kept = match (placeholder(key), field) {
                        (Some(mark), Value::String(_)) => Value::String(mark.to_owned()),
                        _ => redacted(field),
                    };
                    (key.clone(), kept)
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn ids_times_tokens_and_cursors_are_replaced_and_the_rest_kept() {
        let response = json!({ "data": { "order": {
            "id": "T3JkZXI6MQ", "status": "PLACED", "createdAt": "2026-12-07T08:00:00Z",
            "restaurantId": "x", "total": { "amount": "12.70" }, "tableNumber": null,
            "edges": [{ "cursor": "abc", "node": { "id": "y", "count": 3 } }],
            "session": { "accessToken": "eyJ", "expiresAt": "2026-12-07T09:00:00Z" }
        } } });
        assert_eq!(
            super::redacted(&response),
            json!({ "data": { "order": {
                "id": "[id]", "status": "PLACED", "createdAt": "[time]",
                "restaurantId": "[id]", "total": { "amount": "12.70" }, "tableNumber": null,
                "edges": [{ "cursor": "[cursor]", "node": { "id": "[id]", "count": 3 } }],
                "session": { "accessToken": "[token]", "expiresAt": "[time]" }
            } } })
        );
    }
}
