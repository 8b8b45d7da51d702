//! One WebSocket connection: admission, then a single task that reads frames, writes what
//! other connections queued for it, and watches liveness, all in one `select!`.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::futures::Notified;
use tokio::time::{timeout, Instant, Sleep};
use tracing::Instrument;

use super::protocol::{self, msgs, ClientFrame, ClientType, MessageType};
use super::realm::{AttachError, Client, CloseReason, Realm};
use crate::metrics::Metrics;
use crate::ratelimit::{Rate, Tokens};

/// How long a closing handshake may take before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Default, Deserialize)]
pub struct WsParams {
    key: Option<String>,
    id: Option<String>,
    token: Option<String>,
}

pub async fn upgrade(
    State(realm): State<Arc<Realm>>,
    Query(params): Query<WsParams>,
    ws: WebSocketUpgrade,
) -> Response {
    let limits = realm.limits();
    let ws = ws
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes)
        .max_message_size(limits.max_frame_bytes)
        .max_frame_size(limits.max_frame_bytes);
    ws.on_upgrade(move |socket| {
        // Spawned on the server's tracker (rather than living in axum's upgrade task) so that
        // shutdown waits for the close frames to go out.
        let tasks = realm.tasks().clone();
        match admit(&realm, &params) {
            Ok(client) => {
                // Debug level: an enabled span costs a few hundred bytes per connection in the
                // subscriber, too much to pay for every idle client at the default level.
                let span = tracing::debug_span!("peerjs", peer = %client.id());
                tasks.spawn(Connection::new(realm, client, socket).run().instrument(span));
            }
            Err(refusal) => {
                tracing::debug!(id = params.id.as_deref().unwrap_or(""), %refusal, "peerjs connection refused");
                tasks.spawn(refuse(socket, refusal.frame()));
            }
        }
        std::future::ready(())
    })
}

/// Compares in time independent of where the strings differ.
pub fn key_matches(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("{}", msgs::INVALID_WS_PARAMETERS)]
    MissingParams,
    #[error("{}", msgs::INVALID_KEY)]
    InvalidKey,
    #[error("id or token too long")]
    TooLong,
    #[error(transparent)]
    Attach(#[from] AttachError),
}

impl Refusal {
    fn frame(&self) -> Utf8Bytes {
        match self {
            Refusal::Attach(AttachError::IdTaken) => protocol::with_msg(MessageType::IdTaken, msgs::ID_TAKEN),
            other => protocol::error(&other.to_string()),
        }
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

fn admit(realm: &Arc<Realm>, params: &WsParams) -> Result<Arc<Client>, Refusal> {
    // Same order of checks as PeerServer, so clients see the same error for the same mistake.
    let (Some(id), Some(token), Some(key)) = (present(&params.id), present(&params.token), present(&params.key)) else {
        return Err(Refusal::MissingParams);
    };
    if !key_matches(key, &realm.config().key) {
        return Err(Refusal::InvalidKey);
    }
    let max = realm.limits().max_id_bytes;
    if id.len() > max || token.len() > max {
        return Err(Refusal::TooLong);
    }
    Ok(realm.attach(id, token)?)
}

async fn refuse(mut socket: WebSocket, frame: Utf8Bytes) {
    let goodbye = async {
        socket.send(Message::Text(frame)).await?;
        socket.close().await
    };
    let _ = timeout(CLOSE_TIMEOUT, goodbye).await;
}

/// Why a connection's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Closed(CloseReason),
    /// Sent LEAVE without `dst`: it gives up its id.
    Left,
    /// Nothing received for `alive_timeout`.
    Silent,
    /// A write stayed blocked for `alive_timeout`: the client is not reading.
    WriteStalled,
    /// The client closed the socket or it failed; nothing more can be sent.
    Gone,
}

impl Exit {
    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            Exit::Closed(CloseReason::Shutdown) => (1001, "server shutting down"),
            Exit::Closed(CloseReason::Replaced) => (1000, "replaced by a newer connection"),
            Exit::Closed(CloseReason::Stuck) | Exit::WriteStalled => (1008, "not reading fast enough"),
            Exit::Left => (1000, "left"),
            Exit::Silent => (1000, "no heartbeat within alive timeout"),
            Exit::Gone => return None,
        };
        Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })
    }
}

