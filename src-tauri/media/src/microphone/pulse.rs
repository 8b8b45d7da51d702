//! The capture thread on the desktop's sound server (PulseAudio's protocol, which PipeWire
//! serves too): a recording of the chosen source in 10 ms fragments at 48 kHz mono, which the
//! server resamples to, asking for its echo canceller the way a phone call's stream does
//! (`media.role=phone`, `filter.want=echo-cancel`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use libpulse_binding as pulse;
use pulse::context::Context;
use pulse::def::BufferAttr;
use pulse::mainloop::standard::Mainloop;
use pulse::operation::State as OperationState;
use pulse::sample::{Format, Spec};
use pulse::stream::{FlagSet as StreamFlags, PeekResult, Stream};
use pulse::time::MicroSeconds;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::opus_framer::{OpusFramer, SAMPLE_RATE};
use super::sources::{pick, Source};
use super::{CapturedPacket, Controls, MicrophoneError, MicrophoneInfo};
use crate::sound_server::{self, NoServer, SETUP_TIMEOUT};

impl From<NoServer> for MicrophoneError {
    fn from(e: NoServer) -> MicrophoneError {
        MicrophoneError::Unavailable(e.0)
    }
}

/// A fragment: what the server hands over at a time, and so the least delay it adds.
const FRAGMENT_MS: u32 = 10;
/// The longest the thread waits for the server before it looks whether it should stop.
const STOP_CHECK: MicroSeconds = MicroSeconds(100_000);

/// Starts the capture thread and waits until it records (or could not).
pub(super) fn open(
    label: &str,
    controls: Controls,
    packets: mpsc::Sender<CapturedPacket>,
) -> Result<MicrophoneInfo, MicrophoneError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let label = label.to_owned();
    let span = tracing::info_span!("microphone", label = %label);
    std::thread::Builder::new()
        .name("parley-microphone".into())
        .spawn(move || {
            let _entered = span.enter();
            let mut capture = match Capture::start(&label) {
                Ok(capture) => capture,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(capture.info.clone()));
            capture.run(&controls, &packets);
        })
        .map_err(|e| MicrophoneError::Failed(format!("no thread for it: {e}")))?;
    ready_rx
        .recv_timeout(SETUP_TIMEOUT + Duration::from_secs(1))
        .map_err(|_| MicrophoneError::Failed("the sound server did not answer".into()))?
}

struct Capture {
    // Fields drop in this order: the stream, then its context, then the main loop both use
    // (libpulse aborts when a context outlives its main loop).
    stream: Stream,
    context: Context,
    mainloop: Mainloop,
    info: MicrophoneInfo,
    /// The server moved the recording to another source (set by its callback).
    moved: Rc<Cell<bool>>,
}

impl Capture {
    fn start(label: &str) -> Result<Capture, MicrophoneError> {
        let deadline = Instant::now() + SETUP_TIMEOUT;
        let (mut mainloop, mut context) = sound_server::connect(deadline)?;

        let sources = list_sources(&mut mainloop, &context, deadline)?;
        let source = pick(&sources, label)
            .cloned()
            .ok_or_else(|| MicrophoneError::NoSuchSource(label.to_owned()))?;

        let spec = Spec {
            format: Format::F32le,
            rate: SAMPLE_RATE,
            channels: 1,
        };
        let mut stream = sound_server::phone_stream(&mut context, "Call microphone", &spec)
            .ok_or_else(|| MicrophoneError::Failed("the recording stream could not be made".into()))?;
        let fragment = spec.usec_to_bytes(MicroSeconds(u64::from(FRAGMENT_MS) * 1000)) as u32;
        let attr = BufferAttr {
            maxlength: u32::MAX,
            tlength: u32::MAX,
            prebuf: u32::MAX,
            minreq: u32::MAX,
            fragsize: fragment,
        };
        // ADJUST_LATENCY: the source itself runs at the fragment's latency, not only our buffer.
        stream
            .connect_record(Some(&source.name), Some(&attr), StreamFlags::ADJUST_LATENCY)
            .map_err(|e| MicrophoneError::Failed(format!("{}: {e}", source.name)))?;
        if !sound_server::wait_ready(&mut mainloop, &stream, deadline) {
            return Err(MicrophoneError::Failed(format!(
                "the sound server refused to record {}",
                source.name
            )));
        }
        // The source recorded may be another than asked for: the server may have put its echo
        // canceller in front (`filter.want`).
        let recording = stream.get_device_name().map(|n| n.into_owned()).unwrap_or_default();
        let echo_cancelled = source.echo_canceller
            || sources
                .iter()
                .find(|s| s.name == recording)
                .map_or(Source::is_echo_canceller(&recording, ""), |s| s.echo_canceller);
        let info = MicrophoneInfo {
            echo_cancelled,
            source: source.name,
            description: source.description,
        };
        debug!(recording, echo_cancelled = info.echo_cancelled, "microphone recording");
        let moved = Rc::new(Cell::new(false));
        let flag = moved.clone();
        stream.set_moved_callback(Some(Box::new(move || flag.set(true))));
        Ok(Capture {
            stream,
            context,
            mainloop,
            info,
            moved,
        })
    }

