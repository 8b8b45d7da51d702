//! The calls of one signed-in device: at most one at a time, the rules between calls (busy,
//! glare, ring rate limits, who may ring at all) and the translation of each call's
//! [`Effect`]s into what the chat engine sends, shows and records. No I/O here either.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parley_peer::PeerId;
use tracing::{debug, info};

use super::machine::{CallMachine, Effect, Ignored, RemoteSignal, Timeouts};
use super::models::{CallEnd, CallIceServer, CallSignal, CallView};
use super::wire::{CallFrame, CallId, DeclineReason, SdpKind};
use crate::events::CoreEvent;
use parley_history::{CallOutcome, CallRecord};

/// Rings one person may start here per [`RING_WINDOW`]; more are dropped unanswered.
const MAX_RINGS: usize = 5;
const RING_WINDOW: Duration = Duration::from_secs(60);

/// Why a call command was refused (shown to the person as `{code, message}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// One call at a time.
    #[error("you are already in a call: hang up first")]
    AlreadyInCall,
    /// None of their devices has a channel to us.
    #[error("they are not online: a call needs them online (send a message instead)")]
    NotReachable,
    /// The call ended (or never was).
    #[error("that call is over")]
    NoSuchCall,
    /// Answering a call that is not ringing, sending media before the answer…
    #[error("that cannot be done now: the call is {0}")]
    NotNow(String),
    /// The callee is the caller.
    #[error("calling yourself is not possible")]
    ToSelf,
    /// The page's description or candidate is out of bounds or of the wrong kind.
    #[error("{0}")]
    InvalidSignal(&'static str),
}

impl CallError {
    /// Its stable code (`docs/app-ipc.md`).
    pub fn code(&self) -> &'static str {
        match self {
            CallError::AlreadyInCall => "already_in_call",
            CallError::NotReachable => "not_reachable",
            CallError::NoSuchCall => "no_such_call",
            CallError::NotNow(_) => "call_not_now",
            CallError::ToSelf => "call_to_self",
            CallError::InvalidSignal(_) => "invalid_call_signal",
        }
    }
}

/// What the chat engine must do for the calls.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// A call frame to one device.
    Send(PeerId, CallFrame),
    /// An event for the page.
    Emit(Box<CoreEvent>),
    /// A call ended: keep it in the conversation's history.
    Record(Ended),
}

/// A finished call, for the history.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ended {
    pub(crate) id: CallId,
    pub(crate) user_id: String,
    pub(crate) outgoing: bool,
    pub(crate) video: bool,
    pub(crate) end: CallEnd,
    /// Unix milliseconds.
    pub(crate) started_at: i64,
    pub(crate) answered_at: Option<i64>,
    pub(crate) ended_at: i64,
}

impl Ended {
    /// What the conversation keeps of it.
    pub(crate) fn record(&self) -> CallRecord {
        let outcome = match (&self.end, self.answered_at) {
            (_, Some(_)) => CallOutcome::Answered,
            (CallEnd::Declined { .. }, _) => CallOutcome::Declined,
            (CallEnd::Busy, _) if self.outgoing => CallOutcome::Busy,
            (CallEnd::Busy | CallEnd::Missed, _) => CallOutcome::Missed,
            (CallEnd::NoAnswer, _) => CallOutcome::NoAnswer,
            (CallEnd::Cancelled | CallEnd::HungUp { .. } | CallEnd::Merged, _) => CallOutcome::Cancelled,
            (CallEnd::AnsweredElsewhere, _) => CallOutcome::AnsweredElsewhere,
            (CallEnd::DeclinedElsewhere, _) => CallOutcome::DeclinedElsewhere,
            (CallEnd::Unreachable, _) => CallOutcome::Unreachable,
            (CallEnd::Unsupported, _) => CallOutcome::Unsupported,
            (CallEnd::Failed { .. }, _) => CallOutcome::Failed,
        };
        CallRecord {
            video: self.video,
            outcome,
            duration_ms: self.answered_at.map(|at| (self.ended_at - at).max(0)),
        }
    }
}

