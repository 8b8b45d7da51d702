//! The chat engine: one task that reacts to server-link and peer events in order, plus the calls
//! front ends make (send, mark read, typing).

use parking_lot::{Mutex, MutexGuard};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parley_protocol::{ServerFrame, User};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn, Instrument};

mod calls;

use super::protocol::{check_body, ChatFrame, FrameError, CHAT_PROTOCOL_VERSION, MAX_READ_IDS};
use crate::calls::{CallBook, CallFrame, Timeouts};
use crate::events::CoreEvent;
use crate::files::{FileNotice, FileOffer, Transfers};
use crate::server_link::{LinkEvent, ServerLink};
use parley_history::{
    DeliveryState, Direction, History, HistoryError, IdentityCheck, InsertOutcome, Message, NewMessage, Observation,
    TransferState,
};
use parley_peer::{Identity, PeerConfig, PeerEvent, PeerId, PeerManager, PeerSignal, RemoteIdentity, Route};

/// A failed direct connection is retried after this long while there is something to deliver.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Why a message was not accepted for sending.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Empty, or too long.
    #[error("{0}")]
    InvalidMessage(#[from] FrameError),
    /// Addressed to the sender.
    #[error("cannot send a message to yourself")]
    ToSelf,
    /// Not welcomed by the server yet.
    #[error("not online yet: wait until the server connection is up")]
    NotOnline,
    /// The history could not store it.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// No such message in the conversation (or it is hidden on this device).
    #[error("that message is not in this conversation any more")]
    UnknownMessage(String),
    /// Editing or deleting for everyone someone else's message.
    #[error("only your own messages can be edited or deleted for everyone; use “Delete for me” to remove it from this device")]
    NotYours,
    /// Past [`super::EDIT_WINDOW_MS`].
    #[error(
        "messages can be edited or deleted for everyone only within 24 hours of sending; use “Delete for me” instead"
    )]
    TooLate,
    /// The message was deleted for everyone.
    #[error("that message was deleted")]
    Deleted,
    /// A reaction that is not an emoji.
    #[error("a reaction is a single emoji")]
    InvalidReaction,
}

/// Stores a message from `me` to `to` as pending in the history, which is the outbox: an engine
/// sends it once one of their devices is reachable, also when it was written with no engine
/// running (offline). Returns the message and whether it is alone in the outbox.
pub(crate) async fn queue_message(
    history: &History,
    me: &User,
    to: &User,
    body: &str,
    reply_to: Option<&str>,
) -> Result<(Message, bool), ChatError> {
    check_body(body)?;
    if to.id == me.id {
        return Err(ChatError::ToSelf);
    }
    if let Some(quoted) = reply_to {
        super::check_reply(history, &to.id, quoted).await?;
    }
    let new = NewMessage::outgoing(&to.id, &crate::ids::random_id(), &me.id, body, parley_history::now_ms())
        .replying_to(reply_to);
    Ok(history.insert_outgoing_titled(new, &to.display_name).await?)
}

#[derive(Default)]
struct State {
    me: Option<User>,
    /// Replaced on every (re)connection to the server: our peer id changes with it, and the
    /// offer roles depend on it.
    manager: Option<PeerManager>,
    /// Who each remote peer is, as the server stamped it (rosters and relayed signals). Frames
    /// from a peer not in here are dropped: only the server can vouch for an identity.
    peer_users: HashMap<PeerId, User>,
    /// Peers whose `hello` arrived on the current channel. Chat frames go only to these: webrtc
    /// 0.21 drops data that reaches a negotiated channel before the receiving side has opened
    /// it ("data channel not existed"), though SCTP acknowledged it, so frames sent the moment
    /// our end opened could be lost, or overtaken by later ones. Their `hello` proves their end
    /// is open.
    greeted: HashSet<PeerId>,
    /// Messages and actions handed to each peer's current channel and not acknowledged yet.
    /// A flush sends only what is not in here, so a peer that never acknowledges cannot make
    /// every new message resend the whole outbox; a new channel (a new `hello`) starts empty
    /// and gets everything again.
    handed: HashMap<PeerId, HashSet<String>>,
    /// Open channels of a verified contact whose key changed: nothing goes to them, and
    /// nothing from them is taken, until the person accepts the change.
    held: HashSet<PeerId>,
    /// How each open direct channel travels.
    routes: HashMap<PeerId, Route>,
}

