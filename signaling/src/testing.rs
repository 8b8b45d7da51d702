//! Test support, public so that integration tests (here and in other crates) can use it: a
//! private Redis server for the scale-out tests. Not part of the server's API.

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

    /// The URL to hand to [`crate::Database::Redis`] and [`crate::ClusterConfig`].
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
