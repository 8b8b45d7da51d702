//! Two media connections on loopback, as a caller's and a callee's bridged calls: they
//! negotiate through each other's signals, and what one side sends arrives whole at the other.

use std::time::Duration;

use bytes::Bytes;
use parley_media::{MediaConfig, MediaOutput, MediaSession, MediaSignal, MediaState};
use parley_peer::PeerConfig;
use tokio::sync::mpsc;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(15);

/// A VP8-shaped frame numbered `n`: a key frame's first byte is even, a delta frame's odd.
fn frame(n: u8, key: bool, len: usize) -> Bytes {
    let mut f = vec![if key { 0x10 } else { 0x11 }, n];
    f.extend((0..len).map(|i| (i as u8).wrapping_mul(n)));
    Bytes::from(f)
}

struct Side {
    session: MediaSession,
    rx: mpsc::Receiver<MediaOutput>,
    /// Outputs seen while waiting for something else.
    seen: Vec<MediaOutput>,
}

impl Side {
    async fn open(offerer: bool, video: bool) -> Side {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let (session, rx) = MediaSession::open(MediaConfig {
            peer: PeerConfig::loopback(),
            offerer,
            video,
        })
        .await
        .expect("media connection");
        Side {
            session,
            rx,
            seen: Vec::new(),
        }
    }

    async fn next(&mut self) -> MediaOutput {
        timeout(WAIT, self.rx.recv())
            .await
            .expect("an output in time")
            .expect("outputs go on")
    }
}

/// Passes each side's signals to the other until both are connected.
async fn connect(a: &mut Side, b: &mut Side) {
    let (mut a_up, mut b_up) = (false, false);
    while !(a_up && b_up) {
        tokio::select! {
            out = a.next() => match out {
                MediaOutput::Signal(s) => timeout(WAIT, b.session.remote_signal(s)).await.expect("b takes a's signal in time").expect("b takes a's signal"),
                MediaOutput::State(MediaState::Connected) => a_up = true,
                MediaOutput::State(MediaState::Failed) => panic!("a failed"),
                other => a.seen.push(other),
            },
            out = b.next() => match out {
                MediaOutput::Signal(s) => timeout(WAIT, a.session.remote_signal(s)).await.expect("a takes b's signal in time").expect("a takes b's signal"),
                MediaOutput::State(MediaState::Connected) => b_up = true,
                MediaOutput::State(MediaState::Failed) => panic!("b failed"),
                other => b.seen.push(other),
            },
        }
    }
}

