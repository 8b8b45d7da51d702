//! A hostile peer against a real app core.
//!
//! The rogue is a genuine, signed-in account ("mallory") in the victim's room, built from bare
//! parts — a [`BareLink`] speaking the signaling frames and the peer layer's `PeerManager` —
//! so it opens a real data channel to the victim but then writes whatever bytes it likes on
//! it: garbage, frames at and over the size limits, messages with invalid ids, receipts for
//! messages of other conversations, and messages reusing ids of the victim's own messages.
//!
//! The victim must keep working (a normal peer still chats with it, the rogue's channel stays
//! up), store nothing invalid, and leave every other conversation exactly as it was.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use parley_core::{CoreEvent, DeliveryState, Direction, Message, TransferState};
use parley_peer::{Channel, ChannelMessage, Identity, PeerConfig, PeerError, PeerEvent, PeerManager, MAX_FRAME_LEN};
use parley_protocol::{ClientFrame, ServerFrame, User};
use parley_tests::bare_link::{self, BareLink};
use parley_tests::{Person, TestServer, DEADLINE};
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::task::JoinHandle;

/// A signed-in account that speaks the peer protocol properly and the chat protocol not at all.
struct Rogue {
    user: User,
    /// Its device key and its peer id now (for frames it signs itself).
    identity: Arc<Identity>,
    peer_id: String,
    manager: PeerManager,
    link: Arc<BareLink>,
    events: UnboundedReceiver<PeerEvent>,
    /// The victim's peer id, once the channel is open.
    victim: String,
    /// Ids the victim acknowledged, in order.
    acks: Vec<String>,
    disconnected: Option<String>,
    /// Chat frames the victim sent besides acks.
    other_frames: Vec<Value>,
    relays: Vec<JoinHandle<()>>,
}

async fn server_frame<T>(
    rx: &mut UnboundedReceiver<ServerFrame>,
    what: &str,
    mut pick: impl FnMut(&ServerFrame) -> Option<T>,
) -> T {
    let search = async {
        loop {
            let frame = rx
                .recv()
                .await
                .unwrap_or_else(|| panic!("the rogue's link ended waiting for {what}"));
            if let Some(found) = pick(&frame) {
                return found;
            }
        }
    };
    tokio::time::timeout(DEADLINE, search)
        .await
        .unwrap_or_else(|_| panic!("rogue: timed out waiting for {what}"))
}

impl Rogue {
    /// Registers `name`, joins `room` and opens a data channel to `victim`'s device there.
    async fn connect(server: &TestServer, name: &str, room: &str, victim: &str) -> Rogue {
        let auth = bare_link::register(&server.url(), name).await;
        let (link, peer_id, mut frames) = BareLink::connect(&server.url(), &auth.token).await;
        link.send(ClientFrame::Join { room: room.to_owned() });
        let victim_peer = server_frame(&mut frames, "joining", |f| match f {
            ServerFrame::Joined { peers, .. } => peers.iter().find(|p| p.user.id == victim).map(|p| p.peer_id.clone()),
            _ => None,
        })
        .await;

        let link = Arc::new(link);
        let (signals, mut outgoing) = unbounded_channel();
        let (peer_events, events) = unbounded_channel();
        let identity = Arc::new(Identity::generate(name));
        let manager = PeerManager::new(
            peer_id.clone(),
            identity.clone(),
            PeerConfig::loopback(),
            signals,
            peer_events,
        );
        let relay_out = {
            let link = link.clone();
            tokio::spawn(async move {
                while let Some((to, signal)) = outgoing.recv().await {
                    let data = serde_json::to_value(&signal).unwrap();
                    link.send(ClientFrame::Signal { to, data });
                }
            })
        };
        let relay_in = {
            let manager = manager.clone();
            tokio::spawn(async move {
                while let Some(frame) = frames.recv().await {
                    if let ServerFrame::Signal { from, data, .. } = frame {
                        if let Ok(signal) = serde_json::from_value(data) {
                            let _ = manager.handle_signal(&from, signal).await;
                        }
                    }
                }
            })
        };
        manager.connect(&victim_peer).await.expect("rogue connects");
        let mut rogue = Rogue {
            user: auth.user,
            identity,
            peer_id,
            manager,
            link,
            events,
            victim: victim_peer,
            acks: Vec::new(),
            disconnected: None,
            other_frames: Vec::new(),
            relays: vec![relay_out, relay_in],
        };
        let victim = rogue.victim.clone();
        rogue
            .next_event(
                "the channel to the victim",
                |e| matches!(e, PeerEvent::Connected { peer, .. } if *peer == victim),
            )
            .await;
        // Greet like an honest peer: hello at once (lost if it reaches the victim's end before
        // that is open), and again on the victim's first hello, which shows its end is open.
        rogue.send_json(json!({"t": "hello", "v": 1})).await;
        while !rogue.other_frames.iter().any(|f| f["t"] == "hello") {
            rogue
                .next_event("the victim's hello", |e| matches!(e, PeerEvent::Frame { .. }))
                .await;
        }
        rogue.send_json(json!({"t": "hello", "v": 1})).await;
        rogue
    }

