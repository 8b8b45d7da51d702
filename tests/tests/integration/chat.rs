//! Chat between full apps (the core's front door) through a real signaling server, on loopback:
//! meeting in a room, messages both ways with receipts and typing, offline recipients, either
//! side restarting, the server restarting, and the history working with no server at all.
//!
//! Restarts: the keyring is the in-memory store, which every `Parley::open` creates afresh, so a
//! restarted person finds no token and signs in with their password (`SignIn::Password`), as a
//! person would after losing their keyring. The history, the outbox and the contacts are on
//! disk in the profile directory and survive.

use parley_core::{CoreEvent, DeliveryState, Direction, Message, ServerChoice, SNIPPET_MATCH_END, SNIPPET_MATCH_START};
use parley_tests::{is_message, is_state, online_pair, Person, SignIn, TestServer};

/// States only move forward; `Received` and `Delivered` share a rank.
fn rank(state: DeliveryState) -> u8 {
    match state {
        DeliveryState::Pending => 0,
        DeliveryState::Sent => 1,
        DeliveryState::Delivered | DeliveryState::Received => 2,
        DeliveryState::Read => 3,
    }
}

/// The states a sender saw for one message never go backwards or repeat, and end at `last`.
fn assert_progress(states: &[DeliveryState], last: DeliveryState, what: &str) {
    assert!(
        states.windows(2).all(|w| rank(w[0]) < rank(w[1])),
        "{what}: states went backwards or repeated: {states:?}"
    );
    assert_eq!(states.last(), Some(&last), "{what}: {states:?}");
}

fn ids(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.id.as_str()).collect()
}

fn bodies(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.body.as_str()).collect()
}

/// Sets the delivery state of outgoing messages behind the core's back, as if their acks had
/// been lost (the receiver stored them, the sender never heard). SQLite in WAL mode lets this
/// run while the profile is open.
fn lose_acks(person: &Person, ids: &[&str]) {
    let conn = parley_history::History::raw_connection(&person.history_path(), Some(&person.history_key()))
        .expect("open history db");
    conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    for id in ids {
        let changed = conn
            .execute(
                "UPDATE messages SET state = 1 WHERE id = ?1 AND outgoing = 1 AND state = 2",
                [id],
            )
            .expect("update");
        assert_eq!(changed, 1, "message {id} was not delivered, so no ack to lose");
    }
}

/// Sends one more message and waits until it arrives. Frames on a channel are ordered, so
/// everything `from` sent to `to` before it has been processed by then: counting duplicates
/// after this is not racing a late copy.
async fn sentinel(from: &mut Person, to: &mut Person, body: &str) -> Message {
    let message = from.send(&to.user.clone(), body).await;
    to.wait_for_message(&message.id).await;
    from.wait_for_state(&message.id, DeliveryState::Delivered).await;
    message
}

