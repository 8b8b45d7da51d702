//! The hub's view of other nodes' peers, for a node of a scaled-out deployment.
//!
//! A node mirrors exactly the rooms that have at least one of its own peers in them (or joining):
//! their remote members sit in the same room sets as local peers (so the shared-room check and
//! rosters work unchanged) and in `Inner::remote`, which says which node holds each. Broadcasts
//! reach local peers only; every node tells its own peers what happened, from the events that
//! Redis hands to all nodes in one order.
//!
//! Consistency comes from the global sequence number Redis stamps on every room event. A room's
//! mirror buffers events from the moment a join (or a resync) asks Redis for the roster until the
//! roster arrives, then installs the roster at its sequence number and replays only the newer
//! events: nothing that happened in between is lost or applied twice. A mirror never goes back:
//! a roster older than what it already applied is refused (the caller fetches a newer one).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;

use super::{frame, Broadcast, Hub, Inner, JoinError, PeerId, RoomName};
use crate::outbox::QueueLimits;
use parley_protocol::validate;
use parley_protocol::{Peer, ServerFrame};

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
    /// False while a roster is awaited: events are buffered meanwhile.
    live: bool,
    /// Sequence number of the newest event or roster applied; never goes back.
    applied: u64,
    /// Joins and resyncs whose roster has not arrived yet.
    pending: usize,
    buffered: Vec<(u64, RoomEvent)>,
}

/// A local peer's joins that Redis has not answered yet, and the signals that reached it from
/// other nodes meanwhile: those nodes saw it join before it saw its own `joined`, and a client
/// is owed its roster before anything from the room.
#[derive(Default)]
pub(super) struct Joining {
    rooms: Vec<RoomName>,
    held: Vec<Utf8Bytes>,
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

/// The way to the publisher of signals for other nodes, bounded in bytes: while Redis is slow
/// or gone, what waits must not grow with the frames' size limit times the queue length.
pub struct Forwarder {
    tx: mpsc::UnboundedSender<Forward>,
    bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

/// The publisher's end: it gives the bytes back once a batch has gone out.
pub struct Forwards {
    pub rx: mpsc::UnboundedReceiver<Forward>,
    bytes: Arc<AtomicUsize>,
}

impl Forwarder {
    pub fn new(max_bytes: usize) -> (Forwarder, Forwards) {
        let (tx, rx) = mpsc::unbounded_channel();
        let bytes = Arc::new(AtomicUsize::new(0));
        let forwarder = Forwarder {
            tx,
            bytes: bytes.clone(),
            max_bytes,
        };
        (forwarder, Forwards { rx, bytes })
    }

