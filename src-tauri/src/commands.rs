//! The Tauri commands: a thin adapter from the page to `parley_core::Parley`. Each one turns its
//! arguments into core types, calls the core, and returns its answer or a `{code, message}`
//! error. The contract is `docs/app-ipc.md`.

use parley_core::{
    CallIceServer, CallMicrophone, CallSignal, CallSpeaker, CallView, Contact, Conversation, CoreError, Cursor,
    DiscoveredServer, Message, Page, ProfileUpdate, RoomState, RoomSummary, SafetyNumber, SearchResult, ServerChoice,
    Sharing, Snapshot, StoreKind, User,
};
use tauri::ipc::{InvokeBody, Request, Response};
use tauri::{AppHandle, Manager, Runtime, State};

use crate::error::{AppError, Result};
use crate::models::{AppInfo, MediaCaps, Numbered};
use crate::settings::{IceCredential, Settings, SettingsStore};
use crate::startup::{self, StartupStatus};
use crate::state::AppState;

fn parse_cursor(value: &str) -> Result<Cursor> {
    value
        .parse::<Cursor>()
        .map_err(|e| AppError::InvalidInput(e.to_string()))
}

fn cursor(value: Option<String>) -> Result<Option<Cursor>> {
    value.as_deref().map(parse_cursor).transpose()
}

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        debug: cfg!(debug_assertions),
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        profile_dir: state.paths.profile.display().to_string(),
    }
}

/// Snapshots go to the page numbered (see `AppState::snapshot`).
type Stamped = Numbered<Snapshot>;

#[tauri::command]
pub fn snapshot(state: State<'_, AppState>) -> Result<Stamped> {
    state.snapshot()
}

/// The page's first call: whether the profile is open, or why not (the start-up screen).
#[tauri::command]
pub fn startup_status<R: Runtime>(app: AppHandle<R>) -> StartupStatus {
    startup::status(&app)
}

/// **Try again** on the start-up screen, optionally with another keyring (`keyutils`: the
/// kernel keyring, which needs no daemon), remembered for the next starts.
#[tauri::command]
pub async fn retry_startup<R: Runtime>(app: AppHandle<R>, keyring: Option<StoreKind>) -> Result<StartupStatus> {
    if let Some(keyring) = keyring {
        let state = app.state::<AppState>();
        let mut settings = state.settings.load(&app);
        settings.keyring = keyring;
        state.settings.save_local(&app, settings)?;
    }
    // A failure to open is in the status.
    let _ = open_profile(&app, None).await?;
    Ok(startup::status(&app))
}

/// Opens a locked history with its recovery code (and puts its key back into the keyring). A
/// code that does not fit is an error and changes nothing.
#[tauri::command]
pub async fn unlock_history<R: Runtime>(app: AppHandle<R>, recovery_code: String) -> Result<StartupStatus> {
    match open_profile(&app, Some(recovery_code)).await? {
        Err(e @ (CoreError::WrongRecoveryCode | CoreError::InvalidRecoveryCode)) => Err(e.into()),
        _ => Ok(startup::status(&app)),
    }
}

/// [`startup::open`] off the window's thread: it talks to the keyring (which may prompt) and may
/// encrypt an old history.
async fn open_profile<R: Runtime>(
    app: &AppHandle<R>,
    recovery_code: Option<String>,
) -> Result<std::result::Result<(), CoreError>> {
    let opener = app.clone();
    tauri::async_runtime::spawn_blocking(move || startup::open(&opener, recovery_code.as_deref()))
        .await
        .map_err(|e| AppError::InvalidInput(format!("opening the profile failed: {e}")))
}

/// The history's recovery code, to show the person (Settings, and once after it is made).
#[tauri::command]
pub fn recovery_code(state: State<'_, AppState>) -> Result<String> {
    Ok(state.parley()?.recovery_code()?)
}

