//! The replica's one listener on the event bus, and its fan-out.
//!
//! [`LiveHub::start`] listens once per process to every kind of event the
//! data layer declares ([`DataLayer::listen`]: one channel per kind, over
//! the key-value store's one pub/sub connection, each payload decoded once
//! into a typed [`Event`]). A router task hands each event to the
//! subscriptions of its topic:
//!
//! - an order transition to [`Topic::Order`] of its order and
//!   [`Topic::RestaurantOrders`] of its restaurant;
//! - a menu change to [`Topic::Menu`] of its restaurant;
//! - a session end to the live connections of that session, which close.
//!
//! Handing over is a push onto each subscription's bounded [`Inbox`]: the
//! router never waits for a client. An event that concerns someone becomes a
//! [`SharedEvent`] with its own scope of the data layer, shared by every
//! subscriber on this replica: whatever they select beyond the payload is
//! loaded once per event, through the same loaders as queries.
//!
//! A gap in the bus ([`Received::Gap`]: the pub/sub connection came back
//! after an outage) becomes a [`Entry::Missed`](inbox::Entry::Missed) for
//! every subscription of that kind of event; for the sessions channel, every
//! connection's session is checked again (one round trip), since an
//! announced logout may be lost.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::task::{Context, Poll};

use bistro_data::events::{Event, EventKind, Received};
use bistro_data::{DataLayer, Scope};
use futures_util::Stream;
use tokio::sync::{Notify, oneshot, watch};

use super::inbox::{self, Inbox, Pushed};
use crate::auth::AuthDeps;

/// What a subscription receives: a shared event, or a marker of missed ones.
pub(crate) type Entry = inbox::Entry<Arc<SharedEvent>>;

/// A subscription's queue of shared events.
type EventInbox = Inbox<Arc<SharedEvent>>;

/// What a subscription follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Topic {
    /// One order's transitions.
    Order(i64),
    /// Every order transition of one restaurant, new orders included.
    RestaurantOrders(i64),
    /// Availability changes of one restaurant's menu.
    Menu(i64),
}

impl Topic {
    /// The kind of event it follows.
    fn kind(self) -> EventKind {
        match self {
            Self::Order(_) | Self::RestaurantOrders(_) => EventKind::Order,
            Self::Menu(_) => EventKind::Menu,
        }
    }

    /// The topics an event goes to (at most two: no allocation for the
    /// many events nobody follows).
    fn of(event: &Event) -> [Option<Topic>; 2] {
        match event {
            Event::Order(event) => [
                Some(Topic::Order(event.order_id)),
                Some(Topic::RestaurantOrders(event.restaurant_id)),
            ],
            Event::Menu(event) => [Some(Topic::Menu(event.restaurant_id)), None],
            // Not routed by topic: it closes connections (see `end_session`).
            Event::SessionEnded(_) => [None, None],
        }
    }
}

/// One event as every subscriber of this replica shares it: its content,
/// and the scope its fields beyond the payload load through (once).
pub(crate) struct SharedEvent {
    pub(crate) body: Event,
    /// Execute data for resolving this event: the event's `Arc<Scope>`, so
    /// every loader reached from its payload is this event's (see `Live`).
    pub(crate) data: async_graphql::Data,
    scope: Arc<Scope>,
    subscribers: usize,
    stats: Arc<Counters>,
}

impl SharedEvent {
    fn new(body: Event, scope: Scope, subscribers: usize, stats: Arc<Counters>) -> Self {
        let scope = Arc::new(scope);
        let mut data = async_graphql::Data::default();
        data.insert(scope.clone());
        Self {
            body,
            data,
            scope,
            subscribers,
            stats,
        }
    }

    /// An event over disconnected stores, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(body: Event) -> Self {
        Self::new(body, DataLayer::disconnected().scope(), 1, Arc::default())
    }
}

impl Drop for SharedEvent {
    /// The last subscriber is done with the event: what it cost is final.
    fn drop(&mut self) {
        let (sql, kv) = self.scope.round_trips();
        self.stats.sql.fetch_add(sql, Ordering::Relaxed);
        self.stats.kv.fetch_add(kv, Ordering::Relaxed);
        self.stats.settled.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            subscribers = self.subscribers,
            sql,
            kv,
            "live event delivered"
        );
    }
}

/// Counts since the hub started.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    received: AtomicU64,
    concerning: AtomicU64,
    settled: AtomicU64,
    queued: AtomicU64,
    overflowed: AtomicU64,
    gaps: AtomicU64,
    sql: AtomicU64,
    kv: AtomicU64,
    sessions_closed: AtomicU64,
}

