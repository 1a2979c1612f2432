//! One writer at a time on a SQLite file, queued in the process.
//!
//! SQLite lets one connection write at a time. A writer that finds the lock
//! taken waits in SQLite's busy handler, on its connection's own thread,
//! sleeping 1, 2, 5, 10, … ms between tries whatever the holder is doing;
//! under a checkout load most writers met a held lock and slept past its
//! release. Writers to one SQLite file take turns here instead: an async
//! semaphore per file, taken before the write begins and held until it
//! ends, so the next writer starts as soon as the previous one is done and
//! SQLite never sees two writers. Every write function of this crate takes
//! its turn first; a write that holds a turn never waits for another.
//!
//! PostgreSQL takes no turn (its writers lock rows, not the database), nor
//! does a pool of one connection (an in-memory SQLite), which is a queue
//! already.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use sea_orm::{DatabaseBackend, DatabaseConnection};
use tokio::sync::Semaphore;

/// A writer's turn on its database; the next writer's begins when it drops.
#[must_use = "the turn ends when it is dropped"]
pub struct Turn {
    turns: Option<Arc<Turns>>,
    /// Whether it holds the turn (a wait that was cancelled does not).
    holds: bool,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(turns) = &self.turns {
            if self.holds {
                turns.turn.add_permits(1);
            }
            turns.writers.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// One SQLite file's turns.
struct Turns {
    /// One permit: the writer's.
    turn: Semaphore,
    /// Writers waiting for the turn or holding it.
    writers: AtomicUsize,
}

/// The turns of each SQLite file this process writes to, shared by every
/// pool on it (one per file for a server; a few hundred bytes per file for
/// the test suite's many servers, never forgotten).
static TURNS: LazyLock<Mutex<HashMap<PathBuf, Arc<Turns>>>> = LazyLock::new(Mutex::default);

/// Waits for the turn to write to `db`.
pub async fn take(db: &DatabaseConnection) -> Turn {
    let turns = turns_of(db);
    if let Some(turns) = &turns {
        turns.writers.fetch_add(1, Ordering::Relaxed);
    }
    // Made before the wait, so that a cancelled wait still counts down.
    let mut turn = Turn {
        turns,
        holds: false,
    };
    if let Some(turns) = &turn.turns {
        // The semaphore is never closed, so acquiring cannot fail; the
        // permit is given back by the `Turn`'s drop.
        if let Ok(permit) = turns.turn.acquire().await {
            permit.forget();
            turn.holds = true;
        }
    }
    turn
}

/// How many writers wait for `db`'s turn or hold it (0 where writers take
/// no turn): what a test that holds SQLite's lock from outside waits for.
pub fn writers(db: &DatabaseConnection) -> usize {
    turns_of(db).map_or(0, |turns| turns.writers.load(Ordering::Relaxed))
}

fn turns_of(db: &DatabaseConnection) -> Option<Arc<Turns>> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return None;
    }
    let pool = db.get_sqlite_connection_pool();
    if pool.options().get_max_connections() <= 1 {
        return None;
    }
    let options = pool.connect_options();
    let mut turns = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(turn) = turns.get(options.get_filename()) {
        return Some(turn.clone());
    }
    let turn = Arc::new(Turns {
        turn: Semaphore::new(1),
        writers: AtomicUsize::new(0),
    });
    turns.insert(options.get_filename().to_path_buf(), turn.clone());
    Some(turn)
}
