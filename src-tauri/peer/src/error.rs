use super::PeerId;

/// Why a peer-layer call failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// Empty, too long, or with control characters.
    #[error("invalid peer id")]
    InvalidPeerId,
    /// The remote is the local peer.
    #[error("cannot connect to ourselves")]
    SelfConnection,
    /// No channel to that peer is open (yet, or any more).
    #[error("no open channel to {0}")]
    NotOpen(PeerId),
    /// Over [`crate::MAX_FRAME_LEN`].
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    FrameTooLarge {
        /// The frame's size.
        len: usize,
        /// The largest allowed.
        max: usize,
    },
    /// A signal of a protocol version this build does not speak.
    #[error("unsupported peer protocol version {0}")]
    UnsupportedVersion(u32),
    /// Malformed content: unparsable SDP or candidate, oversized field, id out of range.
    #[error("invalid signal: {0}")]
    InvalidSignal(String),
    /// A well-formed signal that makes no sense in the current state (an answer with no offer,
    /// a candidate before any offer, an offer from the peer that should be answering).
    #[error("unexpected {kind}: {reason}")]
    UnexpectedSignal {
        /// The signal's kind (`offer`, `answer`, …).
        kind: &'static str,
        /// Why it makes no sense now.
        reason: &'static str,
    },
    /// An extra channel's stream id that the remote may not pick (ours, the chat channel's,
    /// or out of range).
    #[error("channel id {0} is not one the remote may open")]
    InvalidChannel(u16),
    /// Every extra channel id of this connection has been used.
    #[error("no channel ids left on this connection")]
    ChannelsExhausted,
    /// webrtc-rs failed.
    #[error("webrtc: {0}")]
    WebRtc(#[from] webrtc::error::Error),
}