    /// Waits for a peer event `pick` accepts, filing every frame from the victim on the way.
    async fn next_event(&mut self, what: &str, pick: impl Fn(&PeerEvent) -> bool) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("rogue: timed out waiting for {what}; acks so far {:?}", self.acks))
                .expect("peer events end only when the manager is dropped");
            match &event {
                PeerEvent::Frame { data, .. } => {
                    let frame: Value = serde_json::from_slice(data).expect("the victim sends JSON");
                    if frame["t"] == "ack" {
                        self.acks.push(frame["id"].as_str().unwrap().to_owned());
                    } else {
                        self.other_frames.push(frame);
                    }
                }
                PeerEvent::Disconnected { reason, .. } => self.disconnected = Some(reason.clone()),
                PeerEvent::Connected { .. } => {}
                PeerEvent::IdentityRefused { reason, .. } => {
                    panic!("the victim refused the rogue's identity: {reason}")
                }
            }
            if pick(&event) {
                return;
            }
        }
    }

    /// Writes raw bytes on the chat channel.
    async fn send(&self, data: &[u8]) {
        self.manager
            .send(&self.victim, Bytes::copy_from_slice(data))
            .await
            .unwrap_or_else(|e| panic!("rogue could not send {} bytes: {e}", data.len()));
    }

    async fn send_json(&self, frame: Value) {
        self.send(&serde_json::to_vec(&frame).unwrap()).await;
    }

    /// A well-formed message, then waits for its ack. Frames are ordered on the channel, so the
    /// victim has processed everything sent before it once the ack is back.
    async fn canary(&mut self, id: &str, body: &str) {
        self.send_json(json!({"t": "msg", "id": id, "body": body, "sent_at": 1_700_000_000_000i64}))
            .await;
        let acks_before = self.acks.len();
        let id_owned = id.to_owned();
        loop {
            self.next_event(&format!("the ack of {id}"), |e| matches!(e, PeerEvent::Frame { .. }))
                .await;
            if self.acks[acks_before..].contains(&id_owned) {
                return;
            }
        }
    }

    async fn shutdown(self) {
        self.manager.close_all().await;
        for relay in self.relays {
            relay.abort();
            let _ = relay.await;
        }
        if let Ok(link) = Arc::try_unwrap(self.link) {
            link.close().await;
        }
    }
}

