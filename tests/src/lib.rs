//! Parley's cross-crate and end-to-end tests.
//!
//! Unit tests live next to the code in each crate. This package holds the tests that need more
//! than one of them at once: the app core (`parley-core`) talking to a real signaling server
//! (`parley-signal`), several clients in one room, and the built `parley-cli` driven as a black
//! box. The tests go in `tests/tests/*.rs`, the benchmark in `tests/benches/core.rs`; this
//! library is the harness they share:
//!
//! - [`TestServer`]: a signaling server in this process on a free loopback port, which can be
//!   stopped and started again on the same address and database.
//! - [`Client`]: one person's app — a [`Core`] on its own temporary profile, signed in, and (once
//!   [`Client::go_online`] is called) a [`ChatEngine`] in a room, with every [`CoreEvent`] kept.
//! - Waiting is always for an event or a condition, with a deadline ([`DEADLINE`]); nothing
//!   sleeps for a fixed time and hopes.
//! - [`webdriver`]: a small W3C WebDriver client, with Xvfb and `tauri-driver` as child
//!   processes; [`app`]: the desktop app's instances driven through it (`tests/tests/e2e.rs`).
//!
//! The keyring is [`StoreKind::Memory`]: each `Core::open` gets a fresh, empty store, exactly as
//! if the OS keyring had been wiped. A restarted client therefore finds no token and signs in
//! again with its password, which is what a person would do (see [`Client::restart`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use parley_core::chat::ChatEngine;
use parley_core::events::CoreEvent;
use parley_core::history::{DeliveryState, Message, MAX_LIMIT};
use parley_core::peer::PeerConfig;
use parley_core::presence::PresenceOptions;
use parley_core::secrets::StoreKind;
use parley_core::{Core, CoreOptions};
use parley_protocol::{Peer, User};
pub use parley_signal::test_utils::{init_tracing, TestServer, DEADLINE};
use tokio::sync::mpsc::{self, UnboundedReceiver};

pub use parley_core;
pub use parley_signal;

pub mod app;
pub mod webdriver;

/// Every test account's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// Presence timings for tests: a server restart is noticed and survived in well under a second.
pub fn fast_presence() -> PresenceOptions {
    PresenceOptions {
        heartbeat: Duration::from_secs(2),
        dead_after: Duration::from_secs(6),
        connect_timeout: Duration::from_secs(5),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        stable_after: Duration::from_secs(2),
    }
}

/// How every test core runs: in-memory keyring, WebRTC on 127.0.0.1 only (this machine has
/// other interfaces, and test traffic must never leave it), fast presence retries.
pub fn core_options() -> CoreOptions {
    CoreOptions {
        keyring: StoreKind::Memory,
        peer: PeerConfig::loopback(),
        presence: fast_presence(),
    }
}

/// How a [`Client`] got its session back after [`Client::restart`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// `Core::restore` found the token in the keyring.
    Restored,
    /// The keyring had no token (the memory store is empty after every `Core::open`); signed in
    /// with the password.
    Password,
}

/// One person's app: a core on a private profile directory, and its chat engine once online.
pub struct Client {
    pub name: String,
    pub user: User,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
    core: Option<Core>,
    engine: Option<ChatEngine>,
    events: Option<UnboundedReceiver<CoreEvent>>,
    /// Every event of the current online session ([`Client::go_online`] starts a new one).
    log: Vec<CoreEvent>,
    /// Events before this index are not searched by [`Client::wait_for`].
    since: usize,
    room: Option<String>,
}

