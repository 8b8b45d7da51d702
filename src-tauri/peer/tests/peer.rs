//! Peer managers in one process, wired by a relay that stands in for the signaling server: each
//! manager's signals go out as JSON, in order, to the addressed manager's inbox, and each manager
//! applies its inbox in order on its own task, as the app does with the server's socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use parley_peer::{Identity, PeerConfig, PeerError, PeerEvent, PeerId, PeerManager, PeerSignal, MAX_FRAME_LEN};
use parley_signal::test_utils::{init_tracing, DEADLINE};
use tokio::runtime::Handle;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::timeout;

/// How long "nothing else happens" is watched for after a scenario settles.
const QUIET: Duration = Duration::from_millis(400);

type Inbox = UnboundedSender<(PeerId, PeerSignal)>;

#[derive(Clone, Default)]
struct Relay {
    /// Who is online: id -> (registration number, inbox).
    peers: Arc<Mutex<HashMap<PeerId, (u64, Inbox)>>>,
    registrations: Arc<AtomicU64>,
    /// Every relayed signal: (from, to, signal).
    log: Arc<Mutex<Vec<(PeerId, PeerId, PeerSignal)>>>,
    /// Errors returned by `handle_signal` for relayed (honest) traffic.
    errors: Arc<Mutex<Vec<String>>>,
}

struct Node {
    id: PeerId,
    mgr: PeerManager,
    events: UnboundedReceiver<PeerEvent>,
}

impl Relay {
    fn join(&self, id: &str) -> Node {
        self.join_with(id, PeerConfig::loopback())
    }

    fn join_with(&self, id: &str, config: PeerConfig) -> Node {
        self.join_on(id, config, &Handle::current())
    }

    /// Joins with the manager's signal handling (and so the connections it answers) running on
    /// `runtime`.
    fn join_on(&self, id: &str, config: PeerConfig, runtime: &Handle) -> Node {
        init_tracing();
        let (sig_tx, mut sig_rx) = unbounded_channel::<(PeerId, PeerSignal)>();
        let (ev_tx, ev_rx) = unbounded_channel();
        let (inbox_tx, mut inbox_rx) = unbounded_channel::<(PeerId, PeerSignal)>();
        let mgr = PeerManager::new(id.to_owned(), Arc::new(Identity::generate(id)), config, sig_tx, ev_tx);
        let registration = self.registrations.fetch_add(1, Ordering::Relaxed);
        self.peers
            .lock()
            .unwrap()
            .insert(id.to_owned(), (registration, inbox_tx));

        let relay = self.clone();
        let from = id.to_owned();
        runtime.spawn(async move {
            while let Some((to, signal)) = sig_rx.recv().await {
                // A peer that has left (or been replaced under its id) is no longer relayed.
                let online = relay.peers.lock().unwrap().get(&from).map(|(r, _)| *r) == Some(registration);
                if !online {
                    continue;
                }
                let wire = serde_json::to_string(&signal).unwrap();
                let signal: PeerSignal = serde_json::from_str(&wire).unwrap();
                relay
                    .log
                    .lock()
                    .unwrap()
                    .push((from.clone(), to.clone(), signal.clone()));
                let inbox = relay.peers.lock().unwrap().get(&to).map(|(_, inbox)| inbox.clone());
                if let Some(inbox) = inbox {
                    let _ = inbox.send((from.clone(), signal));
                }
            }
        });

        let relay = self.clone();
        let me = id.to_owned();
        let handler = mgr.clone();
        runtime.spawn(async move {
            while let Some((from, signal)) = inbox_rx.recv().await {
                if let Err(e) = handler.handle_signal(&from, signal).await {
                    relay.errors.lock().unwrap().push(format!("{from}->{me}: {e}"));
                }
            }
        });
        Node {
            id: id.to_owned(),
            mgr,
            events: ev_rx,
        }
    }

    /// Takes a peer off the relay: its signals no longer arrive anywhere and nothing reaches it.
    fn leave(&self, id: &str) {
        self.peers.lock().unwrap().remove(id);
    }

