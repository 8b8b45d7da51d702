//! What the core tells its front ends (the desktop UI, `parley-cli`): one serializable event
//! stream, in the order things happened.

use parley_protocol::{Peer, User};
use serde::Serialize;

use parley_history::{DeliveryState, Message};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum CoreEvent {
    /// Signed in to the signaling server and online as `peer_id`.
    Online {
        peer_id: String,
        user: User,
    },
    /// The server link dropped; reconnecting goes on in the background. History still works.
    Offline {
        reason: String,
    },
    /// The session is over (signed out elsewhere, expired): sign in again.
    SessionEnded,
    RoomJoined {
        room: String,
        peers: Vec<Peer>,
    },
    RoomLeft {
        room: String,
    },
    PeerJoined {
        room: String,
        peer: Peer,
    },
    PeerLeft {
        room: String,
        peer_id: String,
    },
    PeerUpdated {
        room: String,
        peer: Peer,
    },
    /// A direct (peer-to-peer) channel to one of a user's devices opened.
    Connected {
        peer_id: String,
        user_id: String,
    },
    Disconnected {
        peer_id: String,
        user_id: Option<String>,
        reason: String,
    },
    /// A message was added to the history: one we sent, or one that arrived.
    Message {
        message: Message,
    },
    /// An outgoing message moved on (sent, delivered, read), or an incoming one was read.
    MessageState {
        id: String,
        conversation_id: String,
        state: DeliveryState,
    },
    Typing {
        user_id: String,
        active: bool,
    },
    /// This profile signed out: its session token is gone; history stays.
    SignedOut,
    /// Something went wrong that the user may want to know about.
    Error {
        code: String,
        message: String,
    },
}
