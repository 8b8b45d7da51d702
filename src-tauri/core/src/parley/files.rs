//! Files and images: sending, the receiver's decisions, and getting at what arrived. Works
//! offline like messages: a file sent while offline waits in the outbox; accepting, declining
//! and cancelling are recorded at once and reach the other device when it is reachable.

use std::path::{Path, PathBuf};

use parley_history::{Direction, Message, TransferRecord, TransferState};

use super::Parley;
use crate::chat::{queue_file, ChatError};
use crate::error::CoreError;
use crate::events::CoreEvent;
use crate::files::{safe_name, FileError, FileSettings, PictureError};

impl Parley {
    /// Offers a file to a contact: it is read once (SHA-256, type, and for pictures a
    /// thumbnail), stored as a message of its own, and sent peer to peer when both devices are
    /// online. Large files take a few seconds to read.
    pub async fn send_file(&self, user_id: &str, path: &Path) -> Result<Message, CoreError> {
        let me = self.current_user().ok_or(CoreError::NotSignedIn)?;
        if user_id == me.id {
            return Err(ChatError::ToSelf.into());
        }
        let user = self.contact(user_id).await?;
        let file = self.inner.transfers.describe(path).await?;
        if let Some(engine) = self.engine() {
            if engine.me().is_some() {
                return Ok(engine.send_file(&user, file).await?);
            }
        }
        let (message, _) = queue_file(self.history(), &me, &user, file).await?;
        self.emit(CoreEvent::Message {
            message: message.clone(),
        });
        Ok(message)
    }

    /// Accepts a file that waits for the person's decision (over the auto-accept size).
    pub async fn accept_file(&self, conversation_id: &str, id: &str) -> Result<Message, CoreError> {
        Ok(self.inner.transfers.accept(conversation_id, id).await?)
    }

    /// Declines a file offered to us; the sender sees it declined.
    pub async fn decline_file(&self, conversation_id: &str, id: &str) -> Result<Message, CoreError> {
        Ok(self.inner.transfers.decline(conversation_id, id).await?)
    }

    /// Cancels a file, sent or received, that is not finished; both sides show it cancelled.
    pub async fn cancel_file(&self, conversation_id: &str, id: &str) -> Result<Message, CoreError> {
        Ok(self.inner.transfers.cancel(conversation_id, id).await?)
    }

    /// Continues a paused transfer (after freeing disk space or fixing the download folder).
    pub async fn resume_file(&self, conversation_id: &str, id: &str) -> Result<Message, CoreError> {
        Ok(self.inner.transfers.resume(conversation_id, id).await?)
    }

    /// Where received files go and which are taken without asking.
    pub fn file_settings(&self) -> FileSettings {
        self.inner.transfers.settings()
    }

    /// Changes them. A chosen folder must exist and be writable (it is not created: a missing
    /// one usually means a disk that is not plugged in).
    pub fn set_file_settings(&self, settings: FileSettings) -> Result<(), CoreError> {
        if let Some(folder) = &settings.downloads {
            safe_name::check_folder_writable(folder).map_err(FileError::from)?;
        }
        self.use_file_settings(settings);
        Ok(())
    }

    /// Applies saved settings without checking the folder (at start-up: a folder missing now
    /// pauses the transfers that need it, with the reason, instead of stopping the app).
    pub fn use_file_settings(&self, settings: FileSettings) {
        self.inner.transfers.set_settings(settings);
    }

    /// The file on this device behind a file message: the sender's original, or the received
    /// file once it is complete. Errors when it is not there (yet, or any more).
    pub async fn file_path(&self, id: &str) -> Result<PathBuf, CoreError> {
        let record = self.transfer(id).await?;
        let available = match record.direction {
            Direction::Outgoing => true,
            Direction::Incoming => record.file.state == TransferState::Complete,
        };
        let path = record
            .file
            .path
            .filter(|_| available)
            .ok_or(FileError::NotNow("that file has not arrived yet"))?;
        let path = PathBuf::from(path);
        if !path.exists() {
            return Err(FileError::Missing(path.display().to_string()).into());
        }
        Ok(path)
    }

    /// Copies a file message's file to `destination` ("Save as…"), replacing it if the person
    /// chose an existing file.
    pub async fn save_file_as(&self, id: &str, destination: &Path) -> Result<PathBuf, CoreError> {
        let source = self.file_path(id).await?;
        let destination = destination.to_owned();
        let copied = {
            let destination = destination.clone();
            tokio::task::spawn_blocking(move || std::fs::copy(&source, &destination))
                .await
                .map_err(std::io::Error::other)
                .and_then(|r| r)
        };
        copied.map_err(|e| FileError::Unreadable {
            path: destination.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(destination)
    }

    /// A picture for the viewer: the file decoded here with strict limits (size, memory,
    /// time) and re-encoded at most 2560 px wide, so the page never decodes a peer's bytes.
    /// Returns the image and its MIME type.
    pub async fn picture(&self, id: &str) -> Result<(Vec<u8>, &'static str), CoreError> {
        let path = self.file_path(id).await?;
        crate::files::display_copy(path)
            .await
            .map_err(|e: PictureError| CoreError::Picture(e.to_string()))
    }

    /// Makes this profile's receiving runs stop at `point` as if the app were killed there,
    /// until cleared (tests of what a restart recovers).
    #[cfg(feature = "test-utils")]
    pub fn crash_transfers_at(&self, point: Option<crate::files::CrashPoint>) {
        self.inner.transfers.crash_at(point);
    }

    async fn transfer(&self, id: &str) -> Result<TransferRecord, CoreError> {
        self.history()
            .transfer(id)
            .await?
            .ok_or_else(|| FileError::UnknownTransfer.into())
    }
}
