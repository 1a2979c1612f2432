//! Live updates: the `Subscription` root, what its messages carry, and how
//! one event reaches every subscriber of a replica for a fixed cost.
//!
//! The transport (WebSocket, `graphql-transport-ws`) is the server's; this
//! module gives it two calls ([`connection`]): `Api::connect` authenticates
//! a connection's token once and registers it with the replica's
//! [`LiveHub`] (so a logout anywhere closes it), and `Api::subscribe` runs
//! one subscription operation as a stream of responses.
//!
//! **Per event, a fixed cost.** The hub decodes each event once and queues
//! it, shared, for every subscription of its topic. Each message's fields
//! are answered from the event's payload where it carries them (`to`,
//! `paymentStatus`, `available`, `stockRemaining`, …: no round trip); the
//! rest (`order`, `menuItem` and everything below them) is loaded through
//! the same loaders as queries, but those of the *event's* scope
//! ([`hub::SharedEvent`]), which every subscriber of this replica shares. So
//! each loader loads each key at most once per event per replica: a
//! thousand subscribers selecting `order { total lines { name } }` cost what
//! one does, and different selections cost the loaders their union reaches.
//!
//! The event's scope reaches the resolvers as *execute data*: [`Live`] wraps
//! each message and resolves it with a context whose execute data holds the
//! event's `Arc<Scope>`, which async-graphql looks up before request data.
//! No extension is registered for it (an extension would slow every field
//! of every query).
//!
//! **Authorization, per event, in memory.** A subscription checks its
//! arguments when it starts (`orderUpdated`: the order must be one the
//! viewer may see, else `NOT_FOUND`, like a query; `restaurantOrders`:
//! staff of the restaurant, else `FORBIDDEN`), and every event again
//! through [`Viewer::check`] with the event's customer and restaurant,
//! before anything is loaded: an event the viewer may not see is skipped.
//!
//! **Missed updates.** A message of kind `MISSED_UPDATES` (every other field
//! null) says events may have been lost just before it: the event bus came
//! back after an outage, or the client read too slowly and the oldest
//! events of its queue were dropped ([`inbox`]). A client refetches what it
//! shows when it gets one.

pub(crate) mod connection;
mod hub;
mod inbox;
mod traced;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::futures_util::stream::BoxStream;
use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{
    Context, ContextSelectionSet, Enum, ID, Object, OutputType, Positioned, ServerResult, Value,
};
use bistro_data::events::{
    AvailabilityReason, Event, EventActor, MenuAvailabilityEvent, OrderTransitionEvent,
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use serde::Deserialize;

pub use hub::{LiveHub, LiveStats};
pub use traced::traced;

use self::hub::{Entry, SharedEvent, Topic};
use crate::auth::{Rule, Viewer, viewer};
use crate::error::ErrorCode;
use crate::ids::{NodeType, expect_global_id, global_id};
use crate::objects::{MenuItem, Order, OrderStatus, Restaurant};
use crate::order::{OrderActor, PaymentStatus};
use crate::request::context::data;

/// How live connections behave (configuration section `[live]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveSettings {
    /// Longest a WebSocket may stay open without `connection_init` (then closed with 4408).
    pub connection_init_timeout_ms: u64,
    /// How often the server pings a WebSocket; one that answered nothing
    /// for two intervals is taken for gone and closed.
    pub keepalive_secs: u64,
    /// Events one subscription may have waiting for a slow client; past it
    /// the oldest is dropped and the client is sent `MISSED_UPDATES`.
    pub queue_capacity: usize,
    /// Operations one WebSocket may run at once.
    pub max_operations: usize,
    /// Longest operation id accepted, in bytes (a longer one closes the
    /// socket with 4400, as any malformed message does).
    pub max_operation_id_bytes: usize,
    /// WebSockets one client (address) may hold open on one server at once;
    /// another is closed with 1013 (try again later) as soon as it opens.
    pub max_connections_per_client: usize,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            connection_init_timeout_ms: 3_000,
            keepalive_secs: 15,
            queue_capacity: 64,
            max_operations: 100,
            max_operation_id_bytes: 128,
            max_connections_per_client: 50,
        }
    }
}

impl LiveSettings {
    /// [`Self::connection_init_timeout_ms`] as a duration.
    pub fn connection_init_timeout(&self) -> Duration {
        Duration::from_millis(self.connection_init_timeout_ms)
    }

