//! The server under test, run as a child process pinned to its own core.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::sys;

pub struct ServerProc {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub struct Launch {
    pub program: PathBuf,
    /// The server's stderr goes here (its logs would clutter the bench's output).
    pub log: PathBuf,
    pub args: Vec<String>,
    pub addr: SocketAddr,
    pub core: Option<usize>,
    /// A stdout line containing this means the server is ready.
    pub ready_marker: &'static str,
}

impl ServerProc {
    /// Starts the server and waits (at most 30 s) for its ready line and its port to accept.
    pub async fn start(launch: Launch) -> Result<ServerProc, String> {
        let log =
            std::fs::File::create(&launch.log).map_err(|e| format!("cannot create {}: {e}", launch.log.display()))?;
        let mut cmd = Command::new(&launch.program);
        cmd.args(&launch.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        let core = launch.core;
        // SAFETY: the hook only makes async-signal-safe system calls.
        unsafe {
            cmd.pre_exec(move || sys::child_setup(core));
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", launch.program.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<String>();
        let marker = launch.ready_marker;
        // Drains stdout for the server's whole life (PeerServer logs every connection, and a full
        // pipe would stall it); hands the ready line over.
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains(marker) {
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(line);
                    }
                }
            }
        });
        let mut server = ServerProc {
            child,
            pid,
            addr: launch.addr,
        };
        match tokio::time::timeout(Duration::from_secs(30), ready_rx).await {
            Ok(Ok(line)) => eprintln!("    server pid {pid}: {line} (stderr: {})", launch.log.display()),
            Ok(Err(_)) => {
                let status = server.child.wait().map(|s| s.to_string()).unwrap_or_default();
                return Err(format!(
                    "server exited before its ready line ({status}); see {}",
                    launch.log.display()
                ));
            }
            Err(_) => return Err("no ready line from the server within 30 s".into()),
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while tokio::net::TcpStream::connect(server.addr).await.is_err() {
            if Instant::now() > deadline {
                return Err(format!("server does not accept on {}", server.addr));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(server)
    }

    pub fn rss_kib(&self) -> u64 {
        sys::rss_kib(self.pid).unwrap_or(0)
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then SIGKILL after 5 s.
    pub async fn stop(mut self) {
        // SAFETY: signalling our own child by pid.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.is_running() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
