//! A hostile signaling server for the trust tests: a proxy in front of a real `parley-signal`
//! that passes HTTP through untouched and sits in every WebSocket, where it attacks the peers'
//! negotiation as a server operator could:
//!
//! - [`Attack::RewriteFingerprints`]: relays every signal, with the DTLS fingerprints of the
//!   offers and answers replaced by others;
//! - [`Attack::ManInTheMiddle`]: relays no signal at all. It answers each side's negotiation
//!   with a WebRTC connection of its own, posing to each as the other (same peer ids, same
//!   users), and relays the data channels between its two connections, reading everything.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use parley_peer::{Identity, PeerConfig, PeerEvent, PeerManager, PeerSignal};
use parley_protocol::{ClientFrame, ServerFrame, User};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

use crate::DEADLINE;

/// What the server does to the peers' negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// Relay every signal with forged DTLS fingerprints.
    RewriteFingerprints,
    /// Terminate both sides' connections and relay the data channel between them.
    ManInTheMiddle,
}

/// The proxy; its [`HostileServer::url`] is what the people sign in to.
pub struct HostileServer {
    addr: SocketAddr,
    accept: JoinHandle<()>,
    state: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Each connected client: its peer id → (user, the frames injected into its downstream).
    clients: Mutex<HashMap<String, (User, UnboundedSender<ServerFrame>)>>,
    /// Users by peer id, from the rosters the server sent.
    users: Mutex<HashMap<String, User>>,
    /// Man in the middle: per unordered pair of peers, its two legs (keyed by the peer each
    /// leg faces).
    legs: Mutex<HashMap<String, PeerManager>>,
    /// Every data-channel frame the man in the middle relayed.
    read: Mutex<Vec<Bytes>>,
    attack: Option<Attack>,
    upstream: String,
}

