//! The call's microphone captured in Rust, from the desktop's sound server (PulseAudio, or
//! PipeWire's PulseAudio service), and encoded to Opus here: WebKitGTK's own capture delivers
//! the sound 60–300 ms late (a standing buffer in its MediaStream audio path), where this path
//! takes one 10 ms fragment and one 20 ms Opus frame (`docs/call-media-bridge.md`).
//!
//! The page still opens the microphone with `getUserMedia` (for the person's choice of device,
//! the permission and the level meter) and names the source it got by its label; the source
//! with that description is captured here. Where there is no such source (WebKit's mock
//! devices, another platform, no sound server) the page sends its own sound as before.
//!
//! - [`sources`]: which of the sound server's sources a webview's label names.
//! - [`opus_framer`]: PCM into 20 ms Opus packets, timed by the samples captured.
//! - `pulse` (Linux): the capture thread.

#[cfg(target_os = "linux")]
mod opus_framer;
#[cfg(target_os = "linux")]
mod pulse;
mod slot;
pub mod sources;

pub(crate) use slot::MicrophoneSlot;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

/// Which source is captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrophoneInfo {
    /// The sound server's name of the source asked for.
    pub source: String,
    /// Its description (what the webview shows as the device's label).
    pub description: String,
    /// What is recorded comes through the sound server's echo canceller: the source is one, or
    /// the server put one in front (asked for with `filter.want`, not promised).
    pub echo_cancelled: bool,
}

/// One Opus packet, stamped with when its first sample was captured (µs on the capture's own
/// clock, the samples counted since it started: muted time and holes still count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedPacket {
    pub time_us: u64,
    pub payload: Bytes,
}

/// Why the microphone cannot be captured here; the page then sends its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MicrophoneError {
    /// No sound server, or a platform this capture does not cover.
    #[error("no sound server to capture the microphone from: {0}")]
    Unavailable(String),
    /// The sound server has no source by the webview's label.
    #[error("the sound server has no microphone named \u{201c}{0}\u{201d}")]
    NoSuchSource(String),
    /// The sound server refused the recording.
    #[error("the microphone could not be opened: {0}")]
    Failed(String),
}

/// A running capture: stops when dropped (within 100 ms, on its own thread).
pub struct Microphone {
    info: MicrophoneInfo,
    on: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

/// What the capture thread shares with its owner.
#[derive(Clone)]
pub(crate) struct Controls {
    pub(crate) on: Arc<AtomicBool>,
    pub(crate) stop: Arc<AtomicBool>,
}

impl Microphone {
    /// Captures the sound server's source whose description is `label` (the webview's label for
    /// it), sending its packets to `packets` (dropped, never waited for, when it is full).
    /// Blocking: it connects to the sound server. `on` false: captured but not sent (muted).
    pub fn open(label: &str, on: bool, packets: mpsc::Sender<CapturedPacket>) -> Result<Microphone, MicrophoneError> {
        let controls = Controls {
            on: Arc::new(AtomicBool::new(on)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let info = open_platform(label, controls.clone(), packets)?;
        Ok(Microphone {
            info,
            on: controls.on,
            stop: controls.stop,
        })
    }

    pub fn info(&self) -> &MicrophoneInfo {
        &self.info
    }

    /// Muted (false) or not: muted, nothing is encoded or sent, and the time still runs.
    pub fn set_on(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
    }
}

impl Drop for Microphone {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(target_os = "linux")]
fn open_platform(
    label: &str,
    controls: Controls,
    packets: mpsc::Sender<CapturedPacket>,
) -> Result<MicrophoneInfo, MicrophoneError> {
    pulse::open(label, controls, packets)
}

#[cfg(not(target_os = "linux"))]
fn open_platform(
    _label: &str,
    _controls: Controls,
    _packets: mpsc::Sender<CapturedPacket>,
) -> Result<MicrophoneInfo, MicrophoneError> {
    // Elsewhere the webview has WebRTC of its own, and this bridge is not used.
    Err(MicrophoneError::Unavailable(
        "capture in Rust is for Linux's sound server only".into(),
    ))
}