/// The connection's frame budget. Refilled from the time since the previous frame, so it needs
/// no timestamp of its own.
struct RateLimit {
    tokens: Tokens,
    /// One ERROR per flood rather than one per dropped frame; a flood ends once the bucket is
    /// full again.
    warned: bool,
}

impl RateLimit {
    fn allow(&mut self, since_last: Duration, rate: Rate) -> bool {
        self.tokens.refill(since_last, rate);
        if self.tokens.is_full(rate) {
            // Quiet long enough to refill completely: whatever comes next is a new flood.
            self.warned = false;
        }
        self.tokens.take(rate).is_ok()
    }

    fn should_warn(&mut self) -> bool {
        !std::mem::replace(&mut self.warned, true)
    }
}

/// What a connection waits on besides its socket. Created once and kept across loop
/// iterations: a fresh waiter per received frame would register and unregister itself under
/// the Notify's lock every time. Shutdown arrives through `woken` too (the realm closes every
/// client), which saves each connection a cancellation waiter of its own.
struct Waits<'p, 'c> {
    client: &'c Client,
    woken: Pin<&'p mut Notified<'c>>,
    /// Armed once and re-armed only when it fires early, so a busy connection does not touch
    /// the timer wheel on every frame.
    alive: Pin<&'p mut Sleep>,
    alive_timeout: Duration,
    last_seen: Instant,
}

impl Waits<'_, '_> {
    fn rearm_woken(&mut self) {
        self.woken.set(self.client.woken());
    }

    /// Called when the alive timer fires: true if nothing arrived for `alive_timeout`.
    fn silent(&mut self) -> bool {
        let deadline = self.last_seen + self.alive_timeout;
        if Instant::now() >= deadline {
            return true;
        }
        self.alive.as_mut().reset(deadline);
        false
    }
}

struct Connection {
    realm: Arc<Realm>,
    client: Arc<Client>,
    socket: WebSocket,
    rate: RateLimit,
}

impl Connection {
    fn new(realm: Arc<Realm>, client: Arc<Client>, socket: WebSocket) -> Self {
        let rate = RateLimit {
            tokens: Tokens::full(realm.limits().frame_rate),
            warned: false,
        };
        Connection {
            realm,
            client,
            socket,
            rate,
        }
    }

    // Not an `async fn`: those keep a second copy of `self` (the argument) in the future for
    // its whole life (rust-lang/rust#62958), which doubles the memory of every idle connection.
    #[allow(clippy::manual_async_fn)]
    fn run(mut self) -> impl Future<Output = ()> + Send {
        async move {
            Metrics::inc(&self.realm.metrics().peerjs_connections);
            tracing::debug!("peerjs client connected");
            let client = self.client.clone();
            let alive_timeout = self.realm.config().alive_timeout;
            let mut waits = Waits {
                client: &client,
                woken: pin!(client.woken()),
                alive: pin!(tokio::time::sleep(alive_timeout)),
                alive_timeout,
                last_seen: Instant::now(),
            };
            let exit = loop {
                tokio::select! {
                    biased;
                    () = waits.woken.as_mut() => {
                        waits.rearm_woken();
                        if let Err(exit) = self.write_queued(&mut waits).await {
                            break exit;
                        }
                    }
                    message = self.socket.next() => {
                        let now = Instant::now();
                        let since_last = now.saturating_duration_since(waits.last_seen);
                        waits.last_seen = now;
                        match message {
                            Some(Ok(message)) => {
                                if let Some(exit) = self.on_message(message, since_last) {
                                    break exit;
                                }
                            }
                            Some(Err(error)) => {
                                tracing::debug!(%error, "peerjs socket error");
                                break Exit::Gone;
                            }
                            None => break Exit::Gone,
                        }
                    }
                    () = waits.alive.as_mut() => {
                        if waits.silent() {
                            break Exit::Silent;
                        }
                    }
                }
            };
            self.realm.detach(&self.client);
            Metrics::dec(&self.realm.metrics().peerjs_connections);
            tracing::debug!(?exit, "peerjs client disconnected");
            let socket = &mut self.socket;
            let goodbye = async {
                match exit.close_frame() {
                    Some(frame) => socket.send(Message::Close(Some(frame))).await,
                    // Flushes the reply to a close the client started; harmless after an error.
                    None => socket.close().await,
                }
            };
            let _ = timeout(CLOSE_TIMEOUT, goodbye).await;
        }
    }