/// `person` holds exactly one copy of each of `expected` in its conversation with `with`, in
/// this order among themselves, and saw one `Message` event at most for each in its current
/// session.
async fn assert_once(person: &mut Person, with: &str, expected: &[&str]) {
    let stored = person.conversation(with).await;
    let stored_ids = ids(&stored);
    let mut positions = Vec::new();
    for id in expected {
        let copies = stored_ids.iter().filter(|s| *s == id).count();
        assert_eq!(copies, 1, "{}: message {id} stored {copies} times", person.name);
        positions.push(stored_ids.iter().position(|s| s == id).unwrap());
        let events = person.count(|e| is_message(e, id));
        assert!(events <= 1, "{}: {events} Message events for {id}", person.name);
    }
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "{}: messages out of order: {stored_ids:?}",
        person.name
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_meet_in_a_room_and_chat_with_receipts_and_typing() {
    let server = TestServer::start().await;
    let mut alice = Person::register(&server, "alice").await;
    let mut bob = Person::register(&server, "bob").await;

    // Register signed alice in; signing out and in again with the password works, a wrong
    // password does not.
    alice.parley().sign_out(true).await.unwrap();
    assert!(alice.parley().snapshot().me.is_none());
    let server_choice = ServerChoice::Url { url: server.url() };
    let wrong = alice
        .parley()
        .sign_in(server_choice, "alice", "not the password")
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "invalid_credentials");
    assert_eq!(alice.sign_in().await, SignIn::Password);

    let roster = alice.go_online("lobby").await;
    assert!(roster.is_empty(), "alice is first: {roster:?}");
    let roster = bob.go_online("lobby").await;
    assert_eq!(roster.len(), 1, "{roster:?}");
    assert_eq!(roster[0].user.id, alice.id());
    assert!(roster[0].user.email.is_none(), "peers never see email addresses");
    let bob_peer = alice
        .wait_for("bob arriving", |e| match e {
            CoreEvent::PeerJoined { room, peer } if room == "lobby" => Some(peer.clone()),
            _ => None,
        })
        .await;
    assert_eq!(bob_peer.user.id, bob.id());
    assert_eq!(alice.online_contacts().await, vec![bob.id().to_owned()]);
    assert_eq!(bob.online_contacts().await, vec![alice.id().to_owned()]);

    // alice → bob: the first message opens the channel.
    let a1 = alice.send(&bob.user, "hello bob").await;
    let got = bob.wait_for_message(&a1.id).await;
    assert_eq!(
        (
            got.body.as_str(),
            got.direction,
            got.state,
            got.sender_id.as_str(),
            got.conversation_id.as_str()
        ),
        (
            "hello bob",
            Direction::Incoming,
            DeliveryState::Received,
            alice.id(),
            alice.id()
        )
    );
    alice.wait_for_state(&a1.id, DeliveryState::Delivered).await;
    assert_eq!(
        alice.states_of(&a1.id),
        vec![DeliveryState::Pending, DeliveryState::Sent, DeliveryState::Delivered]
    );
    let bob_id = bob.id().to_owned();
    alice
        .wait_for("channel to bob", |e| {
            matches!(e, CoreEvent::Connected { user_id, .. } if *user_id == bob_id).then_some(())
        })
        .await;
    let alice_id = alice.id().to_owned();
    bob.wait_for("channel to alice", |e| {
        matches!(e, CoreEvent::Connected { user_id, .. } if *user_id == alice_id).then_some(())
    })
    .await;

    // bob → alice over the open channel, then alice again.
    let b1 = bob.send(&alice.user, "hi alice").await;
    assert_eq!(alice.wait_for_message(&b1.id).await.body, "hi alice");
    bob.wait_for_state(&b1.id, DeliveryState::Delivered).await;
    assert_progress(&bob.states_of(&b1.id), DeliveryState::Delivered, "b1 at bob");
    let a2 = alice.send(&bob.user, "how are you?").await;
    bob.wait_for_message(&a2.id).await;
    alice.wait_for_state(&a2.id, DeliveryState::Delivered).await;
    assert_progress(&alice.states_of(&a2.id), DeliveryState::Delivered, "a2 at alice");

    // bob reads the conversation: alice sees both her messages read.
    assert_eq!(bob.parley().mark_read(alice.id()).await.unwrap(), 2);
    alice.wait_for_state(&a1.id, DeliveryState::Read).await;
    alice.wait_for_state(&a2.id, DeliveryState::Read).await;
    assert_progress(&alice.states_of(&a1.id), DeliveryState::Read, "a1 at alice");
    assert_eq!(bob.count(|e| is_state(e, &a1.id, DeliveryState::Read)), 1);
    assert_eq!(
        bob.parley().mark_read(alice.id()).await.unwrap(),
        0,
        "nothing left unread"
    );

    // Typing, on and off.
    alice.parley().set_typing(bob.id(), true).await;
    let alice_id = alice.id().to_owned();
    bob.wait_for("alice typing", |e| {
        matches!(e, CoreEvent::Typing { user_id, active: true } if *user_id == alice_id).then_some(())
    })
    .await;
    alice.parley().set_typing(bob.id(), false).await;
    bob.wait_for("alice stopped typing", |e| {
        matches!(e, CoreEvent::Typing { user_id, active: false } if *user_id == alice_id).then_some(())
    })
    .await;

    // Both histories agree on order, bodies and states.
    let at_alice = alice.conversation(bob.id()).await;
    assert_eq!(bodies(&at_alice), vec!["hello bob", "hi alice", "how are you?"]);
    let states: Vec<_> = at_alice.iter().map(|m| (m.direction, m.state)).collect();
    assert_eq!(
        states,
        vec![
            (Direction::Outgoing, DeliveryState::Read),
            (Direction::Incoming, DeliveryState::Received),
            (Direction::Outgoing, DeliveryState::Read),
        ]
    );
    let at_bob = bob.conversation(alice.id()).await;
    assert_eq!(ids(&at_bob), ids(&at_alice));
    let states: Vec<_> = at_bob.iter().map(|m| (m.direction, m.state)).collect();
    assert_eq!(
        states,
        vec![
            (Direction::Incoming, DeliveryState::Read),
            (Direction::Outgoing, DeliveryState::Delivered),
            (Direction::Incoming, DeliveryState::Read),
        ]
    );
    let conversations = conversations(&bob).await;
    assert_eq!(conversations.len(), 1);
    assert_eq!((conversations[0].id.as_str(), conversations[0].unread), (alice.id(), 0));

    // Errors a front end relies on.
    let to_self = alice.parley().send_message(alice.id(), "me", None).await.unwrap_err();
    assert_eq!(to_self.code(), "message_to_self");
    let empty = alice.parley().send_message(bob.id(), "   ", None).await.unwrap_err();
    assert_eq!(empty.code(), "invalid_message");

    alice.quit().await;
    bob.quit().await;
}