    fn errors(&self) -> Vec<String> {
        self.errors.lock().unwrap().clone()
    }

    fn count(&self, from: &str, pred: impl Fn(&PeerSignal) -> bool) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(f, _, s)| f == from && pred(s))
            .count()
    }

    /// The session id of the last offer `from` sent.
    fn last_offer_session(&self, from: &str) -> u64 {
        self.log
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find_map(|(f, _, s)| match s {
                PeerSignal::Offer { session, .. } if f == from => Some(*session),
                _ => None,
            })
            .expect("an offer was relayed")
    }

    fn last_sdp(&self, from: &str, answer: bool) -> String {
        self.log
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find_map(|(f, _, s)| match s {
                PeerSignal::Answer { sdp, .. } if f == from && answer => Some(sdp.clone()),
                PeerSignal::Offer { sdp, .. } if f == from && !answer => Some(sdp.clone()),
                _ => None,
            })
            .expect("a description was relayed")
    }
}

impl Node {
    async fn next(&mut self) -> PeerEvent {
        timeout(DEADLINE, self.events.recv())
            .await
            .unwrap_or_else(|_| panic!("{}: no event within {DEADLINE:?}", self.id))
            .expect("event channel open")
    }

    async fn expect_connected(&mut self, peer: &str) {
        match self.next().await {
            PeerEvent::Connected { peer: p, .. } if p == peer => {}
            other => panic!("{}: expected Connected from {peer}, got {other:?}", self.id),
        }
    }

    async fn expect_disconnected(&mut self, peer: &str) -> String {
        match self.next().await {
            PeerEvent::Disconnected { peer: p, reason } if p == peer => reason,
            other => panic!("{}: expected Disconnected from {peer}, got {other:?}", self.id),
        }
    }

    async fn expect_frame(&mut self, peer: &str) -> Bytes {
        match self.next().await {
            PeerEvent::Frame { peer: p, data } if p == peer => data,
            other => panic!("{}: expected a frame from {peer}, got {other:?}", self.id),
        }
    }

    async fn expect_quiet(&mut self) {
        if let Ok(Some(event)) = timeout(QUIET, self.events.recv()).await {
            panic!("{}: unexpected event {event:?}", self.id);
        }
    }
}

/// Sends a frame each way and checks it arrives intact.
async fn exchange(x: &mut Node, y: &mut Node, tag: &str) {
    let there = Bytes::from(format!("{tag}: {} to {}", x.id, y.id));
    x.mgr.send(&y.id, there.clone()).await.expect("send");
    assert_eq!(y.expect_frame(&x.id).await, there);
    let back = Bytes::from(format!("{tag}: {} to {}", y.id, x.id));
    y.mgr.send(&x.id, back.clone()).await.expect("send back");
    assert_eq!(x.expect_frame(&y.id).await, back);
}

