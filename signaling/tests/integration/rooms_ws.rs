//! The WebSocket: authentication, rooms and presence, signal relay, frame errors, rate limits,
//! heartbeat and shutdown.

use std::time::{Duration, Instant};

use crate::common::*;
use futures_util::SinkExt;
use parley_signal::Limits;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{self, Message};

fn fast_auth_timeout() -> Limits {
    Limits {
        ws_auth_timeout: Duration::from_millis(300),
        ..Limits::default()
    }
}

#[tokio::test]
async fn header_and_frame_authentication() {
    let server = start().await;
    let uma = server.register_as("uma").await;

    // Header: welcome with our own user (email included: it is us).
    let by_header = connect(&server.ws_url(), &uma.token).await;
    assert_eq!(by_header.user, uma.user);
    // First frame.
    let mut by_frame = connect_with_frame(&server.ws_url(), &uma.token).await;
    assert_eq!(by_frame.user, uma.user);
    assert_ne!(by_header.peer_id, by_frame.peer_id, "each connection is its own peer");
    // A second auth frame is refused, and the connection stays usable.
    by_frame.send(json!({"type": "auth", "token": uma.token})).await;
    by_frame.expect_error("already_authenticated").await;
    by_frame.sync().await;

    // A bad header token is a plain HTTP 401 before any upgrade.
    for auth in ["Bearer not-a-token", "Basic dTpw", "Bearer"] {
        match ws_open_with(&server.ws_url(), None, &[("authorization", auth)]).await {
            Err(tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 401, "{auth}");
                let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).unwrap();
                assert_eq!(body["code"], "unauthorized");
            }
            other => panic!("{auth} was not refused: {:?}", other.map(|_| ())),
        }
    }
}

#[tokio::test]
async fn bad_auth_frames_are_refused_and_closed() {
    let server = start().await;
    let vic = server.register_as("vic").await;
    let cases = [
        json!({"type": "auth", "token": "wrong"}),
        json!({"type": "auth"}),
        json!({"type": "join", "room": "general"}),
        json!({"type": "ping"}),
    ];
    for first in cases {
        let mut ws = ws_open(&server.ws_url(), None).await.unwrap();
        send(&mut ws, first.clone()).await;
        expect_error_frame(&mut ws, "unauthorized").await;
        assert_eq!(expect_close(&mut ws).await, Some(1008), "after {first}");
    }
    for first in [
        Message::text("not json"),
        Message::binary(vic.token.clone().into_bytes()),
    ] {
        let mut ws = ws_open(&server.ws_url(), None).await.unwrap();
        ws.send(first).await.unwrap();
        expect_error_frame(&mut ws, "unauthorized").await;
        assert_eq!(expect_close(&mut ws).await, Some(1008));
    }
}

#[tokio::test]
async fn a_silent_client_must_authenticate_in_time() {
    let server = start_limits(fast_auth_timeout()).await;
    let started = Instant::now();
    let mut ws = ws_open(&server.ws_url(), None).await.unwrap();
    let error = expect_error_frame(&mut ws, "unauthorized").await;
    assert_eq!(expect_close(&mut ws).await, Some(1008));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "refused after {waited:?}"
    );
    assert!(
        !error["message"].as_str().unwrap().contains("within 0 s"),
        "misleading deadline in {error}"
    );
    // An auth frame in time still works on that server.
    let wes = server.register_as("wes").await;
    connect_with_frame(&server.ws_url(), &wes.token).await.sync().await;
}

