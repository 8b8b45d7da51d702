//! The hub's view of other nodes' peers, for a node of a scaled-out deployment.
//!
//! A node mirrors exactly the rooms that have at least one of its own peers in them: their
//! remote members sit in the same room sets as local peers (so the shared-room check and rosters
//! work unchanged) and in `Inner::remote`, which says which node holds each. Broadcasts reach
//! local peers only; every node tells its own peers what happened, from the events that Redis
//! hands to all nodes in one order.
//!
//! Consistency comes from the global sequence number Redis stamps on every room event. A room's
//! mirror buffers events from the moment a join (or a resync) asks Redis for the roster until the
//! roster arrives, then installs the roster at its sequence number and replays only the newer
//! events: nothing that happened in between is lost or applied twice.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;

use super::{frame, Broadcast, Hub, Inner, JoinError, PeerId, RoomName};
use crate::protocol::{Peer, ServerFrame};
use crate::validate;

/// A peer connected to another node, known while it shares a room with a peer here.
pub(super) struct RemotePeer {
    pub(super) node: Arc<str>,
    user_id: Box<str>,
    /// The public user, serialized as signals and rosters carry it.
    pub(super) json: Box<str>,
    rooms: Vec<RoomName>,
}

/// The state of one mirrored room.
#[derive(Default)]
pub(super) struct Mirror {
    /// Sequence number of the newest event applied; `None` while a roster is awaited.
    seq: Option<u64>,
    /// Joins and resyncs whose roster has not arrived yet.
    pending: usize,
    /// Events that arrived while `seq` was `None`.
    buffered: Vec<(u64, RoomEvent)>,
}

/// A room's membership as Redis had it at sequence number `seq`.
#[derive(Debug, Clone)]
pub struct Roster {
    pub seq: u64,
    pub members: Vec<RemoteMember>,
}

#[derive(Debug, Clone)]
pub struct RemoteMember {
    pub node: Arc<str>,
    pub peer: Peer,
}

#[derive(Debug, Clone)]
pub enum RoomEvent {
    Joined(RemoteMember),
    Left { peer_id: String },
}

/// A signal for a peer of another node, stamped and serialized here.
#[derive(Debug)]
pub struct Forward {
    pub node: Arc<str>,
    pub to: PeerId,
    pub frame: Utf8Bytes,
}

/// What a clustered join needs to do after the local checks.
pub enum JoinStart {
    /// Ask Redis, announcing this peer.
    Ask(Peer),
    /// Already in the room: here is the roster again, nothing to announce.
    Already(Vec<Peer>),
}

impl Inner {
    fn has_local_member(&self, room: &str) -> bool {
        self.rooms
            .get(room)
            .is_some_and(|members| members.iter().any(|m| self.peers.contains_key(m)))
    }

    fn add_remote(&mut self, room: &RoomName, member: &RemoteMember) -> bool {
        let Ok(json) = serde_json::to_string(&member.peer.user) else {
            return false;
        };
        if member.peer.peer_id.len() > PeerId::MAX
            || member.peer.peer_id.contains('\0')
            || !member.peer.peer_id.is_ascii()
        {
            tracing::warn!(peer = %member.peer.peer_id, "ignoring a remote peer with a malformed id");
            return false;
        }
        let id = PeerId::from(member.peer.peer_id.as_str());
        if !self.rooms.entry(room.clone()).or_default().insert(id) {
            return false;
        }
        let remote = self.remote.entry(id).or_insert_with(|| RemotePeer {
            node: member.node.clone(),
            user_id: member.peer.user.id.as_str().into(),
            json: json.clone().into(),
            rooms: Vec::new(),
        });
        remote.node = member.node.clone();
        remote.json = json.into();
        remote.rooms.push(room.clone());
        true
    }

    fn remove_remote(&mut self, room: &str, peer_id: &str) -> bool {
        let Some(members) = self.rooms.get_mut(room) else {
            return false;
        };
        if !members.remove(peer_id) {
            return false;
        }
        if let Some(remote) = self.remote.get_mut(peer_id) {
            remote.rooms.retain(|r| &**r != room);
            if remote.rooms.is_empty() {
                self.remote.remove(peer_id);
            }
        }
        true
    }

    /// Applies one room event and tells the local members. Events about this node's own peers
    /// were applied when they happened here.
    fn apply(&mut self, room: &RoomName, event: &RoomEvent, queue: &crate::outbox::QueueLimits) {
        match event {
            RoomEvent::Joined(member) => {
                if self.peers.contains_key(member.peer.peer_id.as_str()) || !self.add_remote(room, member) {
                    return;
                }
                let joined = Broadcast::Joined {
                    room,
                    peer: &member.peer,
                };
                self.broadcast(room, "", &frame(&joined), queue);
            }
            RoomEvent::Left { peer_id } => {
                if self.peers.contains_key(peer_id.as_str()) || !self.remove_remote(room, peer_id) {
                    return;
                }
                let left = Broadcast::Left { room, peer_id };
                self.broadcast(room, "", &frame(&left), queue);
            }
        }
    }