/// The person has put the recovery code somewhere safe.
#[tauri::command]
pub fn recovery_code_saved(state: State<'_, AppState>) -> Result<Stamped> {
    state.parley()?.recovery_code_saved()?;
    state.snapshot()
}

#[tauri::command]
pub async fn restore_session<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> Result<Stamped> {
    let settings = state.settings.load(&app);
    let parley = state.parley()?;
    parley.use_ice_servers(state.settings.ice_servers(parley, &settings));
    if settings.let_others_join {
        // Opening the port failing (another window hosts the server, the port is taken) must
        // not stop the session: Settings shows sharing as off, with the reason on retry.
        if let Err(e) = parley.set_sharing(true).await {
            tracing::warn!(error = %e, "could not let others join this device's server");
        }
    }
    parley.restore(settings.server).await?;
    state.snapshot()
}

/// Remembers the server a person signed in to for the next start.
fn remember_server<R: Runtime>(app: &AppHandle<R>, state: &AppState, server: ServerChoice) -> Result<()> {
    let mut settings = state.settings.load(app);
    if settings.server != server {
        settings.server = server;
        state.settings.save(app, state.parley()?, settings, Vec::new())?;
    }
    Ok(())
}

#[tauri::command]
pub async fn sign_in<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    server: ServerChoice,
    login: String,
    password: String,
) -> Result<Stamped> {
    state.parley()?.sign_in(server.clone(), &login, &password).await?;
    remember_server(&app, &state, server)?;
    state.snapshot()
}

#[tauri::command]
pub async fn sign_up<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    server: ServerChoice,
    username: String,
    email: String,
    password: String,
    display_name: Option<String>,
) -> Result<Stamped> {
    state
        .parley()?
        .sign_up(server.clone(), &username, &email, &password, display_name.as_deref())
        .await?;
    remember_server(&app, &state, server)?;
    state.snapshot()
}

/// `keepHistory` false deletes the history on this device; kept unless asked.
#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>, keep_history: Option<bool>) -> Result<Stamped> {
    state.parley()?.sign_out(keep_history.unwrap_or(true)).await?;
    state.snapshot()
}

#[tauri::command]
pub async fn room_directory(state: State<'_, AppState>) -> Result<Vec<RoomSummary>> {
    Ok(state.parley()?.room_directory().await?)
}

#[tauri::command]
pub fn join_room(state: State<'_, AppState>, room: String) -> Result<RoomState> {
    Ok(state.parley()?.join_room(&room)?)
}

#[tauri::command]
pub fn leave_room(state: State<'_, AppState>, room: String) -> Result<()> {
    Ok(state.parley()?.leave_room(&room)?)
}

#[tauri::command]
pub async fn contacts(state: State<'_, AppState>) -> Result<Vec<Contact>> {
    Ok(state.parley()?.contacts().await?)
}

#[tauri::command]
pub async fn open_conversation(state: State<'_, AppState>, user_id: String) -> Result<Conversation> {
    Ok(state.parley()?.open_conversation(&user_id).await?)
}

#[tauri::command]
pub async fn history_page(
    state: State<'_, AppState>,
    conversation_id: String,
    before: Option<String>,
    limit: Option<usize>,
) -> Result<Page> {
    Ok(state
        .parley()?
        .history_page(&conversation_id, cursor(before)?, limit)
        .await?)
}

#[tauri::command]
pub async fn history_after(
    state: State<'_, AppState>,
    conversation_id: String,
    after: String,
    limit: Option<usize>,
) -> Result<Page> {
    Ok(state
        .parley()?
        .history_after(&conversation_id, parse_cursor(&after)?, limit)
        .await?)
}

#[tauri::command]
pub async fn message_cursor(state: State<'_, AppState>, message_id: String) -> Result<String> {
    Ok(state.parley()?.message(&message_id).await?.cursor().to_string())
}