#[tokio::test]
async fn join_leave_and_presence() {
    let server = start().await;
    let (xena, yuri) = (server.register_as("xena").await, server.register_as("yuri").await);
    let mut x = connect(&server.ws_url(), &xena.token).await;
    let mut y = connect_with_frame(&server.ws_url(), &yuri.token).await;

    assert_eq!(x.join("lobby").await["peers"], json!([]), "an empty room");
    let joined = y.join("lobby").await;
    let roster = joined["peers"].as_array().unwrap();
    assert_eq!(roster.len(), 1, "the roster is everyone but me: {joined}");
    assert_eq!(roster[0]["peer_id"], x.peer_id.as_str());
    assert_eq!(roster[0]["user"]["id"], xena.user["id"]);
    assert!(roster[0]["user"].get("email").is_none(), "email in roster: {joined}");

    let announced = x.expect("peer-joined").await;
    assert_eq!(announced["room"], "lobby");
    assert_eq!(announced["peer"]["peer_id"], y.peer_id.as_str());
    assert_eq!(announced["peer"]["user"]["username"], "yuri");
    assert!(
        announced["peer"]["user"].get("email").is_none(),
        "email leaked: {announced}"
    );

    // Joining again only repeats the roster; nobody is told twice.
    assert_eq!(y.join("lobby").await["peers"].as_array().unwrap().len(), 1);
    x.sync().await;

    y.send(json!({"type": "leave", "room": "lobby"})).await;
    assert_eq!(y.expect("left").await, json!({"type": "left", "room": "lobby"}));
    let left = x.expect("peer-left").await;
    assert_eq!(
        left,
        json!({"type": "peer-left", "room": "lobby", "peer_id": y.peer_id})
    );
    // Leaving a room you are not in.
    y.send(json!({"type": "leave", "room": "lobby"})).await;
    y.expect_error("not_in_room").await;
    y.sync().await;

    // Disconnecting leaves every room, and everyone there hears of it.
    y.join("lobby").await;
    x.expect("peer-joined").await;
    y.join("side").await;
    x.join("side").await;
    y.expect("peer-joined").await;
    y.ws.close(None).await.unwrap();
    let mut gone = [x.expect("peer-left").await, x.expect("peer-left").await];
    gone.sort_by_key(|f| f["room"].as_str().unwrap().to_owned());
    assert_eq!(
        gone[0],
        json!({"type": "peer-left", "room": "lobby", "peer_id": y.peer_id})
    );
    assert_eq!(
        gone[1],
        json!({"type": "peer-left", "room": "side", "peer_id": y.peer_id})
    );
    x.sync().await;
}

