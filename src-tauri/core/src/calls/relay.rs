//! Call frames through the signaling server, for a device with no open data channel to us
//! (say, one whose network lets only the webview's TURN over TCP through). The server relays
//! them but must not be able to make or change one: each is signed with the sending device's
//! identity key, over the frame, both peer ids and the time, and is taken only from a device
//! whose key this device pinned when it met it directly.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::wire::{CallFrame, CallFrameError};
use parley_peer::{Identity, IdentityKey};

/// The `relay` field that marks a relayed call frame among the server's signals.
pub(crate) const RELAY_KIND: &str = "call/1";
/// What the signature covers first, so it can never pass for another kind of signature.
const CONTEXT: &[u8] = b"parley-call-relay/1\n";
/// How far a relayed frame's time may be from ours (clocks disagree a little; a replay later
/// than this is refused).
const MAX_SKEW_MS: i64 = 120_000;

/// A relayed call frame as it travels (the `data` of a server `signal`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Relayed {
    /// Always [`RELAY_KIND`].
    pub(crate) relay: String,
    /// The call frame's JSON, exactly as signed.
    pub(crate) frame: String,
    /// The sending device's id (which pinned key to check it with).
    pub(crate) device: String,
    /// The sender's clock, Unix milliseconds.
    pub(crate) at: i64,
    /// Ed25519 signature, base64.
    pub(crate) sig: String,
}

/// Why a relayed frame was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum RelayError {
    #[error("not a relayed call frame")]
    NotOne,
    #[error("sent {0} ms away from our clock: stale or replayed")]
    Stale(i64),
    #[error("no pinned key for device {0:?} of this person: relayed calls only come from devices met directly")]
    Unknown(String),
    #[error("the signature does not verify: not made by that device")]
    Forged,
    #[error(transparent)]
    Frame(#[from] CallFrameError),
}

fn signed_bytes(from: &str, to: &str, at: i64, frame: &str) -> Vec<u8> {
    let mut message = CONTEXT.to_vec();
    for part in [from, to, &at.to_string(), frame] {
        message.extend_from_slice(part.as_bytes());
        message.push(b'\n');
    }
    message
}

impl Relayed {
    /// `frame` from this device (`from`, our peer id now) to peer `to`, signed.
    pub(crate) fn seal(identity: &Identity, from: &str, to: &str, at: i64, frame: &CallFrame) -> Relayed {
        let frame = String::from_utf8(frame.encode().to_vec()).expect("frames are JSON text");
        let sig = identity.sign(&signed_bytes(from, to, at, &frame));
        Relayed {
            relay: RELAY_KIND.to_owned(),
            frame,
            device: identity.device().to_owned(),
            at,
            sig: base64::engine::general_purpose::STANDARD.encode(sig),
        }
    }

    /// Reads a server signal's data as a relayed call frame, if it is one.
    pub(crate) fn parse(data: &serde_json::Value) -> Option<Result<Relayed, RelayError>> {
        let kind = data.get("relay")?;
        Some(if kind == RELAY_KIND {
            serde_json::from_value(data.clone()).map_err(|_| RelayError::NotOne)
        } else {
            Err(RelayError::NotOne)
        })
    }

    /// The frame, if `key` (the pinned key of [`Relayed::device`]) signed it for us (`to`)
    /// from `from` (as the server says) at about `now`.
    pub(crate) fn open(&self, key: &IdentityKey, from: &str, to: &str, now: i64) -> Result<CallFrame, RelayError> {
        let skew = (now - self.at).abs();
        if skew > MAX_SKEW_MS {
            return Err(RelayError::Stale(skew));
        }
        let signature: [u8; 64] = base64::engine::general_purpose::STANDARD
            .decode(&self.sig)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or(RelayError::Forged)?;
        if !key.verifies(&signed_bytes(from, to, self.at, &self.frame), &signature) {
            return Err(RelayError::Forged);
        }
        Ok(CallFrame::decode(self.frame.as_bytes())?)
    }

    pub(crate) fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("relayed frames serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::wire::CallId;

    fn frame() -> CallFrame {
        CallFrame::Invite {
            call: CallId::try_from("c".repeat(32)).unwrap(),
            video: true,
            v: 1,
        }
    }

    #[test]
    fn only_the_device_that_signed_it_for_us_opens_it() {
        let ann = Identity::generate("ann-laptop");
        let sealed = Relayed::seal(&ann, "peer-ann", "peer-bob", 1_000, &frame());
        let travelled = Relayed::parse(&sealed.to_value()).unwrap().unwrap();
        assert_eq!(travelled.device, "ann-laptop");
        assert_eq!(
            travelled.open(&ann.public(), "peer-ann", "peer-bob", 1_500).unwrap(),
            frame()
        );

        // The server (or anyone) cannot sign for ann, redirect it, or change it.
        let mallory = Identity::generate("ann-laptop");
        let forged = Relayed::seal(&mallory, "peer-ann", "peer-bob", 1_000, &frame());
        assert_eq!(
            forged.open(&ann.public(), "peer-ann", "peer-bob", 1_000),
            Err(RelayError::Forged)
        );
        assert_eq!(
            sealed.open(&ann.public(), "peer-ann", "peer-carl", 1_000),
            Err(RelayError::Forged)
        );
        assert_eq!(
            sealed.open(&ann.public(), "peer-eve", "peer-bob", 1_000),
            Err(RelayError::Forged)
        );
        let mut changed = sealed.clone();
        changed.frame = changed.frame.replace("true", "false");
        assert_eq!(
            changed.open(&ann.public(), "peer-ann", "peer-bob", 1_000),
            Err(RelayError::Forged)
        );
        let mut moved = sealed.clone();
        moved.at += 1;
        assert_eq!(
            moved.open(&ann.public(), "peer-ann", "peer-bob", 1_000),
            Err(RelayError::Forged)
        );
        let mut garbage = sealed.clone();
        garbage.sig = "not base64!".into();
        assert_eq!(
            garbage.open(&ann.public(), "peer-ann", "peer-bob", 1_000),
            Err(RelayError::Forged)
        );
        // A replay long after.
        assert!(matches!(
            sealed.open(&ann.public(), "peer-ann", "peer-bob", 1_000 + MAX_SKEW_MS + 1),
            Err(RelayError::Stale(_))
        ));
    }

    #[test]
    fn other_signals_are_not_relayed_call_frames() {
        assert!(Relayed::parse(&serde_json::json!({"type": "offer", "sdp": "v=0"})).is_none());
        assert_eq!(
            Relayed::parse(&serde_json::json!({"relay": "call/9"})),
            Some(Err(RelayError::NotOne))
        );
        assert_eq!(
            Relayed::parse(&serde_json::json!({"relay": "call/1", "frame": "{}", "extra": 1})),
            Some(Err(RelayError::NotOne))
        );
    }
}
