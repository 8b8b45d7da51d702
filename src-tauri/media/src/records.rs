//! The records media crosses the app's IPC in (`docs/call-media-bridge.md`): encoded frames the
//! page sends, frames and events it receives, several to a buffer. Little-endian, a 20-byte
//! header each. Everything read here came from a page or a peer: a buffer that does not parse is
//! an error, never a panic, and a length is checked before any byte is taken.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Header bytes before each record's payload.
pub const HEADER_LEN: usize = 20;
/// The largest payload a record may carry: a 4K VP8 key frame is well under it.
pub const MAX_PAYLOAD: usize = 4 * 1024 * 1024;

const FLAG_KEYFRAME: u8 = 1;

/// What a record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// One encoded VP8 frame.
    Video,
    /// One Opus packet.
    Audio,
    /// A JSON event (UTF-8).
    Event,
}

impl RecordKind {
    fn code(self) -> u8 {
        match self {
            RecordKind::Video => 1,
            RecordKind::Audio => 2,
            RecordKind::Event => 3,
        }
    }

    fn from_code(code: u8) -> Option<RecordKind> {
        match code {
            1 => Some(RecordKind::Video),
            2 => Some(RecordKind::Audio),
            3 => Some(RecordKind::Event),
            _ => None,
        }
    }
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: RecordKind,
    /// A video key frame.
    pub keyframe: bool,
    /// Capture time (in) or the sender's media clock (out), in µs.
    pub time_us: u64,
    /// Until the next frame, in µs (0 when unknown).
    pub duration_us: u32,
    pub payload: Bytes,
}

/// Why a buffer of records was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("a record is cut short ({0} bytes left, a header is {HEADER_LEN})")]
    Truncated(usize),
    #[error("a record of kind {0}, which is not video (1), audio (2) or an event (3)")]
    UnknownKind(u8),
    #[error("a record of {0} bytes, more than the {MAX_PAYLOAD} allowed")]
    TooLarge(usize),
    #[error("a record says {declared} bytes and {left} follow")]
    Short { declared: usize, left: usize },
}

impl Record {
    /// Appends this record to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(HEADER_LEN + self.payload.len());
        out.put_u8(self.kind.code());
        out.put_u8(if self.keyframe { FLAG_KEYFRAME } else { 0 });
        out.put_u16_le(0);
        // Payloads come from this process and are bounded by what was read or reassembled.
        out.put_u32_le(u32::try_from(self.payload.len()).unwrap_or(u32::MAX));
        out.put_u64_le(self.time_us);
        out.put_u32_le(self.duration_us);
        out.extend_from_slice(&self.payload);
    }

    /// Every record in `buf`, or why it is not a buffer of records.
    pub fn decode_all(mut buf: Bytes) -> Result<Vec<Record>, RecordError> {
        let mut records = Vec::new();
        while !buf.is_empty() {
            if buf.len() < HEADER_LEN {
                return Err(RecordError::Truncated(buf.len()));
            }
            let code = buf.get_u8();
            let kind = RecordKind::from_code(code).ok_or(RecordError::UnknownKind(code))?;
            let flags = buf.get_u8();
            buf.advance(2);
            let len = buf.get_u32_le() as usize;
            let time_us = buf.get_u64_le();
            let duration_us = buf.get_u32_le();
            if len > MAX_PAYLOAD {
                return Err(RecordError::TooLarge(len));
            }
            if len > buf.len() {
                return Err(RecordError::Short {
                    declared: len,
                    left: buf.len(),
                });
            }
            records.push(Record {
                kind,
                keyframe: flags & FLAG_KEYFRAME != 0,
                time_us,
                duration_us,
                payload: buf.split_to(len),
            });
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: RecordKind, payload: &'static [u8]) -> Record {
        Record {
            kind,
            keyframe: kind == RecordKind::Video,
            time_us: 1_234_567_890_123,
            duration_us: 33_333,
            payload: Bytes::from_static(payload),
        }
    }

    #[test]
    fn records_round_trip_several_to_a_buffer() {
        let records = vec![
            record(RecordKind::Video, b"\x10\x02\x00frame"),
            record(RecordKind::Audio, b"opus"),
            record(RecordKind::Event, br#"{"type":"keyframe"}"#),
            record(RecordKind::Audio, b""),
        ];
        let mut buf = BytesMut::new();
        for r in &records {
            r.encode(&mut buf);
        }
        assert_eq!(Record::decode_all(buf.freeze()).unwrap(), records);
        assert_eq!(Record::decode_all(Bytes::new()).unwrap(), vec![]);
    }

    #[test]
    fn bad_buffers_are_refused_with_the_reason() {
        let mut buf = BytesMut::new();
        record(RecordKind::Audio, b"opus packet").encode(&mut buf);
        let whole = buf.freeze();
        assert_eq!(
            Record::decode_all(whole.slice(..whole.len() - 1)),
            Err(RecordError::Short { declared: 11, left: 10 })
        );
        assert_eq!(Record::decode_all(whole.slice(..7)), Err(RecordError::Truncated(7)));
        let mut unknown = whole.to_vec();
        unknown[0] = 9;
        assert_eq!(Record::decode_all(unknown.into()), Err(RecordError::UnknownKind(9)));
        let mut huge = whole.to_vec();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            Record::decode_all(huge.into()),
            Err(RecordError::TooLarge(u32::MAX as usize))
        );
    }
}
