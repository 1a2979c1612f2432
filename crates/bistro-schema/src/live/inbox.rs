//! One subscription's queue of events: bounded, never blocking the hub.
//!
//! The hub pushes and never waits; the subscription's stream takes events in
//! order. When a client reads more slowly than events arrive, the queue
//! fills; then the oldest event is dropped and a [`Entry::Missed`] marker
//! takes its place at the front, so the client is told, before the newest
//! events, that it missed some and should refetch. A gap in the event bus
//! itself (the pub/sub connection came back after an outage) is a marker
//! pushed at the back. Markers in a row are one marker.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// What a subscription's queue holds: events of type `E` (the hub's shared
/// events) and markers.
#[derive(Clone)]
pub(crate) enum Entry<E> {
    /// An event, shared by every subscriber of this replica.
    Event(E),
    /// Events may have been missed here.
    Missed,
}

impl<E> Entry<E> {
    fn is_missed(&self) -> bool {
        matches!(self, Self::Missed)
    }
}

/// The queue between the hub and one subscription.
pub(crate) struct Inbox<E> {
    state: Mutex<State<E>>,
    waker: AtomicWaker,
    capacity: usize,
}

struct State<E> {
    entries: VecDeque<Entry<E>>,
    /// How many of `entries` are events (markers do not count against the capacity).
    events: usize,
}

/// What a push did, for the hub's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued.
    Queued,
    /// Queued, after dropping the oldest event: the queue was full.
    Overflowed,
}

impl<E> Inbox<E> {
    /// An empty queue holding at most `capacity` events (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                entries: VecDeque::new(),
                events: 0,
            }),
            waker: AtomicWaker::new(),
            capacity: capacity.max(1),
        }
    }

    /// Queues an entry; never waits.
    pub(crate) fn push(&self, entry: Entry<E>) -> Pushed {
        let pushed = {
            let mut state = lock(&self.state);
            match entry {
                Entry::Missed => {
                    if !state.entries.back().is_some_and(Entry::is_missed) {
                        state.entries.push_back(Entry::Missed);
                    }
                    Pushed::Queued
                }
                Entry::Event(_) => {
                    let overflowed = state.events >= self.capacity;
                    if overflowed {
                        // Drop the oldest event (and any marker before it),
                        // then say so first.
                        while let Some(dropped) = state.entries.pop_front() {
                            if !dropped.is_missed() {
                                state.events -= 1;
                                break;
                            }
                        }
                        if !state.entries.front().is_some_and(Entry::is_missed) {
                            state.entries.push_front(Entry::Missed);
                        }
                    }
                    state.entries.push_back(entry);
                    state.events += 1;
                    if overflowed {
                        Pushed::Overflowed
                    } else {
                        Pushed::Queued
                    }
                }
            }
        };
        self.waker.wake();
        pushed
    }

    fn pop(&self) -> Option<Entry<E>> {
        let mut state = lock(&self.state);
        let entry = state.entries.pop_front()?;
        if !entry.is_missed() {
            state.events -= 1;
        }
        Some(entry)
    }

    /// The next entry, or `Pending` with the task woken on the next push.
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<Entry<E>>> {
        if let Some(entry) = self.pop() {
            return Poll::Ready(Some(entry));
        }
        // Registered before looking again, so a push in between is not lost.
        self.waker.register(cx.waker());
        match self.pop() {
            Some(entry) => Poll::Ready(Some(entry)),
            None => Poll::Pending,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(inbox: &Inbox<()>) -> String {
        let mut out = String::new();
        while let Some(entry) = inbox.pop() {
            out.push(if entry.is_missed() { 'M' } else { 'E' });
        }
        out
    }

    fn event() -> Entry<()> {
        Entry::Event(())
    }

    #[test]
    fn a_full_queue_drops_its_oldest_event_and_says_so_first() {
        let inbox = Inbox::new(3);
        for _ in 0..3 {
            assert_eq!(inbox.push(event()), Pushed::Queued);
        }
        assert_eq!(inbox.push(event()), Pushed::Overflowed);
        assert_eq!(inbox.push(event()), Pushed::Overflowed);
        assert_eq!(kinds(&inbox), "MEEE", "one marker, then the newest three");
    }

    #[test]
    fn gaps_in_a_row_are_one_gap_and_keep_their_place() {
        let inbox = Inbox::new(8);
        inbox.push(event());
        inbox.push(Entry::Missed);
        inbox.push(Entry::Missed);
        inbox.push(event());
        assert_eq!(kinds(&inbox), "EME");
    }
}