#[tauri::command]
pub async fn send_message(
    state: State<'_, AppState>,
    user_id: String,
    body: String,
    reply_to: Option<String>,
) -> Result<Message> {
    Ok(state
        .parley()?
        .send_message(&user_id, &body, reply_to.as_deref())
        .await?)
}

#[tauri::command]
pub async fn edit_message(
    state: State<'_, AppState>,
    conversation_id: String,
    id: String,
    body: String,
) -> Result<Message> {
    Ok(state.parley()?.edit_message(&conversation_id, &id, &body).await?)
}

#[tauri::command]
pub async fn delete_message(
    state: State<'_, AppState>,
    conversation_id: String,
    id: String,
    for_everyone: bool,
) -> Result<()> {
    Ok(state
        .parley()?
        .delete_message(&conversation_id, &id, for_everyone)
        .await?)
}

/// `emoji: null` removes our reaction.
#[tauri::command]
pub async fn react(
    state: State<'_, AppState>,
    conversation_id: String,
    id: String,
    emoji: Option<String>,
) -> Result<Message> {
    Ok(state.parley()?.react(&conversation_id, &id, emoji.as_deref()).await?)
}

#[tauri::command]
pub async fn mark_read(state: State<'_, AppState>, conversation_id: String) -> Result<usize> {
    Ok(state.parley()?.mark_read(&conversation_id).await?)
}

#[tauri::command]
pub async fn set_typing(state: State<'_, AppState>, user_id: String, active: bool) -> Result<()> {
    state.parley()?.set_typing(&user_id, active).await;
    Ok(())
}

#[tauri::command]
pub async fn search(
    state: State<'_, AppState>,
    query: String,
    before: Option<String>,
    limit: Option<usize>,
) -> Result<Vec<SearchResult>> {
    Ok(state.parley()?.search(&query, None, cursor(before)?, limit).await?)
}

#[tauri::command]
pub async fn update_profile(
    state: State<'_, AppState>,
    display_name: Option<String>,
    bio: Option<String>,
    status: Option<String>,
) -> Result<User> {
    let update = ProfileUpdate {
        display_name,
        bio,
        status,
    };
    Ok(state.parley()?.update_profile(&update).await?)
}

/// The image arrives as the raw request body (no JSON array of numbers).
#[tauri::command]
pub async fn upload_avatar(state: State<'_, AppState>, request: Request<'_>) -> Result<User> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(AppError::InvalidInput(
            "send the image bytes as the request body".into(),
        ));
    };
    if bytes.is_empty() {
        return Err(AppError::InvalidInput("the image is empty".into()));
    }
    Ok(state.parley()?.upload_avatar(bytes.clone()).await?)
}

/// The avatar's bytes as an `ArrayBuffer`; empty when the user has none.
#[tauri::command]
pub async fn avatar(state: State<'_, AppState>, user_id: String) -> Result<Response> {
    let bytes = state.parley()?.avatar(&user_id).await?.unwrap_or_default();
    Ok(Response::new(bytes))
}

/// The safety numbers to compare with a contact, one per device of theirs met.
#[tauri::command]
pub async fn safety_numbers(state: State<'_, AppState>, user_id: String) -> Result<Vec<SafetyNumber>> {
    Ok(state.parley()?.safety_numbers(&user_id).await?)
}

/// The person compared safety numbers and they matched: returns how many devices that covers.
#[tauri::command]
pub async fn verify_contact(state: State<'_, AppState>, user_id: String) -> Result<usize> {
    Ok(state.parley()?.verify_contact(&user_id).await?)
}

/// The person accepts a contact's changed key; held messages go out.
#[tauri::command]
pub async fn accept_identity(state: State<'_, AppState>, user_id: String) -> Result<usize> {
    Ok(state.parley()?.accept_identity(&user_id).await?)
}