    /// [`Self::keepalive_secs`] as a duration (at least a second).
    pub fn keepalive(&self) -> Duration {
        Duration::from_secs(self.keepalive_secs.max(1))
    }
}

/// Live updates, over a WebSocket at `/graphql/ws` (`graphql-transport-ws`).
#[derive(Default)]
pub struct Subscription;

#[async_graphql::Subscription]
/// Live updates, over a WebSocket at `/graphql/ws` (`graphql-transport-ws`;
/// the access token goes in `connection_init`'s payload). A message of kind
/// `MISSED_UPDATES` says updates may have been lost just before it: refetch.
impl Subscription {
    /// Every status change of one order, from now on: for its customer and
    /// its restaurant's staff (and admins). An order the viewer may not see
    /// is `NOT_FOUND`, like one that does not exist.
    async fn order_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order to follow.")] order_id: ID,
    ) -> async_graphql::Result<BoxStream<'static, Live<OrderUpdate>>> {
        let viewer = viewer(ctx);
        viewer.check(Rule::SignedIn)?;
        let order_id = expect_global_id(&order_id, NodeType::Order)?;
        // Listening before looking, so no change between the two is missed.
        let inbox = data::<LiveHub>(ctx)?.subscribe(Topic::Order(order_id));
        if Order::try_load(ctx, order_id).await?.is_none() {
            return Err(ErrorCode::NotFound.error("No order with this id."));
        }
        Ok(inbox
            .filter_map(move |entry| {
                std::future::ready(order_message(&viewer, entry, |event| {
                    event.order_id == order_id
                }))
            })
            .boxed())
    }

    /// New orders and every status change of a restaurant's orders, from
    /// now on: for the restaurant's staff (and admins).
    async fn restaurant_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant whose orders to follow.")] restaurant_id: ID,
    ) -> async_graphql::Result<BoxStream<'static, Live<OrderUpdate>>> {
        let viewer = viewer(ctx);
        let restaurant_id = expect_global_id(&restaurant_id, NodeType::Restaurant)?;
        viewer.check(Rule::StaffOf { restaurant_id })?;
        let inbox = data::<LiveHub>(ctx)?.subscribe(Topic::RestaurantOrders(restaurant_id));
        if Restaurant::try_load(ctx, restaurant_id).await?.is_none() {
            return Err(ErrorCode::NotFound.error("No restaurant with this id."));
        }
        Ok(inbox
            .filter_map(move |entry| {
                std::future::ready(order_message(&viewer, entry, |event| {
                    event.restaurant_id == restaurant_id
                }))
            })
            .boxed())
    }

    /// A restaurant's menu items becoming orderable or not (switched on or
    /// off, sold out, restocked), from now on: for anyone.
    async fn menu_item_availability(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The restaurant whose menu to follow.")] restaurant_id: ID,
    ) -> async_graphql::Result<BoxStream<'static, Live<MenuItemAvailabilityUpdate>>> {
        let restaurant_id = expect_global_id(&restaurant_id, NodeType::Restaurant)?;
        let inbox = data::<LiveHub>(ctx)?.subscribe(Topic::Menu(restaurant_id));
        if Restaurant::try_load(ctx, restaurant_id).await?.is_none() {
            return Err(ErrorCode::NotFound.error("No restaurant with this id."));
        }
        Ok(inbox
            .filter_map(move |entry| {
                std::future::ready(match entry {
                    Entry::Missed => Some(Live::missed(MenuItemAvailabilityUpdate(None))),
                    Entry::Event(event) => match &event.body {
                        // Public: nothing to check but the restaurant.
                        Event::Menu(menu) if menu.restaurant_id == restaurant_id => Some(
                            Live::event(MenuItemAvailabilityUpdate(Some(event.clone())), event),
                        ),
                        _ => None,
                    },
                })
            })
            .boxed())
    }
}

/// The message an order subscription sends for `entry`, if any: an event the
/// viewer may see (checked again for every event) that `concerns` this
/// subscription, or a gap.
fn order_message(
    viewer: &Viewer,
    entry: Entry,
    concerns: impl Fn(&OrderTransitionEvent) -> bool,
) -> Option<Live<OrderUpdate>> {
    match entry {
        Entry::Missed => Some(Live::missed(OrderUpdate(None))),
        Entry::Event(event) => match &event.body {
            Event::Order(order)
                if concerns(order)
                    && viewer
                        .check(Rule::Order {
                            customer_id: order.customer_id,
                            restaurant_id: order.restaurant_id,
                        })
                        .is_ok() =>
            {
                Some(Live::event(OrderUpdate(Some(event.clone())), event))
            }
            _ => None,
        },
    }
}

