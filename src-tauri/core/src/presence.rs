//! The signaling client: one WebSocket per profile that stays up by itself.
//!
//! [`Presence`] owns a background task that connects to `/api/v1/ws`, reconnects with
//! exponential backoff and jitter whenever the link drops (server restart, network change,
//! laptop sleep), re-joins the rooms the user is in, and keeps a live roster of each room from
//! the server's frames. Callers see the result as [`PresenceEvent`]s and through
//! [`Presence::roster`]; they never deal with the socket.
//!
//! The user's intent (which rooms to be in) lives in the handle and survives reconnects; the
//! rosters are facts from the server and are dropped the moment the link is lost, because a
//! roster from a dead connection would show people as online who may not be.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parley_protocol::{codes, ClientFrame, Peer, ServerFrame, User};
use rand::Rng;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::Instrument;

use crate::account::ServerUrl;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A frame this large from the server is a bug or an attack; the biggest legitimate one is the
/// roster of a full room (1000 peers of a few hundred bytes).
const MAX_SERVER_FRAME: usize = 4 * 1024 * 1024;

/// Timing of the connection. The defaults suit real networks; tests shorten them.
#[derive(Debug, Clone)]
pub struct PresenceOptions {
    /// How often the client pings, so a link that died silently (NAT timeout, suspended
    /// laptop) is noticed here too, not only by the server.
    pub heartbeat: Duration,
    /// Silence after which the link is considered dead. The server pings every 20 s, so a
    /// live link is never this quiet.
    pub dead_after: Duration,
    /// Limit for TCP, TLS, the WebSocket upgrade and the `welcome` frame together.
    pub connect_timeout: Duration,
    /// First reconnect delay; doubles per failed attempt up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// A connection that lasted this long counts as healthy: the next drop starts the
    /// backoff afresh instead of continuing to wait long.
    pub stable_after: Duration,
}

impl Default for PresenceOptions {
    fn default() -> Self {
        PresenceOptions {
            heartbeat: Duration::from_secs(15),
            dead_after: Duration::from_secs(45),
            connect_timeout: Duration::from_secs(15),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            stable_after: Duration::from_secs(30),
        }
    }
}

/// What happened, in the order it happened. Rosters are updated before the matching event is
/// sent, so [`Presence::roster`] already agrees with any event received.
#[derive(Debug, Clone, PartialEq)]
pub enum PresenceEvent {
    /// Online as `peer_id` (a new one after every reconnect).
    Connected {
        peer_id: String,
        user: User,
    },
    /// The link is down; every roster is now empty. Reconnecting goes on in the background.
    Disconnected {
        reason: String,
    },
    /// A room was joined (or re-joined after a reconnect); `peers` is its roster, without us.
    Joined {
        room: String,
        peers: Vec<Peer>,
    },
    /// We left a room.
    Left {
        room: String,
    },
    PeerJoined {
        room: String,
        peer: Peer,
    },
    PeerLeft {
        room: String,
        peer_id: String,
    },
    PeerUpdated {
        room: String,
        peer: Peer,
    },
    Signal {
        from: String,
        user: User,
        data: serde_json::Value,
    },
    /// The server refused a frame (a join of a full room, a signal to a peer that left…).
    ServerError {
        code: String,
        message: String,
    },
    /// The token is no longer valid (signed out, expired): no more reconnecting. Sign in
    /// again and start a new [`Presence`].
    SessionEnded,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresenceError {
    #[error("not connected to the signaling server right now")]
    NotConnected,
    #[error("the signaling client has stopped (shut down, or the session ended)")]
    Stopped,
}

enum Command {
    Join(String),
    Leave(String),
    Signal { to: String, data: serde_json::Value },
}

#[derive(Default)]
struct State {
    /// Rooms the user asked to be in; re-joined after every reconnect.
    wanted: BTreeSet<String>,
    /// Rooms the server confirmed, with who is in them (never ourselves).
    rosters: HashMap<String, HashMap<String, User>>,
    local: Option<(String, User)>,
    stopped: bool,
}

struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind, still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The signaling connection of one profile. Dropping it stops the background task.
pub struct Presence {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("local_peer_id", &self.local_peer_id())
            .field("rooms", &self.rooms())
            .finish()
    }
}

impl Presence {
    /// Starts connecting in the background (inside the current Tokio runtime).
    pub fn start(server: &ServerUrl, token: &str) -> (Presence, mpsc::UnboundedReceiver<PresenceEvent>) {
        Presence::start_with(server, token, PresenceOptions::default())
    }

