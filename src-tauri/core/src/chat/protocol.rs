//! Chat frames on the reliable data channel between two peers, version 3 (`docs/chat-protocol.md`).
//!
//! Everything here arrives from another person's device, so decoding is validation: a frame is
//! either a well-formed `ChatFrame` within every bound, or a `FrameError` that is logged and
//! dropped. Nothing a peer sends can panic the core or reach storage unchecked.

use serde::{Deserialize, Serialize};

use crate::files::FileOffer;
use parley_history::TransferState;

/// 2 added replies, edits, deletions and reactions; a version 1 peer ignores those frames (and
/// the `reply_to` field) and chats on. 3 added files: `msg` with a `file` offer and `file-state`
/// (`docs/file-protocol.md`); a version 2 peer shows a file's name as text.
pub(super) const CHAT_PROTOCOL_VERSION: u32 = 3;
/// Ids are chosen by the sender; bounded so a peer cannot make us store megabyte keys.
pub(super) const MAX_ID_LEN: usize = 64;
/// Characters in one message, counted as Unicode scalar values (Rust's `str::chars`, and
/// JavaScript's `[...text].length`, not its UTF-16 `length`: an emoji is one). A frame must fit
/// one data-channel message (64 KiB), and a UTF-8 character takes up to 4 bytes.
pub const MAX_BODY_CHARS: usize = 12_000;
pub(super) const MAX_FRAME_BYTES: usize = 65_535;
/// Receipts acknowledged in one `read` frame.
pub(super) const MAX_READ_IDS: usize = 256;
/// A reaction is one emoji, which may be a sequence of several code points (a family, a flag,
/// a skin tone): bounded generously in characters and bytes, never text.
pub(super) const MAX_REACTION_CHARS: usize = 10;
const MAX_REACTION_BYTES: usize = 40;

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
        /// The message this one answers (v2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
        /// The file this message offers (v3); `body` is then its name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<FileOffer>,
    },
    /// The author changed the text of their message `target` (v2). `id` names this action, for
    /// its acknowledgement; `at` is the author's clock.
    Edit {
        id: String,
        target: String,
        body: String,
        at: i64,
    },
    /// The author deleted their message `target` for everyone (v2).
    Delete {
        id: String,
        target: String,
        at: i64,
    },
    /// The sender's reaction to message `target` of the conversation, or none any more (v2).
    React {
        id: String,
        target: String,
        emoji: Option<String>,
        at: i64,
    },
    /// A transfer moved on at the sending side of this frame (v3): the receiver says it awaits
    /// acceptance, was declined or is complete; either side cancelled or failed. Acknowledged
    /// like an action.
    FileState {
        id: String,
        target: String,
        state: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// The receiver asks for transfer `target` from byte `offset`, on the extra channel it
    /// opened with stream id `channel` (v3). Not queued: it is about this connection only.
    FileFetch {
        target: String,
        offset: u64,
        channel: u16,
    },
    /// The message or action `id` is stored on the receiving device (delivered). Sent for
    /// duplicates too, so a resend after a lost ack still completes, and for refused actions, so
    /// the sender stops resending them.
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

pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A `file-state` frame about transfer `target`, with a fresh action id, for the action
/// outbox: `(id, frame as JSON)`.
pub(crate) fn file_state_frame(target: &str, state: TransferState, code: Option<&str>) -> (String, String) {
    let id = crate::ids::random_id();
    let frame = ChatFrame::FileState {
        id: id.clone(),
        target: target.to_owned(),
        state: state.as_str().to_owned(),
        code: code.map(str::to_owned),
    };
    (id, serde_json::to_string(&frame).expect("chat frames serialize"))
}

/// A `file-fetch` frame, ready to send on the chat channel.
pub(crate) fn file_fetch_frame(target: &str, offset: u64, channel: u16) -> bytes::Bytes {
    ChatFrame::FileFetch {
        target: target.to_owned(),
        offset,
        channel,
    }
    .encode()
}

/// Whether `emoji` can be a reaction: a short run of non-text characters.
pub(super) fn valid_reaction(emoji: &str) -> bool {
    !emoji.is_empty()
        && emoji.len() <= MAX_REACTION_BYTES
        && emoji.chars().count() <= MAX_REACTION_CHARS
        && !emoji
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c.is_ascii_alphabetic())
        && !emoji.is_ascii()
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

fn check_time(at: i64) -> Result<(), FrameError> {
    if at < 0 {
        return Err(FrameError::OutOfBounds("message time is negative"));
    }
    Ok(())
}

fn check_action(id: &str, target: &str, at: i64) -> Result<(), FrameError> {
    if !valid_id(id) || !valid_id(target) {
        return Err(FrameError::OutOfBounds("action or message id is not valid"));
    }
    check_time(at)
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
            ChatFrame::Msg {
                id,
                body,
                sent_at,
                reply_to,
                file,
            } => {
                if !valid_id(id) {
                    return Err(FrameError::OutOfBounds("message id is not valid"));
                }
                if let Some(file) = file {
                    file.check().map_err(FrameError::OutOfBounds)?;
                }
                check_body(body)?;
                check_time(*sent_at)?;
                if reply_to.as_deref().is_some_and(|r| !valid_id(r)) {
                    return Err(FrameError::OutOfBounds("quoted message id is not valid"));
                }
                Ok(())
            }
            ChatFrame::Edit { id, target, body, at } => {
                check_action(id, target, *at)?;
                check_body(body)
            }
            ChatFrame::Delete { id, target, at } => check_action(id, target, *at),
            ChatFrame::React { id, target, emoji, at } => {
                check_action(id, target, *at)?;
                match emoji {
                    Some(emoji) if !valid_reaction(emoji) => Err(FrameError::OutOfBounds("reaction is not an emoji")),
                    _ => Ok(()),
                }
            }
            ChatFrame::FileState {
                id,
                target,
                state,
                code,
            } => {
                if !valid_id(id) || !valid_id(target) {
                    return Err(FrameError::OutOfBounds("file state ids are not valid"));
                }
                if TransferState::parse(state).is_none() {
                    return Err(FrameError::OutOfBounds("file state is not known"));
                }
                if code.as_deref().is_some_and(|c| {
                    c.is_empty() || c.len() > 40 || !c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                }) {
                    return Err(FrameError::OutOfBounds("file state code is not valid"));
                }
                Ok(())
            }
            ChatFrame::FileFetch { target, .. } if valid_id(target) => Ok(()),
            ChatFrame::FileFetch { .. } => Err(FrameError::OutOfBounds("requested file id is not valid")),
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
                reply_to: None,
                file: None,
            },
            ChatFrame::Msg {
                id: "m-2".into(),
                body: "yes".into(),
                sent_at: 2,
                reply_to: Some("m-1".into()),
                file: None,
            },
            ChatFrame::Edit {
                id: "a-1".into(),
                target: "m-1".into(),
                body: "hello".into(),
                at: 3,
            },
            ChatFrame::Delete {
                id: "a-2".into(),
                target: "m-1".into(),
                at: 4,
            },
            ChatFrame::React {
                id: "a-3".into(),
                target: "m-1".into(),
                emoji: Some("👨‍👩‍👧".into()),
                at: 5,
            },
            ChatFrame::React {
                id: "a-4".into(),
                target: "m-1".into(),
                emoji: None,
                at: 6,
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
            br#"{"t":"msg","id":"x","body":"a","sent_at":1,"reply_to":"../x"}"#,
            br#"{"t":"edit","id":"a","target":"m","body":"","at":1}"#,
            br#"{"t":"edit","id":"a","target":"","body":"b","at":1}"#,
            br#"{"t":"edit","id":"a","target":"m","at":1}"#,
            br#"{"t":"delete","id":"a","target":"m","at":-1}"#,
            br#"{"t":"react","id":"a","target":"m","emoji":"lol","at":1}"#,
            br#"{"t":"react","id":"a","target":"m","emoji":"","at":1}"#,
            br#"{"t":"react","id":"a","target":"m","emoji":"\ud83d\udc4d \ud83d\udc4d","at":1}"#,
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
        // A version 1 peer's message, and fields of a newer version, still decode.
        assert!(ChatFrame::decode(br#"{"t":"msg","id":"x","body":"a","sent_at":1}"#).is_ok());
        assert!(ChatFrame::decode(br#"{"t":"msg","id":"x","body":"a","sent_at":1,"future":true}"#).is_ok());
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
        let flood = format!(
            r#"{{"t":"react","id":"a","target":"m","emoji":"{}","at":1}}"#,
            "👍".repeat(MAX_REACTION_CHARS + 1)
        );
        assert!(ChatFrame::decode(flood.as_bytes()).is_err());
        let ids: Vec<String> = (0..=MAX_READ_IDS).map(|i| i.to_string()).collect();
        assert!(ChatFrame::decode(&ChatFrame::Read { ids }.encode()).is_err());
    }
}
