//! The other side's sound of a bridged call played in Rust, to the desktop's sound server
//! (PulseAudio, or PipeWire's PulseAudio service), instead of through the page: there it took
//! an AudioContext whose worklet and GStreamer output threads wake every 2.7 ms, about 0.10 CPU
//! s per s a side (docs/call-media-bridge.md), and WebKitGTK offers no choice of speaker.
//!
//! The sound server sets the pace: each time it asks for more, the playback thread decodes
//! what came (Opus) into the jitter buffer and writes what the server asked for, silence or
//! concealment included, so the server's own buffer stays as small as it was set up.
//! Where there is no sound server (another platform, none running) the page plays as before.
//!
//! - [`jitter`]: packets in order, gaps concealed, the delay kept down.
//! - `pulse` (Linux): the playback thread.

pub mod jitter;
#[cfg(target_os = "linux")]
mod pulse;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

/// The sound's rate: Opus's own, which the sound server resamples from.
pub const SAMPLE_RATE: u32 = 48_000;
/// Packets waiting for the playback thread at most (1 s of 20 ms packets): more are dropped.
const QUEUE: usize = 50;

/// Where the sound plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakerInfo {
    /// The sound server's name of the sink played to.
    pub sink: String,
    /// The sink is the sound server's echo canceller (which then hears what plays, to take it
    /// out of the microphone).
    pub echo_cancelled: bool,
}

/// One Opus packet of the other side, placed by its RTP time: samples at 48 kHz since the
/// first packet of the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakerPacket {
    pub ticks: u64,
    pub payload: Bytes,
}

/// Why the sound can't be played here; the page then plays it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpeakerError {
    /// No sound server, or a platform this playback does not cover.
    #[error("no sound server to play the call's sound on: {0}")]
    Unavailable(String),
    /// The sound server refused the playback.
    #[error("the call's sound could not be played: {0}")]
    Failed(String),
}

/// A running playback: stops when dropped (within 20 ms, on its own thread).
pub struct Speaker {
    info: SpeakerInfo,
    packets: mpsc::Sender<SpeakerPacket>,
    stop: Arc<AtomicBool>,
}

impl Speaker {
    /// Plays to the sound server's default sink (where it routes a call's sound; the person
    /// picks it in the desktop's sound settings). Blocks until the server said yes or no (up to
    /// about 5 s): call it off the async runtime's threads.
    pub fn open() -> Result<Speaker, SpeakerError> {
        let stop = Arc::new(AtomicBool::new(false));
        let (packets, queue) = mpsc::channel(QUEUE);
        let info = open_platform(stop.clone(), queue)?;
        Ok(Speaker { info, packets, stop })
    }

    pub fn info(&self) -> &SpeakerInfo {
        &self.info
    }

    /// Hands a packet to the playback thread, never waiting: false once that thread ended (the
    /// server went away), when the packet is for the page to play instead. A full queue drops
    /// it (the jitter buffer conceals it).
    pub fn offer(&self, packet: SpeakerPacket) -> bool {
        !matches!(self.packets.try_send(packet), Err(mpsc::error::TrySendError::Closed(_)))
    }

    /// The playback thread ended (the sound server went away, or refused the stream).
    pub fn is_closed(&self) -> bool {
        self.packets.is_closed()
    }

    /// Resolves once the playback thread ended (kept apart from the speaker: the speaker may be
    /// dropped meanwhile, which ends the thread).
    pub fn ended(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let packets = self.packets.clone();
        async move { packets.closed().await }
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(target_os = "linux")]
fn open_platform(stop: Arc<AtomicBool>, queue: mpsc::Receiver<SpeakerPacket>) -> Result<SpeakerInfo, SpeakerError> {
    pulse::open(stop, queue)
}

#[cfg(not(target_os = "linux"))]
fn open_platform(_stop: Arc<AtomicBool>, _queue: mpsc::Receiver<SpeakerPacket>) -> Result<SpeakerInfo, SpeakerError> {
    Err(SpeakerError::Unavailable(
        "the app plays a call's sound itself only on Linux".into(),
    ))
}