    pub fn start_with(
        server: &ServerUrl,
        token: &str,
        options: PresenceOptions,
    ) -> (Presence, mpsc::UnboundedReceiver<PresenceEvent>) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
        });
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        let runner = Runner {
            url: server.clone(),
            token: token.to_owned(),
            options,
            shared: shared.clone(),
            commands: command_rx,
            events,
            stop: stop_rx,
        };
        let span = tracing::info_span!("presence", server = %server);
        let task = tokio::spawn(runner.run().instrument(span));
        let presence = Presence {
            shared,
            commands,
            stop,
            task: Mutex::new(Some(task)),
        };
        (presence, event_rx)
    }

    /// Joins a room now if connected, and after every reconnect until [`Presence::leave`].
    /// The outcome arrives as [`PresenceEvent::Joined`] or [`PresenceEvent::ServerError`].
    pub fn join(&self, room: &str) -> Result<(), PresenceError> {
        let mut state = self.shared.lock();
        if state.stopped {
            return Err(PresenceError::Stopped);
        }
        state.wanted.insert(room.to_owned());
        self.commands
            .send(Command::Join(room.to_owned()))
            .map_err(|_| PresenceError::Stopped)
    }

    pub fn leave(&self, room: &str) -> Result<(), PresenceError> {
        let mut state = self.shared.lock();
        if state.stopped {
            return Err(PresenceError::Stopped);
        }
        if !state.wanted.remove(room) {
            return Ok(());
        }
        self.commands
            .send(Command::Leave(room.to_owned()))
            .map_err(|_| PresenceError::Stopped)
    }

    /// Relays `data` (an SDP offer or answer, an ICE candidate) to a peer sharing a room.
    /// Peer ids die with their connection, so there is no queueing while disconnected.
    pub fn signal(&self, to: &str, data: serde_json::Value) -> Result<(), PresenceError> {
        let state = self.shared.lock();
        if state.stopped {
            return Err(PresenceError::Stopped);
        }
        if state.local.is_none() {
            return Err(PresenceError::NotConnected);
        }
        self.commands
            .send(Command::Signal {
                to: to.to_owned(),
                data,
            })
            .map_err(|_| PresenceError::Stopped)
    }

    /// Who is in a room right now, without ourselves; empty while disconnected. Sorted by
    /// display name so a UI list does not jump around.
    pub fn roster(&self, room: &str) -> Vec<Peer> {
        sorted_roster(&self.shared.lock(), room)
    }

    /// The rooms we are in or joining, sorted.
    pub fn rooms(&self) -> Vec<String> {
        self.shared.lock().wanted.iter().cloned().collect()
    }

    /// Our peer id on the current connection, `None` while disconnected.
    pub fn local_peer_id(&self) -> Option<String> {
        self.shared.lock().local.as_ref().map(|(id, _)| id.clone())
    }

    /// Our own user as the server last described it, `None` while disconnected.
    pub fn local_user(&self) -> Option<User> {
        self.shared.lock().local.as_ref().map(|(_, user)| user.clone())
    }

    pub fn is_stopped(&self) -> bool {
        self.shared.lock().stopped
    }

    /// Closes the connection politely and waits for the background task to end.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "presence task failed");
            }
        }
    }
}

/// Why a connection ended.
enum End {
    /// Asked to stop (or the handle was dropped).
    Stop,
    /// The server rejected the token.
    SessionEnded,
    /// Anything else: try again later.
    Lost(String),
}

/// The background task's half.
struct Runner {
    url: ServerUrl,
    token: String,
    options: PresenceOptions,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<PresenceEvent>,
    stop: watch::Receiver<bool>,
}

impl Runner {
    async fn run(mut self) {
        let mut backoff = Backoff::new(self.options.backoff_min, self.options.backoff_max);
        // Whether the UI has already been told the link is down, so that a server that stays
        // down yields one Disconnected, not one per attempt.
        let mut told_down = false;
        let mut attempt: u64 = 0;
        loop {
            attempt += 1;
            let span = tracing::debug_span!("connection", attempt);
            let end = match self.connect().instrument(span.clone()).await {
                Ok((socket, peer_id, user)) => {
                    told_down = false;
                    let since = Instant::now();
                    let end = self.serve(socket, peer_id, user).instrument(span).await;
                    if since.elapsed() >= self.options.stable_after {
                        backoff.reset();
                    }
                    end
                }
                Err(end) => end,
            };
            self.forget_connection();
            match end {
                End::Stop => break,
                End::SessionEnded => {
                    tracing::info!("the server rejected the session token; not reconnecting");
                    self.shared.lock().stopped = true;
                    self.emit(PresenceEvent::SessionEnded);
                    break;
                }
                End::Lost(reason) => {
                    let delay = backoff.next_delay();
                    tracing::info!(%reason, retry_in_ms = delay.as_millis() as u64, "signaling link down");
                    if !told_down {
                        told_down = true;
                        self.emit(PresenceEvent::Disconnected { reason });
                    }
                    if self.pause(delay).await.is_err() {
                        break;
                    }
                }
            }
        }
        self.shared.lock().stopped = true;
        tracing::debug!("presence stopped");
    }

