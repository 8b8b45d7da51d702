//! Parley's peer layer: one WebRTC connection (webrtc-rs) per remote peer, negotiated through an
//! abstract signal relay, carrying frames on a reliable ordered data channel. [`PeerManager`] is
//! the front door; the app core runs chat on it, and it knows nothing of chat.
//!
//! Negotiation has fixed roles so that two peers connecting to each other at the same moment end
//! up with one connection: the peer with the lexicographically smaller id always offers; the
//! other asks it to with [`PeerSignal::Hello`]. Every connection has a random [`SessionId`] that
//! all its messages carry, so messages about a replaced connection are recognised and dropped.
//! The protocol is described in `docs/peer-protocol.md`.
//!
//! The relay is assumed to deliver the messages from one peer to another in the order they were
//! sent (one WebSocket per peer through one server does).
//!
//! The `PeerConnection` of an established session is reachable through
//! [`PeerManager::peer_connection`], so media tracks can be added to it later and
//! [`PeerManager::renegotiate`] sends the resulting offer.

#![warn(missing_docs, unreachable_pub)]

mod channel;
mod config;
mod error;
mod handshake;
mod identity;
mod route;
mod runtime;
mod session;
mod signal;

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use rand::Rng;
use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, Instrument};
use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCSessionDescription};

pub use channel::{Channel, ChannelMessage};
pub use config::PeerConfig;
pub use error::PeerError;
pub use handshake::{HandshakeError, HANDSHAKE_VERSION};
pub use identity::{Identity, IdentityKey, RemoteIdentity, MAX_DEVICE_ID_LEN};
pub use parley_protocol::IceServer;
pub use route::Route;
pub use signal::{PeerSignal, SessionId, MAX_CANDIDATE_LEN, MAX_SDP_LEN, MAX_SESSION_ID, PROTOCOL_VERSION};

use session::{Role, Session};

/// A peer as the signaling server names it (its `peer_id`).
pub type PeerId = String;

/// Largest frame [`PeerManager::send`] accepts. webrtc-rs has broken channels on 65,536-byte
/// messages, and the limit is advertised to the remote as its `max-message-size`.
pub const MAX_FRAME_LEN: usize = 65_535;

/// Longest peer id accepted; the server's ids are far shorter.
pub const MAX_PEER_ID_LEN: usize = 256;

/// What the peer layer reports. For each connection: at most one `Connected`, then frames, then
/// exactly one `Disconnected` — also for a connection that failed before it opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// The channel to `peer` is open on our side and the remote proved which identity key holds
    /// the connection's DTLS certificate.
    Connected {
        /// The remote.
        peer: PeerId,
        /// Who it proved to be.
        identity: RemoteIdentity,
    },
    /// The remote did not prove an identity bound to this connection (a man in the middle, a
    /// replayed proof, a malformed handshake): the connection is closed (`Disconnected`
    /// follows) and nothing it sent was delivered.
    IdentityRefused {
        /// The remote.
        peer: PeerId,
        /// Why, in words.
        reason: String,
    },
    /// A frame arrived on the channel.
    Frame {
        /// The remote.
        peer: PeerId,
        /// The frame, as the remote wrote it (untrusted).
        data: Bytes,
    },
    /// The connection is gone (closed by either side, failed, or never opened).
    Disconnected {
        /// The remote.
        peer: PeerId,
        /// Why, in words.
        reason: String,
    },
}

/// Owns every connection of the local peer. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct PeerManager {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) local: PeerId,
    pub(crate) identity: Arc<Identity>,
    pub(crate) config: PeerConfig,
    pub(crate) signals: UnboundedSender<(PeerId, PeerSignal)>,
    pub(crate) events: UnboundedSender<PeerEvent>,
    sessions: Mutex<HashMap<PeerId, Arc<Session>>>,
    /// One async lock per remote serialises `connect`, `handle_signal` and `close` for that
    /// remote, so two of them can never both create a session for it. Lock order: `locks`
    /// before `sessions`.
    locks: Mutex<HashMap<PeerId, Arc<tokio::sync::Mutex<()>>>>,
}

fn validate_peer_id(id: &str) -> Result<(), PeerError> {
    if id.is_empty() || id.len() > MAX_PEER_ID_LEN || id.chars().any(char::is_control) {
        return Err(PeerError::InvalidPeerId);
    }
    Ok(())
}

fn new_session_id() -> SessionId {
    rand::thread_rng().gen_range(1..=MAX_SESSION_ID)
}

