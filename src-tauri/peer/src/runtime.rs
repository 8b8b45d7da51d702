//! The async runtime webrtc-rs runs Parley's connections on: tokio's, with large UDP socket
//! buffers.
//!
//! webrtc-rs reads a connection's socket in the same loop that decrypts and handles its packets,
//! so while it works through one burst of a file transfer the next piles up in the kernel's
//! receive buffer. Linux gives a UDP socket 208 KiB (`net.core.rmem_default`, about 90 full-size
//! packets with the kernel's per-packet overhead); an SCTP window's burst overflows that, the
//! kernel drops packets (`RcvbufErrors` in `/proc/net/snmp`), and a packet lost at the end of a
//! burst has nothing after it to trigger a fast retransmit: it waits for SCTP's retransmission
//! timeout, one second, and every chat message queued behind it waits too. With 8 MiB, measured
//! on loopback, no packet was dropped, a 1 GiB file went at 234 MB/s instead of 80, and the chat
//! p99 during it fell from 1.09 s to 20 ms (README, "Performance", files).
//!
//! The kernel caps an unprivileged request at `net.core.rmem_max` / `wmem_max`, silently; the
//! app's packages raise the caps to 8 MiB (`packaging/app/60-parley.conf`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use webrtc::runtime::{
    AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle, Runtime, TokioRuntime,
};

/// What each UDP socket asks for, receive and send (the kernel grants up to its caps, above).
pub(crate) const SOCKET_BUFFER_BYTES: usize = 8 * 1024 * 1024;

/// Tokio's webrtc runtime, except that every UDP socket asks for [`SOCKET_BUFFER_BYTES`] of
/// buffer before it is wrapped.
#[derive(Debug)]
pub(crate) struct PeerRuntime;

impl PeerRuntime {
    pub(crate) fn shared() -> Arc<dyn Runtime> {
        Arc::new(Self)
    }
}

/// Raises `socket`'s buffers as far as the system allows. Failing to is not an error: the
/// socket still works, only with the default buffers.
fn enlarge_buffers(socket: &std::net::UdpSocket) {
    let socket = socket2::SockRef::from(socket);
    if let Err(e) = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES) {
        tracing::debug!(error = %e, "UDP receive buffer not enlarged");
    }
    if let Err(e) = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES) {
        tracing::debug!(error = %e, "UDP send buffer not enlarged");
    }
    tracing::debug!(
        receive = socket.recv_buffer_size().ok(),
        send = socket.send_buffer_size().ok(),
        "UDP socket buffers"
    );
}

impl Runtime for PeerRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        TokioRuntime.spawn(future)
    }

    fn spawn_reactor(
        &self,
        reactor_pool_size: usize,
        future: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Box<dyn JoinHandle> {
        TokioRuntime.spawn_reactor(reactor_pool_size, future)
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        enlarge_buffers(&socket);
        TokioRuntime.wrap_udp_socket(socket)
    }

    fn wrap_tcp_listener(&self, listener: std::net::TcpListener) -> io::Result<Arc<dyn AsyncTcpListener>> {
        TokioRuntime.wrap_tcp_listener(listener)
    }

    fn connect_tcp<'a>(
        &'a self,
        remote_addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = io::Result<Arc<dyn AsyncTcpStream>>> + Send + 'a>> {
        TokioRuntime.connect_tcp(remote_addr)
    }

    fn resolve_host<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        TokioRuntime.resolve_host(host)
    }

    fn now(&self) -> Instant {
        TokioRuntime.now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        TokioRuntime.sleep(duration)
    }

    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        TokioRuntime.interval(period)
    }

    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        TokioRuntime.block_on(future)
    }

    fn yield_now(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        TokioRuntime.yield_now()
    }

    fn name(&self) -> &'static str {
        "tokio (Parley: large UDP buffers)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request reaches the socket, capped where the system caps it.
    #[test]
    fn sockets_get_the_largest_buffers_the_system_allows() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = socket2::SockRef::from(&socket).recv_buffer_size().unwrap();
        enlarge_buffers(&socket);
        let after = socket2::SockRef::from(&socket).recv_buffer_size().unwrap();
        assert!(after >= before, "{after} < {before}");
        #[cfg(target_os = "linux")]
        {
            let cap: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            // Linux doubles the request (for its bookkeeping) and reports the doubled figure.
            assert_eq!(after, 2 * SOCKET_BUFFER_BYTES.min(cap), "cap {cap}");
        }
    }
}
