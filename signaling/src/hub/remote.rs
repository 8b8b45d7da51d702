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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{Outbox, RelayError};
    use crate::outbox::QueueLimits;
    use crate::protocol::User;
    use serde_json::value::RawValue;
    use tokio::sync::mpsc;

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
            email: None,
        }
    }

    fn remote(node: &str, peer: &str) -> RemoteMember {
        RemoteMember {
            node: node.into(),
            peer: Peer {
                peer_id: peer.into(),
                user: user(&format!("u-{peer}")),
            },
        }
    }

    fn hub() -> (Hub, mpsc::Receiver<Forward>) {
        let (tx, rx) = mpsc::channel(16);
        (Hub::clustered(4, 10, QUEUE, tx), rx)
    }

    fn local(hub: &Hub, peer: &str) -> (PeerId, Arc<Outbox>) {
        let outbox = Arc::new(Outbox::default());
        let id = PeerId::from(peer);
        hub.connect(id, &user(peer), &[0; 32], outbox.clone());
        (id, outbox)
    }

    fn frames(outbox: &Outbox) -> Vec<serde_json::Value> {
        outbox
            .take()
            .0
            .iter()
            .map(|f| serde_json::from_str(f.as_str()).unwrap())
            .collect()
    }

    fn join(hub: &Hub, peer: &PeerId, room: &str, roster: Roster) {
        assert!(matches!(hub.begin_join(peer, room), Ok(JoinStart::Ask(_))));
        assert_eq!(hub.finish_join(peer, room, Ok(roster)), Ok(true));
    }

    #[test]
    fn events_during_a_join_are_applied_once_and_after_the_roster() {
        let (hub, _rx) = hub();
        let (a, a_out) = local(&hub, "a");
        assert!(matches!(hub.begin_join(&a, "r"), Ok(JoinStart::Ask(_))));
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
        let (a, _) = local(&hub, "a");
        join(
            &hub,
            &a,
            "r",
            Roster {
                seq: 1,
                members: vec![remote("n2", "x")],
            },
        );
        let data = RawValue::from_string(r#"{"sdp":"o"}"#.into()).unwrap();
        hub.relay(&a, "x", &data).unwrap();
        let forward = rx.try_recv().unwrap();
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
        assert!(hub.lock().mirrors.contains_key("r"), "b is still in it");
        frames(&b_out);
        let rooms = hub.disconnect(&b);
        assert_eq!(rooms.len(), 1);
        let inner = hub.lock();
        assert!(inner.mirrors.is_empty() && inner.remote.is_empty() && inner.rooms.is_empty());
    }

    #[test]
    fn a_failed_join_leaves_no_mirror_behind() {
        let (hub, _rx) = hub();
        let (a, a_out) = local(&hub, "a");
        assert!(matches!(hub.begin_join(&a, "r"), Ok(JoinStart::Ask(_))));
        hub.room_event("r", 3, RoomEvent::Joined(remote("n2", "x")));
        assert_eq!(
            hub.finish_join(&a, "r", Err(JoinError::RoomFull(10))),
            Err(JoinError::RoomFull(10))
        );
        assert!(frames(&a_out).is_empty());
        let inner = hub.lock();
        assert!(inner.mirrors.is_empty() && inner.remote.is_empty() && inner.rooms.is_empty());
    }

    #[test]
    fn profile_changes_of_remote_peers_reach_local_room_mates() {
        let (hub, _rx) = hub();
        let (a, a_out) = local(&hub, "a");
        join(
            &hub,
            &a,
            "r",
            Roster {
                seq: 1,
                members: vec![remote("n2", "x")],
            },
        );
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
        hub.finish_resync(
            "r",
            Some(Roster {
                seq: 8,
                members: vec![remote("n2", "x")],
            }),
        );
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
        assert_eq!(hub.local_memberships().len(), 1);
    }
}
