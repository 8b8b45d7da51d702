//! Wire types of API v1: HTTP bodies and WebSocket frames. This module is the contract shared
//! by the server and every Rust client (the app core uses it as-is); `docs/protocol.md`
//! describes the same types for everyone else. Changing a field here is a protocol change.

use serde::{Deserialize, Serialize};

/// The path prefix every v1 endpoint lives under.
pub const API_PREFIX: &str = "/api/v1";
pub const PROTOCOL_VERSION: u32 = 1;

/// A user as others see them. `email` is only present on your own account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub status: String,
    /// Relative URL of the avatar (changes whenever the avatar does), or null.
    pub avatar_url: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub username: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or email address.
    pub login: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthResponse {
    pub user: User,
    pub token: String,
}

/// `PUT /me`: absent (or null) fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub name: String,
    /// Peers (connections, not users) currently in the room.
    pub online: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoomList {
    pub rooms: Vec<RoomSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    pub peer_id: String,
    pub user: User,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerList {
    pub peers: Vec<Peer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IceServers {
    pub ice_servers: Vec<IceServer>,
}

/// Body of every error response and of `error` frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
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
        token: String,
    },
    Join {
        room: String,
    },
    Leave {
        room: String,
    },
    /// `data` is opaque to the server (an SDP offer/answer or ICE candidate, usually).
    Signal {
        to: String,
        data: serde_json::Value,
    },
    Ping,
}

/// Frames the server sends on `GET /api/v1/ws`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerFrame {
    Welcome {
        peer_id: String,
        user: User,
    },
    /// Answer to `join`: everyone already in the room, without yourself.
    Joined {
        room: String,
        peers: Vec<Peer>,
    },
    /// Answer to `leave`.
    Left {
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
    /// A peer in one of your rooms changed its profile.
    PeerUpdated {
        room: String,
        peer: Peer,
    },
    Signal {
        from: String,
        user: User,
        data: serde_json::Value,
    },
    Pong,
    Error {
        code: String,
        message: String,
    },
}

/// Stable `code` values of errors, HTTP and WebSocket alike.
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