    fn emit(&self, event: PresenceEvent) {
        // Nobody listening is fine: the rosters are still kept for `roster()`.
        let _ = self.events.send(event);
    }

    /// Waits out a backoff delay; `Err` when asked to stop meanwhile.
    async fn pause(&mut self, delay: Duration) -> Result<(), ()> {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return Ok(()),
                _ = stopped(&mut self.stop) => return Err(()),
                command = self.commands.recv() => match command {
                    // Joins and leaves are already in the wanted set; signals have no peer to go to.
                    Some(command) => discard_offline(command),
                    None => return Err(()),
                },
            }
        }
    }

    async fn connect(&mut self) -> Result<(Socket, String, User), End> {
        let deadline = self.options.connect_timeout;
        let connect = tokio::time::timeout(deadline, self.handshake());
        let mut stop = self.stop.clone();
        tokio::select! {
            _ = stopped(&mut stop) => Err(End::Stop),
            result = connect => match result {
                Ok(result) => result,
                Err(_) => Err(End::Lost(format!("no answer from {} within {} s", self.url, deadline.as_secs()))),
            },
        }
    }

    /// Upgrade with the token in the header, then wait for `welcome`.
    async fn handshake(&self) -> Result<(Socket, String, User), End> {
        let url = self.url.websocket();
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| End::Lost(format!("bad WebSocket address {url}: {e}")))?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", self.token))
            .map_err(|_| End::Lost("the session token contains characters that cannot be sent".to_owned()))?;
        request.headers_mut().insert(header::AUTHORIZATION, bearer);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_SERVER_FRAME))
            .max_frame_size(Some(MAX_SERVER_FRAME));
        let (mut socket, _) = match tokio_tungstenite::connect_async_with_config(request, Some(config), true).await {
            Ok(connected) => connected,
            Err(tungstenite::Error::Http(response)) if response.status() == StatusCode::UNAUTHORIZED => {
                return Err(End::SessionEnded);
            }
            Err(tungstenite::Error::Http(response)) => {
                let body = response
                    .body()
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                return Err(End::Lost(format!(
                    "the server refused the WebSocket ({}): {}",
                    response.status(),
                    body.trim()
                )));
            }
            Err(e) => return Err(End::Lost(format!("cannot connect to {url}: {e}"))),
        };
        loop {
            let message = match socket.next().await {
                Some(Ok(message)) => message,
                Some(Err(e)) => return Err(End::Lost(format!("connection failed before welcome: {e}"))),
                None => return Err(End::Lost("connection closed before welcome".to_owned())),
            };
            match message {
                Message::Text(text) => match parse_frame(&text) {
                    Some(ServerFrame::Welcome { peer_id, user }) => return Ok((socket, peer_id, user)),
                    Some(ServerFrame::Error { code, .. }) if code == codes::UNAUTHORIZED => {
                        return Err(End::SessionEnded)
                    }
                    Some(other) => tracing::debug!(?other, "frame before welcome ignored"),
                    None => {}
                },
                Message::Close(frame) => return Err(End::Lost(describe_close(frame.as_ref()))),
                _ => {}
            }
        }
    }

    async fn serve(&mut self, mut socket: Socket, peer_id: String, user: User) -> End {
        tracing::info!(peer_id, "online");
        // Commands queued while offline are stale: the wanted set is the truth about rooms, and
        // signals were addressed to peers of an earlier connection.
        while let Ok(command) = self.commands.try_recv() {
            discard_offline(command);
        }
        let rooms: Vec<String> = {
            let mut state = self.shared.lock();
            state.local = Some((peer_id.clone(), user.clone()));
            state.wanted.iter().cloned().collect()
        };
        self.emit(PresenceEvent::Connected { peer_id, user });

        let mut session = Session::default();
        for room in rooms {
            if let Err(e) = session.join(&mut socket, room).await {
                return End::Lost(format!("connection failed: {e}"));
            }
        }

        let heartbeat = self.options.heartbeat;
        let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let mut stop = self.stop.clone();
        loop {
            let sent = tokio::select! {
                _ = stopped(&mut stop) => {
                    let goodbye = Message::Close(Some(CloseFrame {
                        code: CloseCode::Normal,
                        reason: "client shutting down".into(),
                    }));
                    let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(goodbye)).await;
                    return End::Stop;
                }
                command = self.commands.recv() => match command {
                    None => return End::Stop,
                    Some(Command::Join(room)) => session.join(&mut socket, room).await,
                    Some(Command::Leave(room)) => send(&mut socket, &ClientFrame::Leave { room }).await,
                    Some(Command::Signal { to, data }) => send(&mut socket, &ClientFrame::Signal { to, data }).await,
                },
                message = socket.next() => {
                    last_heard = Instant::now();
                    match message {
                        Some(Ok(Message::Text(text))) => {
                            if let Some(end) = self.on_frame(&mut session, &text) {
                                return end;
                            }
                            Ok(())
                        }
                        Some(Ok(Message::Close(frame))) => return End::Lost(describe_close(frame.as_ref())),
                        // Pings are answered by tungstenite on the next poll; pongs only prove life.
                        Some(Ok(_)) => Ok(()),
                        Some(Err(e)) => return End::Lost(format!("connection failed: {e}")),
                        None => return End::Lost("the server closed the connection".to_owned()),
                    }
                }
                _ = ping.tick() => {
                    let silent = last_heard.elapsed();
                    if silent >= self.options.dead_after {
                        return End::Lost(format!("no sign of life from the server for {} s", silent.as_secs()));
                    }
                    send(&mut socket, &ClientFrame::Ping).await
                }
            };
            if let Err(e) = sent {
                return End::Lost(format!("connection failed while sending: {e}"));
            }
        }
    }

    /// Applies one server frame; `Some` ends the connection.
    fn on_frame(&self, session: &mut Session, text: &str) -> Option<End> {
        let frame = parse_frame(text)?;
        let event = {
            let mut state = self.shared.lock();
            match frame {
                ServerFrame::Joined { room, peers } => {
                    let early = session.answered(&room);
                    if !state.wanted.contains(&room) {
                        // Left again before the server answered; a `left` follows.
                        return None;
                    }
                    let mut roster: HashMap<String, User> = peers.into_iter().map(|p| (p.peer_id, p.user)).collect();
                    for change in early {
                        apply(&mut roster, change);
                    }
                    tracing::debug!(room, peers = roster.len(), "joined");
                    state.rosters.insert(room.clone(), roster);
                    let peers = sorted_roster(&state, &room);
                    PresenceEvent::Joined { room, peers }
                }
                ServerFrame::Left { room } => {
                    if state.wanted.contains(&room) {
                        // Re-joined meanwhile: the `joined` answer is on its way and replaces the roster.
                        return None;
                    }
                    state.rosters.remove(&room);
                    PresenceEvent::Left { room }
                }
                ServerFrame::PeerJoined { ref room, .. }
                | ServerFrame::PeerLeft { ref room, .. }
                | ServerFrame::PeerUpdated { ref room, .. } => {
                    let room = room.clone();
                    let frame = session.hold_back(&room, frame)?;
                    let roster = state.rosters.get_mut(&room)?;
                    apply(roster, frame)?
                }
                ServerFrame::Signal { from, user, data } => PresenceEvent::Signal { from, user, data },
                ServerFrame::Welcome { peer_id, user } => {
                    // Not expected twice; the newest word wins.
                    state.local = Some((peer_id, user));
                    return None;
                }
                ServerFrame::Pong => return None,
                ServerFrame::Error { code, message } => {
                    if code == codes::UNAUTHORIZED {
                        return Some(End::SessionEnded);
                    }
                    if let Some(room) = session.refused(&code) {
                        tracing::info!(room, code, message, "join refused");
                        state.wanted.remove(&room);
                    } else {
                        tracing::debug!(code, message, "the server refused a frame");
                    }
                    PresenceEvent::ServerError { code, message }
                }
            }
        };
        self.emit(event);
        None
    }

    /// The link is gone: nothing we knew about the rooms is true any more.
    fn forget_connection(&self) {
        let mut state = self.shared.lock();
        state.local = None;
        state.rosters.clear();
    }
}

