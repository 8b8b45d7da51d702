//! Accounts and profiles: register, login, logout, `/me`, avatars.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::extract::{ApiJson, Auth, ClientIp};
use crate::auth;
use crate::avatar::{self, AvatarError};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Avatar, NewUser, ProfileChange};
use parley_protocol::validate;
use parley_protocol::{AuthResponse, LoginRequest, ProfileUpdate, RegisterRequest, User};

async fn start_session(state: &AppState, user: User) -> Result<AuthResponse, ApiError> {
    let token = auth::new_token();
    state
        .store
        .create_session(
            user.id.clone(),
            auth::token_hash(&token).to_vec(),
            state.config.limits.session_ttl,
        )
        .await?;
    Ok(AuthResponse { user, token })
}

pub async fn register(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<AuthResponse>), ApiError> {
    state.check_auth_rate(client)?;
    validate::username(&req.username)?;
    validate::email(&req.email)?;
    validate::password(&req.password)?;
    let display_name = match &req.display_name {
        Some(name) => validate::display_name(name)?,
        None => req.username.clone(),
    };
    let password = req.password;
    let password_hash = state
        .hash_work(move || auth::hash_password(&password))
        .await?
        .map_err(|e| ApiError::Internal(format!("hashing failed: {e}")))?;
    let user = state
        .store
        .create_user(NewUser {
            id: auth::random_id(16),
            username: req.username,
            email: req.email,
            password_hash,
            display_name,
        })
        .await?;
    tracing::info!(user = %user.username, "registered");
    Ok((StatusCode::CREATED, Json(start_session(&state, user).await?)))
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<AuthResponse>, ApiError> {
    state.check_auth_rate(client)?;
    validate::login(&req.login)?;
    if req.password.len() > validate::PASSWORD_MAX {
        return Err(ApiError::InvalidCredentials);
    }
    let found = state.store.find_login(req.login).await?;
    let (user, stored) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, auth::decoy_hash().to_owned()),
    };
    let password = req.password;
    let matches = state
        .hash_work(move || auth::verify_password(&password, &stored))
        .await?;
    match user.filter(|_| matches) {
        Some(user) => Ok(Json(start_session(&state, user).await?)),
        None => Err(ApiError::InvalidCredentials),
    }
}

pub async fn logout(State(state): State<AppState>, Auth(session): Auth) -> Result<StatusCode, ApiError> {
    state.store.delete_session(session.token_hash.to_vec()).await?;
    state.signed_out(&session.token_hash).await;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(Auth(session): Auth) -> Json<User> {
    Json(session.user)
}

pub async fn update_me(
    State(state): State<AppState>,
    Auth(session): Auth,
    ApiJson(update): ApiJson<ProfileUpdate>,
) -> Result<Json<User>, ApiError> {
    let change = ProfileChange {
        display_name: update.display_name.as_deref().map(validate::display_name).transpose()?,
        bio: update.bio.as_deref().map(validate::bio).transpose()?,
        status: update.status.as_deref().map(validate::status).transpose()?,
    };
    let user = state.store.update_profile(session.user.id, change).await?;
    state.user_updated(&user).await;
    Ok(Json(user))
}

pub async fn put_avatar(
    State(state): State<AppState>,
    Auth(session): Auth,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<User>, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "avatars are limited to {} bytes",
                state.config.limits.avatar_bytes
            ))
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })?;
    let max_pixels = state.config.limits.avatar_max_pixels;
    let processed = state
        .hash_work(move || avatar::process(&body, max_pixels))
        .await?
        .map_err(|e| match e {
            AvatarError::NotAnImage => ApiError::UnsupportedMedia(e.to_string()),
            AvatarError::TooManyPixels { .. } => ApiError::PayloadTooLarge(e.to_string()),
            AvatarError::Corrupt(_) => ApiError::InvalidInput {
                field: "avatar".into(),
                message: e.to_string(),
            },
        })?;
    let avatar = Avatar {
        content_type: processed.content_type.to_owned(),
        data: processed.data,
    };
    let user = state.store.set_avatar(session.user.id, avatar).await?;
    state.user_updated(&user).await;
    Ok(Json(user))
}

pub async fn get_avatar(State(state): State<AppState>, Path(user_id): Path<String>) -> Result<Response, ApiError> {
    if user_id.len() > 64 {
        return Err(ApiError::NotFound("no such avatar".into()));
    }
    let avatar = state
        .store
        .avatar(user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such avatar".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, avatar.content_type),
            // The URL carries the avatar's version, so a cached copy is never stale.
            (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        avatar.data,
    )
        .into_response())
}