impl PeerManager {
    /// `signals` receives `(to, signal)` pairs for the relay; `events` receives what happens.
    /// Every connection proves `identity` to the remote, and the remote's to us, before it opens.
    pub fn new(
        local_id: PeerId,
        identity: Arc<Identity>,
        config: PeerConfig,
        signals: UnboundedSender<(PeerId, PeerSignal)>,
        events: UnboundedSender<PeerEvent>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                local: local_id,
                identity,
                config,
                signals,
                events,
                sessions: Mutex::new(HashMap::new()),
                locks: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The local peer's id.
    pub fn local_id(&self) -> &PeerId {
        &self.inner.local
    }

    /// Makes sure a connection to `remote` exists or is being set up. Returns once the offer (or
    /// the request for one) is handed to the relay; [`PeerEvent::Connected`] follows when the
    /// channel opens. If the remote never answers, the attempt ends after
    /// [`PeerConfig::setup_timeout`] with [`PeerEvent::Disconnected`] when we offered; when the
    /// remote is the one to offer, calling again resends the request.
    pub async fn connect(&self, remote: &PeerId) -> Result<(), PeerError> {
        validate_peer_id(remote)?;
        if *remote == self.inner.local {
            return Err(PeerError::SelfConnection);
        }
        let span = tracing::info_span!("peer", local = %self.inner.local, remote = %remote);
        // Boxed here and below: the set-up futures are ~45 KB in debug builds, and a caller that
        // awaits several of them in one function would otherwise carry them all on its stack.
        Box::pin(
            self.inner
                .locked(remote, self.inner.connect_locked(remote))
                .instrument(span),
        )
        .await
    }

    /// Applies a signal relayed from `from`. The input is untrusted: it is validated, and a
    /// signal that is malformed or makes no sense now is refused with an error, leaving any
    /// working connection alone. Messages about a connection that has since been replaced are
    /// ignored without error.
    pub async fn handle_signal(&self, from: &PeerId, signal: PeerSignal) -> Result<(), PeerError> {
        validate_peer_id(from)?;
        if *from == self.inner.local {
            return Err(PeerError::SelfConnection);
        }
        signal.validate()?;
        let span = tracing::info_span!("peer", local = %self.inner.local, remote = %from, signal = signal.kind());
        let result = Box::pin(
            self.inner
                .locked(from, self.inner.signal_locked(from, signal))
                .instrument(span.clone()),
        )
        .await;
        if let Err(e) = &result {
            debug!(parent: &span, error = %e, "signal refused");
        }
        result
    }

    /// Sends one frame on the open chat channel. Waits only if the channel's send buffer is full
    /// ([`PeerConfig::send_buffer_limit`]).
    pub async fn send(&self, remote: &PeerId, data: Bytes) -> Result<(), PeerError> {
        if data.len() > MAX_FRAME_LEN {
            return Err(PeerError::FrameTooLarge {
                len: data.len(),
                max: MAX_FRAME_LEN,
            });
        }
        let session = self.inner.current(remote).filter(|s| s.shared.is_open());
        let Some(session) = session else {
            return Err(PeerError::NotOpen(remote.clone()));
        };
        session.dc.send(BytesMut::from(data)).await.map_err(|e| match e {
            webrtc::error::Error::ErrDataChannelClosed => PeerError::NotOpen(remote.clone()),
            e => PeerError::WebRtc(e),
        })
    }

    /// Opens another reliable ordered channel to `remote`, beside the chat channel, on the open
    /// connection (whose identity is proven), on a stream id never used before on it. Tell the
    /// remote [`Channel::id`] (on the chat channel) so it can [`join_channel`](Self::join_channel)
    /// it; send nothing on it before the remote answers there, or it may be lost.
    pub async fn open_channel(&self, remote: &PeerId, label: &str) -> Result<Channel, PeerError> {
        self.open_session(remote)?.open_channel(label).await
    }

    /// Joins the channel `remote` opened on stream `id` (which must be one the remote may
    /// choose). What it sends may start at once: the remote's end exists already.
    pub async fn join_channel(&self, remote: &PeerId, id: u16, label: &str) -> Result<Channel, PeerError> {
        self.open_session(remote)?.join_channel(id, label).await
    }

    fn open_session(&self, remote: &PeerId) -> Result<Arc<Session>, PeerError> {
        self.inner
            .current(remote)
            .filter(|s| s.shared.is_open())
            .ok_or_else(|| PeerError::NotOpen(remote.clone()))
    }

    /// Whether a channel to `remote` is open.
    pub fn is_open(&self, remote: &PeerId) -> bool {
        self.inner.current(remote).is_some_and(|s| s.shared.is_open())
    }

    /// The connection to `remote`, open or still being set up, for adding media tracks. After
    /// changing it, the offering side calls [`renegotiate`](Self::renegotiate).
    pub fn peer_connection(&self, remote: &PeerId) -> Option<Arc<dyn PeerConnection>> {
        self.inner.current(remote).map(|s| s.pc.clone())
    }

    /// How the connection to `remote` travels (direct, through NAT, relayed), once ICE has
    /// chosen a path.
    pub async fn route(&self, remote: &PeerId) -> Option<Route> {
        let pc = self.peer_connection(remote)?;
        route::route_of(pc.as_ref()).await
    }

    /// Sends a new offer for the existing connection (after tracks were added). Only the
    /// offering side (the smaller id) may renegotiate.
    pub async fn renegotiate(&self, remote: &PeerId) -> Result<(), PeerError> {
        let span = tracing::info_span!("peer", local = %self.inner.local, remote = %remote);
        Box::pin(
            self.inner
                .locked(remote, self.inner.renegotiate_locked(remote))
                .instrument(span),
        )
        .await
    }

    /// Closes the connection to `remote`, telling it with [`PeerSignal::Bye`].
    pub async fn close(&self, remote: &PeerId) {
        let inner = &self.inner;
        let span = tracing::info_span!("peer", local = %inner.local, remote = %remote);
        inner
            .locked(remote, async {
                let removed = inner.sessions.lock().remove(remote);
                if let Some(session) = removed {
                    session.end("closed locally", true).await;
                }
            })
            .instrument(span)
            .await
    }

    /// Closes every connection, telling each remote.
    pub async fn close_all(&self) {
        let sessions: Vec<_> = self.inner.sessions.lock().drain().map(|(_, s)| s).collect();
        for session in sessions {
            session.end("closed locally", true).await;
        }
    }
}

impl Inner {
    fn is_offerer_for(&self, remote: &PeerId) -> bool {
        self.local < *remote
    }

