//! One call's state machine, both sides, without I/O: inputs are the person's choices, frames
//! from the other side's devices, what the media connection reports, and the clock; outputs
//! are [`Effect`]s for the engine to carry out. Every outcome a person can see is decided
//! here, so it is tested here (`docs/call-protocol.md` has the diagram).

use std::time::{Duration, Instant};

use parley_peer::PeerId;

use super::models::{CallEnd, CallPhase, Party};
use super::wire::{CallFrame, CallId, CancelReason, DeclineReason, SdpKind};

/// How long the calls' timers run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// An unanswered call stops ringing after this.
    pub(crate) ring: Duration,
    /// A call no device confirmed ringing within this fails as unreachable.
    pub(crate) reach: Duration,
    /// An answered call whose media has not connected within this fails.
    pub(crate) connect: Duration,
    /// A call whose other device has been gone this long ends.
    pub(crate) lost: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            ring: Duration::from_secs(60),
            reach: Duration::from_secs(20),
            connect: Duration::from_secs(30),
            lost: Duration::from_secs(15),
        }
    }
}

/// A ringing device gives up on a caller it stopped hearing from a little after the caller's
/// own ring timeout, so the caller's `no-answer` normally arrives first.
const RING_SLACK: Duration = Duration::from_secs(5);

/// What the engine must do after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Send a frame to one device.
    Send(PeerId, CallFrame),
    /// Tell the page to start this call's media connection; the caller makes the offer.
    StartMedia { offerer: bool },
    /// Hand a description or candidate from the other side to the page.
    Remote(RemoteSignal),
    /// The call's visible state changed.
    Changed,
}

/// Media negotiation from the other side, for the page's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RemoteSignal {
    Sdp {
        kind: SdpKind,
        sdp: String,
    },
    Ice {
        candidate: String,
        mid: Option<String>,
        mline: Option<u16>,
    },
}

/// Why an input changed nothing (logged by the engine, never shown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Ignored {
    #[error("from a device that is not part of this call")]
    WrongDevice,
    #[error("{0} does not fit the call's state")]
    OutOfOrder(&'static str),
    #[error("the call is over")]
    Over,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Outgoing: invites are out; whether a device has said it rings.
    Calling {
        ringing: bool,
    },
    /// Incoming: ringing here.
    Ringing,
    /// Answered; the media connection is being set up.
    Connecting,
    /// Media is flowing.
    Active,
    Ended(CallEnd),
}

#[derive(Debug, Clone)]
pub(crate) struct CallMachine {
    pub(crate) id: CallId,
    /// The other person.
    pub(crate) user_id: String,
    pub(crate) outgoing: bool,
    pub(crate) video: bool,
    phase: Phase,
    /// Outgoing, before an answer: the callee's devices still in play. Afterwards, and for an
    /// incoming call from the start: the one device the call is with.
    devices: Vec<PeerId>,
    /// Some device said `busy` (or could not take calls) rather than ringing.
    refusals: Option<DeclineReason>,
    started: Instant,
    answered: Option<Instant>,
    /// When the call's device went away, while it has not come back.
    lost_since: Option<Instant>,
    /// Answered: the media must connect by then.
    connect_deadline: Option<Instant>,
    timeouts: Timeouts,
    /// What the other side sends now (its `call-media`).
    pub(crate) remote_audio: bool,
    pub(crate) remote_video: bool,
}

impl CallMachine {
    /// A call placed here to the devices of `user_id`: invites go to each.
    pub(crate) fn outgoing(
        id: CallId,
        user_id: &str,
        video: bool,
        devices: Vec<PeerId>,
        now: Instant,
        timeouts: Timeouts,
    ) -> (CallMachine, Vec<Effect>) {
        let machine = CallMachine {
            outgoing: true,
            devices,
            phase: Phase::Calling { ringing: false },
            ..CallMachine::new(id, user_id, video, now, timeouts)
        };
        let effects = machine
            .devices
            .iter()
            .map(|d| Effect::Send(d.clone(), machine.invite()))
            .collect();
        (machine, effects)
    }

    /// A call from `device` of `user_id`, ringing here.
    pub(crate) fn incoming(
        id: CallId,
        user_id: &str,
        device: PeerId,
        video: bool,
        now: Instant,
        timeouts: Timeouts,
    ) -> (CallMachine, Vec<Effect>) {
        let machine = CallMachine {
            devices: vec![device.clone()],
            ..CallMachine::new(id, user_id, video, now, timeouts)
        };
        let ringing = CallFrame::Ringing {
            call: machine.id.clone(),
        };
        (machine, vec![Effect::Send(device, ringing), Effect::Changed])
    }

