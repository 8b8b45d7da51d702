//! Parley: peer-to-peer chat. The Tauri app shell shared by the desktop and mobile builds: it
//! opens the profile, hosts the core, and hands the page thin commands and one event stream.
//! Everything else lives in `parley-core` (`src-tauri/core`).

#[macro_use]
mod command_list;
mod bindings;
mod commands;
mod error;
mod instance;
mod links;
mod models;
mod notify;
mod paste;
mod paths;
mod settings;
mod startup;
mod state;
mod webview;

use std::time::Instant;

use parley_core::{CoreError, ProfileDirError};
use tauri::{Manager, RunEvent, WebviewUrl, WebviewWindowBuilder};
use tracing_subscriber::EnvFilter;

use crate::state::AppState;

/// The invoke handler of every command in `command_list.rs`.
macro_rules! invoke_handler {
    ($($command:ident),* $(,)?) => {
        tauri::generate_handler![$(commands::$command),*]
    };
}

/// The event every core event reaches the page as.
pub const CORE_EVENT: &str = "core-event";

/// Logs go to stderr; `RUST_LOG` overrides the default level (`info`).
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Ignore the error when a subscriber is already set (e.g. by an embedding test).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

fn setup(app: &mut tauri::App, started: Instant) -> Result<(), Box<dyn std::error::Error>> {
    let paths = paths::Paths::resolve(app.handle())?;
    app.manage(AppState::new(paths.clone(), started));
    match startup::open(app.handle(), None) {
        Err(CoreError::ProfileDir(ProfileDirError::InUse { .. })) if instance::show_running(&paths.profile) => {
            tracing::info!(profile = %paths.profile.display(), "already running: brought its window forward");
            std::process::exit(0);
        }
        // Anything else that kept the profile shut is the start-up screen's to show: the window
        // opens in every case.
        _ => {}
    }
    let window = WebviewWindowBuilder::new(app, "main", WebviewUrl::default())
        .title("Parley")
        .inner_size(960.0, 680.0)
        .min_inner_size(360.0, 480.0)
        .build()?;
    webview::configure(&window);
    notify::handle_clicks(app.handle());
    Ok(())
}

/// Runs the app until its window closes. A failure to start is also printed: no window shows it.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
#[allow(clippy::print_stderr)]
pub fn run() {
    let started = Instant::now();
    init_tracing();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        debug = cfg!(debug_assertions),
        "starting Parley"
    );

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::new().build())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| setup(app, started))
        .invoke_handler(with_commands!(invoke_handler))
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "Parley could not start");
            eprintln!("Parley could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            if let Some(parley) = handle
                .try_state::<AppState>()
                .and_then(|state| state.parley.get().cloned())
            {
                // Closes peer connections and stops the embedded server cleanly.
                tauri::async_runtime::block_on(parley.shutdown());
            }
        }
    });
}
