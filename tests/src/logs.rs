//! What the server logs, captured for tests that assert on log lines.
//!
//! The capture is the calling thread's. A `#[tokio::test]` runs on one
//! thread, and [`crate::TestApp`] serves on the test's runtime, so
//! everything the server logs while handling the test's requests is
//! captured, and nothing from tests running on other threads.
//!
//! One subscriber serves the whole test binary, installed as the global
//! default on the first capture, and writes an event only where a capture
//! is on (asked per event, so no call site's interest is ever cached as
//! "never"). A subscriber per thread (`tracing::subscriber::set_default`)
//! lost lines now and then: call sites cache whether any subscriber wants
//! them, and with subscribers coming and going on the threads of parallel
//! tests, a call site could be cached as unwanted while one still was.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

type Buffer = Arc<Mutex<Vec<u8>>>;

thread_local! {
    /// Where this thread's log lines go while a capture is on.
    static CAPTURE: RefCell<Option<Buffer>> = const { RefCell::new(None) };
}

/// Log lines written while this lives (every level, no colours).
pub struct CapturedLogs {
    buffer: Buffer,
    /// The capture this one replaced on its thread, put back on drop.
    previous: Option<Buffer>,
}

/// Writes to the calling thread's capture, if any.
struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(buffer) = capture.borrow().as_ref() {
                buffer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capturing() -> bool {
    CAPTURE.with(|capture| capture.borrow().is_some())
}

/// Installs the one subscriber of the test binary (once).
fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(|| ThreadSink)
            .with_filter(tracing_subscriber::filter::filter_fn(|_| capturing()));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in the test binary");
    });
}

/// Starts capturing this thread's log lines, at every level.
pub fn capture() -> CapturedLogs {
    install();
    let buffer = Buffer::default();
    let previous = CAPTURE.with(|capture| capture.borrow_mut().replace(buffer.clone()));
    CapturedLogs { buffer, previous }
}

impl Drop for CapturedLogs {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CAPTURE.with(|capture| *capture.borrow_mut() = previous);
    }
}

impl CapturedLogs {
    /// Everything captured so far.
    pub fn text(&self) -> String {
        let bytes = self
            .buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}