#[tokio::test]
async fn signals_are_relayed_with_a_server_stamped_sender() {
    let server = start().await;
    let (zoe, abe, cy) = (
        server.register_as("zoe").await,
        server.register_as("abe").await,
        server.register_as("cyd").await,
    );
    let mut z = connect(&server.ws_url(), &zoe.token).await;
    let mut a = connect(&server.ws_url(), &abe.token).await;
    let mut c = connect(&server.ws_url(), &cy.token).await;
    z.join("call").await;
    a.join("call").await;
    z.expect("peer-joined").await;
    c.join("elsewhere").await;

    let data = json!({"sdp": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1"}, "n": [1, 2.5, null, "é"]});
    z.send(json!({"type": "signal", "to": a.peer_id, "data": data, "from": "forged", "user": {"id": "admin"}}))
        .await;
    let got = a.expect("signal").await;
    assert_eq!(got["from"], z.peer_id.as_str(), "from is stamped by the server");
    assert_eq!(got["data"], data, "data arrives untouched");
    assert_eq!(got["user"]["id"], zoe.user["id"]);
    assert_eq!(got["user"]["username"], "zoe");
    assert!(got["user"].get("email").is_none(), "email leaked in a signal: {got}");
    assert_eq!(got.as_object().unwrap().len(), 4, "{got}");

    a.send(json!({"type": "signal", "to": z.peer_id, "data": "answer"}))
        .await;
    let got = z.expect("signal").await;
    assert_eq!(
        (got["from"].as_str(), got["data"].as_str()),
        (Some(a.peer_id.as_str()), Some("answer"))
    );
    // The sender hears nothing back on success.
    a.sync().await;

    // Peers sharing no room cannot signal each other, either way.
    z.send(json!({"type": "signal", "to": c.peer_id, "data": 1})).await;
    z.expect_error("not_in_room").await;
    c.send(json!({"type": "signal", "to": z.peer_id, "data": 1})).await;
    c.expect_error("not_in_room").await;
    z.send(json!({"type": "signal", "to": "0000000000000000", "data": 1}))
        .await;
    z.expect_error("unknown_peer").await;
    z.sync().await;
    c.sync().await;
    a.sync().await;

    // Once a peer has left the shared room, relaying to it stops.
    a.send(json!({"type": "leave", "room": "call"})).await;
    a.expect("left").await;
    z.expect("peer-left").await;
    z.send(json!({"type": "signal", "to": a.peer_id, "data": 1})).await;
    z.expect_error("not_in_room").await;
    // And once it has disconnected, it is unknown.
    let gone = a.peer_id.clone();
    a.ws.close(None).await.unwrap();
    let deadline = Instant::now() + DEADLINE;
    loop {
        z.send(json!({"type": "signal", "to": gone, "data": 1})).await;
        let error = z.expect("error").await;
        if error["code"] == "unknown_peer" {
            break;
        }
        assert_eq!(error["code"], "not_in_room", "{error}");
        assert!(Instant::now() < deadline, "the closed peer stayed known");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_connection_survives() {
    let server = start_limits(Limits {
        ws_frame_bytes: 1024,
        rooms_per_peer: 2,
        peers_per_room: 1,
        ..Limits::default()
    })
    .await;
    let (dan, eve) = (server.register_as("dan").await, server.register_as("eve").await);
    let mut d = connect(&server.ws_url(), &dan.token).await;
    let mut e = connect(&server.ws_url(), &eve.token).await;

    let bad_text: Vec<(String, &str)> = vec![
        ("not json".into(), "bad_frame"),
        ("{\"type\":".into(), "bad_frame"),
        ("[]".into(), "bad_frame"),
        (json!({"room": "x"}).to_string(), "bad_frame"),
        (json!({"type": 7}).to_string(), "bad_frame"),
        (json!({"type": "join"}).to_string(), "bad_frame"),
        (json!({"type": "join", "room": 5}).to_string(), "bad_frame"),
        (json!({"type": "leave"}).to_string(), "bad_frame"),
        (json!({"type": "signal", "to": "x"}).to_string(), "bad_frame"),
        (json!({"type": "signal", "data": {}}).to_string(), "bad_frame"),
        (json!({"type": "dance"}).to_string(), "unknown_type"),
        (json!({"type": "PING"}).to_string(), "unknown_type"),
        (json!({"type": "join", "room": ""}).to_string(), "invalid_room"),
        (json!({"type": "join", "room": "a/b"}).to_string(), "invalid_room"),
        (json!({"type": "join", "room": " pad"}).to_string(), "invalid_room"),
        (
            json!({"type": "join", "room": "r".repeat(65)}).to_string(),
            "invalid_room",
        ),
        (
            json!({"type": "ping", "pad": "x".repeat(1100)}).to_string(),
            "frame_too_large",
        ),
    ];
    for (text, code) in &bad_text {
        d.send_text(text).await;
        let error = d.next().await;
        assert_eq!(error["type"], "error", "after {text:.60}: {error}");
        assert_eq!(error["code"], *code, "after {text:.60}: {error}");
        d.sync().await;
    }
    d.ws.send(Message::binary(b"{\"type\":\"ping\"}".to_vec()))
        .await
        .unwrap();
    d.expect_error("bad_frame").await;
    d.sync().await;

    // Join limits.
    d.join("one").await;
    d.join("two").await;
    d.send(json!({"type": "join", "room": "three"})).await;
    d.expect_error("too_many_rooms").await;
    d.join("one").await; // re-joining a room you are in is not a new room
    e.send(json!({"type": "join", "room": "one"})).await;
    e.expect_error("room_full").await;
    e.sync().await;
    d.sync().await;
    // A frame exactly at the limit is fine.
    let filler = 1024 - json!({"type": "ping", "pad": ""}).to_string().len();
    d.send(json!({"type": "ping", "pad": "x".repeat(filler)})).await;
    d.expect("pong").await;
}

#[tokio::test]
async fn frames_over_the_hard_limit_close_with_1009() {
    let server = start_limits(Limits {
        ws_frame_bytes: 1024,
        ws_hard_frame_bytes: 4096,
        ..Limits::default()
    })
    .await;
    let fay = server.register_as("fay").await;
    let mut f = connect(&server.ws_url(), &fay.token).await;
    f.send(json!({"type": "ping", "pad": "x".repeat(3000)})).await;
    f.expect_error("frame_too_large").await;
    f.send(json!({"type": "ping", "pad": "x".repeat(8000)})).await;
    assert_eq!(expect_close(&mut f.ws).await, Some(1009));
}

#[tokio::test]
async fn floods_are_rate_limited_then_recover() {
    let server = start_limits(Limits {
        ws_frames_per_sec: 4,
        ws_frame_burst: 5,
        ..Limits::default()
    })
    .await;
    let gus = server.register_as("gus").await;
    let mut g = connect(&server.ws_url(), &gus.token).await;
    for _ in 0..30 {
        g.ws.feed(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    }
    g.ws.flush().await.unwrap();
    // The burst is answered (plus whatever refilled meanwhile), then the first dropped frame is
    // reported.
    let mut pongs = 0;
    let limited = loop {
        let frame = g.next().await;
        match frame["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") => break frame,
            _ => panic!("unexpected {frame}"),
        }
    };
    assert_eq!(limited["code"], "rate_limited", "{limited}");
    assert!(limited["message"].as_str().unwrap().contains('4'), "{limited}");
    assert!((5..10).contains(&pongs), "{pongs} of 30 flooded pings answered");
    // The rest were dropped; once the bucket refills the connection works again. A `leave` of an
    // unknown room has a recognisable answer (`not_in_room`).
    let mut answered = false;
    'probe: for _ in 0..20 {
        g.send(json!({"type": "leave", "room": "probe"})).await;
        while let Some(event) = try_next_event(&mut g.ws, Duration::from_millis(300)).await {
            match event {
                Event::Frame(frame) if frame["code"] == "not_in_room" => {
                    answered = true;
                    break 'probe;
                }
                Event::Frame(frame) if frame["type"] == "pong" || frame["code"] == "rate_limited" => {}
                other => panic!("unexpected after the flood: {other:?}"),
            }
        }
    }
    assert!(answered, "the connection never recovered from the rate limit");
}

#[tokio::test]
async fn a_flood_that_goes_on_is_closed() {
    let server = start_limits(Limits {
        ws_frames_per_sec: 1,
        ws_frame_burst: 1,
        ..Limits::default()
    })
    .await;
    let hal = server.register_as("hal").await;
    let mut h = connect(&server.ws_url(), &hal.token).await;
    // 1000 drops in a row end the connection; a token refilled mid-flood restarts the count,
    // so send enough for that not to matter.
    for _ in 0..2500 {
        h.ws.feed(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    }
    h.ws.flush().await.unwrap();
    h.expect("pong").await;
    h.expect_error("rate_limited").await;
    loop {
        match next_event(&mut h.ws).await {
            Event::Frame(frame) if frame["type"] == "pong" || frame["code"] == "rate_limited" => {}
            Event::Close(frame) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1008));
                break;
            }
            other => panic!("expected the flood to be closed, got {other:?}"),
        }
    }
}

/// Runs `work` while reading `ws` (so it keeps answering pings); any frame on `ws` fails.
async fn while_reading<T>(ws: &mut Ws, work: impl std::future::Future<Output = T>) -> T {
    tokio::pin!(work);
    tokio::select! {
        out = &mut work => out,
        event = try_next_event(ws, DEADLINE * 2) => panic!("unexpected while waiting: {event:?}"),
    }
}

#[tokio::test]
async fn silent_clients_are_dropped_by_the_heartbeat() {
    let server = start_limits(Limits {
        ws_ping_interval: Duration::from_millis(100),
        ws_idle_timeout: Duration::from_millis(500),
        ..Limits::default()
    })
    .await;
    let (ike, joe) = (server.register_as("ike").await, server.register_as("joe").await);
    let mut silent = connect(&server.ws_url(), &ike.token).await;
    let mut alive = connect(&server.ws_url(), &joe.token).await;
    silent.join("room").await;
    alive.join("room").await;
    silent.expect("peer-joined").await;

    // `silent` is never polled again, so it never answers a ping; `alive` is read all along
    // (tungstenite answers pings while reading).
    let started = Instant::now();
    let left = alive.expect("peer-left").await;
    assert_eq!(left["peer_id"], silent.peer_id.as_str());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "dropped after {:?}",
        started.elapsed()
    );
    while_reading(&mut alive.ws, server.wait_metric("parley_ws_connections", 1.0)).await;

    // Answering pings keeps a connection alive well past the idle timeout.
    if let Some(event) = try_next_event(&mut alive.ws, Duration::from_millis(1200)).await {
        panic!("the live client got {event:?}");
    }
    alive.sync().await;
    assert_eq!(
        while_reading(&mut alive.ws, server.metric("parley_ws_connections")).await,
        1.0
    );
    // The silent client's socket was closed by the server.
    match next_event(&mut silent.ws).await {
        Event::Frame(frame) => panic!("unexpected frame {frame}"),
        Event::Close(_) | Event::Gone(_) => {}
    }
}