/// Per-connection bookkeeping of joins awaiting an answer.
///
/// The server answers frames in order, but it takes a room's roster and queues the `joined`
/// answer in two steps, so a `peer-joined` of someone arriving in between can reach us before
/// the roster that does not list them yet. Membership frames of a room with a join in flight
/// are therefore held back and applied on top of the roster when it comes.
#[derive(Default)]
struct Session {
    pending_joins: VecDeque<String>,
    held_back: HashMap<String, Vec<ServerFrame>>,
}

impl Session {
    async fn join(&mut self, socket: &mut Socket, room: String) -> Result<(), tungstenite::Error> {
        send(socket, &ClientFrame::Join { room: room.clone() }).await?;
        self.pending_joins.push_back(room);
        Ok(())
    }

    /// Keeps `frame` for later when a join of `room` is in flight, else hands it back.
    fn hold_back(&mut self, room: &str, frame: ServerFrame) -> Option<ServerFrame> {
        if self.pending_joins.iter().any(|r| r == room) {
            self.held_back.entry(room.to_owned()).or_default().push(frame);
            None
        } else {
            Some(frame)
        }
    }

    /// A join was answered; returns what was held back for the room.
    fn answered(&mut self, room: &str) -> Vec<ServerFrame> {
        if let Some(at) = self.pending_joins.iter().position(|r| r == room) {
            self.pending_joins.remove(at);
        }
        if self.pending_joins.iter().any(|r| r == room) {
            // Joined twice: the later answer gets everything held back.
            return Vec::new();
        }
        self.held_back.remove(room).unwrap_or_default()
    }

