//! Parley's signaling server as a library: the `parley-signal` binary and the app (which hosts
//! it in-process for a zero-setup install) both start it through [`Server`].
//!
//! The server introduces peers and nothing more: accounts, profiles, rooms, presence, and the
//! relay of WebRTC offers, answers and ICE candidates between authenticated peers.

pub mod config;

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
mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[cfg(feature = "redis")]
pub use config::ClusterConfig;
pub use config::{Config, Database, IceConfig, Limits, PeerJsConfig};
pub use error::StartError;

use state::AppState;

/// A bound, not yet serving, signaling server.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    /// Opens (and migrates) the database and binds the listen address. Port 0 picks a free port;
    /// [`Server::local_addr`] tells which.
    pub async fn bind(config: Config) -> Result<Server, StartError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.listen,
                source,
            })?;
        let state = AppState::open(config).await?;
        Ok(Server { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// Serves until `shutdown` completes, then closes every WebSocket with "going away" and
    /// returns once in-flight HTTP requests have finished.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let Server { listener, state } = self;
        let stopping = state.clone();
        let app = http::router(state.clone());
        // Relayed signals are small writes on long-lived sockets: with Nagle on, one written
        // while the previous is unacknowledged waits out the client's delayed ACK (40 ms on
        // Linux), which showed up as a 40 ms stall in half of all connection set-ups.
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        let serve = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown.await;
                stopping.shutdown.cancel();
                stopping.hub.close_all(hub::CloseReason::Shutdown);
            });
        tracing::info!("signaling server ready");
        let result = serve.await;
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
        let stop = CancellationToken::new();
        let signal = stop.clone();
        let task = tokio::spawn(self.run_until(async move { signal.cancelled().await }));
        ServerHandle {
            addr,
            stop,
            task: Some(task),
        }
    }
}

/// A running server started with [`Server::spawn`]. Dropping it stops the server without waiting.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the base URL clients use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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

// Re-exported so embedding code can share one counter set if it wants to read figures.
pub use metrics::Metrics;
#[doc(hidden)]
pub type SharedMetrics = Arc<Metrics>;
