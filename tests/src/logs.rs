//! What the server logs, captured for tests that assert on log lines.
//!
//! The capture is the calling thread's default subscriber. A `#[tokio::test]`
//! runs on one thread, and [`crate::TestApp`] serves on the test's runtime,
//! so everything the server logs while handling the test's requests is
//! captured, and nothing from tests running on other threads.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Log lines written while this lives (every level, no colours).
pub struct CapturedLogs {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps each call site's interest right while tests hold subscribers of
/// their own thread. Call it before setting one (`capture` does).
///
/// tracing-core works out a call site's interest once, from every
/// registered subscriber, except while exactly one is registered: then it
/// asks only the default of the thread that reached the call site first. A
/// call site first reached on a thread without a subscriber, while one
/// test's subscriber was the only one alive, was switched off for every
/// thread, that test's included, whose log lines or spans then went
/// missing under load. Two subscribers that live as long as the process
/// keep that shortcut off for good.
pub fn keep_interest_per_thread() {
    static KEEPERS: std::sync::OnceLock<[tracing::Dispatch; 2]> = std::sync::OnceLock::new();
    KEEPERS.get_or_init(|| {
        let keeper = || tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        [keeper(), keeper()]
    });
}

/// Starts capturing this thread's log lines, at every level.
pub fn capture() -> CapturedLogs {
    keep_interest_per_thread();
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Sink(buffer.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    CapturedLogs {
        buffer,
        _guard: tracing::subscriber::set_default(subscriber),
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
