//! Joins awaiting the server's answer, and the rosters they produce.

use std::collections::{HashMap, VecDeque};

use parley_protocol::{codes, ClientFrame, Peer, ServerFrame, User};
use tokio_tungstenite::tungstenite;

use super::connection::{send, Socket};
use super::State;

/// One connection's joins awaiting an answer.
///
/// The server answers frames in order, but it takes a room's roster and queues the `joined`
/// answer in two steps, so a `peer-joined` of someone arriving in between can reach us before
/// the roster that does not list them yet. Membership frames of a room with a join in flight
/// are therefore held back and applied on top of the roster when it comes.
#[derive(Default)]
pub(super) struct PendingJoins {
    pending_joins: VecDeque<String>,
    held_back: HashMap<String, Vec<ServerFrame>>,
}

impl PendingJoins {
    pub(super) async fn join(&mut self, socket: &mut Socket, room: String) -> Result<(), tungstenite::Error> {
        send(socket, &ClientFrame::Join { room: room.clone() }).await?;
        self.pending_joins.push_back(room);
        Ok(())
    }

    /// Keeps `frame` for later when a join of `room` is in flight, else hands it back.
    pub(super) fn hold_back(&mut self, room: &str, frame: ServerFrame) -> Option<ServerFrame> {
        if self.pending_joins.iter().any(|r| r == room) {
            self.held_back.entry(room.to_owned()).or_default().push(frame);
            None
        } else {
            Some(frame)
        }
    }

    /// A join was answered; returns what was held back for the room.
    pub(super) fn answered(&mut self, room: &str) -> Vec<ServerFrame> {
        if let Some(at) = self.pending_joins.iter().position(|r| r == room) {
            self.pending_joins.remove(at);
        }
        if self.pending_joins.iter().any(|r| r == room) {
            // Joined twice: the later answer gets everything held back.
            return Vec::new();
        }
        self.held_back.remove(room).unwrap_or_default()
    }

    /// The room a join-refusal `code` is about, if it is one. Join refusals do not name the
    /// room, but answers come in order, so it is the oldest unanswered join.
    pub(super) fn refused(&mut self, code: &str) -> Option<String> {
        let join_refusal = [codes::INVALID_ROOM, codes::TOO_MANY_ROOMS, codes::ROOM_FULL].contains(&code);
        if !join_refusal {
            return None;
        }
        let room = self.pending_joins.pop_front()?;
        if !self.pending_joins.contains(&room) {
            self.held_back.remove(&room);
        }
        Some(room)
    }
}

/// Applies a membership frame to a roster; the frame again if it changed anything a listener
/// should hear about.
pub(super) fn apply(roster: &mut HashMap<String, User>, frame: ServerFrame) -> Option<ServerFrame> {
    match &frame {
        ServerFrame::PeerJoined { peer, .. } => {
            roster.insert(peer.peer_id.clone(), peer.user.clone());
        }
        ServerFrame::PeerLeft { peer_id, .. } => {
            roster.remove(peer_id);
        }
        ServerFrame::PeerUpdated { peer, .. } => {
            // An update of someone who already left must not bring them back.
            *roster.get_mut(&peer.peer_id)? = peer.user.clone();
        }
        _ => return None,
    }
    Some(frame)
}

pub(super) fn sorted_roster(state: &State, room: &str) -> Vec<Peer> {
    let mut peers: Vec<Peer> = state
        .rosters
        .get(room)
        .map(|roster| {
            roster
                .iter()
                .map(|(peer_id, user)| Peer {
                    peer_id: peer_id.clone(),
                    user: user.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    peers.sort_by(|a, b| {
        (a.user.display_name.to_lowercase(), &a.peer_id).cmp(&(b.user.display_name.to_lowercase(), &b.peer_id))
    });
    peers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_refusals_are_matched_to_the_oldest_pending_join() {
        let mut session = PendingJoins::default();
        session
            .pending_joins
            .extend(["a".to_owned(), "b".to_owned(), "c".to_owned()]);
        assert!(session.answered("b").is_empty());
        assert_eq!(session.refused(codes::ROOM_FULL).as_deref(), Some("a"));
        assert_eq!(session.refused(codes::UNKNOWN_PEER), None);
        assert_eq!(session.refused(codes::INVALID_ROOM).as_deref(), Some("c"));
        assert_eq!(session.refused(codes::INVALID_ROOM), None);
    }

    fn user(name: &str) -> User {
        User {
            id: format!("id-{name}"),
            username: name.to_owned(),
            display_name: name.to_owned(),
            bio: String::new(),
            status: String::new(),
            avatar_url: None,
            created_at: 0,
            email: None,
        }
    }

    #[test]
    fn membership_news_that_overtakes_a_roster_is_applied_on_top_of_it() {
        let mut session = PendingJoins::default();
        session.pending_joins.push_back("tea".to_owned());
        let carol = Peer {
            peer_id: "p-carol".to_owned(),
            user: user("carol"),
        };
        let early = ServerFrame::PeerJoined {
            room: "tea".to_owned(),
            peer: carol.clone(),
        };
        assert!(session.hold_back("tea", early).is_none());
        let gone = ServerFrame::PeerLeft {
            room: "tea".to_owned(),
            peer_id: "p-bob".to_owned(),
        };
        assert!(session.hold_back("tea", gone).is_none());
        let elsewhere = ServerFrame::PeerLeft {
            room: "other".to_owned(),
            peer_id: "x".to_owned(),
        };
        assert!(session.hold_back("other", elsewhere).is_some());

        let mut roster: HashMap<String, User> = HashMap::from([("p-bob".to_owned(), user("bob"))]);
        for frame in session.answered("tea") {
            apply(&mut roster, frame);
        }
        assert_eq!(roster.len(), 1);
        assert_eq!(roster.get("p-carol"), Some(&carol.user));
        // Nothing is held back once the join is answered.
        let late = ServerFrame::PeerUpdated {
            room: "tea".to_owned(),
            peer: carol,
        };
        assert!(session.hold_back("tea", late).is_some());
    }
}
