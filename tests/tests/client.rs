//! The app's session layer (`parley_core::client::Client`), headless: two profiles sharing the
//! "this device" server, rooms remembered, contacts with presence and unread counts, an offline
//! start that comes back by itself, and signing out.

use std::time::Duration;

use parley_core::client::{Client, ClientOptions, Connection, ServerChoice};
use parley_core::events::CoreEvent;
use parley_core::history::DeliveryState;
use parley_core::Core;
use parley_tests::{core_options, init_tracing, TestServer, DEADLINE};
use tokio::sync::mpsc::{self, UnboundedReceiver};

struct App {
    client: Client,
    events: UnboundedReceiver<CoreEvent>,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn open(embedded_dir: &std::path::Path, port: u16) -> App {
    init_tracing();
    let profile = tempfile::tempdir().unwrap();
    let core = Core::open(profile.path(), core_options()).unwrap();
    let (tx, events) = mpsc::unbounded_channel();
    let options = ClientOptions {
        embedded_port: port,
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        ..ClientOptions::new(embedded_dir.to_owned())
    };
    App {
        client: Client::new(core, options, tx),
        events,
        _profile: profile,
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
            .client
            .sign_up(
                choice,
                name,
                &format!("{name}@example.org"),
                "correct horse battery",
                Some(name),
            )
            .await
            .expect("sign up");
        assert_eq!(snapshot.connection, Connection::Connecting);
        self.wait_for("online", |e| matches!(e, CoreEvent::Online { .. })).await;
        assert_eq!(self.client.snapshot().connection, Connection::Online);
        self.client.snapshot().me.expect("signed in").id
    }
}

#[tokio::test]
async fn two_profiles_share_this_device_server_and_chat() {
    let embedded = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut alice = open(embedded.path(), port);
    let mut bob = open(embedded.path(), port);
    // Alice's process hosts "this device"; Bob's finds it served on the port and uses it.
    let alice_id = alice.sign_up(ServerChoice::Embedded, "alice").await;
    let bob_id = bob.sign_up(ServerChoice::Embedded, "bob").await;
    assert_eq!(alice.client.snapshot().server_url, bob.client.snapshot().server_url);

    let err = alice.client.join_room(" bad room").expect_err("invalid name");
    assert_eq!(parley_core::CoreError::code(&err), "invalid_room");
    alice.client.join_room("lobby").unwrap();
    bob.client.join_room("lobby").unwrap();
    alice
        .wait_for(
            "bob in the lobby",
            |e| matches!(e, CoreEvent::PeerJoined { peer, .. } if peer.user.id == bob_id),
        )
        .await;
    // The page reloading asks to restore again: the running session is kept, not doubled.
    let again = alice.client.restore(ServerChoice::Embedded).await.unwrap();
    assert_eq!(again.connection, Connection::Online);
    assert_eq!(again.rooms.len(), 1);
    let rooms = alice.client.core().settings().rooms;
    assert_eq!(rooms, ["lobby"], "joined rooms are remembered for the next start");

    let contacts = alice.client.contacts().await.unwrap();
    assert_eq!(contacts.len(), 1, "only bob, never ourselves: {contacts:?}");
    assert!(contacts[0].online && contacts[0].user.id == bob_id);

    alice.client.open_conversation(&bob_id).await.unwrap();
    let sent = alice.client.send_message(&bob_id, "hello bob").await.unwrap();
    bob.wait_for(
        "alice's message",
        |e| matches!(e, CoreEvent::Message { message } if message.id == sent.id),
    )
    .await;
    let bobs = bob.client.contacts().await.unwrap();
    let from_alice = bobs.iter().find(|c| c.user.id == alice_id).expect("alice listed");
    assert_eq!(from_alice.conversation.as_ref().map(|c| c.unread), Some(1));

    assert_eq!(bob.client.mark_read(&alice_id).await.unwrap(), 1);
    alice
        .wait_for(
            "the read receipt",
            |e| matches!(e, CoreEvent::MessageState { id, state: DeliveryState::Read, .. } if *id == sent.id),
        )
        .await;
    let page = bob.client.history_page(&alice_id, None, None).await.unwrap();
    assert_eq!(page.messages[0].body, "hello bob");
    let hits = bob.client.search("hello", None, None).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].conversation_title, "alice");

    // Bob leaves: he stays a contact, offline, with his history.
    bob.client.leave_room("lobby").unwrap();
    alice
        .wait_for("bob leaving", |e| matches!(e, CoreEvent::PeerLeft { .. }))
        .await;
    let contacts = alice.client.contacts().await.unwrap();
    assert!(
        !contacts[0].online && contacts[0].conversation.is_some(),
        "{contacts:?}"
    );
    assert!(bob.client.core().settings().rooms.is_empty());

    bob.client.shutdown().await;
    alice.client.shutdown().await;
}

