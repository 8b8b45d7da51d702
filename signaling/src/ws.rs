//! `GET /api/v1/ws`: one connection is one peer. Authentication, frame handling, heartbeat.
//!
//! Each connection is a single task that both reads frames and writes what its outbox
//! collects, so an idle peer costs one small future and no channel.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::SinkExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::auth;
use crate::error::ApiError;
use crate::hub::{CloseReason, JoinError, Outbox, PeerId, RelayError};
use crate::metrics::Metrics;
use crate::ratelimit::{Rate, TokenBucket};
use crate::state::{AppState, Session};
use parley_protocol::{codes, ServerFrame};

/// WebSocket close codes (RFC 6455 §7.4.1).
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;

/// Tungstenite's read buffer is allocated per connection and kept: a small one keeps idle
/// connections cheap (256 rather than 512 bytes is ~0.25 KiB less per idle client). It is also
/// the most one read syscall takes: a larger frame grows the buffer for itself but is read in
/// 256-byte steps, ~4 more reads for a 2 KB SDP offer. Most signaling frames are small, and
/// offers are a few per call.
const READ_BUFFER: usize = 256;
/// Frames are collected up to this size before a write; a relay burst is one syscall.
const WRITE_BUFFER: usize = 4096;

/// Frames dropped by the rate limit, in a row, before the connection is treated as a flood.
const FLOOD_DROPS: u32 = 1000;

/// A client frame, parsed flat and borrowing from the text: serde cannot borrow `RawValue`
/// through an internally tagged enum, and the flat form needs no intermediate buffering.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    token: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    room: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    to: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

fn origin_allowed(allowed: &[String], headers: &HeaderMap) -> bool {
    // Non-browser clients send no Origin; browsers always do, and only they need fencing.
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => true,
        Some(origin) => allowed.is_empty() || allowed.iter().any(|a| a == origin),
    }
}

/// Marks requests that came in through a listener which can close on its own
/// ([`crate::ServerHandle::listen_also`]): connections made through it end when it closes, so
/// that turning sharing off sends joined devices away rather than only refusing new ones.
#[derive(Clone)]
pub(crate) struct ClosesWith(pub(crate) CancellationToken);

pub async fn upgrade(
    State(state): State<AppState>,
    closes_with: Option<Extension<ClosesWith>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&state.config.allowed_origins, &headers) {
        return ApiError::ForbiddenOrigin.into_response();
    }
    // A bad header token fails before the upgrade, as a plain 401 any client can read.
    let session = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => match value.to_str().ok().and_then(auth::bearer) {
            None => return ApiError::Unauthorized.into_response(),
            Some(token) => match state.authenticate(token).await {
                Ok(session) => Some(session),
                Err(e) => return e.into_response(),
            },
        },
    };
    let limits = &state.config.limits;
    let ws = ws
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(limits.ws_hard_frame_bytes.saturating_mul(4))
        .max_message_size(limits.ws_hard_frame_bytes)
        .max_frame_size(limits.ws_hard_frame_bytes);
    ws.on_upgrade(move |socket| {
        // Tasks of their own rather than the rest of axum's upgrade task, whose upgrade state
        // would stay allocated for the connection's life; and the serving loop is spawned by
        // itself, not awaited inside an authentication future that would keep a second slot
        // for the socket (rust-lang/rust#62958).
        Metrics::inc(&state.metrics.ws_connections);
        Metrics::inc(&state.metrics.ws_connections_total);
        let tasks = state.tasks.clone();
        let closes_with = closes_with.map(|Extension(c)| c);
        match session {
            Some(session) => {
                tasks.spawn(serve(state, socket, session, closes_with));
            }
            None => {
                tasks.spawn(authenticate_then_serve(state, socket, closes_with));
            }
        }
        std::future::ready(())
    })
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

fn error_frame(code: &str, message: impl Into<String>) -> Utf8Bytes {
    let frame = ServerFrame::Error {
        code: code.to_owned(),
        message: message.into(),
    };
    Utf8Bytes::from(serde_json::to_string(&frame).expect("frames serialize"))
}

fn frame(value: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(value).expect("frames serialize"))
}

