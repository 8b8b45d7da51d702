//! Opening the profile, in a way that always ends with a window: when the keyring is missing or
//! locked, or the history's key is gone from it, the window opens on a screen that says what
//! happened and how to go on (`StartupStatus`), and these functions are what its buttons call.
//! A person who started Parley from an icon never sees the terminal.

use parley_core::{CoreError, Parley, ParleyOptions, StoreKind};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::models::Numbered;
use crate::paths::Paths;
use crate::settings::SettingsStore;
use crate::state::{lock, AppState};
use crate::{instance, notify, CORE_EVENT};

/// Whether the core is running, and if not, why not and what the person can do.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StartupStatus {
    /// The profile is open: every other command works.
    pub ready: bool,
    /// Why it is not: `keyring_unavailable` (no keyring to keep secrets in, or it is locked),
    /// `history_locked` (the history's key is not in the keyring: the recovery code opens it),
    /// or another code of `docs/app-ipc.md`.
    pub code: Option<String>,
    /// The sentence that says what happened and how to fix it.
    pub message: Option<String>,
    /// The keyring in use (or tried).
    pub keyring: StoreKind,
    /// What people call it.
    pub keyring_name: String,
    /// The Linux kernel keyring can be used instead (no daemon; forgotten at reboot).
    pub kernel_keyring_available: bool,
}

/// The keyring a start uses: `PARLEY_KEYRING` when set (tests, headless machines), else the
/// person's choice from the settings (the OS keyring unless they chose the kernel keyring on
/// the start-up screen).
fn keyring<R: Runtime>(app: &AppHandle<R>, state: &AppState) -> Result<StoreKind, CoreError> {
    match std::env::var_os("PARLEY_KEYRING").filter(|v| !v.is_empty()) {
        Some(_) => Ok(StoreKind::from_env()?),
        None => Ok(state.settings.load(app).keyring),
    }
}

fn options(paths: &Paths, keyring: StoreKind) -> ParleyOptions {
    let mut options = ParleyOptions::new(paths.embedded_dir.clone());
    options.keyring = keyring;
    options.this_device.port = paths.embedded_port;
    options.this_device.share_port = paths.share_port;
    options.this_device.announce = paths.announce;
    options.microphone_in_rust = !crate::webview::page_microphone();
    options.speaker_in_rust = !crate::webview::page_speaker();
    options
}

/// Opens the profile (with the history's recovery code when given) and starts passing the
/// core's events to the page. Does nothing when it is already open. A failure is kept for the
/// page (`status`) and returned.
pub fn open<R: Runtime>(app: &AppHandle<R>, recovery_code: Option<&str>) -> Result<(), CoreError> {
    let state = app.state::<AppState>();
    let _one_at_a_time = lock(&state.opening);
    if state.parley.get().is_some() {
        return Ok(());
    }
    let result = keyring(app, &state).and_then(|keyring| {
        let options = options(&state.paths, keyring);
        match recovery_code {
            Some(code) => Parley::unlock(&state.paths.profile, options, code),
            None => Parley::open(&state.paths.profile, options),
        }
    });
    let (parley, mut events) = match result {
        Ok(opened) => opened,
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "the profile did not open");
            *lock(&state.problem) = Some((e.code(), e.to_string()));
            return Err(e);
        }
    };
    *lock(&state.problem) = None;
    parley.set_calls_supported(state.calls_supported.load(std::sync::atomic::Ordering::Relaxed));
    parley.use_file_settings(SettingsStore::file_settings(&state.settings.load(app)));
    let _ = state.parley.set(parley);

    let handle = app.clone();
    if let Err(e) = instance::listen(&state.paths.profile, move || {
        if let Some(window) = handle.get_webview_window("main") {
            let _ = window.unminimize();
            let _ = window.show();
            let _ = window.set_focus();
        }
    }) {
        tracing::warn!(error = %e, "later launches of this profile cannot bring this window forward");
    }

    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.recv().await {
            notify::on_event(&handle, &event).await;
            let seq = handle.state::<AppState>().next_event_seq();
            if let Err(e) = handle.emit(CORE_EVENT, Numbered { seq, value: &event }) {
                tracing::warn!(error = %e, "event not delivered to the page");
            }
        }
    });
    Ok(())
}

/// Where the start-up stands, for the page's first call.
pub fn status<R: Runtime>(app: &AppHandle<R>) -> StartupStatus {
    let state = app.state::<AppState>();
    let keyring = keyring(app, &state).unwrap_or_default();
    let problem = lock(&state.problem).clone();
    StartupStatus {
        ready: state.parley.get().is_some(),
        code: problem.as_ref().map(|(code, _)| code.clone()),
        message: problem.map(|(_, message)| message),
        keyring,
        keyring_name: keyring.describe().to_owned(),
        kernel_keyring_available: cfg!(target_os = "linux") && keyring != StoreKind::Keyutils,
    }
}
