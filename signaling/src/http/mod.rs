//! The HTTP surface: route table and middleware.

mod accounts;
mod extract;
mod meta;
mod rooms;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method};
use axum::routing::{get, post, put};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::ApiError;
use crate::state::AppState;
use crate::ws;

pub fn router(state: AppState) -> Router {
    let limits = &state.config.limits;
    let api = Router::new()
        .route("/register", post(accounts::register))
        .route("/login", post(accounts::login))
        .route("/logout", post(accounts::logout))
        .route("/me", get(accounts::me).put(accounts::update_me))
        .route(
            "/me/avatar",
            put(accounts::put_avatar).layer(DefaultBodyLimit::max(limits.avatar_bytes)),
        )
        .route("/users/{id}/avatar", get(accounts::get_avatar))
        .route("/rooms", get(rooms::list))
        .route("/rooms/{room}/peers", get(rooms::peers))
        .route("/ice-servers", get(meta::ice_servers))
        .route("/ws", get(ws::upgrade));

    let mut app = Router::new()
        .route("/healthz", get(meta::healthz))
        .route("/metrics", get(meta::metrics))
        .nest(parley_protocol::API_PREFIX, api)
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(limits.json_body_bytes))
        .layer(cors(&state.config.allowed_origins));
    if let Some(cfg) = state.config.peerjs.clone() {
        app = app.merge(crate::peerjs::router(
            cfg,
            state.metrics.clone(),
            state.shutdown.clone(),
            state.tasks.clone(),
        ));
    }
    app.with_state(state)
}

fn cors(allowed: &[String]) -> CorsLayer {
    let origins = if allowed.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(allowed.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::PUT])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}
