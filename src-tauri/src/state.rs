//! What the app holds for its one profile: the core's front door, the person's settings, and the
//! process's start time.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parley_core::{Parley, Snapshot};

use crate::models::Numbered;
use crate::settings::SettingsStore;

pub struct AppState {
    pub parley: Parley,
    pub settings: SettingsStore,
    pub profile_dir: PathBuf,
    pub started: Instant,
    /// The same moment on the wall clock, to place the page's own timestamps.
    pub started_at: std::time::SystemTime,
    /// How many core events went to the page: each carries its number (`seq`), and so does
    /// every snapshot, so the page can tell which events a snapshot already includes.
    pub events_sent: AtomicU64,
}

impl AppState {
    /// The number for the next event sent to the page.
    pub fn next_event_seq(&self) -> u64 {
        self.events_sent.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The core's state now, numbered: it includes the effect of every event numbered up to
    /// `seq`. (The core updates its state before it passes an event on, so reading the count
    /// first and the state second can only include more, never less.)
    pub fn snapshot(&self) -> Numbered<Snapshot> {
        let seq = self.events_sent.load(Ordering::SeqCst);
        Numbered {
            seq,
            value: self.parley.snapshot(),
        }
    }
}
