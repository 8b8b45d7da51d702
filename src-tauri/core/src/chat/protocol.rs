//! Chat frames on the reliable data channel between two peers, version 1 (`docs/chat-protocol.md`).
//!
//! Everything here arrives from another person's device, so decoding is validation: a frame is
//! either a well-formed `ChatFrame` within every bound, or a `FrameError` that is logged and
//! dropped. Nothing a peer sends can panic the core or reach storage unchecked.

use serde::{Deserialize, Serialize};

pub(super) const CHAT_PROTOCOL_VERSION: u32 = 1;
/// Ids are chosen by the sender; bounded so a peer cannot make us store megabyte keys.
pub(super) const MAX_ID_LEN: usize = 64;
/// Characters in one message, counted as Unicode scalar values (Rust's `str::chars`, and
/// JavaScript's `[...text].length`, not its UTF-16 `length`: an emoji is one). A frame must fit
/// one data-channel message (64 KiB), and a UTF-8 character takes up to 4 bytes.
pub const MAX_BODY_CHARS: usize = 12_000;
pub(super) const MAX_FRAME_BYTES: usize = 65_535;
/// Receipts acknowledged in one `read` frame.
pub(super) const MAX_READ_IDS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub(super) enum ChatFrame {
    /// First frame each side sends on a new channel: the versions it speaks.
    Hello {
        v: u32,
    },
    /// A chat message. `sent_at` is the sender's clock, in Unix milliseconds.
    Msg {
        id: String,
        body: String,
        sent_at: i64,
    },
    /// The message is stored on the receiving device (delivered). Sent for duplicates too, so a
    /// resend after a lost ack still completes.
    Ack {
        id: String,
    },
    /// The receiver has seen these messages.
    Read {
        ids: Vec<String>,
    },
    Typing {
        active: bool,
    },
}

/// Why a chat frame (or a message typed here, which must fit one) was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// Over the data channel's message size.
    #[error("frame is {0} bytes, over the {MAX_FRAME_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not JSON, or not a frame.
    #[error("frame is not valid: {0}")]
    Malformed(String),
    /// A frame type of a newer version: skipped.
    #[error("frame type is not known to this version")]
    UnknownType,
    /// A field outside its bounds (an empty or too long message, a bad id).
    #[error("{0}")]
    OutOfBounds(&'static str),
}

pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Validates the message text the local user typed (same bounds as incoming frames).
pub(super) fn check_body(body: &str) -> Result<(), FrameError> {
    if body.trim().is_empty() {
        return Err(FrameError::OutOfBounds("message is empty"));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(FrameError::OutOfBounds("message is too long"));
    }
    Ok(())
}

impl ChatFrame {
    pub(super) fn encode(&self) -> bytes::Bytes {
        bytes::Bytes::from(serde_json::to_vec(self).expect("chat frames serialize"))
    }

    pub(super) fn decode(data: &[u8]) -> Result<ChatFrame, FrameError> {
        if data.len() > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge(data.len()));
        }
        let frame: ChatFrame = serde_json::from_slice(data).map_err(|e| {
            if e.to_string().starts_with("unknown variant") {
                FrameError::UnknownType
            } else {
                FrameError::Malformed(e.to_string())
            }
        })?;
        frame.check()?;
        Ok(frame)
    }

    fn check(&self) -> Result<(), FrameError> {
        match self {
            ChatFrame::Hello { .. } | ChatFrame::Typing { .. } => Ok(()),
            ChatFrame::Msg { id, body, sent_at } => {
                if !valid_id(id) {
                    return Err(FrameError::OutOfBounds("message id is not valid"));
                }
                check_body(body)?;
                if *sent_at < 0 {
                    return Err(FrameError::OutOfBounds("message time is negative"));
                }
                Ok(())
            }
            ChatFrame::Ack { id } if valid_id(id) => Ok(()),
            ChatFrame::Ack { .. } => Err(FrameError::OutOfBounds("acknowledged id is not valid")),
            ChatFrame::Read { ids } => {
                if ids.is_empty() || ids.len() > MAX_READ_IDS || !ids.iter().all(|id| valid_id(id)) {
                    return Err(FrameError::OutOfBounds("read receipt ids are not valid"));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let frames = [
            ChatFrame::Hello { v: 1 },
            ChatFrame::Msg {
                id: "m-1".into(),
                body: "héllo <b>".into(),
                sent_at: 1,
            },
            ChatFrame::Ack { id: "m-1".into() },
            ChatFrame::Read {
                ids: vec!["a".into(), "b".into()],
            },
            ChatFrame::Typing { active: true },
        ];
        for frame in frames {
            assert_eq!(ChatFrame::decode(&frame.encode()).unwrap(), frame);
        }
        assert_eq!(
            String::from_utf8(ChatFrame::Ack { id: "x".into() }.encode().to_vec()).unwrap(),
            r#"{"t":"ack","id":"x"}"#
        );
    }

    #[test]
    fn hostile_frames_are_refused() {
        let cases: &[&[u8]] = &[
            b"",
            b"not json",
            b"[]",
            br#"{"t":"msg","id":"x"}"#,
            br#"{"t":"msg","id":"","body":"a","sent_at":1}"#,
            br#"{"t":"msg","id":"../../etc","body":"a","sent_at":1}"#,
            br#"{"t":"msg","id":"x","body":"   ","sent_at":1}"#,
            br#"{"t":"msg","id":"x","body":"a","sent_at":-5}"#,
            br#"{"t":"msg","id":"x","body":7,"sent_at":1}"#,
            br#"{"t":"read","ids":[]}"#,
            br#"{"t":"ack","id":"a b"}"#,
        ];
        for case in cases {
            assert!(
                ChatFrame::decode(case).is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(case)
            );
        }
        assert_eq!(
            ChatFrame::decode(br#"{"t":"file-offer","x":1}"#),
            Err(FrameError::UnknownType)
        );
        let long = format!(
            r#"{{"t":"msg","id":"x","body":"{}","sent_at":1}}"#,
            "a".repeat(MAX_BODY_CHARS + 1)
        );
        assert_eq!(
            ChatFrame::decode(long.as_bytes()),
            Err(FrameError::OutOfBounds("message is too long"))
        );
        assert!(matches!(
            ChatFrame::decode(&vec![b' '; MAX_FRAME_BYTES + 1]),
            Err(FrameError::TooLarge(_))
        ));
        let ids: Vec<String> = (0..=MAX_READ_IDS).map(|i| i.to_string()).collect();
        assert!(ChatFrame::decode(&ChatFrame::Read { ids }.encode()).is_err());
    }
}