impl Client {
    /// A fresh profile and a new account `name` on `server`, signed in.
    pub async fn register(server: &TestServer, name: &str) -> Client {
        init_tracing();
        let tmp = tempfile::Builder::new()
            .prefix(&format!("parley-{name}-"))
            .tempdir()
            .expect("temp dir");
        let dir = tmp.path().join("profile");
        let core = Core::open(&dir, core_options()).expect("core opens");
        let user = core
            .register(
                Some(&server.url()),
                name,
                &format!("{name}@example.org"),
                PASSWORD,
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("registering {name}: {e}"));
        Client {
            name: name.to_owned(),
            user,
            dir,
            _tmp: tmp,
            core: Some(core),
            engine: None,
            events: None,
            log: Vec::new(),
            since: 0,
            room: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.user.id
    }

    pub fn profile_dir(&self) -> &Path {
        &self.dir
    }

    /// The history database file of this profile (for fault injection while it is closed).
    pub fn history_path(&self) -> PathBuf {
        self.dir.join("history.db")
    }

    pub fn core(&self) -> &Core {
        self.core.as_ref().expect("core is open")
    }

    pub fn engine(&self) -> &ChatEngine {
        self.engine.as_ref().expect("client is online")
    }

    pub fn is_online(&self) -> bool {
        self.engine.is_some()
    }

    /// Goes online and joins `room`; returns the room's roster as the server sent it.
    pub async fn go_online(&mut self, room: &str) -> Vec<Peer> {
        assert!(self.engine.is_none(), "{} is already online", self.name);
        let (tx, rx) = mpsc::unbounded_channel();
        let engine = self
            .core()
            .go_online(tx)
            .await
            .unwrap_or_else(|e| panic!("{} going online: {e}", self.name));
        engine.presence().join(room).expect("join");
        self.engine = Some(engine);
        self.events = Some(rx);
        self.log.clear();
        self.since = 0;
        self.room = Some(room.to_owned());
        let room_owned = room.to_owned();
        let peers = self
            .wait_for(&format!("joined {room}"), |e| match e {
                CoreEvent::RoomJoined { room, peers } if *room == room_owned => Some(peers.clone()),
                _ => None,
            })
            .await;
        assert_eq!(
            self.engine().me().map(|u| u.id),
            Some(self.user.id.clone()),
            "online as someone else"
        );
        peers
    }

    /// Closes peer connections and the server link (peers see us leave), and drops the engine.
    pub async fn go_offline(&mut self) {
        if let Some(engine) = self.engine.take() {
            engine.shutdown().await;
        }
        self.drain();
        self.events = None;
    }

    /// Quits the app: offline, then the core (and its profile lock) is dropped.
    pub async fn quit(&mut self) {
        self.go_offline().await;
        self.core = None;
    }

    /// Opens the profile again with no network: history, search and contacts only.
    pub fn reopen_offline(&mut self) {
        assert!(self.core.is_none(), "quit first");
        self.core = Some(Core::open(&self.dir, core_options()).expect("core reopens"));
    }

    /// Quits (if running) and starts again on the same profile: opens it, restores the session
    /// or signs in with the password, and goes back online in the last room if it was online.
    pub async fn restart(&mut self) -> SignIn {
        let room = self.engine.is_some().then(|| self.room.clone()).flatten();
        self.quit().await;
        self.reopen_offline();
        let how = self.sign_in().await;
        if let Some(room) = room {
            self.go_online(&room).await;
        }
        how
    }

    /// Restores the session from the keyring, or logs in with the password (at the server the
    /// profile remembers).
    pub async fn sign_in(&mut self) -> SignIn {
        let core = self.core();
        let restored = core
            .restore()
            .await
            .unwrap_or_else(|e| panic!("{} restoring the session: {e}", self.name));
        let how = match restored {
            Some(user) => {
                assert_eq!(user.id, self.user.id);
                SignIn::Restored
            }
            None => {
                let user = core
                    .login(None, &self.name, PASSWORD)
                    .await
                    .unwrap_or_else(|e| panic!("{} logging in: {e}", self.name));
                assert_eq!(user.id, self.user.id);
                SignIn::Password
            }
        };
        how
    }

    /// Sends `body` to `to` and returns the stored message (state pending).
    pub async fn send(&self, to: &User, body: &str) -> Message {
        let message = self
            .engine()
            .send_message(to, body)
            .await
            .unwrap_or_else(|e| panic!("{} sending {body:?}: {e}", self.name));
        assert_eq!(message.state, DeliveryState::Pending, "a new message starts pending");
        message
    }

    /// Moves every queued event into the log.
    pub fn drain(&mut self) {
        if let Some(rx) = self.events.as_mut() {
            while let Ok(event) = rx.try_recv() {
                self.log.push(event);
            }
        }
    }

    /// Every event of the current online session so far.
    pub fn log(&mut self) -> &[CoreEvent] {
        self.drain();
        &self.log
    }

    /// The events since the last [`Client::mark`].
    pub fn since_mark(&mut self) -> &[CoreEvent] {
        self.drain();
        &self.log[self.since..]
    }

    /// Makes [`Client::wait_for`] ignore the events seen so far.
    pub fn mark(&mut self) {
        self.drain();
        self.since = self.log.len();
    }

    /// The first event since the last [`Client::mark`] (already seen or still to come) that
    /// `pick` accepts; panics after [`DEADLINE`].
    pub async fn wait_for<T>(&mut self, what: &str, pick: impl FnMut(&CoreEvent) -> Option<T>) -> T {
        self.wait_for_within(DEADLINE, what, pick).await
    }

    pub async fn wait_for_within<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pick: impl FnMut(&CoreEvent) -> Option<T>,
    ) -> T {
        self.drain();
        if let Some(found) = self.log[self.since..].iter().find_map(&mut pick) {
            return found;
        }
        let rx = self
            .events
            .as_mut()
            .unwrap_or_else(|| panic!("{} is not online", self.name));
        let name = &self.name;
        match expect_event(rx, &mut self.log, timeout, pick).await {
            Some(found) => found,
            None => panic!(
                "{name}: timed out after {timeout:?} waiting for {what}; events since the mark:\n{}",
                describe(&self.log[self.since..])
            ),
        }
    }

