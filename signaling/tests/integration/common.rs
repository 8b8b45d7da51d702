//! Shared helpers for the black-box integration tests: start a real server on port 0, talk to
//! it over real HTTP (reqwest) and real WebSockets (tokio-tungstenite).

use std::future::Future;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parley_signal::test_utils;
use parley_signal::{Config, Database, Limits};
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub use parley_signal::test_utils::DEADLINE;
pub const PASSWORD: &str = "correct horse battery";

/// A server on a free port with an in-memory database and the limits a deployment runs with.
pub fn config() -> Config {
    Config {
        limits: Limits::default(),
        ..test_utils::config(Database::InMemory)
    }
}

pub async fn start() -> TestServer {
    start_with(config()).await
}

pub async fn start_limits(limits: Limits) -> TestServer {
    start_with(Config { limits, ..config() }).await
}

pub async fn start_with(config: Config) -> TestServer {
    let server = test_utils::TestServer::start_with(config).await;
    TestServer {
        api: Api::new(&server.url()),
        server,
    }
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(DEADLINE * 2)
        .build()
        .unwrap()
}

/// A running server and an HTTP client pointed at it.
pub struct TestServer {
    pub server: test_utils::TestServer,
    pub api: Api,
}

impl TestServer {
    pub fn ws_url(&self) -> String {
        ws_url(&self.api.base)
    }

    pub async fn shutdown(mut self) {
        self.server.stop().await;
    }
}

impl std::ops::Deref for TestServer {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

pub fn ws_url(base: &str) -> String {
    format!("{}/api/v1/ws", base.replacen("http://", "ws://", 1))
}

/// A response, read completely.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} body is not JSON ({e}): {:?}", self.status, self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text());
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts an error response `{code, message}` with this status and code; returns the body.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        let body = self.expect(status);
        assert_eq!(body["code"], code, "wrong error code in {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error without a message: {body}"
        );
        body
    }

    /// An `invalid_input` 400 naming `field`.
    #[track_caller]
    pub fn expect_invalid(&self, field: &str) -> Value {
        let body = self.expect_error(400, "invalid_input");
        assert_eq!(body["field"], field, "wrong field in {body}");
        body
    }
}

/// A registered account.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: Value,
    pub token: String,
    pub username: String,
    pub email: String,
}

