//! Health, metrics and ICE configuration.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use super::extract::Auth;
use crate::error::ApiError;
use crate::ice;
use crate::state::AppState;
use crate::store;
use parley_protocol::IceServers;

/// 200 once the server serves and its database answers.
pub async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    Ok("ok")
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let (rooms, peers) = state.hub.counts();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(rooms, peers),
    )
}

pub async fn ice_servers(State(state): State<AppState>, Auth(session): Auth) -> Json<IceServers> {
    Json(IceServers {
        ice_servers: ice::ice_servers(&state.config.ice, &session.user.id, store::now()),
    })
}
