//! The link's background task: connect, authenticate, keep the rooms joined, relay signals,
//! notice a dead link and reconnect with backoff.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parley_protocol::{codes, ClientFrame, ServerFrame, User};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::Instrument;

use super::joins::{apply, sorted_roster, PendingJoins};
use parking_lot::Mutex;

use super::{Command, LinkEvent, State};
use crate::backoff::Backoff;
use crate::options::Timing;
use crate::server_tls::{CertificateProblem, ServerTls};
use crate::server_url::ServerUrl;

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A frame this large from the server is a bug or an attack; the biggest legitimate one is the
/// roster of a full room (1000 peers of a few hundred bytes).
const MAX_SERVER_FRAME: usize = 4 * 1024 * 1024;

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
pub(super) struct Runner {
    pub(super) url: ServerUrl,
    pub(super) tls: ServerTls,
    pub(super) token: String,
    pub(super) timing: Timing,
    pub(super) shared: Arc<Mutex<State>>,
    pub(super) commands: mpsc::UnboundedReceiver<Command>,
    pub(super) events: mpsc::UnboundedSender<LinkEvent>,
    pub(super) stop: watch::Receiver<bool>,
}

impl Runner {
    pub(super) async fn run(mut self) {
        let mut backoff = Backoff::new(self.timing.retry_min, self.timing.retry_max);
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
                    if since.elapsed() >= self.timing.stable_after {
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
                    self.emit(LinkEvent::SessionEnded);
                    break;
                }
                End::Lost(reason) => {
                    let delay = backoff.next_delay();
                    tracing::info!(%reason, retry_in_ms = delay.as_millis() as u64, "signaling link down");
                    if !told_down {
                        told_down = true;
                        self.emit(LinkEvent::Disconnected { reason });
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

    fn emit(&self, event: LinkEvent) {
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
        let deadline = self.timing.connect_timeout;
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
        let connector = tokio_tungstenite::Connector::Rustls(self.tls.client_config());
        let connecting = tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, Some(connector));
        let (mut socket, _) = match connecting.await {
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
            Err(e) => {
                return Err(End::Lost(match self.tls.problem(&e) {
                    Some(CertificateProblem::Changed { expected, presented }) => format!(
                        "refused {url}: it presented another certificate ({presented}) than the one trusted for it ({expected}); someone may be posing as the server"
                    ),
                    Some(CertificateProblem::Untrusted { presented }) => format!(
                        "refused {url}: no certificate authority vouches for its certificate ({presented})"
                    ),
                    None => format!("cannot connect to {url}: {e}"),
                }))
            }
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
        self.emit(LinkEvent::Connected { peer_id, user });

        let mut session = PendingJoins::default();
        for room in rooms {
            if let Err(e) = session.join(&mut socket, room).await {
                return End::Lost(format!("connection failed: {e}"));
            }
        }

        let heartbeat = self.timing.heartbeat;
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
                    if silent >= self.timing.dead_after {
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
    fn on_frame(&self, session: &mut PendingJoins, text: &str) -> Option<End> {
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
                    LinkEvent::Frame(ServerFrame::Joined { room, peers })
                }
                ServerFrame::Left { room } => {
                    if state.wanted.contains(&room) {
                        // Re-joined meanwhile: the `joined` answer is on its way and replaces the roster.
                        return None;
                    }
                    state.rosters.remove(&room);
                    LinkEvent::Frame(ServerFrame::Left { room })
                }
                ServerFrame::PeerJoined { ref room, .. }
                | ServerFrame::PeerLeft { ref room, .. }
                | ServerFrame::PeerUpdated { ref room, .. } => {
                    let room = room.clone();
                    let frame = session.hold_back(&room, frame)?;
                    let roster = state.rosters.get_mut(&room)?;
                    LinkEvent::Frame(apply(roster, frame)?)
                }
                signal @ ServerFrame::Signal { .. } => LinkEvent::Frame(signal),
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
                    LinkEvent::Frame(ServerFrame::Error { code, message })
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

pub(super) async fn send(socket: &mut Socket, frame: &ClientFrame) -> Result<(), tungstenite::Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