#[tokio::test]
async fn two_connections_of_one_user_are_two_peers() {
    let server = start().await;
    let kim = server.register_as("kim").await;
    let mut phone = connect(&server.ws_url(), &kim.token).await;
    let mut laptop = connect_with_frame(&server.ws_url(), &kim.token).await;
    assert_ne!(phone.peer_id, laptop.peer_id);
    phone.join("home").await;
    let roster = laptop.join("home").await;
    assert_eq!(roster["peers"].as_array().unwrap().len(), 1);
    assert_eq!(roster["peers"][0]["peer_id"], phone.peer_id.as_str());
    assert_eq!(roster["peers"][0]["user"]["id"], kim.user["id"]);
    let joined = phone.expect("peer-joined").await;
    assert_eq!(joined["peer"]["peer_id"], laptop.peer_id.as_str());

    phone
        .send(json!({"type": "signal", "to": laptop.peer_id, "data": "hi me"}))
        .await;
    let got = laptop.expect("signal").await;
    assert_eq!(got["from"], phone.peer_id.as_str());
    let rooms = server.get("/api/v1/rooms", Some(&kim.token)).await.expect(200);
    assert_eq!(rooms, json!({"rooms": [{"name": "home", "online": 2}]}));

    drop(laptop);
    let left = phone.expect("peer-left").await;
    assert_ne!(left["peer_id"], phone.peer_id.as_str());
    phone.sync().await;
}

