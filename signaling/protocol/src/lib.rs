//! Parley's signaling API v1 on the wire: HTTP bodies, WebSocket frames, error codes, and the
//! bounds of every field a person types ([`validate`]). This crate is the contract shared by the
//! server (`parley-signal`) and every Rust client (the app core uses it as-is);
//! `docs/protocol.md` describes the same types for everyone else. Changing a field here is a
//! protocol change.

#![warn(missing_docs, unreachable_pub)]

pub mod invite;
pub mod validate;

use serde::{Deserialize, Serialize};

/// The path prefix every v1 endpoint lives under.
pub const API_PREFIX: &str = "/api/v1";
/// The API version this crate describes.
pub const PROTOCOL_VERSION: u32 = 1;

/// A user as others see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct User {
    /// Stable and unique; never shown to people.
    pub id: String,
    /// Unique, chosen at sign-up; see [`validate::username`].
    pub username: String,
    /// What others see; defaults to the username.
    pub display_name: String,
    /// A few lines about the person (may be empty).
    pub bio: String,
    /// A short status line (may be empty).
    pub status: String,
    /// Relative URL of the avatar (changes whenever the avatar does), or null.
    pub avatar_url: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Only on your own account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `POST /register`: create an account and sign in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// See [`validate::username`].
    pub username: String,
    /// See [`validate::email`].
    pub email: String,
    /// See [`validate::password`].
    pub password: String,
    /// Defaults to the username.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `POST /login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or email address.
    pub login: String,
    /// The account's password.
    pub password: String,
}

/// Answer to `register` and `login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthResponse {
    /// The signed-in account, email included.
    pub user: User,
    /// The session's bearer token: keep it secret.
    pub token: String,
}

/// `PUT /me`: absent (or null) fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// See [`validate::display_name`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// See [`validate::bio`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    /// See [`validate::status`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A room of the directory (`GET /rooms`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomSummary {
    /// See [`validate::room`].
    pub name: String,
    /// Peers (connections, not users) currently in the room.
    pub online: usize,
}

/// `GET /rooms`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoomList {
    /// Every room with someone in it.
    pub rooms: Vec<RoomSummary>,
}

/// One connection of a signed-in user: the address signals are relayed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Peer {
    /// Chosen by the server per connection; dies with it.
    pub peer_id: String,
    /// Whose connection this is, as the server vouches.
    pub user: User,
}

/// `GET /rooms/{room}/peers`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerList {
    /// Who is in the room.
    pub peers: Vec<Peer>,
}

/// A STUN or TURN server for WebRTC, as `RTCIceServer` in browsers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:`, `stuns:`, `turn:` or `turns:` URLs of one server.
    pub urls: Vec<String>,
    /// TURN only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN only; a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `GET /ice-servers`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IceServers {
    /// The server's STUN/TURN servers (TURN credentials short-lived when it mints them).
    pub ice_servers: Vec<IceServer>,
}

/// Body of every error response and of `error` frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One of [`codes`]: what programs branch on.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The request field at fault, for `invalid_input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Frames a client sends on `GET /api/v1/ws`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ClientFrame {
    /// First frame, for clients that cannot send an `Authorization` header.
    Auth {
        /// The session token.
        token: String,
    },
    /// Enter a room (answered by [`ServerFrame::Joined`] or an `error`).
    Join {
        /// See [`validate::room`].
        room: String,
    },
    /// Leave a room (answered by [`ServerFrame::Left`]).
    Leave {
        /// A room joined before.
        room: String,
    },
    /// Relay `data` to a peer that shares a room with the sender.
    Signal {
        /// The receiving peer's id.
        to: String,
        /// Opaque to the server (an SDP offer/answer or ICE candidate, usually).
        data: serde_json::Value,
    },
    /// Answered by [`ServerFrame::Pong`]: proves the link is alive.
    Ping,
}

