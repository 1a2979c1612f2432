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

use std::future::Future;

use bistro_auth::session::{SESSION_EVENTS_CHANNEL, SessionEndedEvent};
use bistro_kv::{Delivery, Kv};
use bistro_sql::entity::{OrderStatus, PaymentStatus, order};
use chrono::{DateTime, Utc};
use futures_util::stream::{BoxStream, SelectAll};
use futures_util::{FutureExt as _, StreamExt as _};
use serde::{Deserialize, Serialize};

use crate::{DataLayer, Result};

/// The channel of order transitions (under the key-value prefix).
pub const ORDER_EVENTS_CHANNEL: &str = "events:orders:v1";

/// The channel of menu availability changes (under the key-value prefix).
pub const MENU_EVENTS_CHANNEL: &str = "events:menu:v1";

/// Declares the kinds of event on the bus, each once: its payload type and
/// its channel. [`Event`] (a decoded event), [`EventKind`] and the list of
/// channels a listener subscribes to ([`EventKind::ALL`]) all come from here,
/// so a new kind is one line (and its payload type).
macro_rules! event_kinds {
    ($($(#[$doc:meta])* $kind:ident($payload:ty) on $channel:expr;)*) => {
        /// An event of the bus, decoded: one variant per kind.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Event {
            $($(#[$doc])* $kind($payload),)*
        }

        /// The kinds of event; each has a channel of its own.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $($(#[$doc])* $kind,)*
        }

        impl EventKind {
            /// Every kind: the channels a listener subscribes to.
            pub const ALL: &[EventKind] = &[$(EventKind::$kind),*];

            /// Its channel (under the key-value prefix).
            pub fn channel(self) -> &'static str {
                match self {
                    $(Self::$kind => $channel,)*
                }
            }

            fn decode(self, payload: &str) -> serde_json::Result<Event> {
                match self {
                    $(Self::$kind => serde_json::from_str::<$payload>(payload).map(Event::$kind),)*
                }
            }
        }

        impl Event {
            /// Its kind.
            pub fn kind(&self) -> EventKind {
                match self {
                    $(Self::$kind(_) => EventKind::$kind,)*
                }
            }
        }
    };
}

event_kinds! {
    /// An order transition (`events:orders:v1`).
    Order(OrderTransitionEvent) on ORDER_EVENTS_CHANNEL;
    /// A change of a menu item's availability (`events:menu:v1`).
    Menu(MenuAvailabilityEvent) on MENU_EVENTS_CHANNEL;
    /// A session ended (`events:sessions:v1`, published by `bistro-auth`).
    SessionEnded(SessionEndedEvent) on SESSION_EVENTS_CHANNEL;
}

/// Who made a transition, in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ActorWire", from = "ActorWire")]
pub enum EventActor {
    /// The order's customer.
    Customer(i64),
    /// Someone acting for the restaurant (staff, or an admin).
    Restaurant(i64),
    /// Bistro itself, or the payment processor acting on its own (what its
    /// webhooks report).
    System,
}

impl EventActor {
    /// The order's customer.
    pub fn customer(user_id: i64) -> Self {
        Self::Customer(user_id)
    }

    /// Bistro itself, or the payment processor acting on its own.
    pub fn system() -> Self {
        Self::System
    }

    /// Someone acting for the restaurant (staff, or an admin).
    pub fn restaurant(user_id: i64) -> Self {
        Self::Restaurant(user_id)
    }
}

/// [`EventActor`] as the payload writes it: `kind` is `CUSTOMER`,
/// `RESTAURANT` or `SYSTEM`, `userId` null for the system.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActorWire {
    kind: String,
    user_id: Option<i64>,
}

impl From<EventActor> for ActorWire {
    fn from(actor: EventActor) -> Self {
        let (kind, user_id) = match actor {
            EventActor::Customer(id) => ("CUSTOMER", Some(id)),
            EventActor::Restaurant(id) => ("RESTAURANT", Some(id)),
            EventActor::System => ("SYSTEM", None),
        };
        Self {
            kind: kind.to_owned(),
            user_id,
        }
    }
}

impl From<ActorWire> for EventActor {
    /// Anything but a customer or a restaurant with their user is the system.
    fn from(wire: ActorWire) -> Self {
        match (wire.kind.as_str(), wire.user_id) {
            ("CUSTOMER", Some(id)) => Self::Customer(id),
            ("RESTAURANT", Some(id)) => Self::Restaurant(id),
            _ => Self::System,
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
    #[serde(default, with = "wire::optional_stored")]
    pub from: Option<OrderStatus>,
    /// The status it reached.
    #[serde(with = "wire::stored")]
    pub to: OrderStatus,
    /// Its payment status after the transition.
    #[serde(with = "wire::stored")]
    pub payment_status: PaymentStatus,
    /// When.
    #[serde(with = "wire::millis")]
    pub at: DateTime<Utc>,
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
    /// When.
    #[serde(with = "wire::millis")]
    pub at: DateTime<Utc>,
}

/// How payloads write what is typed here: statuses by their stored names,
/// times as RFC 3339 in UTC to the millisecond.
mod wire {
    use chrono::{DateTime, SecondsFormat, Utc};
    use sea_orm::ActiveEnum;
    use serde::de::Error as _;
    use serde::{Deserialize as _, Deserializer, Serializer};

    fn parse<'de, E: ActiveEnum<Value = String>, D: Deserializer<'de>>(
        text: String,
    ) -> Result<E, D::Error> {
        E::try_from_value(&text).map_err(|_| D::Error::custom(format!("unknown status {text}")))
    }

    pub(super) mod stored {
        use super::*;

        pub(crate) fn serialize<E: ActiveEnum<Value = String>, S: Serializer>(
            value: &E,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&value.to_value())
        }

        pub(crate) fn deserialize<'de, E: ActiveEnum<Value = String>, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<E, D::Error> {
            parse::<E, D>(String::deserialize(deserializer)?)
        }
    }

