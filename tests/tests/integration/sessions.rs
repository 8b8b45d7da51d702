//! The session's life cycle as the app runs it, headless, through the front door: two profiles
//! sharing the "This device" server, rooms remembered, contacts with presence and unread counts,
//! an offline start that comes back by itself, and signing out.

use parley_core::{Connection, CoreEvent, DeliveryState, Parley, ServerChoice};
use parley_tests::{free_port, open, open_or_unlock, test_options, TestServer, DEADLINE};
use tokio::sync::mpsc::UnboundedReceiver;

struct App {
    parley: Parley,
    events: UnboundedReceiver<CoreEvent>,
    profile: tempfile::TempDir,
}

/// An app on a fresh profile whose "This device" server lives in `this_device_dir` on `port`.
async fn start(this_device_dir: &std::path::Path, port: u16) -> App {
    let profile = tempfile::tempdir().unwrap();
    let mut options = test_options(this_device_dir);
    options.this_device.port = port;
    let (parley, events) = open(profile.path(), options).await;
    App {
        parley,
        events,
        profile,
    }
}

impl App {
    async fn wait_for(&mut self, what: &str, mut matches: impl FnMut(&CoreEvent) -> bool) -> CoreEvent {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) if matches(&event) => return event,
                Ok(Some(_)) => {}
                Ok(None) => panic!("event stream ended while waiting for {what}"),
                Err(_) => panic!("no {what} within {DEADLINE:?}"),
            }
        }
    }

    async fn sign_up(&mut self, choice: ServerChoice, name: &str) -> String {
        let snapshot = self
            .parley
            .sign_up(
                choice,
                name,
                &format!("{name}@example.org"),
                "correct horse battery",
                Some(name),
            )
            .await
            .expect("sign up");
        // The socket may come up before the answer is read: online already is fine (the
        // Online event is queued either way).
        assert!(
            matches!(snapshot.connection, Connection::Connecting | Connection::Online),
            "just signed up: {:?}",
            snapshot.connection
        );
        self.wait_for("online", |e| matches!(e, CoreEvent::Online { .. })).await;
        assert_eq!(self.parley.snapshot().connection, Connection::Online);
        self.parley.snapshot().me.expect("signed in").id
    }
}

#[tokio::test]
async fn two_profiles_share_this_device_server_and_chat() {
    let embedded = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut alice = start(embedded.path(), port).await;
    let mut bob = start(embedded.path(), port).await;
    // Alice's process hosts "this device"; Bob's finds it served on the port and uses it.
    let alice_id = alice.sign_up(ServerChoice::Embedded, "alice").await;
    let bob_id = bob.sign_up(ServerChoice::Embedded, "bob").await;
    assert_eq!(alice.parley.snapshot().server_url, bob.parley.snapshot().server_url);

    let err = alice.parley.join_room(" bad room").expect_err("invalid name");
    assert_eq!(parley_core::CoreError::code(&err), "invalid_room");
    alice.parley.join_room("lobby").unwrap();
    bob.parley.join_room("lobby").unwrap();
    alice
        .wait_for(
            "bob in the lobby",
            |e| matches!(e, CoreEvent::PeerJoined { peer, .. } if peer.user.id == bob_id),
        )
        .await;
    // The page reloading asks to restore again: the running session is kept, not doubled.
    let again = alice.parley.restore(ServerChoice::Embedded).await.unwrap();
    assert_eq!(again.connection, Connection::Online);
    assert_eq!(again.rooms.len(), 1);
    let rooms = remembered_rooms(&alice.profile);
    assert_eq!(rooms, ["lobby"], "joined rooms are remembered for the next start");

    let contacts = alice.parley.contacts().await.unwrap();
    assert_eq!(contacts.len(), 1, "only bob, never ourselves: {contacts:?}");
    assert!(contacts[0].online && contacts[0].user.id == bob_id);

    alice.parley.open_conversation(&bob_id).await.unwrap();
    let sent = alice.parley.send_message(&bob_id, "hello bob", None).await.unwrap();
    bob.wait_for(
        "alice's message",
        |e| matches!(e, CoreEvent::Message { message } if message.id == sent.id),
    )
    .await;
    let bobs = bob.parley.contacts().await.unwrap();
    let from_alice = bobs.iter().find(|c| c.user.id == alice_id).expect("alice listed");
    assert_eq!(from_alice.conversation.as_ref().map(|c| c.unread), Some(1));

    assert_eq!(bob.parley.mark_read(&alice_id).await.unwrap(), 1);
    alice
        .wait_for(
            "the read receipt",
            |e| matches!(e, CoreEvent::MessageState { id, state: DeliveryState::Read, .. } if *id == sent.id),
        )
        .await;
    let page = bob.parley.history_page(&alice_id, None, None).await.unwrap();
    assert_eq!(page.messages[0].body, "hello bob");
    let hits = bob.parley.search("hello", None, None, None).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].conversation_title, "alice");

    // Bob leaves: he stays a contact, offline, with his history.
    bob.parley.leave_room("lobby").unwrap();
    alice
        .wait_for("bob leaving", |e| matches!(e, CoreEvent::PeerLeft { .. }))
        .await;
    let contacts = alice.parley.contacts().await.unwrap();
    assert!(
        !contacts[0].online && contacts[0].conversation.is_some(),
        "{contacts:?}"
    );
    assert!(remembered_rooms(&bob.profile).is_empty());

    bob.parley.shutdown().await;
    alice.parley.shutdown().await;
}

