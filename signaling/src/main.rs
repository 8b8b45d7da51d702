//! `parley-signal`: the signaling server binary. Every flag has an environment equivalent so
//! the server can be configured in a container or a systemd unit without a command line.

// Its first line of output is the address it listens on.
#![allow(clippy::print_stdout)]

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use parley_signal::{ClusterConfig, Config, Database, IceConfig, Invite, Limits, PeerJsConfig, Server, TlsSource};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "parley-signal",
    version,
    about = "Parley's signaling server: accounts, rooms, presence, WebRTC signal relay"
)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "PARLEY_LISTEN", default_value = "127.0.0.1:7890")]
    listen: SocketAddr,
    /// SQLite database file (created if missing).
    #[arg(
        long,
        env = "PARLEY_DB",
        default_value = "parley-signal.db",
        conflicts_with_all = ["memory_db", "redis"]
    )]
    db: PathBuf,
    /// Keep everything in memory (nothing survives a restart): for tests and demos.
    #[arg(long, env = "PARLEY_MEMORY_DB", conflicts_with = "redis")]
    memory_db: bool,
    /// Scale out: keep accounts in this Redis and share presence and signals with every other
    /// node using it, e.g. redis://10.0.0.5:6379/0 (see docs/scale-out.md).
    #[arg(long, env = "PARLEY_REDIS")]
    redis: Option<String>,
    /// With --redis: seconds after which a node that stopped refreshing its liveness is taken
    /// for dead and its peers leave their rooms.
    #[arg(long, env = "PARLEY_NODE_TTL", default_value_t = 15)]
    node_ttl: u64,
    /// Browser origin allowed to use the API (repeat or comma-separate; default: any).
    #[arg(long = "allowed-origin", env = "PARLEY_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// STUN server URL handed to clients, e.g. stun:stun.example.org:3478 (repeatable).
    #[arg(long = "stun", env = "PARLEY_STUN_URLS", value_delimiter = ',')]
    stun_urls: Vec<String>,
    /// TURN server URL handed to clients, e.g. turn:turn.example.org:3478 (repeatable).
    #[arg(long = "turn", env = "PARLEY_TURN_URLS", value_delimiter = ',')]
    turn_urls: Vec<String>,
    /// Static TURN username (when no shared secret is set).
    #[arg(long, env = "PARLEY_TURN_USERNAME")]
    turn_username: Option<String>,
    /// Static TURN password (when no shared secret is set).
    #[arg(long, env = "PARLEY_TURN_CREDENTIAL")]
    turn_credential: Option<String>,
    /// coturn static-auth-secret: hand out short-lived TURN credentials instead of static ones.
    #[arg(long, env = "PARLEY_TURN_SECRET")]
    turn_secret: Option<String>,
    /// Lifetime of generated TURN credentials, in seconds.
    #[arg(long, env = "PARLEY_TURN_TTL", default_value_t = 43_200)]
    turn_ttl: u64,
    /// Register/login requests allowed per client address per minute.
    #[arg(long, env = "PARLEY_AUTH_PER_MINUTE", default_value_t = 20)]
    auth_per_minute: u32,
    /// Sustained WebSocket frames per second per connection.
    #[arg(long, env = "PARLEY_WS_FRAMES_PER_SEC", default_value_t = 50)]
    ws_frames_per_sec: u32,
    /// Burst of WebSocket frames allowed above the sustained rate.
    #[arg(long, env = "PARLEY_WS_FRAME_BURST", default_value_t = 200)]
    ws_frame_burst: u32,
    /// Largest WebSocket frame accepted, in bytes (larger ones get an error frame).
    #[arg(long, env = "PARLEY_WS_FRAME_BYTES", default_value_t = 65_536)]
    ws_frame_bytes: usize,
    /// Largest avatar upload, in bytes.
    #[arg(long, env = "PARLEY_AVATAR_BYTES", default_value_t = 5 * 1024 * 1024)]
    avatar_bytes: usize,
    /// Rooms one connection may be in at once.
    #[arg(long, env = "PARLEY_ROOMS_PER_PEER", default_value_t = 32)]
    rooms_per_peer: usize,
    /// Peers one room may hold.
    #[arg(long, env = "PARLEY_PEERS_PER_ROOM", default_value_t = 1000)]
    peers_per_room: usize,
    /// Days a session token stays valid.
    #[arg(long, env = "PARLEY_SESSION_DAYS", default_value_t = 30)]
    session_days: u64,
    /// Seconds of silence after which a WebSocket is dropped (pings go out at a third of it).
    #[arg(long, env = "PARLEY_WS_IDLE_TIMEOUT", default_value_t = 60)]
    ws_idle_timeout: u64,
    /// Serve the PeerJS (PeerServer) protocol too, with this API key.
    #[arg(long, env = "PARLEY_PEERJS_KEY")]
    peerjs_key: Option<String>,
    /// PeerJS: seconds without a heartbeat before a client is dropped.
    #[arg(long, env = "PARLEY_PEERJS_ALIVE_TIMEOUT", default_value_t = 60)]
    peerjs_alive_timeout: u64,
    /// PeerJS: seconds a message to an unconnected id waits before EXPIRE.
    #[arg(long, env = "PARLEY_PEERJS_EXPIRE_TIMEOUT", default_value_t = 5)]
    peerjs_expire_timeout: u64,
    /// PeerJS: most clients connected at once.
    #[arg(long, env = "PARLEY_PEERJS_CONCURRENT_LIMIT", default_value_t = 50_000)]
    peerjs_concurrent_limit: usize,
    /// Serve HTTPS/WSS with this certificate chain (PEM, leaf first); needs --tls-key. Read
    /// again when it changes and on SIGHUP, so a renewer needs no restart.
    #[arg(
        long,
        env = "PARLEY_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "PARLEY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS/WSS with a self-signed certificate made on first start and kept in this
    /// directory; clients trust it by the fingerprint in the invite this prints.
    #[arg(long, env = "PARLEY_TLS_SELF_SIGNED", value_name = "DIR")]
    tls_self_signed: Option<PathBuf>,
    /// Host names or addresses a new self-signed certificate is made for (repeatable).
    #[arg(
        long = "tls-name",
        env = "PARLEY_TLS_NAMES",
        value_delimiter = ',',
        requires = "tls_self_signed"
    )]
    tls_names: Vec<String>,
    /// A reverse proxy in front of this server (repeatable): its X-Forwarded-For is believed for
    /// the sign-in rate limits. Requests from anyone else are counted by their own address.
    #[arg(long = "trusted-proxy", env = "PARLEY_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<IpAddr>,
    /// Log filter, e.g. "info" or "parley_signal=debug".
    #[arg(long, env = "PARLEY_LOG", default_value = "info")]
    log: String,
}

