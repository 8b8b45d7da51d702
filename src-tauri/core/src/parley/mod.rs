//! [`Parley`]: one profile, running: the whole surface of the core. The desktop app's commands,
//! `parley-cli` and the tests all drive this type, so a feature is wired once.
//!
//! Offline first: opening needs no network, and history, contacts and search work from the
//! moment it is open. Signing in goes online by itself; while the server is out of reach the
//! session is kept and attempts go on in the background.
//!
//! The methods are grouped by what they are about: the session's life cycle (`session.rs`),
//! rooms and the account (`account.rs`), conversations and messages (`conversations.rs`), and the
//! history, which answers with no network (`history.rs`).

mod account;
mod calls;
mod conversations;
mod files;
mod history;
mod media;
mod servers;
mod session;
mod sharing;
mod trust;

pub use history::DEFAULT_PAGE;

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use parley_history::History;
use parley_peer::{IceServer, Identity};
use parley_protocol::User;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use crate::api_client::ApiClient;
use crate::chat::ChatEngine;
use crate::device_identity;
use crate::error::CoreError;
use crate::events::CoreEvent;
use crate::files::Transfers;
use crate::history_key;
use crate::models::{Connection, ErrorInfo, RoomState, ServerChoice, Snapshot};
use crate::options::ParleyOptions;
use crate::profile_dir::ProfileDir;
use crate::secrets::SecretStore;
use crate::this_device::LocalServer;

const HISTORY_FILE: &str = "history.db";

/// One profile, running. Cheap to clone; clones are the same profile.
#[derive(Clone)]
pub struct Parley {
    inner: Arc<Inner>,
}

struct Inner {
    profile: Mutex<ProfileDir>,
    secrets: SecretStore,
    history: History,
    /// This device's identity key (its private half lives in the keyring).
    identity: Arc<Identity>,
    options: ParleyOptions,
    events: UnboundedSender<CoreEvent>,
    state: Mutex<State>,
    /// Session transitions (restore, sign in/up/out, a session ending) one at a time.
    transition: tokio::sync::Mutex<()>,
    this_device: tokio::sync::Mutex<Option<LocalServer>>,
    /// While "Let others join" is on: the port open to the network, and its invites.
    sharing: tokio::sync::Mutex<Option<sharing::OpenServer>>,
    /// STUN/TURN servers from the person's settings. Memory only: their credentials come from
    /// the keyring, so they must never reach `profile.json`.
    ice_servers: Mutex<Vec<IceServer>>,
    /// Files sent and received; outlives sessions (accepting or cancelling works offline).
    transfers: Transfers,
    /// Whether the page can take calls (see [`Parley::set_calls_supported`]).
    calls_supported: std::sync::atomic::AtomicBool,
    /// The current call's media connection in Rust, when the page's webview has no WebRTC.
    media: crate::calls::MediaBridge,
}

/// A session the server accepted: its API client (holding the token) and who it is.
struct SignedIn {
    api: ApiClient,
    user: User,
}

#[derive(Default)]
struct State {
    connection: Option<Connection>,
    signed_in: Option<SignedIn>,
    engine: Option<ChatEngine>,
    server: ServerChoice,
    error: Option<ErrorInfo>,
    /// Bumped on every session change, so a late event or a retry from an older session is
    /// recognised and ignored.
    generation: u64,
    retry: Option<JoinHandle<()>>,
    /// The task passing the engine's events on; it holds the profile, so it must end with the
    /// session for the profile's lock to be released.
    pump: Option<JoinHandle<()>>,
}

impl Parley {
    /// Opens a profile directory (creating it on first use): what it remembers, its history, its
    /// keyring entry. No network. Every [`CoreEvent`] goes to the returned receiver, in the order
    /// things happened. Fails if another process has the profile open.
    pub fn open(
        dir: impl Into<PathBuf>,
        options: ParleyOptions,
    ) -> Result<(Parley, UnboundedReceiver<CoreEvent>), CoreError> {
        Parley::open_with(dir.into(), options, None)
    }

    /// Opens a profile whose history [`Parley::open`] found locked
    /// ([`CoreError::HistoryLocked`]: the keyring lost its key) with the history's recovery
    /// code, and puts the key back into the keyring. A code that does not open the history
    /// changes nothing ([`CoreError::WrongRecoveryCode`], [`CoreError::InvalidRecoveryCode`]).
    pub fn unlock(
        dir: impl Into<PathBuf>,
        options: ParleyOptions,
        recovery_code: &str,
    ) -> Result<(Parley, UnboundedReceiver<CoreEvent>), CoreError> {
        Parley::open_with(dir.into(), options, Some(recovery_code))
    }

    fn open_with(
        dir: PathBuf,
        options: ParleyOptions,
        recovery_code: Option<&str>,
    ) -> Result<(Parley, UnboundedReceiver<CoreEvent>), CoreError> {
        let mut profile = ProfileDir::open(dir)?;
        let secrets = SecretStore::open(options.keyring)?;
        let history_path = profile.dir().join(HISTORY_FILE);
        let opened = history_key::open(&history_path, &secrets, profile.id(), recovery_code)?;
        if opened.newly_encrypted {
            profile.remember(|r| r.recovery_code_pending = true)?;
        }
        let history = opened.history;
        let identity = Arc::new(device_identity::load_or_create(&secrets, profile.id())?);
        // A profile still signed in starts out "connecting": its owner and history can be shown
        // at once, before `restore` has heard from the server (offline first).
        let remembered = profile.remembered();
        let signed_in = remembered.server_url.is_some() && remembered.user.is_some();
        let state = State {
            connection: signed_in.then_some(Connection::Connecting),
            ..State::default()
        };
        let (events, receiver) = mpsc::unbounded_channel();
        let transfers = Transfers::new(history.clone(), events.clone(), profile.dir());
        let parley = Parley {
            inner: Arc::new(Inner {
                profile: Mutex::new(profile),
                secrets,
                history,
                identity,
                options,
                events,
                state: Mutex::new(state),
                transition: tokio::sync::Mutex::new(()),
                this_device: tokio::sync::Mutex::new(None),
                sharing: tokio::sync::Mutex::new(None),
                ice_servers: Mutex::new(Vec::new()),
                transfers,
                calls_supported: std::sync::atomic::AtomicBool::new(true),
                media: crate::calls::MediaBridge::default(),
            }),
        };
        Ok((parley, receiver))
    }