    /// The room a join-refusal `code` is about, if it is one. Join refusals do not name the
    /// room, but answers come in order, so it is the oldest unanswered join.
    fn refused(&mut self, code: &str) -> Option<String> {
        let join_refusal = [codes::INVALID_ROOM, codes::TOO_MANY_ROOMS, codes::ROOM_FULL].contains(&code);
        if !join_refusal {
            return None;
        }
        let room = self.pending_joins.pop_front()?;
        if !self.pending_joins.contains(&room) {
            self.held_back.remove(&room);
        }
        Some(room)
    }
}

/// Applies a membership frame to a roster; the event to report, if it changed anything a
/// listener should hear about.
fn apply(roster: &mut HashMap<String, User>, frame: ServerFrame) -> Option<PresenceEvent> {
    match frame {
        ServerFrame::PeerJoined { room, peer } => {
            roster.insert(peer.peer_id.clone(), peer.user.clone());
            Some(PresenceEvent::PeerJoined { room, peer })
        }
        ServerFrame::PeerLeft { room, peer_id } => {
            roster.remove(&peer_id);
            Some(PresenceEvent::PeerLeft { room, peer_id })
        }
        ServerFrame::PeerUpdated { room, peer } => {
            // An update of someone who already left must not bring them back.
            let user = roster.get_mut(&peer.peer_id)?;
            *user = peer.user.clone();
            Some(PresenceEvent::PeerUpdated { room, peer })
        }
        _ => None,
    }
}

fn sorted_roster(state: &State, room: &str) -> Vec<Peer> {
    let mut peers: Vec<Peer> = state
        .rosters
        .get(room)
        .map(|roster| {
            roster
                .iter()
                .map(|(peer_id, user)| Peer {
                    peer_id: peer_id.clone(),
                    user: user.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    peers.sort_by(|a, b| {
        (a.user.display_name.to_lowercase(), &a.peer_id).cmp(&(b.user.display_name.to_lowercase(), &b.peer_id))
    });
    peers
}

async fn send(socket: &mut Socket, frame: &ClientFrame) -> Result<(), tungstenite::Error> {
    let text = serde_json::to_string(frame).expect("client frames serialize");
    socket.send(Message::text(text)).await
}

fn discard_offline(command: Command) {
    if let Command::Signal { to, .. } = command {
        tracing::debug!(to, "signal dropped: not connected");
    }
}

/// Resolves when asked to stop, or when the handle is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Server frames are parsed defensively: v1 may grow new frame types, which are skipped.
fn parse_frame(text: &str) -> Option<ServerFrame> {
    match serde_json::from_str::<ServerFrame>(text) {
        Ok(frame) => Some(frame),
        Err(error) => {
            let kind = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned));
            let shown: String = text.chars().take(200).collect();
            match kind {
                Some(kind) if !ServerFrame::TYPES.contains(&kind.as_str()) => {
                    tracing::debug!(kind, "ignoring a frame type this client does not know");
                }
                _ => tracing::warn!(%error, frame = shown, "ignoring a malformed frame from the server"),
            }
            None
        }
    }
}

fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) if frame.code == CloseCode::Away => format!("the server went away ({})", frame.reason),
        Some(frame) => format!(
            "the server closed the connection ({}: {})",
            u16::from(frame.code),
            frame.reason
        ),
        None => "the server closed the connection".to_owned(),
    }
}