#[tokio::test]
async fn an_offline_start_keeps_the_session_queues_messages_and_comes_back_by_itself() {
    let embedded = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_persistent(&db.path().join("server.db")).await;
    let choice = ServerChoice::Url { url: server.url() };
    let mut app = start(embedded.path(), free_port()).await;
    let mut dan = start(embedded.path(), free_port()).await;
    let me = app.sign_up(choice.clone(), "carol").await;
    let dan_id = dan.sign_up(choice.clone(), "dan").await;
    app.parley.join_room("kitchen").unwrap();
    dan.parley.join_room("kitchen").unwrap();
    app.wait_for("dan in the kitchen", |e| matches!(e, CoreEvent::PeerJoined { .. }))
        .await;

    // Carol's app quits, and starts again while the server is down.
    app.parley.shutdown().await;
    server.stop().await;
    let snapshot = app
        .parley
        .restore(choice.clone())
        .await
        .expect("an unreachable server is not an error");
    assert_eq!(snapshot.connection, Connection::Offline);
    assert_eq!(snapshot.username.as_deref(), Some("carol"));
    assert_eq!(
        snapshot.me.as_ref().map(|u| u.id.as_str()),
        Some(me.as_str()),
        "who we are is known offline"
    );
    assert_eq!(
        snapshot.error.as_ref().map(|e| e.code.as_str()),
        Some("server_unreachable")
    );
    // History, contacts and search answer with no network, and writing works: the message
    // waits in the outbox.
    assert!(app
        .parley
        .search("anything", None, None, None)
        .await
        .unwrap()
        .is_empty());
    let contacts = app.parley.contacts().await.unwrap();
    assert!(contacts.len() == 1 && !contacts[0].online, "{contacts:?}");
    let queued = app.parley.send_message(&dan_id, "written offline", None).await.unwrap();
    assert_eq!(queued.state, DeliveryState::Pending);
    assert_eq!(app.parley.search("offline", None, None, None).await.unwrap().len(), 1);
    let err = app
        .parley
        .send_message("nobody", "x", None)
        .await
        .expect_err("not a contact");
    assert_eq!(err.code(), "unknown_contact");

    server.restart().await;
    app.wait_for("back online", |e| matches!(e, CoreEvent::Online { .. }))
        .await;
    app.wait_for(
        "the remembered room",
        |e| matches!(e, CoreEvent::RoomJoined { room, .. } if room == "kitchen"),
    )
    .await;
    assert_eq!(app.parley.snapshot().connection, Connection::Online);
    assert_eq!(app.parley.snapshot().rooms[0].room, "kitchen");
    dan.wait_for(
        "the message written offline",
        |e| matches!(e, CoreEvent::Message { message } if message.id == queued.id),
    )
    .await;
    app.wait_for(
        "its delivery",
        |e| matches!(e, CoreEvent::MessageState { id, state: DeliveryState::Delivered, .. } if *id == queued.id),
    )
    .await;
    app.parley.shutdown().await;
    dan.parley.shutdown().await;
}

