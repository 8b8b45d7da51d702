//! The peer-to-peer negotiation messages carried in the signaling server's `signal.data`.
//! The wire format is documented in `docs/peer-protocol.md`.

use serde::{Deserialize, Serialize};

use super::PeerError;

/// Version spoken by this build. Carried by the two messages that start a connection, so an
/// incompatible peer is refused before any WebRTC state is created.
pub const PROTOCOL_VERSION: u32 = 1;

/// Identifies one negotiated connection between two peers. Chosen at random by the offerer and
/// echoed in every later message, so that messages about a connection that has since been
/// replaced (a restart, a reconnect) are recognised and ignored instead of corrupting the new
/// one. Kept below 2^53 so a JavaScript peer can hold it in a number without rounding.
pub type SessionId = u64;

/// Largest session id; see [`SessionId`].
pub const MAX_SESSION_ID: SessionId = (1 << 53) - 1;

/// SDP for a data channel is under 1 KiB and with audio and video a few KiB. The relay refuses
/// frames over 64 KiB, and JSON escaping grows SDP (`\r\n` becomes four bytes), so a larger
/// description could not be delivered anyway.
pub const MAX_SDP_LEN: usize = 32 * 1024;
/// An ICE candidate line is under 200 bytes in practice.
pub const MAX_CANDIDATE_LEN: usize = 1024;
/// A media id (`sdp_mid`) is a few characters.
pub(crate) const MAX_MID_LEN: usize = 64;

/// One negotiation message, sent to or received from a remote peer through the signaling relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PeerSignal {
    /// "Please offer to me": sent by the peer with the larger id, which never offers.
    Hello {
        /// The sender's [`PROTOCOL_VERSION`].
        v: u32,
    },
    /// Starts a connection (new `session`) or renegotiates the current one (same `session`).
    Offer {
        /// The sender's [`PROTOCOL_VERSION`].
        v: u32,
        /// The connection's id.
        session: SessionId,
        /// The SDP offer.
        sdp: String,
    },
    /// The answer to the offer of `session`.
    Answer {
        /// The connection's id.
        session: SessionId,
        /// The SDP answer.
        sdp: String,
    },
    /// One trickled local ICE candidate; an empty `candidate` marks the end of gathering.
    Candidate {
        /// The connection's id.
        session: SessionId,
        /// The `candidate:` line (the prefix may be left out).
        candidate: String,
        /// The media stream it belongs to.
        #[serde(default)]
        sdp_mid: Option<String>,
        /// The index of that media stream in the SDP.
        #[serde(default)]
        sdp_mline_index: Option<u16>,
    },
    /// The sender has closed this connection.
    Bye {
        /// The connection's id.
        session: SessionId,
    },
}

impl PeerSignal {
    /// Short name for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            PeerSignal::Hello { .. } => "hello",
            PeerSignal::Offer { .. } => "offer",
            PeerSignal::Answer { .. } => "answer",
            PeerSignal::Candidate { .. } => "candidate",
            PeerSignal::Bye { .. } => "bye",
        }
    }

    /// Checks what can be checked without connection state: versions, sizes, id range.
    pub(crate) fn validate(&self) -> Result<(), PeerError> {
        let check_session = |session: SessionId| {
            if session == 0 || session > MAX_SESSION_ID {
                Err(PeerError::InvalidSignal(format!("session id {session} out of range")))
            } else {
                Ok(())
            }
        };
        let check_version = |v: u32| {
            if v == PROTOCOL_VERSION {
                Ok(())
            } else {
                Err(PeerError::UnsupportedVersion(v))
            }
        };
        let check_len = |what: &str, len: usize, max: usize| {
            if len > max {
                Err(PeerError::InvalidSignal(format!("{what} of {len} bytes exceeds {max}")))
            } else {
                Ok(())
            }
        };
        match self {
            PeerSignal::Hello { v } => check_version(*v),
            PeerSignal::Offer { v, session, sdp } => {
                check_version(*v)?;
                check_session(*session)?;
                check_len("sdp", sdp.len(), MAX_SDP_LEN)
            }
            PeerSignal::Answer { session, sdp } => {
                check_session(*session)?;
                check_len("sdp", sdp.len(), MAX_SDP_LEN)
            }
            PeerSignal::Candidate {
                session,
                candidate,
                sdp_mid,
                ..
            } => {
                check_session(*session)?;
                check_len("candidate", candidate.len(), MAX_CANDIDATE_LEN)?;
                check_len("sdp_mid", sdp_mid.as_ref().map_or(0, String::len), MAX_MID_LEN)
            }
            PeerSignal::Bye { session } => check_session(*session),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_tagged_kebab_case() {
        let json = serde_json::to_value(PeerSignal::Hello { v: 1 }).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "hello", "v": 1}));
        let json = serde_json::to_value(PeerSignal::Candidate {
            session: 7,
            candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
        })
        .unwrap();
        assert_eq!(json["kind"], "candidate");
        assert_eq!(json["sdp_mid"], "0");
        let back: PeerSignal = serde_json::from_value(serde_json::json!({"kind": "bye", "session": 7})).unwrap();
        assert_eq!(back, PeerSignal::Bye { session: 7 });
    }

    #[test]
    fn unknown_fields_are_ignored_unknown_kinds_are_not() {
        let s: PeerSignal =
            serde_json::from_value(serde_json::json!({"kind": "hello", "v": 1, "future": true})).unwrap();
        assert_eq!(s, PeerSignal::Hello { v: 1 });
        assert!(serde_json::from_value::<PeerSignal>(serde_json::json!({"kind": "teleport"})).is_err());
    }

    #[test]
    fn validation_rejects_bad_versions_sizes_and_ids() {
        assert!(matches!(
            PeerSignal::Hello { v: 2 }.validate(),
            Err(PeerError::UnsupportedVersion(2))
        ));
        let huge = "x".repeat(MAX_SDP_LEN + 1);
        assert!(PeerSignal::Offer {
            v: 1,
            session: 1,
            sdp: huge
        }
        .validate()
        .is_err());
        assert!(PeerSignal::Bye { session: 0 }.validate().is_err());
        assert!(PeerSignal::Bye {
            session: MAX_SESSION_ID + 1
        }
        .validate()
        .is_err());
        assert!(PeerSignal::Bye {
            session: MAX_SESSION_ID
        }
        .validate()
        .is_ok());
    }
}
