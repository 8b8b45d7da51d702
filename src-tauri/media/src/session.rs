//! One call's media connection: a media-only webrtc-rs peer connection with an Opus track and,
//! in a video call, a VP8 track, sending both ways. What the page encoded goes out as RTP
//! samples; what arrives comes out as whole frames (`reassembly.rs`) and Opus packets. Standard
//! SDP with webrtc's default codecs (VP8, Opus, with NACK and PLI), so the other end can be any
//! WebRTC: a browser engine's or another of these.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parley_peer::PeerConfig;
use rtc::interceptor::{Attribute, Interceptor, Packet, Registry, Slot, StreamInfo, TaggedPacket};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::packetizer::{new_packetizer, Packetizer};
use rtc::rtp::sequence::new_random_sequencer;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use rtc::sansio::Protocol;
use rtc::statistics::report::RTCStatsReportEntry;
use tokio::sync::{mpsc, Mutex};
use tracing::{debug, warn, Instrument, Span};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceCandidateInit, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, StatsSelector,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::bitrate::BitrateControl;
use crate::error::MediaError;
use crate::microphone::{CapturedPacket, Microphone, MicrophoneInfo, MicrophoneSlot};
use crate::reassembly::{Frame, Reassembled, Vp8Reassembler};
use crate::speaker::{Speaker, SpeakerInfo, SpeakerPacket};

/// Events waiting for the page before the oldest media is dropped (about 4 s of both kinds).
const OUTPUT_QUEUE: usize = 512;
/// The page is asked for a key frame at most this often while the picture is broken.
const KEYFRAME_ASK_EVERY: Duration = Duration::from_millis(500);
/// How often statistics go to the page.
const STATS_EVERY: Duration = Duration::from_secs(2);
const OPUS_CLOCK_HZ: u64 = 48_000;
/// RTP packets stay under a typical path MTU with room for SRTP and TURN.
const RTP_MTU: usize = 1200;
/// Packets from the microphone captured in Rust waiting for the connection (200 ms).
const MICROPHONE_QUEUE: usize = 10;
/// The page's sound and video: the time stamps of the page's clock.
const PAGE_CLOCK: u64 = 0;

/// How the connection is made.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// ICE servers and pace; `loopback_only` for tests on one machine.
    pub peer: PeerConfig,
    /// This side offers (the caller).
    pub offerer: bool,
    /// A video call (else sound only).
    pub video: bool,
}

/// A description or candidate, ours or the other side's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSignal {
    Offer(String),
    Answer(String),
    /// An ICE candidate; an empty `candidate` says no more are coming.
    Candidate {
        candidate: String,
        mid: Option<String>,
        mline: Option<u16>,
    },
}

/// The connection's state, as `RTCPeerConnection.connectionState` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaState {
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// Figures for the quality indicator and the encoder's bitrate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaStats {
    pub rtt_ms: Option<f64>,
    pub packets_received: u64,
    pub packets_lost: u64,
    /// What the camera's encoder should aim at, from the other side's latest loss report on our
    /// video ([`BitrateControl`]); none before the first report, or in an audio call.
    pub bitrate_bps: Option<u32>,
}

/// What the connection hands the page, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaOutput {
    Signal(MediaSignal),
    State(MediaState),
    /// A whole VP8 frame.
    Video(Frame),
    /// One Opus packet.
    Audio(Frame),
    /// The other side lost the picture: encode a key frame next.
    KeyframeRequested,
    Stats(MediaStats),
    /// The microphone captured in Rust stopped (unplugged, the sound server gone): the page
    /// sends its own sound again.
    MicrophoneStopped,
    /// The other side's sound stopped playing in Rust (the sound server gone): it comes to the
    /// page again, as [`MediaOutput::Audio`].
    SpeakerStopped,
}

/// One call's media connection. Dropping it does not close it: call [`MediaSession::close`].
#[derive(Clone)]
pub struct MediaSession {
    shared: Arc<Shared>,
}

struct Outgoing {
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    clock_hz: u64,
    /// Ours rather than webrtc's sample track's, whose timestamps advance by each sample's
    /// duration: a pause (microphone muted, camera off) must show as a gap in RTP time.
    packetizer: std::sync::Mutex<Timed>,
}

