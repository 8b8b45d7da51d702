//! The two client protocols: PeerJS (PeerServer and parley-signal's compatibility endpoint) and
//! parley-signal's own API v1. Only what the benchmark needs: connect, join, relay frames.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
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
    /// `ws://HOST/api/v1/ws` with `Authorization: Bearer TOKEN`. Client `i` signs in with
    /// `tokens[i / devices_per_user]` (wrapping around): one session per account and client.
    V1 {
        tokens: Arc<[String]>,
        devices_per_user: usize,
    },
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

    /// Distinct accounts behind `clients` v1 clients (0 for PeerJS, which has none).
    pub fn users_for(&self, clients: usize) -> usize {
        match self {
            Proto::PeerJs { .. } => 0,
            Proto::V1 {
                tokens,
                devices_per_user,
            } => clients.div_ceil((*devices_per_user).max(1)).min(tokens.len()),
        }
    }

    /// Opens client number `index` (its PeerJS id is `id`) from source address `src` and waits
    /// for the server's first frame (`OPEN` / `welcome`). Returns the stream and the peer id.
    pub async fn connect(
        &self,
        server: SocketAddr,
        src: Ipv4Addr,
        id: &str,
        index: usize,
    ) -> Result<(Ws, String), String> {
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
            Proto::V1 {
                tokens,
                devices_per_user,
            } => {
                let token = &tokens[(index / (*devices_per_user).max(1)) % tokens.len()];
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_round_trips_through_both_protocols() {
        let v1 = Proto::V1 {
            tokens: vec!["a".to_string(), "b".to_string(), "c".to_string()].into(),
            devices_per_user: 2,
        };
        assert_eq!(v1.users_for(5), 3);
        assert_eq!(v1.users_for(100), 3);
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