    /// Writes everything other connections queued, one flush per batch, until the queue is
    /// empty. While a write is blocked the same waits as the main loop stay armed: a close
    /// request (shutdown, the queue overflowed, or the id was re-attached) and the alive timer,
    /// since a client that accepts nothing for `alive_timeout` is as dead as a silent one.
    async fn write_queued(&mut self, waits: &mut Waits<'_, '_>) -> Result<(), Exit> {
        loop {
            let (frames, closing) = self.client.take();
            if let Some(reason) = closing {
                return Err(Exit::Closed(reason));
            }
            if frames.is_empty() {
                return Ok(());
            }
            let socket = &mut self.socket;
            let mut write = pin!(async move {
                for frame in frames {
                    socket.feed(Message::Text(frame)).await?;
                }
                socket.flush().await
            });
            loop {
                tokio::select! {
                    biased;
                    written = &mut write => {
                        written.map_err(|_| Exit::Gone)?;
                        break;
                    }
                    () = waits.woken.as_mut() => {
                        waits.rearm_woken();
                        if let Some(reason) = waits.client.closing() {
                            return Err(Exit::Closed(reason));
                        }
                    }
                    () = waits.alive.as_mut() => {
                        if waits.silent() {
                            return Err(Exit::WriteStalled);
                        }
                    }
                }
            }
        }
    }

    /// Handles one received frame without awaiting: replies go through this connection's own
    /// outbox like everything else it is sent.
    fn on_message(&mut self, message: Message, since_last: Duration) -> Option<Exit> {
        let limits = self.realm.limits();
        if !self.rate.allow(since_last, limits.frame_rate) {
            if self.rate.should_warn() {
                self.reply_error("rate limit exceeded: frames dropped");
            }
            return None;
        }
        match message {
            Message::Text(text) => self.on_text(&text),
            Message::Binary(_) => {
                self.reply_error("binary frames are not supported");
                None
            }
            Message::Ping(_) | Message::Pong(_) => None,
            Message::Close(_) => Some(Exit::Gone),
        }
    }

    fn on_text(&mut self, text: &str) -> Option<Exit> {
        let frame = match ClientFrame::parse(text) {
            Ok(frame) => frame,
            Err(error) => {
                self.reply_error(&format!("malformed frame: {error}"));
                return None;
            }
        };
        let dst = frame.dst.as_ref().map(|d| &*d.0).filter(|d| !d.is_empty());
        match (frame.kind, dst) {
            // Every frame already counted as liveness.
            (ClientType::Heartbeat, _) => None,
            (ClientType::Leave, None) => Some(Exit::Left),
            (_, None) => {
                self.reply_error("missing dst");
                None
            }
            (kind, Some(dst)) => {
                let delivery = self.realm.relay(&self.client, kind, dst, frame.payload);
                tracing::trace!(?kind, dst, ?delivery, "relayed");
                None
            }
        }
    }

    fn reply_error(&self, msg: &str) {
        tracing::debug!(msg, "peerjs frame rejected");
        self.client.push(protocol::error(msg), self.realm.limits());
    }
}