    fn current(&self, remote: &PeerId) -> Option<Arc<Session>> {
        self.sessions.lock().get(remote).cloned()
    }

    /// Runs `f` holding `remote`'s lock, then forgets the lock if nobody else needs it.
    async fn locked<T>(&self, remote: &PeerId, f: impl std::future::Future<Output = T>) -> T {
        let remote_lock = self.locks.lock().entry(remote.clone()).or_default().clone();
        let result = {
            let _guard = remote_lock.lock().await;
            f.await
        };
        let mut locks = self.locks.lock();
        // Two references: the map's and ours. Anyone else waiting holds a third.
        if Arc::strong_count(&remote_lock) == 2 && !self.sessions.lock().contains_key(remote) {
            locks.remove(remote);
        }
        result
    }

    async fn connect_locked(self: &Arc<Self>, remote: &PeerId) -> Result<(), PeerError> {
        if self.current(remote).is_some() {
            return Ok(());
        }
        if self.is_offerer_for(remote) {
            self.offer(remote).await
        } else {
            debug!("asking the remote to offer");
            let _ = self
                .signals
                .send((remote.clone(), PeerSignal::Hello { v: PROTOCOL_VERSION }));
            Ok(())
        }
    }

    /// Starts a fresh session as the offerer. The caller has removed any previous one.
    async fn offer(self: &Arc<Self>, remote: &PeerId) -> Result<(), PeerError> {
        let id = new_session_id();
        let session = Session::build(self, remote, id, Role::Offerer).await?;
        let offer = async {
            let offer = session.pc.create_offer(None).await?;
            session.pc.set_local_description(offer.clone()).await?;
            Ok::<_, PeerError>(offer)
        }
        .await;
        let offer = match offer {
            Ok(offer) => offer,
            Err(e) => {
                let _ = session.pc.close().await;
                return Err(e);
            }
        };
        let session = Arc::new(session);
        self.sessions.lock().insert(remote.clone(), session.clone());
        debug!(parent: &session.shared.span, "offer sent");
        session.shared.send_description(PeerSignal::Offer {
            v: PROTOCOL_VERSION,
            session: id,
            sdp: offer.sdp,
        });
        session.spawn_setup_timer(self, self.config.setup_timeout);
        Ok(())
    }

    async fn renegotiate_locked(self: &Arc<Self>, remote: &PeerId) -> Result<(), PeerError> {
        let session = self.current(remote).ok_or_else(|| PeerError::NotOpen(remote.clone()))?;
        if session.role != Role::Offerer {
            return Err(PeerError::UnexpectedSignal {
                kind: "offer",
                reason: "only the smaller peer id offers",
            });
        }
        let offer = session.pc.create_offer(None).await?;
        session.pc.set_local_description(offer.clone()).await?;
        session.shared.send_description(PeerSignal::Offer {
            v: PROTOCOL_VERSION,
            session: session.id,
            sdp: offer.sdp,
        });
        Ok(())
    }

