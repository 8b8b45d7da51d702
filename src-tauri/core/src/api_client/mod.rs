//! The client of the signaling server's HTTP API: accounts, profiles, avatars, rooms and ICE
//! servers.
//!
//! [`ApiClient`] is a thin typed layer over `reqwest`; the wire types are
//! [`parley_protocol`]'s, used as they are so client and server cannot drift apart.
//! Every failure ends up as an [`ApiError`] that tells apart "the server said no"
//! ([`ApiError::Server`], with its stable `code`), "there is no server to talk to"
//! ([`ApiError::Unreachable`]) and "something answered, but not as a Parley server would"
//! ([`ApiError::Protocol`]), because the UI reacts differently to each.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use parley_protocol::{
    AuthResponse, ErrorBody, IceServer, IceServers, LoginRequest, Peer, PeerList, ProfileUpdate, RegisterRequest,
    RoomList, RoomSummary, User,
};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::server_tls::{CertificateProblem, ServerTls};
use crate::server_url::{InvalidServerUrl, ServerUrl};
use parley_protocol::Fingerprint;

/// Time to establish a TCP (and TLS) connection. A server that does not accept within this is
/// down or firewalled; waiting longer only delays telling the user.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request limit for ordinary JSON calls. Login is the slowest (argon2 on the server).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Avatar uploads carry up to a few MiB, which needs longer on a slow uplink.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);
/// A health check is answered instantly by a live server; it exists to fail fast.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// An error body longer than this is not shown in messages: it is some proxy's HTML page.
const SNIPPET_CHARS: usize = 200;

/// Everything that can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server refused the request with one of its documented errors. `message` is meant
    /// for people; `code` (see [`parley_protocol::codes`]) is for code.
    #[error("{message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// One of [`parley_protocol::codes`].
        code: String,
        /// The server's sentence.
        message: String,
        /// The request field at fault, for `invalid_input`.
        field: Option<String>,
    },
    /// No answer: refused connection, unknown host, TLS failure, or a timeout.
    #[error("the server could not be reached at {url}: {reason}")]
    Unreachable {
        /// The server's origin.
        url: String,
        /// The bottom of the error chain ("Connection refused", "dns error: …").
        reason: String,
        /// The whole chain.
        #[source]
        source: reqwest::Error,
    },
    /// Something answered, but not the way a Parley server does (wrong URL, a proxy's error
    /// page, an incompatible server version).
    #[error("unexpected answer from {url}: {detail}")]
    Protocol {
        /// The URL asked.
        url: String,
        /// What was wrong with the answer.
        detail: String,
    },
    /// The server presented a certificate no public authority vouches for, and no fingerprint
    /// was pinned for it: a self-signed (LAN) server, or someone in between.
    #[error(
        "{url} presented a certificate that no certificate authority vouches for (fingerprint {presented}). \
         If it is a server on your network, use the invite its owner shares, or compare this \
         fingerprint with the one the server shows before trusting it."
    )]
    UntrustedCertificate {
        /// The server's origin.
        url: String,
        /// The certificate it presented.
        presented: Fingerprint,
    },
    /// The server presented another certificate than the one trusted for it.
    #[error(
        "{url} presented a different certificate from the one trusted for it (expected {expected}, \
         got {presented}): the connection was refused, because someone may be posing as the server. \
         If its owner made a new certificate, get a new invite from them."
    )]
    CertificateChanged {
        /// The server's origin.
        url: String,
        /// The pinned fingerprint.
        expected: Fingerprint,
        /// What it presented.
        presented: Fingerprint,
    },
    /// The server address cannot be used.
    #[error(transparent)]
    InvalidUrl(#[from] InvalidServerUrl),
    /// An authenticated call on a client without a session token.
    #[error("not signed in: log in or register first")]
    NotSignedIn,
}