    pub(super) mod optional_stored {
        use super::*;

        pub(crate) fn serialize<E: ActiveEnum<Value = String>, S: Serializer>(
            value: &Option<E>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(value) => serializer.serialize_some(&value.to_value()),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, E: ActiveEnum<Value = String>, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<E>, D::Error> {
            Option::<String>::deserialize(deserializer)?
                .map(parse::<E, D>)
                .transpose()
        }
    }

    pub(super) mod millis {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            at: &DateTime<Utc>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<DateTime<Utc>, D::Error> {
            let text = String::deserialize(deserializer)?;
            DateTime::parse_from_rfc3339(&text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(D::Error::custom)
        }
    }
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
    from: Option<OrderStatus>,
    actor: EventActor,
    at: DateTime<Utc>,
) {
    crate::observe::order_transition(from, order.status);
    let event = OrderTransitionEvent {
        version: 1,
        order_id: order.id,
        restaurant_id: order.restaurant_id,
        customer_id: order.user_id,
        from,
        to: order.status,
        payment_status: order.payment_status,
        at,
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
        at: Utc::now(),
    };
    publish(kv, MENU_EVENTS_CHANNEL, &event).await;
}

/// What a listener receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// An event, decoded.
    Event(Event),
    /// Events of this kind may have been lost here (`bistro_kv::Delivery::Gap`:
    /// the pub/sub connection came back after an outage, or the listener lagged).
    Gap(EventKind),
}

/// One replica's subscription to every kind of event, as one stream.
/// A payload that does not decode is logged and skipped.
pub struct Listener {
    received: SelectAll<BoxStream<'static, Received>>,
    confirmed: Vec<futures_util::future::BoxFuture<'static, ()>>,
}

impl Listener {
    /// Resolves once the bus has confirmed every channel: from then on,
    /// every event published reaches this listener. Call once.
    pub fn confirmed(&mut self) -> impl Future<Output = ()> + Send + 'static {
        futures_util::future::join_all(std::mem::take(&mut self.confirmed)).map(|_| ())
    }

    /// The next event or gap; `None` once the store is gone.
    pub async fn next(&mut self) -> Option<Received> {
        self.received.next().await
    }
}

impl DataLayer {
    /// Subscribes to every kind of event ([`EventKind::ALL`]) over the
    /// store's one pub/sub connection.
    pub async fn listen(&self) -> Result<Listener> {
        let mut received = SelectAll::new();
        let mut confirmed = Vec::new();
        for &kind in EventKind::ALL {
            let subscription = self.kv().subscribe(kind.channel()).await?;
            confirmed.push(subscription.live().boxed());
            received.push(
                subscription
                    .filter_map(move |delivery| std::future::ready(decoded(kind, delivery)))
                    .boxed(),
            );
        }
        Ok(Listener {
            received,
            confirmed,
        })
    }
}

fn decoded(kind: EventKind, delivery: Delivery) -> Option<Received> {
    match delivery {
        Delivery::Message(payload) => match kind.decode(&payload) {
            Ok(event) => Some(Received::Event(event)),
            Err(error) => {
                tracing::warn!(%error, channel = kind.channel(), "undecodable event skipped");
                None
            }
        },
        Delivery::Gap => Some(Received::Gap(kind)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-11-29T18:30:00.123Z".parse().unwrap()
    }

    #[test]
    fn payloads_are_the_documented_json() {
        let event = OrderTransitionEvent {
            version: 1,
            order_id: 42,
            restaurant_id: 3,
            customer_id: 7,
            from: None,
            to: OrderStatus::Placed,
            payment_status: PaymentStatus::Authorized,
            at: at(),
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
            at: at(),
        };
        assert_eq!(
            serde_json::to_value(&menu).unwrap()["reason"],
            serde_json::json!("SOLD_OUT")
        );
        // And each reads back as it was written, typed.
        let read = |kind: EventKind, event: &dyn erased::Json| kind.decode(&event.json()).unwrap();
        assert_eq!(read(EventKind::Order, &event), Event::Order(event.clone()));
        assert_eq!(read(EventKind::Menu, &menu), Event::Menu(menu.clone()));
    }

    mod erased {
        pub(super) trait Json {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Json for T {
            fn json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }
}
