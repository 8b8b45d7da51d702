//! Parley's cross-crate and end-to-end tests.
//!
//! Unit tests live next to the code in each crate. This package holds the tests that need more
//! than one of them at once: the app core's front door ([`Parley`]) talking to a real signaling
//! server (`parley-signal`), several people in one room, and a hostile peer. They are the
//! modules of one test binary, `tests/tests/integration/`; the desktop app's end-to-end tests
//! are `tests/tests/e2e.rs`, the benchmark `tests/benches/core.rs`. This library is the harness they share:
//!
//! - [`TestServer`]: a signaling server in this process on a free loopback port, which can be
//!   stopped and started again on the same address and database (from `parley_signal`'s
//!   `test-utils`).
//! - [`Person`]: one person's app — a [`Parley`] on its own temporary profile, signed in, with
//!   every [`CoreEvent`] kept, driven exactly as the app's commands drive it.
//! - Waiting is always for an event or a condition, with a deadline ([`DEADLINE`]); nothing
//!   sleeps for a fixed time and hopes.
//! - [`webdriver`]: a small W3C WebDriver client, with Xvfb and `tauri-driver` as child
//!   processes; [`app`]: the desktop app's instances driven through it (`tests/tests/e2e.rs`).
//!
//! The keyring is [`StoreKind::Memory`]: each [`Parley::open`] gets a fresh, empty store,
//! exactly as if the OS keyring had been wiped. A restarted person therefore finds no token and
//! signs in again with their password, which is what a person would do (see
//! [`Person::restart`]), and opens their history with its recovery code, kept from the first
//! open.

// Test helpers report what they waited for and what they saw.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use parley_core::{
    CoreEvent, DeliveryState, FileSettings, Message, Parley, ParleyOptions, Peer, PeerConfig, ServerChoice, StoreKind,
    Timing, User,
};
pub use parley_signal::test_utils::{init_tracing, TestServer, DEADLINE};
use tokio::sync::mpsc::UnboundedReceiver;

pub use parley_core;
pub use parley_signal;

pub mod app;
pub mod bare_link;
pub mod hostile_server;
pub mod lab_apps;
pub mod netlab;
pub mod pulse_mic;
pub mod webdriver;

/// Every test account's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// Server-link timings for tests: a server restart is noticed and survived in well under a
/// second.
pub fn fast_timing() -> Timing {
    Timing {
        heartbeat: Duration::from_secs(2),
        dead_after: Duration::from_secs(6),
        connect_timeout: Duration::from_secs(5),
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(400),
        stable_after: Duration::from_secs(2),
    }
}

/// How every test profile runs: in-memory keyring, WebRTC on 127.0.0.1 only (this machine has
/// other interfaces, and test traffic must never leave it), fast retries, and a "This device"
/// server of its own in `this_device_dir` on a free port, should a test choose it.
pub fn test_options(this_device_dir: &Path) -> ParleyOptions {
    let mut options = ParleyOptions::new(this_device_dir.to_owned());
    options.keyring = StoreKind::Memory;
    options.peer = PeerConfig::loopback();
    options.timing = fast_timing();
    options.this_device.port = free_port();
    // "Let others join" on a port of the system's choosing.
    options.this_device.share_port = 0;
    options.this_device.announce = false;
    options
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Opens a profile, waiting while a previous instance's tasks still hold it; panics after
/// [`DEADLINE`].
pub async fn open(dir: &Path, options: ParleyOptions) -> (Parley, UnboundedReceiver<CoreEvent>) {
    open_or_unlock(dir, options, None).await
}

/// [`open`], or with a recovery code [`Parley::unlock`]: how a profile whose keyring was lost
/// (every memory store is) opens its history again.
pub async fn open_or_unlock(
    dir: &Path,
    options: ParleyOptions,
    recovery_code: Option<&str>,
) -> (Parley, UnboundedReceiver<CoreEvent>) {
    init_tracing();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let opened = match recovery_code {
            Some(code) => Parley::unlock(dir, options.clone(), code),
            None => Parley::open(dir, options.clone()),
        };
        match opened {
            Ok(opened) => return opened,
            Err(parley_core::CoreError::ProfileDir(parley_core::ProfileDirError::InUse { .. }))
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Err(e) => panic!("opening the profile in {}: {e}", dir.display()),
        }
    }
}

/// How a [`Person`] got their session back after [`Person::restart`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// The session kept in the keyring was resumed.
    Restored,
    /// The keyring had no token (the memory store is empty after every open); signed in with
    /// the password.
    Password,
}

