//! One negotiated connection to one remote peer: its `PeerConnection`, its chat channel, and the
//! bookkeeping that keeps events and signals in a sane order.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, info, warn, Instrument, Span};
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit, RTCDataChannelState};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceCandidateInit, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState,
};

use super::{Inner, PeerError, PeerEvent, PeerId, PeerSignal, SessionId};
use crate::channel::{Channel, ChannelEnd, OPEN_TIMEOUT};
use crate::handshake::{sdp_fingerprint, Fingerprints, Handshake, HandshakeFrame, Step};
use crate::identity::{Identity, RemoteIdentity};

/// The chat channel is negotiated out of band (both sides create it with this stream id) rather
/// than announced in band: that skips the DCEP open/ack round trip during set-up, and no
/// `on_data_channel` plumbing is needed.
const CHAT_CHANNEL_ID: u16 = 0;
const CHAT_CHANNEL_LABEL: &str = "parley-chat";
/// Stream ids of extra channels stay below this (webrtc-rs negotiates 65,535 streams).
const MAX_CHANNEL_ID: u16 = 65_534;

/// Until the remote's `id-hello` arrives ours is repeated, first after this long, then with
/// the pause doubling up to `HELLO_RESEND_MAX` (the set-up timeout ends a silent remote).
const HELLO_RESEND_FIRST: Duration = Duration::from_millis(50);
const HELLO_RESEND_MAX: Duration = Duration::from_secs(1);

/// How long a refused connection stays up so the frames already sent reach the remote.
const REFUSAL_GRACE: Duration = Duration::from_millis(250);

/// Remote candidates that arrive before the remote description can only be held; an honest peer
/// trickles a handful, so more than this is refused rather than buffered without bound.
const MAX_EARLY_CANDIDATES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Offerer,
    Answerer,
}

