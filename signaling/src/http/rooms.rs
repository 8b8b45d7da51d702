//! Room directory and rosters.

use axum::extract::{Path, State};
use axum::Json;

use super::extract::Auth;
use crate::error::ApiError;
use crate::state::AppState;
use parley_protocol::validate;
use parley_protocol::{PeerList, RoomList};

pub async fn list(State(state): State<AppState>, _auth: Auth) -> Result<Json<RoomList>, ApiError> {
    Ok(Json(RoomList {
        rooms: state.rooms().await?,
    }))
}

/// Rooms exist while someone is in them, so an empty or unknown room answers an empty list.
pub async fn peers(
    State(state): State<AppState>,
    _auth: Auth,
    Path(room): Path<String>,
) -> Result<Json<PeerList>, ApiError> {
    validate::room(&room)?;
    Ok(Json(PeerList {
        peers: state.room_peers(&room).await?,
    }))
}
