//! How a [`crate::Parley`] runs. The defaults are the real thing; tests pick an in-memory
//! keyring, loopback-only WebRTC and short timings.

use std::path::PathBuf;
use std::time::Duration;

use parley_peer::PeerConfig;

use crate::secrets::StoreKind;

/// Everything [`crate::Parley::open`] needs besides the profile directory.
#[derive(Debug, Clone)]
pub struct ParleyOptions {
    /// Where the session token and other secrets are kept.
    pub keyring: StoreKind,
    /// The "This device" server, hosted by the first Parley process that needs it.
    pub this_device: ThisDevice,
    /// How WebRTC connections are built; [`PeerConfig::loopback`] keeps every packet on
    /// 127.0.0.1.
    pub peer: PeerConfig,
    /// Heartbeats and retries of the link to the server.
    pub timing: Timing,
    /// Where the webview has no WebRTC, capture a call's microphone from the desktop's sound
    /// server in Rust rather than take the page's (which WebKitGTK delivers 60–300 ms late;
    /// `docs/call-media-bridge.md`).
    pub microphone_in_rust: bool,
    /// Where the webview has no WebRTC, play the other side's sound on the desktop's sound
    /// server in Rust rather than in the page (whose audio output costs WebKitGTK about 0.1 CPU
    /// s per s; `docs/call-media-bridge.md`).
    pub speaker_in_rust: bool,
}

impl ParleyOptions {
    /// The real thing, with the "This device" server's data in `this_device_dir`.
    pub fn new(this_device_dir: PathBuf) -> ParleyOptions {
        ParleyOptions {
            keyring: StoreKind::Os,
            this_device: ThisDevice {
                dir: this_device_dir,
                port: ThisDevice::DEFAULT_PORT,
                share_port: ThisDevice::DEFAULT_SHARE_PORT,
                announce: true,
            },
            peer: PeerConfig::default(),
            timing: Timing::default(),
            microphone_in_rust: true,
            speaker_in_rust: true,
        }
    }
}

/// Where the "This device" server lives. One machine has one: its data in a per-machine
/// directory (every profile shares its accounts), listening on a fixed loopback port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThisDevice {
    /// Its accounts, sessions and avatars (`server.db`).
    pub dir: PathBuf,
    /// Its loopback port.
    pub port: u16,
    /// The port it listens on for other devices, over HTTPS, while "Let others join" is on
    /// (every interface; 0 picks a free one).
    pub share_port: u16,
    /// Announce it on the local network by multicast DNS while shared (tests turn it off: their
    /// traffic must not leave the machine).
    pub announce: bool,
}

impl ThisDevice {
    /// The loopback port of the "This device" server unless configured otherwise.
    pub const DEFAULT_PORT: u16 = 7890;
    /// The port others join it on unless configured otherwise: the next one.
    pub const DEFAULT_SHARE_PORT: u16 = 7891;
}

/// Timing of the link to the server. The defaults suit real networks; tests shorten them.
#[derive(Debug, Clone)]
pub struct Timing {
    /// How often the client pings, so a link that died silently (NAT timeout, suspended
    /// laptop) is noticed here too, not only by the server.
    pub heartbeat: Duration,
    /// Silence after which the link is considered dead. The server pings every 20 s, so a
    /// live link is never this quiet.
    pub dead_after: Duration,
    /// Limit for TCP, TLS, the WebSocket upgrade and the `welcome` frame together.
    pub connect_timeout: Duration,
    /// First delay before trying the server again (reconnecting, resuming a session); doubles
    /// per failed attempt up to `retry_max`.
    pub retry_min: Duration,
    /// Longest delay between attempts.
    pub retry_max: Duration,
    /// A connection that lasted this long counts as healthy: the next drop starts the
    /// backoff afresh instead of continuing to wait long.
    pub stable_after: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            heartbeat: Duration::from_secs(15),
            dead_after: Duration::from_secs(45),
            connect_timeout: Duration::from_secs(15),
            retry_min: Duration::from_millis(500),
            retry_max: Duration::from_secs(30),
            stable_after: Duration::from_secs(30),
        }
    }
}
