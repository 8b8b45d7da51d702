//! What the app holds for its one profile: the core's front door once the profile is open, why
//! it is not yet (shown by the start-up screen), the person's settings, and the process's start
//! time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use parley_core::{Parley, Snapshot};

use crate::error::{AppError, Result};
use crate::models::Numbered;
use crate::paths::Paths;
use crate::settings::SettingsStore;

pub struct AppState {
    /// Set once, when the profile opens (at start, or from the start-up screen).
    pub parley: OnceLock<Parley>,
    /// Why the profile did not open, as `(code, message)`, while it has not.
    pub problem: Mutex<Option<(String, String)>>,
    /// Opening is tried by one caller at a time.
    pub opening: Mutex<()>,
    pub paths: Paths,
    pub settings: SettingsStore,
    pub started: Instant,
    /// The same moment on the wall clock, to place the page's own timestamps.
    pub started_at: std::time::SystemTime,
    /// How many core events went to the page: each carries its number (`seq`), and so does
    /// every snapshot, so the page can tell which events a snapshot already includes.
    pub events_sent: AtomicU64,
    /// Whether the page can carry calls (it says so at start, `report_media_caps`); until it
    /// has, calls to this device are not taken.
    pub calls_supported: std::sync::atomic::AtomicBool,
}

/// A poisoned lock only means another command panicked; what it guards is still whole.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    pub fn new(paths: Paths, started: Instant) -> AppState {
        AppState {
            parley: OnceLock::new(),
            problem: Mutex::new(None),
            opening: Mutex::new(()),
            settings: SettingsStore::new(&paths.profile),
            paths,
            started,
            started_at: std::time::SystemTime::now() - started.elapsed(),
            events_sent: AtomicU64::default(),
            calls_supported: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The core, or why the profile is not open (the page shows the start-up screen then).
    pub fn parley(&self) -> Result<&Parley> {
        self.parley.get().ok_or_else(|| {
            let why = lock(&self.problem)
                .as_ref()
                .map_or_else(|| "it is still opening".to_owned(), |(_, message)| message.clone());
            AppError::NotStarted(why)
        })
    }

    /// The number for the next event sent to the page.
    pub fn next_event_seq(&self) -> u64 {
        self.events_sent.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The core's state now, numbered: it includes the effect of every event numbered up to
    /// `seq`. (The core updates its state before it passes an event on, so reading the count
    /// first and the state second can only include more, never less.)
    pub fn snapshot(&self) -> Result<Numbered<Snapshot>> {
        let seq = self.events_sent.load(Ordering::SeqCst);
        Ok(Numbered {
            seq,
            value: self.parley()?.snapshot(),
        })
    }
}