    /// An incoming call ringing here, from no device yet (the constructors fill that in).
    fn new(id: CallId, user_id: &str, video: bool, now: Instant, timeouts: Timeouts) -> CallMachine {
        CallMachine {
            id,
            user_id: user_id.to_owned(),
            outgoing: false,
            video,
            phase: Phase::Ringing,
            devices: Vec::new(),
            refusals: None,
            started: now,
            answered: None,
            lost_since: None,
            connect_deadline: None,
            timeouts,
            remote_audio: true,
            remote_video: video,
        }
    }

    fn invite(&self) -> CallFrame {
        CallFrame::Invite {
            call: self.id.clone(),
            video: self.video,
            v: super::wire::CALL_PROTOCOL_VERSION,
        }
    }

    /// Where the call is, for the person.
    pub(crate) fn phase(&self) -> CallPhase {
        match &self.phase {
            Phase::Calling { ringing: false } => CallPhase::Calling,
            Phase::Calling { ringing: true } => CallPhase::RingingThere,
            Phase::Ringing => CallPhase::RingingHere,
            Phase::Connecting => CallPhase::Connecting,
            Phase::Active => CallPhase::Active,
            Phase::Ended(_) => CallPhase::Ended,
        }
    }

    /// How it ended; None while it goes on.
    pub(crate) fn end(&self) -> Option<&CallEnd> {
        match &self.phase {
            Phase::Ended(end) => Some(end),
            _ => None,
        }
    }

    pub(crate) fn is_over(&self) -> bool {
        matches!(self.phase, Phase::Ended(_))
    }

    /// Outgoing and not answered yet (glare is decided between two of these).
    pub(crate) fn is_unanswered_outgoing(&self) -> bool {
        self.outgoing && matches!(self.phase, Phase::Calling { .. })
    }

    /// When the media connected (the call's duration runs from here).
    pub(crate) fn answered(&self) -> Option<Instant> {
        self.answered
    }

    /// The device the call is with, once there is only one.
    pub(crate) fn device(&self) -> Option<&PeerId> {
        match self.phase {
            Phase::Calling { .. } => None,
            _ => self.devices.first(),
        }
    }

    /// Whether `peer` is one of the devices this call involves now.
    pub(crate) fn involves(&self, peer: &PeerId) -> bool {
        self.devices.contains(peer)
    }

    /// A device of the callee has a channel now while it rings: it rings too — or again, if
    /// its invite went through the server and may not have been taken (it is taken only from
    /// a device met directly before); a device already ringing just says so again.
    pub(crate) fn add_device(&mut self, peer: PeerId) -> Vec<Effect> {
        if !matches!(self.phase, Phase::Calling { .. }) {
            return Vec::new();
        }
        if !self.devices.contains(&peer) {
            self.devices.push(peer.clone());
        }
        vec![Effect::Send(peer, self.invite())]
    }

    /// The person here answers a ringing call.
    pub(crate) fn answer(&mut self, now: Instant) -> Result<Vec<Effect>, Ignored> {
        if self.phase != Phase::Ringing {
            return Err(Ignored::OutOfOrder("answering"));
        }
        self.phase = Phase::Connecting;
        self.connect_deadline = Some(now + self.timeouts.connect);
        let device = self.devices[0].clone();
        Ok(vec![
            Effect::Send(device, CallFrame::Accept { call: self.id.clone() }),
            Effect::StartMedia { offerer: false },
            Effect::Changed,
        ])
    }

    /// The person here declines a ringing call.
    pub(crate) fn decline(&mut self) -> Result<Vec<Effect>, Ignored> {
        if self.phase != Phase::Ringing {
            return Err(Ignored::OutOfOrder("declining"));
        }
        let device = self.devices[0].clone();
        self.phase = Phase::Ended(CallEnd::Declined { by: Party::Me });
        Ok(vec![
            Effect::Send(
                device,
                CallFrame::Decline {
                    call: self.id.clone(),
                    reason: DeclineReason::Declined,
                },
            ),
            Effect::Changed,
        ])
    }