/// The packetizer, and where its RTP timestamp stands against the capture clock.
struct Timed {
    packetizer: Box<dyn Packetizer>,
    /// Whose clock the capture times are on: the page's ([`PAGE_CLOCK`]) or a microphone
    /// captured in Rust (its number). Another clock starts a new count, one frame on.
    clock: u64,
    /// The first frame's capture time on that clock, and the RTP ticks where it went (counted
    /// from it, so rounding never adds up).
    first_time_us: Option<u64>,
    base_ticks: u64,
    /// RTP ticks advanced since the connection's first frame.
    ticks: u64,
    /// When the last frame went: a new clock starts as far on as the time since.
    last_sent: Option<Instant>,
}

struct Shared {
    pc: Arc<dyn PeerConnection>,
    offerer: bool,
    video: bool,
    // Set once when the tracks are added; read without a lock, since the handler (on the
    // connection's driver task) must never wait for a sender that waits for the driver.
    audio_out: OnceLock<Outgoing>,
    video_out: OnceLock<Outgoing>,
    out: mpsc::Sender<MediaOutput>,
    /// Candidates that came before the other side's description.
    early: Mutex<Option<Vec<RTCIceCandidateInit>>>,
    connected: AtomicBool,
    closed: AtomicBool,
    /// The microphone captured in Rust, while it is: the page's sound is then not sent.
    microphone: MicrophoneSlot,
    /// The other side's sound played in Rust, while it is: it then does not go to the page.
    speaker: crate::slot::Slot<Speaker>,
    span: Span,
}