struct Entry {
    machine: CallMachine,
    started_at: i64,
    answered_at: Option<i64>,
}

pub(crate) struct CallBook {
    calls: HashMap<CallId, Entry>,
    timeouts: Timeouts,
    /// Recent invites per person, for the rate limit.
    rings: HashMap<String, VecDeque<Instant>>,
    /// Whether this device can take calls (its page has the media for them).
    supported: bool,
    /// For the page's media connections.
    ice_servers: Vec<CallIceServer>,
}

impl CallBook {
    pub(crate) fn new(timeouts: Timeouts, ice_servers: Vec<CallIceServer>) -> CallBook {
        CallBook {
            calls: HashMap::new(),
            timeouts,
            rings: HashMap::new(),
            supported: true,
            ice_servers,
        }
    }

    /// Whether this device can take calls; when it cannot, incoming calls are answered
    /// `unsupported` (and kept as missed) instead of ringing.
    pub(crate) fn set_supported(&mut self, supported: bool) {
        self.supported = supported;
    }

    /// The call going on (or ringing), if any.
    pub(crate) fn current(&self) -> Option<CallView> {
        self.calls.values().find(|e| !e.machine.is_over()).map(view)
    }

    fn busy(&self) -> bool {
        self.calls.values().any(|e| !e.machine.is_over())
    }

    /// Calls `user_id` on `devices` (those with an open channel).
    pub(crate) fn start(
        &mut self,
        user_id: &str,
        video: bool,
        devices: Vec<PeerId>,
        now: Instant,
        now_ms: i64,
    ) -> Result<(CallView, Vec<Action>), CallError> {
        if self.busy() {
            return Err(CallError::AlreadyInCall);
        }
        if devices.is_empty() {
            return Err(CallError::NotReachable);
        }
        let id = CallId::new();
        info!(call = %id, video, devices = devices.len(), "calling");
        let (machine, effects) = CallMachine::outgoing(id.clone(), user_id, video, devices, now, self.timeouts);
        self.add(machine, now_ms);
        let mut actions = self.apply(&id, effects, now_ms);
        // The first state, even though nothing "changed" yet.
        let shown = view(&self.calls[&id]);
        actions.push(Action::Emit(Box::new(CoreEvent::Call { call: shown.clone() })));
        Ok((shown, actions))
    }

    pub(crate) fn answer(&mut self, id: &str, now: Instant, now_ms: i64) -> Result<Vec<Action>, CallError> {
        self.command(id, now_ms, |m| m.answer(now))
    }

    pub(crate) fn decline(&mut self, id: &str, now_ms: i64) -> Result<Vec<Action>, CallError> {
        self.command(id, now_ms, CallMachine::decline)
    }

    pub(crate) fn hang_up(&mut self, id: &str, now_ms: i64) -> Result<Vec<Action>, CallError> {
        self.command(id, now_ms, CallMachine::hang_up)
    }

    /// The page's media connection: up (`failure` None) or broken for good.
    pub(crate) fn media_state(
        &mut self,
        id: &str,
        failure: Option<&str>,
        now: Instant,
        now_ms: i64,
    ) -> Result<Vec<Action>, CallError> {
        match failure {
            None => self.command(id, now_ms, |m| m.media_connected(now)),
            Some(reason) => self.command(id, now_ms, |m| m.media_failed(reason)),
        }
    }

    /// What this side sends now (mute, camera off), for the other side to show.
    pub(crate) fn set_media(
        &mut self,
        id: &str,
        audio: bool,
        video: bool,
        now_ms: i64,
    ) -> Result<Vec<Action>, CallError> {
        let call = self.known(id)?;
        let frame = CallFrame::Media { call, audio, video };
        self.command(id, now_ms, |m| m.local_signal(frame))
    }

