//! A hostile signaling server between two honest peers. It relays their signals, and
//! (a) rewrites the DTLS fingerprints in the offers and answers, or
//! (b) sits fully in the middle: answers each side's offer with a connection of its own and
//!     relays the data channel between them, handshake frames included.
//! Both must be caught on both sides, with nothing delivered.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parley_peer::{Identity, PeerConfig, PeerEvent, PeerId, PeerManager, PeerSignal};
use parley_signal::test_utils::{init_tracing, DEADLINE};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

type Signals = UnboundedReceiver<(PeerId, PeerSignal)>;

fn manager(local: &str, identity: &str, config: PeerConfig) -> (PeerManager, Signals, UnboundedReceiver<PeerEvent>) {
    init_tracing();
    let (signals, signals_rx) = unbounded_channel();
    let (events, events_rx) = unbounded_channel();
    let manager = PeerManager::new(
        local.to_owned(),
        Arc::new(Identity::generate(identity)),
        config,
        signals,
        events,
    );
    (manager, signals_rx, events_rx)
}

/// Relays `from`'s signals to `to` as coming from `as_peer`, passing each through `rewrite`.
fn relay(
    mut signals: Signals,
    to: PeerManager,
    as_peer: &str,
    rewrite: impl Fn(PeerSignal) -> PeerSignal + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let as_peer = as_peer.to_owned();
    tokio::spawn(async move {
        while let Some((_, signal)) = signals.recv().await {
            let _ = to.handle_signal(&as_peer, rewrite(signal)).await;
        }
    })
}

/// Every event until the connection ends (or the deadline passes).
async fn until_disconnected(events: &mut UnboundedReceiver<PeerEvent>) -> Vec<PeerEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await {
        let done = matches!(event, PeerEvent::Disconnected { .. });
        seen.push(event);
        if done {
            return seen;
        }
    }
    panic!("the connection did not end within {DEADLINE:?}; saw {seen:?}")
}

fn replace_fingerprint(sdp: &str) -> String {
    sdp.lines()
        .map(|line| match line.strip_prefix("a=fingerprint:") {
            Some(value) => {
                let (algorithm, hex) = value.split_once(' ').unwrap();
                let forged: String = hex.chars().map(|c| if c == ':' { ':' } else { 'A' }).collect();
                format!("a=fingerprint:{algorithm} {forged}")
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

fn forge(signal: PeerSignal) -> PeerSignal {
    match signal {
        PeerSignal::Offer { v, session, sdp } => PeerSignal::Offer {
            v,
            session,
            sdp: replace_fingerprint(&sdp),
        },
        PeerSignal::Answer { session, sdp } => PeerSignal::Answer {
            session,
            sdp: replace_fingerprint(&sdp),
        },
        other => other,
    }
}

#[tokio::test]
async fn rewritten_fingerprints_are_caught_on_both_sides() {
    let config = PeerConfig {
        setup_timeout: Duration::from_secs(8),
        ..PeerConfig::loopback()
    };
    let (alice, alice_signals, mut alice_events) = manager("a", "alice", config.clone());
    let (bob, bob_signals, mut bob_events) = manager("b", "bob", config);
    let _relays = [
        relay(alice_signals, bob.clone(), "a", forge),
        relay(bob_signals, alice.clone(), "b", forge),
    ];
    alice.connect(&"b".to_owned()).await.unwrap();
    let (at_alice, at_bob) = tokio::join!(
        until_disconnected(&mut alice_events),
        until_disconnected(&mut bob_events)
    );
    for (who, events) in [("alice", &at_alice), ("bob", &at_bob)] {
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, PeerEvent::Connected { .. } | PeerEvent::Frame { .. })),
            "{who}: nothing opened, nothing delivered: {events:?}"
        );
    }
    assert!(alice
        .send(&"b".to_owned(), Bytes::from_static(b"secret"))
        .await
        .is_err());
}

#[tokio::test]
async fn a_server_in_the_middle_relaying_the_channel_is_caught_on_both_sides() {
    // Mallory runs two connections: toward Alice it is "b", toward Bob it is "a". Its channels
    // are raw, so it can pass the honest handshake frames along unchanged.
    let raw = PeerConfig {
        raw_channel: true,
        ..PeerConfig::loopback()
    };
    let (alice, alice_signals, mut alice_events) = manager("a", "alice", PeerConfig::loopback());
    let (bob, bob_signals, mut bob_events) = manager("b", "bob", PeerConfig::loopback());
    let (m_alice, m_alice_signals, m_alice_events) = manager("b", "mallory", raw.clone());
    let (m_bob, m_bob_signals, m_bob_events) = manager("a", "mallory", raw);
    let _relays = [
        relay(alice_signals, m_alice.clone(), "a", |s| s),
        relay(m_alice_signals, alice.clone(), "b", |s| s),
        relay(bob_signals, m_bob.clone(), "b", |s| s),
        relay(m_bob_signals, bob.clone(), "a", |s| s),
    ];
    alice.connect(&"b".to_owned()).await.unwrap();
    m_bob.connect(&"b".to_owned()).await.unwrap();

    // Mallory's relay of the data channel, both ways, reading everything.
    let read_by_mallory = Arc::new(std::sync::Mutex::new(Vec::<Bytes>::new()));
    let _a_to_b = pipe(m_alice_events, m_bob.clone(), "b", read_by_mallory.clone());
    let _b_to_a = pipe(m_bob_events, m_alice.clone(), "a", read_by_mallory.clone());

    let (at_alice, at_bob) = tokio::join!(
        until_disconnected(&mut alice_events),
        until_disconnected(&mut bob_events)
    );
    for (who, events) in [("alice", &at_alice), ("bob", &at_bob)] {
        assert!(
            events.iter().any(|e| matches!(e, PeerEvent::IdentityRefused { .. })),
            "{who} caught the interception: {events:?}"
        );
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, PeerEvent::Connected { .. } | PeerEvent::Frame { .. })),
            "{who}: nothing opened, nothing delivered: {events:?}"
        );
    }
    // What Mallory read is handshake frames only: public keys, nonces and signatures.
    for frame in read_by_mallory.lock().unwrap().iter() {
        let text = String::from_utf8_lossy(frame);
        assert!(text.contains("\"t\":\"id-"), "only the handshake passed: {text}");
    }
}

/// Passes every frame Mallory's leg receives on to its other leg, in order, waiting for that
/// leg to open when it is not yet.
fn pipe(
    mut from: UnboundedReceiver<PeerEvent>,
    to: PeerManager,
    to_peer: &str,
    log: Arc<std::sync::Mutex<Vec<Bytes>>>,
) -> tokio::task::JoinHandle<()> {
    let to_peer = to_peer.to_owned();
    tokio::spawn(async move {
        while let Some(event) = from.recv().await {
            let PeerEvent::Frame { data, .. } = event else { continue };
            log.lock().unwrap().push(data.clone());
            let deadline = tokio::time::Instant::now() + DEADLINE;
            while to.send(&to_peer, data.clone()).await.is_err() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    })
}
