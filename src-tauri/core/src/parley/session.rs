//! The session's life cycle: restore on start, sign in or up, go online, keep retrying while the
//! server is out of reach, sign out, and the "This device" server a session may need.

use parley_protocol::{RegisterRequest, User};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::servers::ServerAccess;
use super::{Parley, SignedIn};
use crate::api_client::ApiClient;
use crate::backoff::Backoff;
use crate::chat::ChatEngine;
use crate::error::CoreError;
use crate::events::CoreEvent;
use crate::models::{Connection, ErrorInfo, ServerChoice, Snapshot};
use crate::server_link::ServerLink;
use crate::server_url::ServerUrl;
use crate::this_device::LocalServer;

fn error_info(e: &CoreError) -> ErrorInfo {
    ErrorInfo {
        code: e.code(),
        message: e.to_string(),
    }
}

impl Parley {
    /// Resumes the session kept in the keyring and goes online. When the server cannot be
    /// reached the session is kept: the snapshot says `offline` and attempts go on in the
    /// background until it answers.
    pub async fn restore(&self, choice: ServerChoice) -> Result<Snapshot, CoreError> {
        let _transition = self.inner.transition.lock().await;
        {
            let mut state = self.inner.state.lock();
            // A page reload asks again: the session already running is the answer.
            if state.engine.is_some() || state.retry.is_some() {
                drop(state);
                return Ok(self.snapshot());
            }
            state.server = choice.clone();
        }
        let Some(saved) = self.remembered_server() else {
            self.set_signed_out(None);
            return Ok(self.snapshot());
        };
        // The session belongs to the "This device" server: it must be up before the token can
        // be checked.
        if choice == ServerChoice::Embedded && self.is_this_device(&saved) {
            if let Err(e) = self.this_device_url().await {
                tracing::warn!(error = %e, "the server on this device did not start");
            }
        }
        match self.resume().await {
            Ok(Some(_)) => self.go_online().await,
            Ok(None) => self.set_signed_out(None),
            Err(e) if e.is_unreachable() => {
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

    /// Signs in with a username or email address and goes online.
    pub async fn sign_in(&self, choice: ServerChoice, login: &str, password: &str) -> Result<Snapshot, CoreError> {
        let _transition = self.inner.transition.lock().await;
        let server = self.server_access(&choice).await?;
        self.end_session().await;
        let api = ApiClient::for_server(server.url.clone(), server.pin);
        let auth = api.login(login, password).await?;
        self.start_session(server.url, api, auth.user, &auth.token).await?;
        self.inner.state.lock().server = choice;
        self.go_online().await;
        Ok(self.snapshot())
    }

    /// Creates an account, signs in with it and goes online.
    pub async fn sign_up(
        &self,
        choice: ServerChoice,
        username: &str,
        email: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> Result<Snapshot, CoreError> {
        let _transition = self.inner.transition.lock().await;
        let server = self.server_access(&choice).await?;
        self.end_session().await;
        let api = ApiClient::for_server(server.url.clone(), server.pin);
        let request = RegisterRequest {
            username: username.to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
            display_name: display_name.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned),
        };
        let auth = api.register(&request).await?;
        self.start_session(server.url, api, auth.user, &auth.token).await?;
        self.inner.state.lock().server = choice;
        self.go_online().await;
        Ok(self.snapshot())
    }

    /// Signs out here and on the server (when reachable) and removes the token from the keyring.
    /// The history stays on the device, encrypted, unless `keep_history` is false: then every
    /// conversation, message and contact is deleted.
    pub async fn sign_out(&self, keep_history: bool) -> Result<Snapshot, CoreError> {
        let _transition = self.inner.transition.lock().await;
        self.end_session().await;
        self.logout().await?;
        // The rooms stay with the profile, to be rejoined at the next sign-in of the same account
        // (another account signing in here starts with none: `start_session`).
        if !keep_history {
            self.inner.history.delete_everything().await?;
            self.inner.profile.lock().remember(|r| r.rooms.clear())?;
        }
        self.set_signed_out(None);
        self.emit(CoreEvent::SignedOut);
        Ok(self.snapshot())
    }

    /// The server this profile last signed in to.
    fn remembered_server(&self) -> Option<ServerUrl> {
        self.inner.profile.lock().remembered().server_url.clone()
    }

    /// The server a choice names and how to trust it, starting the "This device" server if
    /// need be.
    async fn server_access(&self, choice: &ServerChoice) -> Result<ServerAccess, CoreError> {
        match choice {
            ServerChoice::Embedded => self.access(ServerUrl::parse(&self.this_device_url().await?)?),
            ServerChoice::Url { url } => self.chosen_access(url),
        }
    }

    /// The "This device" server's URL, hosting it here unless another Parley process does.
    pub(super) async fn this_device_url(&self) -> Result<String, CoreError> {
        let mut local = self.inner.this_device.lock().await;
        if let Some(server) = local.as_ref() {
            return Ok(server.url());
        }
        let options = &self.inner.options.this_device;
        let server = LocalServer::host_or_join(&options.dir, options.port)
            .await
            .map_err(CoreError::ThisDeviceServer)?;
        let url = server.url();
        *local = Some(server);
        Ok(url)
    }

    /// Whether `server` is this machine's "This device" server.
    fn is_this_device(&self, server: &ServerUrl) -> bool {
        let local = format!("http://127.0.0.1:{}", self.inner.options.this_device.port);
        ServerUrl::parse(&local).is_ok_and(|local| local == *server)
    }

    /// Keeps the token in the OS keyring and the server and user in the profile.
    async fn start_session(&self, server: ServerUrl, api: ApiClient, user: User, token: &str) -> Result<(), CoreError> {
        let (secrets, profile_id, url, token) = (
            self.inner.secrets.clone(),
            self.profile_id(),
            server.clone(),
            token.to_owned(),
        );
        tokio::task::spawn_blocking(move || secrets.save_token(&profile_id, &url, &token))
            .await
            .map_err(CoreError::Keyring)??;
        self.inner.profile.lock().remember(|r| {
            let same_account = r.server_url.as_ref() == Some(&server)
                && r.username
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(&user.username));
            if !same_account {
                r.rooms.clear();
            }
            r.server_url = Some(server);
            r.username = Some(user.username.clone());
            r.user = Some(user.clone());
        })?;
        self.inner.state.lock().signed_in = Some(SignedIn { api, user });
        Ok(())
    }

    /// Checks the session kept in the keyring with the server. `Ok(None)` when there is none or
    /// the server says it is over (the dead token is then removed). A server that cannot be
    /// reached keeps the session for later: the error says so, and history still works.
    async fn resume(&self) -> Result<Option<User>, CoreError> {
        let Some(server) = self.remembered_server() else {
            return Ok(None);
        };
        let (secrets, profile_id, url) = (self.inner.secrets.clone(), self.profile_id(), server.clone());
        let token = tokio::task::spawn_blocking(move || secrets.load_token(&profile_id, &url))
            .await
            .map_err(CoreError::Keyring)??;
        let Some(token) = token else { return Ok(None) };
        let access = self.access(server.clone())?;
        let api = ApiClient::for_server(access.url, access.pin).with_token(token);
        match api.me().await {
            Ok(user) => {
                self.remember_user(&user);
                self.inner.state.lock().signed_in = Some(SignedIn {
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
        let (secrets, profile_id, url) = (self.inner.secrets.clone(), self.profile_id(), server.clone());
        tokio::task::spawn_blocking(move || secrets.delete_token(&profile_id, &url))
            .await
            .map_err(CoreError::Keyring)??;
        Ok(())
    }

    /// Ends the session on the server (when reachable) and removes the token from the keyring.
    async fn logout(&self) -> Result<(), CoreError> {
        let signed_in = self.inner.state.lock().signed_in.take();
        if let Some(signed_in) = &signed_in {
            if let Err(e) = signed_in.api.logout().await {
                tracing::warn!(error = %e, "server not told about the sign-out");
            }
        }
        if let Some(server) = self.remembered_server() {
            self.forget_token(&server).await?;
        }
        self.inner.profile.lock().remember(|r| r.user = None)?;
        Ok(())
    }

    /// The server described the signed-in user anew (a sign-in, a profile change).
    pub(super) fn remember_user(&self, user: &User) {
        if let Some(signed_in) = self.inner.state.lock().signed_in.as_mut() {
            signed_in.user = user.clone();
        }
        if let Err(e) = self.inner.profile.lock().remember(|r| r.user = Some(user.clone())) {
            tracing::warn!(error = %e, "profile not updated");
        }
    }

    /// Stops the engine and any retries; bumps the generation so their late events are dropped.
    pub(super) async fn end_session(&self) {
        let (engine, tasks) = {
            let mut state = self.inner.state.lock();
            state.generation += 1;
            (state.engine.take(), [state.retry.take(), state.pump.take()])
        };
        // Awaited once aborted, so that when this returns no task of the session holds the
        // profile any more: it can be opened again at once.
        for task in tasks.into_iter().flatten() {
            task.abort();
            let _ = task.await;
        }
        if let Some(engine) = engine {
            engine.shutdown().await;
        }
    }

    fn set_connection(&self, connection: Connection, error: Option<ErrorInfo>) -> u64 {
        let mut state = self.inner.state.lock();
        state.connection = Some(connection);
        state.error = error;
        state.generation
    }

    fn set_signed_out(&self, error: Option<ErrorInfo>) {
        self.set_connection(Connection::SignedOut, error);
    }

    /// Starts the server link and chat for the signed-in session and rejoins the remembered
    /// rooms.
    async fn go_online(&self) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let engine = match self.start_engine(tx).await {
            Ok(engine) => engine,
            Err(e) => {
                self.set_signed_out(Some(error_info(&e)));
                return;
            }
        };
        let rooms = self.inner.profile.lock().remembered().rooms.clone();
        for room in rooms {
            if let Err(e) = engine.link().join(&room) {
                tracing::warn!(room, error = %e, "room not rejoined");
            }
        }
        let generation = {
            let mut state = self.inner.state.lock();
            state.generation += 1;
            state.engine = Some(engine);
            state.connection = Some(Connection::Connecting);
            state.error = None;
            state.generation
        };
        let parley = self.clone();
        let pump = tokio::spawn(
            async move {
                while let Some(event) = rx.recv().await {
                    if !parley.track(generation, &event).await {
                        break;
                    }
                    parley.emit(event);
                }
            }
            .instrument(tracing::info_span!("events")),
        );
        let mut state = self.inner.state.lock();
        if state.generation == generation {
            state.pump = Some(pump);
        } else {
            pump.abort();
        }
    }

    /// Connects to the server for presence and starts peer-to-peer chat, with the server's
    /// STUN/TURN servers and the person's own.
    async fn start_engine(&self, events: mpsc::UnboundedSender<CoreEvent>) -> Result<ChatEngine, CoreError> {
        let api = self.api()?;
        let token = api.token().ok_or(CoreError::NotSignedIn)?;
        let mut peer = self.inner.options.peer.clone();
        // An unreachable list is not fatal: direct host candidates still work on a LAN.
        match api.ice_servers().await {
            Ok(servers) => peer.ice_servers.extend(servers),
            Err(e) => tracing::warn!(error = %e, "no ICE servers from the server"),
        }
        peer.ice_servers.extend(self.inner.ice_servers.lock().iter().cloned());
        let (link, link_events) = ServerLink::start(api.server(), api.tls(), &token, self.inner.options.timing.clone());
        let engine = ChatEngine::start(
            self.inner.history.clone(),
            self.inner.identity.clone(),
            link,
            link_events,
            peer,
            events,
            self.inner.transfers.clone(),
        )
        .await;
        engine.set_calls_supported(self.inner.calls_supported.load(std::sync::atomic::Ordering::Relaxed));
        Ok(engine)
    }

    /// Follows the session's state from its events. False once the session is over.
    async fn track(&self, generation: u64, event: &CoreEvent) -> bool {
        {
            let mut state = self.inner.state.lock();
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
            let parley = self.clone();
            // Not awaited here: ending the session stops the very task delivering this event.
            tokio::spawn(async move {
                let _transition = parley.inner.transition.lock().await;
                parley.end_session().await;
                if let Err(e) = parley.logout().await {
                    tracing::warn!(error = %e, "ended session not cleared");
                }
                parley.set_signed_out(Some(ErrorInfo {
                    code: "session_ended".into(),
                    message: "Your session ended (signed out elsewhere or expired): sign in again.".into(),
                }));
            });
            self.emit(CoreEvent::SessionEnded);
            return false;
        }
        true
    }

    /// Keeps trying to resume the session while the server is out of reach.
    fn spawn_retry(&self, generation: u64) {
        let parley = self.clone();
        let timing = &self.inner.options.timing;
        let mut backoff = Backoff::new(timing.retry_min, timing.retry_max);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(backoff.next_delay()).await;
                let _transition = parley.inner.transition.lock().await;
                if parley.inner.state.lock().generation != generation {
                    return;
                }
                match parley.resume().await {
                    Ok(Some(_)) => {
                        parley.inner.state.lock().retry = None;
                        parley.go_online().await;
                        return;
                    }
                    Ok(None) => {
                        parley.inner.state.lock().retry = None;
                        parley.set_signed_out(None);
                        parley.emit(CoreEvent::SessionEnded);
                        return;
                    }
                    Err(e) if e.is_unreachable() => tracing::debug!(error = %e, "server still out of reach"),
                    Err(e) => {
                        tracing::warn!(error = %e, "session not resumed");
                        parley.set_connection(Connection::Offline, Some(error_info(&e)));
                    }
                }
            }
        });
        self.inner.state.lock().retry = Some(task);
    }
}