/// One message of a subscription, resolved within its event's scope.
///
/// An output type that stands for `T` (same GraphQL type) and resolves it
/// with the event's data as execute data, where async-graphql looks first:
/// every loader reached from this message is the event's, shared by all
/// subscribers of this replica.
pub struct Live<T> {
    value: T,
    event: Option<Arc<SharedEvent>>,
}

impl<T> Live<T> {
    fn event(value: T, event: Arc<SharedEvent>) -> Self {
        Self {
            value,
            event: Some(event),
        }
    }

    fn missed(value: T) -> Self {
        Self { value, event: None }
    }
}

impl<T: OutputType> OutputType for Live<T> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> std::borrow::Cow<'static, str> {
        self.value.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match &self.event {
            Some(event) => {
                let mut ctx = ctx.clone();
                ctx.execute_data = Some(&event.data);
                self.value.resolve(&ctx, field).await
            }
            None => self.value.resolve(ctx, field).await,
        }
    }
}

/// What a live message says.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveUpdateKind {
    /// Something changed; the other fields say what.
    Change,
    /// Updates may have been missed just before this message (the server's
    /// event bus came back after an outage, or this client read too slowly
    /// and its oldest updates were dropped): refetch what you show. Every
    /// other field of the message is null.
    MissedUpdates,
}

/// A change of an order's status, as `orderUpdated` and `restaurantOrders` send it.
pub struct OrderUpdate(Option<Arc<SharedEvent>>);

impl OrderUpdate {
    fn event(&self) -> Option<&OrderTransitionEvent> {
        match &self.0.as_deref()?.body {
            Event::Order(event) => Some(event),
            _ => None,
        }
    }
}

#[Object]
/// A change of an order's status, as `orderUpdated` and `restaurantOrders`
/// send it. Everything but `order` comes with the event itself; `order` is
/// read when the message is sent (once per event on each server, for all
/// its subscribers).
impl OrderUpdate {
    /// `CHANGE`, or `MISSED_UPDATES` (then every other field is null: refetch).
    fn kind(&self) -> LiveUpdateKind {
        if self.0.is_some() {
            LiveUpdateKind::Change
        } else {
            LiveUpdateKind::MissedUpdates
        }
    }

    /// The order's id.
    fn order_id(&self) -> Option<ID> {
        self.event()
            .map(|event| global_id(NodeType::Order, event.order_id))
    }

    /// The status it left; null when the order was just placed.
    fn from(&self) -> Option<OrderStatus> {
        self.event()?.from.map(OrderStatus::from_entity)
    }

    /// The status it reached (`PLACED` for a new order).
    fn to(&self) -> Option<OrderStatus> {
        Some(OrderStatus::from_entity(self.event()?.to))
    }

    /// Its payment's status after the change.
    fn payment_status(&self) -> Option<PaymentStatus> {
        Some(self.event()?.payment_status.into())
    }

    /// When the change was made.
    fn at(&self) -> Option<DateTime<Utc>> {
        Some(self.event()?.at)
    }

    /// Who made it.
    fn by(&self) -> Option<OrderActor> {
        Some(match self.event()?.actor {
            EventActor::Customer(_) => OrderActor::Customer,
            EventActor::Restaurant(_) => OrderActor::Restaurant,
            EventActor::System => OrderActor::System,
        })
    }

    /// The order as it is when this message is sent (it may already be past
    /// `to` if another change followed at once).
    async fn order(&self, ctx: &Context<'_>) -> Option<Order> {
        let order_id = self.event()?.order_id;
        crate::error::soft(ctx, Order::try_load(ctx, order_id).await).flatten()
    }
}

/// Why a menu item became orderable or not.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvailabilityChangeReason {
    /// Staff switched the item on or off.
    AvailabilitySet,
    /// The day's limited stock ran out.
    SoldOut,
    /// Units of the day's stock came back (a cancelled order, a larger daily stock).
    Restocked,
}

