//! What the core tells its front ends (the desktop UI, `parley-cli`): one serializable event
//! stream, in the order things happened.

use crate::calls::{CallSignal, CallView};
use parley_history::{DeliveryState, Message};
use parley_peer::Route;
use parley_protocol::{Peer, User};
use serde::Serialize;

/// One thing that happened; serialized with its kind in `event` (`"message-state"`, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CoreEvent {
    /// Signed in to the signaling server and online as `peer_id`.
    Online {
        /// This connection's id (a new one after every reconnect).
        peer_id: String,
        /// Who we are, as the server says.
        user: User,
    },
    /// The server link dropped; reconnecting goes on in the background. History still works.
    Offline {
        /// Why, in words.
        reason: String,
    },
    /// The session is over (signed out elsewhere, expired): sign in again.
    SessionEnded,
    /// A room was joined (or joined again after a reconnect).
    RoomJoined {
        /// The room.
        room: String,
        /// Everyone else in it.
        peers: Vec<Peer>,
    },
    /// A room was left.
    RoomLeft {
        /// The room.
        room: String,
    },
    /// Someone came into one of our rooms.
    PeerJoined {
        /// The room.
        room: String,
        /// Who.
        peer: Peer,
    },
    /// Someone left one of our rooms.
    PeerLeft {
        /// The room.
        room: String,
        /// Their connection's id.
        peer_id: String,
    },
    /// Someone in one of our rooms changed their profile.
    PeerUpdated {
        /// The room.
        room: String,
        /// Who, with the new profile.
        peer: Peer,
    },
    /// A direct (peer-to-peer) channel to one of a user's devices opened.
    Connected {
        /// The device's connection id.
        peer_id: String,
        /// Whose device.
        user_id: String,
        /// How it travels: directly, through NAT, or through a TURN relay (unknown if ICE did
        /// not say).
        route: Option<Route>,
    },
    /// A contact's device proved a different identity key than the one pinned for it: a
    /// reinstall, a new keyring — or someone impersonating them. Compare safety numbers again.
    /// For a verified contact (`verified`), nothing is sent to them until the person accepts
    /// the change (`Parley::accept_identity`).
    IdentityChanged {
        /// Whose key changed.
        user_id: String,
        /// Which of their devices.
        device: String,
        /// They were verified: sending waits for acceptance.
        verified: bool,
    },
    /// A contact used a device not seen before (its key is pinned now). Informational.
    IdentityNewDevice {
        /// Whose device.
        user_id: String,
        /// The new device.
        device: String,
    },
    /// A direct connection did not prove the identity it claimed (someone in between, such as
    /// the server, intercepting it; or a replayed proof). It was closed; nothing it carried was
    /// delivered or stored.
    IdentityMismatch {
        /// The connection id.
        peer_id: String,
        /// Whom the server said it was, when known.
        user_id: Option<String>,
        /// Why, in words.
        reason: String,
    },
    /// A direct channel closed.
    Disconnected {
        /// The device's connection id.
        peer_id: String,
        /// Whose device, when still known.
        user_id: Option<String>,
        /// Why, in words.
        reason: String,
    },
    /// A message was added to the history: one we sent, or one that arrived.
    Message {
        /// The message as stored.
        message: Message,
    },
    /// An outgoing message moved on (sent, delivered, read), or an incoming one was read.
    MessageState {
        /// The message.
        id: String,
        /// Its conversation.
        conversation_id: String,
        /// Its new state.
        state: DeliveryState,
    },
    /// A message was edited, deleted for everyone, or reacted to (here or by the contact):
    /// replace the shown copy with this one.
    MessageChanged {
        /// The message as it now is.
        message: Message,
    },
    /// A message was deleted on this device only ("Delete for me"): stop showing it.
    MessageRemoved {
        /// The message.
        id: String,
        /// Its conversation.
        conversation_id: String,
    },
    /// A file is moving: bytes the receiver has stored so far (every 16 MiB or every second,
    /// and when a run starts). State changes come as `MessageChanged`.
    TransferProgress {
        /// The file message.
        id: String,
        /// Its conversation.
        conversation_id: String,
        /// Bytes durably stored on the receiver.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        bytes_done: u64,
        /// The file's size.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        size: u64,
        /// Recent speed; 0 when not known yet.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        bytes_per_sec: u64,
        /// Set when this run resumed an earlier one: where it started.
        #[cfg_attr(feature = "ts", ts(type = "number | null"))]
        resumed_from: Option<u64>,
    },
    /// A contact started or stopped typing to us.
    Typing {
        /// Who.
        user_id: String,
        /// Typing now.
        active: bool,
    },
    /// A call started, rang, was answered, changed (the other side muted) or ended: the whole
    /// call as it now is. One call at a time; an ended one stays ended.
    Call {
        /// The call now.
        call: CallView,
    },
    /// Media negotiation for the page's connection of a call: start it, or apply the other
    /// side's description or candidate.
    CallSignal {
        /// Which call.
        call_id: String,
        /// What to do with its connection.
        signal: CallSignal,
    },
    /// This profile signed out: its session token is gone; history stays.
    SignedOut,
    /// Something went wrong that the person may want to know about.
    Error {
        /// Stable, for programs.
        code: String,
        /// For people.
        message: String,
    },
}