impl ApiError {
    /// The server's error code, when the server answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True when the session token is missing, expired or signed out: time to log in again.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ApiError::NotSignedIn) || self.code() == Some(parley_protocol::codes::UNAUTHORIZED)
    }

    fn unreachable(url: &Url, source: reqwest::Error, timeout: Duration) -> ApiError {
        let reason = if source.is_timeout() {
            format!("no answer within {} s", timeout.as_secs())
        } else {
            root_cause(&source)
        };
        ApiError::Unreachable {
            url: origin_of(url),
            reason,
            source,
        }
    }

    fn protocol(url: &Url, detail: impl Into<String>) -> ApiError {
        ApiError::Protocol {
            url: url.to_string(),
            detail: detail.into(),
        }
    }
}

/// reqwest's own message is "error sending request for url (…)"; the useful part
/// ("Connection refused", "dns error: …") is at the bottom of the chain.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// An avatar image as the server serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Avatar {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A client for one server. Cheap to clone; clones share the connection pool and the session
/// token, so signing in on one signs in all of them.
#[derive(Clone)]
pub(crate) struct ApiClient {
    http: reqwest::Client,
    base: ServerUrl,
    tls: ServerTls,
    token: Arc<RwLock<Option<String>>>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token: debug output ends up in logs.
        f.debug_struct("ApiClient")
            .field("base", &self.base)
            .field("signed_in", &self.token().is_some())
            .finish()
    }
}

impl ApiClient {
    /// A client for the server at `base_url` (validated with [`ServerUrl::parse`]).
    #[cfg(test)]
    pub(crate) fn new(base_url: &str) -> Result<ApiClient, ApiError> {
        Ok(ApiClient::for_server(ServerUrl::parse(base_url)?, None))
    }

    /// A client for `base`; with `pin`, its certificate must be exactly that one
    /// ([`ServerTls`]).
    pub(crate) fn for_server(base: ServerUrl, pin: Option<Fingerprint>) -> ApiClient {
        let tls = ServerTls::new(pin);
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(rustls::ClientConfig::clone(&tls.client_config()))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("parley/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a rustls client with static settings always builds");
        ApiClient {
            http,
            base,
            tls,
            token: Arc::default(),
        }
    }

    /// The certificate checks this client makes (the WebSocket makes the same).
    pub(crate) fn tls(&self) -> &ServerTls {
        &self.tls
    }

    /// Continues a session whose token was kept (in the OS keyring).
    pub(crate) fn with_token(self, token: impl Into<String>) -> ApiClient {
        self.set_token(Some(token.into()));
        self
    }

    pub(crate) fn set_token(&self, token: Option<String>) {
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = token;
    }

