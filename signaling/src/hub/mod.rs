//! Who is online, in which rooms, and the relay between them. In memory only: presence is
//! rebuilt from live connections after a restart, which is exactly what presence means.
//!
//! On a node of a scaled-out deployment the hub also mirrors the other nodes' peers in the rooms
//! its own peers are in (see [`remote`]); the cluster layer feeds it from Redis.
//!
//! One mutex guards the whole map. Every operation under it is a few hash look-ups plus
//! queueing pre-serialized frames (no await, no I/O), so it is held for microseconds; sharding
//! it would only pay off far beyond one core's relay rate.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use parking_lot::Mutex;

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::outbox::{CloseCause, QueueLimits};

// The mirror of other nodes' rooms is fed by the Redis cluster layer: a single server (and a
// build without the `redis` feature) leaves it empty.
#[cfg_attr(not(feature = "redis"), allow(dead_code, unused_imports))]
mod remote;

#[cfg_attr(not(feature = "redis"), allow(unused_imports))]
pub use remote::{Forward, Forwarder, Forwards, JoinStart, RemoteMember, RoomEvent, Roster};

/// Why the hub asks a v1 connection to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Its outbound queue overflowed: the consumer is stuck or too slow.
    Overflow,
    /// The session's token was signed out.
    SignedOut,
    /// The server is stopping.
    Shutdown,
}

impl CloseCause for CloseReason {
    const OVERFLOW: Self = CloseReason::Overflow;
}

pub type Outbox = crate::outbox::Outbox<CloseReason>;

use crate::auth::TokenHash;
use parley_protocol::validate;
use parley_protocol::{Peer, RoomSummary, User};

pub type RoomName = Arc<str>;

/// A peer id, stored inline: up to 16 bytes of ASCII without NUL (the server's ids are 16 hex
/// digits). An `Arc<str>` would be one more allocation for every connection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PeerId([u8; PeerId::MAX]);

impl PeerId {
    pub const MAX: usize = 16;

    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(Self::MAX);
        std::str::from_utf8(&self.0[..len]).expect("built from a str at a char boundary")
    }
}

impl From<&str> for PeerId {
    /// Panics on ids the server would never make: longer than 16 bytes, or holding a NUL.
    fn from(id: &str) -> Self {
        assert!(
            id.len() <= Self::MAX && id.is_ascii() && !id.contains('\0'),
            "not a peer id: {id:?}"
        );
        let mut bytes = [0; Self::MAX];
        bytes[..id.len()].copy_from_slice(id.as_bytes());
        PeerId(bytes)
    }
}

impl From<String> for PeerId {
    fn from(id: String) -> Self {
        PeerId::from(id.as_str())
    }
}

impl Deref for PeerId {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// Maps and sets of peers are looked up by the `&str` a client sent, so the hash must be the
/// `str`'s.
impl Hash for PeerId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl Borrow<str> for PeerId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoinError {
    #[error("{0}")]
    InvalidRoom(String),
    #[error("you are already in {0} rooms, the most allowed")]
    TooManyRooms(usize),
    #[error("the room is full ({0} peers)")]
    RoomFull(usize),
    #[error("the server cannot reach its presence store right now; try again shortly")]
    #[cfg(feature = "redis")]
    Unavailable,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RelayError {
    #[error("no peer with that id is online")]
    UnknownPeer,
    #[error("you can only signal peers that share a room with you")]
    NoSharedRoom,
    #[error("the server is busy; try again shortly")]
    Busy,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("you are not in that room")]
pub struct NotInRoom;

/// A user as their peers' signals are stamped with, shared by all the connections (devices)
/// of that user rather than copied into each.
struct UserRecord {
    /// The user's id, then the public user object serialized once (every signal this peer sends
    /// carries it; keeping only this form, not the struct too, keeps idle peers small). One
    /// allocation for both: with every idle client a different user, that is ~50 bytes each.
    text: Box<str>,
    id_len: usize,
}

impl UserRecord {
    fn new(id: &str, json: &str) -> Self {
        let mut text = String::with_capacity(id.len() + json.len());
        text.push_str(id);
        text.push_str(json);
        UserRecord {
            text: text.into_boxed_str(),
            id_len: id.len(),
        }
    }

