//! What a front end shows: the shapes [`super::Client`] returns (JSON for the desktop UI,
//! documented in `docs/app-ipc.md`).

use parley_protocol::{Peer, User};
use serde::{Deserialize, Serialize};

use parley_history::{Conversation, Message};

/// Which signaling server a person uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ServerChoice {
    /// "This device": the server hosted in-process (see [`crate::embedded`]).
    #[default]
    Embedded,
    Url {
        url: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Connection {
    SignedOut,
    /// Signed in, the server link being set up.
    Connecting,
    Online,
    /// Signed in, the server out of reach: history works, reconnecting in the background.
    Offline,
}

/// An error as a front end shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomState {
    pub room: String,
    pub peers: Vec<Peer>,
}

/// Everything a front end needs to draw its main screen at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub connection: Connection,
    pub me: Option<User>,
    /// The last username used on this profile (prefills sign-in; names the offline user).
    pub username: Option<String>,
    pub server: ServerChoice,
    pub server_url: Option<String>,
    pub rooms: Vec<RoomState>,
    pub error: Option<ErrorInfo>,
}

/// Someone met in a room or written to: listed with their history whether online or not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    pub user: User,
    pub online: bool,
    pub conversation: Option<Conversation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    pub message: Message,
    pub snippet: String,
    pub conversation_title: String,
}