/// Exponential backoff with jitter: many clients dropped by one server restart must not all
/// come back in the same millisecond.
#[derive(Debug)]
struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Backoff {
        Backoff { min, max, failures: 0 }
    }

    /// A delay between half and all of `min · 2^failures`, capped at `max`.
    fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .min
            .saturating_mul(2u32.saturating_pow(self.failures.min(16)))
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        let half = ceiling / 2;
        half + rand::thread_rng().gen_range(Duration::ZERO..=ceiling - half)
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(250) && delays[0] <= Duration::from_millis(500));
        assert!(delays[3] >= Duration::from_secs(2) && delays[3] <= Duration::from_secs(4));
        for delay in &delays[7..] {
            assert!(
                *delay >= Duration::from_secs(15) && *delay <= Duration::from_secs(30),
                "{delay:?}"
            );
        }
        // Jitter: the capped delays are not all identical.
        assert!(delays[7..].windows(2).any(|w| w[0] != w[1]), "{delays:?}");
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(500));
    }

    #[test]
    fn frames_are_parsed_defensively() {
        assert!(matches!(parse_frame(r#"{"type":"pong"}"#), Some(ServerFrame::Pong)));
        // Unknown fields of known frames are fine (v1 may add optional fields).
        assert!(matches!(
            parse_frame(r#"{"type":"left","room":"a","since":3}"#),
            Some(ServerFrame::Left { .. })
        ));
        assert!(parse_frame(r#"{"type":"typing","room":"a"}"#).is_none());
        assert!(parse_frame(r#"{"type":"joined"}"#).is_none());
        assert!(parse_frame("not json").is_none());
    }

    #[test]
    fn join_refusals_are_matched_to_the_oldest_pending_join() {
        let mut session = Session::default();
        session
            .pending_joins
            .extend(["a".to_owned(), "b".to_owned(), "c".to_owned()]);
        assert!(session.answered("b").is_empty());
        assert_eq!(session.refused(codes::ROOM_FULL).as_deref(), Some("a"));
        assert_eq!(session.refused(codes::UNKNOWN_PEER), None);
        assert_eq!(session.refused(codes::INVALID_ROOM).as_deref(), Some("c"));
        assert_eq!(session.refused(codes::INVALID_ROOM), None);
    }

    fn user(name: &str) -> User {
        User {
            id: format!("id-{name}"),
            username: name.to_owned(),
            display_name: name.to_owned(),
            bio: String::new(),
            status: String::new(),
            avatar_url: None,
            created_at: 0,
            email: None,
        }
    }

    #[test]
    fn membership_news_that_overtakes_a_roster_is_applied_on_top_of_it() {
        let mut session = Session::default();
        session.pending_joins.push_back("tea".to_owned());
        let carol = Peer {
            peer_id: "p-carol".to_owned(),
            user: user("carol"),
        };
        let early = ServerFrame::PeerJoined {
            room: "tea".to_owned(),
            peer: carol.clone(),
        };
        assert!(session.hold_back("tea", early).is_none());
        let gone = ServerFrame::PeerLeft {
            room: "tea".to_owned(),
            peer_id: "p-bob".to_owned(),
        };
        assert!(session.hold_back("tea", gone).is_none());
        let elsewhere = ServerFrame::PeerLeft {
            room: "other".to_owned(),
            peer_id: "x".to_owned(),
        };
        assert!(session.hold_back("other", elsewhere).is_some());

        let mut roster: HashMap<String, User> = HashMap::from([("p-bob".to_owned(), user("bob"))]);
        for frame in session.answered("tea") {
            apply(&mut roster, frame);
        }
        assert_eq!(roster.len(), 1);
        assert_eq!(roster.get("p-carol"), Some(&carol.user));
        // Nothing is held back once the join is answered.
        let late = ServerFrame::PeerUpdated {
            room: "tea".to_owned(),
            peer: carol,
        };
        assert!(session.hold_back("tea", late).is_some());
    }
}