impl Account {
    pub fn id(&self) -> &str {
        self.user["id"].as_str().unwrap()
    }
}

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.trim_end_matches('/').to_owned(),
            http: http_client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Resp {
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body").to_vec();
        Resp { status, headers, body }
    }

    fn with_token(request: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
        match token {
            Some(token) => request.header(AUTHORIZATION, format!("Bearer {token}")),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Self::with_token(self.http.get(self.url(path)), token)).await
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Resp {
        self.send(Self::with_token(self.http.post(self.url(path)).json(body), token))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value, token: Option<&str>) -> Resp {
        self.send(Self::with_token(self.http.put(self.url(path)).json(body), token))
            .await
    }

    /// A POST with a raw body and content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Resp {
        self.send(
            self.http
                .post(self.url(path))
                .header(CONTENT_TYPE, content_type)
                .body(body),
        )
        .await
    }

    pub async fn put_avatar(&self, token: &str, content_type: &str, body: Vec<u8>) -> Resp {
        self.send(
            self.http
                .put(self.url("/api/v1/me/avatar"))
                .bearer_auth(token)
                .header(CONTENT_TYPE, content_type)
                .body(body),
        )
        .await
    }

    pub async fn register_raw(&self, body: &Value) -> Resp {
        self.post("/api/v1/register", body, None).await
    }

    /// Registers `username` (email `username@example.org`) and checks the 201.
    pub async fn register_as(&self, username: &str) -> Account {
        let email = format!("{username}@example.org");
        let body = self
            .register_raw(&json!({"username": username, "email": email, "password": PASSWORD}))
            .await
            .expect(201);
        let token = body["token"].as_str().expect("token").to_owned();
        assert!(!token.is_empty());
        Account {
            user: body["user"].clone(),
            token,
            username: username.to_owned(),
            email,
        }
    }

    // Only the scale-out tests (cluster.rs) use it, and they run where redis-server's Unix
    // socket does.
    #[cfg(all(unix, feature = "redis"))]
    /// Registers a fresh account.
    pub async fn register(&self) -> Account {
        self.register_as(&test_utils::unique("user")).await
    }

    pub async fn login(&self, login: &str, password: &str) -> Resp {
        self.post("/api/v1/login", &json!({"login": login, "password": password}), None)
            .await
    }

    /// Checks that this server knows the account `username` (registered with [`PASSWORD`]):
    /// `login` signs in as `user`, a wrong password is refused and the username is taken.
    /// Returns the login's answer.
    pub async fn expect_account(&self, login: &str, username: &str, user: &Value) -> Value {
        let answer = self.login(login, PASSWORD).await.expect(200);
        assert_eq!(&answer["user"], user);
        self.login(username, "wrong password")
            .await
            .expect_error(401, "invalid_credentials");
        self.register_raw(&json!({"username": username, "email": "new@example.org", "password": PASSWORD}))
            .await
            .expect_error(409, "username_taken");
        answer
    }

    pub async fn me(&self, token: &str) -> Resp {
        self.get("/api/v1/me", Some(token)).await
    }

    /// The value of a Prometheus metric (a line `NAME VALUE`).
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.get("/metrics", None).await;
        assert_eq!(text.status, 200);
        metric_in(&text.text(), name).unwrap_or_else(|| panic!("metric {name} missing"))
    }

    /// Polls a metric until it has `value`.
    pub async fn wait_metric(&self, name: &str, value: f64) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let last = self.metric(name).await;
            if last == value {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} stayed at {last}, expected {value}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub fn metric_in(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Polls `check` every 20 ms until it holds or `DEADLINE` passes; true when it held.
pub async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the WebSocket, with `Authorization: Bearer` when a token is given; errors are returned
/// (a refused upgrade is `tungstenite::Error::Http`).
pub async fn ws_open(url: &str, token: Option<&str>) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    ws_open_with(url, token, &[]).await
}