/// Frames the server sends on `GET /api/v1/ws`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerFrame {
    /// First frame once authenticated.
    Welcome {
        /// This connection's id; others send signals to it.
        peer_id: String,
        /// The signed-in account.
        user: User,
    },
    /// Answer to `join`: everyone already in the room, without yourself.
    Joined {
        /// The room joined.
        room: String,
        /// Who is in it.
        peers: Vec<Peer>,
    },
    /// Answer to `leave`.
    Left {
        /// The room left.
        room: String,
    },
    /// Someone entered one of your rooms.
    PeerJoined {
        /// The room.
        room: String,
        /// Who came.
        peer: Peer,
    },
    /// Someone left one of your rooms (or disconnected).
    PeerLeft {
        /// The room.
        room: String,
        /// The connection that left.
        peer_id: String,
    },
    /// A peer in one of your rooms changed its profile.
    PeerUpdated {
        /// The room.
        room: String,
        /// The peer with its new profile.
        peer: Peer,
    },
    /// A relayed [`ClientFrame::Signal`].
    Signal {
        /// The sending peer's id.
        from: String,
        /// The sender as the server knows it: the only identity a receiver may trust.
        user: User,
        /// As the sender wrote it.
        data: serde_json::Value,
    },
    /// Answer to [`ClientFrame::Ping`].
    Pong,
    /// A refused frame; see [`codes`].
    Error {
        /// One of [`codes`].
        code: String,
        /// A sentence for people.
        message: String,
    },
}

impl ServerFrame {
    /// Every `type` this version sends: a client tells frames of a newer server (skipped) from
    /// malformed ones (a bug) by it.
    pub const TYPES: [&'static str; 9] = [
        "welcome",
        "joined",
        "left",
        "peer-joined",
        "peer-left",
        "peer-updated",
        "signal",
        "pong",
        "error",
    ];
}

/// Stable `code` values of errors, HTTP and WebSocket alike (`docs/protocol.md` says when each
/// is sent).
#[allow(missing_docs)]
pub mod codes {
    pub const INVALID_INPUT: &str = "invalid_input";
    pub const USERNAME_TAKEN: &str = "username_taken";
    pub const EMAIL_TAKEN: &str = "email_taken";
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const UNSUPPORTED_MEDIA: &str = "unsupported_media_type";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const FORBIDDEN_ORIGIN: &str = "forbidden_origin";
    pub const INTERNAL: &str = "internal";
    pub const UNAVAILABLE: &str = "unavailable";
    // WebSocket only.
    pub const BAD_FRAME: &str = "bad_frame";
    pub const UNKNOWN_TYPE: &str = "unknown_type";
    pub const FRAME_TOO_LARGE: &str = "frame_too_large";
    pub const UNKNOWN_PEER: &str = "unknown_peer";
    pub const NOT_IN_ROOM: &str = "not_in_room";
    pub const INVALID_ROOM: &str = "invalid_room";
    pub const TOO_MANY_ROOMS: &str = "too_many_rooms";
    pub const ROOM_FULL: &str = "room_full";
    pub const ALREADY_AUTHENTICATED: &str = "already_authenticated";
}

pub use invite::{Fingerprint, InvalidInvite, Invite};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_frame_type_is_listed() {
        let user = User {
            id: "u".into(),
            username: "u".into(),
            display_name: "u".into(),
            bio: String::new(),
            status: String::new(),
            avatar_url: None,
            created_at: 0,
            email: None,
        };
        let peer = Peer {
            peer_id: "p".into(),
            user: user.clone(),
        };
        let room = || "r".to_owned();
        let frames = [
            ServerFrame::Welcome {
                peer_id: "p".into(),
                user: user.clone(),
            },
            ServerFrame::Joined {
                room: room(),
                peers: vec![],
            },
            ServerFrame::Left { room: room() },
            ServerFrame::PeerJoined {
                room: room(),
                peer: peer.clone(),
            },
            ServerFrame::PeerLeft {
                room: room(),
                peer_id: "p".into(),
            },
            ServerFrame::PeerUpdated { room: room(), peer },
            ServerFrame::Signal {
                from: "p".into(),
                user,
                data: serde_json::Value::Null,
            },
            ServerFrame::Pong,
            ServerFrame::Error {
                code: codes::BAD_FRAME.into(),
                message: String::new(),
            },
        ];
        // Compiles only while every variant is named: a new one must join `frames` and TYPES.
        for frame in &frames {
            match frame {
                ServerFrame::Welcome { .. }
                | ServerFrame::Joined { .. }
                | ServerFrame::Left { .. }
                | ServerFrame::PeerJoined { .. }
                | ServerFrame::PeerLeft { .. }
                | ServerFrame::PeerUpdated { .. }
                | ServerFrame::Signal { .. }
                | ServerFrame::Pong
                | ServerFrame::Error { .. } => {}
            }
        }
        let types: Vec<String> = frames
            .iter()
            .map(|f| serde_json::to_value(f).unwrap()["type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(types, ServerFrame::TYPES);
    }
}
