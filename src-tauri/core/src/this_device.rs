//! The "This device" server: the signaling server hosted in-process, so a fresh install works
//! with no server deployed.
//!
//! One machine has one "this device" server: its data lives in a per-machine directory and it
//! listens on a fixed loopback port. The first Parley process that needs it hosts it; others
//! (a second profile) find the port served by Parley and use it. When the host quits, one of
//! the others takes over at once: each watches the port, and the first to bind it serves the
//! same database (accounts and sessions are all in it), so the rest reconnect with their
//! sessions intact, and closing one window never strands the others.

use parley_signal::{Config, Database, ExtraListener, Server, ServerHandle, StartError, TlsSource};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;

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
    /// Another Parley window on this computer runs the server: only that one can open it to
    /// others.
    #[error("another Parley window on this computer runs this device's server: let others join from that one")]
    NotHosting,
}

/// How often a process using another's server checks whether the port came free. A bind attempt
/// is one system call; the reconnect backoff of the links starts at half a second.
const TAKEOVER_POLL: Duration = Duration::from_millis(250);

/// How this process reaches the "This device" server: hosting it, or using another Parley
/// process's while ready to take over.
pub(crate) struct LocalServer {
    url: String,
    /// Some while this process hosts it.
    hosted: Arc<Mutex<Option<EmbeddedServer>>>,
    /// While another process hosts it: waits for the port to come free, then hosts.
    watcher: Option<JoinHandle<()>>,
}

impl LocalServer {
    pub(crate) fn url(&self) -> String {
        self.url.clone()
    }

    /// Hosts the server on `127.0.0.1:port`, or joins the Parley server already listening there
    /// (taking over when it goes). Fails when something else holds the port.
    pub(crate) async fn host_or_join(dir: &Path, port: u16) -> Result<LocalServer, ThisDeviceError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        match EmbeddedServer::start(dir, addr).await {
            Ok(server) => Ok(LocalServer {
                url: server.url(),
                hosted: Arc::new(Mutex::new(Some(server))),
                watcher: None,
            }),
            Err(ThisDeviceError::Start(StartError::Bind { addr, source }))
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                let url = format!("http://{addr}");
                if is_parley_server(&url).await {
                    tracing::info!(%url, "using the embedded server hosted by another Parley process");
                    let hosted = Arc::new(Mutex::new(None));
                    let watcher = tokio::spawn(take_over_when_free(dir.to_owned(), addr, hosted.clone()));
                    Ok(LocalServer {
                        url,
                        hosted,
                        watcher: Some(watcher),
                    })
                } else {
                    Err(StartError::Bind { addr, source }.into())
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Whether this process hosts it now.
    #[cfg(test)]
    async fn is_hosting(&self) -> bool {
        self.hosted.lock().await.is_some()
    }

    /// Opens the server to other devices: HTTPS on every interface at `port`, with `tls`.
    pub(crate) async fn share(&self, port: u16, tls: TlsSource) -> Result<ExtraListener, ThisDeviceError> {
        let hosted = self.hosted.lock().await;
        let server = hosted.as_ref().ok_or(ThisDeviceError::NotHosting)?;
        let addr = SocketAddr::from(([0, 0, 0, 0], port));
        Ok(server.handle.listen_also(addr, tls).await?)
    }

    /// Stops hosting (the others take over) or watching.
    pub(crate) async fn shutdown(mut self) {
        if let Some(watcher) = self.watcher.take() {
            watcher.abort();
            let _ = watcher.await;
        }
        let hosted = self.hosted.lock().await.take();
        if let Some(server) = hosted {
            if let Err(e) = server.shutdown().await {
                tracing::warn!(error = %e, "embedded server did not stop cleanly");
            }
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(watcher) = &self.watcher {
            watcher.abort();
        }
    }
}

/// Polls the port of the server another process hosts; once it is free, hosts it here.
async fn take_over_when_free(dir: PathBuf, addr: SocketAddr, hosted: Arc<Mutex<Option<EmbeddedServer>>>) {
    loop {
        tokio::time::sleep(TAKEOVER_POLL).await;
        // A probe first, so a busy port costs a failed bind rather than opening the database.
        if std::net::TcpListener::bind(addr).is_err() {
            continue;
        }
        match EmbeddedServer::start(&dir, addr).await {
            Ok(server) => {
                tracing::info!(url = %server.url(), "the process hosting this device's server quit: hosting it here now");
                *hosted.lock().await = Some(server);
                return;
            }
            // Another process won the race, or the database is busy for a moment: try again.
            Err(e) => tracing::debug!(error = %e, "not taking over the embedded server yet"),
        }
    }
}

/// Whether a Parley signaling server answers at `url` (its health check says `ok`).
async fn is_parley_server(url: &str) -> bool {
    match ServerUrl::parse(url) {
        Ok(server) => ApiClient::for_server(server, None).health().await.is_ok(),
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
        assert!(first.is_hosting().await);
        let second = LocalServer::host_or_join(dir.path(), port).await.unwrap();
        assert!(!second.is_hosting().await, "the port is taken: must join");
        assert_eq!(second.url(), first.url());

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
        first.shutdown().await;
        second.shutdown().await;
    }

    #[tokio::test]
    async fn when_the_host_quits_another_process_takes_over_with_the_same_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let first = LocalServer::host_or_join(dir.path(), port).await.unwrap();
        let api = ApiClient::new(&first.url()).unwrap();
        let request = RegisterRequest {
            username: "stays".into(),
            email: "stays@example.org".into(),
            password: "password123".into(),
            display_name: None,
        };
        let auth = api.register(&request).await.unwrap();
        let second = LocalServer::host_or_join(dir.path(), port).await.unwrap();
        let third = LocalServer::host_or_join(dir.path(), port).await.unwrap();
        first.shutdown().await;

        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let hosts = usize::from(second.is_hosting().await) + usize::from(third.is_hosting().await);
            assert!(hosts <= 1, "two processes host the same server");
            if hosts == 1 {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "nobody took over");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Same address, same database: the session made with the first host still works.
        let me = ApiClient::new(&second.url())
            .unwrap()
            .with_token(auth.token)
            .me()
            .await
            .unwrap();
        assert_eq!(me.username, "stays");
        second.shutdown().await;
        third.shutdown().await;
    }
}
