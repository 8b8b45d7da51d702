//! `Core`: one profile's whole engine behind one type. Front ends (the desktop app's commands,
//! `parley-cli`) hold a `Core` and call it; nothing here knows about windows or terminals.
//!
//! Offline first: opening a `Core` needs no network, and history, contacts and search work
//! from the moment it is open. Signing in and going online are separate steps on top.

use std::path::Path;
use std::sync::Mutex;

use parley_protocol::{Peer, ProfileUpdate, RegisterRequest, RoomSummary, User};
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use crate::account::{ApiClient, ApiError, InvalidServerUrl, ServerUrl};
use crate::chat::{ChatEngine, ChatError};
use crate::events::CoreEvent;
use crate::presence::{Presence, PresenceOptions};
use crate::profile::{Profile, ProfileError};
use crate::secrets::{SecretError, SecretStore, StoreKind};
use parley_history::{History, HistoryError};
use parley_peer::{IceServer, PeerConfig};

const HISTORY_FILE: &str = "history.db";

/// Every failure a front end can get, each with a stable `code` and a message a person can act
/// on; serializes to `{code, message}`.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error(transparent)]
    InvalidUrl(#[from] InvalidServerUrl),
    #[error("not signed in: log in or create an account first")]
    NotSignedIn,
    #[error("no server chosen: pass a server URL (or use the embedded server)")]
    NoServer,
    #[error("not online: go online first")]
    NotOnline,
    #[error("no contact named {0:?}: they must have been in a room with you at least once")]
    UnknownContact(String),
    #[error("the server on this device did not start: {0}")]
    EmbeddedServer(String),
    #[error("{0}")]
    InvalidRoom(String),
    #[error("no message with id {0:?} in the history")]
    UnknownMessage(String),
    #[error("the keyring task failed: {0}")]
    Keyring(tokio::task::JoinError),
}

impl CoreError {
    pub fn code(&self) -> String {
        match self {
            CoreError::Api(ApiError::Server { code, .. }) => code.clone(),
            CoreError::Api(ApiError::Unreachable { .. }) => "server_unreachable".into(),
            CoreError::Api(ApiError::Protocol { .. }) => "server_protocol".into(),
            CoreError::Api(ApiError::InvalidUrl(_)) | CoreError::InvalidUrl(_) => "invalid_server_url".into(),
            CoreError::Api(ApiError::NotSignedIn) | CoreError::NotSignedIn => "not_signed_in".into(),
            CoreError::Secret(_) | CoreError::Keyring(_) => "keyring_unavailable".into(),
            CoreError::Profile(ProfileError::InUse { .. }) => "profile_in_use".into(),
            CoreError::Profile(_) => "profile_error".into(),
            CoreError::History(_) => "history_error".into(),
            CoreError::Chat(ChatError::InvalidMessage(_)) => "invalid_message".into(),
            CoreError::Chat(ChatError::ToSelf) => "message_to_self".into(),
            CoreError::Chat(ChatError::NotOnline) | CoreError::NotOnline => "not_online".into(),
            CoreError::Chat(ChatError::History(_)) => "history_error".into(),
            CoreError::NoServer => "no_server".into(),
            CoreError::UnknownContact(_) => "unknown_contact".into(),
            CoreError::EmbeddedServer(_) => "embedded_server_failed".into(),
            CoreError::InvalidRoom(_) => "invalid_room".into(),
            CoreError::UnknownMessage(_) => "unknown_message".into(),
        }
    }
}

