//! The HTTP surface: route table and middleware.

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let mut app = Router::new().route("/healthz", get(|| async { "ok" }));
    if let Some(cfg) = state.config.peerjs.clone() {
        app = app.merge(crate::peerjs::router(cfg, state.metrics.clone(), state.shutdown.clone(), state.tasks.clone()));
    }
    app.with_state(state)
}