struct Inner {
    history: History,
    identity: Arc<Identity>,
    link: ServerLink,
    peer_config: PeerConfig,
    events: UnboundedSender<CoreEvent>,
    peer_signals: UnboundedSender<(PeerId, PeerSignal)>,
    peer_events: UnboundedSender<PeerEvent>,
    transfers: Transfers,
    state: Mutex<State>,
    /// Serialises outbox flushes so two triggers (a new message, a channel opening) never send
    /// the same batch twice in parallel. Resends are harmless, but needless.
    flush: tokio::sync::Mutex<()>,
    /// This device's calls.
    calls: Mutex<CallBook>,
    /// Woken when a call's timers may have changed, so the engine re-arms its timer.
    call_wake: tokio::sync::Notify,
}

/// Runs chat for one signed-in profile. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ChatEngine {
    inner: Arc<Inner>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl ChatEngine {
    /// Starts the engine on a started [`ServerLink`] and its event stream.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start(
        history: History,
        identity: Arc<Identity>,
        link: ServerLink,
        link_events: UnboundedReceiver<LinkEvent>,
        peer_config: PeerConfig,
        events: UnboundedSender<CoreEvent>,
        transfers: Transfers,
    ) -> ChatEngine {
        let (peer_signals, signals_rx) = mpsc::unbounded_channel();
        let (peer_events, peer_events_rx) = mpsc::unbounded_channel();
        let (notices, notices_rx) = mpsc::unbounded_channel();
        transfers.attach(notices, events.clone()).await;
        let call_ice_servers = peer_config.ice_servers.iter().map(Into::into).collect();
        let inner = Arc::new(Inner {
            history,
            identity,
            link,
            peer_config,
            events,
            peer_signals,
            peer_events,
            transfers,
            state: Mutex::default(),
            flush: tokio::sync::Mutex::new(()),
            calls: Mutex::new(CallBook::new(Timeouts::default(), call_ice_servers)),
            call_wake: tokio::sync::Notify::new(),
        });
        let task = tokio::spawn(
            run(inner.clone(), link_events, signals_rx, peer_events_rx, notices_rx)
                .instrument(tracing::info_span!("chat")),
        );
        ChatEngine {
            inner,
            task: Arc::new(Mutex::new(Some(task))),
        }
    }

    pub(crate) fn link(&self) -> &ServerLink {
        &self.inner.link
    }

    /// The signed-in user, once the server has welcomed us.
    pub(crate) fn me(&self) -> Option<User> {
        self.inner.state().me.clone()
    }

    /// Users with at least one device online in a shared room, as last seen.
    pub(crate) fn online_users(&self) -> Vec<User> {
        let state = self.inner.state();
        let mut users: Vec<User> = Vec::new();
        for user in state.peer_users.values() {
            if !users.iter().any(|u| u.id == user.id) {
                users.push(user.clone());
            }
        }
        users.sort_by(|a, b| a.username.cmp(&b.username));
        users
    }

    /// The best route of the open direct channels to `user_id`'s devices (direct before
    /// through NAT before relayed); None while there is none.
    pub(crate) fn route_to(&self, user_id: &str) -> Option<Route> {
        let state = self.inner.state();
        state
            .routes
            .iter()
            .filter(|(peer, _)| state.peer_users.get(*peer).is_some_and(|u| u.id == user_id))
            .map(|(_, route)| *route)
            .min_by_key(|route| match route {
                Route::Direct => 0,
                Route::ThroughNat => 1,
                Route::Relayed => 2,
            })
    }

    /// Stores a message to `to` and sends it as soon as one of their devices is reachable.
    pub(crate) async fn send_message(
        &self,
        to: &User,
        body: &str,
        reply_to: Option<&str>,
    ) -> Result<Message, ChatError> {
        let me = self.me().ok_or(ChatError::NotOnline)?;
        let queued = queue_message(&self.inner.history, &me, to, body, reply_to).await?;
        Ok(self.inner.announce(queued).await)
    }

    /// Marks a conversation read here and tells the sender's device, if reachable.
    pub(crate) async fn mark_read(&self, conversation_id: &str) -> Result<usize, ChatError> {
        let ids = self.inner.history.mark_conversation_read(conversation_id).await?;
        for id in &ids {
            self.inner.emit(CoreEvent::MessageState {
                id: id.clone(),
                conversation_id: conversation_id.to_owned(),
                state: DeliveryState::Read,
            });
        }
        if let Some((manager, peer)) = self.inner.open_peer(conversation_id) {
            for chunk in ids.chunks(MAX_READ_IDS) {
                let frame = ChatFrame::Read { ids: chunk.to_vec() };
                if let Err(e) = manager.send(&peer, frame.encode()).await {
                    debug!(error = %e, "read receipt not sent");
                }
            }
        }
        Ok(ids.len())
    }

    /// Tells the user's open device that we are (or stopped) typing. Best effort by nature.
    pub(crate) async fn set_typing(&self, user_id: &str, active: bool) {
        if let Some((manager, peer)) = self.inner.open_peer(user_id) {
            let _ = manager.send(&peer, ChatFrame::Typing { active }.encode()).await;
        }
    }

    /// Sends what is owed to `user_id` (after an edit, deletion or reaction was queued).
    pub(crate) async fn flush(&self, user_id: &str) {
        self.inner.deliver(user_id).await;
    }

    /// The person accepted `user_id`'s changed identity key: chat resumes on held channels.
    pub(crate) async fn identity_accepted(&self, user_id: &str) {
        self.inner.release(user_id).await;
        self.inner.deliver(user_id).await;
    }

    /// Opens a direct channel to one of the user's online devices ahead of the first message.
    pub(crate) async fn connect_to(&self, user_id: &str) -> bool {
        self.inner.connect_user(user_id).await
    }

    /// Stores a file message to `to` (its transfer described already) and offers it as soon as
    /// one of their devices is reachable.
    pub(crate) async fn send_file(&self, to: &User, file: parley_history::NewFile) -> Result<Message, ChatError> {
        let me = self.me().ok_or(ChatError::NotOnline)?;
        let queued = queue_file(&self.inner.history, &me, to, file).await?;
        Ok(self.inner.announce(queued).await)
    }

    /// Closes every peer connection and the server link.
    pub(crate) async fn shutdown(&self) {
        self.inner.end_calls("signed out").await;
        self.inner.transfers.detach();
        let task = self.task.lock().take();
        if let Some(task) = task {
            task.abort();
        }
        let manager = self.inner.state().manager.take();
        if let Some(manager) = manager {
            manager.close_all().await;
        }
        self.inner.link.shutdown().await;
    }
}