/// The person compared `url`'s certificate fingerprint with the one its owner shows (or took
/// it from an invite): only that certificate is accepted for it from now on.
#[tauri::command]
pub fn trust_server(state: State<'_, AppState>, url: String, fingerprint: String) -> Result<()> {
    Ok(state.parley()?.trust_server(&url, &fingerprint)?)
}

/// The person agreed, once, to sign in to `url` over plain HTTP although it is another machine.
#[tauri::command]
pub fn allow_plain_http(state: State<'_, AppState>, url: String) -> Result<()> {
    Ok(state.parley()?.allow_plain_http(&url)?)
}

/// "Let others join": opens (or closes) this device's server to the network; remembered for the
/// next start.
#[tauri::command]
pub async fn set_sharing<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    on: bool,
) -> Result<Option<Sharing>> {
    let parley = state.parley()?;
    let sharing = parley.set_sharing(on).await?;
    let mut settings = state.settings.load(&app);
    if settings.let_others_join != on {
        settings.let_others_join = on;
        state.settings.save(&app, parley, settings, Vec::new())?;
    }
    Ok(sharing)
}

/// Whether this device's server is open to others now, with its invites.
#[tauri::command]
pub async fn sharing(state: State<'_, AppState>) -> Result<Option<Sharing>> {
    Ok(state.parley()?.sharing().await)
}

/// Parley servers on the local network that let others join (multicast DNS), after listening
/// about two seconds. Suggestions: the person confirms the fingerprint before trusting one.
#[tauri::command]
pub async fn discover_servers(state: State<'_, AppState>) -> Result<Vec<DiscoveredServer>> {
    Ok(state
        .parley()?
        .discover_servers(std::time::Duration::from_secs(2))
        .await?)
}

#[tauri::command]
pub fn get_settings<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> Settings {
    state.settings.load(&app)
}

#[tauri::command]
pub fn set_settings<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    settings: Settings,
    ice_credentials: Option<Vec<IceCredential>>,
) -> Result<Settings> {
    let parley = state.parley()?;
    // A folder chosen now must be usable now (one saved earlier may be on a disk unplugged
    // since: that pauses transfers instead, see `startup::open`).
    let mut checked = settings.clone();
    checked.validate()?;
    parley.set_file_settings(SettingsStore::file_settings(&checked))?;
    let saved = state
        .settings
        .save(&app, parley, settings, ice_credentials.unwrap_or_default())?;
    parley.use_ice_servers(state.settings.ice_servers(parley, &saved));
    Ok(saved)
}

/// What the page found in its webview: logged, with the call path it implies; whether this
/// device takes calls follows from it.
#[tauri::command]
pub fn report_media_caps(state: State<'_, AppState>, caps: MediaCaps) {
    tracing::info!(
        ?caps,
        calls = caps.call_path(),
        can_call = caps.can_call(),
        "webview media capabilities"
    );
    state
        .calls_supported
        .store(caps.can_call(), std::sync::atomic::Ordering::Relaxed);
    if let Ok(parley) = state.parley() {
        parley.set_calls_supported(caps.can_call());
    }
}

/// Calls `user_id` (video, or sound only); `call` and `call-signal` events follow.
#[tauri::command]
pub async fn start_call(state: State<'_, AppState>, user_id: String, video: bool) -> Result<CallView> {
    Ok(state.parley()?.start_call(&user_id, video).await?)
}

/// Answers the call ringing here.
#[tauri::command]
pub async fn answer_call(state: State<'_, AppState>, call_id: String) -> Result<()> {
    Ok(state.parley()?.answer_call(&call_id).await?)
}

/// Declines the call ringing here.
#[tauri::command]
pub async fn decline_call(state: State<'_, AppState>, call_id: String) -> Result<()> {
    Ok(state.parley()?.decline_call(&call_id).await?)
}

/// Ends a call: cancel, decline or hang up, as fits its state.
#[tauri::command]
pub async fn hang_up(state: State<'_, AppState>, call_id: String) -> Result<()> {
    Ok(state.parley()?.hang_up(&call_id).await?)
}

