//! Call signaling frames (`docs/call-protocol.md`): JSON on the peers' chat channel, beside
//! the chat frames, each naming the call it is about. Everything here arrives from another
//! device and is checked before the state machine sees it.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use parley_peer::MAX_FRAME_LEN;

/// The call protocol's version, sent in every invite: a device that speaks an older one
/// answers `decline` with reason `unsupported` instead of ringing.
pub(crate) const CALL_PROTOCOL_VERSION: u32 = 1;
/// A call id: 32 lowercase hex digits, made by the caller.
const CALL_ID_LEN: usize = 32;
/// An SDP description: a few kilobytes in practice (two media sections, a dozen codecs);
/// anything past this is not one a browser engine made.
pub(crate) const MAX_SDP_BYTES: usize = 32 * 1024;
/// One ICE candidate line.
pub(crate) const MAX_CANDIDATE_BYTES: usize = 1024;
/// Why a call failed, as the other side tells it (shown as text, never markup).
pub(crate) const MAX_REASON_CHARS: usize = 200;
/// A media section id (`a=mid`).
const MAX_MID_BYTES: usize = 64;

/// A call's id, checked when it is read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct CallId(String);

impl CallId {
    /// A new random id, for a call started here.
    pub(crate) fn new() -> CallId {
        CallId(crate::ids::random_id())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CallId {
    type Error = &'static str;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.len() == CALL_ID_LEN && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(CallId(s))
        } else {
            Err("a call id is 32 lowercase hex digits")
        }
    }
}

impl From<CallId> for String {
    fn from(id: CallId) -> String {
        id.0
    }
}

impl std::fmt::Display for CallId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why the callee's device does not take the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DeclineReason {
    /// The person said no.
    Declined,
    /// Already in a call.
    Busy,
    /// This device cannot take calls (no media in its webview, an older protocol).
    Unsupported,
}

/// Why the caller stops a call before it was answered on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum CancelReason {
    /// The person hung up before anyone answered.
    Cancelled,
    /// Nobody answered in time.
    NoAnswer,
    /// Another of the callee's devices answered.
    AnsweredElsewhere,
    /// The person declined on another of their devices.
    DeclinedElsewhere,
}

/// Which description an `sdp` frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SdpKind {
    /// From the caller.
    Offer,
    /// From the callee.
    Answer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", deny_unknown_fields)]
pub(crate) enum CallFrame {
    /// Caller → each of the callee's devices: ring.
    #[serde(rename = "call-invite")]
    Invite { call: CallId, video: bool, v: u32 },
    /// Callee device → caller: it is ringing there.
    #[serde(rename = "call-ringing")]
    Ringing { call: CallId },
    /// Callee device → caller: answered here.
    #[serde(rename = "call-accept")]
    Accept { call: CallId },
    /// Callee device → caller: not taking it.
    #[serde(rename = "call-decline")]
    Decline { call: CallId, reason: DeclineReason },
    /// Caller → a callee device: stop ringing.
    #[serde(rename = "call-cancel")]
    Cancel { call: CallId, reason: CancelReason },
    /// Either side of an answered call: it is over; with `failed`, because its media could not
    /// be made or broke, in words for the other person.
    #[serde(rename = "call-hangup")]
    Hangup {
        call: CallId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failed: Option<String>,
    },
    /// Either side of an answered call: the media connection's description (the caller
    /// offers, the callee answers).
    #[serde(rename = "call-sdp")]
    Sdp { call: CallId, kind: SdpKind, sdp: String },
    /// Either side of an answered call: one ICE candidate of the media connection.
    #[serde(rename = "call-ice")]
    Ice {
        call: CallId,
        candidate: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mid: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mline: Option<u16>,
    },
    /// Either side of an answered call: whether it sends sound and picture now (mute, camera
    /// off), so the other side can say so.
    #[serde(rename = "call-media")]
    Media { call: CallId, audio: bool, video: bool },
}

/// Why a call frame was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum CallFrameError {
    #[error("call frame is {0} bytes, over the data channel's limit")]
    TooLarge(usize),
    #[error("call frame is not valid: {0}")]
    Malformed(String),
    #[error("{0}")]
    OutOfBounds(&'static str),
}