    fn id(&self) -> &str {
        &self.text[..self.id_len]
    }

    fn json(&self) -> &str {
        &self.text[self.id_len..]
    }
}

/// What a connection keeps of its session's token hash: enough to find the connections of a
/// signed-out session (a collision of 128 bits is not a concern), half the bytes of the hash.
type SessionTag = [u8; 16];

fn session_tag(token_hash: &TokenHash) -> SessionTag {
    let mut tag = [0; 16];
    tag.copy_from_slice(&token_hash[..16]);
    tag
}

/// The newest record of each connected user, found by user id.
struct UserKey(Arc<UserRecord>);

impl Borrow<str> for UserKey {
    fn borrow(&self) -> &str {
        self.0.id()
    }
}

impl Hash for UserKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.id().hash(state)
    }
}

impl PartialEq for UserKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.id() == other.0.id()
    }
}

impl Eq for UserKey {}

struct PeerEntry {
    user: Arc<UserRecord>,
    /// Inline rather than behind a pointer: one allocation fewer per connection.
    session: SessionTag,
    outbox: Arc<Outbox>,
    /// A boxed slice (two words, not three): every peer has this field, few join many rooms.
    rooms: Box<[RoomName]>,
}

struct Inner {
    peers: HashMap<PeerId, PeerEntry>,
    rooms: HashMap<RoomName, HashSet<PeerId>>,
    /// What `connect` shares between a user's connections; an entry goes with the last
    /// connection that holds its record.
    users: HashSet<UserKey>,
    /// Other nodes' peers in the mirrored rooms; empty on a single server.
    remote: HashMap<PeerId, remote::RemotePeer>,
    /// The rooms mirrored from Redis; empty on a single server.
    mirrors: HashMap<RoomName, remote::Mirror>,
    /// Local peers' joins that Redis has not answered yet; empty on a single server.
    joining: HashMap<PeerId, remote::Joining>,
}

pub struct Hub {
    inner: Mutex<Inner>,
    queue: QueueLimits,
    rooms_per_peer: usize,
    peers_per_room: usize,
    /// Where signals for other nodes' peers go; `None` on a single server.
    forward: Option<Forwarder>,
}

#[derive(Serialize)]
#[serde(tag = "type")]
enum Broadcast<'a> {
    #[serde(rename = "peer-joined")]
    Joined { room: &'a str, peer: &'a Peer },
    #[serde(rename = "peer-left")]
    Left { room: &'a str, peer_id: &'a str },
    #[serde(rename = "peer-updated")]
    Updated { room: &'a str, peer: &'a Peer },
}

fn frame(value: &impl Serialize) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(value).expect("frames serialize"))
}

/// The user as other peers see them: no email.
pub fn public(user: &User) -> User {
    User {
        email: None,
        ..user.clone()
    }
}

impl Inner {
    fn peer(&self, id: &PeerId) -> Option<Peer> {
        let json = match self.peers.get(id) {
            Some(entry) => entry.user.json(),
            None => &self.remote.get(id)?.json,
        };
        let user = serde_json::from_str(json).expect("the hub serialized this user");
        Some(Peer {
            peer_id: id.to_string(),
            user,
        })
    }

