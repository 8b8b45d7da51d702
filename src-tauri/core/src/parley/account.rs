//! The account on the server: rooms (the directory, joining and leaving), the public profile and
//! avatars.

use parley_protocol::{Peer, ProfileUpdate, RoomSummary, User};

use super::Parley;
use crate::error::CoreError;
use crate::events::CoreEvent;
use crate::models::RoomState;

impl Parley {
    /// The server's rooms with someone in them.
    pub async fn room_directory(&self) -> Result<Vec<RoomSummary>, CoreError> {
        Ok(self.api()?.rooms().await?)
    }

    /// Who is in a room, as the server sees it (without joining).
    pub async fn room_peers(&self, room: &str) -> Result<Vec<Peer>, CoreError> {
        Ok(self.api()?.room_peers(room).await?)
    }

    /// Joins a room now and on every later start, until left. The roster follows as
    /// [`CoreEvent::RoomJoined`].
    pub fn join_room(&self, room: &str) -> Result<RoomState, CoreError> {
        parley_protocol::validate::room(room).map_err(|e| CoreError::InvalidRoom(e.message))?;
        let engine = self.online_engine()?;
        engine.link().join(room).map_err(|_| CoreError::NotOnline)?;
        self.inner.profile.lock().remember(|r| {
            if !r.rooms.iter().any(|known| known == room) {
                r.rooms.push(room.to_owned());
            }
        })?;
        Ok(RoomState {
            room: room.to_owned(),
            peers: engine.link().roster(room),
        })
    }

    /// Leaves a room, now and for later starts.
    pub fn leave_room(&self, room: &str) -> Result<(), CoreError> {
        if let Some(engine) = self.engine() {
            engine.link().leave(room).map_err(|_| CoreError::NotOnline)?;
        }
        self.inner
            .profile
            .lock()
            .remember(|r| r.rooms.retain(|known| known != room))?;
        self.emit(CoreEvent::RoomLeft { room: room.to_owned() });
        Ok(())
    }

    /// Changes display name, bio or status; `None` fields stay as they are.
    pub async fn update_profile(&self, update: &ProfileUpdate) -> Result<User, CoreError> {
        let user = self.api()?.update_profile(update).await?;
        self.remember_user(&user);
        Ok(user)
    }

    /// Uploads an avatar (PNG, JPEG, GIF, WebP or BMP); the server scales and re-encodes it.
    pub async fn upload_avatar(&self, image: Vec<u8>) -> Result<User, CoreError> {
        let user = self.api()?.upload_avatar(image).await?;
        self.remember_user(&user);
        Ok(user)
    }

    /// A user's (or our own) avatar bytes, `None` when they have none. Pictures are kept in the
    /// history under their URL (which changes with the picture), so they show after a restart,
    /// before the server answers and with no network at all.
    pub async fn avatar(&self, user_id: &str) -> Result<Option<Vec<u8>>, CoreError> {
        let user = match self.current_user().filter(|me| me.id == user_id) {
            Some(me) => me,
            None => self.contact(user_id).await?,
        };
        let Some(url) = user.avatar_url else {
            return Ok(None);
        };
        let history = self.history();
        if let Some(bytes) = history.cached_avatar(user_id, &url).await? {
            return Ok(Some(bytes));
        }
        let Some(avatar) = self.api()?.avatar(user_id).await? else {
            return Ok(None);
        };
        if let Err(e) = history.cache_avatar(user_id, &url, avatar.bytes.clone()).await {
            tracing::warn!(error = %e, "avatar not kept for offline use");
        }
        Ok(Some(avatar.bytes))
    }
}