/// The page's description or ICE candidate for the other side of call `call_id`.
#[tauri::command]
pub async fn call_signal(state: State<'_, AppState>, call_id: String, signal: CallSignal) -> Result<()> {
    Ok(state.parley()?.call_signal(&call_id, signal).await?)
}

/// The page's media connection is up (`failure` null) or failed (`failure` says why).
#[tauri::command]
pub async fn call_media_state(state: State<'_, AppState>, call_id: String, failure: Option<String>) -> Result<()> {
    Ok(state.parley()?.call_media_state(&call_id, failure.as_deref()).await?)
}

/// Makes the current call's media connection in Rust, where the webview has no WebRTC
/// (`docs/call-media-bridge.md`).
#[tauri::command]
pub async fn media_open(
    state: State<'_, AppState>,
    call_id: String,
    offerer: bool,
    video: bool,
    ice_servers: Vec<CallIceServer>,
) -> Result<()> {
    Ok(state
        .parley()?
        .media_open(&call_id, offerer, video, &ice_servers)
        .await?)
}

/// The other side's description or candidate, for the media connection in Rust.
#[tauri::command]
pub async fn media_signal(state: State<'_, AppState>, call_id: String, signal: CallSignal) -> Result<()> {
    Ok(state.parley()?.media_signal(&call_id, signal).await?)
}

/// What the page encoded: media records as the raw body, the call in the `Parley-Call` header.
#[tauri::command]
pub async fn media_send(state: State<'_, AppState>, request: Request<'_>) -> Result<()> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(AppError::InvalidInput(
            "send the media records as the request body".into(),
        ));
    };
    let call_id = request
        .headers()
        .get("Parley-Call")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::InvalidInput("missing Parley-Call header".into()))?;
    Ok(state.parley()?.media_send(call_id, bytes.clone().into()).await?)
}

/// What arrived for the page, as records (an empty answer after a second of quiet).
#[tauri::command]
pub async fn media_receive(state: State<'_, AppState>, call_id: String) -> Result<Response> {
    Ok(Response::new(state.parley()?.media_receive(&call_id).await?))
}

/// The microphone the page opened (its label): captured and sent by the app when the desktop's
/// sound server has it, muted unless `on`; else the page sends its own sound.
#[tauri::command]
pub async fn media_microphone(
    state: State<'_, AppState>,
    call_id: String,
    label: String,
    on: bool,
) -> Result<CallMicrophone> {
    Ok(state.parley()?.media_microphone(&call_id, &label, on).await?)
}

/// The other side's sound: played by the app on the desktop's sound server when it can be
/// (the page then gets none to play); else the page plays it.
#[tauri::command]
pub async fn media_speaker(state: State<'_, AppState>, call_id: String) -> Result<CallSpeaker> {
    Ok(state.parley()?.media_speaker(&call_id).await?)
}

/// Closes the call's media connection in Rust.
#[tauri::command]
pub async fn media_close(state: State<'_, AppState>, call_id: String) -> Result<()> {
    state.parley()?.media_close(&call_id).await;
    Ok(())
}

/// What this side sends now: microphone (`audio`) and camera (`video`) on or off.
#[tauri::command]
pub async fn set_call_media(state: State<'_, AppState>, call_id: String, audio: bool, video: bool) -> Result<()> {
    Ok(state.parley()?.set_call_media(&call_id, audio, video).await?)
}

/// The call going on or ringing, if any (after a reload of the page).
#[tauri::command]
pub fn current_call(state: State<'_, AppState>) -> Result<Option<CallView>> {
    Ok(state.parley()?.current_call())
}

