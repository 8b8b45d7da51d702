//! The chat engine's side of calls: call frames travel on the peers' proven chat channels
//! (never through the server, so it never sees a call's descriptions), and the call book's
//! actions are carried out here. The rules themselves are in [`crate::calls`].

use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::{ChatEngine, Inner};
use crate::calls::{Action, CallError, CallFrame, CallPhase, CallSignal, CallView, Ended, RelayError, Relayed};
use crate::events::CoreEvent;
use parley_history::{InsertOutcome, NewMessage};
use parley_peer::{IdentityKey, PeerId, PeerManager};
use parley_protocol::User;

/// How long placing a call waits for a first channel to the person's devices before it rings
/// them through the server (signed) instead: long enough for a channel on a usable network,
/// short enough not to keep the caller waiting.
const REACH_WAIT: Duration = Duration::from_secs(2);
const REACH_POLL: Duration = Duration::from_millis(50);

impl ChatEngine {
    /// Calls `user_id` (video or sound only) on every device of theirs that can be reached.
    pub(crate) async fn start_call(&self, user_id: &str, video: bool) -> Result<CallView, CallError> {
        let me = self.me().ok_or(CallError::NotReachable)?;
        if me.id == user_id {
            return Err(CallError::ToSelf);
        }
        let current = self.inner.calls.lock().current();
        if let Some(current) = current {
            // Calling back someone whose call rings here takes their call (the book does it).
            if !(current.user_id == user_id && current.phase == CallPhase::RingingHere) {
                debug!(call = %current.id, "already in a call");
                return Err(CallError::AlreadyInCall);
            }
        }
        // Every device of theirs rings, so every one gets a channel; the call starts with
        // those open now (or soon), the others join while it rings.
        let online = self.inner.connect_devices(user_id).await;
        let deadline = tokio::time::Instant::now() + REACH_WAIT;
        let mut devices = self.inner.open_devices(user_id);
        while online.len() > devices.len() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(REACH_POLL).await;
            devices = self.inner.open_devices(user_id);
        }
        // The rest ring through the server; their channels may still open, and then carry
        // the call from there on.
        for device in online {
            if !devices.contains(&device) {
                devices.push(device);
            }
        }
        let (view, actions) =
            self.inner
                .calls
                .lock()
                .start(user_id, video, devices, Instant::now(), parley_history::now_ms())?;
        self.inner.call_actions(actions).await;
        Ok(view)
    }

    pub(crate) async fn answer_call(&self, id: &str) -> Result<(), CallError> {
        let actions = self
            .inner
            .calls
            .lock()
            .answer(id, Instant::now(), parley_history::now_ms())?;
        self.inner.call_actions(actions).await;
        Ok(())
    }

    pub(crate) async fn decline_call(&self, id: &str) -> Result<(), CallError> {
        let actions = self.inner.calls.lock().decline(id, parley_history::now_ms())?;
        self.inner.call_actions(actions).await;
        Ok(())
    }

    pub(crate) async fn hang_up_call(&self, id: &str) -> Result<(), CallError> {
        let actions = self.inner.calls.lock().hang_up(id, parley_history::now_ms())?;
        self.inner.call_actions(actions).await;
        Ok(())
    }

    /// The page's media connection for call `id`: connected (`failure` None), or failed.
    pub(crate) async fn call_media_state(&self, id: &str, failure: Option<&str>) -> Result<(), CallError> {
        let actions = self
            .inner
            .calls
            .lock()
            .media_state(id, failure, Instant::now(), parley_history::now_ms())?;
        self.inner.call_actions(actions).await;
        Ok(())
    }

    /// What the page sends now in call `id` (the microphone muted, the camera off).
    pub(crate) async fn set_call_media(&self, id: &str, audio: bool, video: bool) -> Result<(), CallError> {
        let actions = self
            .inner
            .calls
            .lock()
            .set_media(id, audio, video, parley_history::now_ms())?;
        self.inner.call_actions(actions).await;
        Ok(())
    }

    /// The page's description or ICE candidate for call `id`.
    pub(crate) async fn call_signal(&self, id: &str, signal: CallSignal) -> Result<(), CallError> {
        let actions = self
            .inner
            .calls
            .lock()
            .local_signal(id, signal, parley_history::now_ms())?;
        self.inner.call_actions(actions).await;
        Ok(())
    }

    /// The call going on or ringing, if any.
    pub(crate) fn current_call(&self) -> Option<CallView> {
        self.inner.calls.lock().current()
    }

    /// Whether this device's page can take calls.
    pub(crate) fn set_calls_supported(&self, supported: bool) {
        self.inner.calls.lock().set_supported(supported);
    }
}