impl MediaSession {
    /// Makes the connection. The offerer's offer comes out at once as a [`MediaOutput::Signal`];
    /// the answerer waits for it ([`MediaSession::remote_signal`]).
    pub async fn open(config: MediaConfig) -> Result<(MediaSession, mpsc::Receiver<MediaOutput>), MediaError> {
        let span = tracing::info_span!("call_media", offerer = config.offerer, video = config.video);
        let (out, rx) = mpsc::channel(OUTPUT_QUEUE);
        let mut media = MediaEngine::default();
        media.register_default_codecs().map_err(MediaError::webrtc)?;
        let registry = register_default_interceptors(Registry::new(), &mut media)
            .map_err(MediaError::webrtc)?
            // Nearest the wire: marks the other side's key frame requests for us before the
            // chain's own interceptors take them in.
            .with(Slot::Custom(500), KeyframeRequests::default());
        let handler = Arc::new(Handler {
            shared: std::sync::OnceLock::new(),
        });
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config.peer.rtc_configuration())
            .with_setting_engine(config.peer.setting_engine())
            .with_runtime(config.peer.runtime())
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_handler(handler.clone())
            .with_udp_addrs(config.peer.udp_addrs())
            .build()
            .instrument(span.clone())
            .await
            .map_err(MediaError::webrtc)?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let shared = Arc::new(Shared {
            pc,
            offerer: config.offerer,
            video: config.video,
            audio_out: OnceLock::new(),
            video_out: OnceLock::new(),
            out,
            early: Mutex::new(Some(Vec::new())),
            connected: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            microphone: MicrophoneSlot::new(),
            speaker: crate::slot::Slot::new(),
            span,
        });
        let _ = handler.shared.set(Arc::downgrade(&shared));
        let session = MediaSession { shared };
        if config.offerer {
            let result = async {
                session.add_tracks().await?;
                let offer = session.shared.pc.create_offer(None).await.map_err(MediaError::webrtc)?;
                let sdp = offer.sdp.clone();
                session
                    .shared
                    .pc
                    .set_local_description(offer)
                    .await
                    .map_err(MediaError::webrtc)?;
                session.shared.emit(MediaOutput::Signal(MediaSignal::Offer(sdp)));
                Ok::<(), MediaError>(())
            }
            .await;
            if let Err(e) = result {
                session.close().await;
                return Err(e);
            }
        }
        session.shared.emit(MediaOutput::State(MediaState::Connecting));
        tokio::spawn(stats_loop(Arc::downgrade(&session.shared)).instrument(session.shared.span.clone()));
        Ok((session, rx))
    }

    /// The other side's description or candidate. One of the wrong kind (an offer to the
    /// offerer) or that does not parse is refused and changes nothing.
    pub async fn remote_signal(&self, signal: MediaSignal) -> Result<(), MediaError> {
        let s = &self.shared;
        match signal {
            MediaSignal::Offer(sdp) if !s.offerer => {
                if s.pc.remote_description().await.is_some() {
                    return Err(MediaError::Signal(
                        "a second offer (renegotiation is not supported)".into(),
                    ));
                }
                let offer = RTCSessionDescription::offer(sdp).map_err(|e| MediaError::Signal(format!("offer: {e}")))?;
                s.pc.set_remote_description(offer).await.map_err(MediaError::webrtc)?;
                // After the offer: its sections of each kind take our tracks, sending both ways.
                self.add_tracks().await?;
                let answer = s.pc.create_answer(None).await.map_err(MediaError::webrtc)?;
                let sdp = answer.sdp.clone();
                s.pc.set_local_description(answer).await.map_err(MediaError::webrtc)?;
                s.emit(MediaOutput::Signal(MediaSignal::Answer(sdp)));
                self.add_early_candidates().await;
                Ok(())
            }
            MediaSignal::Answer(sdp) if s.offerer => {
                if s.pc.remote_description().await.is_some() {
                    return Err(MediaError::Signal("a second answer".into()));
                }
                let answer =
                    RTCSessionDescription::answer(sdp).map_err(|e| MediaError::Signal(format!("answer: {e}")))?;
                s.pc.set_remote_description(answer).await.map_err(MediaError::webrtc)?;
                self.add_early_candidates().await;
                Ok(())
            }
            MediaSignal::Offer(_) => Err(MediaError::Signal("an offer to the side that offers".into())),
            MediaSignal::Answer(_) => Err(MediaError::Signal("an answer to the side that answers".into())),
            MediaSignal::Candidate { candidate, .. } if candidate.is_empty() => Ok(()),
            MediaSignal::Candidate { candidate, mid, mline } => {
                let init = RTCIceCandidateInit {
                    candidate,
                    sdp_mid: mid,
                    sdp_mline_index: mline,
                    username_fragment: None,
                    url: None,
                };
                let mut early = s.early.lock().await;
                if let Some(held) = early.as_mut() {
                    held.push(init);
                    return Ok(());
                }
                drop(early);
                s.pc.add_ice_candidate(init).await.map_err(MediaError::webrtc)
            }
        }
    }

    /// One encoded VP8 frame captured at `time_us` (the page's clock). Dropped while the
    /// connection is not up, and in a call without video.
    pub async fn send_video(&self, data: Bytes, time_us: u64) -> Result<(), MediaError> {
        self.send(&self.shared.video_out, data, time_us, PAGE_CLOCK).await
    }

    /// One Opus packet the page encoded, captured at `time_us`. Dropped while the microphone
    /// is captured in Rust ([`MediaSession::use_microphone`]).
    pub async fn send_audio(&self, data: Bytes, time_us: u64) -> Result<(), MediaError> {
        if self.shared.microphone.clock().is_some() {
            return Ok(());
        }
        self.send(&self.shared.audio_out, data, time_us, PAGE_CLOCK).await
    }

    /// Captures the microphone the page opened — the sound server's source its `label` names
    /// — in Rust, and sends it instead of the page's sound from now on; muted while `on` is
    /// false ([`MediaSession::set_microphone_on`]). Another label replaces the one captured.
    /// An error says why not (no sound server, no such source): the page sends its own.
    pub async fn use_microphone(&self, label: &str, on: bool) -> Result<MicrophoneInfo, MediaError> {
        let s = &self.shared;
        // Asks are answered in order: the device asked for last is the one left.
        let _one_at_a_time = s.microphone.one_at_a_time().await;
        s.microphone.set_on(on);
        if s.closed.load(Ordering::SeqCst) {
            return Err(MediaError::WebRtc("the connection is closed".into()));
        }
        if let Some(info) = s.microphone.capturing(label) {
            return Ok(info);
        }
        let (tx, rx) = mpsc::channel(MICROPHONE_QUEUE);
        let label = label.to_owned();
        let opened = tokio::task::spawn_blocking(move || Microphone::open(&label, on, tx))
            .await
            .map_err(|e| MediaError::WebRtc(format!("opening the microphone: {e}")))?;
        let mic = match opened {
            Ok(mic) => mic,
            Err(e) => {
                // Another device the sound server lacks: the page's own capture takes over.
                s.microphone.stop();
                return Err(e.into());
            }
        };
        let info = mic.info().clone();
        let clock = s
            .microphone
            .install(mic, &s.closed)
            .ok_or_else(|| MediaError::WebRtc("the connection is closed".into()))?;
        tokio::spawn(forward_microphone(Arc::downgrade(s), clock, rx).instrument(s.span.clone()));
        Ok(info)
    }

    /// Mutes (false) or unmutes the microphone captured in Rust, if it is or is being opened.
    pub fn set_microphone_on(&self, on: bool) {
        self.shared.microphone.set_on(on);
    }

    /// Stops capturing the microphone in Rust: the page's sound is sent again.
    pub fn stop_microphone(&self) {
        self.shared.microphone.stop();
    }

    /// Plays the other side's sound in Rust, on the sound server's default output, instead of
    /// handing it to the page, from the next packet on. An error says why not (no sound
    /// server): the page goes on playing it. When the playing stops on its own (the server
    /// gone), the page is told ([`MediaOutput::SpeakerStopped`]) and gets the sound again.
    pub async fn use_speaker(&self) -> Result<SpeakerInfo, MediaError> {
        let s = &self.shared;
        let _one_at_a_time = s.speaker.one_at_a_time().await;
        if s.closed.load(Ordering::SeqCst) {
            return Err(MediaError::WebRtc("the connection is closed".into()));
        }
        if let Some(info) = s
            .speaker
            .with(|speaker| speaker.filter(|sp| !sp.is_closed()).map(|sp| sp.info().clone()))
        {
            return Ok(info);
        }
        let speaker = tokio::task::spawn_blocking(Speaker::open)
            .await
            .map_err(|e| MediaError::WebRtc(format!("opening the speaker: {e}")))??;
        let info = speaker.info().clone();
        let ended = speaker.ended();
        let number = s
            .speaker
            .install(speaker, &s.closed, |_| ())
            .ok_or_else(|| MediaError::WebRtc("the connection is closed".into()))?;
        let shared = Arc::downgrade(s);
        tokio::spawn(
            async move {
                ended.await;
                let Some(s) = shared.upgrade() else { return };
                if s.speaker.stop_if(number) && !s.closed.load(Ordering::SeqCst) {
                    warn!(parent: &s.span, "the call's sound stopped playing in Rust; the page plays it");
                    s.emit(MediaOutput::SpeakerStopped);
                }
            }
            .instrument(s.span.clone()),
        );
        Ok(info)
    }

    /// Stops playing the other side's sound in Rust: it goes to the page again.
    pub fn stop_speaker(&self) {
        self.shared.speaker.stop();
    }

    async fn send(&self, out: &OnceLock<Outgoing>, data: Bytes, time_us: u64, clock: u64) -> Result<(), MediaError> {
        if !self.shared.connected.load(Ordering::Relaxed) {
            return Ok(());
        }
        let Some(out) = out.get() else {
            return Ok(());
        };
        // Read per write: the negotiated payload type is only known once both descriptions are.
        let params = out.sender.get_parameters().await.map_err(MediaError::webrtc)?;
        let Some(codec) = params.rtp_parameters.codecs.first() else {
            return Ok(());
        };
        let packets = {
            let mut timed = out.packetizer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // The RTP clock moves as the capture clock did since the last frame (never back:
            // a page clock that jumped back just adds no gap). Another clock (the microphone
            // now captured in Rust, or the page's again) starts as far on as the time since
            // the last frame, at least one 20 ms frame: a pause still shows as one.
            if timed.clock != clock {
                if timed.first_time_us.is_some() {
                    let since_us = timed.last_sent.map_or(0, |t| t.elapsed().as_micros() as u64);
                    timed.base_ticks = timed.ticks + (out.clock_hz / 50).max(since_us * out.clock_hz / 1_000_000);
                }
                timed.clock = clock;
                timed.first_time_us = None;
            }
            let first = *timed.first_time_us.get_or_insert(time_us);
            let target = timed.base_ticks + time_us.saturating_sub(first) * out.clock_hz / 1_000_000;
            if target > timed.ticks {
                let step = u32::try_from(target - timed.ticks).unwrap_or(u32::MAX);
                timed.packetizer.skip_samples(step);
                timed.ticks += u64::from(step);
            }
            timed.last_sent = Some(Instant::now());
            timed
                .packetizer
                .packetize(Instant::now(), &data, 0)
                .map_err(MediaError::webrtc)?
        };
        for mut packet in packets {
            packet.header.payload_type = codec.payload_type;
            out.track
                .write_rtp_with_extensions(packet, &[])
                .await
                .map_err(MediaError::webrtc)?;
        }
        Ok(())
    }

    /// Closes the connection; the page gets `Closed`.
    pub async fn close(&self) {
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stop_microphone();
        self.stop_speaker();
        if let Err(e) = self.shared.pc.close().await {
            debug!(parent: &self.shared.span, error = %e, "closing the media connection");
        }
        self.shared.emit(MediaOutput::State(MediaState::Closed));
    }

    async fn add_tracks(&self) -> Result<(), MediaError> {
        let s = &self.shared;
        let _ = s.audio_out.set(outgoing(&s.pc, RtpCodecKind::Audio).await?);
        if s.video {
            let _ = s.video_out.set(outgoing(&s.pc, RtpCodecKind::Video).await?);
        }
        Ok(())
    }

    async fn add_early_candidates(&self) {
        let held = self.shared.early.lock().await.take().unwrap_or_default();
        for init in held {
            if let Err(e) = self.shared.pc.add_ice_candidate(init).await {
                debug!(parent: &self.shared.span, error = %e, "a candidate of the other side's was not usable");
            }
        }
    }
}

