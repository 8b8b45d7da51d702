//! WAL checkpoints off the write path. SQLite's automatic checkpoint runs inside the commit that
//! takes the WAL past 1000 pages, fsyncs included, so every hundred messages or so a send waited
//! for the disk. The writer has automatic checkpoints off instead, and a thread copies the WAL
//! back into the database on its own connection (PASSIVE: it neither waits for nor blocks the
//! writer or readers), shortly after writes, or at once when the WAL passes the same 1000 pages.
//!
//! The WAL only starts over from its beginning when a write transaction begins after a
//! checkpoint copied all of it. Under sustained writes (a bulk import, a long busy conversation)
//! a concurrent checkpoint may never finish inside such a gap, so past [`WAL_LIMIT_FRAMES`] the
//! thread runs one RESTART checkpoint holding the writer, which then costs only the frames the
//! PASSIVE one left plus its syncs; and should the thread fall far behind (a saturated disk), the
//! writer restarts the WAL itself at twice that.

use std::cell::Cell;
use std::os::raw::c_int;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};
use rusqlite::hooks::Wal;
use rusqlite::{Connection, OpenFlags};

use super::encryption::{self, Encryption};
use super::{schema, HistoryError};

/// How long after a write an idle history checkpoints: a burst of messages shares one.
pub(crate) const INTERVAL: Duration = Duration::from_millis(250);
/// WAL frames (pages) at which the checkpoint runs at once: SQLite's automatic threshold.
const CHECKPOINT_FRAMES: i64 = 1000;
/// WAL size (32 MiB of 4 KiB pages) past which the thread restarts it, holding the writer.
pub(crate) const WAL_LIMIT_FRAMES: i64 = 8192;
/// WAL size past which the writer restarts it inline: the thread is not keeping up.
pub(crate) const WAL_HARD_LIMIT_FRAMES: i64 = 2 * WAL_LIMIT_FRAMES;

thread_local! {
    /// Frames in the WAL after the last commit on this thread, from the writer's WAL hook.
    static WAL_FRAMES: Cell<Option<i64>> = const { Cell::new(None) };
}

fn wal_hook(_: &Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(Some(i64::from(frames)));
    Ok(())
}

/// Turns automatic checkpoints off on the writer and has its commits report the WAL's size (see
/// [`Checkpointer::write`]). The hook replaces SQLite's automatic checkpoint, which is one too.
pub(crate) fn install_wal_hook(writer: &Connection) -> Result<(), HistoryError> {
    // The pragma installs (or clears) SQLite's own WAL hook, so it goes first.
    writer.pragma_update(None, "wal_autocheckpoint", 0)?;
    writer.wal_hook(Some(wal_hook));
    Ok(())
}

#[derive(Default)]
struct State {
    /// Frames in the WAL after the last commit; 0 once checkpointed.
    frames: i64,
    dirty: bool,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }
}

pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens the checkpointer's own connection to `path` and starts its thread. `writer` must
    /// have had [`install_wal_hook`].
    pub(crate) fn start(
        path: &Path,
        encryption: &Encryption,
        writer: Arc<Mutex<Connection>>,
    ) -> Result<Checkpointer, HistoryError> {
        let conn = encryption::connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            encryption,
        )?;
        schema::configure_checkpointer(&conn)?;
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("history-checkpoint".into())
            .spawn({
                let shared = shared.clone();
                move || run(conn, &writer, &shared)
            })
            .map_err(HistoryError::Thread)?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Runs `f` on the (locked) writer connection and tells the thread how big the WAL got.
    pub(crate) fn write<T>(&self, writer: &mut Connection, f: impl FnOnce(&mut Connection) -> T) -> T {
        WAL_FRAMES.set(None);
        let result = f(writer);
        let Some(frames) = WAL_FRAMES.take() else {
            return result; // nothing committed
        };
        if frames >= WAL_HARD_LIMIT_FRAMES {
            restart(writer);
            return result;
        }
        let mut state = self.shared.state();
        state.frames = frames;
        // The first write wakes the thread to start its timer; a large WAL wakes it to run now.
        if !state.dirty || frames >= CHECKPOINT_FRAMES {
            state.dirty = true;
            self.shared.wake.notify_one();
        }
        result
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.state().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: Connection, writer: &Mutex<Connection>, shared: &Shared) {
    let mut state = shared.state();
    loop {
        // Idle until something is written.
        while !state.stop && !state.dirty {
            shared.wake.wait(&mut state);
        }
        // Let a burst finish, unless the WAL is already large.
        let due = Instant::now() + INTERVAL;
        while !state.stop && state.frames < CHECKPOINT_FRAMES {
            let now = Instant::now();
            if now >= due {
                break;
            }
            shared.wake.wait_for(&mut state, due - now);
        }
        if state.stop {
            // The owner checkpoints (TRUNCATE) once this thread is gone.
            return;
        }
        // Writes from here on mark it dirty again.
        state.dirty = false;
        state.frames = 0;
        drop(state);
        match checkpoint(&conn, "PASSIVE") {
            Ok((log, done)) => {
                tracing::trace!(log, done, "history checkpoint");
                if log >= WAL_LIMIT_FRAMES {
                    let writer = writer.lock();
                    restart(&writer);
                }
            }
            Err(e) => tracing::debug!(error = %e, "history checkpoint failed; retrying after the next write"),
        }
        state = shared.state();
    }
}

/// Copies what is left of the WAL and has the next write start it over from the beginning.
fn restart(writer: &Connection) {
    match checkpoint(writer, "RESTART") {
        Ok((log, done)) => tracing::debug!(log, done, "history WAL restarted"),
        Err(e) => tracing::debug!(error = %e, "history WAL restart failed"),
    }
}

/// Runs `PRAGMA wal_checkpoint(mode)`: frames in the WAL, and how many are now in the database.
pub(crate) fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    })
}