/// The conversations `person`'s contacts list shows.
async fn conversations(person: &Person) -> Vec<parley_core::Conversation> {
    let contacts = person.parley().contacts().await.expect("contacts");
    contacts.into_iter().filter_map(|c| c.conversation).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_to_an_offline_contact_wait_in_the_outbox_and_arrive_exactly_once_in_order() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    let bob_peer = alice.wait_for_peer(bob.id()).await;

    // bob quits: alice sees him leave, and still knows him as a contact.
    bob.quit().await;
    alice
        .wait_for("bob leaving", |e| {
            matches!(e, CoreEvent::PeerLeft { peer_id, .. } if *peer_id == bob_peer).then_some(())
        })
        .await;
    assert!(alice.online_contacts().await.is_empty());
    let contact = alice.parley().find_contact("BOB").await.expect("bob is a contact");
    assert_eq!(contact.id, bob.id());

    let bodies_sent = ["first while you were out", "second", "third, in order"];
    let mut sent = Vec::new();
    for body in bodies_sent {
        sent.push(alice.send(&contact, body).await);
    }
    let sent_ids: Vec<&str> = sent.iter().map(|m| m.id.as_str()).collect();
    let outbox = alice.parley().outbox(Some(bob.id())).await.unwrap();
    assert_eq!(ids(&outbox), sent_ids);
    assert!(outbox.iter().all(|m| m.state == DeliveryState::Pending), "{outbox:?}");
    assert!(
        !alice.online_contacts().await.contains(&bob.id().to_owned()),
        "no device of bob's is online"
    );

    // bob comes back: reopens his profile, signs in, goes online in the room.
    bob.reopen_offline().await;
    assert_eq!(bob.sign_in().await, SignIn::Password);
    bob.go_online("lobby").await;
    for (message, body) in sent.iter().zip(bodies_sent) {
        assert_eq!(bob.wait_for_message(&message.id).await.body, body);
        alice.wait_for_state(&message.id, DeliveryState::Delivered).await;
        assert_progress(&alice.states_of(&message.id), DeliveryState::Delivered, body);
        assert_eq!(alice.count(|e| is_state(e, &message.id, DeliveryState::Delivered)), 1);
    }
    let last = sentinel(&mut alice, &mut bob, "anything else?").await;
    let mut expected = sent_ids.clone();
    expected.push(&last.id);
    assert_once(&mut bob, alice.id(), &expected).await;
    assert_eq!(bodies(&bob.conversation(alice.id()).await)[..3], bodies_sent);
    assert!(alice.parley().outbox(None).await.unwrap().is_empty());

    alice.quit().await;
    bob.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_restarting_with_unacknowledged_messages_resends_them_and_the_receiver_keeps_one_copy() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;

    let a1 = alice.send(&bob.user, "one").await;
    let a2 = alice.send(&bob.user, "two").await;
    for m in [&a1, &a2] {
        bob.wait_for_message(&m.id).await;
        alice.wait_for_state(&m.id, DeliveryState::Delivered).await;
    }
    let b1 = bob.send(&alice.user, "got them").await;
    alice.wait_for_message(&b1.id).await;

    // alice quits, and her last two acks are lost on the way to her disk.
    alice.quit().await;
    lose_acks(&alice, &[&a1.id, &a2.id]);

    alice.reopen_offline().await;
    let outbox = alice.parley().outbox(Some(bob.id())).await.unwrap();
    assert_eq!(
        ids(&outbox),
        vec![a1.id.as_str(), a2.id.as_str()],
        "the outbox survives a restart"
    );
    assert_eq!(alice.sign_in().await, SignIn::Password);
    alice.go_online("lobby").await;
    // Back online, alice resends both by herself; bob acknowledges the copies again.
    alice.wait_for_state(&a1.id, DeliveryState::Delivered).await;
    alice.wait_for_state(&a2.id, DeliveryState::Delivered).await;
    assert!(alice.parley().outbox(None).await.unwrap().is_empty());

    // The conversation goes on, both ways.
    let a3 = sentinel(&mut alice, &mut bob, "three").await;
    let b2 = sentinel(&mut bob, &mut alice, "and four").await;
    assert_once(&mut bob, alice.id(), &[&a1.id, &a2.id, &b1.id, &a3.id, &b2.id]).await;
    assert_eq!(bob.count(|e| is_message(e, &a1.id)), 1, "bob was told about a1 once");
    assert_eq!(bob.count(|e| is_message(e, &a2.id)), 1, "bob was told about a2 once");
    assert_once(&mut alice, bob.id(), &[&a1.id, &a2.id, &b1.id, &a3.id, &b2.id]).await;

    alice.quit().await;
    bob.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_restarting_gets_what_it_missed_once_and_ignores_what_it_already_has() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;

    let a1 = sentinel(&mut alice, &mut bob, "before the restart").await;
    let b1 = bob.send(&alice.user, "unread at alice").await;
    alice.wait_for_message(&b1.id).await;

    // bob restarts; meanwhile alice writes more, and a1's ack is lost (bob stored a1, alice
    // never heard), so alice will resend a1 too.
    bob.quit().await;
    let a2 = alice.send(&bob.user, "while you restarted").await;
    let a3 = alice.send(&bob.user, "and another").await;
    lose_acks(&alice, &[&a1.id]);
    alice.mark();

    assert_eq!(bob.restart().await, SignIn::Password);
    bob.go_online("lobby").await;
    for m in [&a2, &a3] {
        bob.wait_for_message(&m.id).await;
        alice.wait_for_state(&m.id, DeliveryState::Delivered).await;
    }
    let a4 = sentinel(&mut alice, &mut bob, "welcome back").await;
    // a1 was resent (alice's outbox held it) and acknowledged again, not stored again.
    assert_eq!(alice.message(&a1.id).await.state, DeliveryState::Delivered);
    assert_eq!(
        bob.count(|e| is_message(e, &a1.id)),
        0,
        "a1 was announced again after the restart"
    );
    assert_once(&mut bob, alice.id(), &[&a1.id, &b1.id, &a2.id, &a3.id, &a4.id]).await;

    // bob, restarted, can still answer, and alice reads.
    let b2 = sentinel(&mut bob, &mut alice, "all good").await;
    alice.parley().mark_read(bob.id()).await.unwrap();
    bob.wait_for_state(&b2.id, DeliveryState::Read).await;
    assert_eq!(
        bob.message(&b1.id).await.state,
        DeliveryState::Read,
        "the receipt for a message sent before bob's restart reached him too"
    );

    alice.quit().await;
    bob.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_survives_a_server_restart_and_what_queued_meanwhile_is_delivered_once() {
    let db_dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_persistent(&db_dir.path().join("s.db")).await;
    let mut alice = Person::register(&server, "alice").await;
    let mut bob = Person::register(&server, "bob").await;
    let mut carol = Person::register(&server, "carol").await;
    alice.go_online("lobby").await;
    bob.go_online("lobby").await;
    carol.go_online("lobby").await;
    alice.wait_for_peer(bob.id()).await;
    alice.wait_for_peer(carol.id()).await;

    // alice and bob have a channel; alice and carol have not talked yet.
    let a1 = sentinel(&mut alice, &mut bob, "before the outage").await;

    for c in [&mut alice, &mut bob, &mut carol] {
        c.mark();
    }
    server.stop().await;
    for c in [&mut alice, &mut bob, &mut carol] {
        c.wait_for("the server link dropping", |e| {
            matches!(e, CoreEvent::Offline { .. }).then_some(())
        })
        .await;
    }

    // During the outage: to bob over the channel that is already open, to carol with no way
    // to reach her (no signaling, so no channel).
    let a2 = alice.send(&bob.user, "during the outage").await;
    let c1 = alice.send(&carol.user, "carol, are you there?").await;
    let c2 = alice.send(&carol.user, "second to carol").await;
    for m in [&c1, &c2] {
        let stored = alice.message(&m.id).await;
        assert_eq!(stored.state, DeliveryState::Pending, "nothing can reach carol now");
    }

    server.restart().await;
    // Everyone reconnects by themselves (same accounts and tokens: the database was kept).
    for c in [&mut alice, &mut bob, &mut carol] {
        c.wait_for("back online", |e| matches!(e, CoreEvent::Online { .. }).then_some(()))
            .await;
        c.wait_for("the room re-joined", |e| {
            matches!(e, CoreEvent::RoomJoined { room, .. } if room == "lobby").then_some(())
        })
        .await;
    }
    for m in [&c1, &c2] {
        carol.wait_for_message(&m.id).await;
        alice.wait_for_state(&m.id, DeliveryState::Delivered).await;
    }
    bob.wait_for_message(&a2.id).await;
    alice.wait_for_state(&a2.id, DeliveryState::Delivered).await;

    // Chat goes on, every way.
    let a3 = sentinel(&mut alice, &mut bob, "after the restart").await;
    let b1 = sentinel(&mut bob, &mut alice, "bob after the restart").await;
    let c3 = sentinel(&mut alice, &mut carol, "carol after the restart").await;
    let r1 = sentinel(&mut carol, &mut alice, "carol answers").await;
    assert_once(&mut bob, alice.id(), &[&a1.id, &a2.id, &a3.id, &b1.id]).await;
    assert_once(&mut carol, alice.id(), &[&c1.id, &c2.id, &c3.id, &r1.id]).await;
    assert_eq!(
        bodies(&carol.conversation(alice.id()).await),
        vec![
            "carol, are you there?",
            "second to carol",
            "carol after the restart",
            "carol answers"
        ]
    );
    assert!(alice.parley().outbox(None).await.unwrap().is_empty());

    for c in [&mut alice, &mut bob, &mut carol] {
        c.quit().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_search_and_contacts_work_after_a_restart_with_no_server() {
    let mut server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;

    let lines = [
        "shall we meet at the bakery?",
        "the bakery on Main Street",
        "sure, see you at noon",
        "bring the umbrella",
        "the forecast says sunshine",
    ];
    let mut sent = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let m = if i % 2 == 0 {
            sentinel(&mut alice, &mut bob, line).await
        } else {
            sentinel(&mut bob, &mut alice, line).await
        };
        sent.push(m);
    }
    bob.parley().mark_read(alice.id()).await.unwrap();
    alice.wait_for_state(&sent[4].id, DeliveryState::Read).await;

    alice.quit().await;
    bob.quit().await;
    server.stop().await;

    // alice starts her app with no server anywhere.
    alice.reopen_offline().await;
    let parley = alice.parley();
    let bob_contact = parley.find_contact("bob").await.expect("contact offline");
    assert_eq!(
        (bob_contact.id.as_str(), bob_contact.username.as_str()),
        (bob.id(), "bob")
    );
    assert!(bob_contact.email.is_none(), "other people's emails are not kept");
    assert_eq!(
        parley.find_contact("nobody").await.unwrap_err().code(),
        "unknown_contact"
    );

    // Paging, newest first, two at a time.
    let first = parley.history_page(bob.id(), None, Some(2)).await.unwrap();
    assert_eq!(bodies(&first.messages), vec![lines[4], lines[3]]);
    let second = parley.history_page(bob.id(), first.next, Some(2)).await.unwrap();
    assert_eq!(bodies(&second.messages), vec![lines[2], lines[1]]);
    let third = parley.history_page(bob.id(), second.next, Some(2)).await.unwrap();
    assert_eq!(bodies(&third.messages), vec![lines[0]]);
    assert!(third.next.is_none());
    assert_eq!(
        first.messages[0].state,
        DeliveryState::Read,
        "the read receipt was kept"
    );

    // Search, everywhere and in the conversation, and as-you-type prefixes.
    let hits = parley.search("bakery", None, None, Some(10)).await.unwrap();
    assert_eq!(
        ids(&hits.iter().map(|h| h.message.clone()).collect::<Vec<_>>()),
        vec![sent[1].id.as_str(), sent[0].id.as_str()]
    );
    assert!(
        hits[0]
            .snippet
            .contains(&format!("{SNIPPET_MATCH_START}bakery{SNIPPET_MATCH_END}")),
        "{:?}",
        hits[0].snippet
    );
    assert_eq!(
        parley.search("umbr", Some(bob.id()), None, Some(10)).await.unwrap()[0]
            .message
            .body,
        lines[3]
    );
    assert!(parley
        .search("nonexistent", None, None, Some(10))
        .await
        .unwrap()
        .is_empty());
    let conversations = conversations(&alice).await;
    assert_eq!(conversations.len(), 1);
    assert_eq!(
        conversations[0].last_message.as_ref().map(|m| m.body.as_str()),
        Some(lines[4])
    );

    // Signing in fails cleanly (no server), and the history still answers afterwards.
    let gone = ServerChoice::Url { url: server.url() };
    let error = parley.sign_in(gone, "alice", parley_tests::PASSWORD).await.unwrap_err();
    assert_eq!(error.code(), "server_unreachable", "{error}");
    assert_eq!(
        parley.room_directory().await.err().map(|e| e.code()).as_deref(),
        Some("not_signed_in")
    );
    assert_eq!(
        parley
            .history_page(bob.id(), None, Some(10))
            .await
            .unwrap()
            .messages
            .len(),
        5
    );

    // bob's side too.
    bob.reopen_offline().await;
    let at_bob = bob.conversation(alice.id()).await;
    assert_eq!(bodies(&at_bob), lines);
    assert_eq!(
        bob.parley()
            .search("sunshine", None, None, Some(10))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(bob.parley().find_contact("alice").await.unwrap().id, alice.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_receipt_made_while_the_sender_is_away_reaches_it_when_it_is_back() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    let message = sentinel(&mut alice, &mut bob, "read me later").await;

    // alice leaves; only then does bob read the message, so the receipt cannot go out now.
    alice.quit().await;
    assert_eq!(bob.parley().mark_read(alice.id()).await.unwrap(), 1);

    alice.reopen_offline().await;
    alice.sign_in().await;
    alice.go_online("lobby").await;
    alice.wait_for_state(&message.id, DeliveryState::Read).await;
    let stored = alice.message(&message.id).await;
    assert_eq!(stored.state, DeliveryState::Read);

    alice.quit().await;
    bob.quit().await;
}

/// A 1×1 PNG.
const TINY_PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 31, 21, 196,
    137, 0, 0, 0, 13, 73, 68, 65, 84, 120, 218, 99, 252, 207, 192, 80, 15, 0, 4, 133, 1, 128, 132, 169, 140, 33, 0, 0,
    0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avatars_show_after_a_restart_with_no_server() {
    let mut server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    let me = alice.parley().upload_avatar(TINY_PNG.to_vec()).await.unwrap();
    assert!(me.avatar_url.is_some());
    let mine = alice.parley().avatar(alice.id()).await.unwrap().expect("own avatar");
    bob.wait_for("alice's new avatar", |e| match e {
        CoreEvent::PeerUpdated { peer, .. } if peer.user.avatar_url.is_some() => Some(()),
        _ => None,
    })
    .await;
    let hers = bob.parley().avatar(alice.id()).await.unwrap().expect("alice's avatar");
    assert_eq!(hers, mine);

    // Both restart with the server gone: the pictures still show, from the history.
    server.stop().await;
    for person in [&mut alice, &mut bob] {
        person.quit().await;
        person.reopen_offline().await;
    }
    assert_eq!(alice.parley().avatar(alice.id()).await.unwrap(), Some(mine.clone()));
    assert_eq!(bob.parley().avatar(alice.id()).await.unwrap(), Some(mine));
    assert_eq!(alice.parley().avatar(bob.id()).await.unwrap(), None, "bob has none");
    alice.quit().await;
    bob.quit().await;
}