    async fn signal_locked(self: &Arc<Self>, from: &PeerId, signal: PeerSignal) -> Result<(), PeerError> {
        let current = self.current(from);
        match signal {
            PeerSignal::Hello { .. } => self.on_hello(from, current).await,
            PeerSignal::Offer { session, sdp, .. } => self.on_offer(from, current, session, sdp).await,
            PeerSignal::Answer { session, sdp } => on_answer(current, session, sdp).await,
            PeerSignal::Candidate {
                session,
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => {
                let init = RTCIceCandidateInit {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                    username_fragment: None,
                    url: None,
                };
                self.on_candidate(current, session, init).await
            }
            PeerSignal::Bye { session } => {
                match current {
                    Some(s) if s.id == session => {
                        self.sessions.lock().remove(from);
                        s.end("remote closed", false).await;
                    }
                    _ => debug!(session, "bye for no current connection ignored"),
                }
                Ok(())
            }
        }
    }

    /// "Please offer to me", from the peer with the larger id.
    async fn on_hello(self: &Arc<Self>, from: &PeerId, current: Option<Arc<Session>>) -> Result<(), PeerError> {
        if !self.is_offerer_for(from) {
            return Err(PeerError::UnexpectedSignal {
                kind: "hello",
                reason: "the remote is the one to offer",
            });
        }
        match current {
            // Our offer is on its way; the remote sent this before it arrived.
            Some(s) if !s.shared.is_open() => Ok(()),
            Some(s) => {
                // The remote only asks when it has no connection to us, so it lost the one we
                // still think is open: it restarted.
                self.sessions.lock().remove(from);
                s.end("remote restarted", false).await;
                self.offer(from).await
            }
            None => self.offer(from).await,
        }
    }

    /// A new connection (new session id) or a renegotiation of the current one (same id).
    async fn on_offer(
        self: &Arc<Self>,
        from: &PeerId,
        current: Option<Arc<Session>>,
        id: SessionId,
        sdp: String,
    ) -> Result<(), PeerError> {
        if self.is_offerer_for(from) {
            return Err(PeerError::UnexpectedSignal {
                kind: "offer",
                reason: "we are the one to offer",
            });
        }
        let desc = RTCSessionDescription::offer(sdp).map_err(|e| PeerError::InvalidSignal(format!("offer: {e}")))?;
        match current {
            Some(s) if s.id == id => self.answer_renegotiation(&s, desc).await,
            _ => self.answer(from, id, desc).await,
        }
    }

    /// A remote candidate, held until the remote description is set.
    async fn on_candidate(
        &self,
        current: Option<Arc<Session>>,
        id: SessionId,
        init: RTCIceCandidateInit,
    ) -> Result<(), PeerError> {
        let Some(s) = current else {
            return Err(PeerError::UnexpectedSignal {
                kind: "candidate",
                reason: "no connection to this peer",
            });
        };
        if s.id != id {
            debug!(session = id, "stale candidate ignored");
            return Ok(());
        }
        if init.candidate.is_empty() {
            return Ok(()); // end of candidates: nothing to do for a full ICE agent
        }
        self.check_candidate(&init.candidate)?;
        if let Some(init) = s.shared.hold_early_candidate(init)? {
            s.pc.add_ice_candidate(init).await?;
        }
        Ok(())
    }

    /// Parses the candidate before it reaches the ICE agent (which would otherwise hold it until
    /// the remote description arrives and fail later, out of the caller's sight), and keeps a
    /// loopback-only manager from ever sending a check off the machine.
    fn check_candidate(&self, candidate: &str) -> Result<(), PeerError> {
        let line = candidate.strip_prefix("candidate:").unwrap_or(candidate);
        let parsed = rtc::ice::candidate::unmarshal_candidate(line)
            .map_err(|e| PeerError::InvalidSignal(format!("candidate: {e}")))?;
        if self.config.loopback_only && !parsed.address().parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
            return Err(PeerError::InvalidSignal(
                "non-loopback candidate refused in loopback-only mode".into(),
            ));
        }
        Ok(())
    }

