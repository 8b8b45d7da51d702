//! What the page and the CLI see of calls (generated into the UI's TypeScript types).

use serde::{Deserialize, Serialize};

pub use super::wire::SdpKind;

/// Who did something in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Party {
    /// The person using this device.
    Me,
    /// The other person.
    Them,
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CallPhase {
    /// Outgoing: reaching the other person's devices.
    Calling,
    /// Outgoing: it rings on at least one of their devices.
    RingingThere,
    /// Incoming: it rings here; Answer or Decline.
    RingingHere,
    /// Answered; the media connection is being made.
    Connecting,
    /// Talking.
    Active,
    /// Over; [`CallView::end`] says how.
    Ended,
}

impl CallPhase {
    /// In words, for messages.
    pub fn words(self) -> &'static str {
        match self {
            CallPhase::Calling => "calling",
            CallPhase::RingingThere => "ringing at the other end",
            CallPhase::RingingHere => "ringing",
            CallPhase::Connecting => "connecting",
            CallPhase::Active => "going on",
            CallPhase::Ended => "over",
        }
    }
}

/// How a call ended, as both sides show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CallEnd {
    /// Declined (by the person here, or by the one called).
    Declined {
        /// Who declined.
        by: Party,
    },
    /// The one called was already in a call.
    Busy,
    /// Nobody answered within the ring time.
    NoAnswer,
    /// The caller stopped before anyone answered (the caller's view).
    Cancelled,
    /// Not answered here: the caller stopped, or it rang out (the callee's view).
    Missed,
    /// Answered on another of this person's devices.
    AnsweredElsewhere,
    /// Declined on another of this person's devices.
    DeclinedElsewhere,
    /// None of their devices could be reached.
    Unreachable,
    /// Their devices cannot take calls (an app without call support, or no media there).
    Unsupported,
    /// Something broke; `reason` says what in words a person can act on.
    Failed {
        /// What broke, in words.
        reason: String,
    },
    /// Someone hung up an answered call.
    HungUp {
        /// Who hung up.
        by: Party,
    },
    /// Both called each other at the same moment: this call gave way to theirs (never shown).
    Merged,
}

/// A call as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallView {
    /// The call's id (every call command names it).
    pub id: String,
    /// The other person.
    pub user_id: String,
    /// Placed here (true) or received.
    pub outgoing: bool,
    /// A video call (false: sound only).
    pub video: bool,
    /// Where it is.
    pub phase: CallPhase,
    /// How it ended, once [`CallPhase::Ended`].
    pub end: Option<CallEnd>,
    /// Whether the other side sends sound / picture now (they muted, or turned the camera off).
    pub remote_audio: bool,
    /// See `remote_audio`.
    pub remote_video: bool,
    /// Unix milliseconds when it started ringing, and when the media connected (the duration
    /// runs from there).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub started_at: i64,
    /// See `started_at`.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub answered_at: Option<i64>,
}

/// Media negotiation for the page's connection of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CallSignal {
    /// Make the connection: the caller creates the offer, the callee waits for it. The STUN
    /// and TURN servers are the ones the data connections use.
    Start {
        /// This side makes the offer.
        offerer: bool,
        /// For `RTCPeerConnection`'s `iceServers`.
        ice_servers: Vec<CallIceServer>,
    },
    /// The other side's description.
    Sdp {
        /// Offer or answer.
        sdp_kind: SdpKind,
        /// The description.
        sdp: String,
    },
    /// One of the other side's ICE candidates (an empty `candidate`: no more are coming).
    Ice {
        /// The `candidate:` line.
        candidate: String,
        /// `sdpMid`.
        mid: Option<String>,
        /// `sdpMLineIndex`.
        mline: Option<u16>,
    },
}

/// A STUN or TURN server for the page's connection (`RTCIceServer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallIceServer {
    /// `stun:`/`turn:` URLs of one server.
    pub urls: Vec<String>,
    /// TURN only.
    pub username: Option<String>,
    /// TURN only; a secret.
    pub credential: Option<String>,
}

impl From<&parley_protocol::IceServer> for CallIceServer {
    fn from(server: &parley_protocol::IceServer) -> Self {
        CallIceServer {
            urls: server.urls.clone(),
            username: server.username.clone(),
            credential: server.credential.clone(),
        }
    }
}

/// Whether the app captures the call's microphone itself (`media_microphone`,
/// `docs/call-media-bridge.md`): when it does, the page sends no sound of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallMicrophone {
    /// Captured from the desktop's sound server and sent by the app.
    pub captured: bool,
    /// The sound server put its echo canceller in front of it.
    pub echo_cancelled: bool,
    /// The source captured, or why not (for the log, not for a person).
    pub detail: String,
}

/// Whether the app plays the other side's sound itself (`media_speaker`,
/// `docs/call-media-bridge.md`): when it does, the page gets no sound to play.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallSpeaker {
    /// Played by the app on the desktop's sound server.
    pub playing: bool,
    /// The output played to is the sound server's echo canceller.
    pub echo_cancelled: bool,
    /// The output played to, or why not (for the log, not for a person).
    pub detail: String,
}

/// An event of a call's media connection in Rust, for the page (`docs/call-media-bridge.md`):
/// JSON in an event record of `media_receive`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MediaEvent {
    /// Our description or candidate: pass it on with `call_signal`.
    Signal {
        /// An `sdp` or `ice` signal.
        signal: CallSignal,
    },
    /// The connection's state changed.
    State {
        /// As `RTCPeerConnection.connectionState`.
        state: MediaConnectionState,
    },
    /// The other side lost the picture: encode the next frame as a key frame.
    Keyframe,
    /// Every 2 s while connected: for the quality indicator and the camera's encoder.
    Stats {
        /// The round trip, when measured.
        rtt_ms: Option<f64>,
        /// RTP packets received so far, all kinds.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        packets_received: u64,
        /// RTP packets lost so far, all kinds.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        packets_lost: u64,
        /// The bitrate to encode the camera at, from the other side's loss reports on our video
        /// (loss-based congestion control); none before the first report and in audio calls.
        bitrate_bps: Option<u32>,
    },
    /// The microphone the app captured stopped (unplugged, the sound server gone): the page
    /// sends its own sound again.
    MicrophoneStopped,
    /// The app stopped playing the other side's sound (the sound server gone): it comes to the
    /// page again.
    SpeakerStopped,
}

/// A media connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MediaConnectionState {
    /// Being made.
    Connecting,
    /// Media flows.
    Connected,
    /// Lost for now; often back within seconds.
    Disconnected,
    /// Could not be made, or lost for good.
    Failed,
    /// Closed (the call ended).
    Closed,
}
