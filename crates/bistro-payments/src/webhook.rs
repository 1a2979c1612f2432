//! Stripe's webhooks: checking that an event comes from Stripe
//! ([`verify_signature`]), and what an event says happened to a payment
//! outside Bistro ([`parse_event`]). The server reads the raw body, checks
//! it here, and hands the event to the data layer; nothing here knows HTTP
//! or orders.
//!
//! Stripe signs each delivery with the endpoint's secret:
//! `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`, with
//! one `v1` per secret while a secret is being rolled (and perhaps a `v0`,
//! which is ignored). A delivery is accepted when one of its `v1` matches
//! (compared in constant time) and its time is within
//! [`SIGNATURE_TOLERANCE`] of now, so a captured delivery cannot be replayed
//! later; within the tolerance, the event's id makes it count once.

use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;

/// How far a signature's time may be from now (Stripe's libraries use five
/// minutes too).
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// [`SIGNATURE_TOLERANCE_SECS`] as a duration.
pub const SIGNATURE_TOLERANCE: std::time::Duration =
    std::time::Duration::from_secs(SIGNATURE_TOLERANCE_SECS.unsigned_abs());

/// Why a delivery's signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header.
    #[error("no Stripe-Signature header")]
    Missing,
    /// The header has no time or no `v1` signature, or one that is not hex.
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    /// The signature's time is more than the tolerance away from now.
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    /// No `v1` signature is the body's under the secret.
    #[error("no signature matches")]
    Mismatch,
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks a delivery: `header` is its `Stripe-Signature`, `payload` the
/// raw body as received, `secret` the endpoint's signing secret
/// (`whsec_…`), `now` the current Unix time.
pub fn verify_signature(
    header: Option<&str>,
    payload: &[u8],
    secret: &str,
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp: Option<&str> = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" if timestamp.is_none() => timestamp = Some(value),
            "t" => return Err(SignatureError::Malformed),
            "v1" => signatures.push(from_hex(value).ok_or(SignatureError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    let time: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - time).abs() > SIGNATURE_TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let matches = signatures.iter().any(|signature| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(payload);
        mac.verify_slice(signature).is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `Stripe-Signature` header of `payload` at `time` under `secret`:
/// what Stripe sends (tests sign the events localstripe does not send with it).
pub fn sign(payload: &[u8], secret: &str, time: i64) -> String {
    use std::fmt::Write as _;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 takes a key of any length");
    mac.update(time.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let digest = mac.finalize().into_bytes();
    let hex = digest.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    });
    format!("t={time},v1={hex}")
}

/// A verified event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// Stripe's id for it (`evt_…`): an event counts once.
    pub id: String,
    /// Its type, e.g. `charge.refunded`.
    pub kind: String,
    /// What it says happened, if it is an event Bistro acts on.
    pub change: Option<ProcessorChange>,
}

/// What happened to a payment outside Bistro, as an event reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessorChange {
    /// `payment_intent.canceled`: the authorization is gone (it expired
    /// after seven days, or someone cancelled it in the dashboard).
    AuthorizationCanceled {
        /// The PaymentIntent.
        reference: String,
        /// Stripe's `cancellation_reason` (`automatic` for an expiry).
        reason: Option<String>,
    },
    /// `charge.refunded`: money given back (all of it, or part).
    Refunded {
        /// The PaymentIntent.
        reference: String,
        /// The charge's amount, in minor units.
        amount: i64,
        /// How much of it is refunded so far (all refunds together).
        amount_refunded: i64,
    },
    /// `charge.dispute.created`: the card holder disputed the charge with
    /// their bank, which holds the money until the dispute ends.
    DisputeOpened {
        /// The PaymentIntent.
        reference: String,
        /// The bank's reason (`fraudulent`, `product_not_received`, …).
        reason: Option<String>,
    },
}

impl ProcessorChange {
    /// The PaymentIntent it concerns.
    pub fn reference(&self) -> &str {
        match self {
            Self::AuthorizationCanceled { reference, .. }
            | Self::Refunded { reference, .. }
            | Self::DisputeOpened { reference, .. } => reference,
        }
    }
}

/// Why a signed body is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Stripe event: {0}")]
pub struct EventError(pub String);

