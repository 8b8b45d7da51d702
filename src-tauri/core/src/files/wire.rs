//! Frames on a transfer channel (`docs/file-protocol.md` §3): JSON control frames as text
//! messages, data as binary messages with the offset in front.

use bytes::Bytes;
#[cfg(test)]
use bytes::{BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use parley_peer::{ChannelMessage, MAX_FRAME_LEN};

/// The label of a transfer channel; the version is part of it, so a newer protocol gets a
/// channel an older build refuses instead of misreading.
pub(crate) const CHANNEL_LABEL: &str = "parley-file/1";
/// Bytes of a data frame before the payload: the offset.
const DATA_HEADER: usize = 8;
/// Payload bytes per data frame: one data-channel message.
pub(crate) const CHUNK: usize = MAX_FRAME_LEN - DATA_HEADER;
/// A control frame is small; anything longer is not one.
const MAX_CONTROL_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum Control {
    /// Receiver → sender: bytes before `offset` are on disk, flushed.
    Ack { offset: u64 },
    /// Either way: the person cancelled.
    Cancel,
    /// Either way: stopped, for the reason `code` (table in the protocol document).
    Error { code: String },
}

/// A decoded message of a transfer channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    Control(Control),
    Data { offset: u64, bytes: Bytes },
}

/// Why a transfer-channel message was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum WireError {
    #[error("data frame shorter than its header")]
    ShortData,
    #[error("control frame of {0} bytes is too long")]
    LongControl(usize),
    #[error("control frame is not valid: {0}")]
    Malformed(String),
}

impl Control {
    pub(crate) fn encode(&self) -> String {
        serde_json::to_string(self).expect("control frames serialize")
    }

    pub(crate) fn error(code: &str) -> Control {
        Control::Error { code: code.to_owned() }
    }
}

#[cfg(test)]
fn encode_data(offset: u64, bytes: &[u8]) -> Bytes {
    debug_assert!(bytes.len() <= CHUNK);
    let mut frame = BytesMut::with_capacity(DATA_HEADER + bytes.len());
    frame.put_u64(offset);
    frame.put_slice(bytes);
    frame.freeze()
}

/// Error codes are ours to show; a peer's are kept only if they look like one.
fn valid_code(code: &str) -> bool {
    !code.is_empty() && code.len() <= 40 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

impl Frame {
    pub(crate) fn decode(message: &ChannelMessage) -> Result<Frame, WireError> {
        if !message.text {
            if message.data.len() < DATA_HEADER {
                return Err(WireError::ShortData);
            }
            let offset = u64::from_be_bytes(message.data[..DATA_HEADER].try_into().expect("8 bytes"));
            return Ok(Frame::Data {
                offset,
                bytes: message.data.slice(DATA_HEADER..),
            });
        }
        if message.data.len() > MAX_CONTROL_LEN {
            return Err(WireError::LongControl(message.data.len()));
        }
        let control: Control =
            serde_json::from_slice(&message.data).map_err(|e| WireError::Malformed(e.to_string()))?;
        match &control {
            Control::Error { code } if !valid_code(code) => Err(WireError::Malformed("error code".into())),
            _ => Ok(Frame::Control(control)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> ChannelMessage {
        ChannelMessage {
            data: Bytes::copy_from_slice(s.as_bytes()),
            text: true,
        }
    }

    #[test]
    fn data_frames_round_trip_and_short_ones_are_refused() {
        let frame = encode_data(1 << 40, b"abc");
        let decoded = Frame::decode(&ChannelMessage {
            data: frame,
            text: false,
        })
        .unwrap();
        assert_eq!(
            decoded,
            Frame::Data {
                offset: 1 << 40,
                bytes: Bytes::from_static(b"abc")
            }
        );
        let short = ChannelMessage {
            data: Bytes::from_static(b"1234567"),
            text: false,
        };
        assert_eq!(Frame::decode(&short), Err(WireError::ShortData));
    }

    #[test]
    fn control_frames_are_checked() {
        let ack = Control::Ack { offset: 5 };
        assert_eq!(Frame::decode(&text(&ack.encode())).unwrap(), Frame::Control(ack));
        for bad in [
            r#"{"t":"request","v":1,"id":"a","offset":0}"#,
            r#"{"t":"ack","offset":-1}"#,
            r#"{"t":"error","code":"<script>"}"#,
            r#"{"t":"ack","offset":1,"extra":2}"#,
            r#"{"t":"nonsense"}"#,
            "not json",
        ] {
            assert!(Frame::decode(&text(bad)).is_err(), "{bad}");
        }
        assert!(matches!(
            Frame::decode(&text(&"x".repeat(2000))),
            Err(WireError::LongControl(2000))
        ));
    }
}
