//! The two client protocols: PeerJS (PeerServer and parley-signal's compatibility endpoint) and
//! parley-signal's own API v1. Only what the benchmark needs: connect, join, relay frames.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::sys;

pub type Ws = WebSocketStream<TcpStream>;

#[derive(Clone, Debug)]
pub enum Proto {
    /// `ws://HOST{path}?key=KEY&id=ID&token=TOKEN`.
    PeerJs { path: String, key: String },
    /// `ws://HOST/api/v1/ws` with `Authorization: Bearer TOKEN`.
    V1 { token: String },
}

pub const HEARTBEAT: Utf8Bytes = Utf8Bytes::from_static(r#"{"type":"HEARTBEAT"}"#);

/// Small buffers: the load generator holds ~20k of these.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Proto {
    pub fn is_peerjs(&self) -> bool {
        matches!(self, Proto::PeerJs { .. })
    }

    /// Opens one client from source address `src` and waits for the server's first frame
    /// (`OPEN` / `welcome`). Returns the stream and the client's peer id.
    pub async fn connect(&self, server: SocketAddr, src: Ipv4Addr, id: &str) -> Result<(Ws, String), String> {
        let sock = TcpSocket::new_v4().map_err(err)?;
        sys::bind_address_no_port(&sock);
        sock.bind(SocketAddr::new(src.into(), 0))
            .map_err(|e| format!("bind {src}: {e}"))?;
        let stream = sock.connect(server).await.map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).map_err(err)?;
        let request = match self {
            Proto::PeerJs { path, key } => format!("ws://{server}{path}?key={key}&id={id}&token=t{id}")
                .into_client_request()
                .map_err(err)?,
            Proto::V1 { token } => {
                let mut req = format!("ws://{server}/api/v1/ws").into_client_request().map_err(err)?;
                req.headers_mut()
                    .insert(AUTHORIZATION, format!("Bearer {token}").parse().map_err(err)?);
                req
            }
        };
        let (mut ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config()))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let text = next_text(&mut ws).await?;
        match self {
            Proto::PeerJs { .. } if text.contains(r#""type":"OPEN""#) => Ok((ws, id.to_string())),
            Proto::V1 { .. } if text.contains(r#""type":"welcome""#) => {
                let v: serde_json::Value = serde_json::from_str(&text).map_err(err)?;
                let peer_id = v["peer_id"].as_str().ok_or("welcome without peer_id")?;
                Ok((ws, peer_id.to_string()))
            }
            _ => Err(format!("unexpected first frame: {text}")),
        }
    }

    /// v1: joins `room` and waits for `joined` (other frames, e.g. `peer-joined`, are skipped).
    /// PeerJS has no rooms: nothing to do.
    pub async fn join(&self, ws: &mut Ws, room: &str) -> Result<(), String> {
        if self.is_peerjs() {
            return Ok(());
        }
        let frame = format!(r#"{{"type":"join","room":"{room}"}}"#);
        ws.send(Message::text(frame)).await.map_err(err)?;
        loop {
            let text = next_text(ws).await?;
            if text.contains(r#""type":"joined""#) {
                return Ok(());
            }
            if is_error(&text) {
                return Err(format!("join {room}: {text}"));
            }
        }
    }
}

async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.to_string()),
            Some(Ok(Message::Close(f))) => return Err(format!("closed by server: {f:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(err(e)),
            None => return Err("connection closed".into()),
        }
    }
}

/// An error-ish frame of either protocol (`ERROR`, `EXPIRE`, `LEAVE`, `error`).
pub fn is_error(text: &str) -> bool {
    [
        r#""type":"error""#,
        r#""type":"ERROR""#,
        r#""type":"EXPIRE""#,
        r#""type":"LEAVE""#,
        r#""type":"ID-TAKEN""#,
    ]
    .iter()
    .any(|m| text.contains(m))
}

/// A relay frame to one peer, built once; only the timestamp changes per message.
pub struct FrameTemplate {
    prefix: String,
}

impl FrameTemplate {
    pub fn new(proto: &Proto, to: &str, pad: usize) -> Self {
        let pad = if pad > 0 {
            format!(r#""pad":"{}","#, "x".repeat(pad))
        } else {
            String::new()
        };
        let prefix = match proto {
            Proto::PeerJs { .. } => {
                format!(r#"{{"type":"OFFER","dst":"{to}","payload":{{{pad}"ts":"#)
            }
            Proto::V1 { .. } => format!(r#"{{"type":"signal","to":"{to}","data":{{{pad}"ts":"#),
        };
        FrameTemplate { prefix }
    }

    pub fn frame(&self, ts: u64) -> Message {
        let mut s = String::with_capacity(self.prefix.len() + 24);
        s.push_str(&self.prefix);
        let _ = write!(s, "{ts}");
        s.push_str("}}");
        Message::text(s)
    }
}

/// The send timestamp in a relayed frame, found without parsing the JSON. The payload is the
/// last member of both protocols' relay frames, so the last `"ts":` is ours.
pub fn find_ts(text: &str) -> Option<u64> {
    let at = text.rfind(r#""ts":"#)? + 5;
    let digits = &text.as_bytes()[at..];
    let mut v: u64 = 0;
    let mut n = 0;
    for &b in digits.iter().take(20) {
        if !b.is_ascii_digit() {
            break;
        }
        v = v * 10 + u64::from(b - b'0');
        n += 1;
    }
    (n > 0).then_some(v)
}

/// `POST /api/v1/register` over a bare HTTP/1.1 connection; returns the session token.
pub async fn register(server: SocketAddr, username: &str) -> Result<String, String> {
    let body = serde_json::json!({
        "username": username,
        "email": format!("{username}@example.com"),
        "password": "load-bench-password-1",
    })
    .to_string();
    let request = format!(
        "POST /api/v1/register HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(server).await.map_err(err)?;
    stream.write_all(request.as_bytes()).await.map_err(err)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.map_err(err)?;
    let response = String::from_utf8_lossy(&response);
    let status = response.split_whitespace().nth(1).unwrap_or("");
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Tolerates a chunked body: the JSON object is between the first '{' and the last '}'.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if a < b => &body[a..=b],
        _ => body,
    };
    if status != "201" && status != "200" {
        return Err(format!("register: HTTP {status}: {json}"));
    }
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("register: {e}: {json}"))?;
    v["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("register: no token in {json}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_round_trips_through_both_protocols() {
        let peerjs = Proto::PeerJs {
            path: "/peerjs/peerjs".into(),
            key: "peerjs".into(),
        };
        let f = FrameTemplate::new(&peerjs, "b1", 3).frame(1234567890123);
        let text = f.to_text().unwrap();
        assert_eq!(
            text,
            r#"{"type":"OFFER","dst":"b1","payload":{"pad":"xxx","ts":1234567890123}}"#
        );
        let received = r#"{"type":"OFFER","src":"a1","dst":"b1","payload":{"pad":"xxx","ts":1234567890123}}"#;
        assert_eq!(find_ts(received), Some(1234567890123));
        let v1 = r#"{"type":"signal","from":"p","user":{"id":"u","username":"ts"},"data":{"ts":42}}"#;
        assert_eq!(find_ts(v1), Some(42));
        assert_eq!(find_ts(r#"{"type":"OPEN"}"#), None);
        assert!(is_error(r#"{"type":"error","code":"rate_limited"}"#));
    }
}
