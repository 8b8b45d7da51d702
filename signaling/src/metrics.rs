//! Counters exported at `GET /metrics` in the Prometheus text format. Plain atomics: the hot
//! path (one relayed signal) costs a single relaxed increment.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub ws_connections: AtomicU64,
    pub ws_connections_total: AtomicU64,
    pub signals_relayed: AtomicU64,
    pub ws_errors_sent: AtomicU64,
    pub peerjs_connections: AtomicU64,
    pub peerjs_messages_relayed: AtomicU64,
    pub peerjs_messages_expired: AtomicU64,
    pub http_rate_limited: AtomicU64,
}

fn gauge(out: &mut String, name: &str, help: &str, kind: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dec(counter: &AtomicU64) {
        counter.fetch_sub(1, Ordering::Relaxed);
    }

    /// Renders every metric; `rooms` and `peers` come from the hub at scrape time.
    pub fn render(&self, rooms: usize, peers: usize) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::with_capacity(1024);
        gauge(
            &mut out,
            "parley_ws_connections",
            "Open v1 WebSocket connections.",
            "gauge",
            get(&self.ws_connections),
        );
        gauge(
            &mut out,
            "parley_ws_connections_total",
            "v1 WebSocket connections accepted.",
            "counter",
            get(&self.ws_connections_total),
        );
        gauge(
            &mut out,
            "parley_peers_online",
            "Authenticated v1 peers online.",
            "gauge",
            peers as u64,
        );
        gauge(
            &mut out,
            "parley_rooms",
            "Rooms with at least one peer.",
            "gauge",
            rooms as u64,
        );
        gauge(
            &mut out,
            "parley_signals_relayed_total",
            "Signals relayed between v1 peers.",
            "counter",
            get(&self.signals_relayed),
        );
        gauge(
            &mut out,
            "parley_ws_errors_total",
            "Error frames sent to v1 clients.",
            "counter",
            get(&self.ws_errors_sent),
        );
        gauge(
            &mut out,
            "parley_peerjs_connections",
            "Open PeerJS WebSocket connections.",
            "gauge",
            get(&self.peerjs_connections),
        );
        gauge(
            &mut out,
            "parley_peerjs_messages_relayed_total",
            "PeerJS messages relayed.",
            "counter",
            get(&self.peerjs_messages_relayed),
        );
        gauge(
            &mut out,
            "parley_peerjs_messages_expired_total",
            "PeerJS messages expired undelivered.",
            "counter",
            get(&self.peerjs_messages_expired),
        );
        gauge(
            &mut out,
            "parley_http_rate_limited_total",
            "Requests refused by rate limits.",
            "counter",
            get(&self.http_rate_limited),
        );
        out
    }
}
