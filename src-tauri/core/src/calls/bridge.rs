//! The call's media connection in Rust, for a page whose webview has no WebRTC
//! (`docs/call-media-bridge.md`): at most one, the current call's. The page feeds it encoded
//! frames and pulls what arrived, as records; the front door closes it when the call ends.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use parley_media::{MediaConfig, MediaOutput, MediaSession, MediaSignal, MediaState, Record, RecordKind};
use parley_peer::PeerConfig;
use parley_protocol::IceServer;
use tokio::sync::mpsc;

use super::models::{
    CallIceServer, CallMicrophone, CallSignal, CallSpeaker, MediaConnectionState, MediaEvent, SdpKind,
};
use super::CallError;

/// How long `receive` waits for something to arrive before answering with nothing.
const RECEIVE_WAIT: Duration = Duration::from_secs(1);
/// One `receive` answer stops adding records past this many bytes (the rest waits for the next).
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

#[derive(Default)]
pub(crate) struct MediaBridge {
    current: Mutex<Option<Arc<Bridged>>>,
}

struct Bridged {
    call_id: String,
    session: MediaSession,
    /// One `receive` at a time takes from it.
    outputs: tokio::sync::Mutex<mpsc::Receiver<MediaOutput>>,
}

impl MediaBridge {
    /// Makes the media connection of `call_id` (closing any other), with `base`'s tuning and
    /// the call's ICE servers.
    pub(crate) async fn open(
        &self,
        call_id: &str,
        offerer: bool,
        video: bool,
        base: &PeerConfig,
        ice_servers: &[CallIceServer],
    ) -> Result<(), CallError> {
        let peer = PeerConfig {
            ice_servers: ice_servers
                .iter()
                .map(|s| IceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone(),
                    credential: s.credential.clone(),
                })
                .collect(),
            ..base.clone()
        };
        let (session, outputs) = MediaSession::open(MediaConfig { peer, offerer, video })
            .await
            .map_err(|e| CallError::MediaFailed(e.to_string()))?;
        let bridged = Arc::new(Bridged {
            call_id: call_id.to_owned(),
            session,
            outputs: tokio::sync::Mutex::new(outputs),
        });
        let old = self.current.lock().replace(bridged);
        if let Some(old) = old {
            old.session.close().await;
        }
        Ok(())
    }

    /// `no_such_call` unless `call_id`'s connection is the one open.
    pub(crate) fn ensure_open(&self, call_id: &str) -> Result<(), CallError> {
        self.get(call_id).map(drop)
    }

    fn get(&self, call_id: &str) -> Result<Arc<Bridged>, CallError> {
        self.current
            .lock()
            .as_ref()
            .filter(|b| b.call_id == call_id)
            .cloned()
            .ok_or(CallError::NoSuchCall)
    }

    /// The other side's description or candidate.
    pub(crate) async fn signal(&self, call_id: &str, signal: CallSignal) -> Result<(), CallError> {
        let bridged = self.get(call_id)?;
        let signal = match signal {
            CallSignal::Sdp {
                sdp_kind: SdpKind::Offer,
                sdp,
            } => MediaSignal::Offer(sdp),
            CallSignal::Sdp {
                sdp_kind: SdpKind::Answer,
                sdp,
            } => MediaSignal::Answer(sdp),
            CallSignal::Ice { candidate, mid, mline } => MediaSignal::Candidate { candidate, mid, mline },
            CallSignal::Start { .. } => {
                return Err(CallError::InvalidSignal(
                    "only descriptions and candidates go to the media connection",
                ))
            }
        };
        bridged
            .session
            .remote_signal(signal)
            .await
            .map_err(|e| CallError::MediaFailed(e.to_string()))
    }

    /// What the page encoded: video and audio records.
    pub(crate) async fn send(&self, call_id: &str, body: Bytes) -> Result<(), CallError> {
        let bridged = self.get(call_id)?;
        let records = Record::decode_all(body).map_err(|e| CallError::InvalidMedia(e.to_string()))?;
        for record in records {
            let sent = match record.kind {
                RecordKind::Video => bridged.session.send_video(record.payload, record.time_us).await,
                RecordKind::Audio => bridged.session.send_audio(record.payload, record.time_us).await,
                RecordKind::Event => {
                    return Err(CallError::InvalidMedia("events only come from the connection".into()))
                }
            };
            sent.map_err(|e| CallError::MediaFailed(e.to_string()))?;
        }
        Ok(())
    }

    /// Captures the microphone the page opened (its `label`) in Rust and sends it instead of
    /// the page's sound, muted unless `on`; or says why not, and the page sends its own.
    pub(crate) async fn microphone(&self, call_id: &str, label: &str, on: bool) -> Result<CallMicrophone, CallError> {
        let bridged = self.get(call_id)?;
        Ok(match bridged.session.use_microphone(label, on).await {
            Ok(info) => {
                tracing::info!(
                    source = %info.source,
                    echo_cancelled = info.echo_cancelled,
                    "the call's microphone is captured by the app"
                );
                CallMicrophone {
                    captured: true,
                    echo_cancelled: info.echo_cancelled,
                    detail: info.source,
                }
            }
            Err(e) => {
                tracing::info!(error = %e, "the call's microphone stays the page's");
                CallMicrophone {
                    captured: false,
                    echo_cancelled: false,
                    detail: e.to_string(),
                }
            }
        })
    }

    /// Plays the other side's sound in Rust, on the sound server, instead of handing it to the
    /// page; or says why not, and the page plays it.
    pub(crate) async fn speaker(&self, call_id: &str) -> Result<CallSpeaker, CallError> {
        let bridged = self.get(call_id)?;
        Ok(match bridged.session.use_speaker().await {
            Ok(info) => {
                tracing::info!(
                    sink = %info.sink,
                    echo_cancelled = info.echo_cancelled,
                    "the call's sound is played by the app"
                );
                CallSpeaker {
                    playing: true,
                    echo_cancelled: info.echo_cancelled,
                    detail: info.sink,
                }
            }
            Err(e) => {
                tracing::info!(error = %e, "the call's sound stays the page's to play");
                CallSpeaker {
                    playing: false,
                    echo_cancelled: false,
                    detail: e.to_string(),
                }
            }
        })
    }

    /// Mutes (false) or unmutes the microphone captured in Rust for `call_id`, if it is.
    pub(crate) fn microphone_on(&self, call_id: &str, on: bool) {
        if let Ok(bridged) = self.get(call_id) {
            bridged.session.set_microphone_on(on);
        }
    }

    /// What arrived since the last call, as records: waits up to a second for the first.
    pub(crate) async fn receive(&self, call_id: &str) -> Result<Vec<u8>, CallError> {
        let bridged = self.get(call_id)?;
        let mut outputs = bridged.outputs.lock().await;
        let mut buf = BytesMut::new();
        match tokio::time::timeout(RECEIVE_WAIT, outputs.recv()).await {
            Ok(Some(output)) => encode(output, &mut buf),
            Ok(None) => return Err(CallError::NoSuchCall),
            Err(_) => return Ok(Vec::new()),
        }
        while buf.len() < MAX_BATCH_BYTES {
            match outputs.try_recv() {
                Ok(output) => encode(output, &mut buf),
                Err(_) => break,
            }
        }
        Ok(buf.to_vec())
    }

    /// Closes `call_id`'s connection, if it is the one open.
    pub(crate) async fn close(&self, call_id: &str) {
        let bridged = {
            let mut current = self.current.lock();
            match current.as_ref() {
                Some(b) if b.call_id == call_id => current.take(),
                _ => None,
            }
        };
        if let Some(b) = bridged {
            b.session.close().await;
        }
    }

    /// The call whose connection is open, if any.
    pub(crate) fn open_call(&self) -> Option<String> {
        self.current.lock().as_ref().map(|b| b.call_id.clone())
    }
}

