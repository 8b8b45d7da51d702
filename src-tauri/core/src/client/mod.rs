//! `Client`: a [`Core`] run the way an app runs it. It owns the session's life cycle (restore
//! on start, sign in or up, go online, keep retrying while the server is out of reach, sign
//! out), the "this device" server, the rooms to rejoin, and the views a chat screen needs
//! (snapshot, contacts with presence and unread counts). The desktop app's commands are a thin
//! adapter over it; tests drive it headless.

mod models;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parley_protocol::{ProfileUpdate, RoomSummary, User};
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;
use tracing::Instrument;

pub use models::{Connection, Contact, ErrorInfo, RoomState, SearchResult, ServerChoice, Snapshot};

use crate::account::{ApiError, ServerUrl};
use crate::chat::{queue_message, ChatEngine};
use crate::embedded::{LocalServer, DEFAULT_PORT};
use crate::events::CoreEvent;
use crate::{Core, CoreError};
use parley_history::{Conversation, Cursor, Message, Page};

/// Where the "this device" server lives.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The per-machine directory of the "this device" server's accounts.
    pub embedded_dir: PathBuf,
    pub embedded_port: u16,
    /// First delay between attempts to reach the server after a failed start; doubles up to
    /// `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
}

impl ClientOptions {
    pub fn new(embedded_dir: PathBuf) -> ClientOptions {
        ClientOptions {
            embedded_dir,
            embedded_port: DEFAULT_PORT,
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
        }
    }
}

#[derive(Default)]
struct State {
    connection: Option<Connection>,
    engine: Option<ChatEngine>,
    server: ServerChoice,
    error: Option<ErrorInfo>,
    /// Bumped on every session change, so a late event or a retry from an older session is
    /// recognised and ignored.
    generation: u64,
    retry: Option<JoinHandle<()>>,
    /// The task passing the engine's events on; it holds the client, so it must end with the
    /// session for the core (and its profile lock) to be released.
    pump: Option<JoinHandle<()>>,
}

struct Inner {
    core: Core,
    options: ClientOptions,
    events: UnboundedSender<CoreEvent>,
    state: Mutex<State>,
    /// Session transitions (restore, sign in/up/out) one at a time.
    transition: tokio::sync::Mutex<()>,
    local_server: tokio::sync::Mutex<Option<LocalServer>>,
}

/// One profile, running. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn error_info(e: &CoreError) -> ErrorInfo {
    ErrorInfo {
        code: e.code(),
        message: e.to_string(),
    }
}

fn is_unreachable(e: &CoreError) -> bool {
    matches!(e, CoreError::Api(ApiError::Unreachable { .. }))
}

/// How many messages a history page holds unless asked otherwise.
pub const DEFAULT_PAGE: usize = 50;

impl Client {
    /// Wraps an open core; nothing happens on the network until [`Client::restore`] or a sign-in.
    /// Every [`CoreEvent`] goes to `events`, plus [`CoreEvent::SignedOut`].
    pub fn new(core: Core, options: ClientOptions, events: UnboundedSender<CoreEvent>) -> Client {
        // A profile still signed in starts out "connecting": its owner and history can be shown
        // at once, before `restore` has heard from the server (offline first).
        let settings = core.settings();
        let signed_in = settings.server_url.is_some() && settings.user.is_some();
        let state = State {
            connection: signed_in.then_some(Connection::Connecting),
            ..State::default()
        };
        Client {
            inner: Arc::new(Inner {
                core,
                options,
                events,
                state: Mutex::new(state),
                transition: tokio::sync::Mutex::new(()),
                local_server: tokio::sync::Mutex::new(None),
            }),
        }
    }

    pub fn core(&self) -> &Core {
        &self.inner.core
    }

    fn engine(&self) -> Option<ChatEngine> {
        lock(&self.inner.state).engine.clone()
    }

    fn online_engine(&self) -> Result<ChatEngine, CoreError> {
        self.engine().ok_or(CoreError::NotOnline)
    }

    /// Who is signed in: as the server last welcomed us, else as this session or the profile
    /// (offline) knows it.
    fn me(&self, state: &State, settings: &crate::profile::ProfileSettings) -> Option<User> {
        state
            .engine
            .as_ref()
            .and_then(ChatEngine::me)
            .or_else(|| self.inner.core.user())
            .or_else(|| {
                settings
                    .user
                    .clone()
                    .filter(|_| state.connection.is_some_and(|c| c != Connection::SignedOut))
            })
    }