    /// The page's description or candidate for the other side.
    pub(crate) fn local_signal(&mut self, id: &str, signal: CallSignal, now_ms: i64) -> Result<Vec<Action>, CallError> {
        let call = self.known(id)?;
        let frame = match signal {
            CallSignal::Sdp { sdp_kind, sdp } => CallFrame::Sdp {
                call,
                kind: sdp_kind,
                sdp,
            },
            CallSignal::Ice { candidate, mid, mline } => CallFrame::Ice {
                call,
                candidate,
                mid,
                mline,
            },
            CallSignal::Start { .. } => {
                return Err(CallError::InvalidSignal("only descriptions and candidates are sent"))
            }
        };
        // The same bounds as for frames that arrive, so a page cannot make us send what the
        // other side must refuse.
        let checked = CallFrame::decode(&frame.encode())
            .map_err(|_| CallError::InvalidSignal("a description or candidate out of bounds"))?;
        if let CallFrame::Sdp { kind, .. } = &checked {
            let ours = if self.calls[&checked.call().clone()].machine.outgoing {
                SdpKind::Offer
            } else {
                SdpKind::Answer
            };
            if *kind != ours {
                return Err(CallError::InvalidSignal("the caller offers and the callee answers"));
            }
        }
        self.command(id, now_ms, |m| m.local_signal(checked))
    }

    fn add(&mut self, machine: CallMachine, now_ms: i64) {
        self.calls.insert(
            machine.id.clone(),
            Entry {
                machine,
                started_at: now_ms,
                answered_at: None,
            },
        );
    }

    fn known(&self, id: &str) -> Result<CallId, CallError> {
        let id = CallId::try_from(id.to_owned()).map_err(|_| CallError::NoSuchCall)?;
        match self.calls.get(&id) {
            Some(e) if !e.machine.is_over() => Ok(id),
            _ => Err(CallError::NoSuchCall),
        }
    }

    fn command(
        &mut self,
        id: &str,
        now_ms: i64,
        f: impl FnOnce(&mut CallMachine) -> Result<Vec<Effect>, Ignored>,
    ) -> Result<Vec<Action>, CallError> {
        let id = self.known(id)?;
        let entry = self.calls.get_mut(&id).expect("known");
        match f(&mut entry.machine) {
            Ok(effects) => Ok(self.apply(&id, effects, now_ms)),
            Err(why) => {
                debug!(call = %id, %why, "call command refused");
                Err(match why {
                    Ignored::Over => CallError::NoSuchCall,
                    _ => CallError::NotNow(entry.machine.phase().words().to_owned()),
                })
            }
        }
    }