async fn connected_pair(relay: &Relay) -> (Node, Node) {
    let mut a = relay.join("alice");
    let mut b = relay.join("bob");
    a.mgr.connect(&b.id).await.unwrap();
    a.expect_connected("bob").await;
    b.expect_connected("alice").await;
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offerer_connects_and_frames_flow_both_ways() {
    let relay = Relay::default();
    let (mut a, mut b) = connected_pair(&relay).await;
    assert!(a.mgr.is_open(&b.id) && b.mgr.is_open(&a.id));
    for i in 0..20 {
        exchange(&mut a, &mut b, &format!("round {i}")).await;
    }
    // Ordered channel: a burst arrives in order.
    for i in 0..200u32 {
        a.mgr.send(&b.id, Bytes::from(i.to_be_bytes().to_vec())).await.unwrap();
    }
    for i in 0..200u32 {
        assert_eq!(b.expect_frame("alice").await, Bytes::from(i.to_be_bytes().to_vec()));
    }
    // connect on an open connection changes nothing.
    a.mgr.connect(&b.id).await.unwrap();
    b.mgr.connect(&a.id).await.unwrap();
    a.expect_quiet().await;
    b.expect_quiet().await;
    assert_eq!(relay.count("alice", |s| matches!(s, PeerSignal::Offer { .. })), 1);
    assert_eq!(relay.count("bob", |s| matches!(s, PeerSignal::Hello { .. })), 0);
    assert!(relay.errors().is_empty(), "{:?}", relay.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answerer_connect_asks_the_smaller_id_to_offer() {
    let relay = Relay::default();
    let mut a = relay.join("alice");
    let mut b = relay.join("bob");
    b.mgr.connect(&a.id).await.unwrap();
    a.expect_connected("bob").await;
    b.expect_connected("alice").await;
    exchange(&mut a, &mut b, "hello path").await;
    assert_eq!(relay.count("bob", |s| matches!(s, PeerSignal::Hello { .. })), 1);
    assert_eq!(relay.count("bob", |s| matches!(s, PeerSignal::Offer { .. })), 0);
    assert_eq!(relay.count("alice", |s| matches!(s, PeerSignal::Offer { .. })), 1);
    assert!(relay.errors().is_empty(), "{:?}", relay.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_connect_yields_exactly_one_connection() {
    for round in 0..5 {
        let relay = Relay::default();
        let mut a = relay.join("alice");
        let mut b = relay.join("bob");
        let (ra, rb) = tokio::join!(a.mgr.connect(&b.id), b.mgr.connect(&a.id));
        ra.unwrap();
        rb.unwrap();
        a.expect_connected("bob").await;
        b.expect_connected("alice").await;
        exchange(&mut a, &mut b, &format!("glare {round}")).await;
        a.expect_quiet().await;
        b.expect_quiet().await;
        assert_eq!(
            relay.count("alice", |s| matches!(s, PeerSignal::Offer { .. })),
            1,
            "round {round}"
        );
        assert_eq!(
            relay.count("bob", |s| matches!(s, PeerSignal::Answer { .. })),
            1,
            "round {round}"
        );
        assert!(relay.errors().is_empty(), "round {round}: {:?}", relay.errors());
        a.mgr.close_all().await;
        b.mgr.close_all().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_notifies_the_other_side_and_reconnect_works() {
    let relay = Relay::default();
    let (mut a, mut b) = connected_pair(&relay).await;

    b.mgr.close(&a.id).await;
    assert_eq!(b.expect_disconnected("alice").await, "closed locally");
    let reason = a.expect_disconnected("bob").await;
    assert!(!a.mgr.is_open(&b.id) && !b.mgr.is_open(&a.id), "{reason}");
    assert!(matches!(
        a.mgr.send(&b.id, Bytes::from_static(b"x")).await,
        Err(PeerError::NotOpen(_))
    ));
    a.expect_quiet().await;
    b.expect_quiet().await;

    // Reconnect from the side that closed (it asks alice to offer).
    b.mgr.connect(&a.id).await.unwrap();
    a.expect_connected("bob").await;
    b.expect_connected("alice").await;
    exchange(&mut a, &mut b, "after reconnect").await;

    // And again, closed and reopened from the offering side.
    a.mgr.close(&b.id).await;
    a.expect_disconnected("bob").await;
    b.expect_disconnected("alice").await;
    a.mgr.connect(&b.id).await.unwrap();
    a.expect_connected("bob").await;
    b.expect_connected("alice").await;
    exchange(&mut a, &mut b, "second reconnect").await;
    assert!(relay.errors().is_empty(), "{:?}", relay.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_offerer_replaces_the_old_connection() {
    let relay = Relay::default();
    let (a_old, mut b) = connected_pair(&relay).await;

    // alice's process "restarts": the old instance silently loses its relay link (no Bye) but
    // its connection stays up, so bob still believes in it until the new offer arrives.
    relay.leave("alice");
    let mut a = relay.join("alice");
    assert!(b.mgr.is_open(&a.id));
    a.mgr.connect(&b.id).await.unwrap();
    assert_eq!(b.expect_disconnected("alice").await, "replaced by a new connection");
    b.expect_connected("alice").await;
    a.expect_connected("bob").await;
    exchange(&mut a, &mut b, "after restart").await;
    assert!(relay.errors().is_empty(), "{:?}", relay.errors());
    drop(a_old);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_answerer_gets_a_fresh_offer() {
    let relay = Relay::default();
    let (mut a, b_old) = connected_pair(&relay).await;

    relay.leave("bob");
    let mut b = relay.join("bob");
    b.mgr.connect(&a.id).await.unwrap();
    assert_eq!(a.expect_disconnected("bob").await, "remote restarted");
    a.expect_connected("bob").await;
    b.expect_connected("alice").await;
    exchange(&mut a, &mut b, "after restart").await;
    assert!(relay.errors().is_empty(), "{:?}", relay.errors());
    drop(b_old);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_signals_are_refused_and_leave_the_connection_working() {
    let relay = Relay::default();
    let (mut a, mut b) = connected_pair(&relay).await;
    let session = relay.last_offer_session("alice");
    let real_offer = relay.last_sdp("alice", false);
    let real_answer = relay.last_sdp("bob", true);
    let alice = a.id.clone();
    let bob = b.id.clone();

    let offer = |session: u64, sdp: &str| PeerSignal::Offer {
        v: 1,
        session,
        sdp: sdp.to_owned(),
    };
    let cand = |session: u64, c: &str| PeerSignal::Candidate {
        session,
        candidate: c.to_owned(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    };
    let host = "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host";

    // Garbage and near-SDP offers, for a new session and for the current one.
    for sdp in [
        "garbage",
        "",
        "v=0\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
    ] {
        let r = b.mgr.handle_signal(&alice, offer(session + 1, sdp)).await;
        assert!(r.is_err(), "new-session offer {sdp:?} accepted");
        let r = b.mgr.handle_signal(&alice, offer(session, sdp)).await;
        assert!(r.is_err(), "same-session offer {sdp:?} accepted");
    }
    // Huge strings.
    let huge = "a".repeat(1 << 20);
    assert!(matches!(
        b.mgr.handle_signal(&alice, offer(session + 2, &huge)).await,
        Err(PeerError::InvalidSignal(_))
    ));
    assert!(matches!(
        b.mgr.handle_signal(&alice, cand(session, &huge)).await,
        Err(PeerError::InvalidSignal(_))
    ));
    assert!(matches!(
        a.mgr
            .handle_signal(
                &bob,
                PeerSignal::Answer {
                    session,
                    sdp: huge.clone()
                }
            )
            .await,
        Err(PeerError::InvalidSignal(_))
    ));
    assert!(matches!(
        b.mgr.handle_signal(&huge, PeerSignal::Hello { v: 1 }).await,
        Err(PeerError::InvalidPeerId)
    ));
    assert!(matches!(
        b.mgr.handle_signal(&String::new(), PeerSignal::Hello { v: 1 }).await,
        Err(PeerError::InvalidPeerId)
    ));
    // Versions, ids and roles.
    assert!(matches!(
        a.mgr.handle_signal(&bob, PeerSignal::Hello { v: 99 }).await,
        Err(PeerError::UnsupportedVersion(99))
    ));
    assert!(matches!(
        b.mgr
            .handle_signal(
                &alice,
                PeerSignal::Offer {
                    v: 2,
                    session,
                    sdp: real_offer.clone()
                }
            )
            .await,
        Err(PeerError::UnsupportedVersion(2))
    ));
    assert!(b
        .mgr
        .handle_signal(&alice, PeerSignal::Bye { session: 0 })
        .await
        .is_err());
    assert!(b
        .mgr
        .handle_signal(&alice, PeerSignal::Bye { session: u64::MAX })
        .await
        .is_err());
    assert!(matches!(
        a.mgr.handle_signal(&bob, offer(session + 3, &real_offer)).await,
        Err(PeerError::UnexpectedSignal { .. })
    ));
    assert!(matches!(
        b.mgr.handle_signal(&alice, PeerSignal::Hello { v: 1 }).await,
        Err(PeerError::UnexpectedSignal { .. })
    ));
    assert!(matches!(
        b.mgr.handle_signal(&bob, PeerSignal::Hello { v: 1 }).await,
        Err(PeerError::SelfConnection)
    ));
    // Answers without an offer: to the answering side, and to the offerer when none is pending.
    assert!(matches!(
        b.mgr
            .handle_signal(
                &alice,
                PeerSignal::Answer {
                    session,
                    sdp: real_answer.clone()
                }
            )
            .await,
        Err(PeerError::UnexpectedSignal { .. })
    ));
    assert!(matches!(
        a.mgr
            .handle_signal(
                &bob,
                PeerSignal::Answer {
                    session,
                    sdp: real_answer.clone()
                }
            )
            .await,
        Err(PeerError::UnexpectedSignal { .. })
    ));
    // Bad candidates for the live session.
    assert!(matches!(
        b.mgr.handle_signal(&alice, cand(session, "candidate:nonsense")).await,
        Err(PeerError::InvalidSignal(_))
    ));
    let remote = "candidate:1 1 udp 2130706431 192.0.2.7 9 typ host";
    assert!(matches!(
        b.mgr.handle_signal(&alice, cand(session, remote)).await,
        Err(PeerError::InvalidSignal(_))
    ));

    // Stale traffic about other sessions is ignored without error.
    b.mgr.handle_signal(&alice, cand(session + 7, host)).await.unwrap();
    b.mgr
        .handle_signal(&alice, PeerSignal::Bye { session: session + 7 })
        .await
        .unwrap();
    a.mgr
        .handle_signal(
            &bob,
            PeerSignal::Answer {
                session: session + 7,
                sdp: real_answer,
            },
        )
        .await
        .unwrap();

    // A third peer that has never been offered anything.
    let mut c = relay.join("carol");
    assert!(matches!(
        c.mgr.handle_signal(&alice, cand(session, host)).await,
        Err(PeerError::UnexpectedSignal { .. })
    ));
    assert!(matches!(
        c.mgr
            .handle_signal(
                &"dave".to_owned(),
                PeerSignal::Answer {
                    session,
                    sdp: real_offer
                }
            )
            .await,
        Err(PeerError::UnexpectedSignal { .. })
    ));
    assert!(!c.mgr.is_open(&alice));

    // The real connection never noticed.
    assert!(a.mgr.is_open(&bob) && b.mgr.is_open(&alice));
    exchange(&mut a, &mut b, "after the storm").await;
    a.expect_quiet().await;
    b.expect_quiet().await;
    c.expect_quiet().await;
    assert!(relay.errors().is_empty(), "{:?}", relay.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_enforces_the_frame_limit_and_needs_an_open_channel() {
    let relay = Relay::default();
    let (mut a, mut b) = connected_pair(&relay).await;
    let max = Bytes::from((0..MAX_FRAME_LEN).map(|i| i as u8).collect::<Vec<_>>());
    a.mgr.send(&b.id, max.clone()).await.unwrap();
    assert_eq!(b.expect_frame("alice").await, max);
    let too_big = Bytes::from(vec![0u8; MAX_FRAME_LEN + 1]);
    assert!(matches!(
        a.mgr.send(&b.id, too_big).await,
        Err(PeerError::FrameTooLarge { len, max: MAX_FRAME_LEN }) if len == MAX_FRAME_LEN + 1
    ));
    assert!(matches!(
        a.mgr.send(&"nobody".to_owned(), Bytes::new()).await,
        Err(PeerError::NotOpen(_))
    ));
    assert!(matches!(
        a.mgr.connect(&a.id.clone()).await,
        Err(PeerError::SelfConnection)
    ));
    exchange(&mut a, &mut b, "still fine").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_offer_times_out_and_a_later_connect_starts_afresh() {
    let relay = Relay::default();
    let config = PeerConfig {
        setup_timeout: Duration::from_millis(300),
        ..PeerConfig::loopback()
    };
    let mut a = relay.join_with("alice", config);
    let nobody = "zed".to_owned();
    a.mgr.connect(&nobody).await.unwrap();
    assert_eq!(a.expect_disconnected("zed").await, "set-up timed out");
    assert!(a.mgr.peer_connection(&nobody).is_none());
    a.mgr.connect(&nobody).await.unwrap();
    assert!(a.mgr.peer_connection(&nobody).is_some());
    assert_eq!(a.expect_disconnected("zed").await, "set-up timed out");
    assert_eq!(relay.count("alice", |s| matches!(s, PeerSignal::Offer { .. })), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_peers_form_a_mesh() {
    let relay = Relay::default();
    let mut nodes = [relay.join("alice"), relay.join("bob"), relay.join("carol")];
    let ids: Vec<PeerId> = nodes.iter().map(|n| n.id.clone()).collect();
    for n in &nodes {
        for id in &ids {
            if *id != n.id {
                n.mgr.connect(id).await.unwrap();
            }
        }
    }
    for n in nodes.iter_mut() {
        let mut seen = Vec::new();
        for _ in 0..2 {
            match n.next().await {
                PeerEvent::Connected { peer, .. } => seen.push(peer),
                other => panic!("{}: {other:?}", n.id),
            }
        }
        seen.sort();
        let mut want: Vec<_> = ids.iter().filter(|id| **id != n.id).cloned().collect();
        want.sort();
        assert_eq!(seen, want);
    }
    for i in 0..3 {
        for j in 0..3 {
            if i != j {
                let data = Bytes::from(format!("{} to {}", ids[i], ids[j]));
                nodes[i].mgr.send(&ids[j], data.clone()).await.unwrap();
                assert_eq!(nodes[j].expect_frame(&ids[i]).await, data);
            }
        }
    }
    for n in nodes.iter_mut() {
        n.expect_quiet().await;
    }
    assert_eq!(relay.count("alice", |s| matches!(s, PeerSignal::Offer { .. })), 2);
    assert_eq!(relay.count("bob", |s| matches!(s, PeerSignal::Offer { .. })), 1);
    assert_eq!(relay.count("carol", |s| matches!(s, PeerSignal::Offer { .. })), 0);
    assert!(relay.errors().is_empty(), "{:?}", relay.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renegotiation_keeps_the_connection() {
    let relay = Relay::default();
    let (mut a, mut b) = connected_pair(&relay).await;
    assert!(b.mgr.renegotiate(&a.id).await.is_err(), "only the offerer renegotiates");
    a.mgr.renegotiate(&b.id).await.unwrap();
    exchange(&mut a, &mut b, "after renegotiation").await;
    a.expect_quiet().await;
    b.expect_quiet().await;
    assert_eq!(relay.count("bob", |s| matches!(s, PeerSignal::Answer { .. })), 2);
    assert!(relay.errors().is_empty(), "{:?}", relay.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_all_closes_every_connection() {
    let relay = Relay::default();
    let mut a = relay.join("alice");
    let mut b = relay.join("bob");
    let mut c = relay.join("carol");
    a.mgr.connect(&b.id).await.unwrap();
    a.mgr.connect(&c.id).await.unwrap();
    for _ in 0..2 {
        assert!(matches!(a.next().await, PeerEvent::Connected { .. }));
    }
    b.expect_connected("alice").await;
    c.expect_connected("alice").await;
    a.mgr.close_all().await;
    for _ in 0..2 {
        assert!(matches!(a.next().await, PeerEvent::Disconnected { .. }));
    }
    b.expect_disconnected("alice").await;
    c.expect_disconnected("alice").await;
    assert!(!a.mgr.is_open(&b.id) && !a.mgr.is_open(&c.id));
}

/// webrtc 0.21's driver leaves the SCTP INIT queued until its next 200 ms timer unless it is
/// woken after the DTLS handshake; set-up then never takes less than that. The fastest of a few
/// set-ups is compared so that a loaded machine does not make this flaky.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_does_not_wait_for_a_driver_timer() {
    let mut fastest = Duration::MAX;
    for _ in 0..5 {
        let relay = Relay::default();
        let mut a = relay.join("alice");
        let mut b = relay.join("bob");
        let start = std::time::Instant::now();
        a.mgr.connect(&b.id).await.unwrap();
        a.expect_connected("bob").await;
        b.expect_connected("alice").await;
        fastest = fastest.min(start.elapsed());
        a.mgr.close_all().await;
        b.mgr.close_all().await;
    }
    assert!(fastest < Duration::from_millis(150), "fastest set-up took {fastest:?}");
}

/// A remote that vanishes without a word (crash, cable pulled) is noticed by ICE consent checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_remote_death_is_noticed_by_ice() {
    let config = PeerConfig {
        ice_keepalive_interval: Duration::from_millis(200),
        ice_disconnected_timeout: Duration::from_secs(1),
        ice_failed_timeout: Duration::from_secs(2),
        ..PeerConfig::loopback()
    };
    let relay = Relay::default();
    let mut a = relay.join_with("alice", config.clone());
    // bob's connections live on their own runtime, so they can die without sending anything.
    let bob_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut b = relay.join_on("bob", config, bob_runtime.handle());
    a.mgr.connect(&b.id).await.unwrap();
    a.expect_connected("bob").await;
    b.expect_connected("alice").await;
    exchange(&mut a, &mut b, "before the crash").await;

    relay.leave("bob");
    let crashed = std::time::Instant::now();
    bob_runtime.shutdown_background();
    let reason = a.expect_disconnected("bob").await;
    assert!(
        reason == "connection lost" || reason == "connection failed",
        "unexpected reason {reason:?}"
    );
    assert!(
        crashed.elapsed() >= Duration::from_millis(500),
        "noticed too early: {reason}"
    );
    assert!(!a.mgr.is_open(&b.id));
    a.expect_quiet().await;
    drop(b);
}

/// Extra channels beside the chat channel: opened on one side, joined on the other by id, data
/// both ways, binary and text kept apart; closed and opened again many times on one connection
/// (each on a fresh stream id), with chat still flowing; ids the remote may not pick refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_channels_open_carry_data_and_never_reuse_a_stream_id() {
    let relay = Relay::default();
    let (mut a, mut b) = connected_pair(&relay).await;
    let mut ids = std::collections::HashSet::new();
    for round in 0..6u8 {
        // Either side opens; the other joins what it was told.
        let (opener, joiner) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let mine = opener.mgr.open_channel(&joiner.id, "test/1").await.expect("open");
        assert!(ids.insert(mine.id()), "stream id {} used twice", mine.id());
        let theirs = joiner
            .mgr
            .join_channel(&opener.id, mine.id(), "test/1")
            .await
            .expect("join");
        // The joiner speaks first (the opener's end exists already).
        theirs.send(Bytes::from(vec![round; 60_000])).await.unwrap();
        theirs.send_text("text frame").await.unwrap();
        let got = mine.recv().await.unwrap();
        assert_eq!((got.text, got.data.len(), got.data[0]), (false, 60_000, round));
        let got = mine.recv().await.unwrap();
        assert_eq!((got.text, &got.data[..]), (true, &b"text frame"[..]));
        mine.send(Bytes::from_static(b"reply")).await.unwrap();
        assert_eq!(&theirs.recv().await.unwrap().data[..], b"reply");
        // Ending a channel with data still moving must not keep the next one from opening.
        for _ in 0..16 {
            let _ = mine.send(Bytes::from(vec![0u8; 60_000])).await;
        }
        theirs.close().await;
        drop((mine, theirs));
    }
    exchange(&mut a, &mut b, "chat after channels").await;
    // bob answers alice's offer, so bob's ids are odd: alice may not "join" an even one as if
    // bob had opened it, nor the chat channel's.
    assert!(a.mgr.join_channel(&b.id, 2, "test/1").await.is_err());
    assert!(a.mgr.join_channel(&b.id, 0, "test/1").await.is_err());
    assert!(b.mgr.join_channel(&a.id, 3, "test/1").await.is_err());
    a.expect_quiet().await;
}
