//! The playback thread on the desktop's sound server (PulseAudio's protocol, which PipeWire
//! serves too): 48 kHz mono, about 40 ms between what is written and what is heard (the server
//! asks for 10 ms at a time), marked as a phone call's sound (`media.role=phone`,
//! `filter.want=echo-cancel`) so that a server with an echo canceller routes it through it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libpulse_binding as pulse;
use pulse::context::Context;
use pulse::def::BufferAttr;
use pulse::mainloop::standard::Mainloop;
use pulse::sample::{Format, Spec};
use pulse::stream::{FlagSet as StreamFlags, SeekMode, Stream};
use pulse::time::MicroSeconds;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::jitter::{JitterBuffer, JitterOptions};
use super::{SpeakerError, SpeakerInfo, SpeakerPacket, SAMPLE_RATE};
use crate::microphone::sources::Source;
use crate::sound_server::{self, NoServer, SETUP_TIMEOUT};

impl From<NoServer> for SpeakerError {
    fn from(e: NoServer) -> SpeakerError {
        SpeakerError::Unavailable(e.0)
    }
}

/// What is written ahead of what is heard, sink included (the server splits it).
const TARGET_LATENCY_MS: u64 = 40;
/// The least the server asks for at a time: how often the thread writes.
const REQUEST_MS: u64 = 10;
/// The longest the thread waits for the server before it looks at its queue and whether it should stop.
const WAKE: MicroSeconds = MicroSeconds(20_000);
/// How often the playing's figures go to the log (debug).
const LOG_EVERY: Duration = Duration::from_secs(10);
/// The longest Opus packet (120 ms at 48 kHz).
const MAX_PACKET_SAMPLES: usize = 5760;

/// Starts the playback thread and waits until it plays (or could not).
pub(super) fn open(stop: Arc<AtomicBool>, queue: mpsc::Receiver<SpeakerPacket>) -> Result<SpeakerInfo, SpeakerError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let span = tracing::info_span!("speaker");
    std::thread::Builder::new()
        .name("parley-speaker".into())
        .spawn(move || {
            let _entered = span.enter();
            let mut playback = match Playback::start() {
                Ok(playback) => playback,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(playback.info.clone()));
            playback.run(&stop, queue);
        })
        .map_err(|e| SpeakerError::Failed(format!("no thread for it: {e}")))?;
    ready_rx
        .recv_timeout(SETUP_TIMEOUT + Duration::from_secs(1))
        .map_err(|_| SpeakerError::Failed("the sound server did not answer".into()))?
}

struct Playback {
    // Fields drop in this order: the stream, then its context, then the main loop both use
    // (libpulse aborts when a context outlives its main loop).
    stream: Stream,
    context: Context,
    mainloop: Mainloop,
    info: SpeakerInfo,
}

impl Playback {
    fn start() -> Result<Playback, SpeakerError> {
        let deadline = Instant::now() + SETUP_TIMEOUT;
        let (mut mainloop, mut context) = sound_server::connect(deadline)?;
        let spec = Spec {
            format: Format::F32le,
            rate: SAMPLE_RATE,
            channels: 1,
        };
        let mut stream = sound_server::phone_stream(&mut context, "Call sound", &spec)
            .ok_or_else(|| SpeakerError::Failed("the playback stream could not be made".into()))?;
        let bytes = |ms: u64| spec.usec_to_bytes(MicroSeconds(ms * 1000)) as u32;
        let attr = BufferAttr {
            maxlength: u32::MAX,
            tlength: bytes(TARGET_LATENCY_MS),
            prebuf: u32::MAX,
            minreq: bytes(REQUEST_MS),
            fragsize: u32::MAX,
        };
        // ADJUST_LATENCY: tlength is the whole way to the ear, the sink's own buffer included.
        let flags = StreamFlags::ADJUST_LATENCY | StreamFlags::INTERPOLATE_TIMING | StreamFlags::AUTO_TIMING_UPDATE;
        stream
            .connect_playback(None, Some(&attr), flags, None, None)
            .map_err(|e| SpeakerError::Failed(format!("the sound server refused to play: {e}")))?;
        if !sound_server::wait_ready(&mut mainloop, &stream, deadline) {
            return Err(SpeakerError::Failed("the sound server refused to play".into()));
        }
        let sink = stream.get_device_name().map(|n| n.into_owned()).unwrap_or_default();
        let info = SpeakerInfo {
            echo_cancelled: Source::is_echo_canceller(&sink, ""),
            sink,
        };
        debug!(
            sink = info.sink,
            echo_cancelled = info.echo_cancelled,
            "call sound playing"
        );
        Ok(Playback {
            stream,
            context,
            mainloop,
            info,
        })
    }

    /// Plays until told to stop, the packets' sender is gone, or the server ends the stream.
    fn run(&mut self, stop: &AtomicBool, mut queue: mpsc::Receiver<SpeakerPacket>) {
        let mut decoder = match opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono) {
            Ok(decoder) => decoder,
            Err(e) => {
                warn!(error = %e, "no Opus decoder: the call's sound is left to the page");
                return;
            }
        };
        let mut jitter = JitterBuffer::new(JitterOptions::new(SAMPLE_RATE));
        let mut decoded = vec![0.0f32; MAX_PACKET_SAMPLES];
        let mut pcm: Vec<f32> = Vec::with_capacity(4096);
        let mut bytes: Vec<u8> = Vec::with_capacity(16_384);
        let mut undecodable = 0u64;
        let mut received = 0u64;
        let mut logged = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if !sound_server::iterate(&mut self.mainloop, WAKE) {
                warn!("the sound server's main loop failed");
                break;
            }
            if !sound_server::still_up(&self.context, &self.stream) {
                warn!("the sound server ended the call's playback");
                break;
            }
            loop {
                match queue.try_recv() {
                    Ok(packet) => {
                        received += 1;
                        match decoder.decode_float(&packet.payload, &mut decoded, false) {
                            Ok(n) => jitter.push(packet.ticks as i64, decoded[..n].to_vec()),
                            // Not Opus (a peer's doing): a gap, which the jitter buffer conceals.
                            Err(_) => undecodable += 1,
                        }
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        let _ = self.stream.disconnect();
                        self.context.disconnect();
                        return;
                    }
                }
            }
            if logged.elapsed() >= LOG_EVERY {
                logged = Instant::now();
                debug!(received, held_ms = jitter.buffered_ms(), counts = ?jitter.counts(), undecodable, "call sound");
            }
            let Some(wanted) = self.stream.writable_size().filter(|n| *n >= 4) else {
                continue;
            };
            pcm.resize(wanted / 4, 0.0);
            jitter.pull(&mut pcm);
            bytes.clear();
            bytes.extend(pcm.iter().flat_map(|v| v.to_le_bytes()));
            if let Err(e) = self.stream.write_copy(&bytes, 0, SeekMode::Relative) {
                warn!(error = %e, "writing the call's sound");
                break;
            }
        }
        debug!(received, counts = ?jitter.counts(), undecodable, "call sound stopped");
        let _ = self.stream.disconnect();
        self.context.disconnect();
    }
}
