//! What the app holds for its one profile: the core's client, the settings, and what the page
//! reported about its webview.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use parley_core::client::Client;

use crate::models::MediaCaps;
use crate::settings::SettingsStore;

pub struct AppState {
    pub client: Client,
    pub settings: SettingsStore,
    pub profile_dir: PathBuf,
    pub media: Mutex<Option<MediaCaps>>,
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

    /// The client's state now, numbered: it includes the effect of every event numbered up to
    /// `seq`. (The client updates its state before it passes an event on, so reading the count
    /// first and the state second can only include more, never less.)
    pub fn snapshot(&self) -> crate::models::Numbered<parley_core::client::Snapshot> {
        let seq = self.events_sent.load(Ordering::SeqCst);
        crate::models::Numbered {
            seq,
            value: self.client.snapshot(),
        }
    }
}
