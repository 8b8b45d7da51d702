//! What nodes tell each other through Redis (version 1; documented in `docs/scale-out.md`).
//!
//! Two kinds of channel: one that every node subscribes to for presence ([`EVENTS`]), and one per
//! node for the signals addressed to its peers ([`node_channel`]). The version is part of every
//! channel and key name, so nodes of an incompatible later version never read these.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use parley_protocol::{Peer, User};

/// Prefix of every key and channel this module uses.
pub const PREFIX: &str = "parley:p1:";
/// Presence events for every node.
pub const EVENTS: &str = "parley:p1:events";
/// What a node publishes to its own channel every maintenance round, followed by the round's
/// number, to learn that its subscription still delivers (not JSON, so never taken for a signal).
pub const PING: &str = "ping ";

/// The channel a node receives its peers' signals on.
pub fn node_channel(node: &str) -> String {
    format!("{PREFIX}node:{node}")
}

/// One message on [`EVENTS`]. Room events carry the global sequence number Redis gave them
/// (`seq`), in the order Redis applied them: a node that fetched a room's roster at sequence `n`
/// applies only the room's events after `n`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub event: Event,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Event {
    /// A peer of `node` joined `room`.
    Joined { room: String, node: String, peer: Peer },
    /// A peer left `room`: it left, disconnected, or its node was found dead.
    Left { room: String, peer_id: String },
    /// A user's public profile changed (on `node`): every node updates that user's peers.
    UserUpdated { node: String, user: User },
    /// A session was signed out on `node`: every node closes the connections that used it.
    SignedOut { node: String, token_hash: String },
}

/// A room member as stored in the room's hash in Redis: the peer and the node that holds its
/// connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Member {
    pub node: String,
    pub peer: Peer,
}

/// One message on a node's own channel: a signal frame, already stamped by the sender's node,
/// for the local peer `to`. A plain struct: serde cannot borrow a `RawValue` through a tagged
/// enum, and copying every relayed frame into a `Value` would cost more than the relay itself.
#[derive(Debug, Serialize, Deserialize)]
pub struct NodeSignal<'a> {
    pub to: &'a str,
    #[serde(borrow)]
    pub frame: &'a RawValue,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_in_their_documented_form() {
        let raw = r#"{"seq":7,"event":{"type":"left","room":"lobby","peer_id":"ab12"}}"#;
        let envelope: Envelope = serde_json::from_str(raw).unwrap();
        assert_eq!(envelope.seq, Some(7));
        assert_eq!(
            envelope.event,
            Event::Left {
                room: "lobby".into(),
                peer_id: "ab12".into()
            }
        );
        let signed_out = Envelope {
            seq: None,
            event: Event::SignedOut {
                node: "n1".into(),
                token_hash: "00ff".into(),
            },
        };
        assert_eq!(
            serde_json::to_string(&signed_out).unwrap(),
            r#"{"event":{"type":"signed-out","node":"n1","token_hash":"00ff"}}"#
        );
    }

    #[test]
    fn a_signal_carries_its_frame_verbatim() {
        let frame = RawValue::from_string(r#"{"type":"signal","from":"a","data":1}"#.into()).unwrap();
        let text = serde_json::to_string(&NodeSignal { to: "b", frame: &frame }).unwrap();
        assert_eq!(text, r#"{"to":"b","frame":{"type":"signal","from":"a","data":1}}"#);
        let NodeSignal { to, frame } = serde_json::from_str(&text).unwrap();
        assert_eq!((to, frame.get()), ("b", r#"{"type":"signal","from":"a","data":1}"#));
    }
}