impl Inner {
    /// A call frame from `peer`, a device of `user` (already through the identity checks).
    pub(super) async fn on_call_frame(&self, peer: &PeerId, user: &User, data: &[u8]) {
        let frame = match CallFrame::decode(data) {
            Ok(frame) => frame,
            Err(e) => {
                warn!(%peer, error = %e, "dropping an invalid call frame");
                return;
            }
        };
        self.take_call_frame(peer, user, frame).await;
    }

    /// A call frame relayed by the server from `from`, a device of `user`: taken only if that
    /// device's pinned key signed it for us.
    pub(super) async fn on_relayed_call(&self, from: &PeerId, user: &User, relayed: Result<Relayed, RelayError>) {
        let opened = async {
            let relayed = relayed?;
            let pinned = self.history.identities(&user.id).await.unwrap_or_default();
            let key = pinned
                .iter()
                .find(|p| p.device == relayed.device && p.pending.is_none())
                .map(|p| IdentityKey(p.key))
                .ok_or_else(|| RelayError::Unknown(relayed.device.clone()))?;
            let local = self.manager().map(|m| m.local_id().clone()).unwrap_or_default();
            relayed.open(&key, from, &local, parley_history::now_ms())
        };
        let frame = match opened.await {
            Ok(frame) => frame,
            Err(e) => {
                warn!(%from, error = %e, "relayed call frame refused");
                return;
            }
        };
        debug!(%from, kind = frame.kind(), "call frame through the server");
        self.take_call_frame(from, user, frame).await;
    }

    /// A checked call frame from `from`, whichever way it came.
    async fn take_call_frame(&self, from: &PeerId, user: &User, frame: CallFrame) {
        let may_ring = self.may_ring(&user.id).await;
        let actions = self.calls.lock().on_frame(
            from,
            &user.id,
            frame,
            may_ring,
            Instant::now(),
            parley_history::now_ms(),
        );
        self.call_actions(actions).await;
    }

    /// Calls come only from people we share a room with now, or have a conversation with.
    async fn may_ring(&self, user_id: &str) -> bool {
        let in_a_room = self
            .link
            .rooms()
            .iter()
            .any(|r| self.link.roster(r).iter().any(|p| p.user.id == user_id));
        in_a_room || matches!(self.history.conversation(user_id).await, Ok(Some(_)))
    }

    /// A device's chat channel is open (again).
    pub(super) async fn call_device_up(&self, peer: &PeerId, user_id: &str) {
        let actions = self.calls.lock().device_up(peer, user_id, parley_history::now_ms());
        self.call_actions(actions).await;
    }

    /// A device's channel closed.
    pub(super) async fn call_device_gone(&self, peer: &PeerId) {
        let actions = self
            .calls
            .lock()
            .device_gone(peer, Instant::now(), parley_history::now_ms());
        self.call_actions(actions).await;
    }

    /// Signing out or shutting down: calls end here.
    pub(super) async fn end_calls(&self, reason: &str) {
        let actions = self.calls.lock().end_all(reason, parley_history::now_ms());
        self.call_actions(actions).await;
    }

    /// When the calls' timers next need the engine.
    pub(super) fn call_deadline(&self) -> Option<Instant> {
        self.calls.lock().next_deadline()
    }

    pub(super) async fn on_call_timer(&self) {
        let actions = self.calls.lock().tick(Instant::now(), parley_history::now_ms());
        self.call_actions(actions).await;
    }

