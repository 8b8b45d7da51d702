//! Parley's signaling server as a library: the `parley-signal` binary and the app (which hosts
//! it in-process for a zero-setup install) both start it through [`Server`].
//!
//! The server introduces peers and nothing more: accounts, profiles, rooms, presence, and the
//! relay of WebRTC offers, answers and ICE candidates between authenticated peers.

pub mod config;

mod addresses;

mod auth;
mod avatar;
#[cfg(feature = "redis")]
mod cluster;
mod error;
mod http;
mod hub;
mod ice;
mod metrics;
mod outbox;
mod peerjs;
mod ratelimit;
#[cfg(feature = "redis")]
mod redis_conn;
mod state;
mod store;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;
mod tls;
mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::{Listener, ListenerExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use addresses::local_addresses;
#[cfg(feature = "redis")]
pub use config::ClusterConfig;
pub use config::{Config, Database, IceConfig, Limits, PeerJsConfig};
pub use error::StartError;
pub use parley_protocol::{Fingerprint, Invite};
pub use tls::{self_signed, SelfSigned, TlsError, TlsSource};

use state::AppState;
use tls::{Certificates, TlsListener};

/// How often certificate files are checked for a renewal.
const TLS_RELOAD_POLL: Duration = Duration::from_secs(5);

/// A bound, not yet serving, signaling server.
pub struct Server {
    listener: TcpListener,
    state: AppState,
    tls: Option<Arc<Certificates>>,
}

impl Server {
    /// Opens (and migrates) the database, loads the TLS certificate if there is one and binds
    /// the listen address. Port 0 picks a free port; [`Server::local_addr`] tells which.
    pub async fn bind(config: Config) -> Result<Server, StartError> {
        let tls = config.tls.clone().map(Certificates::load).transpose()?;
        let listener = bind(config.listen).await?;
        let state = AppState::open(config).await?;
        Ok(Server { listener, state, tls })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// `https://ADDR` or `http://ADDR`.
    pub fn url(&self) -> String {
        url_of(self.local_addr(), self.tls.is_some())
    }

    /// The fingerprint clients pin (in an [`Invite`]), when serving TLS.
    pub fn tls(&self) -> Option<TlsHandle> {
        self.tls.clone().map(TlsHandle)
    }

    /// Serves until `shutdown` completes, then closes every WebSocket with "going away" and
    /// returns once in-flight HTTP requests have finished.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let Server { listener, state, tls } = self;
        let stopping = state.clone();
        let graceful = async move {
            shutdown.await;
            stopping.shutdown.cancel();
            stopping.hub.close_all(hub::CloseReason::Shutdown);
        };
        tracing::info!(tls = tls.is_some(), "signaling server ready");
        let result = match &tls {
            Some(certificates) => {
                tokio::spawn(watch_certificate_files(certificates.clone(), state.shutdown.clone()));
                serve(TlsListener::new(listener, certificates)?, state.clone(), graceful).await
            }
            None => serve(listener, state.clone(), graceful).await,
        };
        state.shutdown.cancel();
        state.hub.close_all(hub::CloseReason::Shutdown);
        state.wait_for_connections().await;
        #[cfg(feature = "redis")]
        if let Some(cluster) = &state.cluster {
            cluster.shutdown().await;
        }
        result
    }

    /// Serves in a background task; the handle stops it.
    pub fn spawn(self) -> ServerHandle {
        let addr = self.local_addr();
        let tls = self.tls.as_ref().map(|c| c.fingerprint());
        let state = self.state.clone();
        let stop = CancellationToken::new();
        let signal = stop.clone();
        let task = tokio::spawn(self.run_until(async move { signal.cancelled().await }));
        ServerHandle {
            addr,
            tls,
            state,
            stop,
            task: Some(task),
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

fn url_of(addr: SocketAddr, tls: bool) -> String {
    format!("{}://{addr}", if tls { "https" } else { "http" })
}

/// Serves the API on one listener until `shutdown`.
async fn serve<L>(
    listener: L,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    L::Io: NoDelay,
{
    // Relayed signals are small writes on long-lived sockets: with Nagle on, one written
    // while the previous is unacknowledged waits out the client's delayed ACK (40 ms on
    // Linux), which showed up as a 40 ms stall in half of all connection set-ups.
    serve_app(listener, http::router(state), shutdown).await
}

/// [`serve`] with a router of the caller's making.
async fn serve_app<L>(
    listener: L,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    L::Io: NoDelay,
{
    let listener = listener.tap_io(|io| io.set_nodelay());
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// A connection whose TCP socket should send small writes at once.
trait NoDelay {
    fn set_nodelay(&mut self);
}

impl NoDelay for tokio::net::TcpStream {
    fn set_nodelay(&mut self) {
        if let Err(e) = tokio::net::TcpStream::set_nodelay(self, true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    }
}

impl NoDelay for tokio_rustls::server::TlsStream<tokio::net::TcpStream> {
    fn set_nodelay(&mut self) {
        // Set on the TCP socket before the handshake (`TlsListener`).
    }
}

/// Reads renewed certificate files within seconds of their change, until the server stops.
async fn watch_certificate_files(certificates: Arc<Certificates>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(TLS_RELOAD_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = certificates.reload_if_changed(false) {
                    tracing::warn!(error = %e, "the new TLS certificate is not usable: the old one stays in service");
                }
            }
        }
    }
}

/// The server's certificate: its fingerprint, and a reload (`parley-signal` runs it on SIGHUP).
#[derive(Clone, Debug)]
pub struct TlsHandle(Arc<Certificates>);

impl TlsHandle {
    pub fn fingerprint(&self) -> Fingerprint {
        self.0.fingerprint()
    }

    /// Reads the certificate files again now, whether or not they look changed. A pair that
    /// does not load leaves the current one in service; the error says why.
    pub fn reload(&self) -> Result<(), TlsError> {
        self.0.reload_if_changed(true).map(|_| ())
    }
}

/// A running server started with [`Server::spawn`]. Dropping it stops the server without waiting.
pub struct ServerHandle {
    addr: SocketAddr,
    /// The certificate's fingerprint when serving TLS.
    tls: Option<Fingerprint>,
    state: AppState,
    stop: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (or `https://`), the base URL clients use.
    pub fn url(&self) -> String {
        url_of(self.addr, self.tls.is_some())
    }

    /// The fingerprint of the certificate it serves, when it serves TLS.
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        self.tls
    }

    /// Serves the same server (same accounts, rooms and presence) on a second address with
    /// TLS as well: how the app's "This device" server lets other devices join. The port closes
    /// when the returned listener is dropped or the server stops.
    pub async fn listen_also(&self, addr: SocketAddr, tls: TlsSource) -> Result<ExtraListener, StartError> {
        let certificates = Certificates::load(tls)?;
        let tcp = bind(addr).await?;
        let local = tcp.local_addr().map_err(|source| StartError::Bind { addr, source })?;
        let listener = TlsListener::new(tcp, &certificates).map_err(|source| StartError::Bind { addr, source })?;
        let stop = self.state.shutdown.child_token();
        let signal = stop.clone();
        let app = http::router(self.state.clone()).layer(axum::Extension(ws::ClosesWith(stop.clone())));
        let task = tokio::spawn(serve_app(listener, app, async move { signal.cancelled().await }));
        tracing::info!(%local, fingerprint = %certificates.fingerprint(), "also listening");
        Ok(ExtraListener {
            addr: local,
            fingerprint: certificates.fingerprint(),
            stop,
            task: Some(task),
        })
    }

    /// Stops accepting, closes WebSockets, and waits for the server to finish.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A second address the server answers on ([`ServerHandle::listen_also`]).
pub struct ExtraListener {
    addr: SocketAddr,
    fingerprint: Fingerprint,
    stop: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl ExtraListener {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Closes the port and the WebSocket connections made through it (they are told the server
    /// is going away), and waits until the port is closed.
    pub async fn close(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ExtraListener {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

// Re-exported so embedding code can share one counter set if it wants to read figures.
pub use metrics::Metrics;
#[doc(hidden)]
pub type SharedMetrics = Arc<Metrics>;