/// One person's app: a [`Parley`] on a private profile directory.
pub struct Person {
    pub name: String,
    pub user: User,
    server: ServerChoice,
    dir: PathBuf,
    options: ParleyOptions,
    _tmp: tempfile::TempDir,
    parley: Option<Parley>,
    events: Option<UnboundedReceiver<CoreEvent>>,
    /// Every event since the last [`Person::go_online`].
    log: Vec<CoreEvent>,
    /// Events before this index are not searched by [`Person::wait_for`].
    since: usize,
    /// The room last joined, while in it.
    room: Option<String>,
    /// This run's connection id, from the last `Online` event.
    peer_id: Option<String>,
    /// The history's recovery code: the memory keyring forgets the key at every quit.
    recovery_code: String,
    /// Where received files go and what is taken without asking; applied at every start.
    files: FileSettings,
}

impl Person {
    /// A fresh profile and a new account `name` on `server`, signed in (online, in no room).
    pub async fn register(server: &TestServer, name: &str) -> Person {
        Person::register_at(&server.url(), name).await
    }

    /// [`Person::register`] on the server at `url` (`http://…`), such as a proxy in front of one.
    pub async fn register_at(url: &str, name: &str) -> Person {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("parley-{name}-"))
            .tempdir()
            .expect("temp dir");
        let dir = tmp.path().join("profile");
        let options = test_options(&tmp.path().join("this-device"));
        let (parley, events) = open(&dir, options.clone()).await;
        let downloads = tmp.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("downloads folder");
        let files = FileSettings {
            downloads: Some(downloads),
            ..FileSettings::default()
        };
        parley.set_file_settings(files.clone()).expect("file settings");
        let server = ServerChoice::Url { url: url.to_owned() };
        let email = format!("{name}@example.org");
        let snapshot = parley
            .sign_up(server.clone(), name, &email, PASSWORD, None)
            .await
            .unwrap_or_else(|e| panic!("registering {name}: {e}"));
        let recovery_code = parley.recovery_code().expect("the history's recovery code");
        Person {
            name: name.to_owned(),
            user: snapshot.me.expect("signed up"),
            server,
            dir,
            options,
            _tmp: tmp,
            parley: Some(parley),
            events: Some(events),
            log: Vec::new(),
            since: 0,
            room: None,
            peer_id: None,
            recovery_code,
            files,
        }
    }

    /// The folder this person's received files go to.
    pub fn downloads(&self) -> &Path {
        self.files.downloads.as_deref().expect("a download folder")
    }

    /// Changes the file settings, now and at every later start.
    pub fn set_file_settings(&mut self, files: FileSettings) {
        if let Some(parley) = &self.parley {
            parley.set_file_settings(files.clone()).expect("file settings");
        }
        self.files = files;
    }

    /// The current file settings.
    pub fn file_settings(&self) -> FileSettings {
        self.files.clone()
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

    /// The key of this person's history, from its recovery code: for tests that look inside
    /// the database behind the core's back.
    pub fn history_key(&self) -> parley_history::HistoryKey {
        parley_history::HistoryKey::from_recovery_code(&self.recovery_code).expect("a recovery code")
    }

    /// The running app.
    pub fn parley(&self) -> &Parley {
        self.parley.as_ref().expect("the app is running")
    }

    /// In a room, as far as the harness knows.
    pub fn is_online(&self) -> bool {
        self.room.is_some()
    }

    /// Joins `room` and waits until the server answered; returns its roster. Events before this
    /// are forgotten: the log starts here.
    pub async fn go_online(&mut self, room: &str) -> Vec<Peer> {
        assert!(self.room.is_none(), "{} is already in {:?}", self.name, self.room);
        self.drain();
        self.peer_id = last_online(&self.log).or(self.peer_id.take());
        self.log.clear();
        self.since = 0;
        self.parley()
            .join_room(room)
            .unwrap_or_else(|e| panic!("{} joining {room}: {e}", self.name));
        self.room = Some(room.to_owned());
        let room_owned = room.to_owned();
        let peers = self
            .wait_for(&format!("joined {room}"), |e| match e {
                CoreEvent::RoomJoined { room, peers } if *room == room_owned => Some(peers.clone()),
                _ => None,
            })
            .await;
        assert_eq!(
            self.parley().snapshot().me.map(|u| u.id),
            Some(self.user.id.clone()),
            "online as someone else"
        );
        peers
    }

    /// Quits the app: peer connections and the server link close (peers see us leave), and the
    /// profile is released.
    pub async fn quit(&mut self) {
        if let Some(parley) = self.parley.take() {
            parley.shutdown().await;
        }
        self.drain();
        self.events = None;
        self.room = None;
        self.peer_id = None;
    }

    /// Opens the profile again with no network: history, search and contacts only.
    pub async fn reopen_offline(&mut self) {
        assert!(self.parley.is_none(), "quit first");
        let (parley, events) = open_or_unlock(&self.dir, self.options.clone(), Some(&self.recovery_code)).await;
        parley.set_file_settings(self.files.clone()).expect("file settings");
        self.parley = Some(parley);
        self.events = Some(events);
    }

    /// Quits (if running) and starts again on the same profile: opens it, restores the session
    /// or signs in with the password, and goes back into the room it was in.
    pub async fn restart(&mut self) -> SignIn {
        let room = self.room.clone();
        self.quit().await;
        self.reopen_offline().await;
        let how = self.sign_in().await;
        if let Some(room) = room {
            self.go_online(&room).await;
        }
        how
    }

    /// Restores the session from the keyring, or signs in with the password (at the server the
    /// person registered with).
    pub async fn sign_in(&mut self) -> SignIn {
        let parley = self.parley();
        let restored = parley
            .restore(self.server.clone())
            .await
            .unwrap_or_else(|e| panic!("{} restoring the session: {e}", self.name));
        let (how, me) = if restored.connection == parley_core::Connection::SignedOut {
            let snapshot = parley
                .sign_in(self.server.clone(), &self.name, PASSWORD)
                .await
                .unwrap_or_else(|e| panic!("{} signing in: {e}", self.name));
            (SignIn::Password, snapshot.me)
        } else {
            (SignIn::Restored, restored.me)
        };
        assert_eq!(me.map(|u| u.id), Some(self.user.id.clone()));
        how
    }

    /// Sends `body` to `to` and returns the stored message (state pending).
    pub async fn send(&self, to: &User, body: &str) -> Message {
        let message = self
            .parley()
            .send_message(&to.id, body, None)
            .await
            .unwrap_or_else(|e| panic!("{} sending {body:?}: {e}", self.name));
        assert_eq!(message.state, DeliveryState::Pending, "a new message starts pending");
        message
    }

    /// The ids of the contacts online now.
    pub async fn online_contacts(&self) -> Vec<String> {
        let contacts = self.parley().contacts().await.expect("contacts");
        contacts.into_iter().filter(|c| c.online).map(|c| c.user.id).collect()
    }

    /// A message from the history.
    pub async fn message(&self, id: &str) -> Message {
        self.parley()
            .message(id)
            .await
            .unwrap_or_else(|e| panic!("{}: message {id}: {e}", self.name))
    }

    /// Our connection id on the server now, as the last `Online` event said.
    pub fn peer_id(&mut self) -> Option<String> {
        self.drain();
        last_online(&self.log).or_else(|| self.peer_id.clone())
    }

    /// Moves every queued event into the log.
    pub fn drain(&mut self) {
        if let Some(rx) = self.events.as_mut() {
            while let Ok(event) = rx.try_recv() {
                self.log.push(event);
            }
        }
    }

    /// Every event since the last [`Person::go_online`].
    pub fn log(&mut self) -> &[CoreEvent] {
        self.drain();
        &self.log
    }

    /// The events since the last [`Person::mark`].
    pub fn since_mark(&mut self) -> &[CoreEvent] {
        self.drain();
        &self.log[self.since..]
    }

    /// Makes [`Person::wait_for`] ignore the events seen so far.
    pub fn mark(&mut self) {
        self.drain();
        self.since = self.log.len();
    }

    /// The first event since the last [`Person::mark`] (already seen or still to come) that
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
            .unwrap_or_else(|| panic!("{} is not running", self.name));
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

    /// How many events in the log `pred` accepts.
    pub fn count(&mut self, pred: impl Fn(&CoreEvent) -> bool) -> usize {
        self.drain();
        self.log.iter().filter(|e| pred(e)).count()
    }

    /// The states the outgoing message `id` went through since the last
    /// [`Person::go_online`], in event order (starting with its state in the `Message` event, if
    /// that is in the log).
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
        all_messages(self.parley(), with).await
    }
}

/// The peer id of the last `Online` event in `log`.
fn last_online(log: &[CoreEvent]) -> Option<String> {
    log.iter().rev().find_map(|e| match e {
        CoreEvent::Online { peer_id, .. } => Some(peer_id.clone()),
        _ => None,
    })
}

/// A whole conversation from the history, oldest first (follows the page cursors).
pub async fn all_messages(parley: &Parley, conversation_id: &str) -> Vec<Message> {
    let mut messages = Vec::new();
    let mut before = None;
    loop {
        let page = parley
            .history_page(conversation_id, before, Some(parley_core::MAX_PAGE))
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
pub async fn online_pair(server: &TestServer) -> (Person, Person) {
    let mut alice = Person::register(server, "alice").await;
    let mut bob = Person::register(server, "bob").await;
    alice.go_online("lobby").await;
    bob.go_online("lobby").await;
    alice.wait_for_peer(bob.id()).await;
    (alice, bob)
}