    pub(crate) fn token(&self) -> Option<String> {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn server(&self) -> &ServerUrl {
        &self.base
    }

    /// Creates an account and signs this client in with it.
    pub(crate) async fn register(&self, request: &RegisterRequest) -> Result<AuthResponse, ApiError> {
        let span = tracing::info_span!("register", server = %self.base, username = %request.username);
        async {
            let url = self.base.api(&["register"]);
            let auth: AuthResponse = self.send_json(self.http.post(url.clone()).json(request), &url).await?;
            self.set_token(Some(auth.token.clone()));
            Ok(auth)
        }
        .instrument(span)
        .await
    }

    /// Signs in with a username or email address and signs this client in.
    pub(crate) async fn login(&self, login: &str, password: &str) -> Result<AuthResponse, ApiError> {
        let span = tracing::info_span!("login", server = %self.base, login);
        async {
            let url = self.base.api(&["login"]);
            let body = LoginRequest {
                login: login.to_owned(),
                password: password.to_owned(),
            };
            let auth: AuthResponse = self.send_json(self.http.post(url.clone()).json(&body), &url).await?;
            self.set_token(Some(auth.token.clone()));
            Ok(auth)
        }
        .instrument(span)
        .await
    }

    /// Ends the session on the server. The client forgets its token whatever the outcome: a
    /// user who signs out must not stay signed in because the server was unreachable.
    pub(crate) async fn logout(&self) -> Result<(), ApiError> {
        let span = tracing::info_span!("logout", server = %self.base);
        async {
            let request = self.authed(Method::POST, &["logout"]);
            self.set_token(None);
            let (request, url) = request?;
            match self.send(request, &url, REQUEST_TIMEOUT).await {
                Ok(_) => Ok(()),
                // The token was dead already, which is what logging out wants.
                Err(e) if e.is_unauthorized() => Ok(()),
                Err(e) => Err(e),
            }
        }
        .instrument(span)
        .await
    }

    /// The signed-in account, email included.
    pub(crate) async fn me(&self) -> Result<User, ApiError> {
        let (request, url) = self.authed(Method::GET, &["me"])?;
        self.send_json(request, &url)
            .instrument(tracing::debug_span!("me", server = %self.base))
            .await
    }

    /// Changes display name, bio or status; `None` fields stay as they are.
    pub(crate) async fn update_profile(&self, update: &ProfileUpdate) -> Result<User, ApiError> {
        let (request, url) = self.authed(Method::PUT, &["me"])?;
        self.send_json(request.json(update), &url)
            .instrument(tracing::info_span!("update_profile", server = %self.base))
            .await
    }

    /// Uploads an image (PNG, JPEG, GIF, WebP or BMP); the server scales and re-encodes it.
    pub(crate) async fn upload_avatar(&self, image: Vec<u8>) -> Result<User, ApiError> {
        let span = tracing::info_span!("upload_avatar", server = %self.base, bytes = image.len());
        async {
            let (request, url) = self.authed(Method::PUT, &["me", "avatar"])?;
            let request = request
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .timeout(UPLOAD_TIMEOUT)
                .body(image);
            let response = self.send(request, &url, UPLOAD_TIMEOUT).await?;
            parse_json(response, &url, UPLOAD_TIMEOUT).await
        }
        .instrument(span)
        .await
    }

    /// A user's avatar, or `None` when they have none. Public: no session needed.
    pub(crate) async fn avatar(&self, user_id: &str) -> Result<Option<Avatar>, ApiError> {
        let span = tracing::debug_span!("avatar", server = %self.base, user_id);
        async {
            let url = self.base.api(&["users", user_id, "avatar"]);
            let response = match self.send(self.http.get(url.clone()), &url, REQUEST_TIMEOUT).await {
                Ok(response) => response,
                Err(ApiError::Server { status: 404, .. }) => return Ok(None),
                Err(e) => return Err(e),
            };
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_owned();
            if !content_type.starts_with("image/") {
                return Err(ApiError::protocol(
                    &url,
                    format!("expected an image, got {content_type}"),
                ));
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|e| ApiError::unreachable(&url, e, REQUEST_TIMEOUT))?;
            Ok(Some(Avatar {
                content_type,
                bytes: bytes.to_vec(),
            }))
        }
        .instrument(span)
        .await
    }

    /// Rooms with at least one peer online, busiest first.
    pub(crate) async fn rooms(&self) -> Result<Vec<RoomSummary>, ApiError> {
        let (request, url) = self.authed(Method::GET, &["rooms"])?;
        let list: RoomList = self
            .send_json(request, &url)
            .instrument(tracing::debug_span!("rooms", server = %self.base))
            .await?;
        Ok(list.rooms)
    }

    /// Who is in a room right now (empty for a room nobody is in).
    pub(crate) async fn room_peers(&self, room: &str) -> Result<Vec<Peer>, ApiError> {
        let (request, url) = self.authed(Method::GET, &["rooms", room, "peers"])?;
        let list: PeerList = self
            .send_json(request, &url)
            .instrument(tracing::debug_span!("room_peers", server = %self.base, room))
            .await?;
        Ok(list.peers)
    }

    /// STUN/TURN servers for WebRTC; TURN credentials may be fresh and time-limited per call.
    pub(crate) async fn ice_servers(&self) -> Result<Vec<IceServer>, ApiError> {
        let (request, url) = self.authed(Method::GET, &["ice-servers"])?;
        let list: IceServers = self
            .send_json(request, &url)
            .instrument(tracing::debug_span!("ice_servers", server = %self.base))
            .await?;
        Ok(list.ice_servers)
    }

    /// Succeeds when the server is up and its database answers.
    pub(crate) async fn health(&self) -> Result<(), ApiError> {
        let url = self.base.endpoint(&["healthz"]);
        let request = self.http.get(url.clone()).timeout(HEALTH_TIMEOUT);
        let response = self
            .send(request, &url, HEALTH_TIMEOUT)
            .instrument(tracing::debug_span!("health", server = %self.base))
            .await?;
        let body = response
            .text()
            .await
            .map_err(|e| ApiError::unreachable(&url, e, HEALTH_TIMEOUT))?;
        if body.trim() != "ok" {
            return Err(ApiError::protocol(
                &url,
                format!("the health check answered {}", snippet(body.as_bytes())),
            ));
        }
        Ok(())
    }

    fn authed(&self, method: Method, segments: &[&str]) -> Result<(reqwest::RequestBuilder, Url), ApiError> {
        let token = self.token().ok_or(ApiError::NotSignedIn)?;
        let url = self.base.api(segments);
        Ok((self.http.request(method, url.clone()).bearer_auth(token), url))
    }

    async fn send_json<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder, url: &Url) -> Result<T, ApiError> {
        let response = self.send(request, url, REQUEST_TIMEOUT).await?;
        parse_json(response, url, REQUEST_TIMEOUT).await
    }