    /// The person here ends the call, whatever its state: cancel, decline or hang up.
    pub(crate) fn hang_up(&mut self) -> Result<Vec<Effect>, Ignored> {
        match self.phase {
            Phase::Calling { .. } => Ok(self.cancel_all(CancelReason::Cancelled, CallEnd::Cancelled)),
            Phase::Ringing => self.decline(),
            Phase::Connecting | Phase::Active => {
                let device = self.devices[0].clone();
                self.phase = Phase::Ended(CallEnd::HungUp { by: Party::Me });
                Ok(vec![
                    Effect::Send(
                        device,
                        CallFrame::Hangup {
                            call: self.id.clone(),
                            failed: None,
                        },
                    ),
                    Effect::Changed,
                ])
            }
            Phase::Ended(_) => Err(Ignored::Over),
        }
    }

    /// Stops every device still ringing and ends with `end`.
    fn cancel_all(&mut self, reason: CancelReason, end: CallEnd) -> Vec<Effect> {
        let mut effects: Vec<Effect> = self
            .devices
            .iter()
            .map(|d| {
                Effect::Send(
                    d.clone(),
                    CallFrame::Cancel {
                        call: self.id.clone(),
                        reason,
                    },
                )
            })
            .collect();
        self.phase = Phase::Ended(end);
        effects.push(Effect::Changed);
        effects
    }

    /// Glare: this unanswered call gives way to the one `device` placed to us at the same
    /// moment. That device drops ours by the same rule; the callee's other devices, ringing
    /// for ours, are told it was answered elsewhere (it was: on that device's side).
    pub(crate) fn merge_into_theirs(&mut self, device: &PeerId) -> Vec<Effect> {
        if !self.is_unanswered_outgoing() {
            return Vec::new();
        }
        self.devices.retain(|d| d != device);
        let mut effects = self.cancel_all(CancelReason::AnsweredElsewhere, CallEnd::Merged);
        effects.retain(|e| *e != Effect::Changed);
        effects
    }

    /// The page's media connection is up: the call is on.
    pub(crate) fn media_connected(&mut self, now: Instant) -> Result<Vec<Effect>, Ignored> {
        match self.phase {
            Phase::Connecting => {
                self.phase = Phase::Active;
                self.answered = Some(now);
                Ok(vec![Effect::Changed])
            }
            Phase::Active => Ok(Vec::new()),
            Phase::Ended(_) => Err(Ignored::Over),
            _ => Err(Ignored::OutOfOrder("media connected")),
        }
    }

    /// The page's media connection could not be made or broke for good.
    pub(crate) fn media_failed(&mut self, reason: &str) -> Result<Vec<Effect>, Ignored> {
        match self.phase {
            Phase::Connecting | Phase::Active => {
                let device = self.devices[0].clone();
                // Bounded like a frame that arrives, so the other side takes it.
                let reason: String = reason
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(super::wire::MAX_REASON_CHARS)
                    .collect();
                self.phase = Phase::Ended(CallEnd::Failed { reason: reason.clone() });
                Ok(vec![
                    Effect::Send(
                        device,
                        CallFrame::Hangup {
                            call: self.id.clone(),
                            failed: Some(reason),
                        },
                    ),
                    Effect::Changed,
                ])
            }
            Phase::Ended(_) => Err(Ignored::Over),
            _ => Err(Ignored::OutOfOrder("media failed")),
        }
    }

    /// The page's own description or candidate, to send to the other device.
    pub(crate) fn local_signal(&self, frame: CallFrame) -> Result<Vec<Effect>, Ignored> {
        match self.phase {
            Phase::Connecting | Phase::Active => Ok(vec![Effect::Send(self.devices[0].clone(), frame)]),
            Phase::Ended(_) => Err(Ignored::Over),
            _ => Err(Ignored::OutOfOrder("a media signal before the answer")),
        }
    }

