//! One WebSocket connection: admission, then a single task that reads frames, writes what
//! other connections queued for it, and watches liveness, all in one `select!`.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::time::{timeout, Instant};
use tracing::Instrument;

use super::protocol::{self, msgs, ClientFrame, ClientType, MessageType};
use super::realm::{AttachError, Client, CloseReason, Realm};
use crate::metrics::Metrics;

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
        .max_message_size(limits.hard_frame_bytes)
        .max_frame_size(limits.hard_frame_bytes);
    ws.on_upgrade(move |socket| {
        // Spawned on the server's tracker (rather than living in axum's upgrade task) so that
        // shutdown waits for the close frames to go out.
        let tasks = realm.tasks().clone();
        tasks.spawn(serve(realm, params, socket));
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
            Refusal::Attach(AttachError::IdTaken) => {
                protocol::with_msg(MessageType::IdTaken, msgs::ID_TAKEN)
            }
            other => protocol::error(&other.to_string()),
        }
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

fn admit(realm: &Realm, params: &WsParams) -> Result<Arc<Client>, Refusal> {
    // Same order of checks as PeerServer, so clients see the same error for the same mistake.
    let (Some(id), Some(token), Some(key)) = (
        present(&params.id),
        present(&params.token),
        present(&params.key),
    ) else {
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

async fn serve(realm: Arc<Realm>, params: WsParams, mut socket: WebSocket) {
    let client = match admit(&realm, &params) {
        Ok(client) => client,
        Err(refusal) => {
            tracing::debug!(id = params.id.as_deref().unwrap_or(""), %refusal, "peerjs connection refused");
            let goodbye = async {
                socket.send(Message::Text(refusal.frame())).await?;
                socket.close().await
            };
            let _ = timeout(CLOSE_TIMEOUT, goodbye).await;
            return;
        }
    };
    let span = tracing::info_span!("peerjs", peer = %client.id());
    Connection::new(realm, client, socket)
        .run()
        .instrument(span)
        .await;
}

/// Why a connection's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Shutdown,
    Closed(CloseReason),
    /// Sent LEAVE without `dst`: it gives up its id.
    Left,
    /// Nothing received for `alive_timeout`.
    Silent,
    /// A write made no progress for `write_timeout`.
    WriteStalled,
    /// The client closed the socket or it failed; nothing more can be sent.
    Gone,
}

impl Exit {
    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            Exit::Shutdown => (1001, "server shutting down"),
            Exit::Closed(CloseReason::Replaced) => (1000, "replaced by a newer connection"),
            Exit::Closed(CloseReason::Stuck) | Exit::WriteStalled => {
                (1008, "not reading fast enough")
            }
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

/// Token bucket; refilled lazily when a frame arrives, so it needs no timer.
struct RateLimit {
    tokens: f64,
    last: Instant,
    /// Only one ERROR per second, so a flood does not turn into a flood back.
    warned_at: Option<Instant>,
}

impl RateLimit {
    fn allow(&mut self, now: Instant, per_sec: f64, burst: f64) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * per_sec).min(burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn should_warn(&mut self, now: Instant) -> bool {
        let warn = self
            .warned_at
            .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(1));
        if warn {
            self.warned_at = Some(now);
        }
        warn
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
            tokens: realm.limits().frame_burst,
            last: Instant::now(),
            warned_at: None,
        };
        Connection {
            realm,
            client,
            socket,
            rate,
        }
    }

    async fn run(mut self) {
        Metrics::inc(&self.realm.metrics().peerjs_connections);
        tracing::debug!("peerjs client connected");
        let alive_timeout = self.realm.config().alive_timeout;
        let mut last_seen = Instant::now();
        // Armed once and re-armed only when it fires early, so a busy connection does not
        // touch the timer wheel on every frame.
        let mut alive = pin!(tokio::time::sleep(alive_timeout));
        let exit = loop {
            tokio::select! {
                biased;
                () = self.realm.shutdown().cancelled() => break Exit::Shutdown,
                () = self.client.woken() => {
                    if let Err(exit) = self.write_queued().await {
                        break exit;
                    }
                }
                message = self.socket.next() => {
                    last_seen = Instant::now();
                    match message {
                        Some(Ok(message)) => {
                            if let Some(exit) = self.on_message(message, last_seen) {
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
                () = &mut alive => {
                    let deadline = last_seen + alive_timeout;
                    if Instant::now() >= deadline {
                        break Exit::Silent;
                    }
                    alive.as_mut().reset(deadline);
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

    /// Writes everything other connections queued, with one flush for the whole batch.
    async fn write_queued(&mut self) -> Result<(), Exit> {
        let (frames, closing) = self.client.take();
        if !frames.is_empty() {
            let socket = &mut self.socket;
            let write = async {
                for frame in frames {
                    socket.feed(Message::Text(frame)).await?;
                }
                socket.flush().await
            };
            let written = tokio::select! {
                biased;
                written = timeout(self.realm.limits().write_timeout, write) => written,
                () = self.realm.shutdown().cancelled() => return Err(Exit::Shutdown),
            };
            match written {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Exit::Gone),
                Err(_) => return Err(Exit::WriteStalled),
            }
        }
        closing.map_or(Ok(()), |reason| Err(Exit::Closed(reason)))
    }

    /// Handles one received frame without awaiting: replies go through this connection's own
    /// outbox like everything else it is sent.
    fn on_message(&mut self, message: Message, now: Instant) -> Option<Exit> {
        let limits = self.realm.limits();
        if !self
            .rate
            .allow(now, limits.frames_per_sec, limits.frame_burst)
        {
            if self.rate.should_warn(now) {
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
        let max = self.realm.limits().soft_frame_bytes;
        if text.len() > max {
            self.reply_error(&format!(
                "frame too large: {} bytes, limit {max}",
                text.len()
            ));
            return None;
        }
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
