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
use tauri::{AppHandle, Manager, RunEvent, Runtime, WebviewUrl, WebviewWindowBuilder};
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
pub use crate::notify::OPEN_CONVERSATION_EVENT;

/// Logs go to stderr; `RUST_LOG` overrides the default level (`info`).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Ignore the error when a subscriber is already set (e.g. by an embedding test).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

fn setup<R: Runtime>(app: &mut tauri::App<R>, started: Instant) -> Result<(), Box<dyn std::error::Error>> {
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

/// The whole app — plugins, start-up, every command — on `builder`'s runtime: the real window's
/// ([`run`]) or, for tests that drive the real commands from a browser page, Tauri's mock runtime
/// (the IPC bridge in `tests/`).
pub fn app<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    let started = Instant::now();
    builder
        .plugin(tauri_plugin_store::Builder::new().build())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| setup(app, started))
        .invoke_handler(with_commands!(invoke_handler))
}

/// What the app does as it ends, whatever ends it.
pub fn on_exit<R: Runtime>(handle: &AppHandle<R>) {
    if let Some(parley) = handle
        .try_state::<AppState>()
        .and_then(|state| state.parley.get().cloned())
    {
        // Closes peer connections and stops the embedded server cleanly.
        tauri::async_runtime::block_on(parley.shutdown());
    }
}

/// Runs the app until its window closes. A failure to start is also printed: no window shows it.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
#[allow(clippy::print_stderr)]
pub fn run() {
    init_tracing();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        debug = cfg!(debug_assertions),
        "starting Parley"
    );

    let app = app(tauri::Builder::default()).build(tauri::generate_context!());
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
            on_exit(handle);
        }
    });
}
