//! Extractors that turn every malformed request into an `ApiError` (`{code, message}`), never
//! axum's plain-text rejections.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::auth;
use crate::error::ApiError;
use crate::state::{AppState, Session};

/// `Json<T>` whose failures name the offending field where serde tells it.
pub struct ApiJson<T>(pub T);

/// serde reports "missing field `x`" / "unknown field `x`, expected …"; pull the name out.
fn field_in(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

/// axum words data errors "Failed to deserialize … target type: [PATH: ]MESSAGE", where PATH
/// names the field whose value had the wrong type (absent for missing and unknown fields, whose
/// name is in the message instead).
fn split_data_error(detail: &str) -> (Option<&str>, &str) {
    let detail = detail.split_once("target type: ").map_or(detail, |(_, rest)| rest);
    match detail.split_once(": ") {
        Some((path, message))
            if !path.is_empty()
                && path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']')) =>
        {
            (Some(path), message)
        }
        _ => (None, detail),
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge("the request body is too large".into());
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMedia("send a JSON body with Content-Type: application/json".into())
        }
        JsonRejection::JsonDataError(e) => {
            let detail = e.body_text();
            let (path, message) = split_data_error(&detail);
            match path.map(str::to_owned).or_else(|| field_in(message)) {
                Some(field) => ApiError::InvalidInput {
                    field,
                    message: message.to_owned(),
                },
                None => ApiError::BadRequest(format!("invalid request: {message}")),
            }
        }
        other => ApiError::BadRequest(format!("the body is not valid JSON: {}", other.body_text())),
    }
}

/// The session behind `Authorization: Bearer TOKEN`.
pub struct Auth(pub Session);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::bearer)
            .ok_or(ApiError::Unauthorized)?;
        state.authenticate(token).await.map(Auth)
    }
}

#[cfg(test)]
mod tests {
    use super::{field_in, split_data_error};

    #[test]
    fn field_names_from_serde_messages() {
        assert_eq!(
            field_in("missing field `email` at line 1 column 2").as_deref(),
            Some("email")
        );
        assert_eq!(field_in("unknown field `x`, expected one of `a`").as_deref(), Some("x"));
        assert_eq!(field_in("invalid type: integer, expected a string"), None);
    }

    #[test]
    fn wrongly_typed_values_name_their_field_not_the_value() {
        let prefix = "Failed to deserialize the JSON body into the target type: ";
        assert_eq!(
            split_data_error(&format!(
                "{prefix}username: invalid type: integer `42`, expected a string at line 1 column 14"
            )),
            (
                Some("username"),
                "invalid type: integer `42`, expected a string at line 1 column 14"
            )
        );
        assert_eq!(
            split_data_error(&format!("{prefix}missing field `email` at line 1 column 2")),
            (None, "missing field `email` at line 1 column 2")
        );
        assert_eq!(
            split_data_error(&format!("{prefix}invalid type: sequence, expected struct X")),
            (None, "invalid type: sequence, expected struct X")
        );
    }
}