/// Reads a verified body: the event's id and type, and what it changed
/// when it is one of the events Bistro handles (`payment_intent.canceled`,
/// `charge.refunded`, `charge.dispute.created`); any other type is an
/// event to acknowledge and ignore.
pub fn parse_event(payload: &[u8]) -> Result<WebhookEvent, EventError> {
    let event: Value =
        serde_json::from_slice(payload).map_err(|e| EventError(format!("invalid JSON: {e}")))?;
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let id = text(&event["id"]).ok_or_else(|| EventError("no id".into()))?;
    let kind = text(&event["type"]).ok_or_else(|| EventError("no type".into()))?;
    let object = &event["data"]["object"];
    let missing = |field: &str| EventError(format!("{kind}: no {field}"));
    // A reference field is the object's id, or the object expanded in its place.
    let reference = |value: &Value| text(value).or_else(|| text(&value["id"]));
    let change = match kind.as_str() {
        "payment_intent.canceled" => Some(ProcessorChange::AuthorizationCanceled {
            reference: reference(&object["id"]).ok_or_else(|| missing("id"))?,
            reason: text(&object["cancellation_reason"]),
        }),
        "charge.refunded" => match reference(&object["payment_intent"]) {
            // A charge made without a PaymentIntent is none of Bistro's.
            None => None,
            Some(reference) => Some(ProcessorChange::Refunded {
                reference,
                amount: object["amount"].as_i64().ok_or_else(|| missing("amount"))?,
                amount_refunded: object["amount_refunded"]
                    .as_i64()
                    .ok_or_else(|| missing("amount_refunded"))?,
            }),
        },
        "charge.dispute.created" => {
            reference(&object["payment_intent"]).map(|reference| ProcessorChange::DisputeOpened {
                reference,
                reason: text(&object["reason"]),
            })
        }
        _ => None,
    };
    Ok(WebhookEvent { id, kind, change })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn a_signature_made_with_the_secret_verifies_and_others_do_not() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_800_000_000;
        let header = sign(body, SECRET, now);
        assert_eq!(verify_signature(Some(&header), body, SECRET, now), Ok(()));
        // Another secret, another body.
        assert_eq!(
            verify_signature(Some(&header), body, "whsec_other", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(Some(&header), br#"{"id":"evt_2"}"#, SECRET, now),
            Err(SignatureError::Mismatch)
        );
        // The body as received, byte for byte: re-serialised JSON is another body.
        assert_eq!(
            verify_signature(Some(&header), br#"{ "id": "evt_1" }"#, SECRET, now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn old_and_future_timestamps_are_refused_beyond_five_minutes() {
        let body = b"{}";
        let signed_at = 1_800_000_000;
        let header = sign(body, SECRET, signed_at);
        for now in [signed_at + 300, signed_at - 300] {
            assert_eq!(verify_signature(Some(&header), body, SECRET, now), Ok(()));
        }
        for now in [signed_at + 301, signed_at - 301] {
            assert_eq!(
                verify_signature(Some(&header), body, SECRET, now),
                Err(SignatureError::Stale)
            );
        }
    }

    #[test]
    fn any_v1_of_a_rolled_secret_is_accepted() {
        let body = b"{}";
        let now = 1_800_000_000;
        let old = sign(body, "whsec_old", now);
        let new = sign(body, SECRET, now);
        let old_v1 = old.split_once(",v1=").unwrap().1;
        let new_v1 = new.split_once(",v1=").unwrap().1;
        let both = format!("t={now},v1={old_v1},v1={new_v1},v0=ignored");
        assert_eq!(verify_signature(Some(&both), body, SECRET, now), Ok(()));
        assert_eq!(
            verify_signature(Some(&both), body, "whsec_old", now),
            Ok(())
        );
        assert_eq!(
            verify_signature(Some(&both), body, "whsec_third", now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let body = b"{}";
        let now = 1_800_000_000;
        assert_eq!(
            verify_signature(None, body, SECRET, now),
            Err(SignatureError::Missing)
        );
        for header in [
            "",
            "v1=00",
            "t=abc,v1=00",
            &format!("t={now}"),
            &format!("t={now},v1=zz"),
            &format!("t={now},t={now},v1=00"),
        ] {
            assert_eq!(
                verify_signature(Some(header), body, SECRET, now),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn events_bistro_handles_are_read_and_others_are_passed_over() {
        let event = |kind: &str, object: &str| {
            format!(r#"{{"id":"evt_1","type":"{kind}","data":{{"object":{object}}}}}"#)
        };
        let canceled = parse_event(
            event(
                "payment_intent.canceled",
                r#"{"id":"pi_1","cancellation_reason":"automatic"}"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            canceled.change,
            Some(ProcessorChange::AuthorizationCanceled {
                reference: "pi_1".into(),
                reason: Some("automatic".into())
            })
        );
        let refunded = parse_event(
            event(
                "charge.refunded",
                r#"{"id":"ch_1","payment_intent":"pi_1","amount":1000,"amount_refunded":250}"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            refunded.change,
            Some(ProcessorChange::Refunded {
                reference: "pi_1".into(),
                amount: 1000,
                amount_refunded: 250
            })
        );
        let dispute = parse_event(
            event(
                "charge.dispute.created",
                r#"{"id":"dp_1","charge":"ch_1","payment_intent":{"id":"pi_1"},"reason":"fraudulent"}"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(dispute.change.as_ref().map(|c| c.reference()), Some("pi_1"));
        let other = parse_event(event("customer.created", r#"{"id":"cus_1"}"#).as_bytes()).unwrap();
        assert_eq!(
            (other.kind.as_str(), other.change),
            ("customer.created", None)
        );
        assert!(parse_event(b"not json").is_err());
        assert!(parse_event(br#"{"type":"charge.refunded"}"#).is_err());
    }
}
