//! Extractors that turn every malformed request into an `ApiError` (`{code, message}`), never
//! axum's plain-text rejections.

use axum::extract::rejection::JsonRejection;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
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

/// The address a request comes from, for rate limits: the TCP peer's, or, when the peer is a
/// trusted reverse proxy (`--trusted-proxy`), the nearest address in `X-Forwarded-For` that is
/// not itself a trusted proxy. A header from anyone else is ignored: any client could pick its
/// own address with it and slip past the limits.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| ApiError::Internal("the connection's address is unknown".into()))?;
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(ClientIp(client_ip(peer, &forwarded, &state.config.trusted_proxies)))
    }
}

fn client_ip(peer: IpAddr, forwarded: &[&str], trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    // Each proxy appends the address it got the request from: walk from the nearest hop.
    let hops = forwarded.iter().flat_map(|h| h.split(',')).map(str::trim).rev();
    let mut nearest = peer;
    for hop in hops {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => nearest = ip,
            Ok(ip) => return ip,
            // Garbage in the chain: stop at the last address we can vouch for.
            Err(_) => return nearest,
        }
    }
    nearest
}

#[cfg(test)]
mod client_ip_tests {
    use super::client_ip;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.2");
        let trusted = [proxy, ip("10.0.0.3")];
        // From an untrusted peer the header is ignored.
        assert_eq!(
            client_ip(ip("198.51.100.7"), &["1.2.3.4"], &trusted),
            ip("198.51.100.7")
        );
        // From the proxy: the address it names.
        assert_eq!(client_ip(proxy, &["203.0.113.9"], &trusted), ip("203.0.113.9"));
        // A client that forged a first entry gets the address the proxy saw, not the forgery.
        assert_eq!(client_ip(proxy, &["1.2.3.4, 203.0.113.9"], &trusted), ip("203.0.113.9"));
        // Two trusted proxies in a row, header repeated.
        assert_eq!(
            client_ip(proxy, &["203.0.113.9", "10.0.0.3"], &trusted),
            ip("203.0.113.9")
        );
        // Garbage or nothing: the proxy's own address, never a pick of the client's.
        assert_eq!(client_ip(proxy, &["not-an-ip"], &trusted), proxy);
        assert_eq!(client_ip(proxy, &[], &trusted), proxy);
    }
}