/// [`queue_message`] for a file: the message (its body the file's name) and its transfer.
pub(crate) async fn queue_file(
    history: &History,
    me: &User,
    to: &User,
    file: parley_history::NewFile,
) -> Result<(Message, bool), ChatError> {
    if to.id == me.id {
        return Err(ChatError::ToSelf);
    }
    let new = NewMessage::outgoing(
        &to.id,
        &crate::ids::random_id(),
        &me.id,
        &file.name,
        parley_history::now_ms(),
    )
    .with_file(file);
    Ok(history.insert_outgoing_titled(new, &to.display_name).await?)
}

async fn run(
    inner: Arc<Inner>,
    mut link_events: UnboundedReceiver<LinkEvent>,
    mut signals: UnboundedReceiver<(PeerId, PeerSignal)>,
    mut peer_events: UnboundedReceiver<PeerEvent>,
    mut file_notices: UnboundedReceiver<FileNotice>,
) {
    loop {
        let call_deadline = inner.call_deadline();
        tokio::select! {
            () = sleep_until(call_deadline) => inner.on_call_timer().await,
            // A call command changed the timers: go round and re-arm.
            () = inner.call_wake.notified() => {}
            event = link_events.recv() => match event {
                Some(event) => inner.on_link(event).await,
                None => break,
            },
            Some((to, signal)) = signals.recv() => {
                match serde_json::to_value(&signal) {
                    Ok(data) => {
                        if let Err(e) = inner.link.signal(&to, data) {
                            debug!(error = %e, kind = signal.kind(), "signal not relayed");
                        }
                    }
                    Err(e) => warn!(error = %e, "signal not serializable"),
                }
            }
            Some(event) = peer_events.recv() => inner.on_peer(event).await,
            Some(notice) = file_notices.recv() => match notice {
                FileNotice::Flush(user_id) => inner.deliver(&user_id).await,
                FileNotice::Schedule(user_id) => inner.schedule_transfers(&user_id).await,
            },
        }
    }
    debug!("server link stream ended");
}