/// The serving loop of an authenticated connection, ready to spawn.
fn serve(
    state: AppState,
    socket: WebSocket,
    session: Session,
    closes_with: Option<ClosesWith>,
) -> impl Future<Output = ()> + Send {
    let peer_id: PeerId = auth::random_id(8).into();
    // Debug level: an enabled span costs a few hundred bytes per connection in the subscriber,
    // too much for every idle client at the default level.
    let span = tracing::debug_span!("peer", peer = %peer_id, user = %session.user.username);
    let connection = Connection::new(state, socket, peer_id, session);
    if let Some(ClosesWith(stop)) = closes_with {
        // A task of its own keeps the idle connection's future small; it holds the outbox
        // weakly, so a connection that ends first is not kept alive by it.
        let outbox = Arc::downgrade(&connection.outbox);
        connection.state.tasks.spawn(async move {
            stop.cancelled().await;
            if let Some(outbox) = outbox.upgrade() {
                outbox.close(CloseReason::Shutdown);
            }
        });
    }
    connection.run().instrument(span)
}

async fn authenticate_then_serve(state: AppState, mut socket: WebSocket, closes_with: Option<ClosesWith>) {
    match first_frame_auth(&state, &mut socket).await {
        Some(session) => {
            let tasks = state.tasks.clone();
            tasks.spawn(serve(state, socket, session, closes_with));
        }
        None => Metrics::dec(&state.metrics.ws_connections),
    }
}

/// For clients that cannot set headers: the first frame must be `auth`, within the deadline.
async fn first_frame_auth(state: &AppState, socket: &mut WebSocket) -> Option<Session> {
    let deadline = state.config.limits.ws_auth_timeout;
    let expected = "the first frame must be {\"type\":\"auth\",\"token\":…}";
    let received = tokio::select! {
        received = tokio::time::timeout(deadline, socket.recv()) => received,
        // A socket still waiting for its auth frame must not hold up shutdown.
        _ = state.shutdown.cancelled() => {
            let _ = socket.send(close(CLOSE_GOING_AWAY, "server shutting down")).await;
            return None;
        }
    };
    let refusal = match received {
        Err(_) => format!("send an auth frame within {deadline:?}"),
        Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str::<Incoming<'_>>(&text) {
            Ok(Incoming {
                kind,
                token: Some(token),
                ..
            }) if kind == "auth" => match state.authenticate(&token).await {
                Ok(session) => return Some(session),
                Err(e) => e.to_string(),
            },
            _ => expected.to_owned(),
        },
        Ok(Some(Ok(_))) => expected.to_owned(),
        Ok(_) => return None,
    };
    let _ = socket
        .send(Message::Text(error_frame(codes::UNAUTHORIZED, refusal)))
        .await;
    close_gracefully(socket, close(CLOSE_POLICY, "authentication required")).await;
    None
}

/// True when tungstenite refused a frame over `max_frame_size`/`max_message_size`.
fn is_capacity_error(error: axum::Error) -> bool {
    matches!(
        error.into_inner().downcast_ref::<tungstenite::Error>(),
        Some(tungstenite::Error::Capacity(_))
    )
}

/// Sends a close frame, then reads (and discards) until the client answers it, for at most a
/// second. Dropping a socket with unread input makes the kernel send a reset, and a reset can
/// destroy the close frame (and the frames before it) before the client reads them.
async fn close_gracefully(socket: &mut WebSocket, frame: Message) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        if socket.send(frame).await.is_ok() {
            while let Some(Ok(_)) = socket.recv().await {}
        }
    })
    .await;
}

/// What woke a connection's loop (besides a received frame, handled on the spot).
enum Wake {
    Outbox,
    Timer,
    /// A frame whose handling waits on the cluster's Redis (clustered nodes only). Boxed: the
    /// connection future of every idle peer would otherwise carry its state.
    #[cfg(feature = "redis")]
    Cluster(Later),
}

/// Boxed twice so that what the loop holds while it waits is one thin pointer: every idle
/// connection's future is sized for its largest state, and a fat `Box<dyn Future>` there pushed
/// tokio's task allocation into the next size step (+128 bytes per idle connection, measured).
#[cfg(feature = "redis")]
type Later = Box<Pin<Box<dyn Future<Output = ()> + Send>>>;

/// What handling a frame asks of the connection loop.
enum Flow {
    Go,
    Stop(Goodbye),
    #[cfg(feature = "redis")]
    Await(Later),
}