impl HostileServer {
    /// Starts the proxy in front of the server at `upstream` (`http://…`).
    pub async fn start(upstream: &str, attack: Attack) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let state = Arc::new(Shared {
            attack: Some(attack),
            upstream: upstream.trim_end_matches('/').to_owned(),
            ..Shared::default()
        });
        let accept = {
            let state = state.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(state.clone(), stream));
                }
            })
        };
        HostileServer { addr, accept, state }
    }

    /// The address to sign in to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every frame the man in the middle relayed on the data channels.
    pub fn read(&self) -> Vec<Bytes> {
        self.state.read.lock().unwrap().clone()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// A WebSocket upgrade is attacked; anything else (the HTTP API) is passed through as bytes.
async fn serve(state: Arc<Shared>, mut client: TcpStream) {
    let mut head = [0u8; 2048];
    let n = client.peek(&mut head).await.unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
    let upstream_addr = state.upstream.trim_start_matches("http://").to_owned();
    if !head.contains("upgrade: websocket") {
        if let Ok(mut upstream) = TcpStream::connect(&upstream_addr).await {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
        return;
    }
    let mut authorization = None;
    // The signature is tungstenite's; its error type is large by its design.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| {
        authorization = request.headers().get("authorization").cloned();
        Ok(response)
    };
    let Ok(downstream) = tokio_tungstenite::accept_hdr_async(client, callback).await else {
        return;
    };
    let url = format!("ws://{upstream_addr}/api/v1/ws");
    let mut request = url.into_client_request().expect("a WebSocket URL");
    if let Some(value) = authorization {
        request.headers_mut().insert("authorization", value);
    }
    let Ok((upstream, _)) = tokio_tungstenite::connect_async(request).await else {
        return;
    };
    let (mut down_tx, mut down_rx) = downstream.split();
    let (mut up_tx, mut up_rx) = upstream.split();
    let (inject, mut injected) = unbounded_channel::<ServerFrame>();
    let me: Arc<Mutex<Option<String>>> = Arc::default();

    // Server → client, with injected frames (the man in the middle's signals) mixed in.
    let to_client = {
        let state = state.clone();
        let me = me.clone();
        tokio::spawn(async move {
            loop {
                let frame = tokio::select! {
                    Some(Ok(Message::Text(text))) = up_rx.next() => {
                        let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) else { continue };
                        match state.on_server_frame(frame, &me, &inject) {
                            Some(frame) => frame,
                            None => continue,
                        }
                    }
                    Some(frame) = injected.recv() => frame,
                    else => break,
                };
                let text = serde_json::to_string(&frame).expect("frames serialize");
                if down_tx.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        })
    };
    // Client → server.
    while let Some(Ok(message)) = down_rx.next().await {
        let Message::Text(text) = message else { continue };
        let Ok(frame) = serde_json::from_str::<ClientFrame>(&text) else {
            continue;
        };
        let from = me.lock().unwrap().clone();
        let Some(frame) = state.on_client_frame(frame, from.as_deref()).await else {
            continue;
        };
        let text = serde_json::to_string(&frame).expect("frames serialize");
        if up_tx.send(Message::text(text)).await.is_err() {
            break;
        }
    }
    to_client.abort();
}

impl Shared {
    /// A frame from the server to one client; `None` swallows it.
    fn on_server_frame(
        &self,
        frame: ServerFrame,
        me: &Mutex<Option<String>>,
        inject: &UnboundedSender<ServerFrame>,
    ) -> Option<ServerFrame> {
        match &frame {
            ServerFrame::Welcome { peer_id, user } => {
                *me.lock().unwrap() = Some(peer_id.clone());
                self.clients
                    .lock()
                    .unwrap()
                    .insert(peer_id.clone(), (user.clone(), inject.clone()));
                self.users.lock().unwrap().insert(peer_id.clone(), user.clone());
            }
            ServerFrame::Joined { peers, .. } => {
                let mut users = self.users.lock().unwrap();
                for peer in peers {
                    users.insert(peer.peer_id.clone(), peer.user.clone());
                }
            }
            ServerFrame::PeerJoined { peer, .. } => {
                self.users
                    .lock()
                    .unwrap()
                    .insert(peer.peer_id.clone(), peer.user.clone());
            }
            ServerFrame::Signal { from, user, data } => match self.attack {
                Some(Attack::RewriteFingerprints) => {
                    return Some(ServerFrame::Signal {
                        from: from.clone(),
                        user: user.clone(),
                        data: forge(data.clone()),
                    })
                }
                // Signals never pass: the legs answer them.
                Some(Attack::ManInTheMiddle) => return None,
                None => {}
            },
            _ => {}
        }
        Some(frame)
    }

    /// A frame from the client `from` to the server; `None` swallows it.
    async fn on_client_frame(self: &Arc<Self>, frame: ClientFrame, from: Option<&str>) -> Option<ClientFrame> {
        let ClientFrame::Signal { to, data } = frame else {
            return Some(frame);
        };
        match self.attack {
            Some(Attack::RewriteFingerprints) | None => Some(ClientFrame::Signal { to, data: forge(data) }),
            Some(Attack::ManInTheMiddle) => {
                let from = from?.to_owned();
                let signal: PeerSignal = serde_json::from_value(data).ok()?;
                // The leg facing `from` poses as `to`.
                let leg = self.legs_for(&from, &to);
                let _ = leg.handle_signal(&from, signal).await;
                None
            }
        }
    }

    /// The leg facing `facing` (posing as `posing_as`), creating both legs of the pair on first
    /// use; the other leg connects to the other peer at once.
    fn legs_for(self: &Arc<Self>, facing: &str, posing_as: &str) -> PeerManager {
        let mut legs = self.legs.lock().unwrap();
        if let Some(leg) = legs.get(facing) {
            return leg.clone();
        }
        let (toward_facing, facing_events) = self.leg(posing_as);
        let (toward_other, other_events) = self.leg(facing);
        legs.insert(facing.to_owned(), toward_facing.clone());
        legs.insert(posing_as.to_owned(), toward_other.clone());
        self.pipe(facing_events, toward_other.clone(), posing_as);
        self.pipe(other_events, toward_facing.clone(), facing);
        let other = posing_as.to_owned();
        tokio::spawn(async move {
            let _ = toward_other.connect(&other).await;
        });
        toward_facing
    }

    /// A raw connection (no identity handshake of its own) posing as `local`; its signals are
    /// injected into the addressed client's downstream as if `local` had sent them.
    fn leg(self: &Arc<Self>, local: &str) -> (PeerManager, UnboundedReceiver<PeerEvent>) {
        let (signals, mut outgoing) = unbounded_channel::<(String, PeerSignal)>();
        let (events, events_rx) = unbounded_channel();
        let config = PeerConfig {
            raw_channel: true,
            ..PeerConfig::loopback()
        };
        let manager = PeerManager::new(
            local.to_owned(),
            Arc::new(Identity::generate("mallory")),
            config,
            signals,
            events,
        );
        let state = self.clone();
        let local = local.to_owned();
        tokio::spawn(async move {
            while let Some((to, signal)) = outgoing.recv().await {
                let user = state.users.lock().unwrap().get(&local).cloned();
                let client = state.clients.lock().unwrap().get(&to).map(|(_, inject)| inject.clone());
                if let (Some(user), Some(inject)) = (user, client) {
                    let data = serde_json::to_value(&signal).expect("signals serialize");
                    let _ = inject.send(ServerFrame::Signal {
                        from: local.clone(),
                        user,
                        data,
                    });
                }
            }
        });
        (manager, events_rx)
    }

    /// Relays every frame one leg receives to the other leg's peer, reading it on the way;
    /// waits for the other leg to open when it is not yet.
    fn pipe(self: &Arc<Self>, mut from: UnboundedReceiver<PeerEvent>, to: PeerManager, to_peer: &str) {
        let state = self.clone();
        let to_peer = to_peer.to_owned();
        tokio::spawn(async move {
            while let Some(event) = from.recv().await {
                let PeerEvent::Frame { data, .. } = event else { continue };
                state.read.lock().unwrap().push(data.clone());
                let deadline = tokio::time::Instant::now() + DEADLINE;
                while to.send(&to_peer, data.clone()).await.is_err() && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
    }
}

/// The signal with the DTLS fingerprint of its description (if any) replaced.
fn forge(mut data: serde_json::Value) -> serde_json::Value {
    if let Some(sdp) = data.get_mut("sdp") {
        if let Some(text) = sdp.as_str() {
            let forged: Vec<String> = text
                .split("\r\n")
                .map(|line| match line.strip_prefix("a=fingerprint:") {
                    Some(value) => {
                        let (algorithm, hex) = value.split_once(' ').unwrap_or((value, ""));
                        let fake: String = hex.chars().map(|c| if c == ':' { ':' } else { 'A' }).collect();
                        format!("a=fingerprint:{algorithm} {fake}")
                    }
                    None => line.to_owned(),
                })
                .collect();
            *sdp = serde_json::Value::String(forged.join("\r\n"));
        }
    }
    data
}