pub async fn ws_open_with(
    url: &str,
    token: Option<&str>,
    headers: &[(&'static str, &str)],
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request()?;
    if let Some(token) = token {
        request
            .headers_mut()
            .insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    }
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(request))
        .await
        .expect("WebSocket handshake timed out")?;
    Ok(ws)
}

/// A connected, welcomed peer.
pub struct Peer {
    pub ws: Ws,
    pub peer_id: String,
    pub user: Value,
}

impl Peer {
    pub async fn send(&mut self, frame: Value) {
        send(&mut self.ws, frame).await
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    pub async fn next(&mut self) -> Value {
        next_frame(&mut self.ws).await
    }

    pub async fn expect(&mut self, kind: &str) -> Value {
        expect_frame(&mut self.ws, kind).await
    }

    pub async fn expect_error(&mut self, code: &str) -> Value {
        expect_error_frame(&mut self.ws, code).await
    }

    /// Sends `ping` and requires `pong` as the very next frame: proves the connection works and
    /// that nothing else was queued for it before.
    pub async fn sync(&mut self) {
        self.send(json!({"type": "ping"})).await;
        let frame = self.next().await;
        assert_eq!(frame["type"], "pong", "expected pong, got {frame}");
    }

    pub async fn join(&mut self, room: &str) -> Value {
        self.send(json!({"type": "join", "room": room})).await;
        let joined = self.expect("joined").await;
        assert_eq!(joined["room"], room);
        joined
    }

    // Only the scale-out tests (cluster.rs) use it, and they run where redis-server's Unix
    // socket does.
    #[cfg(all(unix, feature = "redis"))]
    pub async fn wait_for(&mut self, kind: &str) -> Value {
        wait_for_frame(&mut self.ws, kind).await
    }
}

/// Connects with the `Authorization` header and reads the welcome.
pub async fn connect(url: &str, token: &str) -> Peer {
    let ws = ws_open(url, Some(token)).await.expect("WebSocket connects");
    welcomed(ws).await
}

/// Connects without a header and authenticates with a first `auth` frame.
pub async fn connect_with_frame(url: &str, token: &str) -> Peer {
    let mut ws = ws_open(url, None).await.expect("WebSocket connects");
    send(&mut ws, json!({"type": "auth", "token": token})).await;
    welcomed(ws).await
}

async fn welcomed(mut ws: Ws) -> Peer {
    let welcome = expect_frame(&mut ws, "welcome").await;
    let peer_id = welcome["peer_id"].as_str().expect("peer_id").to_owned();
    assert!(!peer_id.is_empty());
    Peer {
        ws,
        peer_id,
        user: welcome["user"].clone(),
    }
}

pub async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.expect("send");
}

/// What the next message from the server was.
#[derive(Debug)]
pub enum Event {
    Frame(Value),
    Close(Option<CloseFrame>),
    /// The stream ended (or failed) without a close frame.
    Gone(String),
}

/// The next text frame, close or end of stream, skipping pings and pongs. Panics on timeout
/// or a non-JSON/binary message.
pub async fn next_event(ws: &mut Ws) -> Event {
    try_next_event(ws, DEADLINE)
        .await
        .unwrap_or_else(|| panic!("nothing from the server within {DEADLINE:?}"))
}

/// The next event if one arrives within `wait` (pings skipped), else None.
pub async fn try_next_event(ws: &mut Ws, wait: Duration) -> Option<Event> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return None,
            Ok(None) => return Some(Event::Gone("end of stream".into())),
            Ok(Some(Err(e))) => return Some(Event::Gone(e.to_string())),
            Ok(Some(Ok(message))) => message,
        };
        match message {
            Message::Text(text) => {
                let value = serde_json::from_str(text.as_str())
                    .unwrap_or_else(|e| panic!("server sent non-JSON text ({e}): {text}"));
                return Some(Event::Frame(value));
            }
            Message::Close(frame) => return Some(Event::Close(frame)),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected message from the server: {other:?}"),
        }
    }
}

/// The next JSON frame, skipping pings; panics on close or timeout.
pub async fn next_frame(ws: &mut Ws) -> Value {
    match next_event(ws).await {
        Event::Frame(value) => value,
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// The next frame, which must be of type `kind`.
pub async fn expect_frame(ws: &mut Ws, kind: &str) -> Value {
    let frame = next_frame(ws).await;
    assert_eq!(frame["type"], kind, "expected a {kind} frame, got {frame}");
    frame
}

/// The next frame, which must be an `error` with `code` and a message.
pub async fn expect_error_frame(ws: &mut Ws, code: &str) -> Value {
    let frame = expect_frame(ws, "error").await;
    assert_eq!(frame["code"], code, "wrong error code in {frame}");
    assert!(frame["message"].as_str().is_some_and(|m| !m.is_empty()), "{frame}");
    frame
}

/// Skips frames until one of type `kind` arrives.
// Only the scale-out tests (cluster.rs) use it, and they run where redis-server's Unix socket
// does.
#[cfg(all(unix, feature = "redis"))]
pub async fn wait_for_frame(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let frame = next_frame(ws).await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

/// Reads until the server closes; returns the close code (None when the stream just ended).
/// Panics if a JSON frame arrives first.
pub async fn expect_close(ws: &mut Ws) -> Option<u16> {
    match next_event(ws).await {
        Event::Close(frame) => frame.map(|f| u16::from(f.code)),
        Event::Gone(why) => panic!("connection dropped without a close frame ({why})"),
        Event::Frame(frame) => panic!("expected a close, got {frame}"),
    }
}