    /// Carries out what the call book decided; a changed deadline wakes the engine's timer.
    pub(super) async fn call_actions(&self, actions: Vec<Action>) {
        let manager = self.manager();
        for action in actions {
            match action {
                Action::Send(peer, frame) => {
                    let kind = frame.kind();
                    let Some(manager) = &manager else {
                        debug!(%peer, kind, "call frame not sent: offline");
                        continue;
                    };
                    if self.channel_open(manager, &peer) {
                        if let Err(e) = manager.send(&peer, frame.encode()).await {
                            debug!(%peer, kind, error = %e, "call frame not sent");
                        }
                        continue;
                    }
                    // No channel to that device (yet): through the server, signed.
                    let sealed = Relayed::seal(
                        &self.identity,
                        manager.local_id(),
                        &peer,
                        parley_history::now_ms(),
                        &frame,
                    );
                    if let Err(e) = self.link.signal(&peer, sealed.to_value()) {
                        debug!(%peer, kind, error = %e, "call frame not relayed");
                    }
                }
                Action::Emit(event) => self.emit(*event),
                Action::Record(ended) => self.record_call(ended).await,
            }
        }
        self.call_wake.notify_one();
    }

    /// Keeps a finished call in its conversation (and shows it there).
    async fn record_call(&self, ended: Ended) {
        info!(call = %ended.id, end = ?ended.end, "call over");
        let (me, title) = {
            let state = self.state();
            let title = state
                .peer_users
                .values()
                .find(|u| u.id == ended.user_id)
                .map_or_else(|| ended.user_id.clone(), |u| u.display_name.clone());
            (state.me.clone(), title)
        };
        let Some(me) = me else {
            return;
        };
        let body = if ended.video { "Video call" } else { "Audio call" };
        let id = ended.id.as_str();
        let new = if ended.outgoing {
            NewMessage::outgoing(&ended.user_id, id, &me.id, body, ended.started_at)
        } else {
            NewMessage::incoming(
                &ended.user_id,
                id,
                &ended.user_id,
                body,
                ended.started_at,
                ended.ended_at,
            )
        };
        match self.history.insert_titled(new.with_call(ended.record()), &title).await {
            Ok(InsertOutcome::Inserted(message)) => self.emit(CoreEvent::Message { message }),
            Ok(InsertOutcome::Duplicate(_)) => debug!(call = %ended.id, "call already kept"),
            Err(e) => warn!(error = %e, "could not keep a call in the history"),
        }
    }

    /// Whether call frames can go to `peer` over its chat channel.
    fn channel_open(&self, manager: &PeerManager, peer: &PeerId) -> bool {
        let state = self.state();
        state.greeted.contains(peer) && !state.held.contains(peer) && manager.is_open(peer)
    }

    /// Devices of `user_id` whose chat channel is open, greeted and not held.
    fn open_devices(&self, user_id: &str) -> Vec<PeerId> {
        let state = self.state();
        let Some(manager) = state.manager.clone() else {
            return Vec::new();
        };
        let mut peers: Vec<PeerId> = state
            .peer_users
            .iter()
            .filter(|(peer, user)| {
                user.id == user_id
                    && state.greeted.contains(*peer)
                    && !state.held.contains(*peer)
                    && manager.is_open(peer)
            })
            .map(|(peer, _)| peer.clone())
            .collect();
        peers.sort();
        peers
    }

    /// Starts a channel to each of `user_id`'s online devices that has none; returns their
    /// online devices.
    async fn connect_devices(&self, user_id: &str) -> Vec<PeerId> {
        let (manager, mut peers) = {
            let state = self.state();
            let Some(manager) = state.manager.clone() else {
                return Vec::new();
            };
            let peers: Vec<PeerId> = state
                .peer_users
                .iter()
                .filter(|(_, u)| u.id == user_id)
                .map(|(p, _)| p.clone())
                .collect();
            (manager, peers)
        };
        for peer in &peers {
            if manager.is_open(peer) {
                continue;
            }
            if let Err(e) = manager.connect(peer).await {
                debug!(%peer, error = %e, "could not start a connection for a call");
            }
        }
        peers.sort();
        peers
    }
}
