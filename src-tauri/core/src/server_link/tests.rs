use std::time::Duration;

use crate::api_client::ApiClient;
use crate::options::Timing;
use crate::server_link::{LinkError, LinkEvent, ServerLink};
use crate::server_url::ServerUrl;
use futures_util::{SinkExt, StreamExt};
use parley_protocol::{codes, ProfileUpdate, ServerFrame};
use parley_signal::Database;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::test_support::{self, connected, signed_in, start_link, wait_for, wait_until};

fn in_roster(link: &ServerLink, room: &str, peer_id: &str) -> bool {
    link.roster(room).iter().any(|p| p.peer_id == peer_id)
}

#[tokio::test]
async fn two_clients_meet_in_a_room_signal_and_part() {
    let server = test_support::server().await;
    let (alice_api, alice) = signed_in(&server, "alice").await;
    let (bob_api, bob) = signed_in(&server, "bob").await;
    let url = alice_api.server().clone();

    let (alice_p, mut alice_events) = start_link(&url, &alice.token);
    let (bob_p, mut bob_events) = start_link(&url, &bob.token);
    let alice_id = connected(&mut alice_events).await;
    let bob_id = connected(&mut bob_events).await;
    assert_eq!(alice_p.local_peer_id().as_deref(), Some(alice_id.as_str()));
    assert_eq!(alice_p.local_user().unwrap().id, alice.user.id);

    alice_p.join("general").unwrap();
    let roster = wait_for(&mut alice_events, "alice joined", |e| match e {
        LinkEvent::Frame(ServerFrame::Joined { room, peers }) if room == "general" => Some(peers.clone()),
        _ => None,
    })
    .await;
    assert!(roster.is_empty(), "alone at first: {roster:?}");

    bob_p.join("general").unwrap();
    let roster = wait_for(&mut bob_events, "bob joined", |e| match e {
        LinkEvent::Frame(ServerFrame::Joined { room, peers }) if room == "general" => Some(peers.clone()),
        _ => None,
    })
    .await;
    assert_eq!(roster.len(), 1);
    assert_eq!(
        (roster[0].peer_id.as_str(), roster[0].user.id.as_str()),
        (alice_id.as_str(), alice.user.id.as_str())
    );
    let joined = wait_for(&mut alice_events, "bob arriving", |e| match e {
        LinkEvent::Frame(ServerFrame::PeerJoined { room, peer }) if room == "general" => Some(peer.clone()),
        _ => None,
    })
    .await;
    assert_eq!(joined.peer_id, bob_id);
    assert!(in_roster(&alice_p, "general", &bob_id));
    assert!(in_roster(&bob_p, "general", &alice_id));
    assert!(
        !in_roster(&alice_p, "general", &alice_id),
        "rosters never list ourselves"
    );
    assert_eq!(alice_p.rooms(), vec!["general".to_owned()]);

    let offer = json!({"type": "offer", "sdp": "v=0 …"});
    alice_p.signal(&bob_id, offer.clone()).unwrap();
    let (from, user, data) = wait_for(&mut bob_events, "alice's offer", |e| match e {
        LinkEvent::Frame(ServerFrame::Signal { from, user, data }) => Some((from.clone(), user.clone(), data.clone())),
        _ => None,
    })
    .await;
    assert_eq!(
        (from.as_str(), user.id.as_str(), &data),
        (alice_id.as_str(), alice.user.id.as_str(), &offer)
    );
    bob_p.signal(&alice_id, json!({"type": "answer"})).unwrap();
    let answer = wait_for(&mut alice_events, "bob's answer", |e| match e {
        LinkEvent::Frame(ServerFrame::Signal { from, data, .. }) if *from == bob_id => Some(data.clone()),
        _ => None,
    })
    .await;
    assert_eq!(answer["type"], "answer");

    alice_p.signal("no-such-peer", json!({})).unwrap();
    wait_for(&mut alice_events, "unknown_peer", |e| match e {
        LinkEvent::Frame(ServerFrame::Error { code, .. }) if code == codes::UNKNOWN_PEER => Some(()),
        _ => None,
    })
    .await;

    let update = ProfileUpdate {
        display_name: Some("Robert".to_owned()),
        ..Default::default()
    };
    bob_api.update_profile(&update).await.unwrap();
    wait_for(&mut alice_events, "bob's new name", |e| match e {
        LinkEvent::Frame(ServerFrame::PeerUpdated { peer, .. }) if peer.peer_id == bob_id => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(alice_p.roster("general")[0].user.display_name, "Robert");

    bob_p.leave("general").unwrap();
    wait_for(&mut bob_events, "bob left", |e| match e {
        LinkEvent::Frame(ServerFrame::Left { room }) if room == "general" => Some(()),
        _ => None,
    })
    .await;
    assert!(bob_p.rooms().is_empty());
    assert!(bob_p.roster("general").is_empty());
    wait_for(&mut alice_events, "bob leaving", |e| match e {
        LinkEvent::Frame(ServerFrame::PeerLeft { room, peer_id }) if room == "general" && *peer_id == bob_id => {
            Some(())
        }
        _ => None,
    })
    .await;
    assert!(alice_p.roster("general").is_empty());

    alice_p.shutdown().await;
    bob_p.shutdown().await;
    assert_eq!(alice_p.join("general"), Err(LinkError::Stopped));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_refused_join_is_reported_and_not_retried() {
    let server = test_support::server().await;
    let (api, alice) = signed_in(&server, "joiner").await;
    let (link, mut events) = start_link(api.server(), &alice.token);
    connected(&mut events).await;
    link.join("ok").unwrap();
    link.join("  bad\nroom  ").unwrap();
    link.join("fine").unwrap();
    wait_for(&mut events, "invalid_room", |e| match e {
        LinkEvent::Frame(ServerFrame::Error { code, .. }) if code == codes::INVALID_ROOM => Some(()),
        _ => None,
    })
    .await;
    wait_for(&mut events, "joined fine", |e| match e {
        LinkEvent::Frame(ServerFrame::Joined { room, .. }) if room == "fine" => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(link.rooms(), vec!["fine".to_owned(), "ok".to_owned()]);
    link.shutdown().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn clients_reconnect_and_rejoin_after_a_server_restart() {
    let data = tempfile::tempdir().unwrap();
    let database = Database::Path(data.path().join("signal.db"));
    let server = test_support::server_at("127.0.0.1:0".parse().unwrap(), database.clone()).await;
    let addr = server.local_addr();
    let (api, alice) = signed_in(&server, "alice").await;
    let (_, bob) = signed_in(&server, "bob").await;
    let url = api.server().clone();

    let (alice_p, mut alice_events) = start_link(&url, &alice.token);
    let (bob_p, mut bob_events) = start_link(&url, &bob.token);
    alice_p.join("general").unwrap();
    bob_p.join("general").unwrap();
    alice_p.join("quiet").unwrap();
    let old_alice = connected(&mut alice_events).await;
    let old_bob = connected(&mut bob_events).await;
    wait_until(&mut alice_events, "alice sees bob", || {
        in_roster(&alice_p, "general", &old_bob)
    })
    .await;
    wait_until(&mut bob_events, "bob sees alice", || {
        in_roster(&bob_p, "general", &old_alice)
    })
    .await;

    server.shutdown().await.unwrap();
    for (link, events) in [(&alice_p, &mut alice_events), (&bob_p, &mut bob_events)] {
        let reason = wait_for(events, "Disconnected", |e| match e {
            LinkEvent::Disconnected { reason } => Some(reason.clone()),
            _ => None,
        })
        .await;
        assert!(!reason.is_empty());
        assert!(
            link.roster("general").is_empty(),
            "rosters are cleared when the link drops"
        );
        assert_eq!(link.local_peer_id(), None);
    }
    // Rooms are the user's intent and survive the outage.
    assert_eq!(alice_p.rooms(), vec!["general".to_owned(), "quiet".to_owned()]);

    // Same address, same database: the tokens are still valid.
    let server = test_support::server_at(addr, database).await;
    let new_alice = connected(&mut alice_events).await;
    let new_bob = connected(&mut bob_events).await;
    assert_ne!(new_alice, old_alice, "a new connection is a new peer");
    wait_until(&mut alice_events, "alice sees the new bob", || {
        in_roster(&alice_p, "general", &new_bob)
    })
    .await;
    wait_until(&mut bob_events, "bob sees the new alice", || {
        in_roster(&bob_p, "general", &new_alice)
    })
    .await;
    assert_eq!(alice_p.roster("general").len(), 1, "no ghosts of the old connection");
    assert_eq!(bob_p.roster("general").len(), 1);
    // Re-joined by itself, as the server confirms.
    let peers = api.room_peers("quiet").await.unwrap();
    assert_eq!(
        peers.iter().map(|p| p.peer_id.as_str()).collect::<Vec<_>>(),
        vec![new_alice.as_str()]
    );

    // And it works: signals flow on the new connection.
    alice_p.signal(&new_bob, json!({"hello": "again"})).unwrap();
    wait_for(&mut bob_events, "signal after restart", |e| match e {
        LinkEvent::Frame(ServerFrame::Signal { from, .. }) if *from == new_alice => Some(()),
        _ => None,
    })
    .await;

    alice_p.shutdown().await;
    bob_p.shutdown().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn signing_out_ends_the_session_for_good() {
    let server = test_support::server().await;
    let (api, alice) = signed_in(&server, "leaver").await;
    let (link, mut events) = start_link(api.server(), &alice.token);
    connected(&mut events).await;
    link.join("general").unwrap();

    api.logout().await.unwrap();
    wait_for(&mut events, "SessionEnded", |e| {
        matches!(e, LinkEvent::SessionEnded).then_some(())
    })
    .await;
    assert!(link.is_stopped());
    assert_eq!(link.join("general"), Err(LinkError::Stopped));
    assert_eq!(link.local_peer_id(), None);
    // No reconnect attempts follow: the event stream ends.
    let rest = tokio::time::timeout(test_support::DEADLINE, events.recv()).await;
    assert!(matches!(rest, Ok(None)), "{rest:?}");
    link.shutdown().await;

    // A token the server never issued ends the session at the handshake.
    let (link, mut events) = start_link(api.server(), "not-a-token");
    wait_for(&mut events, "SessionEnded", |e| {
        matches!(e, LinkEvent::SessionEnded).then_some(())
    })
    .await;
    assert!(link.is_stopped());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_server_that_goes_silent_is_noticed_by_the_heartbeat() {
    // A fake server that welcomes, then reads (and records) frames without ever answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = ServerUrl::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<String>();
    let fake = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let welcome = json!({"type": "welcome", "peer_id": "p1", "user": {
            "id": "u1", "username": "ghost", "display_name": "Ghost", "bio": "", "status": "",
            "avatar_url": null, "created_at": 0}});
        ws.send(Message::text(welcome.to_string())).await.unwrap();
        // Unknown frame types from a newer server are skipped, not fatal.
        ws.send(Message::text(r#"{"type":"typing","room":"x"}"#)).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                let _ = seen_tx.send(text.to_string());
            }
            // Held in a sleep rather than dropped, so the TCP connection itself stays open.
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    });
    let options = Timing {
        heartbeat: Duration::from_millis(200),
        dead_after: Duration::from_millis(800),
        retry_min: Duration::from_secs(60),
        retry_max: Duration::from_secs(60),
        ..test_support::fast_timing()
    };
    let (link, mut events) = ServerLink::start(&url, &crate::server_tls::ServerTls::new(None), "token", options);
    assert_eq!(connected(&mut events).await, "p1");
    let ping = tokio::time::timeout(test_support::DEADLINE, seen.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ping).unwrap(),
        json!({"type": "ping"})
    );
    let reason = wait_for(&mut events, "Disconnected", |e| match e {
        LinkEvent::Disconnected { reason } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("no sign of life"), "{reason}");
    assert_eq!(link.local_peer_id(), None);
    link.shutdown().await;
    fake.abort();
}

#[tokio::test]
async fn an_unreachable_server_is_retried_until_it_appears() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let data = tempfile::tempdir().unwrap();
    let database = Database::Path(data.path().join("signal.db"));
    // Create the account on a first run of the server, then take it down.
    let server = test_support::server_at(addr, database.clone()).await;
    let (_, alice) = signed_in(&server, "early").await;
    server.shutdown().await.unwrap();

    let url = ServerUrl::parse(&format!("http://{addr}")).unwrap();
    let (link, mut events) = start_link(&url, &alice.token);
    let reason = wait_for(&mut events, "Disconnected", |e| match e {
        LinkEvent::Disconnected { reason } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains(&port.to_string()), "{reason}");
    assert_eq!(link.signal("anyone", json!({})), Err(LinkError::NotConnected));

    let server = test_support::server_at(addr, database).await;
    connected(&mut events).await;
    assert!(link.local_peer_id().is_some());
    let _ = ApiClient::new(&server.url()).unwrap().health().await;
    link.shutdown().await;
    server.shutdown().await.unwrap();
}