/// The process hosting "This device" quits: another takes over the same database at once, and
/// everyone else comes back online in their rooms with their sessions, still able to chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_host_quits_another_app_takes_over_this_device() {
    let embedded = tempfile::tempdir().unwrap();
    let port = free_port();
    let alice = start(embedded.path(), port).await;
    let mut bob = start(embedded.path(), port).await;
    let mut carol = start(embedded.path(), port).await;
    let mut alice = alice;
    alice.sign_up(ServerChoice::Embedded, "alice").await;
    bob.sign_up(ServerChoice::Embedded, "bob").await;
    let carol_id = carol.sign_up(ServerChoice::Embedded, "carol").await;
    bob.parley.join_room("lobby").unwrap();
    carol.parley.join_room("lobby").unwrap();
    bob.wait_for(
        "carol in the lobby",
        |e| matches!(e, CoreEvent::PeerJoined { peer, .. } if peer.user.id == carol_id),
    )
    .await;

    alice.parley.shutdown().await;
    for app in [&mut bob, &mut carol] {
        app.wait_for("the server gone", |e| matches!(e, CoreEvent::Offline { .. }))
            .await;
        app.wait_for("back online", |e| matches!(e, CoreEvent::Online { .. }))
            .await;
        app.wait_for(
            "the lobby rejoined",
            |e| matches!(e, CoreEvent::RoomJoined { room, .. } if room == "lobby"),
        )
        .await;
    }
    let sent = bob.parley.send_message(&carol_id, "still here", None).await.unwrap();
    carol
        .wait_for(
            "bob's message",
            |e| matches!(e, CoreEvent::Message { message } if message.id == sent.id),
        )
        .await;
    bob.parley.shutdown().await;
    carol.parley.shutdown().await;
}

#[tokio::test]
async fn signing_out_ends_the_session_and_signing_in_again_rejoins_the_rooms() {
    let embedded = tempfile::tempdir().unwrap();
    let server = TestServer::start().await;
    let choice = ServerChoice::Url { url: server.url() };
    let mut app = start(embedded.path(), free_port()).await;
    let mut erin = start(embedded.path(), free_port()).await;
    app.sign_up(choice.clone(), "dave").await;
    let erin_id = erin.sign_up(choice.clone(), "erin").await;
    app.parley.join_room("hall").unwrap();
    erin.parley.join_room("hall").unwrap();
    app.wait_for("erin in the hall", |e| matches!(e, CoreEvent::PeerJoined { .. }))
        .await;

    let snapshot = app.parley.sign_out(true).await.unwrap();
    assert_eq!(snapshot.connection, Connection::SignedOut);
    assert!(snapshot.me.is_none());
    assert!(snapshot.rooms.is_empty(), "signed out: in no room");
    app.wait_for("signed out", |e| matches!(e, CoreEvent::SignedOut)).await;
    assert_eq!(
        remembered_rooms(&app.profile),
        ["hall"],
        "the rooms stay with the profile"
    );
    let restored = app.parley.restore(choice.clone()).await.unwrap();
    assert_eq!(restored.connection, Connection::SignedOut, "the token is gone");
    let err = app
        .parley
        .sign_in(choice.clone(), "dave", "wrong password")
        .await
        .expect_err("wrong password");
    assert_eq!(err.code(), "invalid_credentials");
    assert_eq!(app.parley.snapshot().connection, Connection::SignedOut);

    // Signing in again: the hall is rejoined with no action, erin shows online, and a message
    // goes out at once instead of waiting for a room joined by hand.
    app.parley
        .sign_in(choice.clone(), "dave", "correct horse battery")
        .await
        .unwrap();
    app.wait_for(
        "the hall rejoined",
        |e| matches!(e, CoreEvent::RoomJoined { room, peers } if room == "hall" && peers.iter().any(|p| p.user.id == erin_id)),
    )
    .await;
    assert!(app
        .parley
        .contacts()
        .await
        .unwrap()
        .iter()
        .any(|c| c.user.id == erin_id && c.online));
    let sent = app.parley.send_message(&erin_id, "back again", None).await.unwrap();
    app.wait_for(
        "delivered",
        |e| matches!(e, CoreEvent::MessageState { id, state: DeliveryState::Delivered, .. } if *id == sent.id),
    )
    .await;

    // Another account on this profile starts with no rooms of dave's.
    app.parley.sign_out(true).await.unwrap();
    app.sign_up(choice, "frank").await;
    assert!(app.parley.snapshot().rooms.is_empty());
    assert!(remembered_rooms(&app.profile).is_empty());
    app.parley.shutdown().await;
    erin.parley.shutdown().await;
}

