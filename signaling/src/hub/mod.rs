//! Who is online, in which rooms, and the relay between them. In memory only: presence is
//! rebuilt from live connections after a restart, which is exactly what presence means.
//!
//! One mutex guards the whole map. Every operation under it is a few hash look-ups plus
//! queueing pre-serialized frames (no await, no I/O), so it is held for microseconds; sharding
//! it would only pay off far beyond one core's relay rate.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::outbox::{CloseCause, QueueLimits};

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

use crate::protocol::{Peer, RoomSummary, User};
use crate::validate;

pub type PeerId = Arc<str>;
type RoomName = Arc<str>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoinError {
    #[error("{0}")]
    InvalidRoom(String),
    #[error("you are already in {0} rooms, the most allowed")]
    TooManyRooms(usize),
    #[error("the room is full ({0} peers)")]
    RoomFull(usize),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RelayError {
    #[error("no peer with that id is online")]
    UnknownPeer,
    #[error("you can only signal peers that share a room with you")]
    NoSharedRoom,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("you are not in that room")]
pub struct NotInRoom;

struct PeerEntry {
    user_id: Box<str>,
    /// The public user object, serialized once: every signal this peer sends carries it, and
    /// keeping only this form (not the struct too) keeps idle peers small.
    user_json: Arc<str>,
    token_hash: Arc<[u8]>,
    outbox: Arc<Outbox>,
    rooms: Vec<RoomName>,
}

struct Inner {
    peers: HashMap<PeerId, PeerEntry>,
    rooms: HashMap<RoomName, HashSet<PeerId>>,
}

pub struct Hub {
    inner: Mutex<Inner>,
    queue: QueueLimits,
    rooms_per_peer: usize,
    peers_per_room: usize,
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
        let entry = self.peers.get(id)?;
        let user = serde_json::from_str(&entry.user_json).expect("the hub serialized this user");
        Some(Peer {
            peer_id: id.to_string(),
            user,
        })
    }

    /// Queues `frame` for every member of `room` except `except`.
    fn broadcast(&self, room: &str, except: &str, frame: &Utf8Bytes, queue: &QueueLimits) {
        if let Some(members) = self.rooms.get(room) {
            for member in members.iter().filter(|m| &***m != except) {
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
                self.broadcast(room, peer_id, &frame(&Broadcast::Left { room, peer_id }), queue);
            }
        }
    }
}

impl Hub {
    pub fn new(rooms_per_peer: usize, peers_per_room: usize, queue: QueueLimits) -> Self {
        Hub {
            inner: Mutex::new(Inner {
                peers: HashMap::new(),
                rooms: HashMap::new(),
            }),
            queue,
            rooms_per_peer,
            peers_per_room,
        }
    }