    fn current_user(&self) -> Option<User> {
        let state = lock(&self.inner.state);
        self.me(&state, &self.inner.core.settings())
    }

    pub fn snapshot(&self) -> Snapshot {
        let core = &self.inner.core;
        let state = lock(&self.inner.state);
        let settings = core.settings();
        let engine = state.engine.as_ref();
        let rooms = engine
            .map(|e| {
                e.presence()
                    .rooms()
                    .into_iter()
                    .map(|room| RoomState {
                        peers: e.presence().roster(&room),
                        room,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Snapshot {
            connection: state.connection.unwrap_or(Connection::SignedOut),
            me: self.me(&state, &settings),
            username: settings.username.clone(),
            server: state.server.clone(),
            server_url: settings.server_url.as_ref().map(ToString::to_string),
            rooms,
            error: state.error.clone(),
        }
    }

    /// The "this device" server's URL, hosting it here unless another Parley process does.
    async fn local_server_url(&self) -> Result<String, CoreError> {
        let mut local = self.inner.local_server.lock().await;
        if let Some(server) = local.as_ref() {
            return Ok(server.url());
        }
        let server = LocalServer::host_or_join(&self.inner.options.embedded_dir, self.inner.options.embedded_port)
            .await
            .map_err(|e| CoreError::EmbeddedServer(e.to_string()))?;
        let url = server.url();
        *local = Some(server);
        Ok(url)
    }

    /// Whether `server` is this machine's "this device" server.
    fn is_local_server(&self, server: &ServerUrl) -> bool {
        let local = format!("http://127.0.0.1:{}", self.inner.options.embedded_port);
        ServerUrl::parse(&local).is_ok_and(|local| local == *server)
    }

    async fn server_url(&self, choice: &ServerChoice) -> Result<String, CoreError> {
        match choice {
            ServerChoice::Embedded => self.local_server_url().await,
            ServerChoice::Url { url } => Ok(ServerUrl::parse(url)?.to_string()),
        }
    }

    /// Resumes the session kept in the keyring and goes online. When the server cannot be
    /// reached the session is kept: the snapshot says `offline` and attempts go on in the
    /// background until it answers.
    pub async fn restore(&self, choice: ServerChoice) -> Result<Snapshot, CoreError> {
        let _transition = self.inner.transition.lock().await;
        {
            let mut state = lock(&self.inner.state);
            // A page reload asks again: the session already running is the answer.
            if state.engine.is_some() || state.retry.is_some() {
                drop(state);
                return Ok(self.snapshot());
            }
            state.server = choice.clone();
        }
        let Some(saved) = self.inner.core.server() else {
            self.set_signed_out(None);
            return Ok(self.snapshot());
        };
        // The session belongs to the "this device" server: it must be up before the token can
        // be checked.
        if choice == ServerChoice::Embedded && self.is_local_server(&saved) {
            if let Err(e) = self.local_server_url().await {
                tracing::warn!(error = %e, "the embedded server did not start");
            }
        }
        match self.inner.core.restore().await {
            Ok(Some(_)) => self.go_online().await,
            Ok(None) => self.set_signed_out(None),
            Err(e) if is_unreachable(&e) => {
                let generation = self.set_connection(Connection::Offline, Some(error_info(&e)));
                self.spawn_retry(generation);
            }
            Err(e) => {
                self.set_signed_out(Some(error_info(&e)));
                return Err(e);
            }
        }
        Ok(self.snapshot())
    }

    pub async fn sign_in(&self, choice: ServerChoice, login: &str, password: &str) -> Result<Snapshot, CoreError> {
        let _transition = self.inner.transition.lock().await;
        let url = self.server_url(&choice).await?;
        self.end_session().await;
        self.inner.core.login(Some(&url), login, password).await?;
        lock(&self.inner.state).server = choice;
        self.go_online().await;
        Ok(self.snapshot())
    }

    pub async fn sign_up(
        &self,
        choice: ServerChoice,
        username: &str,
        email: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> Result<Snapshot, CoreError> {
        let _transition = self.inner.transition.lock().await;
        let url = self.server_url(&choice).await?;
        self.end_session().await;
        let display_name = display_name.map(str::trim).filter(|n| !n.is_empty());
        self.inner
            .core
            .register(Some(&url), username, email, password, display_name)
            .await?;
        lock(&self.inner.state).server = choice;
        self.go_online().await;
        Ok(self.snapshot())
    }

    /// Signs out here and on the server; the history stays on the device.
    pub async fn sign_out(&self) -> Result<Snapshot, CoreError> {
        let _transition = self.inner.transition.lock().await;
        self.end_session().await;
        self.inner.core.logout().await?;
        self.inner.core.update_settings(|s| s.rooms.clear())?;
        self.set_signed_out(None);
        let _ = self.inner.events.send(CoreEvent::SignedOut);
        Ok(self.snapshot())
    }

    /// Stops the engine and any retries; bumps the generation so their late events are dropped.
    async fn end_session(&self) {
        let (engine, tasks) = {
            let mut state = lock(&self.inner.state);
            state.generation += 1;
            (state.engine.take(), [state.retry.take(), state.pump.take()])
        };
        for task in tasks.into_iter().flatten() {
            task.abort();
        }
        if let Some(engine) = engine {
            engine.shutdown().await;
        }
    }

    /// Closes everything: for the app's exit.
    pub async fn shutdown(&self) {
        self.end_session().await;
        if let Some(LocalServer::Hosting(server)) = self.inner.local_server.lock().await.take() {
            if let Err(e) = server.shutdown().await {
                tracing::warn!(error = %e, "embedded server did not shut down cleanly");
            }
        }
    }

    fn set_connection(&self, connection: Connection, error: Option<ErrorInfo>) -> u64 {
        let mut state = lock(&self.inner.state);
        state.connection = Some(connection);
        state.error = error;
        state.generation
    }

    fn set_signed_out(&self, error: Option<ErrorInfo>) {
        self.set_connection(Connection::SignedOut, error);
    }

    /// Starts presence and chat for the signed-in session and rejoins the remembered rooms.
    async fn go_online(&self) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let engine = match self.inner.core.go_online(tx).await {
            Ok(engine) => engine,
            Err(e) => {
                self.set_signed_out(Some(error_info(&e)));
                return;
            }
        };
        for room in self.inner.core.settings().rooms {
            if let Err(e) = engine.presence().join(&room) {
                tracing::warn!(room, error = %e, "room not rejoined");
            }
        }
        let generation = {
            let mut state = lock(&self.inner.state);
            state.generation += 1;
            state.engine = Some(engine);
            state.connection = Some(Connection::Connecting);
            state.error = None;
            state.generation
        };
        let client = self.clone();
        let pump = tokio::spawn(
            async move {
                while let Some(event) = rx.recv().await {
                    if !client.track(generation, &event).await {
                        break;
                    }
                    let _ = client.inner.events.send(event);
                }
            }
            .instrument(tracing::info_span!("client-events")),
        );
        let mut state = lock(&self.inner.state);
        if state.generation == generation {
            state.pump = Some(pump);
        } else {
            pump.abort();
        }
    }

    /// Follows the session's state from its events. False once the session is over.
    async fn track(&self, generation: u64, event: &CoreEvent) -> bool {
        {
            let mut state = lock(&self.inner.state);
            if state.generation != generation {
                return false;
            }
            match event {
                CoreEvent::Online { .. } => {
                    state.connection = Some(Connection::Online);
                    state.error = None;
                }
                CoreEvent::Offline { reason } => {
                    state.connection = Some(Connection::Offline);
                    state.error = Some(ErrorInfo {
                        code: "server_unreachable".into(),
                        message: reason.clone(),
                    });
                }
                CoreEvent::SessionEnded => {}
                _ => return true,
            }
        }
        if matches!(event, CoreEvent::SessionEnded) {
            let client = self.clone();
            // Not awaited here: ending the session stops the very task delivering this event.
            tokio::spawn(async move {
                let _transition = client.inner.transition.lock().await;
                client.end_session().await;
                if let Err(e) = client.inner.core.logout().await {
                    tracing::warn!(error = %e, "ended session not cleared");
                }
                client.set_signed_out(Some(ErrorInfo {
                    code: "session_ended".into(),
                    message: "Your session ended (signed out elsewhere or expired): sign in again.".into(),
                }));
            });
            let _ = self.inner.events.send(CoreEvent::SessionEnded);
            return false;
        }
        true
    }

    /// Keeps trying to resume the session while the server is out of reach.
    fn spawn_retry(&self, generation: u64) {
        let client = self.clone();
        let (min, max) = (self.inner.options.retry_min, self.inner.options.retry_max);
        let task = tokio::spawn(async move {
            let mut delay = min;
            loop {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(max);
                let _transition = client.inner.transition.lock().await;
                if lock(&client.inner.state).generation != generation {
                    return;
                }
                match client.inner.core.restore().await {
                    Ok(Some(_)) => {
                        lock(&client.inner.state).retry = None;
                        client.go_online().await;
                        return;
                    }
                    Ok(None) => {
                        lock(&client.inner.state).retry = None;
                        client.set_signed_out(None);
                        let _ = client.inner.events.send(CoreEvent::SessionEnded);
                        return;
                    }
                    Err(e) if is_unreachable(&e) => tracing::debug!(error = %e, "server still out of reach"),
                    Err(e) => {
                        tracing::warn!(error = %e, "session not resumed");
                        client.set_connection(Connection::Offline, Some(error_info(&e)));
                    }
                }
            }
        });
        lock(&self.inner.state).retry = Some(task);
    }

    // Rooms.

    pub async fn room_directory(&self) -> Result<Vec<RoomSummary>, CoreError> {
        self.inner.core.rooms().await
    }

    /// Joins a room now and on every later start, until left.
    pub fn join_room(&self, room: &str) -> Result<RoomState, CoreError> {
        parley_protocol::validate::room(room).map_err(|e| CoreError::InvalidRoom(e.message))?;
        let engine = self.online_engine()?;
        engine.presence().join(room).map_err(|_| CoreError::NotOnline)?;
        self.inner.core.update_settings(|s| {
            if !s.rooms.iter().any(|r| r == room) {
                s.rooms.push(room.to_owned());
            }
        })?;
        Ok(RoomState {
            room: room.to_owned(),
            peers: engine.presence().roster(room),
        })
    }

    pub fn leave_room(&self, room: &str) -> Result<(), CoreError> {
        if let Some(engine) = self.engine() {
            engine.presence().leave(room).map_err(|_| CoreError::NotOnline)?;
        }
        self.inner.core.update_settings(|s| s.rooms.retain(|r| r != room))?;
        let _ = self.inner.events.send(CoreEvent::RoomLeft { room: room.to_owned() });
        Ok(())
    }

    // Contacts and conversations.

    /// Everyone met in a room or written to, online or not: unread first, then the most
    /// recent conversation, then by name.
    pub async fn contacts(&self) -> Result<Vec<Contact>, CoreError> {
        let history = self.inner.core.history();
        let mut conversations: HashMap<String, Conversation> = history
            .conversations()
            .await?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        let engine = self.engine();
        let online: Vec<User> = engine.as_ref().map(ChatEngine::online_users).unwrap_or_default();
        let me = self.current_user().map(|u| u.id);
        let mut contacts: Vec<Contact> = Vec::new();
        let mut known = history.contacts().await?;
        // Someone online right now may not be stored yet; the fresher profile wins.
        for user in &online {
            match known.iter_mut().find(|k| k.id == user.id) {
                Some(k) => *k = user.clone(),
                None => known.push(user.clone()),
            }
        }
        for user in known {
            if Some(&user.id) == me.as_ref() {
                continue;
            }
            contacts.push(Contact {
                online: online.iter().any(|u| u.id == user.id),
                conversation: conversations.remove(&user.id),
                user,
            });
        }
        contacts.sort_by(|a, b| {
            let unread = |c: &Contact| c.conversation.as_ref().is_some_and(|c| c.unread > 0);
            let updated = |c: &Contact| c.conversation.as_ref().map_or(i64::MIN, |c| c.updated_at);
            unread(b)
                .cmp(&unread(a))
                .then(updated(b).cmp(&updated(a)))
                .then_with(|| {
                    a.user
                        .display_name
                        .to_lowercase()
                        .cmp(&b.user.display_name.to_lowercase())
                })
        });
        Ok(contacts)
    }

    async fn user(&self, user_id: &str) -> Result<User, CoreError> {
        if let Some(user) = self
            .engine()
            .and_then(|e| e.online_users().into_iter().find(|u| u.id == user_id))
        {
            return Ok(user);
        }
        self.inner
            .core
            .history()
            .contact(user_id)
            .await?
            .ok_or_else(|| CoreError::UnknownContact(user_id.to_owned()))
    }

    /// The conversation with a contact, created if new; opens a direct channel ahead of the
    /// first message when they are online.
    pub async fn open_conversation(&self, user_id: &str) -> Result<Conversation, CoreError> {
        let user = self.user(user_id).await?;
        let history = self.inner.core.history();
        let conversation = match history.conversation(&user.id).await? {
            Some(c) => c,
            None => history.upsert_conversation(&user.id, &user.display_name).await?,
        };
        if let Some(engine) = self.engine() {
            let id = user.id.clone();
            tokio::spawn(async move { engine.connect_to(&id).await });
        }
        Ok(conversation)
    }

    /// Sends through the engine when it runs; while offline from the start, the message waits in
    /// the history (the outbox) and goes out once the server and the contact are back.
    pub async fn send_message(&self, user_id: &str, body: &str) -> Result<Message, CoreError> {
        let user = self.user(user_id).await?;
        if let Some(engine) = self.engine() {
            if engine.me().is_some() {
                return Ok(engine.send_message(&user, body).await?);
            }
        }
        let me = self.current_user().ok_or(CoreError::NotSignedIn)?;
        let (message, _) = queue_message(self.inner.core.history(), &me, &user, body).await?;
        let _ = self.inner.events.send(CoreEvent::Message {
            message: message.clone(),
        });
        Ok(message)
    }

    /// Marks a conversation read; the receipts follow as soon as the sender is reachable.
    pub async fn mark_read(&self, conversation_id: &str) -> Result<usize, CoreError> {
        match self.engine() {
            Some(engine) => Ok(engine.mark_read(conversation_id).await?),
            None => Ok(self
                .inner
                .core
                .history()
                .mark_conversation_read(conversation_id)
                .await?
                .len()),
        }
    }

    pub async fn set_typing(&self, user_id: &str, active: bool) {
        if let Some(engine) = self.engine() {
            engine.set_typing(user_id, active).await;
        }
    }

    // History (all of it works offline).

    pub async fn history_page(
        &self,
        conversation_id: &str,
        before: Option<Cursor>,
        limit: Option<usize>,
    ) -> Result<Page, CoreError> {
        Ok(self
            .inner
            .core
            .history()
            .page(conversation_id, before, limit.unwrap_or(DEFAULT_PAGE))
            .await?)
    }

    pub async fn history_after(
        &self,
        conversation_id: &str,
        after: Cursor,
        limit: Option<usize>,
    ) -> Result<Page, CoreError> {
        Ok(self
            .inner
            .core
            .history()
            .page_after(conversation_id, after, limit.unwrap_or(DEFAULT_PAGE))
            .await?)
    }

    pub async fn message_cursor(&self, message_id: &str) -> Result<Cursor, CoreError> {
        self.inner
            .core
            .history()
            .message(message_id)
            .await?
            .map(|m| m.cursor())
            .ok_or_else(|| CoreError::UnknownMessage(message_id.to_owned()))
    }

    pub async fn search(
        &self,
        query: &str,
        before: Option<Cursor>,
        limit: Option<usize>,
    ) -> Result<Vec<SearchResult>, CoreError> {
        let history = self.inner.core.history();
        let hits = history.search(query, limit.unwrap_or(DEFAULT_PAGE), before).await?;
        let titles: HashMap<String, String> = history
            .conversations()
            .await?
            .into_iter()
            .map(|c| (c.id, c.title))
            .collect();
        Ok(hits
            .into_iter()
            .map(|hit| SearchResult {
                conversation_title: titles.get(&hit.message.conversation_id).cloned().unwrap_or_default(),
                message: hit.message,
                snippet: hit.snippet,
            })
            .collect())
    }

    // Profile.

    pub async fn update_profile(&self, update: &ProfileUpdate) -> Result<User, CoreError> {
        self.inner.core.update_profile(update).await
    }

    pub async fn upload_avatar(&self, image: Vec<u8>) -> Result<User, CoreError> {
        self.inner.core.upload_avatar(image).await
    }

    /// A user's avatar bytes, `None` when they have none.
    pub async fn avatar(&self, user_id: &str) -> Result<Option<Vec<u8>>, CoreError> {
        let api = self.inner.core.api()?;
        Ok(api.avatar(user_id).await?.map(|a| a.bytes))
    }
}
