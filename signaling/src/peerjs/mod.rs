//! PeerServer-compatible endpoint (opt-in with `--peerjs-key`), so apps written against the
//! PeerJS client can use Parley's server unchanged. `docs/peerjs.md` lists what differs from
//! PeerServer 1.x.

mod protocol;
mod realm;
mod ws;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::{Any, CorsLayer};

use crate::config::PeerJsConfig;
use crate::metrics::Metrics;
use crate::ratelimit::Rate;
use realm::Realm;

/// Per-connection limits. Not in `PeerJsConfig` yet; the defaults leave real PeerJS clients
/// (a HEARTBEAT every 5 s, an offer and a few dozen trickled candidates per connection) far
/// below every bound.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Frames above this close the socket (enforced by the WebSocket codec). Anything below is
    /// relayed as PeerServer relays it: PeerJS puts the `metadata` of `peer.connect()` into its
    /// OFFER, so a frame's size is the application's choice, and the client takes any ERROR as
    /// fatal. PeerServer's own bound (the `ws` package's default) is 100 MiB; this one is far
    /// above any SDP plus metadata a person's app sends, and bounds what one frame can cost.
    pub max_frame_bytes: usize,
    /// Sustained frames per second per connection, and the burst allowed above that.
    pub frame_rate: Rate,
    /// A connection with this much queued towards it is considered stuck and closed.
    pub send_queue_frames: usize,
    pub send_queue_bytes: usize,
    /// Messages waiting for ids that are not connected, per id and in all.
    pub pending_per_id: usize,
    pub pending_frames: usize,
    pub pending_bytes: usize,
    /// WebSocket codec buffers. Tungstenite allocates the read buffer per connection and keeps
    /// it, so it weighs on every idle connection; larger frames grow it on demand but are read
    /// at most this many bytes per syscall (see `READ_BUFFER` in `ws.rs`).
    pub read_buffer_bytes: usize,
    pub write_buffer_bytes: usize,
    /// Longest accepted `id` or `token`.
    pub max_id_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 1024 * 1024,
            frame_rate: Rate::new(2000, 1000.0),
            send_queue_frames: 1024,
            // Room for a few of the largest frames, so one big OFFER does not count as a stuck
            // receiver.
            send_queue_bytes: 4 * 1024 * 1024,
            pending_per_id: 256,
            pending_frames: 100_000,
            pending_bytes: 64 * 1024 * 1024,
            read_buffer_bytes: 256,
            write_buffer_bytes: 4 * 1024,
            max_id_bytes: 256,
        }
    }
}

/// Routes `GET /peerjs/{key}/id` and the WebSocket `/peerjs/peerjs`.
pub fn router<S: Clone + Send + Sync + 'static>(
    config: PeerJsConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) -> Router<S> {
    let realm = Arc::new(Realm::new(config, Limits::default(), metrics, shutdown, tasks));
    // PeerServer answers every origin: ids are not secrets, and the PeerJS client fetches
    // `/id` from the page's origin, which is rarely the server's.
    let cors = CorsLayer::new().allow_origin(Any).allow_methods([Method::GET]);
    Router::new()
        .route("/peerjs", get(info))
        .route("/peerjs/{key}/id", get(new_id))
        .route("/peerjs/{key}/peers", get(peers))
        .layer(cors)
        .route("/peerjs/peerjs", get(ws::upgrade))
        .with_state(realm)
}

async fn info() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "name": "Parley PeerJS-compatible server",
        "description": "Brokers connections between PeerJS clients.",
        "website": "https://peerjs.com/",
    }))
}

/// PeerServer itself hands out ids for any key; refusing a wrong one costs PeerJS clients
/// nothing (they use the same key for the WebSocket) and keeps the endpoint closed to others.
async fn new_id(State(realm): State<Arc<Realm>>, Path(key): Path<String>) -> Response {
    if !ws::key_matches(&key, &realm.config().key) {
        return (StatusCode::UNAUTHORIZED, protocol::msgs::INVALID_KEY).into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        realm.generate_id(),
    )
        .into_response()
}

/// Peer discovery is off, as in PeerServer's default configuration.
async fn peers() -> StatusCode {
    StatusCode::UNAUTHORIZED
}
