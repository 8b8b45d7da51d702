//! A call's media in Rust, for webviews that have no WebRTC of their own (Debian's WebKitGTK):
//! the page encodes with WebCodecs and decodes what comes back; this crate carries it over a
//! standard media-only WebRTC connection (webrtc-rs), so the other end may be any WebRTC.
//! `docs/call-media-bridge.md` is the contract with the page.
//!
//! - [`MediaSession`]: one call's connection — negotiation, sending frames, receiving them whole.
//! - [`Record`]: the binary records frames and events cross the app's IPC in.
//! - [`BitrateControl`]: the camera's bitrate from the other side's loss reports.
//! - [`microphone`], [`speaker`]: the call's sound captured from and played to the desktop's
//!   sound server, where the page's own would be late or costly (WebKitGTK).

mod bitrate;
mod error;
pub mod microphone;
mod reassembly;
mod records;
mod session;
mod slot;
#[cfg(target_os = "linux")]
mod sound_server;
pub mod speaker;

pub use bitrate::{BitrateControl, MAX_VIDEO_BPS, MIN_VIDEO_BPS, START_VIDEO_BPS};
pub use error::MediaError;
pub use reassembly::{Frame, Reassembled, Vp8Reassembler};
pub use records::{Record, RecordError, RecordKind, HEADER_LEN, MAX_PAYLOAD};
pub use session::{MediaConfig, MediaOutput, MediaSession, MediaSignal, MediaState, MediaStats};