/// What the replica's live updates have done so far (for tests, benchmarks and operators).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Events received from the bus.
    pub events_received: u64,
    /// Of those, events some subscriber of this replica follows.
    pub events_concerning: u64,
    /// Events every subscriber is done with (their round trips below are final).
    pub events_settled: u64,
    /// Events queued for subscribers (one per subscriber per event).
    pub queued: u64,
    /// Events dropped from a full queue (the subscriber was told it missed updates).
    pub overflowed: u64,
    /// Gaps of the bus told to subscribers.
    pub gaps: u64,
    /// SQL statements spent on settled events' fields, all subscribers together.
    pub sql: u64,
    /// Key-value round trips spent on settled events' fields, all subscribers together.
    pub kv: u64,
    /// Live connections closed because their session ended.
    pub sessions_closed: u64,
    /// Subscriptions open now.
    pub subscriptions: u64,
    /// Signed-in live connections open now.
    pub connections: u64,
}

/// The replica's fan-out of live events. Cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<HubInner>,
}

pub(crate) struct HubInner {
    data: DataLayer,
    auth: AuthDeps,
    queue_capacity: usize,
    /// Subscriptions by topic.
    topics: RwLock<HashMap<Topic, HashMap<u64, Arc<EventInbox>>>>,
    /// Signed-in connections by session id: what tells each to close.
    sessions: Mutex<HashMap<String, HashMap<u64, Arc<Notify>>>>,
    next_id: AtomicU64,
    stats: Arc<Counters>,
    started: OnceLock<()>,
    /// Whether the bus has confirmed all three subscriptions.
    ready: watch::Sender<bool>,
    /// Dropped with the hub: stops the router.
    _stop: Mutex<Option<oneshot::Sender<()>>>,
    stop_rx: Mutex<Option<oneshot::Receiver<()>>>,
}

impl LiveHub {
    /// A hub over `data` (not listening yet: see [`Self::start`]).
    pub(crate) fn new(data: DataLayer, auth: AuthDeps, queue_capacity: usize) -> Self {
        let (stop, stop_rx) = oneshot::channel();
        Self {
            inner: Arc::new(HubInner {
                data,
                auth,
                queue_capacity,
                topics: RwLock::default(),
                sessions: Mutex::default(),
                next_id: AtomicU64::new(1),
                stats: Arc::default(),
                started: OnceLock::new(),
                ready: watch::Sender::new(false),
                _stop: Mutex::new(Some(stop)),
                stop_rx: Mutex::new(Some(stop_rx)),
            }),
        }
    }

    /// Starts listening on the event bus (once; later calls do nothing).
    /// Needs a Tokio runtime; the listener stops when the hub is dropped.
    pub fn start(&self) {
        self.inner.started.get_or_init(|| {
            let stop = lock(&self.inner.stop_rx).take();
            if let Some(stop) = stop {
                tokio::spawn(route(
                    Arc::downgrade(&self.inner),
                    self.inner.data.clone(),
                    stop,
                ));
            }
        });
    }

    /// Resolves once the event bus has confirmed every subscription of this
    /// replica: from then on, every event published reaches it.
    pub async fn ready(&self) {
        let mut ready = self.inner.ready.subscribe();
        let _ = ready.wait_for(|ready| *ready).await;
    }

    /// What the hub has done so far.
    pub fn stats(&self) -> LiveStats {
        let c = &self.inner.stats;
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        LiveStats {
            events_received: get(&c.received),
            events_concerning: get(&c.concerning),
            events_settled: get(&c.settled),
            queued: get(&c.queued),
            overflowed: get(&c.overflowed),
            gaps: get(&c.gaps),
            sql: get(&c.sql),
            kv: get(&c.kv),
            sessions_closed: get(&c.sessions_closed),
            subscriptions: read(&self.inner.topics)
                .values()
                .map(|subscribers| subscribers.len() as u64)
                .sum(),
            connections: lock(&self.inner.sessions)
                .values()
                .map(|connections| connections.len() as u64)
                .sum(),
        }
    }

    /// Registers a subscription to `topic`; it receives what is routed from now on.
    pub(crate) fn subscribe(&self, topic: Topic) -> InboxStream {
        let inbox = Arc::new(Inbox::new(self.inner.queue_capacity));
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        write(&self.inner.topics)
            .entry(topic)
            .or_default()
            .insert(id, inbox.clone());
        InboxStream::new(inbox, Arc::downgrade(&self.inner), topic, id)
    }

    /// Registers a signed-in connection of `session_id`: the returned
    /// registration is told when the session ends, on any replica.
    pub(crate) fn register_connection(&self, session_id: &str) -> SessionRegistration {
        let notify = Arc::new(Notify::new());
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.inner.sessions)
            .entry(session_id.to_owned())
            .or_default()
            .insert(id, notify.clone());
        SessionRegistration {
            hub: Arc::downgrade(&self.inner),
            session_id: session_id.to_owned(),
            id,
            notify,
        }
    }
}

