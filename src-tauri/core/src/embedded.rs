//! The signaling server hosted in-process, so a fresh install works with no server deployed:
//! "this device" in the app's server choice.
//!
//! One machine has one "this device" server: its data lives in a per-machine directory and it
//! listens on a fixed loopback port. The first Parley process that needs it hosts it; others
//! (a second profile) find the port served by Parley and use it. Hosting does not move when the
//! host quits: the others go offline until a process hosts it again on its next start.

use std::net::SocketAddr;
use std::path::Path;

use std::time::Duration;

use parley_signal::{Config, Database, Server, ServerHandle, StartError};

/// The loopback port of the "this device" server unless configured otherwise.
pub const DEFAULT_PORT: u16 = 7890;

/// How this process reaches the "this device" server.
pub enum LocalServer {
    /// This process hosts it.
    Hosting(EmbeddedServer),
    /// Another Parley process on this machine hosts it.
    Joined { url: String },
}

impl LocalServer {
    pub fn url(&self) -> String {
        match self {
            LocalServer::Hosting(server) => server.url(),
            LocalServer::Joined { url } => url.clone(),
        }
    }

    /// Hosts the server on `127.0.0.1:port`, or joins the Parley server already listening there.
    /// Fails when something else holds the port.
    pub async fn host_or_join(dir: &Path, port: u16) -> Result<LocalServer, StartError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        match EmbeddedServer::start(dir, addr).await {
            Ok(server) => Ok(LocalServer::Hosting(server)),
            Err(StartError::Bind { addr, source }) if source.kind() == std::io::ErrorKind::AddrInUse => {
                let url = format!("http://{addr}");
                if is_parley_server(&url).await {
                    tracing::info!(%url, "using the embedded server hosted by another Parley process");
                    Ok(LocalServer::Joined { url })
                } else {
                    Err(StartError::Bind { addr, source })
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether a Parley signaling server answers at `url` (its health check says `ok`).
async fn is_parley_server(url: &str) -> bool {
    let Ok(client) = reqwest::Client::builder().timeout(Duration::from_secs(2)).build() else {
        return false;
    };
    match client.get(format!("{url}/healthz")).send().await {
        Ok(response) if response.status().is_success() => response.text().await.is_ok_and(|body| body.trim() == "ok"),
        _ => false,
    }
}

pub struct EmbeddedServer {
    handle: ServerHandle,
}

impl EmbeddedServer {
    /// Starts a server keeping its data in `dir/server.db` (creating `dir`), listening on `listen` (loopback for
    /// this device only, a LAN address to let others on the network join; port 0 picks one).
    pub async fn start(dir: &Path, listen: SocketAddr) -> Result<EmbeddedServer, StartError> {
        std::fs::create_dir_all(dir).map_err(|source| StartError::Bind { addr: listen, source })?;
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
    use parley_protocol::RegisterRequest;

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
            "accounts must live in the data directory"
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

    #[tokio::test]
    async fn a_second_process_joins_the_server_the_first_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let first = LocalServer::host_or_join(dir.path(), port).await.unwrap();
        assert!(matches!(first, LocalServer::Hosting(_)));
        let second = LocalServer::host_or_join(dir.path(), port).await.unwrap();
        let LocalServer::Joined { url } = &second else {
            panic!("the port is taken: must join")
        };
        assert_eq!(*url, first.url());

        // A port held by something that is not Parley is an error, not a silent join.
        let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = squatter.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in squatter.incoming().flatten() {
                drop(stream);
            }
        });
        let err = LocalServer::host_or_join(dir.path(), taken)
            .await
            .err()
            .expect("must fail");
        assert!(matches!(err, StartError::Bind { .. }), "{err}");
        if let LocalServer::Hosting(server) = first {
            server.shutdown().await.unwrap();
        }
    }
}
