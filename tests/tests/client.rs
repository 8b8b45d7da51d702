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
async fn an_offline_start_keeps_the_session_and_comes_back_by_itself() {
    let embedded = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_persistent(&db.path().join("server.db")).await;
    let choice = ServerChoice::Url { url: server.url() };
    let mut app = open(embedded.path(), free_port());
    let me = app.sign_up(choice.clone(), "carol").await;
    app.client.join_room("kitchen").unwrap();

    // The app quits, and starts again while the server is down.
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
        snapshot.error.as_ref().map(|e| e.code.as_str()),
        Some("server_unreachable")
    );
    // History and search answer with no network.
    assert!(app.client.search("anything", None, None).await.unwrap().is_empty());
    assert!(app.client.contacts().await.unwrap().is_empty());
    let err = app.client.send_message(&me, "x").await.expect_err("no engine offline");
    assert!(!err.code().is_empty());

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
    app.client.shutdown().await;
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