#[tokio::test]
async fn profile_changes_reach_room_mates() {
    let server = start().await;
    let (lou, max) = (server.register_as("lou").await, server.register_as("max").await);
    let mut l = connect(&server.ws_url(), &lou.token).await;
    let mut m = connect(&server.ws_url(), &max.token).await;
    let mut stranger = connect(&server.ws_url(), &max.token).await;
    l.join("club").await;
    m.join("club").await;
    l.expect("peer-joined").await;
    stranger.join("other").await;

    server
        .put(
            "/api/v1/me",
            &json!({"display_name": "Lou Reed", "status": "walking"}),
            Some(&lou.token),
        )
        .await
        .expect(200);
    let updated = m.expect("peer-updated").await;
    assert_eq!(updated["room"], "club");
    assert_eq!(updated["peer"]["peer_id"], l.peer_id.as_str());
    assert_eq!(updated["peer"]["user"]["display_name"], "Lou Reed");
    assert_eq!(updated["peer"]["user"]["status"], "walking");
    assert!(
        updated["peer"]["user"].get("email").is_none(),
        "email leaked: {updated}"
    );
    l.sync().await; // no echo to yourself
    stranger.sync().await; // nothing for peers in other rooms

    // New signals and rosters carry the new profile.
    l.send(json!({"type": "signal", "to": m.peer_id, "data": 0})).await;
    assert_eq!(m.expect("signal").await["user"]["display_name"], "Lou Reed");
    let roster = stranger.join("club").await;
    let lou_there = roster["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["peer_id"] == l.peer_id.as_str())
        .expect("lou in roster");
    assert_eq!(lou_there["user"]["display_name"], "Lou Reed");
}

#[tokio::test]
async fn shutdown_closes_websockets_with_going_away() {
    let server = start().await;
    let (ned, ola) = (server.register_as("ned").await, server.register_as("ola").await);
    let mut n = connect(&server.ws_url(), &ned.token).await;
    let mut o = connect_with_frame(&server.ws_url(), &ola.token).await;
    n.join("room").await;
    o.join("room").await;
    // A third socket that has not authenticated yet.
    let mut pending = ws_open(&server.ws_url(), None).await.unwrap();
    let url = server.ws_url();

    let started = Instant::now();
    server.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        started.elapsed()
    );
    n.expect("peer-joined").await;
    for peer in [&mut n, &mut o] {
        // The other peer may be disconnected first, which its room-mate hears of.
        let code = loop {
            match next_event(&mut peer.ws).await {
                Event::Frame(frame) if frame["type"] == "peer-left" => continue,
                Event::Close(frame) => break frame.map(|f| u16::from(f.code)),
                other => panic!("expected a close, got {other:?}"),
            }
        };
        assert_eq!(code, Some(1001));
    }
    assert_eq!(
        expect_close(&mut pending).await,
        Some(1001),
        "a socket still authenticating"
    );
    assert!(
        ws_open(&url, Some(&ned.token)).await.is_err(),
        "still accepting after shutdown"
    );
}