    /// Answers an offer for a new session, replacing the current one only once the new offer has
    /// proved usable, so a bad offer cannot take down a working connection.
    async fn answer(
        self: &Arc<Self>,
        remote: &PeerId,
        id: SessionId,
        desc: RTCSessionDescription,
    ) -> Result<(), PeerError> {
        let session = Session::build(self, remote, id, Role::Answerer).await?;
        let answer = async {
            session.pc.set_remote_description(desc).await?;
            session.shared.remote_description_set();
            let answer = session.pc.create_answer(None).await?;
            session.pc.set_local_description(answer.clone()).await?;
            Ok::<_, PeerError>(answer)
        }
        .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                let _ = session.pc.close().await;
                return Err(e);
            }
        };
        let session = Arc::new(session);
        let replaced = self.sessions.lock().insert(remote.clone(), session.clone());
        if let Some(old) = replaced {
            old.end("replaced by a new connection", false).await;
        }
        debug!(parent: &session.shared.span, "answer sent");
        session.shared.send_description(PeerSignal::Answer {
            session: id,
            sdp: answer.sdp,
        });
        session.spawn_setup_timer(self, self.config.setup_timeout);
        Ok(())
    }

    async fn answer_renegotiation(&self, session: &Session, desc: RTCSessionDescription) -> Result<(), PeerError> {
        session.pc.set_remote_description(desc).await?;
        let answer = session.pc.create_answer(None).await?;
        session.pc.set_local_description(answer.clone()).await?;
        session.shared.send_description(PeerSignal::Answer {
            session: session.id,
            sdp: answer.sdp,
        });
        Ok(())
    }

    /// Drops `remote`'s session if it is still `id`: the path for failures noticed by the
    /// connection itself (state change, channel close, set-up timeout).
    pub(crate) async fn drop_session(&self, remote: &PeerId, id: SessionId, reason: &str) {
        let removed = {
            let mut sessions = self.sessions.lock();
            match sessions.get(remote) {
                Some(s) if s.id == id => sessions.remove(remote),
                _ => None,
            }
        };
        if let Some(session) = removed {
            session.end(reason, false).await;
        }
    }
}

/// The answer to our offer of session `id`; the candidates that came before it go in now.
async fn on_answer(current: Option<Arc<Session>>, id: SessionId, sdp: String) -> Result<(), PeerError> {
    let Some(s) = current.filter(|s| s.role == Role::Offerer) else {
        return Err(PeerError::UnexpectedSignal {
            kind: "answer",
            reason: "we made no offer",
        });
    };
    if s.id != id {
        debug!(session = id, "stale answer ignored");
        return Ok(());
    }
    let desc = RTCSessionDescription::answer(sdp).map_err(|e| PeerError::InvalidSignal(format!("answer: {e}")))?;
    if s.pc.pending_local_description().await.is_none() {
        return Err(PeerError::UnexpectedSignal {
            kind: "answer",
            reason: "no offer outstanding",
        });
    }
    s.pc.set_remote_description(desc).await?;
    for early in s.shared.remote_description_set() {
        if let Err(e) = s.pc.add_ice_candidate(early).await {
            debug!(parent: &s.shared.span, error = %e, "held candidate refused");
        }
    }
    Ok(())
}

impl Drop for Inner {
    /// A manager dropped without `close_all` still releases its sockets (webrtc-rs keeps a
    /// connection's driver running until it is closed). No Bye is sent: to the remotes this looks
    /// like a crash, which is what an unclean drop is.
    fn drop(&mut self) {
        let sessions: Vec<_> = self.sessions.lock().drain().map(|(_, s)| s).collect();
        if sessions.is_empty() {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            for session in sessions {
                handle.spawn(async move {
                    let _ = session.pc.close().await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_futures_stay_small() {
        let (s, _) = tokio::sync::mpsc::unbounded_channel();
        let (e, _) = tokio::sync::mpsc::unbounded_channel();
        let m = PeerManager::new(
            "a".into(),
            Arc::new(Identity::generate("d")),
            PeerConfig::loopback(),
            s,
            e,
        );
        let id = "b".to_owned();
        assert!(std::mem::size_of_val(&m.handle_signal(&id, PeerSignal::Hello { v: 1 })) < 1024);
        assert!(std::mem::size_of_val(&m.connect(&id)) < 1024);
        assert!(std::mem::size_of_val(&m.renegotiate(&id)) < 1024);
        assert!(std::mem::size_of_val(&m.send(&id, Bytes::new())) < 1024);
        assert!(std::mem::size_of_val(&m.close(&id)) < 1024);
    }

    #[test]
    fn peer_ids_are_checked() {
        assert!(validate_peer_id("peer-1").is_ok());
        assert!(validate_peer_id("").is_err());
        assert!(validate_peer_id("a\nb").is_err());
        assert!(validate_peer_id(&"x".repeat(MAX_PEER_ID_LEN + 1)).is_err());
    }
}