    /// Reads until told to stop, the packets' receiver is gone, or the server ends the stream.
    fn run(&mut self, controls: &Controls, packets: &mpsc::Sender<CapturedPacket>) {
        let mut framer = match OpusFramer::new() {
            Ok(framer) => framer,
            Err(e) => {
                warn!(error = %e, "no Opus encoder: the microphone is not sent");
                return;
            }
        };
        let mut pcm: Vec<f32> = Vec::with_capacity(4096);
        let mut out = Vec::new();
        while !controls.stop.load(Ordering::Relaxed) && !packets.is_closed() {
            if !sound_server::iterate(&mut self.mainloop, STOP_CHECK) {
                warn!("the sound server's main loop failed");
                break;
            }
            if !sound_server::still_up(&self.context, &self.stream) {
                warn!("the sound server ended the recording (the microphone was unplugged?)");
                break;
            }
            // A source that goes away has its recordings moved to another (the server's
            // fallback): that is not the microphone the person chose, so this capture ends and
            // the page's takes over. Moved into an echo canceller is still the same microphone.
            if self.moved.replace(false) {
                let now = self
                    .stream
                    .get_device_name()
                    .map(|n| n.into_owned())
                    .unwrap_or_default();
                if now != self.info.source && !Source::is_echo_canceller(&now, "") {
                    warn!(
                        now,
                        "the recording was moved to another microphone (the chosen one is gone?)"
                    );
                    break;
                }
                // PulseAudio does this once the call's sound plays too (its filter modules pair
                // a phone call's playback and recording with an echo canceller).
                if Source::is_echo_canceller(&now, "") {
                    info!(
                        now,
                        "the microphone now comes through the sound server's echo canceller"
                    );
                }
            }
            let on = controls.on.load(Ordering::Relaxed);
            loop {
                match self.stream.peek() {
                    Ok(PeekResult::Empty) => break,
                    Ok(PeekResult::Hole(bytes)) => framer.skip((bytes / 4) as u64),
                    Ok(PeekResult::Data(bytes)) => {
                        pcm.clear();
                        pcm.extend(
                            bytes
                                .chunks_exact(4)
                                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                        );
                        framer.push(&pcm, on, &mut out);
                    }
                    Err(e) => {
                        warn!(error = %e, "reading the microphone");
                        return;
                    }
                }
                if self.stream.discard().is_err() {
                    return;
                }
            }
            for packet in out.drain(..) {
                // Never wait: a packet the connection has no room for now is stale by the next.
                let _ = packets.try_send(packet);
            }
        }
        let _ = self.stream.disconnect();
        self.context.disconnect();
    }
}

/// The server's sources, as a person would pick from them.
fn list_sources(mainloop: &mut Mainloop, context: &Context, deadline: Instant) -> Result<Vec<Source>, MicrophoneError> {
    let found = Rc::new(RefCell::new(Vec::new()));
    let into = found.clone();
    let operation = context.introspect().get_source_info_list(move |item| {
        if let pulse::callbacks::ListResult::Item(info) = item {
            let name = info.name.as_deref().unwrap_or_default().to_owned();
            let driver = info.driver.as_deref().unwrap_or_default();
            into.borrow_mut().push(Source {
                echo_canceller: Source::is_echo_canceller(&name, driver),
                name,
                description: info.description.as_deref().unwrap_or_default().to_owned(),
                monitor: info.monitor_of_sink.is_some(),
            });
        }
    });
    sound_server::wait(mainloop, deadline, || match operation.get_state() {
        OperationState::Done => Some(Ok(())),
        OperationState::Cancelled => Some(Err(MicrophoneError::Unavailable(
            "the sound server did not list its sources".into(),
        ))),
        OperationState::Running => None,
    })?;
    let sources = found.borrow().clone();
    Ok(sources)
}