/// The page shows its first screen. Logs, in milliseconds since the process started, the
/// page's first contentful paint (`first_contentful_paint`: Unix ms from the page's Paint
/// Timing; this moment where the webview has none) and this first screen (read by
/// `scripts/footprint.sh`).
#[tauri::command]
pub fn ui_ready(state: State<'_, AppState>, first_contentful_paint: Option<f64>) {
    let screen = state.started.elapsed().as_millis();
    let start = state
        .started_at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or_default();
    let paint = first_contentful_paint
        .filter(|t| t.is_finite() && *t >= start)
        .map_or(screen, |t| (t - start) as u128);
    tracing::info!(ms = paint, "first paint");
    tracing::info!(ms = screen, "first screen");
}

/// Opens a link from a message in the system's browser (or mail program for `mailto:`); only
/// `http`, `https` and `mailto` links.
#[tauri::command]
pub fn open_url<R: Runtime>(app: AppHandle<R>, url: String) -> Result<()> {
    use tauri_plugin_opener::OpenerExt;
    let url = crate::links::external_link(&url).map_err(|e| AppError::InvalidInput(e.to_string()))?;
    app.opener()
        .open_url(url.as_str(), None::<&str>)
        .map_err(|e| AppError::InvalidInput(format!("the link could not be opened: {e}")))
}

/// Shows how many messages are unread in the window title and, where the desktop has one, the
/// taskbar or dock badge.
#[tauri::command]
pub fn set_unread<R: Runtime>(app: AppHandle<R>, count: u32) {
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    if let Err(e) = window.set_title(&crate::notify::window_title(count)) {
        tracing::debug!(error = %e, "window title not set");
    }
    // Unsupported on some desktops (Windows, Linux without a launcher that shows badges): the
    // title still says it.
    if let Err(e) = window.set_badge_count((count > 0).then_some(i64::from(count))) {
        tracing::debug!(error = %e, "badge not set");
    }
}

/// The native folder picker (for the download folder); starts in `current` when it exists.
/// `null` when the person cancels.
#[tauri::command]
pub async fn pick_folder<R: Runtime>(app: AppHandle<R>, current: Option<String>) -> Result<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = app.dialog().file().set_title("Where received files go");
    if let Some(dir) = current.map(std::path::PathBuf::from).filter(|d| d.is_dir()) {
        dialog = dialog.set_directory(dir);
    }
    dialog.pick_folder(move |picked| {
        let _ = tx.send(picked);
    });
    let picked = rx.await.unwrap_or(None);
    picked
        .map(|p| {
            p.into_path()
                .map(|p| p.to_string_lossy().into_owned())
                .map_err(|e| AppError::InvalidInput(format!("that folder cannot be used: {e}")))
        })
        .transpose()
}

/// The native file picker for files to send (several at once). Empty when the person cancels.
#[tauri::command]
pub async fn pick_files<R: Runtime>(app: AppHandle<R>) -> Result<Vec<String>> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog().file().set_title("Send files").pick_files(move |picked| {
        let _ = tx.send(picked);
    });
    let picked = rx.await.unwrap_or(None).unwrap_or_default();
    picked
        .into_iter()
        .map(|p| {
            p.into_path()
                .map(|p| p.to_string_lossy().into_owned())
                .map_err(|e| AppError::InvalidInput(format!("that file cannot be sent: {e}")))
        })
        .collect()
}

/// Offers files from disk (picked or dropped) to a contact, one message each; returns them.
/// Stops at the first that cannot be read, keeping the ones before it.
#[tauri::command]
pub async fn send_files(state: State<'_, AppState>, user_id: String, paths: Vec<String>) -> Result<Vec<Message>> {
    let parley = state.parley()?;
    let mut sent = Vec::with_capacity(paths.len());
    for path in paths {
        sent.push(parley.send_file(&user_id, std::path::Path::new(&path)).await?);
    }
    Ok(sent)
}