#[tokio::test]
async fn an_offline_start_keeps_the_session_queues_messages_and_comes_back_by_itself() {
    let embedded = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_persistent(&db.path().join("server.db")).await;
    let choice = ServerChoice::Url { url: server.url() };
    let mut app = open(embedded.path(), free_port());
    let mut dan = open(embedded.path(), free_port());
    let me = app.sign_up(choice.clone(), "carol").await;
    let dan_id = dan.sign_up(choice.clone(), "dan").await;
    app.client.join_room("kitchen").unwrap();
    dan.client.join_room("kitchen").unwrap();
    app.wait_for("dan in the kitchen", |e| matches!(e, CoreEvent::PeerJoined { .. }))
        .await;

    // Carol's app quits, and starts again while the server is down.
    app.client.shutdown().await;
    server.stop().await;
    let snapshot = app
        .client
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
    assert!(app.client.search("anything", None, None).await.unwrap().is_empty());
    let contacts = app.client.contacts().await.unwrap();
    assert!(contacts.len() == 1 && !contacts[0].online, "{contacts:?}");
    let queued = app.client.send_message(&dan_id, "written offline").await.unwrap();
    assert_eq!(queued.state, DeliveryState::Pending);
    assert_eq!(app.client.search("offline", None, None).await.unwrap().len(), 1);
    let err = app.client.send_message("nobody", "x").await.expect_err("not a contact");
    assert_eq!(err.code(), "unknown_contact");

    server.restart().await;
    app.wait_for("back online", |e| matches!(e, CoreEvent::Online { .. }))
        .await;
    app.wait_for(
        "the remembered room",
        |e| matches!(e, CoreEvent::RoomJoined { room, .. } if room == "kitchen"),
    )
    .await;
    assert_eq!(app.client.snapshot().connection, Connection::Online);
    assert_eq!(app.client.snapshot().rooms[0].room, "kitchen");
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
    app.client.shutdown().await;
    dan.client.shutdown().await;
}

#[tokio::test]
async fn signing_out_forgets_the_session_and_the_rooms_but_keeps_history() {
    let embedded = tempfile::tempdir().unwrap();
    let server = TestServer::start().await;
    let choice = ServerChoice::Url { url: server.url() };
    let mut app = open(embedded.path(), free_port());
    app.sign_up(choice.clone(), "dave").await;
    app.client.join_room("hall").unwrap();

    let snapshot = app.client.sign_out().await.unwrap();
    assert_eq!(snapshot.connection, Connection::SignedOut);
    assert!(snapshot.me.is_none());
    app.wait_for("signed out", |e| matches!(e, CoreEvent::SignedOut)).await;
    assert!(app.client.core().settings().rooms.is_empty());
    let restored = app.client.restore(choice.clone()).await.unwrap();
    assert_eq!(restored.connection, Connection::SignedOut, "the token is gone");

    let err = app
        .client
        .sign_in(choice, "dave", "wrong password")
        .await
        .expect_err("wrong password");
    assert_eq!(err.code(), "invalid_credentials");
    assert_eq!(app.client.snapshot().connection, Connection::SignedOut);
}

/// Opens the profile again once the previous client's tasks have let go of it (aborted tasks
/// are dropped by the runtime shortly after `shutdown`).
async fn reopen(dir: &std::path::Path) -> Core {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        match Core::open(dir, core_options()) {
            Ok(core) => return core,
            Err(parley_core::CoreError::Profile(parley_core::profile::ProfileError::InUse { .. }))
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Err(e) => panic!("the profile was not released: {e}"),
        }
    }
}

#[tokio::test]
async fn a_signed_in_profile_opens_on_its_owner_before_the_server_answers() {
    let embedded = tempfile::tempdir().unwrap();
    let server = TestServer::start().await;
    let choice = ServerChoice::Url { url: server.url() };
    let profile = tempfile::tempdir().unwrap();
    let options = || ClientOptions {
        retry_min: Duration::from_millis(50),
        ..ClientOptions::new(embedded.path().to_owned())
    };
    let me = {
        let (tx, mut events) = mpsc::unbounded_channel();
        let client = Client::new(Core::open(profile.path(), core_options()).unwrap(), options(), tx);
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
        client.shutdown().await;
        me
    };

    // The next start: before any network, the profile's owner is known and the session is
    // taken to be resuming.
    let (tx, _events) = mpsc::unbounded_channel();
    let client = Client::new(reopen(profile.path()).await, options(), tx);
    let early = client.snapshot();
    assert_eq!(early.connection, Connection::Connecting);
    assert_eq!(early.me.map(|u| u.id), Some(me.id));
    // The test keyring forgets tokens across opens: resuming finds none and signs out.
    let restored = client.restore(choice).await.unwrap();
    assert_eq!(restored.connection, Connection::SignedOut);
    assert!(restored.me.is_none());
}