impl Serialize for CoreError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("CoreError", 2)?;
        s.serialize_field("code", &self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

/// How a `Core` runs. The defaults are the real thing; tests pick an in-memory keyring and
/// loopback-only WebRTC.
#[derive(Debug, Clone, Default)]
pub struct CoreOptions {
    pub keyring: StoreKind,
    pub peer: PeerConfig,
    pub presence: PresenceOptions,
}

struct Session {
    api: ApiClient,
    user: User,
}

pub struct Core {
    profile: Mutex<Profile>,
    secrets: SecretStore,
    history: History,
    options: CoreOptions,
    session: Mutex<Option<Session>>,
    /// STUN/TURN servers a front end adds from its own settings. Memory only: their credentials
    /// come from the keyring, so they must never reach `profile.json`.
    extra_ice: Mutex<Vec<IceServer>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Core {
    /// Opens a profile directory: its settings, its history, its keyring entry. No network.
    /// Fails if another process has the profile open.
    pub fn open(dir: impl AsRef<Path>, options: CoreOptions) -> Result<Core, CoreError> {
        let profile = Profile::open(dir)?;
        let history = History::open(&profile.dir().join(HISTORY_FILE))?;
        let secrets = SecretStore::open(options.keyring)?;
        Ok(Core {
            profile: Mutex::new(profile),
            secrets,
            history,
            options,
            session: Mutex::new(None),
            extra_ice: Mutex::new(Vec::new()),
        })
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// The secret store this core keeps its session token in.
    pub fn secrets(&self) -> &SecretStore {
        &self.secrets
    }

    /// The profile's stable id (the key of its keyring entries).
    pub fn profile_id(&self) -> String {
        lock(&self.profile).id().to_owned()
    }

    pub fn settings(&self) -> crate::profile::ProfileSettings {
        lock(&self.profile).settings().clone()
    }

    pub fn update_settings(&self, change: impl FnOnce(&mut crate::profile::ProfileSettings)) -> Result<(), CoreError> {
        Ok(lock(&self.profile).update_settings(change)?)
    }

    /// STUN/TURN servers used on top of the server's and the profile's from the next
    /// [`Core::go_online`] on.
    pub fn set_extra_ice_servers(&self, servers: Vec<IceServer>) {
        *lock(&self.extra_ice) = servers;
    }

    pub fn profile_dir(&self) -> std::path::PathBuf {
        lock(&self.profile).dir().to_owned()
    }

    /// The server this profile last signed in to.
    pub fn server(&self) -> Option<ServerUrl> {
        lock(&self.profile).settings().server_url.clone()
    }

    pub fn user(&self) -> Option<User> {
        lock(&self.session).as_ref().map(|s| s.user.clone())
    }

    /// The signed-in API client.
    pub fn api(&self) -> Result<ApiClient, CoreError> {
        lock(&self.session)
            .as_ref()
            .map(|s| s.api.clone())
            .ok_or(CoreError::NotSignedIn)
    }

    fn server_or(&self, server: Option<&str>) -> Result<ServerUrl, CoreError> {
        match server {
            Some(url) => Ok(ServerUrl::parse(url)?),
            None => self.server().ok_or(CoreError::NoServer),
        }
    }

    /// Keeps the token in the OS keyring and the server and username in the profile.
    async fn start_session(
        &self,
        server: ServerUrl,
        api: ApiClient,
        user: User,
        token: &str,
    ) -> Result<User, CoreError> {
        let (secrets, profile_id, url, token_owned) = (
            self.secrets.clone(),
            lock(&self.profile).id().to_owned(),
            server.clone(),
            token.to_owned(),
        );
        tokio::task::spawn_blocking(move || secrets.save_token(&profile_id, &url, &token_owned))
            .await
            .map_err(CoreError::Keyring)??;
        lock(&self.profile).update_settings(|s| {
            s.server_url = Some(server);
            s.username = Some(user.username.clone());
            s.user = Some(user.clone());
        })?;
        *lock(&self.session) = Some(Session {
            api,
            user: user.clone(),
        });
        Ok(user)
    }

    pub async fn register(
        &self,
        server: Option<&str>,
        username: &str,
        email: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> Result<User, CoreError> {
        let server = self.server_or(server)?;
        let api = ApiClient::for_server(server.clone());
        let request = RegisterRequest {
            username: username.to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
            display_name: display_name.map(str::to_owned),
        };
        let auth = api.register(&request).await?;
        let api = api.with_token(auth.token.clone());
        self.start_session(server, api, auth.user, &auth.token).await
    }

    pub async fn login(&self, server: Option<&str>, login: &str, password: &str) -> Result<User, CoreError> {
        let server = self.server_or(server)?;
        let api = ApiClient::for_server(server.clone());
        let auth = api.login(login, password).await?;
        let api = api.with_token(auth.token.clone());
        self.start_session(server, api, auth.user, &auth.token).await
    }

    /// Resumes the session kept in the keyring. `Ok(None)` when there is none or the server
    /// says it is over (the dead token is then removed). A server that cannot be reached keeps
    /// the session for later: the error says so, and history still works.
    pub async fn restore(&self) -> Result<Option<User>, CoreError> {
        let Some(server) = self.server() else { return Ok(None) };
        let (secrets, profile_id, url) = (
            self.secrets.clone(),
            lock(&self.profile).id().to_owned(),
            server.clone(),
        );
        let token = tokio::task::spawn_blocking(move || secrets.load_token(&profile_id, &url))
            .await
            .map_err(CoreError::Keyring)??;
        let Some(token) = token else { return Ok(None) };
        let api = ApiClient::for_server(server.clone()).with_token(token);
        match api.me().await {
            Ok(user) => {
                if let Err(e) = lock(&self.profile).update_settings(|s| s.user = Some(user.clone())) {
                    tracing::warn!(error = %e, "profile not updated");
                }
                *lock(&self.session) = Some(Session {
                    api,
                    user: user.clone(),
                });
                Ok(Some(user))
            }
            Err(e) if e.is_unauthorized() => {
                self.forget_token(&server).await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn forget_token(&self, server: &ServerUrl) -> Result<(), CoreError> {
        let (secrets, profile_id, url) = (
            self.secrets.clone(),
            lock(&self.profile).id().to_owned(),
            server.clone(),
        );
        tokio::task::spawn_blocking(move || secrets.delete_token(&profile_id, &url))
            .await
            .map_err(CoreError::Keyring)??;
        Ok(())
    }

    /// Ends the session on the server (when reachable) and removes the token from the keyring.
    pub async fn logout(&self) -> Result<(), CoreError> {
        let session = lock(&self.session).take();
        if let Some(session) = &session {
            if let Err(e) = session.api.logout().await {
                tracing::warn!(error = %e, "server not told about the sign-out");
            }
        }
        if let Some(server) = self.server() {
            self.forget_token(&server).await?;
        }
        lock(&self.profile).update_settings(|s| s.user = None)?;
        Ok(())
    }

    pub async fn update_profile(&self, update: &ProfileUpdate) -> Result<User, CoreError> {
        let user = self.api()?.update_profile(update).await?;
        self.profile_changed(&user);
        Ok(user)
    }

    pub async fn upload_avatar(&self, image: Vec<u8>) -> Result<User, CoreError> {
        let user = self.api()?.upload_avatar(image).await?;
        self.profile_changed(&user);
        Ok(user)
    }

    fn profile_changed(&self, user: &User) {
        if let Some(session) = lock(&self.session).as_mut() {
            session.user = user.clone();
        }
        if let Err(e) = lock(&self.profile).update_settings(|s| s.user = Some(user.clone())) {
            tracing::warn!(error = %e, "profile not updated");
        }
    }

    pub async fn rooms(&self) -> Result<Vec<RoomSummary>, CoreError> {
        Ok(self.api()?.rooms().await?)
    }

    pub async fn room_peers(&self, room: &str) -> Result<Vec<Peer>, CoreError> {
        Ok(self.api()?.room_peers(room).await?)
    }

    /// Connects to the server for presence and starts peer-to-peer chat. Events go to `events`.
    pub async fn go_online(&self, events: UnboundedSender<CoreEvent>) -> Result<ChatEngine, CoreError> {
        let api = self.api()?;
        let token = api.token().ok_or(CoreError::NotSignedIn)?;
        let mut peer = self.options.peer.clone();
        // The server's STUN/TURN list, then the user's own; an unreachable list is not fatal
        // (direct host candidates still work on a LAN).
        match api.ice_servers().await {
            Ok(servers) => peer.ice_servers.extend(servers),
            Err(e) => tracing::warn!(error = %e, "no ICE servers from the server"),
        }
        peer.ice_servers
            .extend(lock(&self.profile).settings().ice_servers.iter().cloned());
        peer.ice_servers.extend(lock(&self.extra_ice).iter().cloned());
        let (presence, presence_events) = Presence::start_with(api.server(), &token, self.options.presence.clone());
        Ok(ChatEngine::start(
            self.history.clone(),
            presence,
            presence_events,
            peer,
            events,
        ))
    }

    /// A contact by username, from the local history (works offline).
    pub async fn contact(&self, username: &str) -> Result<User, CoreError> {
        self.history
            .contact_by_username(username)
            .await?
            .ok_or_else(|| CoreError::UnknownContact(username.to_owned()))
    }
}