    fn send(&self, forward: Forward) -> bool {
        let size = forward.frame.len();
        if self.bytes.fetch_add(size, Ordering::Relaxed) + size > self.max_bytes {
            self.bytes.fetch_sub(size, Ordering::Relaxed);
            return false;
        }
        if self.tx.send(forward).is_err() {
            self.bytes.fetch_sub(size, Ordering::Relaxed);
            return false;
        }
        true
    }
}

impl Forwards {
    pub fn done(&self, bytes: usize) {
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// What a clustered join needs to do after the local checks.
pub enum JoinStart {
    /// Ask Redis, announcing this peer.
    Ask(Peer),
    /// Already in the room: here is the roster again, nothing to announce.
    Already(Vec<Peer>),
}

/// `room\npeer` for one membership, the form the node's membership set in Redis uses.
fn membership_key(room: &str, peer_id: &str) -> String {
    format!("{room}\n{peer_id}")
}

impl Inner {
    fn has_local_member(&self, room: &str) -> bool {
        self.rooms
            .get(room)
            .is_some_and(|members| members.iter().any(|m| self.peers.contains_key(m)))
    }

    fn add_remote(&mut self, room: &RoomName, member: &RemoteMember) -> bool {
        let id = &member.peer.peer_id;
        if id.is_empty() || id.len() > PeerId::MAX || id.contains('\0') || !id.is_ascii() {
            tracing::warn!(peer = %id, "ignoring a remote peer with a malformed id");
            return false;
        }
        let Ok(json) = serde_json::to_string(&member.peer.user) else {
            return false;
        };
        let id = PeerId::from(id.as_str());
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
    /// (local, or still joining) were applied here when they happened.
    fn apply(&mut self, room: &RoomName, event: &RoomEvent, queue: &QueueLimits) {
        match event {
            RoomEvent::Joined(member) => {
                let id = member.peer.peer_id.as_str();
                if self.peers.contains_key(id) || !self.add_remote(room, member) {
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
    /// then replays the events buffered since the roster was asked for. Refuses (false) a roster
    /// older than what the mirror already applied.
    fn install(&mut self, room: &RoomName, roster: Roster, queue: &QueueLimits) -> bool {
        if self.mirrors.get(room).is_some_and(|m| roster.seq < m.applied) {
            return false;
        }
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
        self.go_live(room, roster.seq, queue);
        true
    }

    /// Ends buffering: the mirror stands at `seq`, and the buffered events after it apply.
    fn go_live(&mut self, room: &RoomName, seq: u64, queue: &QueueLimits) {
        let Some(mirror) = self.mirrors.get_mut(room) else {
            return;
        };
        mirror.live = true;
        mirror.applied = mirror.applied.max(seq);
        let mut buffered = std::mem::take(&mut mirror.buffered);
        buffered.sort_by_key(|(seq, _)| *seq);
        for (seq, event) in buffered {
            self.receive(room, seq, event, queue);
        }
    }

    fn receive(&mut self, room: &RoomName, seq: u64, event: RoomEvent, queue: &QueueLimits) {
        let Some(mirror) = self.mirrors.get_mut(room) else {
            return;
        };
        if !mirror.live {
            mirror.buffered.push((seq, event));
            return;
        }
        if seq <= mirror.applied {
            return;
        }
        mirror.applied = seq;
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

    /// One join of `peer_id` answered: once none is left, what was held for it goes out.
    fn joined_or_failed(&mut self, peer_id: &PeerId, room: &str, queue: &QueueLimits) {
        let Some(joining) = self.joining.get_mut(peer_id) else {
            return;
        };
        if let Some(i) = joining.rooms.iter().position(|r| &**r == room) {
            joining.rooms.swap_remove(i);
        }
        if !joining.rooms.is_empty() {
            return;
        }
        let held = self.joining.remove(peer_id).map(|j| j.held).unwrap_or_default();
        if let Some(entry) = self.peers.get(peer_id) {
            for frame in held {
                entry.outbox.push(frame, queue);
            }
        }
    }
}

impl Hub {
    /// First half of a clustered join: the local checks, and from here on the room's events are
    /// kept until [`Hub::finish_join`] brings the roster.
    pub fn begin_join(&self, peer_id: &PeerId, room: &str) -> Result<JoinStart, JoinError> {
        validate::room(room).map_err(|e| JoinError::InvalidRoom(e.message))?;
        let mut inner = self.inner.lock();
        let Some(entry) = inner.peers.get(peer_id) else {
            return Ok(JoinStart::Already(Vec::new()));
        };
        if entry.rooms.iter().any(|r| &**r == room) {
            return Ok(JoinStart::Already(inner.roster_for(peer_id, room)));
        }
        let joining = inner.joining.get(peer_id).map_or(0, |j| j.rooms.len());
        if entry.rooms.len() + joining >= self.rooms_per_peer {
            return Err(JoinError::TooManyRooms(self.rooms_per_peer));
        }
        let me = inner.peer(peer_id).expect("checked above");
        let name: RoomName = inner
            .rooms
            .get_key_value(room)
            .map(|(k, _)| k.clone())
            .or_else(|| inner.mirrors.get_key_value(room).map(|(k, _)| k.clone()))
            .unwrap_or_else(|| room.into());
        inner.mirrors.entry(name.clone()).or_default().pending += 1;
        inner.joining.entry(*peer_id).or_default().rooms.push(name);
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
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let name: RoomName = match inner.mirrors.get_key_value(room) {
            Some((name, _)) => name.clone(),
            None => room.into(),
        };
        let mirror = inner.mirrors.entry(name.clone()).or_default();
        mirror.pending = mirror.pending.saturating_sub(1);
        let live = mirror.live;
        let roster = match answer {
            Ok(roster) => roster,
            Err(e) => {
                inner.joined_or_failed(peer_id, room, &self.queue);
                inner.drop_mirror_if_unused(room);
                return Err(e);
            }
        };
        // A live mirror already stands where this roster's events brought it. Otherwise the
        // roster is installed unless older than what was applied (a resync under way then
        // brings a newer one).
        if !live {
            inner.install(&name, roster, &self.queue);
        }
        if !inner.peers.contains_key(peer_id) {
            inner.joining.remove(peer_id);
            inner.drop_mirror_if_unused(room);
            return Ok(false);
        }
        let peers = inner.roster_for(peer_id, room);
        let joined = ServerFrame::Joined {
            room: room.to_owned(),
            peers,
        };
        inner.peers[peer_id].outbox.push(frame(&joined), &self.queue);
        inner.enter(peer_id, room, name, &self.queue);
        inner.joined_or_failed(peer_id, room, &self.queue);
        Ok(true)
    }

    /// A room event from Redis, with its sequence number.
    pub fn room_event(&self, room: &str, seq: u64, event: RoomEvent) {
        let mut inner = self.inner.lock();
        let Some((name, _)) = inner.mirrors.get_key_value(room) else {
            return;
        };
        let name = name.clone();
        inner.receive(&name, seq, event, &self.queue);
    }

    /// Marks every mirrored room as awaiting a fresh roster (after events may have been lost:
    /// the subscription to Redis broke, or this node was taken for dead); returns their names.
    pub fn begin_resync(&self) -> Vec<String> {
        let mut inner = self.inner.lock();
        inner
            .mirrors
            .iter_mut()
            .map(|(room, mirror)| {
                mirror.live = false;
                mirror.pending += 1;
                room.to_string()
            })
            .collect()
    }

    /// Installs a fresh roster. False when the roster is older than what the mirror already
    /// applied: fetch another (Redis answers later reads with later sequence numbers).
    pub fn finish_resync(&self, room: &str, roster: Roster) -> bool {
        let mut inner = self.inner.lock();
        let Some((name, _)) = inner.mirrors.get_key_value(room) else {
            return true;
        };
        let name = name.clone();
        if !inner.install(&name, roster, &self.queue) {
            return false;
        }
        if let Some(mirror) = inner.mirrors.get_mut(room) {
            mirror.pending = mirror.pending.saturating_sub(1);
        }
        inner.drop_mirror_if_unused(room);
        true
    }

    /// Gives up on a resync (Redis did not answer): the buffered events apply as they are, the
    /// best that can be done until the next one.
    pub fn abandon_resync(&self, room: &str) {
        let mut inner = self.inner.lock();
        let Some((name, mirror)) = inner.mirrors.get_key_value(room) else {
            return;
        };
        let (name, applied) = (name.clone(), mirror.applied);
        inner.go_live(&name, applied, &self.queue);
        if let Some(mirror) = inner.mirrors.get_mut(room) {
            mirror.pending = mirror.pending.saturating_sub(1);
        }
        inner.drop_mirror_if_unused(room);
    }

    /// This node's memberships as `room\npeer`: the settled ones (with the peer, to announce again)
    /// and those whose join Redis has not answered yet.
    pub fn memberships(&self) -> (Vec<(String, Peer, String)>, HashSet<String>) {
        let inner = self.inner.lock();
        let settled = inner
            .peers
            .iter()
            .flat_map(|(id, entry)| entry.rooms.iter().map(move |room| (*id, room)))
            .filter_map(|(id, room)| Some((membership_key(room, &id), inner.peer(&id)?, room.to_string())))
            .collect();
        let joining = inner
            .joining
            .iter()
            .flat_map(|(id, j)| j.rooms.iter().map(move |room| membership_key(room, id)))
            .collect();
        (settled, joining)
    }

    /// Whether a local peer is in a room (settled, not joining).
    pub fn is_member(&self, peer_id: &str, room: &str) -> bool {
        self.inner
            .lock()
            .peers
            .get(peer_id)
            .is_some_and(|entry| entry.rooms.iter().any(|r| &**r == room))
    }

    /// The rooms a user's local peers are in, for updating their entries in Redis.
    pub fn local_rooms_of_user(&self, user_id: &str) -> Vec<(Peer, String)> {
        let inner = self.inner.lock();
        inner
            .peers
            .iter()
            .filter(|(_, e)| e.user.id() == user_id)
            .flat_map(|(id, entry)| entry.rooms.iter().map(move |room| (*id, room.to_string())))
            .filter_map(|(id, room)| Some((inner.peer(&id)?, room)))
            .collect()
    }

    /// Hands a signal from another node to the local peer it is for (held while that peer's
    /// join is unanswered, so it gets its roster first).
    pub fn deliver(&self, to: &str, frame: Utf8Bytes) -> bool {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        if let Some(joining) = inner.joining.get_mut(to) {
            if joining.held.len() < self.queue.frames {
                joining.held.push(frame);
                return true;
            }
            return false;
        }
        match inner.peers.get(to) {
            Some(entry) => entry.outbox.push(frame, &self.queue),
            None => false,
        }
    }

    pub(super) fn forward(&self, forward: Forward) -> bool {
        let forwarder = self
            .forward
            .as_ref()
            .expect("remote peers exist only in a clustered hub");
        forwarder.send(forward)
    }

    /// Updates the remote peers of a user whose profile changed, telling local room-mates.
    pub(super) fn update_remote_user(inner: &mut Inner, user_id: &str, json: &str, queue: &QueueLimits) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::tests::{connect, drain as frames, user, QUEUE};
    use crate::hub::{Outbox, RelayError};
    use serde_json::value::RawValue;

    fn remote(node: &str, peer: &str) -> RemoteMember {
        RemoteMember {
            node: node.into(),
            peer: Peer {
                peer_id: peer.into(),
                user: user(&format!("u-{peer}")),
            },
        }
    }

    fn hub() -> (Hub, Forwards) {
        let (tx, rx) = Forwarder::new(1 << 20);
        (Hub::clustered(4, 10, QUEUE, tx), rx)
    }

    fn local(hub: &Hub, peer: &str) -> (PeerId, Arc<Outbox>) {
        connect(hub, peer, peer)
    }

    fn join(hub: &Hub, peer: &PeerId, room: &str, roster: Roster) {
        assert!(matches!(hub.begin_join(peer, room), Ok(JoinStart::Ask(_))));
        assert_eq!(hub.finish_join(peer, room, Ok(roster)), Ok(true));
    }

    /// Local peer "a", its join of room "r" sent to Redis and not answered yet.
    fn a_joining_r(hub: &Hub) -> (PeerId, Arc<Outbox>) {
        let (a, a_out) = local(hub, "a");
        assert!(matches!(hub.begin_join(&a, "r"), Ok(JoinStart::Ask(_))));
        (a, a_out)
    }

    /// Local peer "a" in room "r" with node n2's peer "x".
    fn a_in_r_with_x(hub: &Hub) -> (PeerId, Arc<Outbox>) {
        let (a, a_out) = local(hub, "a");
        let roster = Roster {
            seq: 1,
            members: vec![remote("n2", "x")],
        };
        join(hub, &a, "r", roster);
        (a, a_out)
    }

    #[test]
    fn events_during_a_join_are_applied_once_and_after_the_roster() {
        let (hub, _rx) = hub();
        let (a, a_out) = a_joining_r(&hub);
        // Redis applied x (seq 4) before our join (seq 5) and y after it (seq 6); both events
        // reach this node before the roster does.
        hub.room_event("r", 4, RoomEvent::Joined(remote("n2", "x")));
        hub.room_event("r", 6, RoomEvent::Joined(remote("n2", "y")));
        let roster = Roster {
            seq: 5,
            members: vec![remote("n2", "x")],
        };
        assert_eq!(hub.finish_join(&a, "r", Ok(roster)), Ok(true));
        let got = frames(&a_out);
        assert_eq!(got[0]["type"], "joined");
        let ids: Vec<&str> = got[0]["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["peer_id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&"x"), "{got:?}");
        // y came after the roster's point: either in the roster (it was replayed first) or as
        // peer-joined after it, never both and never before `joined`.
        let later: Vec<&serde_json::Value> = got[1..].iter().collect();
        let y_in_roster = ids.contains(&"y");
        let y_announced = later
            .iter()
            .any(|f| f["type"] == "peer-joined" && f["peer"]["peer_id"] == "y");
        assert!(y_in_roster != y_announced, "{got:?}");
        // An old event (already in the roster) is ignored; a newer one applies.
        hub.room_event("r", 5, RoomEvent::Left { peer_id: "x".into() });
        assert!(frames(&a_out).is_empty());
        hub.room_event("r", 7, RoomEvent::Left { peer_id: "x".into() });
        let left = frames(&a_out);
        assert_eq!(
            (left[0]["type"].as_str(), left[0]["peer_id"].as_str()),
            (Some("peer-left"), Some("x"))
        );
    }

    #[test]
    fn signals_to_remote_peers_are_forwarded_stamped() {
        let (hub, mut rx) = hub();
        let (a, _) = a_in_r_with_x(&hub);
        let data = RawValue::from_string(r#"{"sdp":"o"}"#.into()).unwrap();
        hub.relay(&a, "x", &data).unwrap();
        let forward = rx.rx.try_recv().unwrap();
        assert_eq!((&*forward.node, forward.to.as_str()), ("n2", "x"));
        let frame: serde_json::Value = serde_json::from_str(forward.frame.as_str()).unwrap();
        assert_eq!(frame["from"], "a");
        assert_eq!(frame["data"]["sdp"], "o");
        // A remote peer in no shared room is unknown here.
        assert_eq!(hub.relay(&a, "stranger", &data), Err(RelayError::UnknownPeer));
    }

    #[test]
    fn a_room_nobody_here_is_in_is_forgotten() {
        let (hub, _rx) = hub();
        let (a, _) = local(&hub, "a");
        let (b, b_out) = local(&hub, "b");
        join(
            &hub,
            &a,
            "r",
            Roster {
                seq: 1,
                members: vec![remote("n2", "x")],
            },
        );
        join(
            &hub,
            &b,
            "r",
            Roster {
                seq: 2,
                members: vec![remote("n2", "x")],
            },
        );
        hub.leave(&a, "r").unwrap();
        assert!(hub.inner.lock().mirrors.contains_key("r"), "b is still in it");
        frames(&b_out);
        let rooms = hub.disconnect(&b);
        assert_eq!(rooms.len(), 1);
        let inner = hub.inner.lock();
        assert!(inner.mirrors.is_empty() && inner.remote.is_empty() && inner.rooms.is_empty());
    }

    #[test]
    fn a_failed_join_leaves_no_mirror_behind() {
        let (hub, _rx) = hub();
        let (a, a_out) = a_joining_r(&hub);
        hub.room_event("r", 3, RoomEvent::Joined(remote("n2", "x")));
        assert_eq!(
            hub.finish_join(&a, "r", Err(JoinError::RoomFull(10))),
            Err(JoinError::RoomFull(10))
        );
        assert!(frames(&a_out).is_empty());
        let inner = hub.inner.lock();
        assert!(inner.mirrors.is_empty() && inner.remote.is_empty() && inner.rooms.is_empty());
    }

    #[test]
    fn profile_changes_of_remote_peers_reach_local_room_mates() {
        let (hub, _rx) = hub();
        let (_, a_out) = a_in_r_with_x(&hub);
        frames(&a_out);
        let mut renamed = user("u-x");
        renamed.display_name = "Xavier".into();
        hub.update_user(&renamed);
        let got = frames(&a_out);
        assert_eq!(got[0]["type"], "peer-updated");
        assert_eq!(got[0]["peer"]["peer_id"], "x");
        assert_eq!(got[0]["peer"]["user"]["display_name"], "Xavier");
    }

    #[test]
    fn a_resync_tells_local_peers_what_changed() {
        let (hub, _rx) = hub();
        let (a, a_out) = local(&hub, "a");
        join(
            &hub,
            &a,
            "r",
            Roster {
                seq: 1,
                members: vec![remote("n2", "x"), remote("n2", "y")],
            },
        );
        frames(&a_out);
        assert_eq!(hub.begin_resync(), vec!["r".to_string()]);
        hub.room_event("r", 9, RoomEvent::Joined(remote("n3", "z")));
        // A roster older than what the mirror applied is refused; a newer one is installed.
        assert!(!hub.finish_resync(
            "r",
            Roster {
                seq: 0,
                members: Vec::new()
            }
        ));
        assert!(hub.finish_resync(
            "r",
            Roster {
                seq: 8,
                members: vec![remote("n2", "x")],
            }
        ));
        let got: Vec<(String, String)> = frames(&a_out)
            .iter()
            .map(|f| {
                let id = f["peer_id"]
                    .as_str()
                    .or(f["peer"]["peer_id"].as_str())
                    .unwrap()
                    .to_owned();
                (f["type"].as_str().unwrap().to_owned(), id)
            })
            .collect();
        assert_eq!(
            got,
            vec![("peer-left".into(), "y".into()), ("peer-joined".into(), "z".into())]
        );
        let (settled, joining) = hub.memberships();
        assert_eq!(settled.len(), 1);
        assert_eq!(settled[0].0, "r\na");
        assert!(joining.is_empty());
    }

    #[test]
    fn signals_wait_for_the_joined_frame() {
        let (hub, _rx) = hub();
        let (a, a_out) = a_joining_r(&hub);
        // Another node saw the join first and its peer signalled at once.
        assert!(hub.deliver("a", Utf8Bytes::from_static(r#"{"type":"signal","from":"x"}"#)));
        assert!(frames(&a_out).is_empty(), "a signal before the roster");
        let roster = Roster {
            seq: 2,
            members: vec![remote("n2", "x")],
        };
        assert_eq!(hub.finish_join(&a, "r", Ok(roster)), Ok(true));
        let kinds: Vec<String> = frames(&a_out)
            .iter()
            .map(|f| f["type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kinds, ["joined", "signal"]);
        // Afterwards signals go straight through.
        assert!(hub.deliver("a", Utf8Bytes::from_static(r#"{"type":"signal","from":"x"}"#)));
        assert_eq!(frames(&a_out).len(), 1);
    }

    #[test]
    fn two_local_joins_of_a_new_room_both_get_the_roster() {
        let (hub, _rx) = hub();
        let (a, a_out) = local(&hub, "a");
        let (b, b_out) = local(&hub, "b");
        assert!(matches!(hub.begin_join(&a, "r"), Ok(JoinStart::Ask(_))));
        assert!(matches!(hub.begin_join(&b, "r"), Ok(JoinStart::Ask(_))));
        // Redis ran b's join (seq 3) before a's (seq 4); a's answer arrives first.
        let mut member_b = remote("n1", "b");
        member_b.peer.user = user("b");
        let a_roster = Roster {
            seq: 4,
            members: vec![remote("n2", "x"), member_b],
        };
        assert_eq!(hub.finish_join(&a, "r", Ok(a_roster)), Ok(true));
        let b_roster = Roster {
            seq: 3,
            members: vec![remote("n2", "x")],
        };
        assert_eq!(hub.finish_join(&b, "r", Ok(b_roster)), Ok(true));
        let a_got = frames(&a_out);
        let b_got = frames(&b_out);
        let ids = |f: &serde_json::Value| -> Vec<String> {
            let mut v: Vec<String> = f["peers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["peer_id"].as_str().unwrap().to_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids(&a_got[0]), ["x"]);
        assert_eq!(ids(&b_got[0]), ["a", "x"]);
        assert_eq!(a_got[1]["type"], "peer-joined");
        assert_eq!(a_got[1]["peer"]["peer_id"], "b");
    }

    #[test]
    fn the_forward_queue_is_bounded_in_bytes() {
        let (tx, mut rx) = Forwarder::new(400);
        let hub = Hub::clustered(4, 10, QUEUE, tx);
        let (a, _) = a_in_r_with_x(&hub);
        let big = RawValue::from_string(format!("\"{}\"", "z".repeat(150))).unwrap();
        hub.relay(&a, "x", &big).unwrap();
        assert_eq!(hub.relay(&a, "x", &big), Err(RelayError::Busy));
        let sent = rx.rx.try_recv().unwrap();
        rx.done(sent.frame.len());
        hub.relay(&a, "x", &big).unwrap();
    }
}