    /// Waits until the outgoing message `id` is in `state` (by its MessageState event).
    pub async fn wait_for_state(&mut self, id: &str, state: DeliveryState) {
        let what = format!("message {id} {state}");
        self.wait_for(&what, |e| is_state(e, id, state).then_some(())).await
    }

    /// Waits for the incoming message `id` to arrive; returns it.
    pub async fn wait_for_message(&mut self, id: &str) -> Message {
        self.wait_for(&format!("message {id} to arrive"), |e| match e {
            CoreEvent::Message { message } if message.id == id => Some(message.clone()),
            _ => None,
        })
        .await
    }

    /// Waits until `peer` is in our room (from the roster on joining, or their arrival).
    pub async fn wait_for_peer(&mut self, user_id: &str) -> String {
        self.wait_for(&format!("user {user_id} in the room"), |e| match e {
            CoreEvent::RoomJoined { peers, .. } => {
                peers.iter().find(|p| p.user.id == user_id).map(|p| p.peer_id.clone())
            }
            CoreEvent::PeerJoined { peer, .. } if peer.user.id == user_id => Some(peer.peer_id.clone()),
            _ => None,
        })
        .await
    }

    /// How many events in this session's log `pred` accepts.
    pub fn count(&mut self, pred: impl Fn(&CoreEvent) -> bool) -> usize {
        self.drain();
        self.log.iter().filter(|e| pred(e)).count()
    }

    /// The states the outgoing message `id` went through in this session, in event order
    /// (starting with its state in the `Message` event, if that is in this session).
    pub fn states_of(&mut self, id: &str) -> Vec<DeliveryState> {
        self.drain();
        self.log
            .iter()
            .filter_map(|e| match e {
                CoreEvent::Message { message } if message.id == id => Some(message.state),
                CoreEvent::MessageState { id: i, state, .. } if i == id => Some(*state),
                _ => None,
            })
            .collect()
    }

    /// A whole conversation from the local history, oldest first.
    pub async fn conversation(&self, with: &str) -> Vec<Message> {
        all_messages(self.core(), with).await
    }
}

/// A whole conversation from `core`'s history, oldest first (follows the page cursors).
pub async fn all_messages(core: &Core, conversation_id: &str) -> Vec<Message> {
    let mut messages = Vec::new();
    let mut before = None;
    loop {
        let page = core
            .history()
            .page(conversation_id, before, MAX_LIMIT)
            .await
            .expect("history page");
        messages.extend(page.messages);
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    messages.reverse();
    messages
}

/// Waits up to `timeout` for an event `pick` accepts, keeping every event received in `log`.
/// `None` on timeout or when the stream ends.
pub async fn expect_event<T>(
    rx: &mut UnboundedReceiver<CoreEvent>,
    log: &mut Vec<CoreEvent>,
    timeout: Duration,
    mut pick: impl FnMut(&CoreEvent) -> Option<T>,
) -> Option<T> {
    let search = async {
        while let Some(event) = rx.recv().await {
            let found = pick(&event);
            log.push(event);
            if found.is_some() {
                return found;
            }
        }
        None
    };
    tokio::time::timeout(timeout, search).await.ok().flatten()
}

/// `event` says outgoing message `id` reached `state`.
pub fn is_state(event: &CoreEvent, id: &str, state: DeliveryState) -> bool {
    matches!(event, CoreEvent::MessageState { id: i, state: s, .. } if i == id && *s == state)
}

/// `event` is the `Message` event of message `id`.
pub fn is_message(event: &CoreEvent, id: &str) -> bool {
    matches!(event, CoreEvent::Message { message } if message.id == id)
}

fn describe(events: &[CoreEvent]) -> String {
    let lines: Vec<String> = events
        .iter()
        .map(|e| {
            let json = serde_json::to_string(e).unwrap_or_else(|_| format!("{e:?}"));
            let cut: String = json.chars().take(300).collect();
            format!("  {cut}")
        })
        .collect();
    if lines.is_empty() {
        "  (none)".to_owned()
    } else {
        lines.join("\n")
    }
}

/// Polls `condition` (a cheap local check) until it holds; panics after [`DEADLINE`].
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {DEADLINE:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Alice and Bob, registered, online in "lobby", and Alice has seen Bob there.
pub async fn online_pair(server: &TestServer) -> (Client, Client) {
    let mut alice = Client::register(server, "alice").await;
    let mut bob = Client::register(server, "bob").await;
    alice.go_online("lobby").await;
    bob.go_online("lobby").await;
    alice.wait_for_peer(bob.id()).await;
    (alice, bob)
}
