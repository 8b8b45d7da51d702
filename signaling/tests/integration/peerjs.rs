//! The PeerServer-compatible endpoint, driven over real sockets the way a PeerJS client does.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parley_signal::{Config, PeerJsConfig, Server, ServerHandle};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

use crate::common::{config, DEADLINE};

async fn start_with(peerjs: PeerJsConfig) -> ServerHandle {
    let config = Config {
        peerjs: Some(peerjs),
        ..config()
    };
    Server::bind(config).await.expect("server binds").spawn()
}

async fn start() -> ServerHandle {
    start_with(PeerJsConfig::new("testkey")).await
}

fn ws_url(server: &ServerHandle, query: &str) -> String {
    format!("ws://{}/peerjs/peerjs?{query}", server.local_addr())
}

async fn connect_raw(server: &ServerHandle, query: &str) -> Ws {
    let (ws, _) = connect_async(ws_url(server, query)).await.expect("websocket connects");
    ws
}

/// Connects and checks the server's first frame is OPEN.
async fn connect(server: &ServerHandle, id: &str, token: &str) -> Ws {
    let mut ws = connect_raw(server, &format!("key=testkey&id={id}&token={token}")).await;
    assert_eq!(recv(&mut ws).await, json!({"type": "OPEN"}), "{id} should be opened");
    ws
}