fn encode(output: MediaOutput, buf: &mut BytesMut) {
    let record = |kind, keyframe, time_us, payload| Record {
        kind,
        keyframe,
        time_us,
        duration_us: 0,
        payload,
    };
    let event = match output {
        MediaOutput::Video(f) => return record(RecordKind::Video, f.keyframe, f.time_us, f.data).encode(buf),
        MediaOutput::Audio(f) => return record(RecordKind::Audio, false, f.time_us, f.data).encode(buf),
        MediaOutput::Signal(signal) => MediaEvent::Signal {
            signal: match signal {
                MediaSignal::Offer(sdp) => CallSignal::Sdp {
                    sdp_kind: SdpKind::Offer,
                    sdp,
                },
                MediaSignal::Answer(sdp) => CallSignal::Sdp {
                    sdp_kind: SdpKind::Answer,
                    sdp,
                },
                MediaSignal::Candidate { candidate, mid, mline } => CallSignal::Ice { candidate, mid, mline },
            },
        },
        MediaOutput::State(state) => MediaEvent::State {
            state: match state {
                MediaState::Connecting => MediaConnectionState::Connecting,
                MediaState::Connected => MediaConnectionState::Connected,
                MediaState::Disconnected => MediaConnectionState::Disconnected,
                MediaState::Failed => MediaConnectionState::Failed,
                MediaState::Closed => MediaConnectionState::Closed,
            },
        },
        MediaOutput::KeyframeRequested => MediaEvent::Keyframe,
        MediaOutput::MicrophoneStopped => MediaEvent::MicrophoneStopped,
        MediaOutput::SpeakerStopped => MediaEvent::SpeakerStopped,
        MediaOutput::Stats(s) => MediaEvent::Stats {
            rtt_ms: s.rtt_ms,
            packets_received: s.packets_received,
            packets_lost: s.packets_lost,
            bitrate_bps: s.bitrate_bps,
        },
    };
    // Our own enum of plain fields: serializing it cannot fail.
    let json = serde_json::to_vec(&event).unwrap_or_default();
    record(RecordKind::Event, false, 0, Bytes::from(json)).encode(buf);
}