async fn outgoing(pc: &Arc<dyn PeerConnection>, kind: RtpCodecKind) -> Result<Outgoing, MediaError> {
    let (mime, clock_rate, channels, id) = match kind {
        RtpCodecKind::Video => (MIME_TYPE_VP8, 90_000, 0, "video"),
        _ => (MIME_TYPE_OPUS, 48_000, 2, "audio"),
    };
    let ssrc = rand::random::<u32>();
    let codec = RTCRtpCodec {
        mime_type: mime.to_owned(),
        clock_rate,
        channels,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    };
    // A stream each (msid), not one for both: a browser's WebRTC synchronises the tracks of one
    // stream, and would hold the picture back to the sound, which from WebKitGTK's microphone
    // arrives later; a bridged receiver plays each as it comes, too. docs/call-media-bridge.md.
    let track = MediaStreamTrack::new(
        format!("parley-{id}"),
        id.to_owned(),
        id.to_owned(),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: codec.clone(),
            ..Default::default()
        }],
    );
    let packetizer = new_packetizer(
        Instant::now(),
        RTP_MTU,
        0, // set per packet from what was negotiated
        ssrc,
        codec.payloader().map_err(MediaError::webrtc)?,
        Box::new(new_random_sequencer()),
        clock_rate,
    );
    let track = Arc::new(TrackLocalStaticRTP::new(track));
    let sender = pc
        .add_track(track.clone() as Arc<dyn TrackLocal>)
        .await
        .map_err(MediaError::webrtc)?;
    Ok(Outgoing {
        track,
        sender,
        clock_hz: u64::from(clock_rate),
        packetizer: std::sync::Mutex::new(Timed {
            packetizer: Box::new(packetizer),
            clock: PAGE_CLOCK,
            first_time_us: None,
            base_ticks: 0,
            ticks: 0,
            last_sent: None,
        }),
    })
}