#[tokio::test]
async fn signing_out_keeps_the_history_or_deletes_it_as_asked() {
    let embedded = tempfile::tempdir().unwrap();
    let server = TestServer::start().await;
    let choice = ServerChoice::Url { url: server.url() };
    let mut dave = start(embedded.path(), free_port()).await;
    let mut erin = start(embedded.path(), free_port()).await;
    dave.sign_up(choice.clone(), "dave").await;
    let erin_id = erin.sign_up(choice.clone(), "erin").await;
    dave.parley.join_room("hall").unwrap();
    erin.parley.join_room("hall").unwrap();
    dave.wait_for("erin in the hall", |e| matches!(e, CoreEvent::PeerJoined { .. }))
        .await;
    let sent = dave.parley.send_message(&erin_id, "kept or not", None).await.unwrap();
    dave.wait_for(
        "delivered",
        |e| matches!(e, CoreEvent::MessageState { id, state: DeliveryState::Delivered, .. } if *id == sent.id),
    )
    .await;

    // Kept: everything answers as before, signed out.
    dave.parley.sign_out(true).await.unwrap();
    assert_eq!(dave.parley.message(&sent.id).await.unwrap().body, "kept or not");
    assert_eq!(dave.parley.search("kept", None, None, None).await.unwrap().len(), 1);
    assert_eq!(dave.parley.contacts().await.unwrap().len(), 1);

    // Deleted: nothing of it is left, and the profile goes on working.
    dave.parley
        .sign_in(choice.clone(), "dave", "correct horse battery")
        .await
        .unwrap();
    dave.parley.sign_out(false).await.unwrap();
    assert_eq!(
        dave.parley.message(&sent.id).await.unwrap_err().code(),
        "unknown_message"
    );
    assert!(dave.parley.search("kept", None, None, None).await.unwrap().is_empty());
    assert!(dave.parley.contacts().await.unwrap().is_empty());
    assert!(dave
        .parley
        .history_page(&erin_id, None, None)
        .await
        .unwrap()
        .messages
        .is_empty());
    dave.parley
        .sign_in(choice, "dave", "correct horse battery")
        .await
        .unwrap();
    dave.parley.shutdown().await;
    erin.parley.shutdown().await;
}

#[tokio::test]
async fn a_signed_in_profile_opens_on_its_owner_before_the_server_answers() {
    let embedded = tempfile::tempdir().unwrap();
    let server = TestServer::start().await;
    let choice = ServerChoice::Url { url: server.url() };
    let profile = tempfile::tempdir().unwrap();
    let options = test_options(embedded.path());
    let me = {
        let (client, mut events) = open(profile.path(), options.clone()).await;
        assert_eq!(client.snapshot().connection, Connection::SignedOut, "a new profile");
        client
            .sign_up(
                choice.clone(),
                "erin",
                "erin@example.org",
                "correct horse battery",
                None,
            )
            .await
            .unwrap();
        while !matches!(events.recv().await, Some(CoreEvent::Online { .. })) {}
        let me = client.snapshot().me.unwrap();
        let code = client.recovery_code().unwrap();
        client.shutdown().await;
        (me, code)
    };
    let (me, code) = me;

    // The next start: before any network, the profile's owner is known and the session is
    // taken to be resuming. (The test keyring forgot the history's key too: the recovery code
    // opens it.)
    let (client, _events) = open_or_unlock(profile.path(), options, Some(&code)).await;
    let early = client.snapshot();
    assert_eq!(early.connection, Connection::Connecting);
    assert_eq!(early.me.map(|u| u.id), Some(me.id));
    // The test keyring forgets tokens across opens: resuming finds none and signs out.
    let restored = client.restore(choice).await.unwrap();
    assert_eq!(restored.connection, Connection::SignedOut);
    assert!(restored.me.is_none());
}

/// The rooms a profile will join on its next start, as `profile.json` keeps them.
fn remembered_rooms(profile: &tempfile::TempDir) -> Vec<String> {
    let text = std::fs::read(profile.path().join("profile.json")).expect("profile.json");
    let json: serde_json::Value = serde_json::from_slice(&text).expect("profile.json is JSON");
    serde_json::from_value(json["rooms"].clone()).unwrap_or_default()
}