/// Offers a file the page holds in memory (an image pasted from the clipboard): the bytes are
/// the request body, raw; the contact and name travel as headers (`Parley-User`,
/// `Parley-Name`, URI-encoded). Kept in the profile so it can be sent later and resumed.
#[tauri::command]
pub async fn send_pasted_file(state: State<'_, AppState>, request: Request<'_>) -> Result<Message> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(AppError::InvalidInput(
            "send the file's bytes as the request body".into(),
        ));
    };
    let header = |name: &str| -> Result<String> {
        let value = request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| AppError::InvalidInput(format!("missing {name} header")))?;
        crate::paste::decode_header(value).ok_or_else(|| AppError::InvalidInput(format!("{name} is not valid")))
    };
    let (user_id, name) = (header("Parley-User")?, header("Parley-Name")?);
    let parley = state.parley()?;
    let path = crate::paste::keep(&parley.profile_dir(), &name, bytes)
        .map_err(|e| AppError::InvalidInput(format!("the pasted file could not be kept for sending: {e}")))?;
    Ok(parley.send_file(&user_id, &path).await?)
}

/// The person accepts a file waiting for their decision.
#[tauri::command]
pub async fn accept_file(state: State<'_, AppState>, conversation_id: String, id: String) -> Result<Message> {
    Ok(state.parley()?.accept_file(&conversation_id, &id).await?)
}

/// The person declines a file offered to them.
#[tauri::command]
pub async fn decline_file(state: State<'_, AppState>, conversation_id: String, id: String) -> Result<Message> {
    Ok(state.parley()?.decline_file(&conversation_id, &id).await?)
}

/// Cancels a file being sent or received.
#[tauri::command]
pub async fn cancel_file(state: State<'_, AppState>, conversation_id: String, id: String) -> Result<Message> {
    Ok(state.parley()?.cancel_file(&conversation_id, &id).await?)
}

/// Continues a paused transfer.
#[tauri::command]
pub async fn resume_file(state: State<'_, AppState>, conversation_id: String, id: String) -> Result<Message> {
    Ok(state.parley()?.resume_file(&conversation_id, &id).await?)
}

/// Opens a file message's file with the system's default program.
#[tauri::command]
pub async fn open_file<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, id: String) -> Result<()> {
    use tauri_plugin_opener::OpenerExt;
    let path = state.parley()?.file_path(&id).await?;
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|e| AppError::InvalidInput(format!("the file could not be opened: {e}")))
}

/// Shows a file message's file in the system's file manager.
#[tauri::command]
pub async fn show_file<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, id: String) -> Result<()> {
    use tauri_plugin_opener::OpenerExt;
    let path = state.parley()?.file_path(&id).await?;
    app.opener()
        .reveal_item_in_dir(&path)
        .map_err(|e| AppError::InvalidInput(format!("the folder could not be shown: {e}")))
}

/// "Save as…": the native save dialog, then a copy there. The saved path, or `null` when the
/// person cancels.
#[tauri::command]
pub async fn save_file_as<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> Result<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let parley = state.parley()?;
    let source = parley.file_path(&id).await?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = app.dialog().file().set_title("Save as");
    if let Some(name) = source.file_name() {
        dialog = dialog.set_file_name(name.to_string_lossy());
    }
    dialog.save_file(move |picked| {
        let _ = tx.send(picked);
    });
    let Some(picked) = rx.await.unwrap_or(None) else {
        return Ok(None);
    };
    let destination = picked
        .into_path()
        .map_err(|e| AppError::InvalidInput(format!("that place cannot be used: {e}")))?;
    let saved = parley.save_file_as(&id, &destination).await?;
    Ok(Some(saved.to_string_lossy().into_owned()))
}

/// A picture for the viewer, decoded by the core with strict limits and re-encoded (so the
/// page never decodes a peer's bytes): the image as an `ArrayBuffer`.
#[tauri::command]
pub async fn picture(state: State<'_, AppState>, id: String) -> Result<Response> {
    let (bytes, _mime) = state.parley()?.picture(&id).await?;
    Ok(Response::new(bytes))
}
