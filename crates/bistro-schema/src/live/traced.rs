//! The spans of a live operation: its start, and each event it delivers.
//!
//! A subscription's stream is polled first for its start (the resolver's
//! checks and first load), then, for each event, from the event's arrival
//! in the subscriber's inbox to the response it makes. Between events it
//! waits, and a span must not: a span covers work, not idle minutes. Only
//! the subscriber's stream of its inbox (`hub::InboxStream`) knows when the
//! operation starts waiting or an event arrives, deep inside a poll of the
//! operation's stream; it tells the watch that [`traced`] installs on this
//! thread around each poll ([`inbox_polled`]). A poll never waits, so the
//! thread cannot change under it.

use std::cell::Cell;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_graphql::Response;
use futures_util::stream::{BoxStream, Stream, StreamExt as _};

thread_local! {
    /// What the inbox said during the poll in progress, if a watch is installed.
    static WATCH: Cell<Option<Said>> = const { Cell::new(None) };
}

/// The inbox's last word within one poll.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Said {
    Nothing,
    /// It had nothing: the stream waits for the next event.
    Waiting,
    /// It handed over an event, which the stream is making its response of
    /// (or filtered out, if the inbox is asked again in the same poll).
    Arrived,
}

/// Called by a subscriber's inbox stream at every poll: whether it handed over an entry.
pub(super) fn inbox_polled(arrived: bool) {
    WATCH.with(|watch| {
        if watch.get().is_some() {
            watch.set(Some(if arrived {
                Said::Arrived
            } else {
                Said::Waiting
            }));
        }
    });
}

/// `stream`, a live operation's responses, with its start in `start` (the
/// operation's span) and each event in a span of its own from
/// `event_span`, made when the event arrives and ended with its response.
pub fn traced(
    stream: BoxStream<'static, Response>,
    start: tracing::Span,
    event_span: impl Fn() -> tracing::Span + Send + 'static,
) -> BoxStream<'static, Response> {
    Traced {
        inner: stream,
        start: Some(start),
        event: None,
        event_span: Box::new(event_span),
    }
    .boxed()
}

struct Traced {
    inner: BoxStream<'static, Response>,
    /// The operation's span, until it starts waiting for events.
    start: Option<tracing::Span>,
    /// The span of the event whose response is being made.
    event: Option<tracing::Span>,
    event_span: Box<dyn Fn() -> tracing::Span + Send>,
}

impl Stream for Traced {
    type Item = Response;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Response>> {
        let this = &mut *self;
        let previous = WATCH.with(|watch| watch.replace(Some(Said::Nothing)));
        let polled = {
            let span = this.start.as_ref().or(this.event.as_ref());
            let _entered = span.map(tracing::Span::enter);
            this.inner.poll_next_unpin(cx)
        };
        let said = WATCH
            .with(|watch| watch.replace(previous))
            .unwrap_or(Said::Nothing);
        match polled {
            // A response (or the end): the span it was made in ends with
            // it. An event whose response was made within the poll it
            // arrived in gets its span now, ended at once.
            Poll::Ready(_) => {
                if said == Said::Arrived && this.event.is_none() {
                    drop((this.event_span)());
                }
                this.start = None;
                this.event = None;
            }
            Poll::Pending => match said {
                Said::Waiting => {
                    this.start = None;
                    this.event = None;
                }
                Said::Arrived if this.event.is_none() => {
                    this.start = None;
                    this.event = Some((this.event_span)());
                }
                _ => {}
            },
        }
        polled
    }
}