impl Role {
    pub(crate) fn other(self) -> Role {
        match self {
            Role::Offerer => Role::Answerer,
            Role::Answerer => Role::Offerer,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Negotiating; the channel is not open yet.
    Pending,
    /// The channel is open and the identity handshake runs: nothing is delivered or sent.
    Proving,
    /// The remote proved its identity: frames flow.
    Open,
    Ended,
}

pub(crate) struct Session {
    pub(crate) id: SessionId,
    /// The next stream id for a channel we open: even for the offerer, odd for the answerer
    /// (as DTLS client and server pick them in RFC 8832), never reused on this connection.
    next_channel_id: AtomicU16,
    pub(crate) role: Role,
    pub(crate) pc: Arc<dyn PeerConnection>,
    pub(crate) dc: Arc<dyn DataChannel>,
    pub(crate) shared: Arc<Shared>,
}

/// The part of a session that the WebRTC driver's callbacks and the channel task also reach.
pub(crate) struct Shared {
    pub(crate) id: SessionId,
    pub(crate) remote: PeerId,
    pub(crate) span: Span,
    events: UnboundedSender<PeerEvent>,
    signals: UnboundedSender<(PeerId, PeerSignal)>,
    /// Guards event emission too, so a session's events are always Connected, Frame…,
    /// Disconnected, with nothing after Disconnected.
    phase: Mutex<Phase>,
    outbound: Mutex<Outbound>,
    inbound: Mutex<Inbound>,
    /// Set right after the connection is built; the driver callbacks use it to wake the driver.
    dc: OnceLock<Arc<dyn DataChannel>>,
    /// The extra channels, ended with the session (webrtc-rs does not always close them).
    channels: Mutex<Vec<ChannelEnd>>,
    /// The connection, for the descriptions the handshake binds to (weak: the connection's
    /// handler holds this).
    pc: OnceLock<Weak<dyn PeerConnection>>,
    role: Role,
    identity: Arc<Identity>,
    #[cfg(feature = "test-utils")]
    raw_channel: bool,
}

/// Local candidates are gathered as soon as the local description is set, which is before the
/// offer or answer has been handed to the relay. Sending them at once would let them overtake
/// it, and the remote would see a candidate for a connection it has never heard of.
struct Outbound {
    description_sent: bool,
    held: Vec<PeerSignal>,
}

struct Inbound {
    remote_description_set: bool,
    held: Vec<RTCIceCandidateInit>,
}

impl Shared {
    pub(crate) fn is_open(&self) -> bool {
        *self.phase.lock() == Phase::Open
    }

    /// Not usable yet: negotiating, or proving identities.
    pub(crate) fn is_pending(&self) -> bool {
        matches!(*self.phase.lock(), Phase::Pending | Phase::Proving)
    }

    /// The channel opened: returns whether the identity handshake is to run (it is, except on
    /// a test's raw channel, which opens at once).
    fn start_proving(&self) -> bool {
        let mut phase = self.phase.lock();
        if *phase != Phase::Pending {
            return false;
        }
        *phase = Phase::Proving;
        #[cfg(feature = "test-utils")]
        if self.raw_channel {
            drop(phase);
            self.mark_open(RemoteIdentity {
                key: crate::IdentityKey([0; 32]),
                device: "unproven".into(),
                proved_in: std::time::Duration::ZERO,
            });
            return false;
        }
        debug!(parent: &self.span, "channel open; proving identities");
        true
    }

    fn mark_open(&self, identity: RemoteIdentity) {
        let mut phase = self.phase.lock();
        if *phase == Phase::Proving {
            *phase = Phase::Open;
            info!(parent: &self.span, key = %identity.key, device = %identity.device, "channel open, identity proven");
            let _ = self.events.send(PeerEvent::Connected {
                peer: self.remote.clone(),
                identity,
            });
        }
    }

    /// The DTLS fingerprints of both ends as the descriptions carry them.
    async fn fingerprints(&self) -> Fingerprints {
        let pc = self.pc.get().and_then(Weak::upgrade);
        let (mut local, mut remote) = (String::new(), String::new());
        if let Some(pc) = pc {
            if let Some(d) = pc.local_description().await {
                local = sdp_fingerprint(&d.sdp).unwrap_or_default();
            }
            if let Some(d) = pc.remote_description().await {
                remote = sdp_fingerprint(&d.sdp).unwrap_or_default();
            }
        }
        Fingerprints { local, remote }
    }

    /// Returns whether this call ended the session (so exactly one caller emits Disconnected).
    fn mark_ended(&self, reason: &str) -> bool {
        let mut phase = self.phase.lock();
        if *phase == Phase::Ended {
            return false;
        }
        *phase = Phase::Ended;
        for channel in self.channels.lock().drain(..) {
            channel.end();
        }
        info!(parent: &self.span, reason, "disconnected");
        let _ = self.events.send(PeerEvent::Disconnected {
            peer: self.remote.clone(),
            reason: reason.to_owned(),
        });
        true
    }

    fn deliver(&self, data: Bytes) {
        let phase = self.phase.lock();
        if *phase == Phase::Open {
            let _ = self.events.send(PeerEvent::Frame {
                peer: self.remote.clone(),
                data,
            });
        }
    }

    fn send_local_candidate(&self, init: RTCIceCandidateInit) {
        let signal = PeerSignal::Candidate {
            session: self.id,
            candidate: init.candidate,
            sdp_mid: init.sdp_mid,
            sdp_mline_index: init.sdp_mline_index,
        };
        let mut out = self.outbound.lock();
        if out.description_sent {
            let _ = self.signals.send((self.remote.clone(), signal));
        } else {
            out.held.push(signal);
        }
    }

    /// Sends an offer or answer, then whatever candidates were gathered before it.
    pub(crate) fn send_description(&self, signal: PeerSignal) {
        let mut out = self.outbound.lock();
        let _ = self.signals.send((self.remote.clone(), signal));
        out.description_sent = true;
        for held in out.held.drain(..) {
            let _ = self.signals.send((self.remote.clone(), held));
        }
    }

    /// Holds `init` if the remote description is not applied yet; gives it back otherwise.
    pub(crate) fn hold_early_candidate(
        &self,
        init: RTCIceCandidateInit,
    ) -> Result<Option<RTCIceCandidateInit>, PeerError> {
        let mut inbound = self.inbound.lock();
        if inbound.remote_description_set {
            return Ok(Some(init));
        }
        if inbound.held.len() >= MAX_EARLY_CANDIDATES {
            return Err(PeerError::InvalidSignal("too many candidates before the answer".into()));
        }
        inbound.held.push(init);
        Ok(None)
    }

    /// Marks the remote description applied and returns the candidates held until then.
    pub(crate) fn remote_description_set(&self) -> Vec<RTCIceCandidateInit> {
        let mut inbound = self.inbound.lock();
        inbound.remote_description_set = true;
        std::mem::take(&mut inbound.held)
    }
}

impl Session {
    /// Builds the connection and its chat channel. Nothing is negotiated yet, nothing is emitted,
    /// and the session is not in the manager's map: the caller decides whether it replaces one.
    pub(crate) async fn build(
        inner: &Arc<Inner>,
        remote: &PeerId,
        id: SessionId,
        role: Role,
    ) -> Result<Session, PeerError> {
        // A root span: the session outlives the connect or signal call that created it, and its
        // driver callbacks should not be logged as part of that call.
        let local = &inner.local;
        let span = tracing::info_span!(parent: None, "peer", %local, %remote, session = id, ?role);
        let shared = Arc::new(Shared {
            id,
            remote: remote.clone(),
            span: span.clone(),
            events: inner.events.clone(),
            signals: inner.signals.clone(),
            phase: Mutex::new(Phase::Pending),
            outbound: Mutex::new(Outbound {
                description_sent: false,
                held: Vec::new(),
            }),
            inbound: Mutex::new(Inbound {
                remote_description_set: false,
                held: Vec::new(),
            }),
            dc: OnceLock::new(),
            channels: Mutex::new(Vec::new()),
            pc: OnceLock::new(),
            role,
            identity: inner.identity.clone(),
            #[cfg(feature = "test-utils")]
            raw_channel: inner.config.raw_channel,
        });
        let handler = Arc::new(Handler {
            shared: shared.clone(),
            inner: Arc::downgrade(inner),
        });
        let config = &inner.config;
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config.rtc_configuration())
            .with_setting_engine(config.setting_engine())
            .with_runtime(config.runtime())
            .with_handler(handler)
            .with_udp_addrs(config.udp_addrs())
            .with_data_channel_send_buffer_limit(config.send_buffer_limit)
            .build()
            .instrument(span.clone())
            .await?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let _ = shared.pc.set(Arc::downgrade(&pc));
        let init = RTCDataChannelInit {
            ordered: true,
            negotiated: Some(CHAT_CHANNEL_ID),
            ..Default::default()
        };
        let dc = match pc.create_data_channel(CHAT_CHANNEL_LABEL, Some(init)).await {
            Ok(dc) => dc,
            Err(e) => {
                let _ = pc.close().await;
                return Err(e.into());
            }
        };
        let _ = shared.dc.set(dc.clone());
        tokio::spawn(pump(Arc::downgrade(inner), shared.clone(), dc.clone()).instrument(span));
        Ok(Session {
            id,
            next_channel_id: AtomicU16::new(match role {
                Role::Offerer => 2,
                Role::Answerer => 1,
            }),
            role,
            pc,
            dc,
            shared,
        })
    }

    /// Ends the session: emits Disconnected (once), optionally tells the remote, and releases
    /// the connection's sockets. The caller must already have taken it out of the map.
    pub(crate) async fn end(&self, reason: &str, send_bye: bool) {
        if self.shared.mark_ended(reason) && send_bye {
            let _ = self
                .shared
                .signals
                .send((self.shared.remote.clone(), PeerSignal::Bye { session: self.id }));
        }
        if let Err(e) = self.pc.close().await {
            debug!(parent: &self.shared.span, error = %e, "close");
        }
    }

    /// Opens an extra channel on a stream id of our parity never used before on this
    /// connection; the remote joins it with [`Session::join_channel`] once told the id.
    pub(crate) async fn open_channel(&self, label: &str) -> Result<Channel, PeerError> {
        let id = self.next_channel_id.fetch_add(2, Ordering::Relaxed);
        if id >= MAX_CHANNEL_ID {
            return Err(PeerError::ChannelsExhausted);
        }
        self.negotiated_channel(id, label).await
    }

    /// Joins a channel the remote opened on stream `id` (which must be of the remote's parity).
    pub(crate) async fn join_channel(&self, id: u16, label: &str) -> Result<Channel, PeerError> {
        let ours = self.role == Role::Offerer;
        if id == CHAT_CHANNEL_ID || id >= MAX_CHANNEL_ID || (id % 2 == 0) == ours {
            return Err(PeerError::InvalidChannel(id));
        }
        self.negotiated_channel(id, label).await
    }

    /// Both ends create extra channels themselves (negotiated), on ids that only grow: webrtc
    /// 0.21 frees a stream id in its registry before the SCTP stream is fully reset, so an
    /// announced (DCEP) channel could be handed an id still in use and never open.
    async fn negotiated_channel(&self, id: u16, label: &str) -> Result<Channel, PeerError> {
        let init = RTCDataChannelInit {
            ordered: true,
            negotiated: Some(id),
            ..Default::default()
        };
        let dc = self.pc.create_data_channel(label, Some(init)).await?;
        let open = matches!(dc.ready_state().await, Ok(RTCDataChannelState::Open));
        let span = tracing::info_span!(parent: &self.shared.span, "channel", label, id);
        let channel = Channel::start(dc, id, label.to_owned(), self.shared.remote.clone(), open, span);
        {
            let mut channels = self.shared.channels.lock();
            channels.retain(|c| !c.is_gone());
            channels.push(channel.end_handle());
        }
        if *self.shared.phase.lock() == Phase::Ended {
            channel.end_handle().end();
        }
        if !channel.opened(OPEN_TIMEOUT).await {
            channel.close().await;
            return Err(PeerError::NotOpen(self.shared.remote.clone()));
        }
        Ok(channel)
    }

    /// Drops the session if it has not opened its channel within `timeout`.
    pub(crate) fn spawn_setup_timer(&self, inner: &Arc<Inner>, timeout: Duration) {
        let inner = Arc::downgrade(inner);
        let shared = self.shared.clone();
        let span = shared.span.clone();
        tokio::spawn(
            async move {
                tokio::time::sleep(timeout).await;
                if shared.is_pending() {
                    if let Some(inner) = inner.upgrade() {
                        inner.drop_session(&shared.remote, shared.id, "set-up timed out").await;
                    }
                }
            }
            .instrument(span),
        );
    }
}

/// Forwards the chat channel's events until it closes, then drops the session. The first
/// frames are the identity handshake's; nothing else passes until it succeeds.
async fn pump(inner: Weak<Inner>, shared: Arc<Shared>, dc: Arc<dyn DataChannel>) {
    let mut reason = "channel closed".to_owned();
    // Running from the channel's opening until the remote's proof verifies.
    let mut handshake: Option<Handshake> = None;
    let mut resend_after = HELLO_RESEND_FIRST;
    loop {
        let awaiting_hello = handshake.as_ref().is_some_and(|h| !h.heard_remote());
        let event = tokio::select! {
            event = dc.poll() => event,
            () = tokio::time::sleep(resend_after), if awaiting_hello => {
                if let Some(h) = &handshake {
                    debug!(parent: &shared.span, "no id-hello from the remote yet: sending ours again");
                    send_frame(&shared, &dc, &h.hello()).await;
                }
                resend_after = (resend_after * 2).min(HELLO_RESEND_MAX);
                continue;
            }
        };
        let Some(event) = event else { break };
        match event {
            DataChannelEvent::OnOpen if shared.start_proving() => {
                let started = Handshake::new(shared.role, &shared.identity, shared.fingerprints().await);
                send_frame(&shared, &dc, &started.hello()).await;
                handshake = Some(started);
            }
            DataChannelEvent::OnMessage(msg) => {
                let data = msg.data.freeze();
                let Some(h) = handshake.as_mut() else {
                    shared.deliver(data);
                    continue;
                };
                match h.on_frame(&data, &shared.identity) {
                    Ok(Step::Send(frames)) => {
                        for frame in &frames {
                            send_frame(&shared, &dc, frame).await;
                        }
                    }
                    Ok(Step::Wait) => {}
                    Ok(Step::Done(identity)) => {
                        handshake = None;
                        shared.mark_open(identity);
                    }
                    Err(e) => {
                        warn!(parent: &shared.span, error = %e, "identity not proven: closing");
                        let _ = shared.events.send(PeerEvent::IdentityRefused {
                            peer: shared.remote.clone(),
                            reason: e.to_string(),
                        });
                        reason = format!("identity not proven: {e}");
                        // Our own proof may still be on its way: closing at once would drop it,
                        // and the remote would only time out instead of seeing the mismatch.
                        tokio::time::sleep(REFUSAL_GRACE).await;
                        break;
                    }
                }
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
    if let Some(inner) = inner.upgrade() {
        inner.drop_session(&shared.remote, shared.id, &reason).await;
    }
}

/// Sends a handshake frame; a failure shows as the channel closing.
async fn send_frame(shared: &Shared, dc: &Arc<dyn DataChannel>, frame: &HandshakeFrame) {
    if let Err(e) = dc.send(BytesMut::from(frame.encode())).await {
        debug!(parent: &shared.span, error = %e, "handshake frame not sent");
    }
}

impl Handler {
    /// webrtc 0.21's driver polls writes before it dispatches events, and the DTLS-complete event
    /// is what makes the SCTP client queue its INIT. Nothing wakes the driver after that, so the
    /// INIT sits until the next ICE timer tick (200 ms while connected) — most of the set-up
    /// time. Any call that enqueues a write notification makes the driver loop once more and
    /// flush it; re-setting the low-water mark to its current value is one with no other effect.
    async fn kick_driver(&self) {
        if let Some(dc) = self.shared.dc.get() {
            if let Err(e) = dc.set_buffered_amount_low_threshold(0).await {
                debug!(parent: &self.shared.span, error = %e, "driver wake-up");
            }
        }
    }
}

/// Receives callbacks on the connection's driver task. They must return quickly and must not
/// wait on the connection (closing it from here would wait for the very task running us).
struct Handler {
    shared: Arc<Shared>,
    inner: Weak<Inner>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => self.shared.send_local_candidate(init),
            Err(e) => warn!(parent: &self.shared.span, error = %e, "local candidate not serialisable"),
        }
    }

    /// Extra channels are negotiated by both ends ([`Session::join_channel`]); one the remote
    /// announces in band is not ours to take.
    async fn on_data_channel(&self, data_channel: Arc<dyn DataChannel>) {
        let label = data_channel.label().await.unwrap_or_default();
        warn!(parent: &self.shared.span, %label, "announced channel refused");
        let _ = data_channel.close().await;
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        debug!(parent: &self.shared.span, ?state, "connection state");
        if state == RTCPeerConnectionState::Connected {
            self.kick_driver().await;
            return;
        }
        let reason = match state {
            RTCPeerConnectionState::Failed => "connection failed",
            RTCPeerConnectionState::Disconnected => "connection lost",
            RTCPeerConnectionState::Closed => "connection closed",
            _ => return,
        };
        let inner = self.inner.clone();
        let shared = self.shared.clone();
        tokio::spawn(
            async move {
                if let Some(inner) = inner.upgrade() {
                    inner.drop_session(&shared.remote, shared.id, reason).await;
                }
            }
            .instrument(self.shared.span.clone()),
        );
    }
}
