//! Errors: start-up failures for embedders, and API errors that answer `{code, message}`.

use std::net::SocketAddr;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::store::StoreError;
use parley_protocol::{codes, ErrorBody};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Database(#[from] StoreError),
    #[error("no usable TLS certificate: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[cfg(feature = "redis")]
    #[error("cannot join the cluster: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),
}

/// Every way an API request can fail. Each maps to one status and one stable `code`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    InvalidInput { field: String, message: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("that username is taken")]
    UsernameTaken,
    #[error("an account with that email already exists")]
    EmailTaken,
    #[error("wrong username/email or password")]
    InvalidCredentials,
    #[error("sign in first: the session token is missing, expired or signed out")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("this endpoint does not accept that method")]
    MethodNotAllowed,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMedia(String),
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("this origin is not allowed to use the server")]
    ForbiddenOrigin,
    #[error("the server is busy; try again shortly")]
    Unavailable,
    #[error("internal server error")]
    Internal(String),
}

impl From<parley_protocol::validate::InvalidField> for ApiError {
    fn from(e: parley_protocol::validate::InvalidField) -> Self {
        ApiError::InvalidInput {
            field: e.field.to_owned(),
            message: e.message,
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidInput { .. } | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::UsernameTaken | ApiError::EmailTaken => StatusCode::CONFLICT,
            ApiError::InvalidCredentials | ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ForbiddenOrigin => StatusCode::FORBIDDEN,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidInput { .. } | ApiError::BadRequest(_) => codes::INVALID_INPUT,
            ApiError::UsernameTaken => codes::USERNAME_TAKEN,
            ApiError::EmailTaken => codes::EMAIL_TAKEN,
            ApiError::InvalidCredentials => codes::INVALID_CREDENTIALS,
            ApiError::Unauthorized => codes::UNAUTHORIZED,
            ApiError::NotFound(_) => codes::NOT_FOUND,
            ApiError::MethodNotAllowed => codes::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => codes::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMedia(_) => codes::UNSUPPORTED_MEDIA,
            ApiError::RateLimited { .. } => codes::RATE_LIMITED,
            ApiError::ForbiddenOrigin => codes::FORBIDDEN_ORIGIN,
            ApiError::Unavailable => codes::UNAVAILABLE,
            ApiError::Internal(_) => codes::INTERNAL,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_owned(),
            message: self.to_string(),
            field: match self {
                ApiError::InvalidInput { field, .. } => Some(field.clone()),
                _ => None,
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UsernameTaken => ApiError::UsernameTaken,
            StoreError::EmailTaken => ApiError::EmailTaken,
            // A session whose user vanished is as good as no session.
            StoreError::NoSuchUser => ApiError::Unauthorized,
            // The shared store out of reach, failing over (READONLY), loading or busy: a passing
            // condition the client can retry, not a fault of this request.
            #[cfg(feature = "redis")]
            StoreError::Redis(e) => {
                tracing::warn!(error = %e, "account store unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if matches!(self, ApiError::Unauthorized | ApiError::InvalidCredentials) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
