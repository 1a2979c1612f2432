//! Live events, published on the key-value store's pub/sub after the write
//! that caused them has committed. One channel and one JSON payload format
//! per kind, versioned in both the channel name and the payload: a change
//! that breaks readers gets a new channel (`…:v2`) published next to the old
//! one until every reader has moved.
//!
//! Delivery is at most once (Redis pub/sub; a replica that is reconnecting
//! misses what was published meanwhile), so a subscriber that must not miss
//! a transition re-reads the order from SQL, where every transition is an
//! `order_events` row. A failed publish is logged and never fails the write
//! that caused it.
//!
//! **`events:orders:v1`** — every order transition, `PLACED` at checkout
//! included. One channel for all orders: each replica holds one
//! subscription and fans out to its subscribers, who filter by order,
//! customer or restaurant.
//!
//! ```json
//! { "version": 1, "orderId": 42, "restaurantId": 3, "customerId": 7,
//!   "from": "PLACED", "to": "ACCEPTED", "paymentStatus": "CAPTURED",
//!   "at": "2026-11-29T18:30:00.123Z",
//!   "actor": { "kind": "RESTAURANT", "userId": 12 } }
//! ```
//!
//! `from` is `null` for `PLACED`; statuses are the stored (and GraphQL)
//! enum names; `actor.kind` is `CUSTOMER`, `RESTAURANT` or `SYSTEM`
//! (`userId` null for the system). A subscriber decides who may see the
//! event from `customerId` and `restaurantId`, as the schema's rules do.
//!
//! **`events:menu:v1`** — a menu item became orderable or not.
//!
//! ```json
//! { "version": 1, "menuItemId": 9, "restaurantId": 3,
//!   "reason": "SOLD_OUT", "available": true, "stockRemaining": 0,
//!   "at": "2026-11-29T18:30:00.123Z" }
//! ```
//!
//! `reason` is `AVAILABILITY_SET` (staff switched `available`), `SOLD_OUT`
//! (the day's limited stock reached zero) or `RESTOCKED` (units came back:
//! a failed checkout, a cancelled order, a larger daily stock); `available`
//! is the item's flag, `stockRemaining` today's units left (`null` when
//! unlimited). The item is orderable when `available` and `stockRemaining`
//! is not 0.

use bistro_kv::Kv;
use bistro_sql::entity::order;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::stored;

/// The channel of order transitions (under the key-value prefix).
pub const ORDER_EVENTS_CHANNEL: &str = "events:orders:v1";

/// The channel of menu availability changes (under the key-value prefix).
pub const MENU_EVENTS_CHANNEL: &str = "events:menu:v1";

/// Who made a transition, in an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventActor {
    /// `CUSTOMER`, `RESTAURANT` or `SYSTEM`.
    pub kind: String,
    /// The user who acted; `None` for the system.
    pub user_id: Option<i64>,
}

impl EventActor {
    /// The order's customer.
    pub fn customer(user_id: i64) -> Self {
        Self {
            kind: "CUSTOMER".into(),
            user_id: Some(user_id),
        }
    }

    /// Someone acting for the restaurant (staff, or an admin).
    pub fn restaurant(user_id: i64) -> Self {
        Self {
            kind: "RESTAURANT".into(),
            user_id: Some(user_id),
        }
    }
}

/// An order transition, as published on [`ORDER_EVENTS_CHANNEL`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderTransitionEvent {
    /// Payload format version: 1.
    pub version: u32,
    /// The order.
    pub order_id: i64,
    /// Its restaurant.
    pub restaurant_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// The status it left; `None` when it was placed.
    pub from: Option<String>,
    /// The status it reached.
    pub to: String,
    /// Its payment status after the transition.
    pub payment_status: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who made it.
    pub actor: EventActor,
}

/// Why a menu item's availability changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AvailabilityReason {
    /// Staff switched the item on or off.
    AvailabilitySet,
    /// The day's limited stock reached zero.
    SoldOut,
    /// Units of the day's stock came back.
    Restocked,
}

/// A menu availability change, as published on [`MENU_EVENTS_CHANNEL`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MenuAvailabilityEvent {
    /// Payload format version: 1.
    pub version: u32,
    /// The item.
    pub menu_item_id: i64,
    /// Its restaurant.
    pub restaurant_id: i64,
    /// Why.
    pub reason: AvailabilityReason,
    /// The item's `available` flag.
    pub available: bool,
    /// Today's units left; `None` when unlimited.
    pub stock_remaining: Option<i64>,
    /// When (RFC 3339, UTC).
    pub at: String,
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn publish<T: Serialize>(kv: &Kv, channel: &str, event: &T) {
    let payload = match serde_json::to_string(event) {
        Ok(payload) => payload,
        Err(error) => {
            tracing::error!(%error, channel, "event did not serialise");
            return;
        }
    };
    if let Err(error) = kv.publish(channel, &payload).await {
        tracing::warn!(%error, channel, "event not published; subscribers miss it");
    }
}

/// Publishes that `order` reached its current status from `from`.
pub async fn publish_order_transition(
    kv: &Kv,
    order: &order::Model,
    from: Option<bistro_sql::entity::OrderStatus>,
    actor: EventActor,
    at: DateTime<Utc>,
) {
    let event = OrderTransitionEvent {
        version: 1,
        order_id: order.id,
        restaurant_id: order.restaurant_id,
        customer_id: order.user_id,
        from: from.map(stored),
        to: stored(order.status),
        payment_status: stored(order.payment_status),
        at: timestamp(at),
        actor,
    };
    publish(kv, ORDER_EVENTS_CHANNEL, &event).await;
}

/// Publishes a change of a menu item's availability.
pub async fn publish_menu_availability(
    kv: &Kv,
    menu_item_id: i64,
    restaurant_id: i64,
    reason: AvailabilityReason,
    available: bool,
    stock_remaining: Option<i64>,
) {
    let event = MenuAvailabilityEvent {
        version: 1,
        menu_item_id,
        restaurant_id,
        reason,
        available,
        stock_remaining,
        at: timestamp(Utc::now()),
    };
    publish(kv, MENU_EVENTS_CHANNEL, &event).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_the_documented_json() {
        let event = OrderTransitionEvent {
            version: 1,
            order_id: 42,
            restaurant_id: 3,
            customer_id: 7,
            from: None,
            to: "PLACED".into(),
            payment_status: "AUTHORIZED".into(),
            at: "2026-11-29T18:30:00.123Z".into(),
            actor: EventActor::customer(7),
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({
                "version": 1, "orderId": 42, "restaurantId": 3, "customerId": 7,
                "from": null, "to": "PLACED", "paymentStatus": "AUTHORIZED",
                "at": "2026-11-29T18:30:00.123Z",
                "actor": { "kind": "CUSTOMER", "userId": 7 }
            })
        );
        let menu = MenuAvailabilityEvent {
            version: 1,
            menu_item_id: 9,
            restaurant_id: 3,
            reason: AvailabilityReason::SoldOut,
            available: true,
            stock_remaining: Some(0),
            at: "2026-11-29T18:30:00.123Z".into(),
        };
        assert_eq!(
            serde_json::to_value(&menu).unwrap()["reason"],
            serde_json::json!("SOLD_OUT")
        );
    }
}
