//! Parley: peer-to-peer chat. The Tauri app shell shared by the desktop and mobile builds.

use serde::Serialize;
use tracing_subscriber::EnvFilter;

/// What the UI shows about the running build (and what a bug report should quote).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    pub version: &'static str,
    pub debug: bool,
    pub os: &'static str,
    pub arch: &'static str,
}

impl BuildInfo {
    pub fn current() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION"),
            debug: cfg!(debug_assertions),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
        }
    }
}

#[tauri::command]
fn build_info() -> BuildInfo {
    BuildInfo::current()
}

/// Logs go to stderr; `RUST_LOG` overrides the default level (`info`).
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Ignore the error when a subscriber is already set (e.g. by an embedding test).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    init_tracing();
    let info = BuildInfo::current();
    tracing::info!(version = info.version, debug = info.debug, "starting Parley");

    tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::new().build())
        .invoke_handler(tauri::generate_handler![build_info])
        .run(tauri::generate_context!())
        .expect("error while running Parley");
}
