//! Server configuration. `Config::default()` is what `parley-signal` with no arguments runs;
//! the binary maps its flags and environment variables onto this struct, and an embedding app
//! builds one directly.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Where the server keeps accounts, sessions and avatars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file, created (with its directory) on first start.
    Path(PathBuf),
    /// A private in-memory database: nothing survives a restart. For tests and throwaway servers.
    InMemory,
    /// A Redis server (`redis://host:port/db`, `rediss://…`, `redis+unix:///path`), shared by
    /// every node of a scaled-out deployment.
    #[cfg(feature = "redis")]
    Redis(String),
}

impl Default for Database {
    fn default() -> Self {
        Database::Path(PathBuf::from("parley-signal.db"))
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: Database,
    /// Browser origins allowed to call the API and open WebSockets. Empty means any origin:
    /// the API authenticates with bearer tokens, never cookies, so a foreign page cannot ride on
    /// a user's session.
    pub allowed_origins: Vec<String>,
    pub ice: IceConfig,
    pub limits: Limits,
    /// The opt-in PeerJS-compatible endpoint (`--peerjs-key`).
    pub peerjs: Option<PeerJsConfig>,
    /// Serve HTTPS and WSS with this certificate; `None`: plain HTTP (loopback, or behind a
    /// reverse proxy that terminates TLS).
    pub tls: Option<crate::tls::TlsSource>,
    /// Reverse proxies whose `X-Forwarded-For` is believed: a request from one of these counts,
    /// for the sign-in rate limits, as coming from the address the proxy names. From anyone
    /// else the header is ignored, or any client could pick its own address.
    pub trusted_proxies: Vec<IpAddr>,
    /// Scale-out: this server is one node of several sharing presence and relaying signals
    /// through Redis (`--redis`). `None`: a single server, presence in memory.
    #[cfg(feature = "redis")]
    pub cluster: Option<ClusterConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 7890)),
            database: Database::default(),
            allowed_origins: Vec::new(),
            ice: IceConfig::default(),
            limits: Limits::default(),
            peerjs: None,
            tls: None,
            trusted_proxies: Vec::new(),
            #[cfg(feature = "redis")]
            cluster: None,
        }
    }
}

/// How a node takes part in a scaled-out deployment.
#[cfg(feature = "redis")]
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The Redis server every node uses (the same URL form as [`Database::Redis`]).
    pub redis_url: String,
    /// A node that has not refreshed its liveness key for this long is taken for dead: the
    /// other nodes remove its peers from their rooms and tell the room-mates. It refreshes it
    /// every third of this.
    pub node_ttl: Duration,
}

#[cfg(feature = "redis")]
impl ClusterConfig {
    pub fn new(redis_url: impl Into<String>) -> Self {
        ClusterConfig {
            redis_url: redis_url.into(),
            node_ttl: Duration::from_secs(15),
        }
    }
}

/// ICE servers handed to clients by `GET /api/v1/ice-servers`.
#[derive(Debug, Clone)]
pub struct IceConfig {
    pub stun_urls: Vec<String>,
    pub turn_urls: Vec<String>,
    /// Static TURN credentials (used when no shared secret is set).
    pub turn_username: Option<String>,
    pub turn_credential: Option<String>,
    /// coturn `static-auth-secret`: with it, every request gets fresh time-limited credentials.
    pub turn_secret: Option<String>,
    pub turn_credential_ttl: Duration,
}

impl Default for IceConfig {
    fn default() -> Self {
        IceConfig {
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_username: None,
            turn_credential: None,
            turn_secret: None,
            turn_credential_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Limits {
    /// Register/login attempts one client address may burst, refilled over a minute.
    pub auth_per_minute: u32,
    /// Largest JSON request body.
    pub json_body_bytes: usize,
    /// Largest avatar upload.
    pub avatar_bytes: usize,
    /// Largest decoded avatar (width × height); bigger images are refused as decompression bombs.
    pub avatar_max_pixels: u64,
    /// Largest WebSocket frame answered with an `error` frame; anything above `ws_hard_frame_bytes`
    /// closes the connection.
    pub ws_frame_bytes: usize,
    pub ws_hard_frame_bytes: usize,
    /// Sustained frames per second per connection, and the burst allowed above that.
    pub ws_frames_per_sec: u32,
    pub ws_frame_burst: u32,
    /// Frames, and bytes, a connection may have queued towards it before it is considered
    /// stuck and closed.
    pub ws_send_queue: usize,
    pub ws_send_queue_bytes: usize,
    pub rooms_per_peer: usize,
    pub peers_per_room: usize,
    /// Time a header-less client has to send its `auth` frame.
    pub ws_auth_timeout: Duration,
    /// Interval of server pings, and the silence after which a connection is dropped.
    pub ws_ping_interval: Duration,
    pub ws_idle_timeout: Duration,
    pub session_ttl: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            auth_per_minute: 20,
            json_body_bytes: 16 * 1024,
            avatar_bytes: 5 * 1024 * 1024,
            avatar_max_pixels: 40_000_000,
            ws_frame_bytes: 64 * 1024,
            ws_hard_frame_bytes: 1024 * 1024,
            ws_frames_per_sec: 50,
            ws_frame_burst: 200,
            ws_send_queue: 1024,
            ws_send_queue_bytes: 4 * 1024 * 1024,
            rooms_per_peer: 32,
            peers_per_room: 1000,
            ws_auth_timeout: Duration::from_secs(5),
            ws_ping_interval: Duration::from_secs(20),
            ws_idle_timeout: Duration::from_secs(60),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PeerJsConfig {
    /// The API key clients pass as `key`.
    pub key: String,
    /// Clients silent for longer than this are dropped (PeerJS clients send HEARTBEAT every 5 s).
    pub alive_timeout: Duration,
    /// How long a message to an unconnected ID waits before the sender gets EXPIRE.
    pub expire_timeout: Duration,
    pub concurrent_limit: usize,
}

impl PeerJsConfig {
    pub fn new(key: impl Into<String>) -> Self {
        PeerJsConfig {
            key: key.into(),
            alive_timeout: Duration::from_secs(60),
            expire_timeout: Duration::from_secs(5),
            concurrent_limit: 50_000,
        }
    }
}
