//! Parley's app core: everything a person does except drawing pixels. Plain Rust with no Tauri
//! types, so it runs headless.
//!
//! [`Parley`] is the front door: one profile, running. The desktop app's commands are a thin
//! adapter over it, `parley-cli` drives it for scripting, bots and black-box tests, and the
//! cross-crate tests drive it too, so each feature is wired once and every front end runs the
//! same code. Everything else here is what its methods take and return.
//!
//! Inside (private): the signaling server's HTTP API ([`api_client`](self)), the WebSocket link
//! to it (`server_link`), chat on top of the peer layer (`chat`, over [`parley_peer`]), the
//! history ([`parley_history`]), the profile directory, the OS keyring and the "This device"
//! server.

#![warn(missing_docs, unreachable_pub)]

mod api_client;
mod backoff;
mod calls;
mod chat;
mod device_identity;
mod discovery;
mod error;
mod events;
mod files;
mod history_key;
mod ids;
mod models;
mod options;
mod parley;
mod profile_dir;
mod qr;
mod safety_number;
mod secrets;
mod server_link;
mod server_tls;
mod server_url;
#[cfg(test)]
mod test_support;
mod this_device;

pub use api_client::ApiError;
pub use calls::{
    CallEnd, CallError, CallIceServer, CallMicrophone, CallPhase, CallSignal, CallSpeaker, CallView,
    MediaConnectionState, MediaEvent, Party, SdpKind,
};
pub use chat::{ChatError, FrameError, EDIT_WINDOW_MS, MAX_BODY_CHARS};
pub use error::CoreError;
pub use events::CoreEvent;
#[cfg(feature = "test-utils")]
pub use files::CrashPoint;
pub use files::{default_download_folder, FileError, FileSettings, FolderError};
pub use models::{
    Connection, Contact, ErrorInfo, RoomState, SafetyNumber, SearchResult, ServerChoice, Sharing, Snapshot,
};
pub use options::{ParleyOptions, ThisDevice, Timing};
pub use parley::{Parley, DEFAULT_PAGE};
pub use profile_dir::ProfileDirError;
pub use secrets::{SecretError, StoreKind};
pub use server_url::{InvalidServerUrl, ServerUrl};
pub use this_device::ThisDeviceError;

pub use discovery::DiscoveredServer;
pub use parley_history::{
    CallOutcome, CallRecord, Conversation, Cursor, DeliveryState, Direction, FileTransfer, HistoryError, InvalidCursor,
    Message, Page, Reaction, ReplyPreview, TransferState, MAX_PAGE, SNIPPET_MATCH_END, SNIPPET_MATCH_START,
};
pub use parley_peer::{IceServer, PeerConfig, Route};
pub use parley_protocol::{Fingerprint, Invite, Peer, ProfileUpdate, RoomSummary, User};
