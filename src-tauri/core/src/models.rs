//! What a front end shows: the shapes [`crate::Parley`] takes and returns, serialized as JSON for
//! the desktop UI (`docs/app-ipc.md`; the UI's TypeScript types are generated from these).

use parley_history::{Conversation, Message};
use parley_peer::Route;
use parley_protocol::{Peer, User};
use serde::{Deserialize, Serialize};

/// Which signaling server a person uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ServerChoice {
    /// "This device": the server hosted in-process by a Parley app on this machine.
    #[default]
    Embedded,
    /// A server somewhere else.
    Url {
        /// As typed; normalised when used (see `ServerUrl`).
        url: String,
    },
}

/// Where a profile's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Connection {
    /// No session: sign in or create an account.
    SignedOut,
    /// Signed in, the server link being set up.
    Connecting,
    /// Signed in and reachable by others.
    Online,
    /// Signed in, the server out of reach: history works, reconnecting in the background.
    Offline,
}

/// An error as a front end shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorInfo {
    /// Stable, for programs (see `CoreError::code`).
    pub code: String,
    /// For people.
    pub message: String,
}

/// A joined room and who is in it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomState {
    /// The room's name.
    pub room: String,
    /// Everyone else in it (empty while offline).
    pub peers: Vec<Peer>,
}

/// Everything a front end needs to draw its main screen at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Snapshot {
    /// Where the session stands.
    pub connection: Connection,
    /// Who is signed in: as the server last said, or (offline) as this device remembers.
    pub me: Option<User>,
    /// The last username used on this profile (prefills sign-in; names the offline user).
    pub username: Option<String>,
    /// The server chosen for this session.
    pub server: ServerChoice,
    /// The URL in use (also for "This device").
    pub server_url: Option<String>,
    /// Joined rooms with their rosters.
    pub rooms: Vec<RoomState>,
    /// Why the last restore or connection failed, while it holds.
    pub error: Option<ErrorInfo>,
    /// The history's recovery code has not been confirmed as saved yet: show it
    /// (`Parley::recovery_code`) until the person has (`Parley::recovery_code_saved`).
    pub recovery_code_pending: bool,
}

/// Someone met in a room or written to: listed with their history whether online or not.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Contact {
    /// Their public profile, the freshest known.
    pub user: User,
    /// At least one of their devices shares a room with us now.
    pub online: bool,
    /// How the direct channel to them travels, while one is open (the best of their devices').
    pub route: Option<Route>,
    /// Our conversation with them, if there is one.
    pub conversation: Option<Conversation>,
}

/// One message found by a search.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchResult {
    /// The whole message.
    pub message: Message,
    /// The text around the match, matched terms between U+0002 and U+0003.
    pub snippet: String,
    /// The title of the conversation it is in.
    pub conversation_title: String,
}

/// What comparing with a contact's device proves: the safety number both sides compute, and
/// where trust in that device stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SafetyNumber {
    /// The contact's user id.
    pub user_id: String,
    /// Their device (as it identified itself).
    pub device: String,
    /// 60 digits, the same on both sides; in twelve groups of five.
    pub number: String,
    /// The person compared it and marked the contact verified.
    pub verified: bool,
    /// This device proved a different key since: the number shown is the one of the new key,
    /// which the person must accept (and should compare again) before sending resumes.
    pub changed: bool,
    /// The number as a QR code (SVG), for scanning instead of reading aloud.
    pub qr_svg: String,
}

/// "Let others join": this device's server open to other devices on the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Sharing {
    /// The TCP port others connect to (the firewall must let it in).
    pub port: u16,
    /// The certificate's fingerprint, grouped for reading out (`3F2A 91BC …`).
    pub fingerprint: String,
    /// One invite per address of this computer (`parley://join?…`), the likeliest first.
    pub invites: Vec<String>,
    /// The addresses, as people read them (`192.168.1.20:7891`), in the same order.
    pub addresses: Vec<String>,
    /// The first invite as a QR code (SVG).
    pub qr_svg: String,
}
