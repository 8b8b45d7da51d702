//! Calls whose media runs in Rust (`docs/call-media-bridge.md`), between two headless cores and
//! a real signaling server: the test plays both pages — it opens each side's media connection
//! on the core's `start`, passes the connection's descriptions and candidates on with
//! `call_signal` and the other side's back with `media_signal`, and sends and pulls media records.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parley_core::{CallPhase, CallSignal, CoreEvent, Parley};
use parley_media::{Record, RecordKind};
use parley_tests::{online_pair, Person, TestServer};
use serde_json::Value;
use tokio::sync::mpsc;

/// What one side's page took out of `media_receive`: records, and events parsed.
#[derive(Debug)]
enum Got {
    Media(Record),
    Event(Value),
}

/// The page's pull loop: passes our signals on to the other side and everything else to `tx`.
fn pull(parley: Parley, call_id: String, tx: mpsc::UnboundedSender<Got>) {
    tokio::spawn(async move {
        loop {
            let bytes = match parley.media_receive(&call_id).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    let _ = tx.send(Got::Event(serde_json::json!({"closed": e.code()})));
                    return;
                }
            };
            for record in Record::decode_all(Bytes::from(bytes)).expect("the core sends records") {
                if record.kind != RecordKind::Event {
                    let _ = tx.send(Got::Media(record));
                    continue;
                }
                let event: Value = serde_json::from_slice(&record.payload).expect("events are JSON");
                if event["type"] == "signal" {
                    let signal: CallSignal = serde_json::from_value(event["signal"].clone()).unwrap();
                    parley.call_signal(&call_id, signal).await.expect("our signal goes out");
                } else {
                    let _ = tx.send(Got::Event(event));
                }
            }
        }
    });
}

/// Passes the other side's descriptions and candidates (core events since `seen`) to the media
/// connection.
async fn forward(person: &mut Person, seen: &mut usize, call_id: &str) {
    let signals: Vec<CallSignal> = person.since_mark()[*seen..]
        .iter()
        .filter_map(|e| match e {
            CoreEvent::CallSignal { signal, .. } if !matches!(signal, CallSignal::Start { .. }) => Some(signal.clone()),
            _ => None,
        })
        .collect();
    *seen = person.since_mark().len();
    for signal in signals {
        person
            .parley()
            .media_signal(call_id, signal)
            .await
            .expect("the media connection takes the other side's signal");
    }
}

fn start_of(person: &mut Person) -> Option<(bool, Vec<parley_core::CallIceServer>)> {
    person.since_mark().iter().find_map(|e| match e {
        CoreEvent::CallSignal {
            signal: CallSignal::Start { offerer, ice_servers },
            ..
        } => Some((*offerer, ice_servers.clone())),
        _ => None,
    })
}

fn records(list: &[Record]) -> Bytes {
    let mut buf = BytesMut::new();
    for r in list {
        r.encode(&mut buf);
    }
    buf.freeze()
}

fn media(kind: RecordKind, keyframe: bool, n: u8, len: usize) -> Record {
    let mut payload = vec![if keyframe { 0x10 } else { 0x11 }, n];
    payload.extend((0..len).map(|i| (i as u8) ^ n));
    Record {
        kind,
        keyframe,
        time_us: u64::from(n) * 33_333,
        duration_us: if kind == RecordKind::Video { 33_333 } else { 20_000 },
        payload: Bytes::from(payload),
    }
}

/// A call between two people whose media connections are made in Rust and up: the test plays
/// both pages up to there.
struct BridgedCall {
    _server: TestServer,
    alice: Person,
    bob: Person,
    id: String,
    /// Each side's pull loop: what its page took out of `media_receive`.
    sides: Vec<mpsc::UnboundedReceiver<Got>>,
}