/// Waits on `side` for `want` outputs matching `pick`; the others stay for later.
async fn collect<T>(side: &mut Side, want: usize, mut pick: impl FnMut(&MediaOutput) -> Option<T>) -> Vec<T> {
    let mut got = Vec::new();
    let mut rest = Vec::new();
    for out in std::mem::take(&mut side.seen) {
        match pick(&out) {
            Some(t) if got.len() < want => got.push(t),
            _ => rest.push(out),
        }
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while got.len() < want {
        let out = tokio::time::timeout_at(deadline, side.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {want} in time", got.len()));
        match pick(&out) {
            Some(t) => got.push(t),
            None => rest.push(out),
        }
    }
    side.seen = rest;
    got
}

#[tokio::test]
async fn a_video_call_carries_whole_frames_and_sound_both_ways() {
    let mut caller = Side::open(true, true).await;
    let mut callee = Side::open(false, true).await;
    connect(&mut caller, &mut callee).await;

    // Frames of several packets (a key frame of 5 KB, delta frames of 2 KB), and Opus packets.
    let frames: Vec<Bytes> = (0..10u8)
        .map(|n| frame(n, n == 0, if n == 0 { 5000 } else { 2000 }))
        .collect();
    for side in [&caller, &callee] {
        for (i, f) in frames.iter().enumerate() {
            // Captured 33 ms apart, then a pause of a second (camera off, microphone muted)
            // before the last: RTP time shows it.
            let at = i as u64 * 33_333 + if i == frames.len() - 1 { 1_000_000 } else { 0 };
            side.session.send_video(f.clone(), 5_000_000 + at).await.unwrap();
            side.session
                .send_audio(Bytes::from(vec![0xF8, f[1], 1, 2, 3]), 9_000_000 + at)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for side in [&mut caller, &mut callee] {
        let video = collect(side, frames.len(), |o| match o {
            MediaOutput::Video(f) => Some(f.clone()),
            _ => None,
        })
        .await;
        assert_eq!(video.iter().map(|f| f.data.clone()).collect::<Vec<_>>(), frames);
        assert!(video[0].keyframe && !video[1].keyframe);
        let times: Vec<u64> = video.iter().map(|f| f.time_us).collect();
        let expected: Vec<u64> = (0..10u64)
            .map(|i| i * 33_333 + if i == 9 { 1_000_000 } else { 0 })
            .collect();
        assert!(
            times.iter().zip(&expected).all(|(t, e)| t.abs_diff(*e) <= 12),
            "media time follows the capture clock, pause included: {times:?}"
        );
        let audio = collect(side, frames.len(), |o| match o {
            MediaOutput::Audio(f) => Some(f.data[1]),
            _ => None,
        })
        .await;
        assert_eq!(audio, (0..10u8).collect::<Vec<_>>());
    }
    caller.session.close().await;
    callee.session.close().await;
}

#[tokio::test]
async fn a_receiver_without_a_key_frame_gets_one_asked_for() {
    let mut caller = Side::open(true, true).await;
    let mut callee = Side::open(false, true).await;
    connect(&mut caller, &mut callee).await;
    // Delta frames only: the callee can show none of them and asks the caller for a key frame.
    for n in 0..5u8 {
        caller
            .session
            .send_video(frame(n, false, 900), u64::from(n) * 33_333)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    collect(&mut caller, 1, |o| {
        matches!(o, MediaOutput::KeyframeRequested).then_some(())
    })
    .await;
    caller.session.send_video(frame(9, true, 900), 300_000).await.unwrap();
    let shown = collect(&mut callee, 1, |o| match o {
        MediaOutput::Video(f) => Some(f.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        shown[0].data,
        frame(9, true, 900),
        "the first frame shown is the key frame"
    );
}

#[tokio::test]
async fn an_audio_call_has_no_video_and_wrong_signals_change_nothing() {
    let mut caller = Side::open(true, false).await;
    let mut callee = Side::open(false, false).await;
    let offer = collect(&mut caller, 1, |o| match o {
        MediaOutput::Signal(MediaSignal::Offer(sdp)) => Some(sdp.clone()),
        _ => None,
    })
    .await
    .remove(0);
    assert!(!offer.contains("m=video"), "sound only: {offer}");
    assert!(offer.contains("opus/48000"));
    assert!(caller
        .session
        .remote_signal(MediaSignal::Offer(offer.clone()))
        .await
        .is_err());
    assert!(callee
        .session
        .remote_signal(MediaSignal::Answer("v=0".into()))
        .await
        .is_err());
    assert!(callee
        .session
        .remote_signal(MediaSignal::Offer("not sdp".into()))
        .await
        .is_err());
    callee.session.remote_signal(MediaSignal::Offer(offer)).await.unwrap();
    connect(&mut caller, &mut callee).await;
    // Video sent in a call without it goes nowhere; sound does.
    caller.session.send_video(frame(0, true, 100), 0).await.unwrap();
    caller
        .session
        .send_audio(Bytes::from_static(b"\xf8opus"), 0)
        .await
        .unwrap();
    let audio = collect(&mut callee, 1, |o| match o {
        MediaOutput::Audio(f) => Some(f.data.clone()),
        MediaOutput::Video(_) => panic!("video in an audio call"),
        _ => None,
    })
    .await;
    assert_eq!(audio[0].as_ref(), b"\xf8opus");
}

#[tokio::test]
async fn the_other_sides_loss_reports_set_the_cameras_bitrate() {
    let mut caller = Side::open(true, true).await;
    let mut callee = Side::open(false, true).await;
    connect(&mut caller, &mut callee).await;

    // The callee receives our video and reports on it (RTCP receiver reports, about once a
    // second); the statistics every 2 s then carry the bitrate those reports call for. Loopback
    // loses nothing, so it grows from the start.
    let sender = caller.session.clone();
    let sending = tokio::spawn(async move {
        for n in 0..600u32 {
            let f = frame((n % 200) as u8, n % 30 == 0, 1500);
            if sender.send_video(f, u64::from(n) * 33_333).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(33)).await;
        }
    });
    let bitrates = collect(&mut caller, 2, |o| match o {
        MediaOutput::Stats(s) => s.bitrate_bps,
        _ => None,
    })
    .await;
    assert!(bitrates[0] > parley_media::START_VIDEO_BPS, "{bitrates:?}");
    assert!(
        bitrates[1] >= bitrates[0] && bitrates[1] <= parley_media::MAX_VIDEO_BPS,
        "{bitrates:?}"
    );
    sending.abort();
    caller.session.close().await;
    callee.session.close().await;
}

/// The sound and the picture are streams of their own (`a=msid`), so that a browser receiving
/// them plays each as it comes instead of holding the picture back to the sound
/// (docs/call-media-bridge.md, "Sound and picture").
#[tokio::test]
async fn the_offer_puts_sound_and_picture_in_streams_of_their_own() {
    let mut caller = Side::open(true, true).await;
    let sdp = loop {
        if let MediaOutput::Signal(MediaSignal::Offer(sdp)) = caller.next().await {
            break sdp;
        }
    };
    let mut streams = Vec::new();
    let mut kind = "";
    for line in sdp.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            kind = if m.starts_with("audio") { "audio" } else { "video" };
        }
        if let Some(msid) = line.strip_prefix("a=msid:") {
            let stream = msid.split_whitespace().next().unwrap_or_default().to_owned();
            streams.push((kind, stream));
        }
    }
    let of = |k: &str| streams.iter().find(|(kind, _)| *kind == k).map(|(_, s)| s.clone());
    let (audio, video) = (of("audio").expect("audio's msid"), of("video").expect("video's msid"));
    assert_ne!(audio, video, "one stream for both in {sdp}");
    caller.session.close().await;
}
