//! A bare signaling client for adversarial tests: registers over HTTP and speaks the v1
//! WebSocket frames (`parley_protocol`) directly, with none of the app core's own checks, so a
//! test can act as a peer that the core did not write.

use futures_util::{SinkExt, StreamExt};
use parley_protocol::{AuthResponse, ClientFrame, RegisterRequest, ServerFrame};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::{DEADLINE, PASSWORD};

/// Creates the account `name` (password [`PASSWORD`]) on the server at `base` (`http://…`).
pub async fn register(base: &str, name: &str) -> AuthResponse {
    let request = RegisterRequest {
        username: name.to_owned(),
        email: format!("{name}@example.org"),
        password: PASSWORD.to_owned(),
        display_name: None,
    };
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/register"))
        .json(&request)
        .send()
        .await
        .expect("the server answers");
    assert!(
        response.status().is_success(),
        "registering {name}: {}",
        response.status()
    );
    response.json().await.expect("an AuthResponse")
}

/// One signed-in WebSocket: frames go out with [`BareLink::send`], the server's come out of the
/// receiver [`BareLink::connect`] returns.
pub struct BareLink {
    outgoing: UnboundedSender<ClientFrame>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl BareLink {
    /// Connects with `token` and waits for `welcome`; returns the link, this connection's peer
    /// id and every later frame.
    pub async fn connect(base: &str, token: &str) -> (BareLink, String, UnboundedReceiver<ServerFrame>) {
        let url = format!("{}/api/v1/ws", base.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("a WebSocket URL");
        let bearer = HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value");
        request.headers_mut().insert("authorization", bearer);
        let (socket, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(request))
            .await
            .expect("the WebSocket opens in time")
            .expect("the WebSocket opens");
        let (mut sink, mut stream) = socket.split();
        let (frames, mut incoming) = unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                if let Message::Text(text) = message {
                    if let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) {
                        if frames.send(frame).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let (outgoing, mut to_send) = unbounded_channel::<ClientFrame>();
        let writer = tokio::spawn(async move {
            while let Some(frame) = to_send.recv().await {
                let text = serde_json::to_string(&frame).expect("frames serialize");
                if sink.send(Message::text(text)).await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        });
        let peer_id = tokio::time::timeout(DEADLINE, async {
            loop {
                match incoming.recv().await.expect("the server welcomes") {
                    ServerFrame::Welcome { peer_id, .. } => return peer_id,
                    _ => continue,
                }
            }
        })
        .await
        .expect("welcome in time");
        let link = BareLink {
            outgoing,
            reader,
            writer,
        };
        (link, peer_id, incoming)
    }

    /// Queues a frame for the server.
    pub fn send(&self, frame: ClientFrame) {
        let _ = self.outgoing.send(frame);
    }

    /// Sends what is queued and closes the WebSocket.
    pub async fn close(self) {
        drop(self.outgoing);
        let _ = self.writer.await;
        self.reader.abort();
    }
}
