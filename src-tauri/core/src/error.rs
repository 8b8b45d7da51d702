//! What every call of the front door can fail with: one enum whose variants say what happened,
//! each with a stable `code` for programs and a sentence for people; it serializes to
//! `{code, message}`.

use serde::Serialize;

use crate::api_client::ApiError;
use crate::chat::ChatError;
use crate::files::{FileError, FolderError};
use crate::profile_dir::ProfileDirError;
use crate::secrets::SecretError;
use crate::server_url::InvalidServerUrl;
use parley_history::HistoryError;

/// Every failure a front end can get.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The signaling server refused, could not be reached, or answered nonsense.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The OS keyring could not keep or give back a secret.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The profile directory is in use by another process, unreadable or damaged.
    #[error(transparent)]
    ProfileDir(#[from] ProfileDirError),
    /// The on-device history failed.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// A message was refused before it was stored.
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// A server address that cannot be used.
    #[error(transparent)]
    InvalidUrl(#[from] InvalidServerUrl),
    /// An invite that cannot be read.
    #[error("this invite cannot be used: {0}")]
    InvalidInvite(#[from] parley_protocol::InvalidInvite),
    /// Signing in over plain HTTP to another machine, not yet agreed to.
    #[error(
        "{0} does not use HTTPS: your password and your session would cross the network unencrypted, \
         readable and changeable by anyone on the way (the Wi-Fi, the network's owner). Use its https:// \
         address or invite if it has one; go on only on a network you trust."
    )]
    PlainHttp(String),
    /// The local network cannot be searched (no multicast).
    #[error(transparent)]
    Discovery(#[from] crate::discovery::DiscoveryError),
    /// The call needs a session.
    #[error("not signed in: log in or create an account first")]
    NotSignedIn,
    /// The call needs a server and none is known yet.
    #[error("no server chosen: pass a server URL (or use the embedded server)")]
    NoServer,
    /// The call needs the link to the server.
    #[error("not online: go online first")]
    NotOnline,
    /// Nobody by that name or id in the contacts.
    #[error("no contact {0:?}: they must have been in a room with you at least once")]
    UnknownContact(String),
    /// The "This device" server could not be hosted nor joined.
    #[error("the server on this device did not start: {0}")]
    ThisDeviceServer(#[source] crate::this_device::ThisDeviceError),
    /// A room name outside the rules.
    #[error("{0}")]
    InvalidRoom(String),
    /// The history is encrypted and the keyring has no key for it (`missing`), or not the right
    /// one: it stays locked, untouched, until the recovery code puts the key back.
    #[error(
        "your history is locked: {} Enter your recovery code to open it.",
        if *missing {
            "its key is not in this computer's keyring (a new or reset keyring?)."
        } else {
            "the key in this computer's keyring does not open it."
        }
    )]
    HistoryLocked {
        /// No key at all, rather than the wrong one.
        missing: bool,
    },
    /// Not a recovery code: 52 letters and digits, in groups of four.
    #[error("that is not a recovery code: it has 52 letters and digits, in groups of four")]
    InvalidRecoveryCode,
    /// A well-formed recovery code of another history.
    #[error("that recovery code does not open this history: check it, or use the code saved for this profile")]
    WrongRecoveryCode,
    /// Verifying a contact none of whose devices has been met yet.
    #[error("nothing to verify yet: no direct connection with {0} has been made from this device; chat with them first, then compare safety numbers")]
    NothingToVerify(String),
    /// No message with that id in the history.
    #[error("no message with id {0:?} in the history")]
    UnknownMessage(String),
    /// A file could not be sent, accepted, opened or saved.
    #[error(transparent)]
    File(#[from] FileError),
    /// A call could not be placed, answered or changed.
    #[error(transparent)]
    Call(#[from] crate::calls::CallError),
    /// A picture could not be shown (not an image, too large, corrupt).
    #[error("this picture cannot be shown: {0}")]
    Picture(String),
    /// A blocking keyring call did not finish.
    #[error("the keyring task failed: {0}")]
    Keyring(tokio::task::JoinError),
}

impl CoreError {
    /// The stable code of this error, for programs to branch on (`docs/app-ipc.md` lists them).
    pub fn code(&self) -> String {
        match self {
            CoreError::Api(ApiError::Server { code, .. }) => code.clone(),
            CoreError::Api(ApiError::Unreachable { .. }) => "server_unreachable".into(),
            CoreError::Api(ApiError::Protocol { .. }) => "server_protocol".into(),
            CoreError::Api(ApiError::UntrustedCertificate { .. }) => "untrusted_certificate".into(),
            CoreError::Api(ApiError::CertificateChanged { .. }) => "certificate_changed".into(),
            CoreError::Api(ApiError::InvalidUrl(_)) | CoreError::InvalidUrl(_) => "invalid_server_url".into(),
            CoreError::Api(ApiError::NotSignedIn) | CoreError::NotSignedIn => "not_signed_in".into(),
            CoreError::Secret(_) | CoreError::Keyring(_) => "keyring_unavailable".into(),
            CoreError::ProfileDir(ProfileDirError::InUse { .. }) => "profile_in_use".into(),
            CoreError::ProfileDir(_) => "profile_error".into(),
            CoreError::History(_) => "history_error".into(),
            CoreError::Chat(ChatError::InvalidMessage(_)) => "invalid_message".into(),
            CoreError::Chat(ChatError::ToSelf) => "message_to_self".into(),
            CoreError::Chat(ChatError::NotOnline) | CoreError::NotOnline => "not_online".into(),
            CoreError::Chat(ChatError::History(_)) => "history_error".into(),
            CoreError::Chat(ChatError::UnknownMessage(_)) => "unknown_message".into(),
            CoreError::Chat(ChatError::NotYours) => "not_your_message".into(),
            CoreError::Chat(ChatError::TooLate) => "edit_window_passed".into(),
            CoreError::Chat(ChatError::Deleted) => "message_deleted".into(),
            CoreError::Chat(ChatError::InvalidReaction) => "invalid_reaction".into(),
            CoreError::NoServer => "no_server".into(),
            CoreError::InvalidInvite(_) => "invalid_invite".into(),
            CoreError::PlainHttp(_) => "plain_http".into(),
            CoreError::Discovery(_) => "discovery_unavailable".into(),
            CoreError::UnknownContact(_) => "unknown_contact".into(),
            CoreError::ThisDeviceServer(crate::this_device::ThisDeviceError::NotHosting) => "not_hosting".into(),
            CoreError::ThisDeviceServer(_) => "embedded_server_failed".into(),
            CoreError::InvalidRoom(_) => "invalid_room".into(),
            CoreError::UnknownMessage(_) => "unknown_message".into(),
            CoreError::HistoryLocked { .. } => "history_locked".into(),
            CoreError::InvalidRecoveryCode => "invalid_recovery_code".into(),
            CoreError::WrongRecoveryCode => "wrong_recovery_code".into(),
            CoreError::NothingToVerify(_) => "nothing_to_verify".into(),
            CoreError::File(FileError::Unreadable { .. }) => "file_unreadable".into(),
            CoreError::File(FileError::NotAFile(_)) => "not_a_file".into(),
            CoreError::File(FileError::TooLarge) => "file_too_large".into(),
            CoreError::File(FileError::ChangedWhileReading(_)) => "file_changed".into(),
            CoreError::File(FileError::UnknownTransfer) => "unknown_transfer".into(),
            CoreError::File(FileError::NotNow(_)) => "transfer_finished".into(),
            CoreError::File(FileError::Missing(_)) => "file_missing".into(),
            CoreError::File(FileError::Folder(FolderError::Missing(_))) => "folder_missing".into(),
            CoreError::File(FileError::Folder(FolderError::NotAFolder(_))) => "not_a_folder".into(),
            CoreError::File(FileError::Folder(FolderError::ReadOnly(_))) => "folder_read_only".into(),
            CoreError::File(FileError::History(_)) => "history_error".into(),
            CoreError::Picture(_) => "picture_unavailable".into(),
            CoreError::Call(e) => e.code().into(),
        }
    }

    /// Whether the server could not be reached (as opposed to refusing): worth trying again.
    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(self, CoreError::Api(ApiError::Unreachable { .. }))
    }
}

impl Serialize for CoreError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let presented = match self {
            CoreError::Api(
                ApiError::UntrustedCertificate { presented, .. } | ApiError::CertificateChanged { presented, .. },
            ) => Some(presented.to_string()),
            _ => None,
        };
        let mut s = serializer.serialize_struct("CoreError", 2 + usize::from(presented.is_some()))?;
        s.serialize_field("code", &self.code())?;
        s.serialize_field("message", &self.to_string())?;
        // What the person compares with the server's own display before trusting it.
        if let Some(fingerprint) = presented {
            s.serialize_field("fingerprint", &fingerprint)?;
        }
        s.end()
    }
}
