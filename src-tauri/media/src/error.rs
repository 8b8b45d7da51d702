//! What can go wrong with a call's media connection.

/// Errors of [`crate::MediaSession`].
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// webrtc-rs refused: the connection could not be made or used.
    #[error("the media connection failed: {0}")]
    WebRtc(String),
    /// A description or candidate that cannot be used (malformed, or not expected now).
    #[error("unusable call signal: {0}")]
    Signal(String),
    /// The microphone cannot be captured in Rust here: the page sends its own sound.
    #[error(transparent)]
    Microphone(#[from] crate::microphone::MicrophoneError),
    /// The other side's sound can't be played in Rust here: the page plays it.
    #[error(transparent)]
    Speaker(#[from] crate::speaker::SpeakerError),
}

impl MediaError {
    pub(crate) fn webrtc(e: impl std::fmt::Display) -> MediaError {
        MediaError::WebRtc(e.to_string())
    }
}