    /// The recovery code of this profile's history: the key that opens it on a computer whose
    /// keyring was lost. Keep it somewhere safe, away from this computer.
    pub fn recovery_code(&self) -> Result<String, CoreError> {
        Ok(history_key::stored(&self.inner.secrets, &self.profile_id())?.to_recovery_code())
    }

    /// The person has saved the recovery code: stop asking.
    pub fn recovery_code_saved(&self) -> Result<(), CoreError> {
        self.inner
            .profile
            .lock()
            .remember(|r| r.recovery_code_pending = false)?;
        Ok(())
    }

    /// The profile directory.
    pub fn profile_dir(&self) -> PathBuf {
        self.inner.profile.lock().dir().to_owned()
    }

    /// Everything a front end needs to draw its main screen.
    pub fn snapshot(&self) -> Snapshot {
        let remembered = self.inner.profile.lock().remembered().clone();
        let state = self.inner.state.lock();
        let rooms = state
            .engine
            .as_ref()
            .map(|engine| {
                let link = engine.link();
                link.rooms()
                    .into_iter()
                    .map(|room| RoomState {
                        peers: link.roster(&room),
                        room,
                    })
                    .collect()
            })
            // Not online yet (the server out of reach): the rooms the profile will rejoin, empty.
            .unwrap_or_else(|| {
                let signed_in = !matches!(state.connection, None | Some(Connection::SignedOut));
                let rooms = if signed_in {
                    remembered.rooms.clone()
                } else {
                    Vec::new()
                };
                rooms
                    .into_iter()
                    .map(|room| RoomState {
                        room,
                        peers: Vec::new(),
                    })
                    .collect()
            });
        Snapshot {
            recovery_code_pending: remembered.recovery_code_pending,
            connection: state.connection.unwrap_or(Connection::SignedOut),
            me: me(&state, remembered.user),
            username: remembered.username,
            server: state.server.clone(),
            server_url: remembered.server_url.as_ref().map(ToString::to_string),
            rooms,
            error: state.error.clone(),
        }
    }

    /// STUN/TURN servers of the person's own, used on top of the server's from the next
    /// connection on.
    pub fn use_ice_servers(&self, servers: Vec<IceServer>) {
        *self.inner.ice_servers.lock() = servers;
    }

    /// Another secret of this profile (a TURN credential), from the OS keyring.
    pub fn secret(&self, name: &str) -> Result<Option<String>, CoreError> {
        Ok(self.inner.secrets.load_secret(&self.profile_id(), name)?)
    }

    /// Keeps another secret of this profile in the OS keyring (never in a file).
    pub fn save_secret(&self, name: &str, secret: &str) -> Result<(), CoreError> {
        Ok(self.inner.secrets.save_secret(&self.profile_id(), name, secret)?)
    }

    /// Removes a secret; succeeds when there was none.
    pub fn delete_secret(&self, name: &str) -> Result<(), CoreError> {
        Ok(self.inner.secrets.delete_secret(&self.profile_id(), name)?)
    }

    /// Closes everything (peer connections, the server link, a "This device" server hosted
    /// here): for the app's exit. The profile can be signed in again afterwards.
    pub async fn shutdown(&self) {
        self.end_session().await;
        let _ = self.set_sharing(false).await;
        let local = self.inner.this_device.lock().await.take();
        if let Some(local) = local {
            local.shutdown().await;
        }
    }

    fn profile_id(&self) -> String {
        self.inner.profile.lock().id().to_owned()
    }

    fn history(&self) -> &History {
        &self.inner.history
    }

    fn engine(&self) -> Option<ChatEngine> {
        self.inner.state.lock().engine.clone()
    }

    fn online_engine(&self) -> Result<ChatEngine, CoreError> {
        self.engine().ok_or(CoreError::NotOnline)
    }

    /// The signed-in API client.
    fn api(&self) -> Result<ApiClient, CoreError> {
        let state = self.inner.state.lock();
        state
            .signed_in
            .as_ref()
            .map(|s| s.api.clone())
            .ok_or(CoreError::NotSignedIn)
    }

    /// Who is signed in, as [`Snapshot::me`] says.
    fn current_user(&self) -> Option<User> {
        let remembered = self.inner.profile.lock().remembered().user.clone();
        me(&self.inner.state.lock(), remembered)
    }

    fn emit(&self, event: CoreEvent) {
        let _ = self.inner.events.send(event);
    }
}

/// Who is signed in: as this session knows it (kept up to date by our own profile changes, which
/// the server's welcome predates), else as the server welcomed us, else as the profile (offline)
/// knows it.
fn me(state: &State, remembered: Option<User>) -> Option<User> {
    state
        .signed_in
        .as_ref()
        .map(|s| s.user.clone())
        .or_else(|| state.engine.as_ref().and_then(ChatEngine::me))
        .or_else(|| remembered.filter(|_| state.connection.is_some_and(|c| c != Connection::SignedOut)))
}
