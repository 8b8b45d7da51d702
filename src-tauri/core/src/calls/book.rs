//! The calls of one signed-in device: at most one at a time, the rules between calls (busy,
//! glare, ring rate limits, who may ring at all) and the translation of each call's
//! [`Effect`]s into what the chat engine sends, shows and records. No I/O here either.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parley_peer::PeerId;
use tracing::{debug, info};

use super::machine::{CallMachine, Effect, Ignored, RemoteSignal, Timeouts};
use super::models::{CallEnd, CallIceServer, CallPhase, CallSignal, CallView};
use super::wire::{CallFrame, CallId, DeclineReason, SdpKind};
use crate::events::CoreEvent;
use parley_history::{CallOutcome, CallRecord};

/// Calls remembered after they ended, so a late copy of an invite cannot ring again.
const REMEMBER_ENDED: usize = 64;
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
    /// This device's window cannot carry a call.
    #[error("calls are not available in this window yet: its web view has no WebRTC")]
    Unavailable,
    /// The page's description or candidate is out of bounds or of the wrong kind.
    #[error("{0}")]
    InvalidSignal(&'static str),
    /// What the page sent for the call's media connection in Rust is not media records.
    #[error("not call media: {0}")]
    InvalidMedia(String),
    /// The call's media connection in Rust could not be made or used.
    #[error("{0}")]
    MediaFailed(String),
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
            CallError::Unavailable => "calls_unavailable",
            CallError::InvalidSignal(_) => "invalid_call_signal",
            CallError::InvalidMedia(_) => "invalid_call_media",
            CallError::MediaFailed(_) => "call_media_failed",
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
    /// The latest calls that ended here, newest last.
    ended: VecDeque<CallId>,
}