/// A menu item became orderable or not, as `menuItemAvailability` sends it.
pub struct MenuItemAvailabilityUpdate(Option<Arc<SharedEvent>>);

impl MenuItemAvailabilityUpdate {
    fn event(&self) -> Option<&MenuAvailabilityEvent> {
        match &self.0.as_deref()?.body {
            Event::Menu(event) => Some(event),
            _ => None,
        }
    }
}

#[Object]
/// A menu item became orderable or not, as `menuItemAvailability` sends it.
/// Everything but `menuItem` comes with the event itself; `menuItem` is read
/// when the message is sent (once per event on each server, for all its
/// subscribers).
impl MenuItemAvailabilityUpdate {
    /// `CHANGE`, or `MISSED_UPDATES` (then every other field is null: refetch).
    fn kind(&self) -> LiveUpdateKind {
        if self.0.is_some() {
            LiveUpdateKind::Change
        } else {
            LiveUpdateKind::MissedUpdates
        }
    }

    /// The menu item's id.
    fn menu_item_id(&self) -> Option<ID> {
        self.event()
            .map(|event| global_id(NodeType::MenuItem, event.menu_item_id))
    }

    /// Why it changed.
    fn reason(&self) -> Option<AvailabilityChangeReason> {
        Some(match self.event()?.reason {
            AvailabilityReason::AvailabilitySet => AvailabilityChangeReason::AvailabilitySet,
            AvailabilityReason::SoldOut => AvailabilityChangeReason::SoldOut,
            AvailabilityReason::Restocked => AvailabilityChangeReason::Restocked,
        })
    }

    /// Whether the restaurant offers it (its `available` flag).
    fn available(&self) -> Option<bool> {
        Some(self.event()?.available)
    }

    /// Today's units left of a limited item; null when unlimited (or for `MISSED_UPDATES`).
    fn stock_remaining(&self) -> Option<i64> {
        self.event()?.stock_remaining
    }

    /// Whether it can be ordered now: available, and not sold out today.
    fn orderable(&self) -> Option<bool> {
        let event = self.event()?;
        Some(event.available && event.stock_remaining != Some(0))
    }

    /// When it changed.
    fn at(&self) -> Option<DateTime<Utc>> {
        Some(self.event()?.at)
    }

    /// The menu item as it is when this message is sent.
    async fn menu_item(&self, ctx: &Context<'_>) -> Option<MenuItem> {
        let menu_item_id = self.event()?.menu_item_id;
        MenuItem::load(ctx, menu_item_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Principal;

    fn order_event(customer_id: i64, restaurant_id: i64) -> Entry {
        Entry::Event(Arc::new(SharedEvent::for_tests(Event::Order(
            OrderTransitionEvent {
                version: 1,
                order_id: 5,
                restaurant_id,
                customer_id,
                from: None,
                to: bistro_data::entity::OrderStatus::Placed,
                payment_status: bistro_data::entity::PaymentStatus::Authorized,
                at: Utc::now(),
                actor: EventActor::customer(customer_id),
            },
        ))))
    }

    fn viewer(user_id: i64, role: bistro_auth::Role, restaurants: &[i64]) -> Viewer {
        Viewer(Some(Principal {
            user_id,
            role,
            restaurants: restaurants.to_vec(),
            session_id: "s".into(),
        }))
    }

    #[test]
    fn every_event_is_checked_against_the_viewer_before_it_is_sent() {
        use bistro_auth::Role;
        let customer = viewer(7, Role::Customer, &[]);
        let staff = viewer(2, Role::Staff, &[3]);
        let other_staff = viewer(4, Role::Staff, &[9]);
        let any = |_: &OrderTransitionEvent| true;
        assert!(order_message(&customer, order_event(7, 3), any).is_some());
        assert!(order_message(&customer, order_event(8, 3), any).is_none());
        assert!(order_message(&staff, order_event(8, 3), any).is_some());
        assert!(order_message(&other_staff, order_event(8, 3), any).is_none());
        assert!(order_message(&Viewer(None), order_event(7, 3), any).is_none());
        // A gap tells no one anything about anybody's order.
        assert!(order_message(&other_staff, Entry::Missed, any).is_some());
        // And an event the viewer may see, but this subscription does not follow.
        assert!(order_message(&customer, order_event(7, 3), |e| e.order_id == 6).is_none());
    }
}
