//! The signaling server hosted in-process, so a fresh install works with no server deployed:
//! "this device" in the app's server choice. Its accounts live in the profile directory.

use std::net::SocketAddr;
use std::path::Path;

use parley_signal::{Config, Database, Server, ServerHandle, StartError};

pub struct EmbeddedServer {
    handle: ServerHandle,
}

impl EmbeddedServer {
    /// Starts a server keeping its data in `dir/server.db`, listening on `listen` (loopback for
    /// this device only, a LAN address to let others on the network join; port 0 picks one).
    pub async fn start(dir: &Path, listen: SocketAddr) -> Result<EmbeddedServer, StartError> {
        let config = Config {
            listen,
            database: Database::Path(dir.join("server.db")),
            ..Config::default()
        };
        let handle = Server::bind(config).await?.spawn();
        tracing::info!(url = %handle.url(), "embedded signaling server running");
        Ok(EmbeddedServer { handle })
    }

    pub fn url(&self) -> String {
        self.handle.url()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    pub async fn shutdown(self) -> std::io::Result<()> {
        self.handle.shutdown().await
    }
}