    /// A call frame from `from`, a device of `user_id`. `may_ring`: whether this person may
    /// call us at all (they share a room or a conversation with us).
    pub(crate) fn on_frame(
        &mut self,
        from: &PeerId,
        user_id: &str,
        frame: CallFrame,
        may_ring: bool,
        now: Instant,
        now_ms: i64,
    ) -> Vec<Action> {
        let id = frame.call().clone();
        if let CallFrame::Invite { video, .. } = frame {
            if !self.calls.contains_key(&id) {
                return self.invited(from, user_id, id, video, may_ring, now, now_ms);
            }
        }
        let Some(entry) = self.calls.get_mut(&id) else {
            debug!(call = %id, kind = frame.kind(), "frame about no call here: dropped");
            return Vec::new();
        };
        if entry.machine.user_id != user_id {
            debug!(call = %id, kind = frame.kind(), "frame about someone else's call: dropped");
            return Vec::new();
        }
        let kind = frame.kind();
        match entry.machine.on_frame(from, frame, now) {
            Ok(effects) => self.apply(&id, effects, now_ms),
            Err(why) => {
                debug!(call = %id, kind, %why, "call frame dropped");
                Vec::new()
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn invited(
        &mut self,
        from: &PeerId,
        user_id: &str,
        id: CallId,
        video: bool,
        may_ring: bool,
        now: Instant,
        now_ms: i64,
    ) -> Vec<Action> {
        if !may_ring {
            debug!(call = %id, "call from someone who shares no room or conversation: dropped");
            return Vec::new();
        }
        let rings = self.rings.entry(user_id.to_owned()).or_default();
        while rings.front().is_some_and(|at| now.duration_since(*at) >= RING_WINDOW) {
            rings.pop_front();
        }
        if rings.len() >= MAX_RINGS {
            debug!(call = %id, "too many calls from this person: dropped");
            return Vec::new();
        }
        rings.push_back(now);

        // Glare: we are calling them while they call us. Both sides keep the call with the
        // lower id; the side whose call gave way answers the other at once.
        let glare = self
            .calls
            .iter()
            .find(|(_, e)| e.machine.user_id == user_id && e.machine.is_unanswered_outgoing())
            .map(|(ours, _)| ours.clone());
        if let Some(ours) = glare {
            if ours < id {
                debug!(call = %id, ours = %ours, "both called at once: ours stands");
                return Vec::new();
            }
            info!(call = %id, ours = %ours, "both called at once: theirs stands, answered");
            let mut actions = Vec::new();
            if let Some(entry) = self.calls.get_mut(&ours) {
                // Their side drops our invite by the same rule; our other devices' rings
                // stop with the cancel they get from the answer.
                entry.machine.drop_silently(CallEnd::Merged);
                actions.extend(self.apply(&ours, vec![Effect::Changed], now_ms));
            }
            let (machine, effects) =
                CallMachine::incoming(id.clone(), user_id, from.clone(), video, now, self.timeouts);
            self.add(machine, now_ms);
            actions.extend(self.apply(&id, effects, now_ms));
            let answered = self
                .calls
                .get_mut(&id)
                .expect("just added")
                .machine
                .answer(now)
                .unwrap_or_default();
            actions.extend(self.apply(&id, answered, now_ms));
            return actions;
        }

        let refusal = if self.busy() {
            Some(DeclineReason::Busy)
        } else if !self.supported {
            Some(DeclineReason::Unsupported)
        } else {
            None
        };
        if let Some(reason) = refusal {
            info!(call = %id, ?reason, "call not taken");
            let end = match reason {
                DeclineReason::Busy => CallEnd::Busy,
                _ => CallEnd::Unsupported,
            };
            return vec![
                Action::Send(
                    from.clone(),
                    CallFrame::Decline {
                        call: id.clone(),
                        reason,
                    },
                ),
                Action::Record(Ended {
                    id,
                    user_id: user_id.to_owned(),
                    outgoing: false,
                    video,
                    end,
                    started_at: now_ms,
                    answered_at: None,
                    ended_at: now_ms,
                }),
            ];
        }
        info!(call = %id, video, "ringing");
        let (machine, effects) = CallMachine::incoming(id.clone(), user_id, from.clone(), video, now, self.timeouts);
        self.add(machine, now_ms);
        self.apply(&id, effects, now_ms)
    }

    /// A device of `user_id` has an open channel (again): a call with it goes on; a call to
    /// that person still ringing rings there too.
    pub(crate) fn device_up(&mut self, peer: &PeerId, user_id: &str, now_ms: i64) -> Vec<Action> {
        let mut actions = Vec::new();
        let ids: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, e)| e.machine.user_id == user_id && !e.machine.is_over())
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            let entry = self.calls.get_mut(&id).expect("listed");
            entry.machine.device_back(peer);
            let effects = entry.machine.add_device(peer.clone());
            actions.extend(self.apply(&id, effects, now_ms));
        }
        actions
    }

