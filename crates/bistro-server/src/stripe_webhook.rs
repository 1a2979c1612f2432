//! `POST /webhooks/stripe`: what Stripe reports it did on its own (an
//! authorization cancelled or expired, a refund or a dispute from its
//! dashboard), made order state by the data layer
//! (`bistro_data::processor`). Served when the provider is Stripe and
//! `payments.stripe_webhook_secret` is set.
//!
//! | request | answer |
//! |---|---|
//! | no `Stripe-Signature`, a malformed one, one no `v1` of which is the body's under the secret, or one older or newer than five minutes | `400`, `{"error": {"code": "SIGNATURE_INVALID", …}}`, and nothing read |
//! | signed, but not a Stripe event (no id or type) | `400` (`EVENT_INVALID`) |
//! | a signed event Bistro does not act on (`payment_intent.succeeded`, `customer.created`, …) | `200`, `{"received": true, "outcome": "ignored"}`: Stripe stops sending it |
//! | an event Bistro acts on | `200` with `outcome` `recorded` (the order changed), `duplicate` (its id was handled before), `unknown_payment` (not one of Bistro's) or `unchanged` (Bistro's own void or refund reported back, or a late report) |
//! | the order is going through a payment change of Bistro's own | `503` with `Retry-After`: Stripe delivers it again later, when recovery has settled the change |
//! | a store failed | `500`: Stripe delivers it again |
//!
//! The body is read whole, as bytes, before anything parses it: the
//! signature is over the bytes Stripe sent, not over a re-serialisation.
//! The work is a few SQL statements (no call to Stripe), so the answer
//! comes well within Stripe's timeout.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bistro_data::processor::ProcessorOutcome;
use bistro_payments::webhook::{parse_event, verify_signature};
use serde_json::json;

use crate::state::AppState;

/// Largest body accepted (Stripe's events are a few kilobytes).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn refused(code: &str, message: String) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        json!({ "error": { "code": code, "message": message } }),
    )
}

/// The handler (see the module documentation).
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let secret = &state.config.payments.stripe_webhook_secret;
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    if let Err(error) = verify_signature(signature, &body, secret, chrono::Utc::now().timestamp()) {
        tracing::warn!(%error, "refused a webhook delivery whose signature does not verify");
        return refused("SIGNATURE_INVALID", error.to_string());
    }
    let event = match parse_event(&body) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "refused a signed webhook delivery that is not an event");
            return refused("EVENT_INVALID", error.to_string());
        }
    };
    let Some(change) = event.change else {
        tracing::debug!(event.id = %event.id, event.kind = %event.kind, "ignored a Stripe event");
        return answer(
            StatusCode::OK,
            json!({ "received": true, "outcome": "ignored" }),
        );
    };
    let scope = state.data.scope();
    let outcome = match scope
        .apply_processor_change(&event.id, &event.kind, &change)
        .await
    {
        Ok(outcome) => outcome,
        Err(error) => {
            // Logged where it happened; Stripe delivers the event again.
            tracing::warn!(%error, event.id = %event.id, "a Stripe event could not be recorded yet");
            return answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": { "code": "STORE_UNAVAILABLE", "message": "try again" } }),
            );
        }
    };
    let name = match outcome {
        ProcessorOutcome::Recorded { .. } => "recorded",
        ProcessorOutcome::Duplicate => "duplicate",
        ProcessorOutcome::UnknownPayment => "unknown_payment",
        ProcessorOutcome::Unchanged => "unchanged",
        ProcessorOutcome::Busy => {
            tracing::info!(event.id = %event.id, event.kind = %event.kind, "a Stripe event waits for a payment change in progress; Stripe delivers it again");
            let mut response = answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": { "code": "ORDER_BUSY", "message": "the order is going through a payment change; deliver the event again later" } }),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            return response;
        }
    };
    answer(StatusCode::OK, json!({ "received": true, "outcome": name }))
}