    /// A frame about this call from `from`, one of the other person's devices.
    pub(crate) fn on_frame(&mut self, from: &PeerId, frame: CallFrame, now: Instant) -> Result<Vec<Effect>, Ignored> {
        if self.is_over() {
            return Err(Ignored::Over);
        }
        if !self.devices.contains(from) {
            return Err(Ignored::WrongDevice);
        }
        match (&self.phase, frame) {
            // A resent invite (the first `ringing` was lost): say it again.
            (Phase::Ringing, CallFrame::Invite { .. }) => Ok(vec![Effect::Send(
                from.clone(),
                CallFrame::Ringing { call: self.id.clone() },
            )]),
            (Phase::Calling { .. }, CallFrame::Ringing { .. }) => {
                self.phase = Phase::Calling { ringing: true };
                Ok(vec![Effect::Changed])
            }
            (Phase::Calling { .. }, CallFrame::Accept { .. }) => {
                let others: Vec<PeerId> = self.devices.iter().filter(|d| *d != from).cloned().collect();
                let mut effects: Vec<Effect> = others
                    .into_iter()
                    .map(|d| {
                        Effect::Send(
                            d,
                            CallFrame::Cancel {
                                call: self.id.clone(),
                                reason: CancelReason::AnsweredElsewhere,
                            },
                        )
                    })
                    .collect();
                self.devices = vec![from.clone()];
                self.phase = Phase::Connecting;
                self.connect_deadline = Some(now + self.timeouts.connect);
                effects.push(Effect::StartMedia { offerer: true });
                effects.push(Effect::Changed);
                Ok(effects)
            }
            (Phase::Calling { .. }, CallFrame::Decline { reason, .. }) => Ok(self.declined_by(from, reason)),
            (Phase::Ringing, CallFrame::Cancel { reason, .. }) => {
                self.phase = Phase::Ended(match reason {
                    CancelReason::AnsweredElsewhere => CallEnd::AnsweredElsewhere,
                    CancelReason::DeclinedElsewhere => CallEnd::DeclinedElsewhere,
                    CancelReason::Cancelled | CancelReason::NoAnswer => CallEnd::Missed,
                });
                Ok(vec![Effect::Changed])
            }
            (Phase::Connecting | Phase::Active, CallFrame::Hangup { failed, .. }) => {
                self.phase = Phase::Ended(match failed {
                    Some(reason) => CallEnd::Failed { reason },
                    None => CallEnd::HungUp { by: Party::Them },
                });
                Ok(vec![Effect::Changed])
            }
            (Phase::Connecting | Phase::Active, CallFrame::Sdp { kind, sdp, .. }) => {
                // The caller offers and the callee answers; anything else would let the other
                // side renegotiate our connection in ways the page does not expect.
                let expected = if self.outgoing { SdpKind::Answer } else { SdpKind::Offer };
                if kind != expected {
                    return Err(Ignored::OutOfOrder("a description of the wrong kind"));
                }
                Ok(vec![Effect::Remote(RemoteSignal::Sdp { kind, sdp })])
            }
            (
                Phase::Connecting | Phase::Active,
                CallFrame::Ice {
                    candidate, mid, mline, ..
                },
            ) => Ok(vec![Effect::Remote(RemoteSignal::Ice { candidate, mid, mline })]),
            (Phase::Connecting | Phase::Active, CallFrame::Media { audio, video, .. }) => {
                if (audio, video) == (self.remote_audio, self.remote_video) {
                    return Ok(Vec::new());
                }
                self.remote_audio = audio;
                self.remote_video = video;
                Ok(vec![Effect::Changed])
            }
            (_, frame) => Err(Ignored::OutOfOrder(frame.kind())),
        }
    }

    /// A callee device will not take the call: a person's `declined` ends it everywhere; a
    /// device that is busy or cannot take calls only drops out, unless it was the last.
    fn declined_by(&mut self, from: &PeerId, reason: DeclineReason) -> Vec<Effect> {
        if reason == DeclineReason::Declined {
            self.devices.retain(|d| d != from);
            return self.cancel_all(CancelReason::DeclinedElsewhere, CallEnd::Declined { by: Party::Them });
        }
        self.devices.retain(|d| d != from);
        self.refusals = match (self.refusals, reason) {
            (Some(DeclineReason::Busy), _) => Some(DeclineReason::Busy),
            (_, reason) => Some(reason),
        };
        if !self.devices.is_empty() {
            return Vec::new();
        }
        self.phase = Phase::Ended(match self.refusals {
            Some(DeclineReason::Busy) => CallEnd::Busy,
            _ => CallEnd::Unsupported,
        });
        vec![Effect::Changed]
    }

    /// One of the other person's devices disconnected.
    pub(crate) fn device_gone(&mut self, peer: &PeerId, now: Instant) -> Vec<Effect> {
        if self.is_over() || !self.devices.contains(peer) {
            return Vec::new();
        }
        match self.phase {
            Phase::Calling { .. } => {
                self.devices.retain(|d| d != peer);
                if self.devices.is_empty() {
                    self.phase = Phase::Ended(CallEnd::Failed {
                        reason: "connection lost".into(),
                    });
                    return vec![Effect::Changed];
                }
                Vec::new()
            }
            Phase::Ringing => {
                self.phase = Phase::Ended(CallEnd::Missed);
                vec![Effect::Changed]
            }
            // The media may well still flow; the call ends only if the device stays away.
            Phase::Connecting | Phase::Active => {
                self.lost_since.get_or_insert(now);
                Vec::new()
            }
            Phase::Ended(_) => Vec::new(),
        }
    }