impl CallBook {
    pub(crate) fn new(timeouts: Timeouts, ice_servers: Vec<CallIceServer>) -> CallBook {
        CallBook {
            calls: HashMap::new(),
            timeouts,
            rings: HashMap::new(),
            supported: true,
            ice_servers,
            ended: VecDeque::new(),
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
        // They are calling us right now: calling them back means taking their call.
        let ringing_from_them = self
            .calls
            .values()
            .find(|e| e.machine.user_id == user_id && e.machine.phase() == CallPhase::RingingHere)
            .map(|e| e.machine.id.clone());
        if let Some(theirs) = ringing_from_them {
            info!(call = %theirs, "calling someone whose call rings here: answered instead");
            let actions = self.answer(theirs.as_str(), now, now_ms)?;
            let shown = view(&self.calls[&theirs]);
            return Ok((shown, actions));
        }
        if !self.supported {
            return Err(CallError::Unavailable);
        }
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

    fn remember_ended(&mut self, id: &CallId) {
        self.ended.push_back(id.clone());
        if self.ended.len() > REMEMBER_ENDED {
            self.ended.pop_front();
        }
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
        if self.ended.contains(&id) {
            debug!(call = %id, kind = frame.kind(), "frame about a call that is over: dropped");
            return Vec::new();
        }
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
                let mut effects = entry.machine.merge_into_theirs(from);
                effects.push(Effect::Changed);
                actions.extend(self.apply(&ours, effects, now_ms));
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
            self.remember_ended(&id);
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
            self.remember_ended(id);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sends(actions: &[Action]) -> Vec<(PeerId, &'static str)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send(to, frame) => Some((to.clone(), frame.kind())),
                _ => None,
            })
            .collect()
    }

    fn invite(id: &CallId) -> CallFrame {
        CallFrame::Invite {
            call: id.clone(),
            video: true,
            v: 1,
        }
    }

    #[test]
    fn glare_keeps_the_lower_id_and_stops_the_other_devices_ringing_for_ours() {
        let now = Instant::now();
        let mut book = CallBook::new(Timeouts::default(), Vec::new());
        // We call bob's laptop and phone; his laptop calls us at the same moment.
        let (ours, _) = book
            .start("bob", true, vec!["laptop".into(), "phone".into()], now, 0)
            .unwrap();
        let ours = CallId::try_from(ours.id).unwrap();
        let lower = CallId::try_from("0".repeat(32)).unwrap();
        let higher = CallId::try_from("f".repeat(32)).unwrap();
        let theirs = if ours < higher { higher.clone() } else { lower.clone() };
        let actions = book.on_frame(&"laptop".into(), "bob", invite(&theirs), true, now, 1);
        if ours < theirs {
            assert!(actions.is_empty(), "ours stands; theirs is dropped by their side too");
            assert_eq!(book.current().unwrap().id, ours.to_string());
        } else {
            assert_eq!(
                sends(&actions),
                [
                    ("phone".to_owned(), "call-cancel"),
                    ("laptop".to_owned(), "call-ringing"),
                    ("laptop".to_owned(), "call-accept")
                ],
                "the phone stops ringing for ours; theirs is answered at once"
            );
            let current = book.current().unwrap();
            assert_eq!(
                (current.id.as_str(), current.phase),
                (theirs.as_str(), CallPhase::Connecting)
            );
            assert!(
                !actions.iter().any(|a| matches!(a, Action::Record(_))),
                "the merged call leaves no entry"
            );
        }
    }

    #[test]
    fn calling_back_someone_whose_call_rings_here_answers_it() {
        let now = Instant::now();
        let mut book = CallBook::new(Timeouts::default(), Vec::new());
        let theirs = CallId::try_from("b".repeat(32)).unwrap();
        book.on_frame(&"desk".into(), "ann", invite(&theirs), true, now, 0);
        let (shown, actions) = book.start("ann", false, vec!["desk".into()], now, 1).unwrap();
        assert_eq!(
            (shown.id.as_str(), shown.phase),
            (theirs.as_str(), CallPhase::Connecting)
        );
        assert_eq!(sends(&actions), [("desk".to_owned(), "call-accept")]);
        assert_eq!(
            book.start("carl", false, vec!["pc".into()], now, 2).unwrap_err(),
            CallError::AlreadyInCall
        );
    }

    #[test]
    fn an_invite_for_a_call_that_is_over_never_rings_again() {
        let now = Instant::now();
        let mut book = CallBook::new(Timeouts::default(), Vec::new());
        let id = CallId::try_from("a".repeat(32)).unwrap();
        book.on_frame(&"desk".into(), "ann", invite(&id), true, now, 0);
        book.decline(id.as_str(), 1).unwrap();
        assert!(book.current().is_none());
        assert!(book
            .on_frame(&"desk".into(), "ann", invite(&id), true, now, 2)
            .is_empty());
        assert!(book.current().is_none());
    }

    #[test]
    fn rings_only_from_people_who_may_ring_and_not_too_often() {
        let now = Instant::now();
        let mut book = CallBook::new(Timeouts::default(), Vec::new());
        let id = |n: u8| CallId::try_from(format!("{n:02x}").repeat(16)).unwrap();
        assert!(book
            .on_frame(&"x".into(), "stranger", invite(&id(1)), false, now, 0)
            .is_empty());
        assert!(book.current().is_none(), "a stranger does not ring");
        let mut answered = 0;
        for n in 2..20 {
            answered += usize::from(
                !book
                    .on_frame(&"d".into(), "ann", invite(&id(n)), true, now, 0)
                    .is_empty(),
            );
        }
        assert_eq!(
            answered, MAX_RINGS,
            "one rings, the others are answered busy, up to the limit"
        );
        // A minute later she may ring again (and gets busy: the first still rings).
        let later = now + RING_WINDOW;
        let actions = book.on_frame(&"d".into(), "ann", invite(&id(30)), true, later, 0);
        assert_eq!(sends(&actions), [("d".to_owned(), "call-decline")]);
    }
}
