//! Calls, for the page: place, answer, decline, hang up, and the page's media connection's
//! negotiation and state. Calls need both people online; their entries stay in the
//! conversation's history like messages.

use super::Parley;
use crate::calls::{CallError, CallSignal, CallView};
use crate::error::CoreError;

impl Parley {
    /// Calls `user_id` (video, or sound only) on every device of theirs that is online. Follow
    /// it with `Call` and `CallSignal` events.
    pub async fn start_call(&self, user_id: &str, video: bool) -> Result<CallView, CoreError> {
        let engine = self.engine().ok_or(CallError::NotReachable)?;
        Ok(engine.start_call(user_id, video).await?)
    }

    /// Answers the call ringing here.
    pub async fn answer_call(&self, call_id: &str) -> Result<(), CoreError> {
        Ok(self.call_engine()?.answer_call(call_id).await?)
    }

    /// Declines the call ringing here; the caller sees it declined.
    pub async fn decline_call(&self, call_id: &str) -> Result<(), CoreError> {
        Ok(self.call_engine()?.decline_call(call_id).await?)
    }

    /// Ends the call: cancels it while it rings there, declines it while it rings here, hangs
    /// up once answered.
    pub async fn hang_up(&self, call_id: &str) -> Result<(), CoreError> {
        Ok(self.call_engine()?.hang_up_call(call_id).await?)
    }

    /// The page's description or ICE candidate for the other side.
    pub async fn call_signal(&self, call_id: &str, signal: CallSignal) -> Result<(), CoreError> {
        Ok(self.call_engine()?.call_signal(call_id, signal).await?)
    }

    /// The page's media connection is up (`failure` None), or could not be made / broke for
    /// good (`failure` says why, in words for the person).
    pub async fn call_media_state(&self, call_id: &str, failure: Option<&str>) -> Result<(), CoreError> {
        Ok(self.call_engine()?.call_media_state(call_id, failure).await?)
    }

    /// What this side sends now (microphone muted, camera off), for the other side to show.
    pub async fn set_call_media(&self, call_id: &str, audio: bool, video: bool) -> Result<(), CoreError> {
        self.inner.media.microphone_on(call_id, audio);
        Ok(self.call_engine()?.set_call_media(call_id, audio, video).await?)
    }

    /// The call going on or ringing, if any (a page that reloads picks it up again).
    pub fn current_call(&self) -> Option<CallView> {
        self.engine().and_then(|e| e.current_call())
    }

    /// Whether this device's page can take calls; when it cannot, calls to it are answered
    /// "unsupported" and kept as missed. Kept across sign-ins.
    pub fn set_calls_supported(&self, supported: bool) {
        self.inner
            .calls_supported
            .store(supported, std::sync::atomic::Ordering::Relaxed);
        if let Some(engine) = self.engine() {
            engine.set_calls_supported(supported);
        }
    }

    fn call_engine(&self) -> Result<crate::chat::ChatEngine, CallError> {
        self.engine().ok_or(CallError::NoSuchCall)
    }
}
