//! Test helpers for this crate's tests and other crates' (feature `test-utils`): a signaling
//! server in the test's process that can be stopped and started again on the same address and
//! data, a private `redis-server` for the scale-out tests, and the one deadline every test waits
//! against. Not part of the server's API.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::{Config, Database, Limits, Server, ServerHandle};

/// How long any test waits for something that should happen. Generous for a loaded two-core
/// machine: a passing test never waits this long, and a failing one says what it waited for.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Logs to the test's captured output; `RUST_LOG=parley_signal=debug` shows what happened.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A name unique within the test binary (`alice0`, `alice1`, …): tests share servers and
/// keyrings less often than they share a process.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A server on a free loopback port keeping its data in `database`. Tests sign in far more
/// often than a person would, all from 127.0.0.1, so the sign-in rate limit is lifted.
pub fn config(database: Database) -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database,
        limits: Limits {
            auth_per_minute: 100_000,
            ..Limits::default()
        },
        ..Config::default()
    }
}

/// A signaling server in this process.
pub struct TestServer {
    handle: Option<ServerHandle>,
    config: Config,
}

impl TestServer {
    /// A server whose accounts live in memory (gone when it stops).
    pub async fn start() -> TestServer {
        TestServer::start_with(config(Database::InMemory)).await
    }

    /// A server keeping its accounts in the SQLite file `path`, so a restart keeps them.
    pub async fn start_persistent(path: &Path) -> TestServer {
        TestServer::start_with(config(Database::Path(path.to_owned()))).await
    }

    /// A server with `config` (see [`config`] for the usual one).
    pub async fn start_with(config: Config) -> TestServer {
        init_tracing();
        let handle = Server::bind(config.clone()).await.expect("server binds").spawn();
        TestServer {
            config: Config {
                // A restart comes back on the same address.
                listen: handle.local_addr(),
                ..config
            },
            handle: Some(handle),
        }
    }

    /// `http://ADDR` (`https://` with TLS), the base URL clients use.
    pub fn url(&self) -> String {
        let scheme = if self.config.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.config.listen)
    }

    /// The invite to this server (its URL and certificate), when it serves TLS and is running.
    pub fn invite(&self) -> Option<parley_protocol::Invite> {
        let fingerprint = self.handle.as_ref()?.fingerprint()?;
        Some(parley_protocol::Invite {
            server: self.url(),
            fingerprint,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.config.listen
    }

    /// Whether it is serving (not stopped).
    pub fn is_running(&self) -> bool {
        self.handle.is_some()
    }

    /// Stops accepting, closes every WebSocket ("going away") and waits until it has finished.
    pub async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(DEADLINE, handle.shutdown())
                .await
                .expect("the server shuts down promptly")
                .expect("the server shuts down cleanly");
        }
    }

    /// Starts the server again on the same address and data.
    pub async fn restart(&mut self) {
        self.stop().await;
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            match Server::bind(self.config.clone()).await {
                Ok(server) => {
                    self.handle = Some(server.spawn());
                    return;
                }
                // The old listener's socket may linger for a moment.
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!(addr = %self.config.listen, error = %e, "rebinding; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot restart the server on {}: {e}", self.config.listen),
            }
        }
    }
}

/// What the benchmarks in the repository share: how they tell a real run from the smoke run
/// `cargo test --all-targets` makes of them, their knobs, and how they report durations.
pub mod bench {
    use std::time::Duration;

    /// Whether this is a real run (`cargo bench`, which passes `--bench`) rather than the quick
    /// smoke run `cargo test --all-targets` makes of every bench target.
    pub fn is_real_run() -> bool {
        std::env::args().any(|a| a == "--bench")
    }

    /// The runtime the benchmarks measure on: two workers, as many as the project's machines
    /// have cores.
    pub fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a Tokio runtime")
    }

    /// A count from the environment (`SETUP_RUNS=50`), else `default`.
    pub fn env_usize(key: &str, default: usize) -> usize {
        std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    /// The `p` quantile (0 to 1) of sorted samples, nearest rank.
    pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i]
    }

    /// Milliseconds with microsecond precision, for tables.
    pub fn ms(d: Duration) -> String {
        format!("{:.3}", d.as_secs_f64() * 1e3)
    }
}

#[cfg(unix)]
pub use redis_server::RedisServer;

/// `redis-server` listens on a Unix socket here, which Windows has no `std` API for; the
/// scale-out tests run on Unix only.
#[cfg(unix)]
mod redis_server {
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// A `redis-server` of its own, listening only on a Unix socket in a fresh directory (no port
    /// to collide on, nothing persisted), killed when dropped.
    pub struct RedisServer {
        child: Child,
        dir: PathBuf,
        socket: PathBuf,
    }

    impl RedisServer {
        /// Starts one and waits until it accepts connections.
        ///
        /// Panics when `redis-server` is missing: `scripts/setup.sh test` installs it, and a test that
        /// quietly skipped would hide that the scale-out mode went untested.
        pub fn start() -> RedisServer {
            let dir = std::env::temp_dir().join(format!(
                "parley-redis-{}-{}",
                std::process::id(),
                crate::auth::random_id(8)
            ));
            std::fs::create_dir_all(&dir).expect("create a directory for redis-server");
            let socket = dir.join("redis.sock");
            let child = spawn(&dir, &socket);
            let server = RedisServer { child, dir, socket };
            server.wait_ready();
            server
        }

        /// Kills it, without a goodbye to its clients, as a crash would; [`Self::start_again`]
        /// starts a new, empty one on the same socket: a Redis without persistence restarting.
        pub fn crash(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_file(&self.socket);
        }

        pub fn start_again(&mut self) {
            self.child = spawn(&self.dir, &self.socket);
            self.wait_ready();
        }

        fn wait_ready(&self) {
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
                assert!(Instant::now() < deadline, "redis-server did not start within 10 s");
                std::thread::sleep(Duration::from_millis(10));
            }
        }

        /// The URL to hand to `Database::Redis` and `ClusterConfig`.
        pub fn url(&self) -> String {
            format!("redis+unix://{}", self.socket.display())
        }
    }

    impl Drop for RedisServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn spawn(dir: &Path, socket: &Path) -> Child {
        Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(socket)
            .args(["--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server ({e}); `scripts/setup.sh test` installs it"))
    }
}