impl CallFrame {
    /// Whether a chat-channel message is a call frame (by its type's prefix), so the chat
    /// engine hands it over instead of reading it as a chat frame of a newer version.
    pub(crate) fn is_call_frame(data: &[u8]) -> bool {
        #[derive(Deserialize)]
        struct Tag<'a> {
            #[serde(borrow)]
            t: std::borrow::Cow<'a, str>,
        }
        serde_json::from_slice::<Tag<'_>>(data).is_ok_and(|tag| tag.t.starts_with("call-"))
    }

    pub(crate) fn decode(data: &[u8]) -> Result<CallFrame, CallFrameError> {
        if data.len() > MAX_FRAME_LEN {
            return Err(CallFrameError::TooLarge(data.len()));
        }
        let frame: CallFrame = serde_json::from_slice(data).map_err(|e| CallFrameError::Malformed(e.to_string()))?;
        frame.check()?;
        Ok(frame)
    }

    pub(crate) fn encode(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).expect("call frames serialize"))
    }

    /// The call this frame is about.
    pub(crate) fn call(&self) -> &CallId {
        match self {
            CallFrame::Invite { call, .. }
            | CallFrame::Ringing { call }
            | CallFrame::Accept { call }
            | CallFrame::Decline { call, .. }
            | CallFrame::Cancel { call, .. }
            | CallFrame::Hangup { call, .. }
            | CallFrame::Sdp { call, .. }
            | CallFrame::Ice { call, .. }
            | CallFrame::Media { call, .. } => call,
        }
    }

    /// Its type, for logs (never its content: descriptions name addresses).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            CallFrame::Invite { .. } => "call-invite",
            CallFrame::Ringing { .. } => "call-ringing",
            CallFrame::Accept { .. } => "call-accept",
            CallFrame::Decline { .. } => "call-decline",
            CallFrame::Cancel { .. } => "call-cancel",
            CallFrame::Hangup { .. } => "call-hangup",
            CallFrame::Sdp { .. } => "call-sdp",
            CallFrame::Ice { .. } => "call-ice",
            CallFrame::Media { .. } => "call-media",
        }
    }

    fn check(&self) -> Result<(), CallFrameError> {
        match self {
            CallFrame::Hangup {
                failed: Some(reason), ..
            } if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) => {
                return Err(CallFrameError::OutOfBounds(
                    "failure reason is too long or not one line",
                ));
            }
            CallFrame::Sdp { sdp, .. } => {
                if sdp.is_empty() || sdp.len() > MAX_SDP_BYTES {
                    return Err(CallFrameError::OutOfBounds("session description is empty or too long"));
                }
                if !sdp.starts_with("v=0") {
                    return Err(CallFrameError::OutOfBounds("not a session description"));
                }
            }
            CallFrame::Ice { candidate, mid, .. } => {
                // An empty candidate is the end-of-candidates marker; it is allowed.
                if candidate.len() > MAX_CANDIDATE_BYTES || candidate.contains(['\r', '\n']) {
                    return Err(CallFrameError::OutOfBounds("ICE candidate is too long or not one line"));
                }
                if mid.as_ref().is_some_and(|m| m.len() > MAX_MID_BYTES) {
                    return Err(CallFrameError::OutOfBounds("media id is too long"));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> CallId {
        CallId::try_from("0123456789abcdef0123456789abcdef".to_owned()).unwrap()
    }

    #[test]
    fn frames_round_trip_with_their_documented_names() {
        let frames = [
            CallFrame::Invite {
                call: id(),
                video: true,
                v: 1,
            },
            CallFrame::Ringing { call: id() },
            CallFrame::Accept { call: id() },
            CallFrame::Decline {
                call: id(),
                reason: DeclineReason::Busy,
            },
            CallFrame::Cancel {
                call: id(),
                reason: CancelReason::AnsweredElsewhere,
            },
            CallFrame::Hangup {
                call: id(),
                failed: None,
            },
            CallFrame::Hangup {
                call: id(),
                failed: Some("no microphone".into()),
            },
            CallFrame::Sdp {
                call: id(),
                kind: SdpKind::Offer,
                sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n".into(),
            },
            CallFrame::Ice {
                call: id(),
                candidate: "candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host".into(),
                mid: Some("0".into()),
                mline: Some(0),
            },
            CallFrame::Media {
                call: id(),
                audio: false,
                video: true,
            },
        ];
        for frame in frames {
            let bytes = frame.encode();
            assert!(CallFrame::is_call_frame(&bytes));
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            assert!(text.contains(&format!("\"t\":\"{}\"", frame.kind())), "{text}");
            assert_eq!(CallFrame::decode(&bytes).unwrap(), frame);
        }
        let cancel = CallFrame::Cancel {
            call: id(),
            reason: CancelReason::NoAnswer,
        };
        assert!(String::from_utf8(cancel.encode().to_vec())
            .unwrap()
            .contains("\"no-answer\""));
    }

    #[test]
    fn hostile_frames_are_refused_with_a_reason() {
        let call = "0123456789abcdef0123456789abcdef";
        let refused = [
            br#"{"t":"call-invite","call":"short","video":true,"v":1}"#.to_vec(),
            br#"{"t":"call-invite","call":"0123456789ABCDEF0123456789ABCDEF","video":true,"v":1}"#.to_vec(),
            format!(r#"{{"t":"call-invite","call":"{call}","video":"yes","v":1}}"#).into_bytes(),
            format!(r#"{{"t":"call-invite","call":"{call}","video":true,"v":1,"extra":1}}"#).into_bytes(),
            format!(r#"{{"t":"call-decline","call":"{call}","reason":"because"}}"#).into_bytes(),
            format!(r#"{{"t":"call-sdp","call":"{call}","kind":"offer","sdp":""}}"#).into_bytes(),
            format!(r#"{{"t":"call-sdp","call":"{call}","kind":"offer","sdp":"<script>"}}"#).into_bytes(),
            format!(r#"{{"t":"call-sdp","call":"{call}","kind":"pranswer","sdp":"v=0"}}"#).into_bytes(),
            format!(r#"{{"t":"call-ice","call":"{call}","candidate":"a\r\na=evil"}}"#).into_bytes(),
            format!(
                r#"{{"t":"call-ice","call":"{call}","candidate":"{}"}}"#,
                "c".repeat(2000)
            )
            .into_bytes(),
            format!(r#"{{"t":"call-media","call":"{call}","audio":1,"video":true}}"#).into_bytes(),
            b"not json".to_vec(),
            b"{}".to_vec(),
        ];
        for data in refused {
            assert!(
                CallFrame::decode(&data).is_err(),
                "accepted {}",
                String::from_utf8_lossy(&data)
            );
        }
        let huge = format!(
            r#"{{"t":"call-sdp","call":"{call}","kind":"offer","sdp":"v=0{}"}}"#,
            "x".repeat(MAX_SDP_BYTES)
        );
        assert!(matches!(
            CallFrame::decode(huge.as_bytes()),
            Err(CallFrameError::OutOfBounds(_))
        ));
        let over = vec![b' '; MAX_FRAME_LEN + 1];
        assert_eq!(
            CallFrame::decode(&over),
            Err(CallFrameError::TooLarge(MAX_FRAME_LEN + 1))
        );
    }

    #[test]
    fn only_call_types_count_as_call_frames() {
        assert!(!CallFrame::is_call_frame(
            br#"{"t":"msg","id":"a","body":"call-me","sent_at":1}"#
        ));
        assert!(!CallFrame::is_call_frame(b"garbage"));
        assert!(CallFrame::is_call_frame(br#"{"t":"call-from-the-future","x":1}"#));
        // A call frame of a newer version is a call frame this version cannot read.
        assert!(CallFrame::decode(br#"{"t":"call-from-the-future","x":1}"#).is_err());
    }

    #[test]
    fn new_ids_are_valid_ids() {
        let id = CallId::new();
        assert_eq!(CallId::try_from(id.as_str().to_owned()).unwrap(), id);
    }
}
