use super::PeerId;

/// Why a peer-layer call failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("invalid peer id")]
    InvalidPeerId,
    #[error("cannot connect to ourselves")]
    SelfConnection,
    #[error("no open channel to {0}")]
    NotOpen(PeerId),
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    FrameTooLarge { len: usize, max: usize },
    #[error("unsupported peer protocol version {0}")]
    UnsupportedVersion(u32),
    /// Malformed content: unparsable SDP or candidate, oversized field, id out of range.
    #[error("invalid signal: {0}")]
    InvalidSignal(String),
    /// A well-formed signal that makes no sense in the current state (an answer with no offer,
    /// a candidate before any offer, an offer from the peer that should be answering).
    #[error("unexpected {kind}: {reason}")]
    UnexpectedSignal { kind: &'static str, reason: &'static str },
    #[error("webrtc: {0}")]
    WebRtc(#[from] webrtc::error::Error),
}