/// Writes `frames` (after a ping, if `ping`) with one flush: one syscall for a burst of frames.
/// A client that accepts nothing for `idle_after` is not reading and is dropped (`Err(None)`);
/// the ping timer doubles as that deadline so writes never arm a timer of their own.
///
/// A `poll_fn` rather than an `async` block: its state is just these arguments, where nested
/// async blocks would each keep copies of the frames and the socket, and the largest write state
/// sets the size of every idle connection's future.
fn write<'a>(
    socket: &'a mut WebSocket,
    mut frames: VecDeque<Utf8Bytes>,
    mut ping: bool,
    mut timer: Pin<&'a mut Sleep>,
    idle_after: Duration,
) -> impl Future<Output = Result<(), Goodbye>> + Send + 'a {
    let started = tokio::time::Instant::now();
    std::future::poll_fn(move |cx| {
        let written = loop {
            if !ping && frames.is_empty() {
                break socket.poll_flush_unpin(cx);
            }
            match socket.poll_ready_unpin(cx) {
                Poll::Ready(Ok(())) => {}
                other => break other,
            }
            let frame = match std::mem::take(&mut ping) {
                true => Message::Ping(Default::default()),
                false => Message::Text(frames.pop_front().expect("checked above")),
            };
            if let Err(e) = socket.start_send_unpin(frame) {
                break Poll::Ready(Err(e));
            }
        };
        if let Poll::Ready(written) = written {
            return Poll::Ready(written.map_err(|_| None));
        }
        while timer.as_mut().poll(cx).is_ready() {
            if started.elapsed() >= idle_after {
                tracing::debug!("client stopped reading, dropping");
                return Poll::Ready(Err(None));
            }
            timer.as_mut().reset(started + idle_after);
        }
        Poll::Pending
    })
}

struct Connection {
    state: AppState,
    socket: WebSocket,
    peer_id: PeerId,
    outbox: Arc<Outbox>,
    bucket: TokenBucket,
    /// Consecutive frames dropped by the rate limit.
    dropped: u32,
    last_seen: Instant,
}

/// Why the loop ended: the close frame to send, if any.
type Goodbye = Option<Message>;

impl Connection {
    fn new(state: AppState, socket: WebSocket, peer_id: PeerId, session: Session) -> Self {
        let limits = &state.config.limits;
        let outbox = Arc::new(Outbox::default());
        let bucket = TokenBucket::new(frame_rate(limits));
        state
            .hub
            .connect(peer_id, &session.user, &session.token_hash, outbox.clone());
        let welcome = ServerFrame::Welcome {
            peer_id: peer_id.to_string(),
            user: session.user,
        };
        state.hub.send(&outbox, frame(&welcome));
        // Shutdown reaches connections through their outboxes; one that authenticated while the
        // server was already stopping would otherwise miss it.
        if state.shutdown.is_cancelled() {
            outbox.close(CloseReason::Shutdown);
        }
        Connection {
            state,
            socket,
            peer_id,
            outbox,
            bucket,
            dropped: 0,
            last_seen: Instant::now(),
        }
    }

    // An async block rather than an `async fn(mut self)`: the latter keeps both the argument and
    // the moved-in binding in its state (rust-lang/rust#62958), which doubles the size of every
    // idle connection's future. Every idle connection holds one of these futures, so what is
    // alive across its `.await`s is kept small: the `select!` only says what woke the loop and
    // the awaits happen after it, and writes are a `poll_fn` (see [`write`]) rather than nested
    // async blocks that would each keep their own copies of the frames and the socket; limits
    // are read where they are used rather than copied into locals that would stay in the state.
    #[allow(clippy::manual_async_fn)]
    fn run(mut self) -> impl Future<Output = ()> + Send {
        async move {
            tracing::debug!("connected");
            let outbox = self.outbox.clone();
            // Both waits live across iterations: re-creating them per frame would register and
            // deregister a waiter and a timer for every relayed signal.
            let mut woken = pin!(outbox.woken());
            let mut timer = pin!(tokio::time::sleep(self.state.config.limits.ws_ping_interval));
            let goodbye: Goodbye = loop {
                let wake = tokio::select! {
                    biased;
                    () = woken.as_mut() => Wake::Outbox,
                    message = self.socket.recv() => {
                        self.last_seen = Instant::now();
                        match self.on_message(message) {
                            Flow::Go => continue,
                            Flow::Stop(goodbye) => break goodbye,
                            #[cfg(feature = "redis")]
                            Flow::Await(later) => Wake::Cluster(later),
                        }
                    }
                    () = timer.as_mut() => Wake::Timer,
                };
                match wake {
                    // Frames are handled in order: the next one is read once this is done.
                    #[cfg(feature = "redis")]
                    Wake::Cluster(later) => (*later).await,
                    Wake::Outbox => {
                        woken.set(outbox.woken());
                        let (batch, closing) = outbox.take();
                        if !batch.is_empty() {
                            let idle_after = self.state.config.limits.ws_idle_timeout;
                            if let Err(goodbye) =
                                write(&mut self.socket, batch, false, timer.as_mut(), idle_after).await
                            {
                                break goodbye;
                            }
                        }
                        if let Some(reason) = closing {
                            break Box::pin(self.closing(reason)).await;
                        }
                    }
                    Wake::Timer => {
                        let limits = &self.state.config.limits;
                        let (ping_every, idle_after) = (limits.ws_ping_interval, limits.ws_idle_timeout);
                        if self.last_seen.elapsed() >= idle_after {
                            tracing::debug!("no sign of life, dropping");
                            break Some(close(CLOSE_GOING_AWAY, "idle timeout"));
                        }
                        timer.as_mut().reset(tokio::time::Instant::now() + ping_every);
                        // A ping the client does not take within `idle_after` drops it, like any
                        // other write.
                        let none = VecDeque::new();
                        if write(&mut self.socket, none, true, timer.as_mut(), idle_after)
                            .await
                            .is_err()
                        {
                            break None;
                        }
                    }
                }
            };
            let rooms = self.state.hub.disconnect(&self.peer_id);
            #[cfg(feature = "redis")]
            if let Some(cluster) = &self.state.cluster {
                cluster.disconnected(&self.state.tasks, self.peer_id, rooms);
            }
            #[cfg(not(feature = "redis"))]
            drop(rooms);
            Metrics::dec(&self.state.metrics.ws_connections);
            if let Some(frame) = goodbye {
                Box::pin(close_gracefully(&mut self.socket, frame)).await;
            }
            tracing::debug!("disconnected");
        }
    }