    /// Queues a frame for one connection under the hub's queue limits.
    pub fn send(&self, outbox: &Outbox, frame: Utf8Bytes) -> bool {
        outbox.push(frame, &self.queue)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a connected, authenticated peer (in no room yet).
    pub fn connect(&self, peer_id: PeerId, user: &User, token_hash: Arc<[u8]>, outbox: Arc<Outbox>) {
        let user_json = serde_json::to_string(&public(user)).expect("users serialize").into();
        self.lock().peers.insert(
            peer_id,
            PeerEntry {
                user_id: user.id.as_str().into(),
                user_json,
                token_hash,
                outbox,
                rooms: Vec::new(),
            },
        );
    }

    /// Removes a peer from every room (telling the others) and from the hub.
    pub fn disconnect(&self, peer_id: &PeerId) {
        let mut inner = self.lock();
        if let Some(entry) = inner.peers.remove(peer_id) {
            for room in &entry.rooms {
                inner.remove_from_room(peer_id, room, &self.queue);
            }
        }
    }

    /// Joins `room`, returning everyone else in it. Joining a room you are in just returns the
    /// roster again, without announcing you twice.
    pub fn join(&self, peer_id: &PeerId, room: &str) -> Result<Vec<Peer>, JoinError> {
        validate::room(room).map_err(JoinError::InvalidRoom)?;
        let mut inner = self.lock();
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
        let roster = inner
            .rooms
            .get(room)
            .map(|members| {
                members
                    .iter()
                    .filter(|m| *m != peer_id)
                    .filter_map(|m| inner.peer(m))
                    .collect()
            })
            .unwrap_or_default();
        if !already {
            inner.rooms.entry(name.clone()).or_default().insert(peer_id.clone());
            if let Some(entry) = inner.peers.get_mut(peer_id) {
                entry.rooms.push(name);
            }
            if let Some(me) = inner.peer(peer_id) {
                inner.broadcast(
                    room,
                    peer_id,
                    &frame(&Broadcast::Joined { room, peer: &me }),
                    &self.queue,
                );
            }
        }
        Ok(roster)
    }

    pub fn leave(&self, peer_id: &PeerId, room: &str) -> Result<(), NotInRoom> {
        let mut inner = self.lock();
        let entry = inner.peers.get_mut(peer_id).ok_or(NotInRoom)?;
        let index = entry.rooms.iter().position(|r| &**r == room).ok_or(NotInRoom)?;
        let name = entry.rooms.swap_remove(index);
        inner.remove_from_room(peer_id, &name, &self.queue);
        Ok(())
    }

    /// Sends `data` from one peer to another that shares a room with it. The sender's id and
    /// user are stamped here, never taken from the client.
    pub fn relay(&self, from: &PeerId, to: &str, data: &RawValue) -> Result<(), RelayError> {
        let inner = self.lock();
        let (Some(sender), Some(target)) = (inner.peers.get(from), inner.peers.get(to)) else {
            return Err(RelayError::UnknownPeer);
        };
        let shared = sender
            .rooms
            .iter()
            .any(|room| inner.rooms.get(room).is_some_and(|m| m.contains(to)));
        if !shared {
            return Err(RelayError::NoSharedRoom);
        }
        let mut out = String::with_capacity(48 + from.len() + sender.user_json.len() + data.get().len());
        // Peer ids are hex generated by the server: nothing to escape.
        out.push_str(r#"{"type":"signal","from":""#);
        out.push_str(from);
        out.push_str(r#"","user":"#);
        out.push_str(&sender.user_json);
        out.push_str(r#","data":"#);
        out.push_str(data.get());
        out.push('}');
        target.outbox.push(Utf8Bytes::from(out), &self.queue);
        Ok(())
    }

    /// Replaces a user's profile on all their connections and tells their room-mates.
    pub fn update_user(&self, user: &User) {
        let user = public(user);
        let user_json: Arc<str> = serde_json::to_string(&user).expect("users serialize").into();
        let mut inner = self.lock();
        let mut touched = Vec::new();
        for (id, entry) in inner.peers.iter_mut().filter(|(_, e)| *e.user_id == *user.id) {
            entry.user_json = user_json.clone();
            touched.push((id.clone(), entry.rooms.clone()));
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
    pub fn sign_out(&self, token_hash: &[u8]) {
        for entry in self.lock().peers.values().filter(|e| &*e.token_hash == token_hash) {
            entry.outbox.close(CloseReason::SignedOut);
        }
    }

    /// Asks every connection to close (server shutdown).
    pub fn close_all(&self, reason: CloseReason) {
        for entry in self.lock().peers.values() {
            entry.outbox.close(reason);
        }
    }

    pub fn rooms(&self) -> Vec<RoomSummary> {
        let mut rooms: Vec<RoomSummary> = self
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
        let inner = self.lock();
        let mut peers: Vec<Peer> = inner.rooms.get(room)?.iter().filter_map(|m| inner.peer(m)).collect();
        peers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        Some(peers)
    }

    /// (rooms, peers) for metrics.
    pub fn counts(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.rooms.len(), inner.peers.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE: QueueLimits = QueueLimits {
        frames: 100,
        bytes: 1 << 20,
    };

    fn user(id: &str) -> User {
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

    fn connect(hub: &Hub, peer: &str, user_id: &str) -> (PeerId, Arc<Outbox>) {
        let outbox = Arc::new(Outbox::default());
        let id: PeerId = peer.into();
        hub.connect(
            id.clone(),
            &user(user_id),
            Arc::from(user_id.as_bytes()),
            outbox.clone(),
        );
        (id, outbox)
    }

    fn drain(outbox: &Outbox) -> Vec<serde_json::Value> {
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
        hub.sign_out(b"bob");
        assert_eq!(b_out.closing(), Some(CloseReason::SignedOut));
        assert_eq!(a_out.closing(), None);
    }
}