impl Shared {
    fn emit(&self, output: MediaOutput) {
        if let Err(e) = self.out.try_send(output) {
            // The page stopped reading: what it has not taken is stale by now anyway.
            debug!(parent: &self.span, "media output dropped: {e}");
        }
    }
}

/// Sends the packets of the microphone captured in Rust (number `clock`) while it is the one
/// captured; when it stops on its own, the page is told to send its sound again.
async fn forward_microphone(shared: std::sync::Weak<Shared>, clock: u64, mut packets: mpsc::Receiver<CapturedPacket>) {
    while let Some(packet) = packets.recv().await {
        let Some(shared) = shared.upgrade() else { return };
        let session = MediaSession { shared };
        if session.shared.microphone.clock() != Some(clock) {
            return;
        }
        if let Err(e) = session
            .send(&session.shared.audio_out, packet.payload, packet.time_us, clock)
            .await
        {
            debug!(parent: &session.shared.span, error = %e, "a microphone packet was not sent");
        }
    }
    let Some(shared) = shared.upgrade() else { return };
    let session = MediaSession { shared };
    if session.shared.microphone.stop_if(clock) && !session.shared.closed.load(Ordering::SeqCst) {
        warn!(parent: &session.shared.span, "the microphone captured in Rust stopped; the page's goes on");
        session.shared.emit(MediaOutput::MicrophoneStopped);
    }
}

