//! The "This device" server: the signaling server hosted in-process, so a fresh install works
//! with no server deployed.
//!
//! One machine has one "this device" server: its data lives in a per-machine directory and it
//! listens on a fixed loopback port. The first Parley process that needs it hosts it; others
//! (a second profile) find the port served by Parley and use it. Hosting does not move when the
//! host quits: the others go offline until a process hosts it again on its next start.

use parley_signal::{Config, Database, Server, ServerHandle, StartError};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::api_client::ApiClient;
use crate::server_url::ServerUrl;

/// Why the "This device" server could neither be hosted nor joined.
#[derive(Debug, thiserror::Error)]
pub enum ThisDeviceError {
    /// Its data directory could not be created.
    #[error("cannot create its data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server did not start (its port held by something that is not Parley, its database
    /// unreadable).
    #[error(transparent)]
    Start(#[from] StartError),
}

/// How this process reaches the "This device" server.
pub(crate) enum LocalServer {
    /// This process hosts it.
    Hosting(EmbeddedServer),
    /// Another Parley process on this machine hosts it.
    Joined { url: String },
}

impl LocalServer {
    pub(crate) fn url(&self) -> String {
        match self {
            LocalServer::Hosting(server) => server.url(),
            LocalServer::Joined { url } => url.clone(),
        }
    }

    /// Hosts the server on `127.0.0.1:port`, or joins the Parley server already listening there.
    /// Fails when something else holds the port.
    pub(crate) async fn host_or_join(dir: &Path, port: u16) -> Result<LocalServer, ThisDeviceError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        match EmbeddedServer::start(dir, addr).await {
            Ok(server) => Ok(LocalServer::Hosting(server)),
            Err(ThisDeviceError::Start(StartError::Bind { addr, source }))
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                let url = format!("http://{addr}");
                if is_parley_server(&url).await {
                    tracing::info!(%url, "using the embedded server hosted by another Parley process");
                    Ok(LocalServer::Joined { url })
                } else {
                    Err(StartError::Bind { addr, source }.into())
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether a Parley signaling server answers at `url` (its health check says `ok`).
async fn is_parley_server(url: &str) -> bool {
    match ServerUrl::parse(url) {
        Ok(server) => ApiClient::for_server(server).health().await.is_ok(),
        Err(_) => false,
    }
}

/// The "This device" server running in this process.
pub(crate) struct EmbeddedServer {
    handle: ServerHandle,
}

impl EmbeddedServer {
    /// Starts a server keeping its data in `dir/server.db` (creating `dir`), listening on `listen` (loopback for
    /// this device only, a LAN address to let others on the network join; port 0 picks one).
    pub(crate) async fn start(dir: &Path, listen: SocketAddr) -> Result<EmbeddedServer, ThisDeviceError> {
        std::fs::create_dir_all(dir).map_err(|source| ThisDeviceError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
        let config = Config {
            listen,
            database: Database::Path(dir.join("server.db")),
            ..Config::default()
        };
        let handle = Server::bind(config).await?.spawn();
        tracing::info!(url = %handle.url(), "embedded signaling server running");
        Ok(EmbeddedServer { handle })
    }

    pub(crate) fn url(&self) -> String {
        self.handle.url()
    }

    #[cfg(test)]
    fn local_addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    pub(crate) async fn shutdown(self) -> std::io::Result<()> {
        self.handle.shutdown().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert!(matches!(err, ThisDeviceError::Start(StartError::Bind { .. })), "{err}");
        if let LocalServer::Hosting(server) = first {
            server.shutdown().await.unwrap();
        }
    }
}
