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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::ApiClient;
    use parley_signal::protocol::RegisterRequest;

    #[tokio::test]
    async fn serves_accounts_that_outlive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let server = EmbeddedServer::start(dir.path(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = server.local_addr();
        let api = ApiClient::new(&server.url()).unwrap();
        let request = RegisterRequest {
            username: "host".into(),
            email: "host@example.org".into(),
            password: "password123".into(),
            display_name: None,
        };
        let auth = api.register(&request).await.unwrap();
        server.shutdown().await.unwrap();
        assert!(
            dir.path().join("server.db").exists(),
            "accounts must live in the profile directory"
        );

        let server = EmbeddedServer::start(dir.path(), addr).await.unwrap();
        let me = ApiClient::new(&server.url())
            .unwrap()
            .with_token(auth.token)
            .me()
            .await
            .unwrap();
        assert_eq!(me.username, "host");
        server.shutdown().await.unwrap();
    }
}