    /// Everyone in `room` but `peer_id`, as a roster.
    fn roster_for(&self, peer_id: &PeerId, room: &str) -> Vec<Peer> {
        self.rooms
            .get(room)
            .map(|members| {
                members
                    .iter()
                    .filter(|m| *m != peer_id)
                    .filter_map(|m| self.peer(m))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Records `peer_id` as a member of `room` (named `name`, the rooms map's own key) and tells
    /// the other members.
    fn enter(&mut self, peer_id: &PeerId, room: &str, name: RoomName, queue: &QueueLimits) {
        self.rooms.entry(name.clone()).or_default().insert(*peer_id);
        if let Some(entry) = self.peers.get_mut(peer_id) {
            let mut rooms = std::mem::take(&mut entry.rooms).into_vec();
            rooms.push(name);
            entry.rooms = rooms.into_boxed_slice();
        }
        if let Some(me) = self.peer(peer_id) {
            self.broadcast(room, peer_id, &frame(&Broadcast::Joined { room, peer: &me }), queue);
        }
    }

    /// Queues `frame` for every member of `room` except `except`.
    fn broadcast(&self, room: &str, except: &str, frame: &Utf8Bytes, queue: &QueueLimits) {
        if let Some(members) = self.rooms.get(room) {
            for member in members.iter().filter(|m| m.as_str() != except) {
                if let Some(entry) = self.peers.get(member) {
                    entry.outbox.push(frame.clone(), queue);
                }
            }
        }
    }

    fn remove_from_room(&mut self, peer_id: &PeerId, room: &RoomName, queue: &QueueLimits) {
        if let Some(members) = self.rooms.get_mut(room) {
            members.remove(peer_id);
            if members.is_empty() {
                self.rooms.remove(room);
            } else {
                let left = Broadcast::Left {
                    room,
                    peer_id: peer_id.as_str(),
                };
                self.broadcast(room, peer_id, &frame(&left), queue);
            }
        }
        if !self.mirrors.is_empty() {
            self.drop_mirror_if_unused(room);
        }
    }
}

impl Hub {
    pub fn new(rooms_per_peer: usize, peers_per_room: usize, queue: QueueLimits) -> Self {
        Hub {
            inner: Mutex::new(Inner {
                peers: HashMap::new(),
                rooms: HashMap::new(),
                users: HashSet::new(),
                remote: HashMap::new(),
                mirrors: HashMap::new(),
                joining: HashMap::new(),
            }),
            queue,
            rooms_per_peer,
            peers_per_room,
            forward: None,
        }
    }

    /// A hub for one node of several: signals for other nodes' peers go to `forward`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub fn clustered(rooms_per_peer: usize, peers_per_room: usize, queue: QueueLimits, forward: Forwarder) -> Self {
        Hub {
            forward: Some(forward),
            ..Hub::new(rooms_per_peer, peers_per_room, queue)
        }
    }

    /// Queues a frame for one connection under the hub's queue limits.
    pub fn send(&self, outbox: &Outbox, frame: Utf8Bytes) -> bool {
        outbox.push(frame, &self.queue)
    }

    /// Adds a connected, authenticated peer (in no room yet).
    pub fn connect(&self, peer_id: PeerId, user: &User, token_hash: &TokenHash, outbox: Arc<Outbox>) {
        let json = serde_json::to_string(&public(user)).expect("users serialize");
        let mut inner = self.inner.lock();
        // Shared with the user's other connections when it is the same profile; a different one
        // (the profile changed between their sign-ins) becomes the user's newest record, and the
        // connections holding the older one keep it, exactly as if each had its own copy.
        let user = match inner.users.get(user.id.as_str()) {
            Some(UserKey(record)) if record.json() == json => record.clone(),
            _ => {
                let record = Arc::new(UserRecord::new(&user.id, &json));
                inner.users.replace(UserKey(record.clone()));
                record
            }
        };
        inner.peers.insert(
            peer_id,
            PeerEntry {
                user,
                session: session_tag(token_hash),
                outbox,
                rooms: Box::default(),
            },
        );
    }

    /// Removes a peer from every room (telling the others) and from the hub; returns the rooms
    /// it was in.
    pub fn disconnect(&self, peer_id: &PeerId) -> Box<[RoomName]> {
        let mut inner = self.inner.lock();
        let Some(entry) = inner.peers.remove(peer_id) else {
            return Box::default();
        };
        inner.joining.remove(peer_id);
        {
            for room in &entry.rooms {
                inner.remove_from_room(peer_id, room, &self.queue);
            }
            // The user's record is referenced only by peer entries and `users`, all under this
            // lock: two references left means this was its last connection.
            let newest = inner.users.get(entry.user.id()).map(|k| &k.0);
            if newest.is_some_and(|r| Arc::ptr_eq(r, &entry.user) && Arc::strong_count(r) == 2) {
                inner.users.remove(entry.user.id());
            }
        }
        entry.rooms
    }

    /// Joins `room`, returning everyone else in it. Joining a room you are in just returns the
    /// roster again, without announcing you twice.
    pub fn join(&self, peer_id: &PeerId, room: &str) -> Result<Vec<Peer>, JoinError> {
        validate::room(room).map_err(|e| JoinError::InvalidRoom(e.message))?;
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let Some(entry) = inner.peers.get(peer_id) else {
            return Ok(Vec::new());
        };
        let already = entry.rooms.iter().any(|r| &**r == room);
        if !already {
            if entry.rooms.len() >= self.rooms_per_peer {
                return Err(JoinError::TooManyRooms(self.rooms_per_peer));
            }
            if inner.rooms.get(room).is_some_and(|m| m.len() >= self.peers_per_room) {
                return Err(JoinError::RoomFull(self.peers_per_room));
            }
        }
        let name: RoomName = inner
            .rooms
            .get_key_value(room)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| room.into());
        let roster = inner.roster_for(peer_id, room);
        if !already {
            inner.enter(peer_id, room, name, &self.queue);
        }
        Ok(roster)
    }

    pub fn leave(&self, peer_id: &PeerId, room: &str) -> Result<(), NotInRoom> {
        let mut inner = self.inner.lock();
        let entry = inner.peers.get_mut(peer_id).ok_or(NotInRoom)?;
        let index = entry.rooms.iter().position(|r| &**r == room).ok_or(NotInRoom)?;
        let mut rooms = std::mem::take(&mut entry.rooms).into_vec();
        let name = rooms.swap_remove(index);
        entry.rooms = rooms.into_boxed_slice();
        inner.remove_from_room(peer_id, &name, &self.queue);
        Ok(())
    }

    /// Sends `data` from one peer to another that shares a room with it. The sender's id and
    /// user are stamped here, never taken from the client.
    pub fn relay(&self, from: &PeerId, to: &str, data: &RawValue) -> Result<(), RelayError> {
        let inner = self.inner.lock();
        let Some(sender) = inner.peers.get(from) else {
            return Err(RelayError::UnknownPeer);
        };
        let target = match inner.peers.get(to) {
            Some(target) => Ok(&target.outbox),
            None => match inner.remote.get(to) {
                Some(remote) => Err(&remote.node),
                None => return Err(RelayError::UnknownPeer),
            },
        };
        let shared = sender
            .rooms
            .iter()
            .any(|room| inner.rooms.get(room).is_some_and(|m| m.contains(to)));
        if !shared {
            return Err(RelayError::NoSharedRoom);
        }
        let user_json = sender.user.json();
        let mut out = String::with_capacity(48 + from.len() + user_json.len() + data.get().len());
        // Peer ids are hex generated by the server: nothing to escape.
        out.push_str(r#"{"type":"signal","from":""#);
        out.push_str(from);
        out.push_str(r#"","user":"#);
        out.push_str(user_json);
        out.push_str(r#","data":"#);
        out.push_str(data.get());
        out.push('}');
        match target {
            Ok(outbox) => {
                outbox.push(Utf8Bytes::from(out), &self.queue);
            }
            Err(node) => {
                let message = Forward {
                    node: node.clone(),
                    to: PeerId::from(to),
                    frame: Utf8Bytes::from(out),
                };
                if !self.forward(message) {
                    return Err(RelayError::Busy);
                }
            }
        }
        Ok(())
    }

    /// Replaces a user's profile on all their connections and tells their room-mates.
    pub fn update_user(&self, user: &User) {
        let user = public(user);
        let json = serde_json::to_string(&user).expect("users serialize");
        let record = Arc::new(UserRecord::new(&user.id, &json));
        let mut inner = self.inner.lock();
        let mut touched = Vec::new();
        for (id, entry) in inner.peers.iter_mut().filter(|(_, e)| e.user.id() == user.id) {
            entry.user = record.clone();
            touched.push((*id, entry.rooms.clone()));
        }
        if !touched.is_empty() {
            inner.users.replace(UserKey(record.clone()));
        }
        if !inner.remote.is_empty() {
            Hub::update_remote_user(&mut inner, &user.id, record.json(), &self.queue);
        }
        for (id, rooms) in touched {
            let peer = Peer {
                peer_id: id.to_string(),
                user: user.clone(),
            };
            for room in rooms {
                inner.broadcast(
                    &room,
                    &id,
                    &frame(&Broadcast::Updated {
                        room: &room,
                        peer: &peer,
                    }),
                    &self.queue,
                );
            }
        }
    }

    /// Ends every connection authenticated with this (now signed-out) token.
    pub fn sign_out(&self, token_hash: &TokenHash) {
        let tag = session_tag(token_hash);
        for entry in self.inner.lock().peers.values().filter(|e| e.session == tag) {
            entry.outbox.close(CloseReason::SignedOut);
        }
    }

    /// Asks every connection to close (server shutdown).
    pub fn close_all(&self, reason: CloseReason) {
        for entry in self.inner.lock().peers.values() {
            entry.outbox.close(reason);
        }
    }

    pub fn rooms(&self) -> Vec<RoomSummary> {
        let mut rooms: Vec<RoomSummary> = self
            .inner
            .lock()
            .rooms
            .iter()
            .map(|(name, m)| RoomSummary {
                name: name.to_string(),
                online: m.len(),
            })
            .collect();
        rooms.sort_by(|a, b| b.online.cmp(&a.online).then_with(|| a.name.cmp(&b.name)));
        rooms
    }

    /// The peers in a room, or `None` when nobody is in it.
    pub fn room_peers(&self, room: &str) -> Option<Vec<Peer>> {
        let inner = self.inner.lock();
        let mut peers: Vec<Peer> = inner.rooms.get(room)?.iter().filter_map(|m| inner.peer(m)).collect();
        peers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        Some(peers)
    }

    /// (rooms, peers) for metrics.
    pub fn counts(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        (inner.rooms.len(), inner.peers.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const QUEUE: QueueLimits = QueueLimits {
        frames: 100,
        bytes: 1 << 20,
    };

    pub(super) fn user(id: &str) -> User {
        User {
            id: id.into(),
            username: id.into(),
            display_name: id.into(),
            bio: String::new(),
            status: String::new(),
            avatar_url: None,
            created_at: 0,
            email: Some(format!("{id}@example.org")),
        }
    }

    /// A token hash per user, for these tests.
    fn token(user_id: &str) -> TokenHash {
        let mut hash = [0; 32];
        hash[..user_id.len()].copy_from_slice(user_id.as_bytes());
        hash
    }

    pub(super) fn connect(hub: &Hub, peer: &str, user_id: &str) -> (PeerId, Arc<Outbox>) {
        let outbox = Arc::new(Outbox::default());
        let id: PeerId = peer.into();
        hub.connect(id, &user(user_id), &token(user_id), outbox.clone());
        (id, outbox)
    }

    pub(super) fn drain(outbox: &Outbox) -> Vec<serde_json::Value> {
        outbox
            .take()
            .0
            .iter()
            .map(|f| serde_json::from_str(f.as_str()).unwrap())
            .collect()
    }

    #[test]
    fn presence_and_relay() {
        let hub = Hub::new(4, 10, QUEUE);
        let (a, a_out) = connect(&hub, "pa", "alice");
        let (b, b_out) = connect(&hub, "pb", "bob");
        let data = RawValue::from_string(r#"{"sdp":"x"}"#.into()).unwrap();
        assert_eq!(hub.relay(&a, "pb", &data), Err(RelayError::NoSharedRoom));
        assert_eq!(hub.relay(&a, "nobody", &data), Err(RelayError::UnknownPeer));

        assert!(hub.join(&a, "lobby").unwrap().is_empty());
        let roster = hub.join(&b, "lobby").unwrap();
        assert_eq!(roster.len(), 1);
        assert_eq!(roster[0].peer_id, "pa");
        assert_eq!(roster[0].user.email, None, "email leaked into the roster");
        let joined = drain(&a_out);
        assert_eq!(joined[0]["type"], "peer-joined");
        assert_eq!(joined[0]["peer"]["peer_id"], "pb");

        hub.relay(&a, "pb", &data).unwrap();
        let got = drain(&b_out);
        assert_eq!(got[0]["type"], "signal");
        assert_eq!(got[0]["from"], "pa");
        assert_eq!(got[0]["user"]["id"], "alice");
        assert_eq!(got[0]["data"]["sdp"], "x");

        // Re-joining is idempotent and announces nothing.
        assert_eq!(hub.join(&b, "lobby").unwrap().len(), 1);
        assert!(drain(&a_out).is_empty());

        hub.disconnect(&b);
        let left = drain(&a_out);
        assert_eq!(left[0]["type"], "peer-left");
        assert_eq!(left[0]["peer_id"], "pb");
        assert_eq!(hub.counts(), (1, 1));
        hub.leave(&a, "lobby").unwrap();
        assert_eq!(hub.counts(), (0, 1));
        assert_eq!(hub.leave(&a, "lobby"), Err(NotInRoom));
    }

    #[test]
    fn limits() {
        let hub = Hub::new(1, 1, QUEUE);
        let (a, _) = connect(&hub, "pa", "alice");
        let (b, _) = connect(&hub, "pb", "bob");
        hub.join(&a, "one").unwrap();
        assert_eq!(hub.join(&a, "two"), Err(JoinError::TooManyRooms(1)));
        assert_eq!(hub.join(&b, "one"), Err(JoinError::RoomFull(1)));
        assert!(matches!(hub.join(&b, "bad/name"), Err(JoinError::InvalidRoom(_))));
    }

    #[test]
    fn profile_updates_reach_room_mates_and_sign_out_closes() {
        let hub = Hub::new(4, 10, QUEUE);
        let (a, a_out) = connect(&hub, "pa", "alice");
        let (b, b_out) = connect(&hub, "pb", "bob");
        hub.join(&a, "r").unwrap();
        hub.join(&b, "r").unwrap();
        drain(&a_out);
        let mut renamed = user("bob");
        renamed.display_name = "Robert".into();
        hub.update_user(&renamed);
        let got = drain(&a_out);
        assert_eq!(got[0]["type"], "peer-updated");
        assert_eq!(got[0]["peer"]["user"]["display_name"], "Robert");
        assert_eq!(hub.room_peers("r").unwrap()[1].user.display_name, "Robert");
        hub.sign_out(&token("bob"));
        assert_eq!(b_out.closing(), Some(CloseReason::SignedOut));
        assert_eq!(a_out.closing(), None);
    }

    #[test]
    fn a_users_connections_share_one_record_until_the_last_leaves() {
        let hub = Hub::new(4, 10, QUEUE);
        let (a1, _) = connect(&hub, "a1", "alice");
        let (a2, _) = connect(&hub, "a2", "alice");
        {
            let inner = hub.inner.lock();
            assert!(Arc::ptr_eq(&inner.peers["a1"].user, &inner.peers["a2"].user));
            assert_eq!(inner.users.len(), 1);
        }
        // A connection whose sign-in read another version of the profile stamps its signals with
        // that version, as if every connection had its own copy.
        let mut other = user("alice");
        other.display_name = "Alice B.".into();
        let a3: PeerId = "a3".into();
        hub.connect(a3, &other, &token("alice"), Arc::new(Outbox::default()));
        {
            let inner = hub.inner.lock();
            assert!(inner.peers["a3"].user.json().contains("Alice B."));
            assert!(!inner.peers["a1"].user.json().contains("Alice B."));
        }
        hub.disconnect(&a1);
        hub.disconnect(&a3);
        assert_eq!(
            hub.inner.lock().users.len(),
            0,
            "the newest record went with its last holder"
        );
        hub.disconnect(&a2);
        assert_eq!(hub.counts(), (0, 0));

        let (b, _) = connect(&hub, "b", "bob");
        hub.disconnect(&b);
        assert!(hub.inner.lock().users.is_empty());
    }

    #[test]
    fn peer_ids_look_up_as_strs() {
        let id: PeerId = "0123456789abcdef".into();
        assert_eq!(id.as_str(), "0123456789abcdef");
        assert_eq!(PeerId::from("pa").to_string(), "pa");
        let set: HashSet<PeerId> = [id].into();
        assert!(set.contains("0123456789abcdef"));
        assert!(!set.contains("0123456789abcde"));
    }
}
