//! What the app holds for its one profile: the core's client, the settings, and what the page
//! reported about its webview.

use std::path::PathBuf;
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
}