/// Callbacks on the connection's driver task: they must return quickly.
struct Handler {
    shared: std::sync::OnceLock<std::sync::Weak<Shared>>,
}

impl Handler {
    fn shared(&self) -> Option<Arc<Shared>> {
        self.shared.get().and_then(std::sync::Weak::upgrade)
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let Some(s) = self.shared() else { return };
        match event.candidate.to_json() {
            Ok(init) => s.emit(MediaOutput::Signal(MediaSignal::Candidate {
                candidate: init.candidate,
                mid: init.sdp_mid,
                mline: init.sdp_mline_index,
            })),
            Err(e) => warn!(parent: &s.span, error = %e, "local candidate not serialisable"),
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let Some(s) = self.shared() else { return };
        debug!(parent: &s.span, ?state, "media connection state");
        let state = match state {
            RTCPeerConnectionState::Connected => {
                if !s.connected.swap(true, Ordering::SeqCst) {
                    let video = s.video_out.get().map(|o| o.track.clone());
                    if let Some(track) = video {
                        tokio::spawn(keyframe_requests(Arc::downgrade(&s), track).instrument(s.span.clone()));
                    }
                }
                MediaState::Connected
            }
            RTCPeerConnectionState::Disconnected => MediaState::Disconnected,
            RTCPeerConnectionState::Failed => MediaState::Failed,
            RTCPeerConnectionState::Closed => return,
            _ => MediaState::Connecting,
        };
        s.emit(MediaOutput::State(state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let Some(s) = self.shared() else { return };
        tokio::spawn(receive(Arc::downgrade(&s), track).instrument(s.span.clone()));
    }
}

/// Reads one incoming track until it ends: video reassembled into frames (asking the sender
/// for a key frame when the picture broke), audio packet by packet.
async fn receive(shared: std::sync::Weak<Shared>, track: Arc<dyn TrackRemote>) {
    let kind = track.kind().await;
    let mut video = Vp8Reassembler::new();
    let mut audio_first: Option<u32> = None;
    let mut last_ask: Option<Instant> = None;
    while let Some(event) = track.poll().await {
        let Some(s) = shared.upgrade() else { return };
        let packet = match event {
            TrackRemoteEvent::OnRtpPacket(packet) => packet,
            TrackRemoteEvent::OnEnded => return,
            _ => continue,
        };
        match kind {
            RtpCodecKind::Video => {
                let h = &packet.header;
                for out in video.push(h.sequence_number, h.timestamp, h.marker, &packet.payload) {
                    match out {
                        Reassembled::Frame(frame) => s.emit(MediaOutput::Video(frame)),
                        Reassembled::NeedKeyframe => {
                            if last_ask.is_none_or(|at| at.elapsed() >= KEYFRAME_ASK_EVERY) {
                                last_ask = Some(Instant::now());
                                let pli = PictureLossIndication {
                                    sender_ssrc: 0,
                                    media_ssrc: h.ssrc,
                                };
                                if let Err(e) = track.write_rtcp(vec![Box::new(pli)]).await {
                                    debug!(error = %e, "asking for a key frame");
                                }
                            }
                        }
                    }
                }
            }
            _ => {
                if packet.payload.is_empty() {
                    continue;
                }
                let first = *audio_first.get_or_insert(packet.header.timestamp);
                let ticks = u64::from(packet.header.timestamp.wrapping_sub(first));
                let played = s.speaker.with(|speaker| {
                    speaker.is_some_and(|sp| {
                        sp.offer(SpeakerPacket {
                            ticks,
                            payload: packet.payload.clone(),
                        })
                    })
                });
                if played {
                    continue;
                }
                s.emit(MediaOutput::Audio(Frame {
                    data: packet.payload.clone(),
                    keyframe: false,
                    time_us: ticks * 1_000_000 / OPUS_CLOCK_HZ,
                }));
            }
        }
    }
}

/// The other side's PLI and FIR for our video: the page encodes a key frame next.
async fn keyframe_requests(shared: std::sync::Weak<Shared>, track: Arc<TrackLocalStaticRTP>) {
    while let Some(TrackLocalEvent::OnRtcpPacket(packets)) = track.poll().await {
        let Some(s) = shared.upgrade() else { return };
        let asks = packets.iter().any(|p| {
            let any = p.as_any();
            any.downcast_ref::<PictureLossIndication>().is_some() || any.downcast_ref::<FullIntraRequest>().is_some()
        });
        if asks {
            s.emit(MediaOutput::KeyframeRequested);
        }
    }
}

async fn stats_loop(shared: std::sync::Weak<Shared>) {
    let mut tick = tokio::time::interval(STATS_EVERY);
    tick.tick().await;
    let mut bitrate = BitrateControl::default();
    // Cumulative received and lost counts of the last report followed: the stats repeat a report
    // until the next one comes, and one report must count once.
    let mut last_report: Option<(u64, i64)> = None;
    loop {
        tick.tick().await;
        let Some(s) = shared.upgrade() else { return };
        if s.closed.load(Ordering::Relaxed) {
            return;
        }
        if !s.connected.load(Ordering::Relaxed) {
            continue;
        }
        let report = s.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let rtt_ms = report
            .candidate_pairs()
            .filter(|p| p.nominated && p.current_round_trip_time > 0.0)
            .map(|p| p.current_round_trip_time * 1000.0)
            .next();
        let (mut received, mut lost) = (0u64, 0u64);
        for stream in report.inbound_rtp_streams() {
            let r = &stream.received_rtp_stream_stats;
            received += r.packets_received;
            lost += u64::try_from(r.packets_lost).unwrap_or(0);
        }
        let video_report = report.iter().find_map(|e| match e {
            RTCStatsReportEntry::RemoteInboundRtp(r)
                if r.received_rtp_stream_stats.rtp_stream_stats.kind == RtpCodecKind::Video =>
            {
                Some(r)
            }
            _ => None,
        });
        let bitrate_bps = video_report.map(|r| {
            let counts = (
                r.received_rtp_stream_stats.packets_received,
                r.received_rtp_stream_stats.packets_lost,
            );
            if last_report != Some(counts) {
                last_report = Some(counts);
                let target = bitrate.on_report(r.fraction_lost);
                debug!(fraction_lost = r.fraction_lost, target, "video bitrate");
            }
            bitrate.target_bps()
        });
        s.emit(MediaOutput::Stats(MediaStats {
            rtt_ms,
            packets_received: received,
            packets_lost: lost,
            bitrate_bps,
        }));
    }
}

/// Marks the other side's key frame requests (PLI, FIR) for the application: the default chain
/// acts on inbound RTCP and drops it at its end otherwise.
#[derive(Default)]
struct KeyframeRequests {
    read: std::collections::VecDeque<TaggedPacket>,
    write: std::collections::VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequests {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let asks = packets.iter().any(|p| {
                let any = p.as_any();
                any.downcast_ref::<PictureLossIndication>().is_some()
                    || any.downcast_ref::<FullIntraRequest>().is_some()
            });
            if asks {
                msg.message.add(Attribute::DeliverToApplication);
            }
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }

    fn handle_timeout(&mut self, _now: Instant) -> Result<(), Self::Error> {
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Self::Time> {
        None
    }
}

impl Interceptor for KeyframeRequests {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