    /// Makes the room's remote members those of `roster` (telling local members what changed),
    /// then replays the events buffered since the roster was asked for.
    fn install(&mut self, room: &RoomName, roster: Roster, queue: &crate::outbox::QueueLimits) {
        let wanted: HashSet<&str> = roster
            .members
            .iter()
            .filter(|m| !self.peers.contains_key(m.peer.peer_id.as_str()))
            .map(|m| m.peer.peer_id.as_str())
            .collect();
        let gone: Vec<String> = self
            .rooms
            .get(room)
            .map(|members| {
                members
                    .iter()
                    .filter(|m| self.remote.contains_key(*m) && !wanted.contains(m.as_str()))
                    .map(|m| m.to_string())
                    .collect()
            })
            .unwrap_or_default();
        for peer_id in gone {
            self.apply(room, &RoomEvent::Left { peer_id }, queue);
        }
        for member in &roster.members {
            self.apply(room, &RoomEvent::Joined(member.clone()), queue);
        }
        let mirror = self.mirrors.entry(room.clone()).or_default();
        mirror.seq = Some(roster.seq);
        let buffered = std::mem::take(&mut mirror.buffered);
        for (seq, event) in buffered {
            self.receive(room, seq, event, queue);
        }
    }

    fn receive(&mut self, room: &RoomName, seq: u64, event: RoomEvent, queue: &crate::outbox::QueueLimits) {
        let Some(mirror) = self.mirrors.get_mut(room) else {
            return;
        };
        match mirror.seq {
            None => {
                mirror.buffered.push((seq, event));
                return;
            }
            Some(newest) if seq <= newest => return,
            Some(_) => mirror.seq = Some(seq),
        }
        self.apply(room, &event, queue);
    }

    /// Forgets a room nobody here is in any more (and is not joining).
    pub(super) fn drop_mirror_if_unused(&mut self, room: &str) {
        let Some(mirror) = self.mirrors.get(room) else {
            return;
        };
        if mirror.pending > 0 || self.has_local_member(room) {
            return;
        }
        self.mirrors.remove(room);
        let remote: Vec<PeerId> = self
            .rooms
            .get(room)
            .map(|members| members.iter().copied().collect())
            .unwrap_or_default();
        for peer_id in remote {
            self.remove_remote(room, &peer_id);
        }
        if self.rooms.get(room).is_some_and(|m| m.is_empty()) {
            self.rooms.remove(room);
        }
    }

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
}

