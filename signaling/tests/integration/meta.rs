//! Room directory over HTTP, ICE servers, health, metrics and unknown paths.

use std::time::Duration;

use crate::common::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use parley_signal::{Config, IceConfig};
use serde_json::{json, Value};
use sha1::Sha1;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn room_directory_and_rosters() {
    let server = start().await;
    let (mia, ned) = (server.register_as("mia").await, server.register_as("ned").await);
    for path in ["/api/v1/rooms", "/api/v1/rooms/general/peers"] {
        server.get(path, None).await.expect_error(401, "unauthorized");
        server.get(path, Some("nope")).await.expect_error(401, "unauthorized");
    }
    assert_eq!(
        server.get("/api/v1/rooms", Some(&mia.token)).await.expect(200),
        json!({"rooms": []})
    );

    let mut m = connect(&server.ws_url(), &mia.token).await;
    let mut n = connect(&server.ws_url(), &ned.token).await;
    m.join("general").await;
    m.join("café #2").await;
    n.join("general").await;
    m.expect("peer-joined").await;

    let rooms = server.get("/api/v1/rooms", Some(&ned.token)).await.expect(200);
    assert_eq!(
        rooms,
        json!({"rooms": [{"name": "general", "online": 2}, {"name": "café #2", "online": 1}]}),
        "busiest first"
    );

    let peers = server
        .get("/api/v1/rooms/general/peers", Some(&ned.token))
        .await
        .expect(200);
    let peers = peers["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 2);
    let mut ids: Vec<&str> = peers.iter().map(|p| p["peer_id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = vec![m.peer_id.as_str(), n.peer_id.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    for peer in peers {
        let user = &peer["user"];
        assert!(user.get("email").is_none(), "email leaked into a roster: {user}");
        let account = if peer["peer_id"] == m.peer_id.as_str() {
            &mia
        } else {
            &ned
        };
        assert_eq!(user["id"], account.user["id"]);
        assert_eq!(user["username"], account.username.as_str());
    }

    // Percent-encoded names reach the same room.
    let encoded = server
        .get("/api/v1/rooms/caf%C3%A9%20%232/peers", Some(&mia.token))
        .await
        .expect(200);
    assert_eq!(encoded["peers"][0]["peer_id"], m.peer_id.as_str());
    // Unknown rooms are empty; invalid names are refused.
    assert_eq!(
        server
            .get("/api/v1/rooms/empty/peers", Some(&mia.token))
            .await
            .expect(200),
        json!({"peers": []})
    );
    server
        .get("/api/v1/rooms/%3Cscript%3E/peers", Some(&mia.token))
        .await
        .expect_invalid("room");

    // Rooms disappear with their last peer.
    m.send(json!({"type": "leave", "room": "café #2"})).await;
    m.expect("left").await;
    drop(n);
    let gone = eventually(|| async {
        server.get("/api/v1/rooms", Some(&mia.token)).await.expect(200)
            == json!({"rooms": [{"name": "general", "online": 1}]})
    })
    .await;
    assert!(
        gone,
        "rooms: {}",
        server.get("/api/v1/rooms", Some(&mia.token)).await.text()
    );
}

fn ice_config() -> IceConfig {
    IceConfig {
        stun_urls: vec!["stun:stun.example.org:3478".into()],
        turn_urls: vec![
            "turn:turn.example.org:3478".into(),
            "turns:turn.example.org:5349?transport=tcp".into(),
        ],
        ..IceConfig::default()
    }
}

#[tokio::test]
async fn ice_servers_with_a_turn_secret_get_rest_credentials() {
    let server = start_with(Config {
        ice: IceConfig {
            turn_secret: Some("s3cret".into()),
            turn_credential_ttl: Duration::from_secs(3600),
            // Static credentials are ignored when a secret is set.
            turn_username: Some("static".into()),
            turn_credential: Some("static-pass".into()),
            ..ice_config()
        },
        ..config()
    })
    .await;
    server
        .get("/api/v1/ice-servers", None)
        .await
        .expect_error(401, "unauthorized");
    let olga = server.register_as("olga").await;
    let body = server.get("/api/v1/ice-servers", Some(&olga.token)).await.expect(200);
    let servers = body["ice_servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{body}");
    assert_eq!(servers[0], json!({"urls": ["stun:stun.example.org:3478"]}));
    let turn = &servers[1];
    assert_eq!(turn["urls"], json!(ice_config().turn_urls));
    let username = turn["username"].as_str().unwrap();
    let (expiry, user_id) = username.split_once(':').expect("EXPIRY:USER_ID");
    assert_eq!(user_id, olga.id());
    let expiry: i64 = expiry.parse().unwrap();
    let expected = now() + 3600;
    assert!((expected - 10..=expected + 10).contains(&expiry), "expiry {expiry}");

    let mut mac = Hmac::<Sha1>::new_from_slice(b"s3cret").unwrap();
    mac.update(username.as_bytes());
    let credential = STANDARD.decode(turn["credential"].as_str().unwrap()).unwrap();
    mac.verify_slice(&credential)
        .expect("credential is HMAC-SHA1(secret, username)");
}

#[tokio::test]
async fn ice_servers_with_static_or_no_credentials() {
    let server = start_with(Config {
        ice: IceConfig {
            turn_username: Some("parley".into()),
            turn_credential: Some("static-pass".into()),
            ..ice_config()
        },
        ..config()
    })
    .await;
    let pia = server.register_as("pia").await;
    let body = server.get("/api/v1/ice-servers", Some(&pia.token)).await.expect(200);
    assert_eq!(
        body,
        json!({"ice_servers": [
            {"urls": ["stun:stun.example.org:3478"]},
            {"urls": ice_config().turn_urls, "username": "parley", "credential": "static-pass"},
        ]})
    );

    let bare = start().await;
    let quinn = bare.register_as("quinn").await;
    let body = bare.get("/api/v1/ice-servers", Some(&quinn.token)).await.expect(200);
    assert_eq!(body, json!({"ice_servers": []}));
}

#[tokio::test]
async fn health_and_unknown_paths() {
    let server = start().await;
    let health = server.get("/healthz", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.text().trim(), "ok");
    for path in [
        "/nope",
        "/api/v1/nope",
        "/api/v2/register",
        "/api/v1/users/x/avatar/extra",
    ] {
        server.get(path, None).await.expect_error(404, "not_found");
    }
    let resp = server.post("/nope", &json!({}), None).await;
    resp.expect_error(404, "not_found");
    // A known endpoint with the wrong method is 405, not 404.
    server
        .get("/api/v1/register", None)
        .await
        .expect_error(405, "method_not_allowed");
    server
        .post("/api/v1/rooms", &json!({}), None)
        .await
        .expect_error(405, "method_not_allowed");
}

#[tokio::test]
async fn metrics_follow_connections_rooms_and_signals() {
    let server = start().await;
    let resp = server.get("/metrics", None).await;
    assert_eq!(resp.status, 200);
    let content_type = resp.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = resp.text();
    for name in [
        "parley_ws_connections",
        "parley_peers_online",
        "parley_rooms",
        "parley_signals_relayed_total",
        "parley_ws_errors_total",
        "parley_http_rate_limited_total",
    ] {
        assert!(text.contains(&format!("# TYPE {name} ")), "{name} has no TYPE line");
        assert_eq!(metric_in(&text, name), Some(0.0), "{name} at start:\n{text}");
    }

    let (rita, sam) = (server.register_as("rita").await, server.register_as("sam").await);
    let mut r = connect(&server.ws_url(), &rita.token).await;
    let mut s = connect_with_frame(&server.ws_url(), &sam.token).await;
    server.wait_metric("parley_ws_connections", 2.0).await;
    server.wait_metric("parley_peers_online", 2.0).await;
    assert_eq!(server.metric("parley_rooms").await, 0.0);

    r.join("one").await;
    r.join("two").await;
    s.join("one").await;
    r.expect("peer-joined").await;
    assert_eq!(server.metric("parley_rooms").await, 2.0);

    for n in 0..3 {
        r.send(json!({"type": "signal", "to": s.peer_id, "data": {"n": n}}))
            .await;
        s.expect("signal").await;
    }
    assert_eq!(server.metric("parley_signals_relayed_total").await, 3.0);
    // Refused signals are errors, not relays.
    r.send(json!({"type": "signal", "to": "nobody", "data": 1})).await;
    r.expect_error("unknown_peer").await;
    assert_eq!(server.metric("parley_signals_relayed_total").await, 3.0);
    assert_eq!(server.metric("parley_ws_errors_total").await, 1.0);

    r.send(json!({"type": "leave", "room": "two"})).await;
    r.expect("left").await;
    assert_eq!(server.metric("parley_rooms").await, 1.0);
    drop(s);
    server.wait_metric("parley_ws_connections", 1.0).await;
    server.wait_metric("parley_peers_online", 1.0).await;
    r.expect("peer-left").await;
    assert_eq!(server.metric("parley_rooms").await, 1.0);
    r.ws.close(None).await.unwrap();
    server.wait_metric("parley_ws_connections", 0.0).await;
    server.wait_metric("parley_rooms", 0.0).await;
    assert_eq!(server.metric("parley_signals_relayed_total").await, 3.0);
}

#[tokio::test]
async fn foreign_browser_origins_cannot_open_websockets() {
    let server = start_with(Config {
        allowed_origins: vec!["https://parley.example".into()],
        ..config()
    })
    .await;
    let tom = server.register_as("tom").await;
    match ws_open_with(
        &server.ws_url(),
        Some(&tom.token),
        &[("origin", "https://evil.example")],
    )
    .await
    {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403);
            let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).unwrap();
            assert_eq!(body["code"], "forbidden_origin");
        }
        other => panic!("foreign origin accepted: {:?}", other.map(|_| ())),
    }
    let ws = ws_open_with(
        &server.ws_url(),
        Some(&tom.token),
        &[("origin", "https://parley.example")],
    )
    .await
    .expect("allowed origin");
    drop(ws);
    // Non-browser clients send no Origin at all.
    connect(&server.ws_url(), &tom.token).await;
}
