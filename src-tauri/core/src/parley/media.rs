//! A call's media connection in Rust, for a page whose webview has no WebRTC
//! (`docs/call-media-bridge.md`): the page encodes and decodes, the core carries the media.
//! Only the current call has one; it closes when the call ends, whoever ends it.

use std::time::Duration;

use bytes::Bytes;

use super::Parley;
use crate::calls::{CallError, CallIceServer, CallMicrophone, CallPhase, CallSignal, CallSpeaker};
use crate::error::CoreError;

/// How often an open media connection checks that its call still goes on.
const WATCH_EVERY: Duration = Duration::from_millis(500);

impl Parley {
    /// Makes the media connection of the current call, on the core's `start` signal: the offer
    /// (from the caller) comes out of [`Parley::media_receive`] as an event.
    pub async fn media_open(
        &self,
        call_id: &str,
        offerer: bool,
        video: bool,
        ice_servers: &[CallIceServer],
    ) -> Result<(), CoreError> {
        if !self.call_goes_on(call_id) {
            return Err(CallError::NoSuchCall.into());
        }
        let media = &self.inner.media;
        media
            .open(call_id, offerer, video, &self.inner.options.peer, ice_servers)
            .await?;
        // Closed with its call, even when the page that opened it is gone.
        let weak = std::sync::Arc::downgrade(&self.inner);
        let call_id = call_id.to_owned();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(WATCH_EVERY).await;
                let Some(inner) = weak.upgrade() else { return };
                let parley = Parley { inner };
                if parley.inner.media.open_call().as_deref() != Some(call_id.as_str()) {
                    return;
                }
                if !parley.call_goes_on(&call_id) {
                    parley.inner.media.close(&call_id).await;
                    return;
                }
            }
        });
        Ok(())
    }

    /// The other side's description or candidate, for the media connection.
    pub async fn media_signal(&self, call_id: &str, signal: CallSignal) -> Result<(), CoreError> {
        Ok(self.inner.media.signal(call_id, signal).await?)
    }

    /// What the page encoded, as records.
    pub async fn media_send(&self, call_id: &str, records: Bytes) -> Result<(), CoreError> {
        Ok(self.inner.media.send(call_id, records).await?)
    }

    /// The microphone the page opened, by its label: captured from the desktop's sound server
    /// and sent by the core when it can be (then the page sends no sound of its own), muted
    /// unless `on`; later mutes come with [`Parley::set_call_media`].
    pub async fn media_microphone(&self, call_id: &str, label: &str, on: bool) -> Result<CallMicrophone, CoreError> {
        if !self.inner.options.microphone_in_rust {
            self.inner.media.ensure_open(call_id)?;
            return Ok(CallMicrophone {
                captured: false,
                echo_cancelled: false,
                detail: "capturing the microphone in Rust is turned off".into(),
            });
        }
        Ok(self.inner.media.microphone(call_id, label, on).await?)
    }

    /// The other side's sound played by the core on the desktop's sound server when it can be
    /// (then the page gets none to play), from now on.
    pub async fn media_speaker(&self, call_id: &str) -> Result<CallSpeaker, CoreError> {
        if !self.inner.options.speaker_in_rust {
            self.inner.media.ensure_open(call_id)?;
            return Ok(CallSpeaker {
                playing: false,
                echo_cancelled: false,
                detail: "playing the call's sound in Rust is turned off".into(),
            });
        }
        Ok(self.inner.media.speaker(call_id).await?)
    }

    /// What arrived and the connection's events, as records; nothing after a second of quiet.
    pub async fn media_receive(&self, call_id: &str) -> Result<Vec<u8>, CoreError> {
        Ok(self.inner.media.receive(call_id).await?)
    }

    /// Closes the call's media connection.
    pub async fn media_close(&self, call_id: &str) {
        self.inner.media.close(call_id).await;
    }

    fn call_goes_on(&self, call_id: &str) -> bool {
        self.current_call()
            .is_some_and(|c| c.id == call_id && matches!(c.phase, CallPhase::Connecting | CallPhase::Active))
    }
}