impl Hub {
    /// First half of a clustered join: the local checks, and from here on the room's events are
    /// kept until [`Hub::finish_join`] brings the roster.
    pub fn begin_join(&self, peer_id: &PeerId, room: &str) -> Result<JoinStart, JoinError> {
        validate::room(room).map_err(JoinError::InvalidRoom)?;
        let mut inner = self.lock();
        let Some(entry) = inner.peers.get(peer_id) else {
            return Ok(JoinStart::Already(Vec::new()));
        };
        if entry.rooms.iter().any(|r| &**r == room) {
            return Ok(JoinStart::Already(inner.roster_for(peer_id, room)));
        }
        if entry.rooms.len() >= self.rooms_per_peer {
            return Err(JoinError::TooManyRooms(self.rooms_per_peer));
        }
        let me = inner.peer(peer_id).expect("checked above");
        let name: RoomName = inner
            .rooms
            .get_key_value(room)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| room.into());
        inner.mirrors.entry(name).or_default().pending += 1;
        Ok(JoinStart::Ask(me))
    }

    /// Second half: with Redis's answer, the peer joins the mirror, gets its `joined` frame (before
    /// any event that follows it) and the local members get `peer-joined`. `Ok(false)` means the
    /// peer disconnected meanwhile and Redis should forget it again.
    pub fn finish_join(
        &self,
        peer_id: &PeerId,
        room: &str,
        answer: Result<Roster, JoinError>,
    ) -> Result<bool, JoinError> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let name: RoomName = match inner.mirrors.get_key_value(room) {
            Some((name, _)) => name.clone(),
            None => room.into(),
        };
        let mirror = inner.mirrors.entry(name.clone()).or_default();
        mirror.pending = mirror.pending.saturating_sub(1);
        let installed = mirror.seq.is_some();
        let roster = match answer {
            Ok(roster) => roster,
            Err(e) => {
                inner.drop_mirror_if_unused(room);
                return Err(e);
            }
        };
        if !installed {
            inner.install(&name, roster, &self.queue);
        }
        if !inner.peers.contains_key(peer_id) {
            inner.drop_mirror_if_unused(room);
            return Ok(false);
        }
        let peers = inner.roster_for(peer_id, room);
        inner.rooms.entry(name.clone()).or_default().insert(*peer_id);
        let entry = inner.peers.get_mut(peer_id).expect("checked above");
        let mut rooms = std::mem::take(&mut entry.rooms).into_vec();
        rooms.push(name);
        entry.rooms = rooms.into_boxed_slice();
        let joined = ServerFrame::Joined {
            room: room.to_owned(),
            peers,
        };
        entry.outbox.push(frame(&joined), &self.queue);
        if let Some(me) = inner.peer(peer_id) {
            inner.broadcast(
                room,
                peer_id,
                &frame(&Broadcast::Joined { room, peer: &me }),
                &self.queue,
            );
        }
        Ok(true)
    }

    /// A room event from Redis, with its sequence number.
    pub fn room_event(&self, room: &str, seq: u64, event: RoomEvent) {
        let mut inner = self.lock();
        let Some((name, _)) = inner.mirrors.get_key_value(room) else {
            return;
        };
        let name = name.clone();
        inner.receive(&name, seq, event, &self.queue);
    }

    /// Marks every mirrored room as awaiting a fresh roster (after events may have been lost:
    /// the subscription to Redis broke, or this node was taken for dead); returns their names.
    pub fn begin_resync(&self) -> Vec<String> {
        let mut inner = self.lock();
        inner
            .mirrors
            .iter_mut()
            .map(|(room, mirror)| {
                mirror.seq = None;
                mirror.pending += 1;
                room.to_string()
            })
            .collect()
    }

    /// Installs a fresh roster; on `None` (Redis did not answer) the buffered events are applied
    /// as they are, the best that can be done until the next resync.
    pub fn finish_resync(&self, room: &str, roster: Option<Roster>) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let Some((name, mirror)) = inner.mirrors.get_key_value(room) else {
            return;
        };
        let name = name.clone();
        let newest = mirror.buffered.iter().map(|(seq, _)| *seq).min().map(|s| s - 1);
        let roster = roster.unwrap_or_else(|| {
            let members = inner
                .rooms
                .get(room)
                .into_iter()
                .flatten()
                .filter_map(|m| {
                    let remote = inner.remote.get(m)?;
                    Some(RemoteMember {
                        node: remote.node.clone(),
                        peer: inner.peer(m)?,
                    })
                })
                .collect();
            Roster {
                seq: newest.unwrap_or(0),
                members,
            }
        });
        if let Some(mirror) = inner.mirrors.get_mut(room) {
            mirror.pending = mirror.pending.saturating_sub(1);
        }
        inner.install(&name, roster, &self.queue);
        inner.drop_mirror_if_unused(room);
    }

    /// The (peer, room) pairs of this node's peers, to announce again after Redis lost them.
    pub fn local_memberships(&self) -> Vec<(Peer, String)> {
        let inner = self.lock();
        inner
            .peers
            .iter()
            .flat_map(|(id, entry)| entry.rooms.iter().map(move |room| (*id, room.to_string())))
            .filter_map(|(id, room)| Some((inner.peer(&id)?, room)))
            .collect()
    }

    /// The rooms a user's local peers are in, for updating their entries in Redis.
    pub fn local_rooms_of_user(&self, user_id: &str) -> Vec<(Peer, String)> {
        let inner = self.lock();
        inner
            .peers
            .iter()
            .filter(|(_, e)| &*e.user.id == user_id)
            .flat_map(|(id, entry)| entry.rooms.iter().map(move |room| (*id, room.to_string())))
            .filter_map(|(id, room)| Some((inner.peer(&id)?, room)))
            .collect()
    }

    /// Hands a signal from another node to the local peer it is for.
    pub fn deliver(&self, to: &str, frame: Utf8Bytes) -> bool {
        let inner = self.lock();
        match inner.peers.get(to) {
            Some(entry) => entry.outbox.push(frame, &self.queue),
            None => false,
        }
    }

    /// Updates the remote peers of a user whose profile changed, telling local room-mates.
    pub(super) fn update_remote_user(inner: &mut Inner, user_id: &str, json: &str, queue: &crate::outbox::QueueLimits) {
        let mut touched = Vec::new();
        for (id, remote) in inner.remote.iter_mut().filter(|(_, r)| &*r.user_id == user_id) {
            remote.json = json.into();
            touched.push((*id, remote.rooms.clone()));
        }
        for (id, rooms) in touched {
            let Some(peer) = inner.peer(&id) else { continue };
            for room in rooms {
                let updated = Broadcast::Updated {
                    room: &room,
                    peer: &peer,
                };
                inner.broadcast(&room, "", &frame(&updated), queue);
            }
        }
    }
}