/// A subscription's end of its [`Inbox`]: a stream of entries, registered
/// with the hub under its topic until dropped.
pub(crate) struct InboxStream {
    inbox: Arc<EventInbox>,
    hub: Weak<HubInner>,
    topic: Topic,
    id: u64,
}

impl InboxStream {
    fn new(inbox: Arc<EventInbox>, hub: Weak<HubInner>, topic: Topic, id: u64) -> Self {
        Self {
            inbox,
            hub,
            topic,
            id,
        }
    }
}

impl Stream for InboxStream {
    type Item = Entry;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Entry>> {
        let polled = self.inbox.poll_pop(cx);
        super::traced::inbox_polled(matches!(polled, Poll::Ready(Some(_))));
        polled
    }
}

impl Drop for InboxStream {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.leave(self.topic, self.id);
        }
    }
}

/// A signed-in connection's place in the hub; dropping it leaves.
pub(crate) struct SessionRegistration {
    hub: Weak<HubInner>,
    session_id: String,
    id: u64,
    notify: Arc<Notify>,
}

impl SessionRegistration {
    /// Resolves when the session has ended.
    pub(crate) async fn ended(&self) {
        self.notify.notified().await;
        // Stay ended for whoever asks again.
        self.notify.notify_one();
    }
}

impl Drop for SessionRegistration {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            let mut sessions = lock(&hub.sessions);
            if let Some(connections) = sessions.get_mut(&self.session_id) {
                connections.remove(&self.id);
                if connections.is_empty() {
                    sessions.remove(&self.session_id);
                }
            }
        }
    }
}

impl HubInner {
    /// Removes a subscription (its stream was dropped).
    pub(crate) fn leave(&self, topic: Topic, id: u64) {
        let mut topics = write(&self.topics);
        if let Some(subscribers) = topics.get_mut(&topic) {
            subscribers.remove(&id);
            if subscribers.is_empty() {
                topics.remove(&topic);
            }
        }
    }