impl Args {
    fn into_config(self) -> Config {
        let idle = Duration::from_secs(self.ws_idle_timeout.max(3));
        let tls = match (self.tls_cert, self.tls_key, self.tls_self_signed) {
            (Some(cert), Some(key), _) => Some(TlsSource::Files { cert, key }),
            (_, _, Some(dir)) => Some(TlsSource::SelfSigned {
                dir,
                names: if self.tls_names.is_empty() {
                    vec!["localhost".to_owned()]
                } else {
                    self.tls_names
                },
            }),
            _ => None,
        };
        Config {
            tls,
            trusted_proxies: self.trusted_proxies,
            listen: self.listen,
            database: match (&self.redis, self.memory_db) {
                (Some(url), _) => Database::Redis(url.clone()),
                (None, true) => Database::InMemory,
                (None, false) => Database::Path(self.db),
            },
            cluster: self.redis.map(|url| ClusterConfig {
                node_ttl: Duration::from_secs(self.node_ttl.max(3)),
                ..ClusterConfig::new(url)
            }),
            allowed_origins: self.allowed_origins,
            ice: IceConfig {
                stun_urls: self.stun_urls,
                turn_urls: self.turn_urls,
                turn_username: self.turn_username,
                turn_credential: self.turn_credential,
                turn_secret: self.turn_secret,
                turn_credential_ttl: Duration::from_secs(self.turn_ttl),
            },
            limits: Limits {
                auth_per_minute: self.auth_per_minute,
                ws_frames_per_sec: self.ws_frames_per_sec,
                ws_frame_burst: self.ws_frame_burst,
                ws_frame_bytes: self.ws_frame_bytes,
                avatar_bytes: self.avatar_bytes,
                rooms_per_peer: self.rooms_per_peer,
                peers_per_room: self.peers_per_room,
                session_ttl: Duration::from_secs(self.session_days.max(1) * 86_400),
                ws_idle_timeout: idle,
                ws_ping_interval: idle / 3,
                ..Limits::default()
            },
            peerjs: self.peerjs_key.map(|key| PeerJsConfig {
                alive_timeout: Duration::from_secs(self.peerjs_alive_timeout.max(1)),
                expire_timeout: Duration::from_secs(self.peerjs_expire_timeout.max(1)),
                concurrent_limit: self.peerjs_concurrent_limit,
                ..PeerJsConfig::new(key)
            }),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}

fn main() -> anyhow::Result<()> {
    // The blocking pool runs SQLite (one connection, so more threads only queue on its lock)
    // and argon2 (already bounded by a semaphore). Tokio's default of 512 threads would let a
    // burst of connections grow hundreds of idle threads, each with a stack and malloc arena.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(8)
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve())
}

async fn serve() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&args.log).context("invalid --log filter")?)
        .with_writer(std::io::stderr)
        .init();
    let server = Server::bind(args.into_config()).await?;
    // Scripts and tests read the bound address (port 0 picks one) from this first line.
    println!("parley-signal listening on {}", server.url());
    if let Some(tls) = server.tls() {
        let fingerprint = tls.fingerprint();
        println!("certificate fingerprint: {fingerprint}");
        for address in invite_addresses(server.local_addr()) {
            let invite = Invite {
                server: format!("https://{address}"),
                fingerprint,
            };
            println!("invite: {invite}");
        }
        #[cfg(unix)]
        tokio::spawn(reload_on_sighup(tls));
    }
    server.run_until(shutdown_signal()).await.context("server failed")?;
    Ok(())
}

/// The addresses others can reach: the listen address, or every interface's when it is the
/// unspecified address.
fn invite_addresses(listen: SocketAddr) -> Vec<SocketAddr> {
    if !listen.ip().is_unspecified() {
        return vec![listen];
    }
    let found: Vec<SocketAddr> = parley_signal::local_addresses()
        .into_iter()
        .filter(|ip| ip.is_ipv4() == listen.is_ipv4() || listen.is_ipv6())
        .map(|ip| SocketAddr::new(ip, listen.port()))
        .collect();
    if found.is_empty() {
        vec![listen]
    } else {
        found
    }
}

/// `systemctl reload` (`ExecReload=kill -HUP $MAINPID`) reads the certificate files at once.
#[cfg(unix)]
async fn reload_on_sighup(tls: parley_signal::TlsHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hangup.recv().await.is_some() {
        match tls.reload() {
            Ok(()) => tracing::info!(fingerprint = %tls.fingerprint(), "certificate reloaded on SIGHUP"),
            Err(e) => tracing::warn!(error = %e, "certificate not reloaded: the old one stays in service"),
        }
    }
}
