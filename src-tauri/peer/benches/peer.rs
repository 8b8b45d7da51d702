//! Peer-layer benchmark on loopback: connection set-up time and chat-frame round trips between
//! two `PeerManager`s in one process, wired by an in-memory relay.
//!
//! `cargo bench -p parley-peer --bench peer` runs the tuned loopback configuration and, for
//! comparison, one with webrtc-rs's default ICE pacing. Environment knobs: `SETUP_RUNS` (20),
//! `RTT_MESSAGES` (10000), `PROFILES` (comma list of `tuned`, `default-pacing`, `real-net`).

// A benchmark prints its figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parley_peer::{Identity, PeerConfig, PeerEvent, PeerId, PeerManager, PeerSignal};
use parley_signal::test_utils::bench::{env_usize, is_real_run, ms, percentile, runtime};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::time::timeout;

/// A small chat frame.
const PAYLOAD: &[u8] = br#"{"t":"msg","id":12345,"body":"hello there, a small chat frame"}"#;
const PAYLOAD_LEN: usize = PAYLOAD.len();

struct Node {
    mgr: PeerManager,
    events: UnboundedReceiver<PeerEvent>,
}

#[derive(Clone, Default)]
struct Relay {
    peers: Arc<Mutex<HashMap<PeerId, PeerManager>>>,
}

impl Relay {
    fn join(&self, id: &str, config: PeerConfig) -> Node {
        let (sig_tx, mut sig_rx) = unbounded_channel::<(PeerId, PeerSignal)>();
        let (ev_tx, events) = unbounded_channel();
        let mgr = PeerManager::new(id.to_owned(), Arc::new(Identity::generate(id)), config, sig_tx, ev_tx);
        self.peers.lock().unwrap().insert(id.to_owned(), mgr.clone());
        let peers = self.peers.clone();
        let from = id.to_owned();
        tokio::spawn(async move {
            while let Some((to, signal)) = sig_rx.recv().await {
                // Through JSON, as the real relay carries it.
                let signal: PeerSignal = serde_json::from_str(&serde_json::to_string(&signal).unwrap()).unwrap();
                let target = peers.lock().unwrap().get(&to).cloned();
                if let Some(target) = target {
                    if let Err(e) = target.handle_signal(&from, signal).await {
                        eprintln!("relay {from}->{to}: {e}");
                    }
                }
            }
        });
        Node { mgr, events }
    }
}

/// When the channel was usable, and how much of the set-up the identity handshake took.
async fn wait_connected(node: &mut Node) -> (Instant, Duration) {
    match timeout(Duration::from_secs(20), node.events.recv()).await {
        Ok(Some(PeerEvent::Connected { identity, .. })) => (Instant::now(), identity.proved_in),
        Ok(Some(other)) => panic!("unexpected event during set-up: {other:?}"),
        Ok(None) | Err(_) => panic!("no connection within 20 s"),
    }
}

fn profile(name: &str) -> PeerConfig {
    match name {
        "tuned" => PeerConfig::loopback(),
        // The app's production defaults, restricted to loopback so the bench stays on this machine.
        "real-net" => PeerConfig {
            loopback_only: true,
            ..PeerConfig::default()
        },
        // webrtc-rs's own ICE pacing (200 ms checks, 7 attempts).
        "default-pacing" => PeerConfig {
            ice_check_interval: Duration::from_millis(200),
            ice_max_binding_requests: 7,
            ..PeerConfig::loopback()
        },
        other => panic!("unknown profile {other}"),
    }
}

/// Set-up times, and the identity handshake's part of each (the slower side's).
async fn bench_setup(name: &str, runs: usize) -> (Vec<Duration>, Vec<Duration>) {
    let mut times = Vec::with_capacity(runs);
    let mut proving = Vec::with_capacity(runs);
    for _ in 0..runs {
        let relay = Relay::default();
        let mut a = relay.join("a", profile(name));
        let mut b = relay.join("b", profile(name));
        let start = Instant::now();
        a.mgr.connect(&"b".to_owned()).await.expect("connect");
        let ((ta, pa), (tb, pb)) = tokio::join!(wait_connected(&mut a), wait_connected(&mut b));
        times.push(ta.max(tb) - start);
        proving.push(pa.max(pb));
        a.mgr.close_all().await;
        b.mgr.close_all().await;
    }
    times.sort();
    proving.sort();
    (times, proving)
}

async fn bench_rtt(name: &str, messages: usize) -> Vec<Duration> {
    let relay = Relay::default();
    let mut a = relay.join("a", profile(name));
    let mut b = relay.join("b", profile(name));
    a.mgr.connect(&"b".to_owned()).await.expect("connect");
    let _ = wait_connected(&mut a).await;
    let _ = wait_connected(&mut b).await;

    let echo_mgr = b.mgr.clone();
    let mut b_events = b.events;
    let echo = tokio::spawn(async move {
        let to = "a".to_owned();
        while let Some(event) = b_events.recv().await {
            if let PeerEvent::Frame { data, .. } = event {
                if echo_mgr.send(&to, data).await.is_err() {
                    break;
                }
            }
        }
    });

    let to = "b".to_owned();
    let payload = Bytes::from_static(PAYLOAD);
    // Warm-up: let SCTP's congestion state and the RTO estimate settle.
    for _ in 0..200 {
        a.mgr.send(&to, payload.clone()).await.unwrap();
        a.events.recv().await.unwrap();
    }
    let mut rtts = Vec::with_capacity(messages);
    for _ in 0..messages {
        let start = Instant::now();
        a.mgr.send(&to, payload.clone()).await.unwrap();
        match timeout(Duration::from_secs(5), a.events.recv()).await {
            Ok(Some(PeerEvent::Frame { .. })) => rtts.push(start.elapsed()),
            other => panic!("no echo: {other:?}"),
        }
    }
    a.mgr.close_all().await;
    b.mgr.close_all().await;
    echo.abort();
    rtts.sort();
    rtts
}

fn main() {
    let runtime = runtime();
    // `cargo test --all-targets` runs benches too, without `--bench`: a quick smoke run then.
    let smoke = !is_real_run();
    let runs = env_usize("SETUP_RUNS", if smoke { 2 } else { 20 });
    let messages = env_usize("RTT_MESSAGES", if smoke { 200 } else { 10_000 });
    let profiles = std::env::var("PROFILES").unwrap_or_else(|_| "tuned,default-pacing".to_owned());
    runtime.block_on(async {
        for name in profiles.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (setup, proving) = bench_setup(name, runs).await;
            println!(
                "[{name}] set-up (connect -> identities proven on both sides), {runs} runs (ms): p50 {}  min {}  max {}",
                ms(percentile(&setup, 0.5)),
                ms(setup[0]),
                ms(setup[setup.len() - 1]),
            );
            println!(
                "[{name}]   of which the identity handshake (channel open -> proof verified) (ms): p50 {}  p99 {}  max {}",
                ms(percentile(&proving, 0.5)),
                ms(percentile(&proving, 0.99)),
                ms(proving[proving.len() - 1]),
            );
            let rtt = bench_rtt(name, messages).await;
            println!(
                "[{name}] round trip, {messages} echoed {PAYLOAD_LEN}-byte frames (ms): p50 {}  p99 {}  max {}",
                ms(percentile(&rtt, 0.5)),
                ms(percentile(&rtt, 0.99)),
                ms(rtt[rtt.len() - 1]),
            );
        }
    });
}