/// Sleeps until `at`, or for ever when there is nothing to wait for.
async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    fn emit(&self, event: CoreEvent) {
        let _ = self.events.send(event);
    }

    /// Shows a message just queued and sends it (alone in the outbox: just it; otherwise the
    /// whole outbox, in order).
    async fn announce(&self, (message, alone): (Message, bool)) -> Message {
        self.emit(CoreEvent::Message {
            message: message.clone(),
        });
        if alone {
            self.deliver_one(&message).await;
        } else {
            self.deliver(&message.conversation_id).await;
        }
        message
    }

    /// Cloned out so no lock guard is ever held across an await.
    fn manager(&self) -> Option<PeerManager> {
        self.state().manager.clone()
    }

    fn user_of(&self, peer: &PeerId) -> Option<User> {
        self.state().peer_users.get(peer).cloned()
    }

    /// A device of `user_id` with an open channel, if any.
    fn open_peer(&self, user_id: &str) -> Option<(PeerManager, PeerId)> {
        let state = self.state();
        let manager = state.manager.clone()?;
        let peer = state
            .peer_users
            .iter()
            .find(|(peer, user)| user.id == user_id && state.greeted.contains(*peer) && manager.is_open(peer))
            .map(|(peer, _)| peer.clone())?;
        Some((manager, peer))
    }

    /// Records who a peer is (as the server vouches) and keeps the contact for offline use.
    async fn remember(&self, peer_id: &str, user: &User) {
        let changed = self
            .state()
            .peer_users
            .insert(peer_id.to_owned(), user.clone())
            .as_ref()
            != Some(user);
        if changed {
            if let Err(e) = self.history.remember_contact(user).await {
                warn!(error = %e, "could not store a contact");
            }
        }
    }

    async fn on_link(self: &Arc<Self>, event: LinkEvent) {
        match event {
            LinkEvent::Connected { peer_id, user } => self.on_connected(peer_id, user).await,
            LinkEvent::Disconnected { reason } => self.emit(CoreEvent::Offline { reason }),
            LinkEvent::SessionEnded => self.emit(CoreEvent::SessionEnded),
            LinkEvent::Frame(ServerFrame::Joined { room, peers }) => {
                for peer in &peers {
                    self.remember(&peer.peer_id, &peer.user).await;
                }
                let users: Vec<String> = peers.iter().map(|p| p.user.id.clone()).collect();
                self.emit(CoreEvent::RoomJoined { room, peers });
                for user in users {
                    self.deliver(&user).await;
                }
            }
            LinkEvent::Frame(ServerFrame::Left { room }) => self.emit(CoreEvent::RoomLeft { room }),
            LinkEvent::Frame(ServerFrame::PeerJoined { room, peer }) => {
                self.remember(&peer.peer_id, &peer.user).await;
                let user = peer.user.id.clone();
                self.emit(CoreEvent::PeerJoined { room, peer });
                self.deliver(&user).await;
            }
            LinkEvent::Frame(ServerFrame::PeerUpdated { room, peer }) => {
                self.remember(&peer.peer_id, &peer.user).await;
                self.emit(CoreEvent::PeerUpdated { room, peer });
            }
            LinkEvent::Frame(ServerFrame::PeerLeft { room, peer_id }) => {
                self.forget_unless_shared(&peer_id).await;
                self.emit(CoreEvent::PeerLeft { room, peer_id });
            }
            LinkEvent::Frame(ServerFrame::Signal { from, user, data }) => self.on_signal(from, user, data).await,
            // A signal to a peer that has just left: normal churn (their departure is on its
            // way), and the outbox keeps anything owed. Nothing a person needs to hear about.
            LinkEvent::Frame(ServerFrame::Error { code, message }) if code == parley_protocol::codes::UNKNOWN_PEER => {
                debug!(%code, %message, "signal to a peer that left");
            }
            LinkEvent::Frame(ServerFrame::Error { code, message }) => {
                debug!(%code, %message, "server refused a frame");
                self.emit(CoreEvent::Error { code, message });
            }
            // The link keeps these to itself.
            LinkEvent::Frame(ServerFrame::Welcome { .. } | ServerFrame::Pong) => {}
        }
    }

    /// Online under a new peer id: connections made under the old one are of no further use.
    async fn on_connected(&self, peer_id: PeerId, user: User) {
        info!(peer = %peer_id, "online");
        let manager = PeerManager::new(
            peer_id.clone(),
            self.identity.clone(),
            self.peer_config.clone(),
            self.peer_signals.clone(),
            self.peer_events.clone(),
        );
        let old = {
            let mut state = self.state();
            state.me = Some(user.clone());
            state.peer_users.clear();
            state.greeted.clear();
            state.handed.clear();
            state.held.clear();
            state.routes.clear();
            state.manager.replace(manager)
        };
        // Remote peers are told by the server that our old peer left.
        if let Some(old) = old {
            old.close_all().await;
        }
        self.emit(CoreEvent::Online { peer_id, user });
    }

    /// A peer left a room: its connection goes, unless another room still shares it with us.
    async fn forget_unless_shared(&self, peer_id: &PeerId) {
        let still_shared = self
            .link
            .rooms()
            .iter()
            .any(|r| self.link.roster(r).iter().any(|p| p.peer_id == *peer_id));
        if still_shared {
            return;
        }
        {
            let mut state = self.state();
            state.peer_users.remove(peer_id);
            state.greeted.remove(peer_id);
            state.handed.remove(peer_id);
            state.held.remove(peer_id);
            state.routes.remove(peer_id);
        }
        if let Some(manager) = self.manager() {
            manager.close(peer_id).await;
        }
    }

    /// A relayed negotiation message: the server vouches for who sent it.
    async fn on_signal(&self, from: PeerId, user: User, data: serde_json::Value) {
        self.remember(&from, &user).await;
        if let Some(relayed) = crate::calls::Relayed::parse(&data) {
            self.on_relayed_call(&from, &user, relayed).await;
            return;
        }
        let signal: PeerSignal = match serde_json::from_value(data) {
            Ok(signal) => signal,
            Err(e) => {
                debug!(peer = %from, error = %e, "ignoring a malformed signal");
                return;
            }
        };
        if let Some(manager) = self.manager() {
            if let Err(e) = manager.handle_signal(&from, signal).await {
                debug!(peer = %from, error = %e, "signal refused");
            }
        }
    }

    async fn on_peer(self: &Arc<Self>, event: PeerEvent) {
        match event {
            PeerEvent::Connected { peer, identity } => {
                let Some(user) = self.user_of(&peer) else {
                    debug!(%peer, "channel from an unknown peer");
                    return;
                };
                info!(%peer, user = %user.username, device = %identity.device, "direct channel open, identity proven");
                {
                    let mut state = self.state();
                    state.greeted.remove(&peer);
                    state.handed.remove(&peer);
                }
                // A held channel stays open but silent: the chat hello, and with it everything
                // else, waits for the person. Otherwise the outbox is flushed once their hello
                // shows their end is open too.
                if self.check_identity(&peer, &user, &identity).await {
                    self.send_hello(&peer).await;
                }
                let route = match self.manager() {
                    Some(manager) => manager.route(&peer).await,
                    None => None,
                };
                if let Some(route) = route {
                    info!(%peer, ?route, "direct channel route");
                    self.state().routes.insert(peer.clone(), route);
                }
                self.emit(CoreEvent::Connected {
                    peer_id: peer,
                    user_id: user.id.clone(),
                    route,
                });
            }
            PeerEvent::IdentityRefused { peer, reason } => {
                let user = self.user_of(&peer);
                warn!(%peer, %reason, "a connection did not prove its identity");
                self.emit(CoreEvent::IdentityMismatch {
                    peer_id: peer,
                    user_id: user.map(|u| u.id),
                    reason,
                });
            }
            PeerEvent::Frame { peer, data } => {
                let Some(user) = self.user_of(&peer) else {
                    debug!(%peer, "frame from a peer the server has not introduced");
                    return;
                };
                if self.state().held.contains(&peer) {
                    // Unacknowledged, so the sender's outbox keeps it for after acceptance.
                    debug!(%peer, "frame from a changed identity not accepted yet: dropped");
                    return;
                }
                if CallFrame::is_call_frame(&data) {
                    self.on_call_frame(&peer, &user, &data).await;
                    return;
                }
                match ChatFrame::decode(&data) {
                    Ok(frame) => self.on_frame(&peer, &user, frame).await,
                    Err(FrameError::UnknownType) => debug!(%peer, "ignoring a frame type from a newer version"),
                    Err(e) => warn!(%peer, error = %e, "dropping an invalid frame"),
                }
            }
            PeerEvent::Disconnected { peer, reason } => {
                let user = self.user_of(&peer);
                {
                    let mut state = self.state();
                    state.greeted.remove(&peer);
                    state.handed.remove(&peer);
                    state.held.remove(&peer);
                    state.routes.remove(&peer);
                }
                debug!(%peer, %reason, "direct channel closed");
                self.call_device_gone(&peer).await;
                self.emit(CoreEvent::Disconnected {
                    peer_id: peer.clone(),
                    user_id: user.as_ref().map(|u| u.id.clone()),
                    reason,
                });
                // Still in a room with us and still owed messages: try again shortly.
                if let Some(user) = user {
                    let inner = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(RETRY_AFTER).await;
                        inner.deliver(&user.id).await;
                    });
                }
            }
        }
    }

    /// Sends a frame whose loss the protocol recovers from by itself (a hello answered again,
    /// an ack or receipt sent again on the next resend or channel): a failure is not an error.
    async fn send_best_effort(&self, peer: &PeerId, frame: &ChatFrame) {
        if let Some(manager) = self.manager() {
            if let Err(e) = manager.send(peer, frame.encode()).await {
                debug!(%peer, error = %e, "frame not sent");
            }
        }
    }

    /// Our chat hello on a channel whose identity is settled.
    async fn send_hello(&self, peer: &PeerId) {
        let hello = ChatFrame::Hello {
            v: CHAT_PROTOCOL_VERSION,
        };
        self.send_best_effort(peer, &hello).await;
    }

    /// Checks the identity a channel proved against the pins (trust on first use) and tells
    /// the person what changed. False when the channel must be held: a verified contact's key
    /// changed and the person has not accepted it.
    async fn check_identity(&self, peer: &PeerId, user: &User, identity: &RemoteIdentity) -> bool {
        let observed = self
            .history
            .observe_identity(&user.id, &identity.device, identity.key.0)
            .await;
        let held = match observed {
            Ok(Observation { check, held }) => {
                match check {
                    IdentityCheck::FirstContact | IdentityCheck::Known => {}
                    IdentityCheck::NewDevice => self.emit(CoreEvent::IdentityNewDevice {
                        user_id: user.id.clone(),
                        device: identity.device.clone(),
                    }),
                    IdentityCheck::Changed { verified } => {
                        warn!(user = %user.username, device = %identity.device, verified, "identity key changed");
                        self.emit(CoreEvent::IdentityChanged {
                            user_id: user.id.clone(),
                            device: identity.device.clone(),
                            verified,
                        });
                    }
                }
                held
            }
            Err(e) => {
                // Not knowing the pins must not mean trusting a key.
                warn!(error = %e, "could not check the identity pins");
                true
            }
        };
        if held {
            self.state().held.insert(peer.clone());
        }
        !held
    }

    /// The person accepted `user_id`'s changed key: their held channels start chatting.
    pub(crate) async fn release(&self, user_id: &str) {
        let peers: Vec<PeerId> = {
            let mut state = self.state();
            let peers: Vec<PeerId> = state
                .peer_users
                .iter()
                .filter(|(peer, user)| user.id == user_id && state.held.contains(*peer))
                .map(|(peer, _)| peer.clone())
                .collect();
            for peer in &peers {
                state.held.remove(peer);
            }
            peers
        };
        for peer in peers {
            self.send_hello(&peer).await;
        }
    }

    async fn on_frame(&self, peer: &PeerId, user: &User, frame: ChatFrame) {
        match frame {
            ChatFrame::Hello { v } => {
                debug!(%peer, v, "peer speaks chat protocol");
                let first = {
                    let mut state = self.state();
                    state.handed.remove(peer);
                    state.greeted.insert(peer.clone())
                };
                if first {
                    // Their first hello: answer it, since ours may have reached their end before
                    // it was open and been lost (see `State::greeted`); then flush the outbox.
                    self.send_hello(peer).await;
                    self.call_device_up(peer, &user.id).await;
                    self.deliver(&user.id).await;
                    self.resend_read_receipts(peer, &user.id).await;
                    self.schedule_transfers(&user.id).await;
                }
            }
            ChatFrame::Msg {
                id,
                body,
                sent_at,
                reply_to,
                file,
            } => {
                let mut new = NewMessage::incoming(&user.id, &id, &user.id, &body, sent_at, parley_history::now_ms())
                    .replying_to(reply_to.as_deref());
                if let Some(offer) = &file {
                    if !self.admit_file(peer, user, &id, offer, &mut new).await {
                        return;
                    }
                }
                let acknowledge = match self.history.insert_titled(new, &user.display_name).await {
                    Ok(InsertOutcome::Inserted(message)) => {
                        self.emit(CoreEvent::Message {
                            message: message.clone(),
                        });
                        self.transfers.offered(&message).await;
                        true
                    }
                    // A resend: already stored, so acknowledge again — unless the id belongs to
                    // someone else's message, which this peer must not be able to touch.
                    Ok(InsertOutcome::Duplicate(existing)) => {
                        existing.direction == Direction::Incoming && existing.conversation_id == user.id
                    }
                    Err(e) => {
                        warn!(error = %e, "could not store an incoming message");
                        false
                    }
                };
                if acknowledge {
                    self.send_best_effort(peer, &ChatFrame::Ack { id }).await;
                }
            }
            ChatFrame::Edit { ref id, .. } | ChatFrame::Delete { ref id, .. } | ChatFrame::React { ref id, .. } => {
                if let Some(message) = super::actions::apply_remote(&self.history, user, &frame).await {
                    self.emit(CoreEvent::MessageChanged { message });
                }
                // Acknowledged even when refused, so the sender stops resending it; a refusal
                // changed nothing here.
                self.send_best_effort(peer, &ChatFrame::Ack { id: id.clone() }).await;
            }
            ChatFrame::FileState {
                id,
                target,
                state,
                code,
            } => {
                if let Some(state) = TransferState::parse(&state) {
                    if let Some(message) = self.transfers.on_state(user, &target, state, code.as_deref()).await {
                        self.emit(CoreEvent::MessageChanged { message });
                    }
                }
                // Acknowledged even when refused, like actions.
                self.send_best_effort(peer, &ChatFrame::Ack { id }).await;
            }
            ChatFrame::FileFetch {
                target,
                offset,
                channel,
            } => {
                if let Some(manager) = self.manager() {
                    self.transfers
                        .serve(user.clone(), manager, peer.clone(), target, offset, channel);
                }
            }
            ChatFrame::Ack { id } => {
                if let Some(ids) = self.state().handed.get_mut(peer) {
                    ids.remove(&id);
                }
                if !self.advance(user, &id, DeliveryState::Delivered).await {
                    match self.history.action_acknowledged(&user.id, &id).await {
                        Ok(true) => debug!(id, "action delivered"),
                        Ok(false) => debug!(id, "acknowledgement of nothing we sent"),
                        Err(e) => warn!(error = %e, "could not record an acknowledgement"),
                    }
                }
            }
            ChatFrame::Read { ids } => {
                for id in ids {
                    self.advance(user, &id, DeliveryState::Read).await;
                }
            }
            ChatFrame::Typing { active } => self.emit(CoreEvent::Typing {
                user_id: user.id.clone(),
                active,
            }),
        }
    }

    /// Decides about a file offer before its message is stored: the name made safe, the
    /// thumbnail checked, accepted or waiting for the person. False when refused (already
    /// answered: acknowledged, and declined to the sender).
    async fn admit_file(&self, peer: &PeerId, user: &User, id: &str, offer: &FileOffer, new: &mut NewMessage) -> bool {
        // A resend of an offer already stored keeps its first decision.
        if matches!(self.history.message(id).await, Ok(Some(_))) {
            return true;
        }
        match self.transfers.admit(&user.id, offer).await {
            Some(file) => {
                new.body = file.name.clone();
                new.file = Some(file);
                true
            }
            None => {
                self.transfers.refused(&user.id, id).await;
                self.send_best_effort(peer, &ChatFrame::Ack { id: id.to_owned() }).await;
                false
            }
        }
    }

    /// Runs the waiting incoming transfers from `user_id` if one of their devices is open (a
    /// held channel never is: its hello is not taken).
    async fn schedule_transfers(&self, user_id: &str) {
        if let Some((manager, peer)) = self.open_peer(user_id) {
            self.transfers.schedule(user_id, &manager, &peer).await;
        }
    }

    /// Moves one of our messages to `user` forward, if it is theirs to move; false if nothing
    /// moved.
    async fn advance(&self, user: &User, id: &str, state: DeliveryState) -> bool {
        // Only an outgoing message of this user's conversation moves: the check is in the update.
        match self.history.advance_outgoing_state(&user.id, id, state).await {
            Ok(Some(message)) => {
                self.emit(CoreEvent::MessageState {
                    id: message.id,
                    conversation_id: message.conversation_id,
                    state: message.state,
                });
                true
            }
            Ok(None) => {
                debug!(id, "receipt ignored: not a message this peer received, or not forward");
                false
            }
            Err(e) => {
                warn!(error = %e, "could not record a receipt");
                false
            }
        }
    }

    /// Receipts for messages read while their sender was unreachable were never sent. Receipts
    /// only move states forward, so re-sending those of the latest read messages whenever a
    /// channel opens is harmless and needs no record of what was sent.
    async fn resend_read_receipts(&self, peer: &PeerId, user_id: &str) {
        let page = match self.history.page(user_id, None, MAX_READ_IDS).await {
            Ok(page) => page,
            Err(e) => {
                debug!(error = %e, "could not read the conversation for receipts");
                return;
            }
        };
        let ids: Vec<String> = page
            .messages
            .into_iter()
            .filter(|m| m.direction == Direction::Incoming && m.state == DeliveryState::Read)
            .map(|m| m.id)
            .collect();
        if !ids.is_empty() {
            self.send_best_effort(peer, &ChatFrame::Read { ids }).await;
        }
    }

    /// Opens a channel to one of the user's online devices; false when none is online.
    async fn connect_user(&self, user_id: &str) -> bool {
        let (manager, peers) = {
            let state = self.state();
            let Some(manager) = state.manager.clone() else {
                return false;
            };
            let mut peers: Vec<PeerId> = state
                .peer_users
                .iter()
                .filter(|(_, u)| u.id == user_id)
                .map(|(p, _)| p.clone())
                .collect();
            peers.sort();
            (manager, peers)
        };
        if peers.iter().any(|p| manager.is_open(p)) {
            return true;
        }
        // One device is enough to take delivery; the first by id keeps the choice stable.
        match peers.first() {
            Some(peer) => match manager.connect(peer).await {
                Ok(()) => true,
                Err(e) => {
                    debug!(%peer, error = %e, "could not start a connection");
                    false
                }
            },
            None => false,
        }
    }

    /// Sends everything owed to `user_id` over an open channel, or starts opening one (also
    /// with nothing owed, for anyone we have a conversation with).
    async fn deliver(&self, user_id: &str) {
        let _guard = self.flush.lock().await;
        let actions = match self.history.pending_actions(user_id).await {
            Ok(actions) => actions,
            Err(e) => {
                warn!(error = %e, "could not read the action outbox");
                Vec::new()
            }
        };
        let pending = match self.history.unacknowledged_outgoing(Some(user_id)).await {
            Ok(pending) if !pending.is_empty() || !actions.is_empty() => pending,
            Ok(_) => {
                // Nothing owed, but a channel to someone we have a conversation with carries
                // read receipts and typing, and makes the next message instant.
                let known = matches!(self.history.conversation(user_id).await, Ok(Some(_)));
                if known && self.open_peer(user_id).is_none() {
                    self.connect_user(user_id).await;
                }
                return;
            }
            Err(e) => {
                warn!(error = %e, "could not read the outbox");
                return;
            }
        };
        let Some((manager, peer)) = self.open_peer(user_id) else {
            self.connect_user(user_id).await;
            return;
        };
        for message in &pending {
            if self.was_handed(&peer, &message.id) {
                continue;
            }
            if !self.hand_over(&manager, &peer, message).await {
                return;
            }
        }
        // After the messages, so an edit never arrives before what it edits.
        for action in actions {
            if self.was_handed(&peer, &action.id) {
                continue;
            }
            if let Err(e) = manager.send(&peer, bytes::Bytes::from(action.frame)).await {
                debug!(%peer, error = %e, "action not sent; will resend");
                return;
            }
            self.mark_handed(&peer, &action.id);
        }
    }

    /// [`Inner::deliver`] for a message just stored when nothing older in its conversation is
    /// still Pending: older unacknowledged ones were handed to a channel already, and are resent
    /// in full when a new channel's `hello` arrives. Skips the outbox query on every send.
    async fn deliver_one(&self, message: &Message) {
        let _guard = self.flush.lock().await;
        let Some((manager, peer)) = self.open_peer(&message.conversation_id) else {
            self.connect_user(&message.conversation_id).await;
            return;
        };
        self.hand_over(&manager, &peer, message).await;
    }

    fn was_handed(&self, peer: &PeerId, id: &str) -> bool {
        self.state().handed.get(peer).is_some_and(|ids| ids.contains(id))
    }

    fn mark_handed(&self, peer: &PeerId, id: &str) {
        self.state()
            .handed
            .entry(peer.clone())
            .or_default()
            .insert(id.to_owned());
    }

    /// Sends one outbox message and records it Sent; false if the channel failed.
    async fn hand_over(&self, manager: &PeerManager, peer: &PeerId, message: &Message) -> bool {
        let frame = ChatFrame::Msg {
            id: message.id.clone(),
            body: message.body.clone(),
            sent_at: message.sent_at,
            reply_to: message.reply_to.clone(),
            file: message.file.as_ref().map(FileOffer::from_transfer),
        };
        if let Err(e) = manager.send(peer, frame.encode()).await {
            debug!(%peer, error = %e, "delivery interrupted; will resend");
            return false;
        }
        self.mark_handed(peer, &message.id);
        if message.state == DeliveryState::Pending {
            if let Ok(Some(updated)) = self
                .history
                .advance_outgoing_state(&message.conversation_id, &message.id, DeliveryState::Sent)
                .await
            {
                self.emit(CoreEvent::MessageState {
                    id: updated.id,
                    conversation_id: updated.conversation_id,
                    state: updated.state,
                });
            }
        }
        true
    }
}