    fn route(&self, body: Event) {
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        let topics = Topic::of(&body);
        let table = read(&self.topics);
        let subscribers: usize = topics
            .iter()
            .flatten()
            .filter_map(|topic| table.get(topic))
            .map(HashMap::len)
            .sum();
        if subscribers == 0 {
            return;
        }
        self.stats.concerning.fetch_add(1, Ordering::Relaxed);
        let event = Arc::new(SharedEvent::new(
            body,
            self.data.scope(),
            subscribers,
            self.stats.clone(),
        ));
        self.stats
            .queued
            .fetch_add(subscribers as u64, Ordering::Relaxed);
        for inbox in topics
            .iter()
            .flatten()
            .filter_map(|topic| table.get(topic))
            .flat_map(HashMap::values)
        {
            if inbox.push(Entry::Event(event.clone())) == Pushed::Overflowed {
                self.stats.overflowed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Tells every subscription of `kind` that events may have been missed.
    fn gap(&self, kind: EventKind) {
        let table = read(&self.topics);
        for inbox in table
            .iter()
            .filter(|(topic, _)| topic.kind() == kind)
            .flat_map(|(_, subscribers)| subscribers.values())
        {
            self.stats.gaps.fetch_add(1, Ordering::Relaxed);
            inbox.push(Entry::Missed);
        }
    }

    /// Closes every connection of `session_id` on this replica.
    fn end_session(&self, session_id: &str) {
        if let Some(connections) = lock(&self.sessions).get(session_id) {
            for notify in connections.values() {
                self.stats.sessions_closed.fetch_add(1, Ordering::Relaxed);
                notify.notify_one();
            }
        }
    }

    /// After a gap on the sessions channel: checks every connection's
    /// session again (one round trip) and closes those that ended. The bus
    /// has just come back, and the store's command connection may still be
    /// reconnecting: a few tries, a little apart.
    async fn recheck_sessions(&self) {
        let mut delay = std::time::Duration::from_millis(100);
        let mut tries = 0;
        loop {
            let session_ids: Vec<String> = lock(&self.sessions).keys().cloned().collect();
            match self.auth.sessions.still_active(&session_ids).await {
                Ok(active) => {
                    for (session_id, active) in session_ids.iter().zip(active) {
                        if !active {
                            self.end_session(session_id);
                        }
                    }
                    return;
                }
                Err(error) if tries == RECHECK_TRIES => {
                    tracing::warn!(
                        %error,
                        "could not re-check live connections' sessions after a gap; \
                         they close when their token expires"
                    );
                    return;
                }
                Err(_) => {
                    tries += 1;
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
    }
}

/// Tries of the session re-check after a gap (100 ms apart, doubling: 3 s in all).
const RECHECK_TRIES: u32 = 5;

/// The router: one task per replica, from the bus to the subscriptions.
async fn route(hub: Weak<HubInner>, data: DataLayer, mut stop: oneshot::Receiver<()>) {
    let mut listener = match data.listen().await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, "live updates cannot subscribe to the event bus");
            return;
        }
    };
    let confirmed = listener.confirmed();
    tokio::pin!(confirmed);
    let mut is_ready = false;
    loop {
        tokio::select! {
            _ = &mut stop => return,
            () = &mut confirmed, if !is_ready => {
                is_ready = true;
                match hub.upgrade() {
                    Some(hub) => hub.ready.send_replace(true),
                    None => return,
                };
            }
            received = listener.next() => {
                let Some(hub) = hub.upgrade() else { return };
                match received {
                    Some(Received::Event(Event::SessionEnded(event))) => {
                        hub.end_session(&event.session_id);
                    }
                    Some(Received::Event(event)) => hub.route(event),
                    Some(Received::Gap(EventKind::SessionEnded)) => {
                        tokio::spawn(async move { hub.recheck_sessions().await });
                    }
                    Some(Received::Gap(kind)) => hub.gap(kind),
                    None => return,
                }
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A menu event of restaurant 1, for unit tests.
#[cfg(test)]
pub(crate) fn menu_event() -> Event {
    Event::Menu(bistro_data::events::MenuAvailabilityEvent {
        version: 1,
        menu_item_id: 1,
        restaurant_id: 1,
        reason: bistro_data::events::AvailabilityReason::SoldOut,
        available: true,
        stock_remaining: Some(0),
        at: chrono::Utc::now(),
    })
}

#[cfg(test)]
mod tests {
    use futures_util::{FutureExt as _, StreamExt as _};

    use super::*;

    fn hub(queue_capacity: usize) -> LiveHub {
        let data = DataLayer::disconnected();
        let auth = AuthDeps {
            keys: bistro_auth::TokenKeys::generate(std::time::Duration::from_secs(60)),
            sessions: bistro_auth::Sessions::new(
                data.kv().clone(),
                std::time::Duration::from_secs(60),
            ),
            passwords: bistro_auth::password::PasswordHashing::new(1, 0),
        };
        LiveHub::new(data, auth, queue_capacity)
    }

    /// What a subscription has waiting, without waiting: `E` an event, `M` missed.
    fn waiting(stream: &mut InboxStream) -> String {
        let mut out = String::new();
        while let Some(Some(entry)) = stream.next().now_or_never() {
            out.push(match entry {
                Entry::Event(_) => 'E',
                Entry::Missed => 'M',
            });
        }
        out
    }

    #[test]
    fn a_slow_subscriber_loses_its_oldest_events_is_told_and_holds_no_one_back() {
        let hub = hub(2);
        let mut slow = hub.subscribe(Topic::Menu(1));
        let mut reading = hub.subscribe(Topic::Menu(1));
        let mut elsewhere = hub.subscribe(Topic::Menu(2));
        for _ in 0..5 {
            hub.inner.route(menu_event());
            assert_eq!(waiting(&mut reading), "E", "a reader gets every event");
        }
        assert_eq!(waiting(&mut slow), "MEE", "told first, then the newest two");
        assert_eq!(
            waiting(&mut elsewhere),
            "",
            "another restaurant hears nothing"
        );
        let stats = hub.stats();
        assert_eq!((stats.events_received, stats.overflowed), (5, 3));
        assert_eq!(stats.subscriptions, 3);
        drop((slow, reading, elsewhere));
        assert_eq!(
            hub.stats().subscriptions,
            0,
            "dropped streams leave the hub"
        );
    }

    #[test]
    fn a_gap_reaches_every_subscription_of_its_channel_once() {
        let hub = hub(8);
        let mut menu = hub.subscribe(Topic::Menu(1));
        let mut order = hub.subscribe(Topic::Order(9));
        hub.inner.route(menu_event());
        hub.inner.gap(EventKind::Menu);
        hub.inner.gap(EventKind::Menu);
        assert_eq!(waiting(&mut menu), "EM");
        assert_eq!(waiting(&mut order), "", "order events had no gap");
    }

    #[test]
    fn an_event_nobody_follows_costs_nothing() {
        let hub = hub(8);
        hub.inner.route(menu_event());
        let stats = hub.stats();
        assert_eq!((stats.events_received, stats.events_concerning), (1, 0));
    }
}