async fn bridged_call(video: bool) -> BridgedCall {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    bob.wait_for_peer(alice.id()).await;
    alice.mark();
    bob.mark();

    let placed = alice.parley().start_call(bob.id(), video).await.unwrap();
    let id = placed.id.clone();
    bob.wait_for("the call ringing", |e| match e {
        CoreEvent::Call { call } if call.phase == CallPhase::RingingHere => Some(()),
        _ => None,
    })
    .await;
    // Before the answer there is no media connection to make.
    let early = bob.parley().media_open(&id, false, video, &[]).await.unwrap_err();
    assert_eq!(early.code(), "no_such_call");
    bob.parley().answer_call(&id).await.unwrap();

    let mut sides = Vec::new();
    for person in [&mut alice, &mut bob] {
        let (offerer, ice) = loop {
            if let Some(start) = start_of(person) {
                break start;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        person.parley().media_open(&id, offerer, video, &ice).await.unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        pull(person.parley().clone(), id.clone(), tx);
        sides.push((rx, 0usize, false));
    }

    // Both pages pass signals until both connections are up.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(sides[0].2 && sides[1].2) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the media connections did not come up"
        );
        for (i, person) in [&mut alice, &mut bob].into_iter().enumerate() {
            let (rx, seen, up) = &mut sides[i];
            forward(person, seen, &id).await;
            while let Ok(got) = rx.try_recv() {
                if let Got::Event(e) = got {
                    *up |= e == serde_json::json!({"type": "state", "state": "connected"});
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    BridgedCall {
        _server: server,
        alice,
        bob,
        id,
        sides: sides.into_iter().map(|(rx, _, _)| rx).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridged_video_call_negotiates_in_rust_and_carries_frames_both_ways_until_hang_up() {
    let BridgedCall {
        _server,
        alice,
        bob,
        id,
        mut sides,
    } = bridged_call(true).await;
    for person in [&alice, &bob] {
        person.parley().call_media_state(&id, None).await.unwrap();
    }

    // Alice's page sends a key frame, delta frames and sound; Bob's sends his; each arrives whole.
    let mut sent = Vec::new();
    for n in 0..6u8 {
        let frame = media(RecordKind::Video, n == 0, n, if n == 0 { 6000 } else { 1500 });
        let sound = media(RecordKind::Audio, false, n, 60);
        sent.push((frame.payload.clone(), sound.payload.clone()));
        for person in [&alice, &bob] {
            person
                .parley()
                .media_send(&id, records(&[frame.clone(), sound.clone()]))
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    for (i, who) in ["bob sees alice", "alice sees bob"].into_iter().enumerate() {
        let rx = &mut sides[1 - i];
        let (mut video, mut audio) = (Vec::new(), Vec::new());
        while video.len() < sent.len() || audio.len() < sent.len() {
            let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .unwrap_or_else(|_| panic!("{who}: {} frames, {} sounds in time", video.len(), audio.len()))
                .expect("the pull loop goes on");
            if let Got::Media(r) = got {
                match r.kind {
                    RecordKind::Video => video.push(r),
                    _ => audio.push(r.payload),
                }
            }
        }
        assert_eq!(
            video.iter().map(|r| r.payload.clone()).collect::<Vec<_>>(),
            sent.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
            "{who}"
        );
        assert!(video[0].keyframe && !video[1].keyframe);
        assert_eq!(audio, sent.iter().map(|s| s.1.clone()).collect::<Vec<_>>(), "{who}");
    }

    // A page sending what is not media is told so; the call goes on.
    let bad = alice
        .parley()
        .media_send(&id, Bytes::from_static(b"\x07junk"))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "invalid_call_media");
    let event_in = alice
        .parley()
        .media_send(
            &id,
            records(&[Record {
                kind: RecordKind::Event,
                keyframe: false,
                time_us: 0,
                duration_us: 0,
                payload: Bytes::from_static(b"{}"),
            }]),
        )
        .await
        .unwrap_err();
    assert_eq!(event_in.code(), "invalid_call_media");
    assert_eq!(alice.parley().current_call().unwrap().phase, CallPhase::Active);

    // Alice hangs up: both media connections close by themselves (no page closes them).
    alice.parley().hang_up(&id).await.unwrap();
    for rx in &mut sides {
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(got) = rx.recv().await {
                if let Got::Event(e) = got {
                    if e.get("closed").is_some() {
                        return e;
                    }
                }
            }
            Value::Null
        })
        .await
        .expect("the media connection closes with the call");
        assert_eq!(closed["closed"], "no_such_call");
    }
}

/// Bob's side of the call: the sound packets that arrive within `within`, with their times.
async fn sound_for(rx: &mut mpsc::UnboundedReceiver<Got>, within: Duration) -> Vec<Record> {
    let until = tokio::time::Instant::now() + within;
    let mut got = Vec::new();
    while let Ok(Some(next)) = tokio::time::timeout_at(until, rx.recv()).await {
        if let Got::Media(r) = next {
            if r.kind == RecordKind::Audio {
                got.push(r);
            }
        }
    }
    got
}

/// The page sends a sound packet: it is what the other side gets, alone.
async fn page_sound_arrives(parley: &Parley, id: &str, to_bob: &mut mpsc::UnboundedReceiver<Got>, page_sound: &Record) {
    parley
        .media_send(id, records(std::slice::from_ref(page_sound)))
        .await
        .unwrap();
    let heard = sound_for(to_bob, Duration::from_millis(500)).await;
    assert_eq!(
        heard.iter().map(|r| r.payload.clone()).collect::<Vec<_>>(),
        vec![page_sound.payload.clone()]
    );
}

/// Decodes Opus packets to PCM (48 kHz mono) and gives the loudness of each 10 ms.
fn loudness(packets: &[Record]) -> Vec<f32> {
    let mut decoder = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
    let mut pcm = Vec::new();
    let mut frame = vec![0f32; 5760];
    for p in packets {
        let n = decoder
            .decode_float(&p.payload, &mut frame, false)
            .expect("what arrives is Opus");
        pcm.extend_from_slice(&frame[..n]);
    }
    pcm.chunks(480)
        .map(|c| (c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32).sqrt())
        .collect()
}

/// Waits for Bob's page (`side`) to be told `event` (an event record's type).
async fn page_told(side: &mut mpsc::UnboundedReceiver<Got>, event: &str) -> bool {
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(got) = side.recv().await {
            if matches!(&got, Got::Event(e) if e["type"] == event) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

// One test for the microphone and the speaker: both need the process's PULSE_SERVER, which
// tests running side by side must not each set to a server of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_captures_the_microphone_and_plays_the_sound_on_the_sound_server() {
    if let Some(missing) = parley_tests::pulse_mic::PulseMic::missing() {
        panic!("this test needs a PulseAudio server to capture from: {missing}");
    }
    // A private sound server whose microphone plays a 100 ms tone at every whole second.
    let mic = parley_tests::pulse_mic::PulseMic::start().expect("a private PulseAudio server");
    for (key, value) in mic.env() {
        // Read by libpulse when the microphone connects; nothing else in this process uses it.
        std::env::set_var(key, value);
    }
    // Recorded from the start: an idle null sink takes up to 2 s (its longest block) to take a
    // new stream, one being recorded at once.
    let speakers = mic.listen("speakers").expect("recording the speakers");
    let BridgedCall {
        _server,
        alice,
        bob,
        id,
        mut sides,
    } = bridged_call(false).await;
    let to_bob = &mut sides[1];
    let page_sound = media(RecordKind::Audio, false, 1, 60);

    // WebKit's mock microphone is no source of the sound server's: the page's sound goes.
    let mock = alice
        .parley()
        .media_microphone(&id, "Mock audio device", true)
        .await
        .unwrap();
    assert!(!mock.captured, "{mock:?}");
    assert!(mock.detail.contains("Mock audio device"), "{}", mock.detail);
    page_sound_arrives(alice.parley(), &id, to_bob, &page_sound).await;

    // The microphone the webview labels "Benchmark-microphone" is the sound server's `virtmic`.
    let captured = alice
        .parley()
        .media_microphone(&id, "Benchmark-microphone", true)
        .await
        .unwrap();
    assert!(captured.captured, "{captured:?}");
    assert_eq!(captured.detail, "virtmic");
    // The page's own sound is no longer sent while the app's is.
    alice
        .parley()
        .media_send(&id, records(std::slice::from_ref(&page_sound)))
        .await
        .unwrap();
    let heard = sound_for(to_bob, Duration::from_millis(2500)).await;
    assert!(heard.len() > 80, "2.5 s of 20 ms packets, {} came", heard.len());
    assert!(
        !heard.iter().any(|r| r.payload == page_sound.payload),
        "the page's sound went too"
    );
    let steps: Vec<u64> = heard.windows(2).map(|w| w[1].time_us - w[0].time_us).collect();
    assert!(
        steps.iter().all(|&s| s == 20_000),
        "one 20 ms packet after another: {steps:?}"
    );
    // Bob hears the tone bursts, and the quiet between them.
    let levels = loudness(&heard);
    let loud = levels.iter().filter(|&&l| l > 0.1).count();
    let quiet = levels.iter().filter(|&&l| l < 0.01).count();
    assert!(
        loud >= 10 && quiet >= 100,
        "{loud} loud and {quiet} quiet 10 ms in {}",
        levels.len()
    );

    // Muted (as the page tells the core), nothing goes; unmuted, the sound comes back after a
    // gap in its time as long as the pause.
    alice.parley().set_call_media(&id, false, false).await.unwrap();
    let last_before = sound_for(to_bob, Duration::from_millis(300))
        .await
        .last()
        .map(|r| r.time_us);
    let while_muted = sound_for(to_bob, Duration::from_secs(1)).await;
    assert!(while_muted.is_empty(), "{} packets while muted", while_muted.len());
    alice.parley().set_call_media(&id, true, false).await.unwrap();
    let after = sound_for(to_bob, Duration::from_millis(500)).await;
    let first_after = after.first().expect("the sound comes back").time_us;
    let last_before = last_before.unwrap_or(heard.last().unwrap().time_us);
    assert!(
        first_after - last_before >= 1_000_000,
        "a gap of {} µs",
        first_after - last_before
    );

    // Another microphone the sound server lacks: the app lets go, and the page's sound goes again.
    let other = alice.parley().media_microphone(&id, "USB Headset", true).await.unwrap();
    assert!(!other.captured);
    sound_for(to_bob, Duration::from_millis(200)).await;
    page_sound_arrives(alice.parley(), &id, to_bob, &page_sound).await;

    // The microphone goes away (the server moves the recording to another source, as when a
    // device is unplugged), then the sound server itself (as when it crashes): each time
    // Alice's page is told, and its own sound goes again.
    let capture = || async {
        let again = alice
            .parley()
            .media_microphone(&id, "Benchmark-microphone", true)
            .await
            .unwrap();
        assert!(again.captured, "{again:?}");
    };
    capture().await;
    mic.pactl(&["load-module", "module-sine-source", "source_name=other"])
        .unwrap();
    mic.pactl(&["move-source-output", &parley_source_output(&mic), "other"])
        .unwrap();
    page_told_and_its_sound_goes(&mut sides, alice.parley(), &id, &page_sound, "moved").await;
    capture().await;

    // Bob's app plays the sound on the sound server (its default sink, `speakers`): his page
    // gets none of it, and the bursts come out of the sink, on time.
    let playing = bob.parley().media_speaker(&id).await.unwrap();
    assert!(playing.playing, "{playing:?}");
    assert_eq!(playing.detail, "speakers");
    let before = speakers.onset_count();
    let to_page = sound_for(&mut sides[1], Duration::from_millis(3000)).await;
    assert!(to_page.is_empty(), "{} packets still went to Bob's page", to_page.len());
    let onsets = speakers.onsets(before, speakers.onset_count());
    assert!(onsets.len() >= 2, "bursts out of Bob's speakers in 3 s: {onsets:?}");
    // Microphone, call and speaker on loopback: well under half a second (about 0.15 s here).
    assert!(
        onsets.iter().all(|&ms| (0.0..500.0).contains(&ms)),
        "the bursts came out this late in their second: {onsets:?}"
    );
    assert!(
        bob.parley().media_speaker(&id).await.unwrap().playing,
        "asked again, it goes on"
    );

    // The sound server goes away (as when it crashes): Bob's page is told and gets the sound
    // again; Alice's page is told its microphone stopped, and its own sound reaches Bob's page.
    drop(speakers);
    drop(mic);
    assert!(
        page_told(&mut sides[1], "speaker-stopped").await,
        "bob's page is told the speaker stopped"
    );
    page_told_and_its_sound_goes(&mut sides, alice.parley(), &id, &page_sound, "server gone").await;
    // No sound server now: asked again, the app says so, and the page goes on playing.
    let none = bob.parley().media_speaker(&id).await.unwrap();
    assert!(!none.playing && none.detail.contains("sound server"), "{none:?}");
}

/// Alice's page (`sides[0]`) is told the microphone captured in Rust stopped, and the sound it
/// sends then reaches Bob (`sides[1]`).
async fn page_told_and_its_sound_goes(
    sides: &mut [mpsc::UnboundedReceiver<Got>],
    parley: &Parley,
    id: &str,
    page_sound: &Record,
    what: &str,
) {
    let stopped = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(got) = sides[0].recv().await {
            if matches!(&got, Got::Event(e) if e["type"] == "microphone-stopped") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(stopped, Ok(true), "{what}: alice's page is told the microphone stopped");
    sound_for(&mut sides[1], Duration::from_millis(200)).await;
    page_sound_arrives(parley, id, &mut sides[1], page_sound).await;
}

/// The index of the app's recording on `mic`'s server.
fn parley_source_output(mic: &parley_tests::pulse_mic::PulseMic) -> String {
    let listed = mic.pactl(&["-f", "json", "list", "source-outputs"]).unwrap();
    let outputs: Vec<Value> = serde_json::from_str(&listed).expect("pactl's JSON");
    outputs
        .iter()
        .find(|o| o["properties"]["application.name"] == "Parley")
        .map(|o| o["index"].to_string())
        .unwrap_or_else(|| panic!("no recording of Parley's in {listed}"))
}
