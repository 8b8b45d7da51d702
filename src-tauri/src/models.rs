//! Shapes only the desktop app has (the core's are `parley_core`'s).

use serde::{Deserialize, Serialize};

/// What the UI shows about the running build (and what a bug report should quote).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AppInfo {
    pub version: &'static str,
    pub debug: bool,
    pub os: &'static str,
    pub arch: &'static str,
    pub profile_dir: String,
}

/// A value with the number of the last event it reflects (see `AppState::snapshot`); the
/// value's fields are flattened beside `seq`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Numbered<T> {
    pub seq: u64,
    #[serde(flatten)]
    pub value: T,
}

/// What the page found in its webview at start-up (see `docs/webview-media.md`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MediaCaps {
    pub rtc_peer_connection: bool,
    pub get_user_media: bool,
    pub web_codecs: bool,
    pub audio_worklet: bool,
}

impl MediaCaps {
    /// How calls carry media in this webview (`docs/call-media-bridge.md`).
    pub fn call_path(&self) -> &'static str {
        if !self.get_user_media {
            "unavailable"
        } else if self.rtc_peer_connection {
            "webview WebRTC"
        } else if self.web_codecs && self.audio_worklet {
            "WebCodecs bridged to Rust WebRTC"
        } else {
            "unavailable"
        }
    }

    /// Whether this webview can carry a call: capture, and its own WebRTC or what the bridge to
    /// Rust's needs (WebCodecs to encode and decode, an AudioWorklet for sound).
    pub fn can_call(&self) -> bool {
        self.call_path() != "unavailable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_values_carry_seq_beside_their_fields() {
        let event = parley_core::CoreEvent::RoomLeft { room: "lobby".into() };
        let json = serde_json::to_value(Numbered { seq: 7, value: &event }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"seq": 7, "event": "room-left", "room": "lobby"})
        );
    }

    #[test]
    fn call_path_follows_what_the_webview_has() {
        let linux = MediaCaps {
            rtc_peer_connection: false,
            get_user_media: true,
            web_codecs: true,
            audio_worklet: true,
        };
        assert_eq!(linux.call_path(), "WebCodecs bridged to Rust WebRTC");
        assert!(linux.can_call());
        let no_worklet = MediaCaps {
            audio_worklet: false,
            ..linux
        };
        assert!(!no_worklet.can_call(), "no way to capture and play sound");
        let no_capture = MediaCaps {
            rtc_peer_connection: true,
            get_user_media: false,
            ..linux
        };
        assert!(!no_capture.can_call());
        let full = MediaCaps {
            rtc_peer_connection: true,
            ..linux
        };
        assert_eq!(full.call_path(), "webview WebRTC");
        assert!(full.can_call());
        assert_eq!(MediaCaps::default().call_path(), "unavailable");
    }
}