    /// A device's channel closed.
    pub(crate) fn device_gone(&mut self, peer: &PeerId, now: Instant, now_ms: i64) -> Vec<Action> {
        let ids: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, e)| e.machine.involves(peer))
            .map(|(id, _)| id.clone())
            .collect();
        let mut actions = Vec::new();
        for id in ids {
            let effects = self.calls.get_mut(&id).expect("listed").machine.device_gone(peer, now);
            actions.extend(self.apply(&id, effects, now_ms));
        }
        actions
    }

    /// Signing out or going offline: every call ends here (the other side's timers end theirs).
    pub(crate) fn end_all(&mut self, reason: &str, now_ms: i64) -> Vec<Action> {
        let ids: Vec<CallId> = self.calls.keys().cloned().collect();
        let mut actions = Vec::new();
        for id in ids {
            let entry = self.calls.get_mut(&id).expect("listed");
            if entry.machine.is_over() {
                continue;
            }
            // Say goodbye where we can; the frames go out only if a channel is still open.
            debug!(call = %id, reason, "call ended here");
            let effects = entry.machine.hang_up().unwrap_or_default();
            actions.extend(self.apply(&id, effects, now_ms));
        }
        actions
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.calls.values().filter_map(|e| e.machine.next_deadline()).min()
    }

    pub(crate) fn tick(&mut self, now: Instant, now_ms: i64) -> Vec<Action> {
        let ids: Vec<CallId> = self.calls.keys().cloned().collect();
        let mut actions = Vec::new();
        for id in ids {
            let effects = self.calls.get_mut(&id).expect("listed").machine.tick(now);
            actions.extend(self.apply(&id, effects, now_ms));
        }
        actions
    }

    /// Turns a call's effects into actions; a call that ended is recorded and forgotten.
    fn apply(&mut self, id: &CallId, effects: Vec<Effect>, now_ms: i64) -> Vec<Action> {
        let Some(entry) = self.calls.get_mut(id) else {
            return Vec::new();
        };
        if entry.answered_at.is_none() && entry.machine.answered().is_some() {
            entry.answered_at = Some(now_ms);
        }
        let mut actions = Vec::new();
        let mut changed = false;
        for effect in effects {
            match effect {
                Effect::Send(to, frame) => actions.push(Action::Send(to, frame)),
                Effect::StartMedia { offerer } => actions.push(Action::Emit(Box::new(CoreEvent::CallSignal {
                    call_id: id.to_string(),
                    signal: CallSignal::Start {
                        offerer,
                        ice_servers: self.ice_servers.clone(),
                    },
                }))),
                Effect::Remote(signal) => actions.push(Action::Emit(Box::new(CoreEvent::CallSignal {
                    call_id: id.to_string(),
                    signal: match signal {
                        RemoteSignal::Sdp { kind, sdp } => CallSignal::Sdp { sdp_kind: kind, sdp },
                        RemoteSignal::Ice { candidate, mid, mline } => CallSignal::Ice { candidate, mid, mline },
                    },
                }))),
                Effect::Changed => changed = true,
            }
        }
        if changed {
            actions.push(Action::Emit(Box::new(CoreEvent::Call { call: view(entry) })));
        }
        if let Some(end) = entry.machine.end().cloned() {
            let entry = self.calls.remove(id).expect("present");
            info!(call = %id, ?end, "call over");
            if end != CallEnd::Merged {
                actions.push(Action::Record(Ended {
                    id: id.clone(),
                    user_id: entry.machine.user_id.clone(),
                    outgoing: entry.machine.outgoing,
                    video: entry.machine.video,
                    end,
                    started_at: entry.started_at,
                    answered_at: entry.answered_at,
                    ended_at: now_ms,
                }));
            }
        }
        actions
    }
}

fn view(entry: &Entry) -> CallView {
    let m = &entry.machine;
    CallView {
        id: m.id.to_string(),
        user_id: m.user_id.clone(),
        outgoing: m.outgoing,
        video: m.video,
        phase: m.phase(),
        end: m.end().cloned(),
        remote_audio: m.remote_audio,
        remote_video: m.remote_video,
        started_at: entry.started_at,
        answered_at: entry.answered_at,
    }
}