    /// The call's device is back.
    pub(crate) fn device_back(&mut self, peer: &PeerId) {
        if self.device() == Some(peer) {
            self.lost_since = None;
        }
    }

    /// The next moment [`CallMachine::tick`] has something to decide.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let phase = match self.phase {
            Phase::Calling { ringing: false } => Some((self.started + self.timeouts.reach).min(self.ring_end())),
            Phase::Calling { ringing: true } => Some(self.ring_end()),
            Phase::Ringing => Some(self.ring_end() + RING_SLACK),
            Phase::Connecting => self.connect_deadline,
            Phase::Active | Phase::Ended(_) => None,
        };
        let lost = self.lost_since.map(|at| at + self.timeouts.lost);
        match (phase, lost) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn ring_end(&self) -> Instant {
        self.started + self.timeouts.ring
    }

    /// Timers: a call nobody answered, one that never rang, media that never came up, a
    /// device that stayed away.
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<Effect> {
        if self.lost_since.is_some_and(|at| now >= at + self.timeouts.lost) && !self.is_over() {
            self.phase = Phase::Ended(CallEnd::Failed {
                reason: "connection lost".into(),
            });
            return vec![Effect::Changed];
        }
        match self.phase {
            Phase::Calling { ringing } if now >= self.ring_end() => {
                let end = if ringing {
                    CallEnd::NoAnswer
                } else {
                    CallEnd::Unreachable
                };
                self.cancel_all(CancelReason::NoAnswer, end)
            }
            Phase::Calling { ringing: false } if now >= self.started + self.timeouts.reach => {
                self.cancel_all(CancelReason::NoAnswer, CallEnd::Unreachable)
            }
            Phase::Ringing if now >= self.ring_end() + RING_SLACK => {
                self.phase = Phase::Ended(CallEnd::Missed);
                vec![Effect::Changed]
            }
            Phase::Connecting if self.connect_deadline.is_some_and(|at| now >= at) => self
                .media_failed("the call's media did not connect")
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> CallId {
        CallId::try_from(format!("{n:02x}").repeat(16)).unwrap()
    }

    fn dev(name: &str) -> PeerId {
        name.to_owned()
    }

    fn sent(effects: &[Effect]) -> Vec<(PeerId, &'static str)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(to, frame) => Some((to.clone(), frame.kind())),
                _ => None,
            })
            .collect()
    }

    fn frame(kind: &str, call: &CallId) -> CallFrame {
        let call = call.clone();
        match kind {
            "ringing" => CallFrame::Ringing { call },
            "accept" => CallFrame::Accept { call },
            "hangup" => CallFrame::Hangup { call, failed: None },
            "declined" => CallFrame::Decline {
                call,
                reason: DeclineReason::Declined,
            },
            "busy" => CallFrame::Decline {
                call,
                reason: DeclineReason::Busy,
            },
            "unsupported" => CallFrame::Decline {
                call,
                reason: DeclineReason::Unsupported,
            },
            other => panic!("no test frame {other}"),
        }
    }

    /// A call from here to bob's two devices, both ringing.
    fn ringing_there(t0: Instant) -> CallMachine {
        let (mut call, effects) = CallMachine::outgoing(
            id(1),
            "bob",
            true,
            vec![dev("laptop"), dev("phone")],
            t0,
            Timeouts::default(),
        );
        assert_eq!(
            sent(&effects),
            [(dev("laptop"), "call-invite"), (dev("phone"), "call-invite")]
        );
        assert_eq!(call.phase(), CallPhase::Calling);
        call.on_frame(&dev("laptop"), frame("ringing", &id(1)), t0).unwrap();
        call.on_frame(&dev("phone"), frame("ringing", &id(1)), t0).unwrap();
        assert_eq!(call.phase(), CallPhase::RingingThere);
        call
    }

    #[test]
    fn the_first_device_to_answer_takes_the_call_and_the_others_stop() {
        let t0 = Instant::now();
        let mut call = ringing_there(t0);
        let effects = call.on_frame(&dev("phone"), frame("accept", &id(1)), t0).unwrap();
        assert_eq!(sent(&effects), [(dev("laptop"), "call-cancel")]);
        assert!(effects.contains(&Effect::Send(
            dev("laptop"),
            CallFrame::Cancel {
                call: id(1),
                reason: CancelReason::AnsweredElsewhere
            }
        )));
        assert!(effects.contains(&Effect::StartMedia { offerer: true }));
        assert_eq!(call.phase(), CallPhase::Connecting);
        assert_eq!(call.device(), Some(&dev("phone")));
        // A late answer from the other device changes nothing.
        assert_eq!(
            call.on_frame(&dev("laptop"), frame("accept", &id(1)), t0),
            Err(Ignored::WrongDevice)
        );
        call.media_connected(t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(call.phase(), CallPhase::Active);
        assert_eq!(call.answered(), Some(t0 + Duration::from_secs(2)));
        let effects = call.hang_up().unwrap();
        assert_eq!(sent(&effects), [(dev("phone"), "call-hangup")]);
        assert_eq!(call.end(), Some(&CallEnd::HungUp { by: Party::Me }));
    }

    #[test]
    fn a_callee_answers_declines_or_hears_the_caller_give_up() {
        let t0 = Instant::now();
        let (mut call, effects) = CallMachine::incoming(id(2), "ann", dev("desk"), false, t0, Timeouts::default());
        assert_eq!(sent(&effects), [(dev("desk"), "call-ringing")]);
        assert_eq!(call.phase(), CallPhase::RingingHere);
        // A resent invite gets its ringing again.
        let again = call
            .on_frame(
                &dev("desk"),
                CallFrame::Invite {
                    call: id(2),
                    video: false,
                    v: 1,
                },
                t0,
            )
            .unwrap();
        assert_eq!(sent(&again), [(dev("desk"), "call-ringing")]);
        let effects = call.answer(t0).unwrap();
        assert_eq!(sent(&effects), [(dev("desk"), "call-accept")]);
        assert!(effects.contains(&Effect::StartMedia { offerer: false }));
        assert_eq!(call.answer(t0), Err(Ignored::OutOfOrder("answering")));
        call.on_frame(&dev("desk"), frame("hangup", &id(2)), t0).unwrap();
        assert_eq!(call.end(), Some(&CallEnd::HungUp { by: Party::Them }));

        let (mut declined, _) = CallMachine::incoming(id(3), "ann", dev("desk"), true, t0, Timeouts::default());
        let effects = declined.decline().unwrap();
        assert_eq!(sent(&effects), [(dev("desk"), "call-decline")]);
        assert_eq!(declined.end(), Some(&CallEnd::Declined { by: Party::Me }));

        for (reason, end) in [
            (CancelReason::Cancelled, CallEnd::Missed),
            (CancelReason::NoAnswer, CallEnd::Missed),
            (CancelReason::AnsweredElsewhere, CallEnd::AnsweredElsewhere),
            (CancelReason::DeclinedElsewhere, CallEnd::DeclinedElsewhere),
        ] {
            let (mut call, _) = CallMachine::incoming(id(4), "ann", dev("desk"), true, t0, Timeouts::default());
            call.on_frame(&dev("desk"), CallFrame::Cancel { call: id(4), reason }, t0)
                .unwrap();
            assert_eq!(call.end(), Some(&end), "{reason:?}");
        }
    }

    #[test]
    fn a_decline_on_one_device_ends_the_call_and_stops_the_others() {
        let t0 = Instant::now();
        let mut call = ringing_there(t0);
        let effects = call.on_frame(&dev("laptop"), frame("declined", &id(1)), t0).unwrap();
        assert_eq!(sent(&effects), [(dev("phone"), "call-cancel")]);
        assert_eq!(call.end(), Some(&CallEnd::Declined { by: Party::Them }));
    }

    #[test]
    fn busy_only_when_every_device_is_busy() {
        let t0 = Instant::now();
        let mut call = ringing_there(t0);
        assert!(call
            .on_frame(&dev("laptop"), frame("busy", &id(1)), t0)
            .unwrap()
            .is_empty());
        assert_eq!(call.phase(), CallPhase::RingingThere, "the phone still rings");
        call.on_frame(&dev("phone"), frame("unsupported", &id(1)), t0).unwrap();
        assert_eq!(call.end(), Some(&CallEnd::Busy));

        let (mut call, _) = CallMachine::outgoing(id(5), "bob", false, vec![dev("old")], t0, Timeouts::default());
        call.on_frame(&dev("old"), frame("unsupported", &id(5)), t0).unwrap();
        assert_eq!(call.end(), Some(&CallEnd::Unsupported));
    }

    #[test]
    fn the_caller_cancels_before_an_answer() {
        let t0 = Instant::now();
        let mut call = ringing_there(t0);
        let effects = call.hang_up().unwrap();
        assert_eq!(
            sent(&effects),
            [(dev("laptop"), "call-cancel"), (dev("phone"), "call-cancel")]
        );
        assert_eq!(call.end(), Some(&CallEnd::Cancelled));
        assert_eq!(call.hang_up(), Err(Ignored::Over));
        assert_eq!(
            call.on_frame(&dev("phone"), frame("accept", &id(1)), t0),
            Err(Ignored::Over)
        );
    }

    #[test]
    fn timers_end_calls_nobody_answers_or_that_never_ring_or_never_connect() {
        let t = Timeouts::default();
        let t0 = Instant::now();
        // Rang, nobody answered: no-answer after a minute, and the devices stop.
        let mut call = ringing_there(t0);
        assert_eq!(call.next_deadline(), Some(t0 + t.ring));
        assert!(call.tick(t0 + t.ring - Duration::from_millis(1)).is_empty());
        let effects = call.tick(t0 + t.ring);
        assert_eq!(sent(&effects).len(), 2);
        assert_eq!(call.end(), Some(&CallEnd::NoAnswer));

        // Never rang anywhere: unreachable much sooner.
        let (mut call, _) = CallMachine::outgoing(id(6), "bob", true, vec![dev("laptop")], t0, t);
        assert_eq!(call.next_deadline(), Some(t0 + t.reach));
        call.tick(t0 + t.reach);
        assert_eq!(call.end(), Some(&CallEnd::Unreachable));

        // Ringing here and the caller vanished without a word: missed, a little after its
        // own ring time.
        let (mut call, _) = CallMachine::incoming(id(7), "ann", dev("desk"), true, t0, t);
        call.tick(t0 + t.ring);
        assert_eq!(call.phase(), CallPhase::RingingHere);
        call.tick(t0 + t.ring + RING_SLACK);
        assert_eq!(call.end(), Some(&CallEnd::Missed));

        // Answered, but the media never connected: failed, and the other side is told.
        let (mut call, _) = CallMachine::incoming(id(8), "ann", dev("desk"), true, t0, t);
        let answered_at = t0 + Duration::from_secs(50);
        call.answer(answered_at).unwrap();
        assert_eq!(call.next_deadline(), Some(answered_at + t.connect));
        let effects = call.tick(answered_at + t.connect);
        assert_eq!(sent(&effects), [(dev("desk"), "call-hangup")]);
        assert!(matches!(call.end(), Some(CallEnd::Failed { .. })));
    }

    #[test]
    fn a_device_that_goes_away_mid_call_ends_it_only_if_it_stays_away() {
        let t = Timeouts::default();
        let t0 = Instant::now();
        let (mut call, _) = CallMachine::incoming(id(9), "ann", dev("desk"), true, t0, t);
        call.answer(t0).unwrap();
        call.media_connected(t0).unwrap();
        assert_eq!(call.next_deadline(), None);
        call.device_gone(&dev("desk"), t0);
        assert_eq!(call.next_deadline(), Some(t0 + t.lost));
        call.device_back(&dev("desk"));
        assert_eq!(call.next_deadline(), None);
        assert!(call.tick(t0 + t.lost).is_empty());
        call.device_gone(&dev("desk"), t0 + t.lost);
        call.tick(t0 + t.lost * 2);
        assert_eq!(
            call.end(),
            Some(&CallEnd::Failed {
                reason: "connection lost".into()
            })
        );

        // Ringing here and the caller's device left: missed.
        let (mut call, _) = CallMachine::incoming(id(10), "ann", dev("desk"), true, t0, t);
        call.device_gone(&dev("other"), t0);
        assert_eq!(
            call.phase(),
            CallPhase::RingingHere,
            "another device's leaving is not ours"
        );
        call.device_gone(&dev("desk"), t0);
        assert_eq!(call.end(), Some(&CallEnd::Missed));

        // Calling and every device left.
        let mut call = ringing_there(t0);
        call.device_gone(&dev("laptop"), t0);
        assert_eq!(call.phase(), CallPhase::RingingThere);
        call.device_gone(&dev("phone"), t0);
        assert!(matches!(call.end(), Some(CallEnd::Failed { .. })));
    }

    #[test]
    fn media_signals_pass_only_the_right_way_and_only_once_answered() {
        let t0 = Instant::now();
        let offer = |call: &CallId, kind| CallFrame::Sdp {
            call: call.clone(),
            kind,
            sdp: "v=0\r\n".into(),
        };
        let (mut callee, _) = CallMachine::incoming(id(11), "ann", dev("desk"), true, t0, Timeouts::default());
        assert_eq!(
            callee.on_frame(&dev("desk"), offer(&id(11), SdpKind::Offer), t0),
            Err(Ignored::OutOfOrder("call-sdp")),
            "no negotiation before the answer"
        );
        callee.answer(t0).unwrap();
        let effects = callee
            .on_frame(&dev("desk"), offer(&id(11), SdpKind::Offer), t0)
            .unwrap();
        assert!(matches!(
            &effects[..],
            [Effect::Remote(RemoteSignal::Sdp {
                kind: SdpKind::Offer,
                ..
            })]
        ));
        assert!(callee
            .on_frame(&dev("desk"), offer(&id(11), SdpKind::Answer), t0)
            .is_err());
        let ice = CallFrame::Ice {
            call: id(11),
            candidate: String::new(),
            mid: None,
            mline: None,
        };
        assert!(matches!(
            &callee.on_frame(&dev("desk"), ice, t0).unwrap()[..],
            [Effect::Remote(RemoteSignal::Ice { .. })]
        ));
        assert_eq!(
            callee.on_frame(&dev("intruder"), frame("hangup", &id(11)), t0),
            Err(Ignored::WrongDevice)
        );
        let muted = CallFrame::Media {
            call: id(11),
            audio: false,
            video: true,
        };
        assert_eq!(
            callee.on_frame(&dev("desk"), muted.clone(), t0).unwrap(),
            [Effect::Changed]
        );
        assert!(!callee.remote_audio && callee.remote_video);
        assert!(
            callee.on_frame(&dev("desk"), muted, t0).unwrap().is_empty(),
            "no change, no event"
        );

        let mut caller = ringing_there(t0);
        assert!(
            caller.local_signal(offer(&id(1), SdpKind::Offer)).is_err(),
            "not before the answer"
        );
        caller.on_frame(&dev("phone"), frame("accept", &id(1)), t0).unwrap();
        assert_eq!(
            sent(&caller.local_signal(offer(&id(1), SdpKind::Offer)).unwrap()),
            [(dev("phone"), "call-sdp")]
        );
        assert!(caller
            .on_frame(&dev("phone"), offer(&id(1), SdpKind::Offer), t0)
            .is_err());
        assert!(caller
            .on_frame(&dev("phone"), offer(&id(1), SdpKind::Answer), t0)
            .is_ok());
    }

    #[test]
    fn a_failure_reaches_the_other_side_with_its_reason_bounded() {
        let t0 = Instant::now();
        let (mut callee, _) = CallMachine::incoming(id(12), "ann", dev("desk"), true, t0, Timeouts::default());
        callee.answer(t0).unwrap();
        let long = format!("no microphone\n{}", "!".repeat(500));
        let effects = callee.media_failed(&long).unwrap();
        let Some(Effect::Send(_, hangup)) = effects.first() else {
            panic!("a hang-up is sent: {effects:?}")
        };
        let CallFrame::Hangup {
            failed: Some(reason), ..
        } = hangup.clone()
        else {
            panic!("with the reason: {hangup:?}")
        };
        assert_eq!(reason.chars().count(), crate::calls::wire::MAX_REASON_CHARS);
        assert!(!reason.contains('\n'));
        assert!(CallFrame::decode(&hangup.encode()).is_ok(), "the other side takes it");

        let mut caller = ringing_there(t0);
        caller.on_frame(&dev("phone"), frame("accept", &id(1)), t0).unwrap();
        let failed = CallFrame::Hangup {
            call: id(1),
            failed: Some("no microphone".into()),
        };
        caller.on_frame(&dev("phone"), failed, t0).unwrap();
        assert_eq!(
            caller.end(),
            Some(&CallEnd::Failed {
                reason: "no microphone".into()
            })
        );
    }

    #[test]
    fn another_device_coming_online_while_it_rings_rings_too() {
        let t0 = Instant::now();
        let mut call = ringing_there(t0);
        assert_eq!(sent(&call.add_device(dev("tablet"))), [(dev("tablet"), "call-invite")]);
        assert_eq!(
            sent(&call.add_device(dev("tablet"))),
            [(dev("tablet"), "call-invite")],
            "again over its new channel"
        );
        call.on_frame(&dev("tablet"), frame("accept", &id(1)), t0).unwrap();
        assert!(call.add_device(dev("watch")).is_empty(), "not once answered");
    }
}