    async fn closing(&mut self, reason: CloseReason) -> Goodbye {
        match reason {
            CloseReason::Overflow => Some(close(CLOSE_POLICY, "too far behind")),
            CloseReason::Shutdown => Some(close(CLOSE_GOING_AWAY, "server shutting down")),
            CloseReason::SignedOut => {
                let notice = Message::Text(error_frame(codes::UNAUTHORIZED, "signed out"));
                let _ = tokio::time::timeout(Duration::from_secs(1), self.socket.send(notice)).await;
                Some(close(CLOSE_POLICY, "signed out"))
            }
        }
    }

    /// Handles what the socket produced.
    fn on_message(&mut self, message: Option<Result<Message, axum::Error>>) -> Flow {
        match message {
            Some(Ok(Message::Text(text))) => self.on_text(&text),
            Some(Ok(Message::Binary(_))) => {
                self.reply_error(codes::BAD_FRAME, "binary frames are not supported; send JSON text");
                Flow::Go
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Flow::Go,
            Some(Ok(Message::Close(_))) | None => Flow::Stop(None),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "connection error");
                Flow::Stop(is_capacity_error(e).then(|| close(CLOSE_TOO_BIG, "frame too large")))
            }
        }
    }

    fn reply(&self, frame: Utf8Bytes) {
        self.state.hub.send(&self.outbox, frame);
    }

    fn reply_error(&self, code: &str, message: impl Into<String>) {
        Metrics::inc(&self.state.metrics.ws_errors_sent);
        self.reply(error_frame(code, message));
    }

    /// Handles one text frame; a client that keeps flooding is stopped.
    fn on_text(&mut self, text: &str) -> Flow {
        if self
            .bucket
            .take_at(self.last_seen, frame_rate(&self.state.config.limits))
            .is_err()
        {
            self.dropped += 1;
            if self.dropped == 1 {
                let per_sec = self.state.config.limits.ws_frames_per_sec;
                self.reply_error(
                    codes::RATE_LIMITED,
                    format!("slow down: at most {per_sec} frames per second"),
                );
            }
            if self.dropped >= FLOOD_DROPS {
                return Flow::Stop(Some(close(CLOSE_POLICY, "too many frames")));
            }
            return Flow::Go;
        }
        self.dropped = 0;
        let max = self.state.config.limits.ws_frame_bytes;
        if text.len() > max {
            self.reply_error(codes::FRAME_TOO_LARGE, format!("frames are limited to {max} bytes"));
            return Flow::Go;
        }
        let incoming: Incoming<'_> = match serde_json::from_str(text) {
            Ok(incoming) => incoming,
            Err(e) => {
                self.reply_error(codes::BAD_FRAME, format!("not a valid frame: {e}"));
                return Flow::Go;
            }
        };
        match (&*incoming.kind, &incoming) {
            ("join", Incoming { room: Some(room), .. }) => return self.join(room),
            ("leave", Incoming { room: Some(room), .. }) => return self.leave(room),
            (
                "signal",
                Incoming {
                    to: Some(to),
                    data: Some(data),
                    ..
                },
            ) => self.signal(to, data),
            ("ping", _) => self.reply(Utf8Bytes::from_static(r#"{"type":"pong"}"#)),
            ("auth", _) => self.reply_error(codes::ALREADY_AUTHENTICATED, "this connection is already authenticated"),
            ("join" | "leave", _) => self.reply_error(codes::BAD_FRAME, "join and leave need a \"room\""),
            ("signal", _) => self.reply_error(codes::BAD_FRAME, "signal needs \"to\" and \"data\""),
            (other, _) => {
                let shown: String = other.chars().take(32).collect();
                self.reply_error(codes::UNKNOWN_TYPE, format!("unknown frame type {shown:?}"));
            }
        }
        Flow::Go
    }

    fn join(&self, room: &str) -> Flow {
        #[cfg(feature = "redis")]
        if let Some(cluster) = self.state.cluster.clone() {
            return self.join_clustered(cluster, room);
        }
        match self.state.hub.join(&self.peer_id, room) {
            Ok(peers) => {
                tracing::debug!(room, "joined");
                self.reply(frame(&ServerFrame::Joined {
                    room: room.to_owned(),
                    peers,
                }));
            }
            Err(e) => self.reply_join_error(e),
        }
        Flow::Go
    }

    /// A join is answered once Redis has it, so every node sees the room's events in one order.
    #[cfg(feature = "redis")]
    fn join_clustered(&self, cluster: std::sync::Arc<crate::cluster::Cluster>, room: &str) -> Flow {
        let (state, outbox, peer_id, room) = (self.state.clone(), self.outbox.clone(), self.peer_id, room.to_owned());
        Flow::Await(Box::new(Box::pin(async move {
            match cluster.join(&state.hub, &peer_id, &room, &outbox).await {
                Ok(()) => tracing::debug!(room, "joined"),
                Err(e) => {
                    Metrics::inc(&state.metrics.ws_errors_sent);
                    state.hub.send(&outbox, error_frame(join_error_code(&e), e.to_string()));
                }
            }
        })))
    }

    fn reply_join_error(&self, e: JoinError) {
        self.reply_error(join_error_code(&e), e.to_string());
    }

    fn leave(&self, room: &str) -> Flow {
        if let Err(e) = self.state.hub.leave(&self.peer_id, room) {
            self.reply_error(codes::NOT_IN_ROOM, e.to_string());
            return Flow::Go;
        }
        let left = frame(&ServerFrame::Left { room: room.to_owned() });
        #[cfg(feature = "redis")]
        if let Some(cluster) = self.state.cluster.clone() {
            // Answered once Redis has it too, so a join that follows finds the room as left.
            let (state, outbox, peer_id, room) =
                (self.state.clone(), self.outbox.clone(), self.peer_id, room.to_owned());
            return Flow::Await(Box::new(Box::pin(async move {
                cluster.remove_member(&room, &peer_id).await;
                state.hub.send(&outbox, left);
            })));
        }
        self.reply(left);
        Flow::Go
    }

    fn signal(&self, to: &str, data: &RawValue) {
        match self.state.hub.relay(&self.peer_id, to, data) {
            Ok(()) => Metrics::inc(&self.state.metrics.signals_relayed),
            Err(e @ RelayError::UnknownPeer) => self.reply_error(codes::UNKNOWN_PEER, e.to_string()),
            Err(e @ RelayError::NoSharedRoom) => self.reply_error(codes::NOT_IN_ROOM, e.to_string()),
            Err(e @ RelayError::Busy) => self.reply_error(codes::UNAVAILABLE, e.to_string()),
        }
    }
}

fn frame_rate(limits: &crate::config::Limits) -> Rate {
    Rate::new(limits.ws_frame_burst, f64::from(limits.ws_frames_per_sec.max(1)))
}

fn join_error_code(e: &JoinError) -> &'static str {
    match e {
        JoinError::InvalidRoom(_) => codes::INVALID_ROOM,
        JoinError::TooManyRooms(_) => codes::TOO_MANY_ROOMS,
        JoinError::RoomFull(_) => codes::ROOM_FULL,
        #[cfg(feature = "redis")]
        JoinError::Unavailable => codes::UNAVAILABLE,
    }
}