fn msg(id: &str, body: &str) -> Value {
    json!({"t": "msg", "id": id, "body": body, "sent_at": 1_700_000_000_000i64})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_peer_cannot_break_the_victim_or_touch_other_conversations() {
    let server = TestServer::start().await;
    let mut alice = Person::register(&server, "alice").await;
    let mut bob = Person::register(&server, "bob").await; // the victim
    let mut carol = Person::register(&server, "carol").await;
    bob.go_online("lobby").await;
    alice.go_online("lobby").await;
    carol.go_online("lobby").await;
    bob.wait_for_peer(alice.id()).await;
    bob.wait_for_peer(carol.id()).await;

    // The victim's state worth attacking: with alice, messages in every state; with carol (who
    // then goes offline), a message still pending.
    let a1 = alice.send(&bob.user, "a1 from alice").await;
    bob.wait_for_message(&a1.id).await;
    alice.wait_for_state(&a1.id, DeliveryState::Delivered).await;
    bob.parley().mark_read(alice.id()).await.unwrap();
    alice.wait_for_state(&a1.id, DeliveryState::Read).await;
    let b1 = bob.send(&alice.user, "b1 from bob, read").await;
    alice.wait_for_message(&b1.id).await;
    alice.parley().mark_read(bob.id()).await.unwrap();
    bob.wait_for_state(&b1.id, DeliveryState::Read).await;
    let b2 = bob.send(&alice.user, "b2 from bob, delivered").await;
    alice.wait_for_message(&b2.id).await;
    bob.wait_for_state(&b2.id, DeliveryState::Delivered).await;
    let a2 = alice.send(&bob.user, "a2 from alice, unread").await;
    bob.wait_for_message(&a2.id).await;
    alice.wait_for_state(&a2.id, DeliveryState::Delivered).await;
    carol.quit().await;
    let k1 = bob.send(&carol.user, "k1 to carol, pending").await;

    let with_alice = bob.conversation(alice.id()).await;
    let with_carol = bob.conversation(carol.id()).await;
    assert_eq!(
        with_alice.iter().map(|m| m.state).collect::<Vec<_>>(),
        [
            DeliveryState::Read,
            DeliveryState::Read,
            DeliveryState::Delivered,
            DeliveryState::Received
        ]
    );
    assert_eq!(
        with_carol.iter().map(|m| m.state).collect::<Vec<_>>(),
        [DeliveryState::Pending]
    );
    let unread_before = unread(&bob).await;
    bob.mark();

    let mut rogue = Rogue::connect(&server, "mallory", "lobby", bob.id()).await;
    let mallory_id = rogue.user.id.clone();
    bob.wait_for("the rogue's channel", |e| {
        matches!(e, CoreEvent::Connected { user_id, .. } if *user_id == mallory_id).then_some(())
    })
    .await;

    // 1. Garbage.
    let garbage: Vec<Vec<u8>> = vec![
        b"not json at all, evil".to_vec(),
        b"\xff\xfe\xfd\x00\x01 evil binary".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{}".to_vec(),
        b"42".to_vec(),
        b"\"evil\"".to_vec(),
        br#"{"t":"msg"}"#.to_vec(),
        br#"{"t":"msg","id":"x1","body":"evil","sent_at":"yesterday"}"#.to_vec(),
        br#"{"t":"msg","id":"x2","body":"evil","sent_at":1.5}"#.to_vec(),
        br#"{"t":"msg","id":"x3","body":"evil","sent_at":99999999999999999999999}"#.to_vec(),
        br#"{"t":"msg","id":"x4","body":null,"sent_at":1}"#.to_vec(),
        br#"{"t":"msg","id":"x5","body":"evil","sent_at":-1}"#.to_vec(),
        br#"{"t":"msg","id":"x6","body":" \n\t ","sent_at":1}"#.to_vec(),
        br#"{"t":"msg","id":"x7","body":"evil \ud800 lone surrogate","sent_at":1}"#.to_vec(),
        b"{\"t\":\"msg\",\"id\":\"x8\",\"body\":\"evil \xc3\x28 bad utf-8\",\"sent_at\":1}".to_vec(),
        br#"{"t":"msg","id":"x9","body":"evil","sent_at":1,"t":"ack"}"#.to_vec(),
        br#"{"t":"ack"}"#.to_vec(),
        br#"{"t":"ack","id":7}"#.to_vec(),
        br#"{"t":"read","ids":"evil"}"#.to_vec(),
        br#"{"t":"read","ids":[]}"#.to_vec(),
        br#"{"t":"typing","active":"evil"}"#.to_vec(),
        br#"{"t":"hello","v":-1}"#.to_vec(),
        br#"{"t":"file-offer","name":"evil.exe","size":1}"#.to_vec(),
        br#"{"t":"MSG","id":"x10","body":"evil","sent_at":1}"#.to_vec(),
        // Nesting far past serde_json's recursion limit: must not overflow the stack.
        "[".repeat(60_000).into_bytes(),
        format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000)).into_bytes(),
    ];
    for frame in &garbage {
        rogue.send(frame).await;
    }

    // 2. Oversized: a whole 64 KiB frame of junk, and content over the chat limits inside it.
    rogue.send(&vec![b'x'; MAX_FRAME_LEN]).await;
    // A valid message padded with white space to exactly the limit is fine (sent in round two).
    let mut padded = serde_json::to_vec(&msg("padded", "padded to the limit")).unwrap();
    padded.extend(std::iter::repeat_n(b' ', MAX_FRAME_LEN - padded.len()));
    let long_ascii = format!("evil {}", "e".repeat(16_000));
    rogue.send_json(msg("x12", &long_ascii)).await;
    let long_wide = "é".repeat(12_001);
    rogue.send_json(msg("x13", &format!("evil{long_wide}"))).await;
    let too_many: Vec<String> = (0..257).map(|i| format!("r{i}")).collect();
    rogue.send_json(json!({"t": "read", "ids": too_many})).await;
    rogue.send_json(json!({"t": "ack", "id": "a".repeat(65)})).await;
    rogue.send_json(msg(&"a".repeat(65), "evil long id")).await;
    // Past 65,535 bytes a frame cannot even be sent: the data channel's advertised
    // max-message-size stops it at the rogue's own stack, so the victim never sees one.
    let refused = rogue
        .manager
        .send(&rogue.victim, Bytes::from(vec![b'x'; MAX_FRAME_LEN + 1]))
        .await;
    assert!(matches!(refused, Err(PeerError::FrameTooLarge { .. })), "{refused:?}");

    // 3. Messages with invalid ids.
    for id in [
        "",
        "../../etc/passwd",
        "a b",
        "é",
        "id\u{0}",
        "'; DROP TABLE messages; --",
        "x\ny",
    ] {
        rogue.send_json(msg(id, "evil invalid id")).await;
    }

    // 4. Receipts for messages of other conversations: bob's to alice (read, delivered),
    //    bob's pending one to carol, alice's to bob (incoming).
    for id in [&b1.id, &b2.id, &k1.id, &a1.id, &a2.id] {
        rogue.send_json(json!({"t": "ack", "id": id})).await;
    }
    rogue
        .send_json(json!({"t": "read", "ids": [&b1.id, &b2.id, &k1.id, &a1.id, &a2.id]}))
        .await;

    // 5. Messages reusing the ids of messages bob already has, outgoing and incoming.
    for id in [&k1.id, &b2.id, &b1.id, &a2.id] {
        rogue.send_json(msg(id, "evil takeover")).await;
    }

    rogue.canary("canary-1", "canary one").await;

    // 6. Round two: a "resend" of the rogue's own message with a new body, a read receipt for
    //    its own message (only the receiver may mark those read), and a typing flood.
    rogue.send_json(msg("canary-1", "evil rewrite")).await;
    rogue.send_json(json!({"t": "read", "ids": ["canary-1"]})).await;
    for i in 0..300 {
        rogue.send_json(json!({"t": "typing", "active": i % 2 == 0})).await;
    }
    rogue.send(&padded).await;
    rogue.canary("canary-2", "canary two").await;

    // The victim stored exactly the rogue's valid messages, in its own conversation, intact.
    let with_mallory = bob.conversation(&rogue.user.id).await;
    let got: Vec<(&str, &str, Direction, DeliveryState)> = with_mallory
        .iter()
        .map(|m| (m.id.as_str(), m.body.as_str(), m.direction, m.state))
        .collect();
    assert_eq!(
        got,
        vec![
            ("canary-1", "canary one", Direction::Incoming, DeliveryState::Received),
            (
                "padded",
                "padded to the limit",
                Direction::Incoming,
                DeliveryState::Received
            ),
            ("canary-2", "canary two", Direction::Incoming, DeliveryState::Received),
        ],
        "the victim stored something it should not have"
    );
    assert!(with_mallory.iter().all(|m| m.sender_id == rogue.user.id));
    let stored_evil: Vec<Message> = bob
        .parley()
        .search("evil", None, None, Some(100))
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.message)
        .collect();
    assert!(stored_evil.is_empty(), "stored hostile content: {stored_evil:?}");

    // Nothing else changed.
    assert_eq!(
        bob.conversation(alice.id()).await,
        with_alice,
        "the conversation with alice changed"
    );
    assert_eq!(
        bob.conversation(carol.id()).await,
        with_carol,
        "the conversation with carol changed"
    );
    let outbox = bob.parley().outbox(None).await.unwrap();
    assert_eq!(
        outbox.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        [k1.id.as_str()]
    );
    let mut unread_after = unread(&bob).await;
    assert_eq!(
        unread_after.remove(&rogue.user.id),
        Some(3),
        "the rogue's messages are unread"
    );
    assert_eq!(unread_after, unread_before);
    let state_changes: Vec<&CoreEvent> = bob
        .since_mark()
        .iter()
        .filter(|e| matches!(e, CoreEvent::MessageState { .. }))
        .collect();
    assert!(
        state_changes.is_empty(),
        "receipts from the rogue moved messages: {state_changes:?}"
    );
    let arrivals: Vec<String> = bob
        .since_mark()
        .iter()
        .filter_map(|e| match e {
            CoreEvent::Message { message } if message.conversation_id == rogue.user.id => Some(message.id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(arrivals, ["canary-1", "padded", "canary-2"]);
    let mallory_id = rogue.user.id.clone();
    assert!(
        bob.since_mark()
            .iter()
            .all(|e| !matches!(e, CoreEvent::Typing { user_id, .. } if *user_id != mallory_id)),
        "typing attributed to someone else"
    );

    // The rogue got acks for its valid messages only (canary-1 twice: the "rewrite" is a
    // resend as far as the protocol goes), and its channel is still up.
    let acked: BTreeSet<&str> = rogue.acks.iter().map(String::as_str).collect();
    assert_eq!(
        acked,
        BTreeSet::from(["canary-1", "canary-2", "padded"]),
        "acks: {:?}",
        rogue.acks
    );
    assert_eq!(rogue.disconnected, None);
    assert!(bob.online_contacts().await.contains(&rogue.user.id));

    // The victim keeps working: with alice both ways, and towards the rogue too.
    let a3 = alice.send(&bob.user, "still there?").await;
    bob.wait_for_message(&a3.id).await;
    alice.wait_for_state(&a3.id, DeliveryState::Delivered).await;
    let b3 = bob.send(&alice.user, "yes, all fine").await;
    alice.wait_for_message(&b3.id).await;
    bob.wait_for_state(&b3.id, DeliveryState::Delivered).await;
    let to_rogue = bob.send(&rogue.user, "go away").await;
    let wanted = to_rogue.id.clone();
    while !rogue
        .other_frames
        .iter()
        .any(|f| f["t"] == "msg" && f["id"] == wanted.as_str())
    {
        rogue
            .next_event("bob's message", |e| matches!(e, PeerEvent::Frame { .. }))
            .await;
    }
    // And alice's view of bob's messages is untouched by all this.
    let b2_at_alice = alice.message(&b2.id).await;
    assert_eq!(b2_at_alice.state, DeliveryState::Received);

    rogue.shutdown().await;
    alice.quit().await;
    bob.quit().await;
}

/// Unread counts per conversation.
async fn unread(person: &Person) -> std::collections::BTreeMap<String, u32> {
    person
        .parley()
        .contacts()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| c.conversation)
        .map(|c| (c.id, c.unread))
        .collect()
}

/// Edits, deletions and reactions from a hostile peer: only its own messages within the edit
/// window, reactions only within its own conversation; everything else is refused (and still
/// acknowledged, so an honest sender would stop resending), logged, and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_peer_cannot_edit_delete_or_react_outside_its_own_conversation() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = parley_tests::online_pair(&server).await; // bob is the victim
    bob.wait_for_peer(alice.id()).await;
    let a1 = alice.send(&bob.user, "a1 from alice").await;
    bob.wait_for_message(&a1.id).await;
    let b1 = bob.send(&alice.user, "b1 from bob").await;
    alice.wait_for_message(&b1.id).await;
    bob.wait_for_state(&b1.id, DeliveryState::Delivered).await;

    let mut rogue = Rogue::connect(&server, "mallory", "lobby", bob.id()).await;
    let mallory_id = rogue.user.id.clone();
    rogue.canary("m1", "m1 from mallory").await;
    let to_rogue = bob.send(&rogue.user, "bm from bob").await;
    let wanted = to_rogue.id.clone();
    while !rogue.other_frames.iter().any(|f| f["id"] == wanted.as_str()) {
        rogue
            .next_event("bob's message", |e| matches!(e, PeerEvent::Frame { .. }))
            .await;
    }
    let with_alice = bob.conversation(alice.id()).await;
    bob.mark();

    let now = 1_700_000_000_000i64;
    let day = parley_core::EDIT_WINDOW_MS;
    let refused = [
        // Someone else's messages, in another conversation and in its own.
        json!({"t": "edit", "id": "e1", "target": &a1.id, "body": "evil edit", "at": now}),
        json!({"t": "edit", "id": "e2", "target": &b1.id, "body": "evil edit", "at": now}),
        json!({"t": "edit", "id": "e3", "target": &to_rogue.id, "body": "evil edit", "at": now}),
        json!({"t": "delete", "id": "e4", "target": &a1.id, "at": now}),
        json!({"t": "delete", "id": "e5", "target": &to_rogue.id, "at": now}),
        // Reactions outside its conversation, or to nothing.
        json!({"t": "react", "id": "e6", "target": &a1.id, "emoji": "💩", "at": now}),
        json!({"t": "react", "id": "e7", "target": &b1.id, "emoji": "💩", "at": now}),
        json!({"t": "react", "id": "e8", "target": "no-such-message", "emoji": "💩", "at": now}),
        // Its own message, past the window.
        json!({"t": "edit", "id": "e9", "target": "m1", "body": "evil late edit", "at": now + day + 1}),
    ];
    for frame in &refused {
        rogue.send_json(frame.clone()).await;
    }
    let malformed = [
        json!({"t": "edit", "id": "x1", "target": "m1", "body": "", "at": now}),
        json!({"t": "edit", "id": "x2", "target": "m1", "body": "e".repeat(12_001), "at": now}),
        json!({"t": "edit", "id": "x3", "target": "m1", "at": now}),
        json!({"t": "edit", "id": "x4", "target": "../m1", "body": "evil", "at": now}),
        json!({"t": "delete", "id": "x5", "target": "m1", "at": -1}),
        json!({"t": "react", "id": "x6", "target": "m1", "emoji": "evil", "at": now}),
        json!({"t": "react", "id": "x7", "target": "m1", "emoji": "💩".repeat(11), "at": now}),
        json!({"t": "react", "id": "x8", "target": "m1", "emoji": "<img src=x>", "at": now}),
        json!({"t": "msg", "id": "x9", "body": "evil reply", "sent_at": now, "reply_to": "a b"}),
    ];
    for frame in &malformed {
        rogue.send_json(frame.clone()).await;
    }
    // What it may do: edit its own message, react to bob's message to it.
    rogue
        .send_json(json!({"t": "edit", "id": "ok1", "target": "m1", "body": "m1 edited", "at": now}))
        .await;
    rogue
        .send_json(json!({"t": "react", "id": "ok2", "target": &to_rogue.id, "emoji": "👋", "at": now}))
        .await;
    rogue.canary("canary", "canary").await;

    assert_eq!(
        bob.conversation(alice.id()).await,
        with_alice,
        "the conversation with alice changed"
    );
    let with_mallory = bob.conversation(&mallory_id).await;
    let m1 = with_mallory.iter().find(|m| m.id == "m1").unwrap();
    assert_eq!(m1.body, "m1 edited");
    let bm = with_mallory.iter().find(|m| m.id == to_rogue.id).unwrap();
    assert_eq!((bm.body.as_str(), bm.deleted), ("bm from bob", false));
    assert_eq!(bm.reactions.len(), 1);
    assert!(with_mallory.iter().all(|m| !m.body.contains("evil")));
    let changed: BTreeSet<String> = bob
        .since_mark()
        .iter()
        .filter_map(|e| match e {
            CoreEvent::MessageChanged { message } => Some(message.id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(changed, BTreeSet::from(["m1".to_owned(), to_rogue.id.clone()]));
    // Refused actions are acknowledged (an honest sender stops resending); malformed frames are not.
    let acked: BTreeSet<&str> = rogue.acks.iter().map(String::as_str).collect();
    for id in ["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9", "ok1", "ok2"] {
        assert!(acked.contains(id), "{id} not acknowledged: {acked:?}");
    }
    for id in ["x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9"] {
        assert!(!acked.contains(id), "malformed {id} acknowledged");
    }
    assert_eq!(rogue.disconnected, None);

    // Still chatting normally.
    let a2 = alice.send(&bob.user, "still fine?").await;
    bob.wait_for_message(&a2.id).await;
    rogue.shutdown().await;
    alice.quit().await;
    bob.quit().await;
}

/// SHA-256 in lowercase hex, as offers carry it.
fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

fn offer(id: &str, name: &str, data: &[u8]) -> Value {
    json!({"t": "msg", "id": id, "body": name, "sent_at": 1_700_000_000_000i64,
           "file": {"name": name, "size": data.len(), "mime": "application/octet-stream", "sha256": sha256_hex(data)}})
}

/// A PNG header claiming 100,000 × 100,000 pixels (a decompression bomb's first bytes).
fn png_bomb() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]);
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    png.extend(b"\x00\x00\x00\x00IDAT\x35\xaf\x06\x1e");
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

impl Rogue {
    /// Waits for the victim's next `file-fetch` frame: (transfer id, offset, channel id).
    async fn next_fetch(&mut self) -> (String, u64, u16) {
        loop {
            if let Some(pos) = self.other_frames.iter().position(|f| f["t"] == "file-fetch") {
                let f = self.other_frames.remove(pos);
                return (
                    f["target"].as_str().unwrap().to_owned(),
                    f["offset"].as_u64().unwrap(),
                    f["channel"].as_u64().unwrap() as u16,
                );
            }
            self.next_event("a file request", |e| matches!(e, PeerEvent::Frame { .. }))
                .await;
        }
    }

    /// Asks the victim for its transfer `target` from `offset` on a new channel, as a receiver
    /// does; returns the channel and the first thing the victim sent on it.
    async fn fetch(&self, target: &str, offset: u64) -> (Channel, ChannelMessage) {
        let channel = self.manager.open_channel(&self.victim, "parley-file/1").await.unwrap();
        self.send_json(json!({"t": "file-fetch", "target": target, "offset": offset, "channel": channel.id()}))
            .await;
        let first = tokio::time::timeout(DEADLINE, channel.recv())
            .await
            .expect("an answer in time")
            .expect("an answer before the channel closed");
        (channel, first)
    }

    /// `file-state` frames the victim sent about `target`.
    fn file_states(&self, target: &str) -> Vec<Value> {
        self.other_frames
            .iter()
            .filter(|f| f["t"] == "file-state" && f["target"] == target)
            .cloned()
            .collect()
    }
}

/// Data frame of the file protocol: offset, then bytes.
fn data_frame(offset: u64, bytes: &[u8]) -> Bytes {
    let mut frame = offset.to_be_bytes().to_vec();
    frame.extend_from_slice(bytes);
    Bytes::from(frame)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_peer_cannot_write_outside_the_download_folder_or_deliver_a_wrong_file() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = parley_tests::online_pair(&server).await; // bob is the victim
    bob.wait_for_peer(alice.id()).await;
    // Everything waits for bob's decision at first, so offers are only stored.
    bob.set_file_settings(parley_core::FileSettings {
        auto_accept_bytes: 0,
        ..bob.file_settings()
    });
    let mut rogue = Rogue::connect(&server, "mallory", "lobby", bob.id()).await;
    let mallory = rogue.user.id.clone();
    bob.mark();

    // 1. Names that try to be paths, devices, or to hide what they are.
    let names = [
        "../../../../etc/passwd".to_owned(),
        "/etc/shadow".to_owned(),
        "C:\\Windows\\System32\\evil.dll".to_owned(),
        "..\\..\\evil.bat".to_owned(),
        "CON".to_owned(),
        "NUL.txt".to_owned(),
        "com1.tar.gz".to_owned(),
        "invoice\u{202E}fdp.exe".to_owned(),
        "bell\u{7}\u{1b}[31mred".to_owned(),
        "....".to_owned(),
        " .hidden ".to_owned(),
        format!("{}.txt", "n".repeat(1000)),
    ];
    for (i, name) in names.iter().enumerate() {
        rogue.send_json(offer(&format!("n{i}"), name, b"data")).await;
    }
    // 2. Offers out of bounds: dropped whole.
    let mut bad = offer("b1", "big.bin", b"x");
    bad["file"]["sha256"] = json!("not-a-hash");
    rogue.send_json(bad).await;
    let mut bad = offer("b2", "x.bin", b"x");
    bad["file"]["mime"] = json!("text/html; charset=<script>");
    rogue.send_json(bad).await;
    let mut bad = offer("b3", "x.bin", b"x");
    bad["file"]["size"] = json!(-1);
    rogue.send_json(bad).await;
    let mut bad = offer("b4", "x.png", b"x");
    bad["file"]["image"] = json!({"width": 10, "height": 10, "thumb": "A".repeat(50_000)});
    rogue.send_json(bad).await;
    let mut bad = offer("b5", &"y".repeat(1025), b"x");
    bad["file"]["name"] = json!("y".repeat(1025));
    rogue.send_json(bad).await;
    // 3. A picture whose thumbnail is a decompression bomb, and one that is not an image: the
    //    file is offered, the preview is not.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut bomb = offer("i1", "bomb.png", b"data");
    bomb["file"]["image"] = json!({"width": 100, "height": 100, "thumb": b64.encode(png_bomb())});
    rogue.send_json(bomb).await;
    let mut junk = offer("i2", "junk.png", b"data");
    junk["file"]["image"] = json!({"width": 100, "height": 100, "thumb": b64.encode(b"not an image at all")});
    rogue.send_json(junk).await;
    rogue.canary("c1", "canary after the offers").await;

    let stored: Vec<Message> = bob.conversation(&mallory).await;
    let files: Vec<&Message> = stored.iter().filter(|m| m.file.is_some()).collect();
    assert_eq!(files.len(), names.len() + 2, "every in-bounds offer is kept, no other");
    for m in &files {
        let name = &m.file.as_ref().unwrap().name;
        assert_eq!(&m.body, name, "the message shows the safe name");
        assert!(!name.contains(['/', '\\', ':']), "{name:?}");
        assert!(!name.starts_with('.') && !name.ends_with(['.', ' ']), "{name:?}");
        assert!(
            !name
                .chars()
                .any(|c| c.is_control() || ('\u{202A}'..='\u{202E}').contains(&c)),
            "{name:?}"
        );
        assert!(name.len() <= 200, "{} bytes", name.len());
        assert!(
            !["con", "nul", "com1"].contains(&name.split('.').next().unwrap().to_lowercase().as_str()),
            "{name:?}"
        );
        assert_eq!(m.file.as_ref().unwrap().state, TransferState::AwaitingAccept);
    }
    for id in ["i1", "i2"] {
        let m = stored.iter().find(|m| m.id == id).unwrap();
        assert!(
            m.file.as_ref().unwrap().thumbnail.is_none(),
            "{id} kept a preview it should not"
        );
    }

    // 4. A flood of offers: past 256 unfinished ones from one person, the rest are declined.
    for i in 0..260 {
        rogue.send_json(offer(&format!("f{i}"), "flood.bin", b"data")).await;
    }
    rogue.canary("c2", "canary after the flood").await;
    let unfinished = bob
        .conversation(&mallory)
        .await
        .iter()
        .filter(|m| m.file.as_ref().is_some_and(|f| !f.state.is_final()))
        .count();
    assert_eq!(unfinished, 256);
    let declined = |rogue: &Rogue| {
        rogue
            .other_frames
            .iter()
            .filter(|f| f["t"] == "file-state" && f["state"] == "declined" && f["code"] == "too_many")
            .count()
    };
    while declined(&rogue) < 260 - (256 - names.len() - 2) {
        rogue
            .next_event("the declined offers", |e| matches!(e, PeerEvent::Frame { .. }))
            .await;
    }

    // 5. Bytes that do not match the request or the offer. Bob accepts one file.
    let content = b"the real content of the file".repeat(1000);
    for id in names.iter().enumerate().map(|(i, _)| format!("n{i}")) {
        bob.parley().decline_file(&mallory, &id).await.unwrap();
    }
    for i in 0..260 {
        let _ = bob.parley().decline_file(&mallory, &format!("f{i}")).await;
    }
    rogue.send_json(offer("d1", "report.pdf", &content)).await;
    rogue.canary("c3", "canary after the data offer").await;
    bob.parley().accept_file(&mallory, "d1").await.unwrap();

    // 5a. Data at an offset never asked for: refused, the transfer goes back to waiting.
    let (target, offset, channel) = rogue.next_fetch().await;
    assert_eq!((target.as_str(), offset), ("d1", 0));
    let wrong_parity = rogue
        .manager
        .join_channel(&rogue.victim, channel + 1, "parley-file/1")
        .await;
    assert!(wrong_parity.is_err(), "a channel id of the wrong side was accepted");
    let ch = rogue
        .manager
        .join_channel(&rogue.victim, channel, "parley-file/1")
        .await
        .unwrap();
    ch.send(data_frame(4096, &content[..100])).await.unwrap();
    let refusal = ch.recv().await.expect("an error frame");
    assert!(refusal.text && String::from_utf8_lossy(&refusal.data).contains("protocol"));
    drop(ch);
    // 5b. More bytes than offered (what is within the size is fine; past it is not).
    let (_, offset, channel) = rogue.next_fetch().await;
    assert_eq!(offset, 0);
    let ch = rogue
        .manager
        .join_channel(&rogue.victim, channel, "parley-file/1")
        .await
        .unwrap();
    // One frame running past the offered size.
    ch.send(data_frame(0, &[content.as_slice(), b"and more"].concat()))
        .await
        .unwrap();
    let mut refused = false;
    while let Some(m) = ch.recv().await {
        if m.text && String::from_utf8_lossy(&m.data).contains("protocol") {
            refused = true;
            break;
        }
    }
    assert!(refused, "extra bytes were taken");
    drop(ch);
    // 5c. The right length, the wrong bytes: the hash does not match, nothing is saved.
    let (_, offset, channel) = rogue.next_fetch().await;
    let ch = rogue
        .manager
        .join_channel(&rogue.victim, channel, "parley-file/1")
        .await
        .unwrap();
    let mut forged = content.clone();
    forged[10] ^= 1;
    for (i, chunk) in forged[offset as usize..].chunks(60_000).enumerate() {
        ch.send(data_frame(offset + (i * 60_000) as u64, chunk)).await.unwrap();
    }
    let failed = bob
        .wait_for("the forged file to fail", |e| match e {
            CoreEvent::MessageChanged { message }
                if message.id == "d1" && message.file.as_ref().is_some_and(|f| f.state == TransferState::Failed) =>
            {
                Some(message.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(failed.file.unwrap().error.as_deref(), Some("hash_mismatch"));
    let told = |rogue: &Rogue| rogue.file_states("d1").into_iter().find(|f| f["state"] == "failed");
    while told(&rogue).is_none() {
        rogue
            .next_event("the failure", |e| matches!(e, PeerEvent::Frame { .. }))
            .await;
    }
    assert_eq!(told(&rogue).unwrap()["code"], "hash_mismatch");

    // Nothing was written anywhere but the download folder — and nothing there at all, since
    // no file verified — and no partial file is left.
    assert_eq!(std::fs::read_dir(bob.downloads()).unwrap().count(), 0);
    let parts = bob.profile_dir().join("transfers");
    assert_eq!(std::fs::read_dir(&parts).map(|d| d.count()).unwrap_or(0), 0);
    assert!(!bob.downloads().parent().unwrap().join("etc").exists());

    // 6. As a requester: the rogue asks alice's device for files that are not offered to it.
    let secret = tempfile::tempdir().unwrap();
    let path = secret.path().join("for-bob.txt");
    std::fs::write(&path, "for bob only").unwrap();
    let for_bob = alice.parley().send_file(bob.id(), &path).await.unwrap();
    let thief = Rogue::connect(&server, "trudy", "lobby", alice.id()).await;
    let (_probe, answer) = thief.fetch(&for_bob.id, 0).await;
    assert!(String::from_utf8_lossy(&answer.data).contains("unknown_transfer"));
    assert!(!answer.data.windows(3).any(|w| w == b"bob"), "file content leaked");

    // The victims still work: bob chats with alice and receives her file.
    let a = alice.send(&bob.user, "still there?").await;
    bob.wait_for_message(&a.id).await;
    bob.set_file_settings(parley_core::FileSettings {
        auto_accept_bytes: u64::MAX,
        ..bob.file_settings()
    });
    alice.mark();
    bob.parley().accept_file(alice.id(), &for_bob.id).await.ok();
    bob.wait_for("alice's file", |e| match e {
        CoreEvent::MessageChanged { message }
            if message.id == for_bob.id
                && message
                    .file
                    .as_ref()
                    .is_some_and(|f| f.state == TransferState::Complete) =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
    thief.shutdown().await;
    rogue.shutdown().await;
}

/// A receiver that gave a run up (its request or the data was lost on a path that never said it
/// closed) asks again on a new channel: it gets the file, not `busy` for as long as the stale
/// run waits for acknowledgements that will never come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_asking_again_for_a_file_still_sending_gets_it_again() {
    let server = TestServer::start().await;
    let (alice, _bob) = parley_tests::online_pair(&server).await;
    let mut receiver = Rogue::connect(&server, "rita", "lobby", alice.id()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twice.bin");
    // A few data frames: the first run's channel holds them all unread without holding up
    // the connection.
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    let sent = alice.parley().send_file(&receiver.user.id, &path).await.unwrap();
    while !receiver
        .other_frames
        .iter()
        .any(|f| f["t"] == "msg" && f["id"] == sent.id.as_str() && f["file"].is_object())
    {
        receiver
            .next_event("alice's offer", |e| matches!(e, PeerEvent::Frame { .. }))
            .await;
    }

    let (first, data) = receiver.fetch(&sent.id, 0).await;
    assert_eq!(&data.data[..8], &0u64.to_be_bytes(), "the first run starts at 0");
    // Never acknowledged, never closed: to alice this run is still sending.

    let (second, data) = receiver.fetch(&sent.id, 0).await;
    assert!(
        !data.text,
        "data, not a refusal: {}",
        String::from_utf8_lossy(&data.data)
    );
    assert_eq!(&data.data[..8], &0u64.to_be_bytes());
    assert_eq!(&data.data[8..], &content[..data.data.len() - 8]);
    drop((first, second));
    receiver.shutdown().await;
}

/// Call frames are untrusted input like any other: malformed, stale and out-of-order ones are
/// dropped, a flood of rings is cut off, and neither chat nor a later honest call suffers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_call_frames_and_ring_floods_change_nothing_but_one_ring() {
    let server = TestServer::start().await;
    let mut bob = Person::register(&server, "bob").await; // the victim
    bob.go_online("lobby").await;
    let mut rogue = Rogue::connect(&server, "mallory", "lobby", bob.id()).await;
    bob.mark();
    let call = |n: u32| format!("{n:032x}");

    // Garbage, an id that is not one, oversized and stale frames, a description before any call.
    rogue.send(br#"{"t":"call-invite","call":"#).await;
    rogue
        .send_json(json!({"t": "call-invite", "call": "../../etc", "video": true, "v": 1}))
        .await;
    rogue
        .send_json(
            json!({"t": "call-sdp", "call": call(1), "kind": "offer", "sdp": format!("v=0{}", "x".repeat(40_000))}),
        )
        .await;
    rogue
        .send_json(json!({"t": "call-sdp", "call": call(2), "kind": "offer", "sdp": "v=0\r\n"}))
        .await;
    rogue.send_json(json!({"t": "call-hangup", "call": call(3)})).await;
    rogue
        .send_json(json!({"t": "call-from-the-future", "call": call(4)}))
        .await;
    rogue.canary("c1", "still chatting after garbage").await;

    // A flood of rings: one rings, a few more are answered busy (and kept as missed), the rest
    // are not even answered.
    for n in 100..120 {
        rogue
            .send_json(json!({"t": "call-invite", "call": call(n), "video": true, "v": 1}))
            .await;
    }
    rogue.canary("c2", "still chatting after the flood").await;
    let rings =
        bob.count(|e| matches!(e, CoreEvent::Call { call } if call.phase == parley_core::CallPhase::RingingHere));
    assert_eq!(rings, 1, "one ring at a time");
    let missed = bob.count(|e| matches!(e, CoreEvent::Message { message } if message.call.is_some()));
    assert_eq!(missed, 4, "busy answers (kept as missed) only up to the ring limit");
    // An answer to the first ring; the rogue's description of the wrong kind is dropped, the
    // call stays answerable and ends when the rogue hangs up.
    let ringing = bob.parley().current_call().expect("the first ring");
    assert_eq!(ringing.id, call(100));
    bob.parley().answer_call(&ringing.id).await.unwrap();
    rogue
        .send_json(json!({"t": "call-sdp", "call": call(100), "kind": "answer", "sdp": "v=0\r\n"}))
        .await;
    rogue.send_json(json!({"t": "call-hangup", "call": call(100)})).await;
    bob.wait_for("the call over", |e| match e {
        CoreEvent::Call { call } if call.phase == parley_core::CallPhase::Ended => Some(()),
        _ => None,
    })
    .await;
    assert!(bob.parley().current_call().is_none());
    rogue.canary("c3", "and after the call").await;
    rogue.shutdown().await;
}

impl Rogue {
    /// A call frame relayed through the server the way `docs/call-protocol.md` says, signed by
    /// `signer` (the rogue's own key unless it forges) as device `device`.
    fn relay_call_frame(&self, frame: &Value, signer: &Identity, device: &str, at: i64) {
        use base64::Engine as _;
        let frame = frame.to_string();
        let mut signed = b"parley-call-relay/1\n".to_vec();
        for part in [
            self.peer_id.as_str(),
            self.victim.as_str(),
            &at.to_string(),
            frame.as_str(),
        ] {
            signed.extend_from_slice(part.as_bytes());
            signed.push(b'\n');
        }
        let sig = base64::engine::general_purpose::STANDARD.encode(signer.sign(&signed));
        self.link.send(ClientFrame::Signal {
            to: self.victim.clone(),
            data: json!({"relay": "call/1", "frame": frame, "device": device, "at": at, "sig": sig}),
        });
    }
}

/// When no data channel can carry a call's frames, the server relays them — but it cannot make
/// one up: only frames signed by a device key pinned when the devices met directly are taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_frames_through_the_server_ring_only_when_signed_by_a_device_met_before() {
    let server = TestServer::start().await;
    let mut bob = Person::register(&server, "bob").await;
    bob.go_online("lobby").await;
    // The rogue connects once, so bob pins its device key (the handshake proves it).
    let rogue = Rogue::connect(&server, "mallory", "lobby", bob.id()).await;
    let device = rogue.identity.device().to_owned();
    bob.mark();
    let now = parley_history::now_ms();
    let invite = |n: u32| json!({"t": "call-invite", "call": format!("{n:032x}"), "video": false, "v": 1});

    // Forged: someone else's key claiming the rogue's device; a device never met; a replay.
    let impostor = Identity::generate(&device);
    rogue.relay_call_frame(&invite(1), &impostor, &device, now);
    rogue.relay_call_frame(&invite(2), &impostor, "never-met", now);
    rogue.relay_call_frame(&invite(3), &rogue.identity, &device, now - 10 * 60 * 1000);
    // Genuine: rings.
    rogue.relay_call_frame(&invite(4), &rogue.identity, &device, now);
    let ringing = bob
        .wait_for("a call through the server", |e| match e {
            CoreEvent::Call { call } if call.phase == parley_core::CallPhase::RingingHere => Some(call.clone()),
            _ => None,
        })
        .await;
    assert_eq!(ringing.id, format!("{:032x}", 4), "only the signed, fresh one rings");
    assert!(!ringing.video);
    let rings =
        bob.count(|e| matches!(e, CoreEvent::Call { call } if call.phase == parley_core::CallPhase::RingingHere));
    assert_eq!(rings, 1);
    // A signed cancel through the server ends it as missed.
    rogue.relay_call_frame(
        &json!({"t": "call-cancel", "call": format!("{:032x}", 4), "reason": "cancelled"}),
        &rogue.identity,
        &device,
        now,
    );
    let end = bob
        .wait_for("the call missed", |e| match e {
            CoreEvent::Call { call } if call.phase == parley_core::CallPhase::Ended => call.end.clone(),
            _ => None,
        })
        .await;
    assert_eq!(end, parley_core::CallEnd::Missed);
    rogue.shutdown().await;
}