/// Next text frame as JSON; fails on close or after `DEADLINE`.
async fn recv(ws: &mut Ws) -> Value {
    loop {
        let message = timeout(DEADLINE, ws.next()).await.expect("a frame within the timeout");
        match message {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).expect("server sends JSON"),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Waits for the server to close the socket; returns the close code if it sent one.
async fn closed(ws: &mut Ws) -> Option<CloseCode> {
    loop {
        match timeout(DEADLINE, ws.next())
            .await
            .expect("socket closes within the timeout")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(Message::Text(text))) => panic!("expected close, got {text}"),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

/// Asserts nothing arrives for a while.
async fn silent(ws: &mut Ws, wait: Duration) {
    if let Ok(message) = timeout(wait, ws.next()).await {
        panic!("expected silence, got {message:?}");
    }
}

async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.expect("send");
}

#[tokio::test]
async fn id_endpoint_returns_uuid_and_checks_key() {
    let server = start().await;
    let response = reqwest::get(format!("{}/peerjs/testkey/id", server.url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let id = response.text().await.unwrap();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.chars().filter(|&c| c == '-').count(), 4, "{id}");
    assert_eq!(&id[14..15], "4", "uuid v4: {id}");

    let other = reqwest::get(format!("{}/peerjs/testkey/id", server.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(id, other);

    let wrong = reqwest::get(format!("{}/peerjs/nope/id", server.url())).await.unwrap();
    assert_eq!(wrong.status(), 401);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn endpoint_is_absent_without_peerjs_key() {
    let server = Server::bind(config()).await.unwrap().spawn();
    let response = reqwest::get(format!("{}/peerjs/testkey/id", server.url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn relays_with_src_overwritten() {
    let server = start().await;
    let mut alice = connect(&server, "alice", "ta").await;
    let mut bob = connect(&server, "bob", "tb").await;

    let offer = json!({"sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n", "type": "offer", "connectionId": "dc_1"});
    send(
        &mut alice,
        json!({"type": "OFFER", "src": "mallory", "dst": "bob", "payload": offer, "extra": 1}),
    )
    .await;
    assert_eq!(
        recv(&mut bob).await,
        json!({"type": "OFFER", "src": "alice", "dst": "bob", "payload": offer})
    );

    send(
        &mut bob,
        json!({"type": "ANSWER", "dst": "alice", "payload": {"sdp": "answer"}}),
    )
    .await;
    assert_eq!(
        recv(&mut alice).await,
        json!({"type": "ANSWER", "src": "bob", "dst": "alice", "payload": {"sdp": "answer"}})
    );

    for n in 0..20 {
        send(
            &mut alice,
            json!({"type": "CANDIDATE", "dst": "bob", "payload": {"n": n}}),
        )
        .await;
    }
    for n in 0..20 {
        assert_eq!(recv(&mut bob).await["payload"]["n"], n, "candidates arrive in order");
    }

    // HEARTBEAT is never relayed or answered.
    send(&mut alice, json!({"type": "HEARTBEAT"})).await;
    silent(&mut alice, Duration::from_millis(200)).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn taken_id_is_refused() {
    let server = start().await;
    let mut alice = connect(&server, "alice", "t1").await;
    let mut thief = connect_raw(&server, "key=testkey&id=alice&token=t2").await;
    assert_eq!(
        recv(&mut thief).await,
        json!({"type": "ID-TAKEN", "payload": {"msg": "ID is taken"}})
    );
    closed(&mut thief).await;

    // The rightful owner is unaffected.
    let mut bob = connect(&server, "bob", "tb").await;
    send(&mut bob, json!({"type": "OFFER", "dst": "alice", "payload": 1})).await;
    assert_eq!(recv(&mut alice).await["src"], "bob");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn same_token_reattaches_and_replaces_old_socket() {
    let server = start().await;
    let mut old = connect(&server, "alice", "t1").await;
    let mut new = connect(&server, "alice", "t1").await;
    assert_eq!(closed(&mut old).await, Some(CloseCode::Normal));

    let mut bob = connect(&server, "bob", "tb").await;
    send(&mut bob, json!({"type": "OFFER", "dst": "alice", "payload": "hi"})).await;
    assert_eq!(
        recv(&mut new).await,
        json!({"type": "OFFER", "src": "bob", "dst": "alice", "payload": "hi"})
    );

    // The replaced socket closing must not unregister its successor.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut thief = connect_raw(&server, "key=testkey&id=alice&token=t2").await;
    assert_eq!(recv(&mut thief).await["type"], "ID-TAKEN");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn queued_messages_are_delivered_after_open() {
    let server = start().await;
    let mut alice = connect(&server, "alice", "ta").await;
    send(&mut alice, json!({"type": "OFFER", "dst": "bob", "payload": {"n": 1}})).await;
    send(
        &mut alice,
        json!({"type": "CANDIDATE", "dst": "bob", "payload": {"n": 2}}),
    )
    .await;
    // LEAVE and EXPIRE for absent ids are dropped, never queued.
    send(&mut alice, json!({"type": "LEAVE", "dst": "bob"})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut bob = connect(&server, "bob", "tb").await;
    assert_eq!(
        recv(&mut bob).await,
        json!({"type": "OFFER", "src": "alice", "dst": "bob", "payload": {"n": 1}})
    );
    assert_eq!(
        recv(&mut bob).await,
        json!({"type": "CANDIDATE", "src": "alice", "dst": "bob", "payload": {"n": 2}})
    );
    silent(&mut bob, Duration::from_millis(200)).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn undelivered_messages_expire_to_sender() {
    let mut config = PeerJsConfig::new("testkey");
    config.expire_timeout = Duration::from_millis(200);
    let server = start_with(config).await;
    let mut alice = connect(&server, "alice", "ta").await;
    let started = std::time::Instant::now();
    send(&mut alice, json!({"type": "OFFER", "dst": "ghost", "payload": 1})).await;
    send(&mut alice, json!({"type": "CANDIDATE", "dst": "ghost", "payload": 2})).await;
    assert_eq!(
        recv(&mut alice).await,
        json!({"type": "EXPIRE", "src": "ghost", "dst": "alice"})
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(200), "expired too early: {waited:?}");
    // One notice per destination, not per message.
    silent(&mut alice, Duration::from_millis(400)).await;

    // Expired messages are gone: ghost connecting later gets only OPEN.
    let mut ghost = connect(&server, "ghost", "tg").await;
    silent(&mut ghost, Duration::from_millis(200)).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn silent_clients_are_dropped() {
    let mut config = PeerJsConfig::new("testkey");
    config.alive_timeout = Duration::from_millis(400);
    let server = start_with(config).await;
    let mut quiet = connect(&server, "quiet", "tq").await;
    let mut chatty = connect(&server, "chatty", "tc").await;
    let started = std::time::Instant::now();

    let heartbeats = async {
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            send(&mut chatty, json!({"type": "HEARTBEAT"})).await;
        }
    };
    let (code, ()) = tokio::join!(closed(&mut quiet), heartbeats);
    assert!(code.is_some(), "server closes with a close frame");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(350), "dropped too early: {waited:?}");

    // The dropped id is free again; the heartbeating client survived past the timeout.
    connect(&server, "quiet", "another-token").await;
    send(&mut chatty, json!({"type": "OFFER", "dst": "quiet", "payload": 1})).await;
    silent(&mut chatty, Duration::from_millis(100)).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_frames_get_error_and_socket_keeps_working() {
    let server = start().await;
    let mut alice = connect(&server, "alice", "ta").await;
    let mut bob = connect(&server, "bob", "tb").await;

    for bad in [
        "not json".to_owned(),
        json!({"type": "WHATEVER", "dst": "bob"}).to_string(),
        json!({"type": "OPEN"}).to_string(),
        json!({"dst": "bob"}).to_string(),
        json!({"type": "OFFER", "payload": 1}).to_string(),
        json!({"type": "OFFER", "dst": 7}).to_string(),
    ] {
        alice.send(Message::text(bad.clone())).await.unwrap();
        let reply = recv(&mut alice).await;
        assert_eq!(reply["type"], "ERROR", "for {:.60}", bad);
        assert!(
            reply["payload"]["msg"].as_str().is_some_and(|m| !m.is_empty()),
            "{reply}"
        );
    }
    alice.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(recv(&mut alice).await["type"], "ERROR");

    send(
        &mut alice,
        json!({"type": "OFFER", "dst": "bob", "payload": "still here"}),
    )
    .await;
    assert_eq!(recv(&mut bob).await["payload"], "still here");
    silent(&mut bob, Duration::from_millis(100)).await;
    server.shutdown().await.unwrap();
}

/// `peer.connect(id, {metadata})` puts the metadata into the OFFER: PeerServer relays it
/// whatever its size, and the PeerJS client takes an ERROR as fatal.
#[tokio::test]
async fn large_frames_are_relayed_as_peerserver_relays_them() {
    let server = start().await;
    let mut alice = connect(&server, "alice", "ta").await;
    let mut bob = connect(&server, "bob", "tb").await;
    // 70,000 characters, most of them two or three bytes in UTF-8: ~200 KB on the wire.
    let metadata: String = "é€x".repeat(70_000 / 3);
    let payload = json!({"type": "data", "connectionId": "dc_1", "metadata": {"note": metadata}});
    send(&mut alice, json!({"type": "OFFER", "dst": "bob", "payload": payload})).await;
    assert_eq!(
        recv(&mut bob).await,
        json!({"type": "OFFER", "src": "alice", "dst": "bob", "payload": payload})
    );
    silent(&mut alice, Duration::from_millis(100)).await;

    // Past the bound (1 MiB) the socket closes, as a frame over `ws`'s maxPayload would close
    // it at PeerServer; everyone else carries on.
    let huge = format!(
        r#"{{"type":"OFFER","dst":"bob","payload":"{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    alice.send(Message::text(huge)).await.unwrap();
    closed(&mut alice).await;
    let mut carol = connect(&server, "carol", "tc").await;
    send(&mut carol, json!({"type": "OFFER", "dst": "bob", "payload": "hi"})).await;
    assert_eq!(recv(&mut bob).await["payload"], "hi");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_key_and_missing_params_are_refused() {
    let server = start().await;
    let mut ws = connect_raw(&server, "key=wrong&id=alice&token=t").await;
    assert_eq!(
        recv(&mut ws).await,
        json!({"type": "ERROR", "payload": {"msg": "Invalid key provided"}})
    );
    closed(&mut ws).await;

    for query in [
        "key=testkey&id=alice",
        "key=testkey&token=t",
        "id=alice&token=t",
        "key=testkey&id=&token=t",
    ] {
        let mut ws = connect_raw(&server, query).await;
        let expected =
            json!({"type": "ERROR", "payload": {"msg": "No id, token, or key supplied to websocket server"}});
        assert_eq!(recv(&mut ws).await, expected, "{query}");
        closed(&mut ws).await;
    }

    // None of the refused sockets registered "alice".
    connect(&server, "alice", "real").await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn concurrent_limit_is_enforced() {
    let mut config = PeerJsConfig::new("testkey");
    config.concurrent_limit = 2;
    let server = start_with(config).await;
    let _a = connect(&server, "a", "t").await;
    let mut b = connect(&server, "b", "t").await;
    let mut c = connect_raw(&server, "key=testkey&id=c&token=t").await;
    let expected = json!({"type": "ERROR", "payload": {"msg": "Server has reached its concurrent user limit"}});
    assert_eq!(recv(&mut c).await, expected);
    closed(&mut c).await;

    // Re-attaching an existing id does not count against the limit.
    let _b2 = connect(&server, "b", "t").await;
    closed(&mut b).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn leave_without_dst_releases_the_id() {
    let server = start().await;
    let mut alice = connect(&server, "alice", "t1").await;
    send(&mut alice, json!({"type": "LEAVE"})).await;
    closed(&mut alice).await;
    connect(&server, "alice", "t2").await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn leave_is_relayed_between_connected_peers() {
    let server = start().await;
    let mut alice = connect(&server, "alice", "ta").await;
    let mut bob = connect(&server, "bob", "tb").await;
    send(
        &mut alice,
        json!({"type": "LEAVE", "dst": "bob", "payload": {"connectionId": "dc_1"}}),
    )
    .await;
    assert_eq!(
        recv(&mut bob).await,
        json!({"type": "LEAVE", "src": "alice", "dst": "bob", "payload": {"connectionId": "dc_1"}})
    );
    silent(&mut alice, Duration::from_millis(100)).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_sockets_with_going_away() {
    let server = start().await;
    let mut alice = connect(&server, "alice", "ta").await;
    let stop = tokio::spawn(server.shutdown());
    assert_eq!(closed(&mut alice).await, Some(CloseCode::Away));
    timeout(DEADLINE, stop)
        .await
        .expect("shutdown finishes")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected() {
    let server = start().await;
    let mut alice = connect(&server, "alice", "ta").await;
    // Bob never reads again: everything sent to him piles up in the kernel buffers and then in
    // the server's bounded queue for him.
    let _bob = connect(&server, "bob", "tb").await;

    let chunk = "x".repeat(60 * 1024);
    let mut reply = None;
    for n in 0..1000 {
        send(
            &mut alice,
            json!({"type": "CANDIDATE", "dst": "bob", "payload": {"n": n, "pad": chunk}}),
        )
        .await;
        if let Ok(Some(Ok(Message::Text(text)))) = timeout(Duration::from_millis(1), alice.next()).await {
            reply = Some(serde_json::from_str::<Value>(&text).unwrap());
            break;
        }
    }
    // PeerServer's answer to a failed send: LEAVE on behalf of the unreachable peer.
    let reply = match reply {
        Some(reply) => reply,
        None => recv(&mut alice).await,
    };
    assert_eq!(reply, json!({"type": "LEAVE", "src": "bob", "dst": "alice"}));

    // Bob's id is released even though his socket never drains.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let mut ws = connect_raw(&server, "key=testkey&id=bob&token=new").await;
        if recv(&mut ws).await == json!({"type": "OPEN"}) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "bob's id was never released");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn floods_are_rate_limited_without_closing() {
    let server = start().await;
    let mut alice = connect(&server, "alice", "ta").await;
    let mut bob = connect(&server, "bob", "tb").await;
    for _ in 0..5000 {
        alice.feed(Message::text(r#"{"type":"HEARTBEAT"}"#)).await.unwrap();
    }
    alice.flush().await.unwrap();
    let reply = recv(&mut alice).await;
    assert_eq!(reply["type"], "ERROR");
    assert!(
        reply["payload"]["msg"].as_str().unwrap().contains("rate limit"),
        "{reply}"
    );
    // One warning per flood, not one per dropped frame.
    silent(&mut alice, Duration::from_millis(300)).await;

    tokio::time::sleep(Duration::from_millis(500)).await;
    send(
        &mut alice,
        json!({"type": "OFFER", "dst": "bob", "payload": "after the flood"}),
    )
    .await;
    assert_eq!(recv(&mut bob).await["payload"], "after the flood");
    server.shutdown().await.unwrap();
}