    /// Sends and turns any non-2xx answer into an error.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
        timeout: Duration,
    ) -> Result<reqwest::Response, ApiError> {
        let response = request.send().await.map_err(|e| {
            let error = match self.tls.problem(&e) {
                Some(CertificateProblem::Untrusted { presented }) => ApiError::UntrustedCertificate {
                    url: origin_of(url),
                    presented,
                },
                Some(CertificateProblem::Changed { expected, presented }) => ApiError::CertificateChanged {
                    url: origin_of(url),
                    expected,
                    presented,
                },
                None => ApiError::unreachable(url, e, timeout),
            };
            tracing::debug!(%error, "request failed");
            error
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| ApiError::unreachable(url, e, timeout))?;
        let error = error_from_body(status, &body, url);
        tracing::debug!(%status, error = %error, "server refused");
        Err(error)
    }
}

async fn parse_json<T: DeserializeOwned>(
    response: reqwest::Response,
    url: &Url,
    timeout: Duration,
) -> Result<T, ApiError> {
    let body = response
        .bytes()
        .await
        .map_err(|e| ApiError::unreachable(url, e, timeout))?;
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::protocol(
            url,
            format!("the body is not what a Parley server sends ({e}): {}", snippet(&body)),
        )
    })
}

fn error_from_body(status: StatusCode, body: &[u8], url: &Url) -> ApiError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { code, message, field }) => ApiError::Server {
            status: status.as_u16(),
            code,
            message,
            field,
        },
        Err(_) => ApiError::protocol(
            url,
            format!("HTTP {status} without a Parley error body: {}", snippet(body)),
        ),
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut shown: String = text.chars().take(SNIPPET_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_typed_errors() {
        let url = Url::parse("http://127.0.0.1:1/api/v1/register").unwrap();
        let body =
            br#"{"code":"invalid_input","message":"username must be 3 to 32 characters long","field":"username"}"#;
        match error_from_body(StatusCode::BAD_REQUEST, body, &url) {
            ApiError::Server {
                status,
                code,
                field,
                message,
            } => {
                assert_eq!(
                    (status, code.as_str(), field.as_deref()),
                    (400, "invalid_input", Some("username"))
                );
                assert!(message.contains("3 to 32"));
            }
            other => panic!("{other:?}"),
        }
        let html = error_from_body(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>", &url);
        assert!(matches!(html, ApiError::Protocol { .. }), "{html:?}");
        assert!(html.to_string().contains("502"), "{html}");
    }
}

#[cfg(test)]
mod server_tests;
