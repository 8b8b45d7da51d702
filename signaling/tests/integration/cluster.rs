//! Scale-out: several nodes sharing one Redis (a private `redis-server` per test). Peers on
//! different nodes see each other in rooms and signal each other; sign-outs, profile changes and
//! room limits hold across nodes; a node that dies or loses its state in Redis is dealt with.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;
use parley_signal::test_utils::RedisServer;
use parley_signal::{ClusterConfig, Config, Database, Limits};
use serde_json::{json, Value};

/// A node on a free port, in the cluster behind `redis`, accounts included.
fn node_config(redis: &RedisServer, limits: Limits) -> Config {
    Config {
        database: Database::Redis(redis.url()),
        cluster: Some(ClusterConfig {
            node_ttl: Duration::from_secs(3),
            ..ClusterConfig::new(redis.url())
        }),
        limits,
        ..config()
    }
}

async fn node(redis: &RedisServer) -> TestServer {
    start_with(node_config(redis, Limits::default())).await
}

/// The next frame of `kind`, skipping others, waiting up to `wait`.
async fn wait_for_within(peer: &mut Peer, kind: &str, wait: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match try_next_event(&mut peer.ws, left).await {
            Some(Event::Frame(frame)) if frame["type"] == kind => return frame,
            Some(Event::Frame(_)) => continue,
            other => panic!("waiting for {kind}: {other:?}"),
        }
    }
}

fn peer_ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .expect("a list of peers")
        .iter()
        .map(|p| p["peer_id"].as_str().expect("peer_id").to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn peers_on_two_nodes_meet_in_rooms_and_signal_each_other() {
    let redis = RedisServer::start();
    let a = node(&redis).await;
    let b = node(&redis).await;
    let alice = a.register_as("alice").await;
    let bob = a.register_as("bob").await;

    let mut alice_ws = connect(&a.ws_url(), &alice.token).await;
    let mut bob_ws = connect(&b.ws_url(), &bob.token).await;
    assert_eq!(alice_ws.join("lobby").await["peers"], json!([]));
    let joined = bob_ws.join("lobby").await;
    assert_eq!(peer_ids(&joined["peers"]), vec![alice_ws.peer_id.clone()]);
    assert_eq!(joined["peers"][0]["user"]["username"], "alice");
    assert_eq!(
        joined["peers"][0]["user"].get("email"),
        None,
        "email leaked across nodes"
    );
    let seen = alice_ws.expect("peer-joined").await;
    assert_eq!(seen["peer"]["peer_id"], bob_ws.peer_id.as_str());

    // Signals both ways, stamped by the sender's node.
    alice_ws
        .send(json!({"type": "signal", "to": bob_ws.peer_id, "data": {"sdp": "offer"}}))
        .await;
    let signal = bob_ws.expect("signal").await;
    assert_eq!(signal["from"], alice_ws.peer_id.as_str());
    assert_eq!(signal["user"]["username"], "alice");
    assert_eq!(signal["data"], json!({"sdp": "offer"}));
    bob_ws
        .send(json!({"type": "signal", "to": alice_ws.peer_id, "data": {"sdp": "answer"}}))
        .await;
    assert_eq!(alice_ws.expect("signal").await["data"]["sdp"], "answer");

    // Both nodes list the room and its peers the same way.
    for server in [&a, &b] {
        let rooms = server.get("/api/v1/rooms", Some(&alice.token)).await.expect(200);
        assert_eq!(rooms["rooms"], json!([{"name": "lobby", "online": 2}]));
        let peers = server
            .get("/api/v1/rooms/lobby/peers", Some(&bob.token))
            .await
            .expect(200);
        let mut both = vec![alice_ws.peer_id.clone(), bob_ws.peer_id.clone()];
        both.sort();
        assert_eq!(peer_ids(&peers["peers"]), both);
    }

    // A peer of the other node that shares no room is not reachable (nor known).
    let carol = a.register_as("carol").await;
    let mut carol_ws = connect(&b.ws_url(), &carol.token).await;
    alice_ws
        .send(json!({"type": "signal", "to": carol_ws.peer_id, "data": 1}))
        .await;
    alice_ws.expect_error("unknown_peer").await;

    // Leaving and joining again, across nodes.
    bob_ws.send(json!({"type": "leave", "room": "lobby"})).await;
    bob_ws.expect("left").await;
    assert_eq!(alice_ws.expect("peer-left").await["peer_id"], bob_ws.peer_id.as_str());
    bob_ws.join("lobby").await;
    alice_ws.expect("peer-joined").await;

    // A profile change on one node reaches room-mates on the other.
    b.put("/api/v1/me", &json!({"display_name": "Robert"}), Some(&bob.token))
        .await
        .expect(200);
    let updated = alice_ws.expect("peer-updated").await;
    assert_eq!(updated["peer"]["user"]["display_name"], "Robert");
    // …and the room's entry in Redis, which rosters and room listings come from.
    let peers = a.get("/api/v1/rooms/lobby/peers", Some(&alice.token)).await.expect(200);
    let bob_entry = peers["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["peer_id"] == bob_ws.peer_id.as_str())
        .cloned()
        .expect("bob in the room");
    assert_eq!(bob_entry["user"]["display_name"], "Robert");
    carol_ws.join("lobby").await;
    alice_ws.expect("peer-joined").await;
    bob_ws.expect("peer-joined").await;

    // Signing out on node A closes Bob's connection on node B.
    a.post("/api/v1/logout", &json!({}), Some(&bob.token)).await.expect(204);
    bob_ws.expect_error("unauthorized").await;
    assert_eq!(alice_ws.wait_for("peer-left").await["peer_id"], bob_ws.peer_id.as_str());

    // A disconnect is a leave for the other node's peers too.
    drop(carol_ws);
    let left = alice_ws.wait_for("peer-left").await;
    assert_eq!(left["room"], "lobby");

    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn room_limits_hold_across_nodes() {
    let redis = RedisServer::start();
    let limits = Limits {
        peers_per_room: 2,
        ..Limits::default()
    };
    let a = start_with(node_config(&redis, limits.clone())).await;
    let b = start_with(node_config(&redis, limits)).await;
    let mut peers = Vec::new();
    for (i, server) in [&a, &b, &a].into_iter().enumerate() {
        let account = a.register_as(&format!("full{i}")).await;
        peers.push(connect(&server.ws_url(), &account.token).await);
    }
    peers[0].join("small").await;
    peers[1].join("small").await;
    peers[2].send(json!({"type": "join", "room": "small"})).await;
    peers[2].expect_error("room_full").await;
    // Not in the room: the local mirror did not keep it either.
    let to = peers[0].peer_id.clone();
    peers[2].send(json!({"type": "signal", "to": to, "data": 1})).await;
    peers[2].expect_error("not_in_room").await;
}

/// A node started as its own process, so that it can die without a goodbye.
struct ChildNode {
    child: Child,
    url: String,
}

impl ChildNode {
    fn start(redis: &RedisServer) -> ChildNode {
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley-signal"))
            .args(["--listen", "127.0.0.1:0", "--node-ttl", "3", "--log", "warn"])
            .arg("--redis")
            .arg(redis.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start parley-signal");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .expect("read the address line");
        let url = first
            .trim()
            .strip_prefix("parley-signal listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
            .to_owned();
        ChildNode { child, url }
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_dead_nodes_peers_leave_their_rooms() {
    let redis = RedisServer::start();
    let a = node(&redis).await;
    let doomed = ChildNode::start(&redis);
    let alice = a.register_as("dana").await;
    let bob = a.register_as("eli").await;
    let mut alice_ws = connect(&a.ws_url(), &alice.token).await;
    let mut bob_ws = connect(&ws_url(&doomed.url), &bob.token).await;
    alice_ws.join("lobby").await;
    bob_ws.join("lobby").await;
    alice_ws.expect("peer-joined").await;

    // kill -9: no leave, no goodbye. Its liveness runs out (3 s) and node A's housekeeping
    // (every second) removes its peers.
    drop(doomed);
    let left = wait_for_within(&mut alice_ws, "peer-left", Duration::from_secs(10)).await;
    assert_eq!(left["peer_id"], bob_ws.peer_id.as_str());
    let peers = a.get("/api/v1/rooms/lobby/peers", Some(&alice.token)).await.expect(200);
    assert_eq!(peer_ids(&peers["peers"]), vec![alice_ws.peer_id.clone()]);
}

/// Two nodes; Alice on node A and Bob on node B, both in "lobby".
struct Pair {
    a: TestServer,
    b: TestServer,
    bob: Account,
    alice_ws: Peer,
    bob_ws: Peer,
}

async fn pair_in_lobby(redis: &RedisServer) -> Pair {
    let a = node(redis).await;
    let b = node(redis).await;
    let alice = a.register().await;
    let bob = a.register().await;
    let mut alice_ws = connect(&a.ws_url(), &alice.token).await;
    let mut bob_ws = connect(&b.ws_url(), &bob.token).await;
    alice_ws.join("lobby").await;
    bob_ws.join("lobby").await;
    alice_ws.expect("peer-joined").await;
    Pair {
        a,
        b,
        bob,
        alice_ws,
        bob_ws,
    }
}

#[tokio::test]
async fn nodes_announce_their_peers_again_when_redis_lost_them() {
    let redis = RedisServer::start();
    let Pair {
        a: _a,
        b,
        bob,
        mut alice_ws,
        mut bob_ws,
        ..
    } = pair_in_lobby(&redis).await;

    // Redis lost the presence state under running nodes (a restart without persistence; the
    // accounts are kept here so the test can still sign in). Each node notices at its next
    // heartbeat that its liveness key is gone and puts its memberships back.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let wipe =
        "local keys = redis.call('KEYS', ARGV[1]) for _, k in ipairs(keys) do redis.call('DEL', k) end return #keys";
    let wiped: u64 = redis::cmd("EVAL")
        .arg(wipe)
        .arg(0)
        .arg("parley:p1:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(wiped >= 6, "only {wiped} presence keys were there to wipe");
    let mut both = vec![alice_ws.peer_id.clone(), bob_ws.peer_id.clone()];
    both.sort();
    let restored = eventually(|| async {
        let peers = b.get("/api/v1/rooms/lobby/peers", Some(&bob.token)).await;
        peers.status == 200 && peer_ids(&peers.json()["peers"]) == both
    })
    .await;
    assert!(restored, "the room was not restored in Redis");

    // Whatever the mirrors went through meanwhile, signals flow again.
    let to_bob = bob_ws.peer_id.clone();
    let mut delivered = false;
    for _ in 0..50 {
        alice_ws
            .send(json!({"type": "signal", "to": to_bob, "data": "hi"}))
            .await;
        alice_ws.send(json!({"type": "ping"})).await;
        let mut refused = false;
        loop {
            let frame = alice_ws.next().await;
            match frame["type"].as_str() {
                Some("pong") => break,
                Some("error") => refused = true,
                _ => {}
            }
        }
        if !refused {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered, "alice could not signal bob after the restore");
    assert_eq!(bob_ws.wait_for("signal").await["data"], "hi");
}

#[tokio::test]
async fn a_membership_redis_holds_for_no_peer_of_its_node_is_removed() {
    let redis = RedisServer::start();
    let a = node(&redis).await;
    let alice = a.register_as("hal").await;
    let mut alice_ws = connect(&a.ws_url(), &alice.token).await;
    alice_ws.join("lobby").await;

    // What a leave whose answer was lost leaves behind: an entry of node A's for a peer that is
    // not connected there.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mine = format!("lobby\n{}", alice_ws.peer_id);
    let sets: Vec<String> = redis::cmd("KEYS")
        .arg("parley:p1:node:*:members")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut node_set = None;
    for set in sets {
        let found: bool = redis::cmd("SISMEMBER")
            .arg(&set)
            .arg(&mine)
            .query_async(&mut conn)
            .await
            .unwrap();
        if found {
            node_set = Some(set);
        }
    }
    let node_set = node_set.expect("node A's membership set");
    let node = node_set
        .trim_start_matches("parley:p1:node:")
        .trim_end_matches(":members")
        .to_owned();
    let ghost = json!({"node": node, "peer": {"peer_id": "0123456789abcdef", "user": alice.user}});
    redis::pipe()
        .cmd("HSET")
        .arg("parley:p1:room:lobby")
        .arg("0123456789abcdef")
        .arg(ghost.to_string())
        .cmd("SADD")
        .arg(&node_set)
        .arg("lobby\n0123456789abcdef")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let peers = a.get("/api/v1/rooms/lobby/peers", Some(&alice.token)).await.expect(200);
    assert_eq!(peers["peers"].as_array().unwrap().len(), 2, "the ghost is in Redis");

    // The periodic reconciliation (every 12 beats: 12 s at a 3 s liveness) removes it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
    loop {
        let peers = a.get("/api/v1/rooms/lobby/peers", Some(&alice.token)).await.expect(200);
        if peer_ids(&peers["peers"]) == vec![alice_ws.peer_id.clone()] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ghost is still there: {peers}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    alice_ws.sync().await;
}

/// Sends a signal and a ping until the signal is accepted (no error frame before the pong).
async fn signal_until_accepted(from: &mut Peer, to: &str, data: Value, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        from.send(json!({"type": "signal", "to": to, "data": data})).await;
        from.send(json!({"type": "ping"})).await;
        let mut refused = None;
        loop {
            let frame = from.next().await;
            match frame["type"].as_str() {
                Some("pong") => break,
                Some("error") => refused = Some(frame),
                _ => {}
            }
        }
        match refused {
            None => return,
            Some(frame) => assert!(tokio::time::Instant::now() < deadline, "still refused: {frame}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn nodes_carry_on_through_a_redis_crash() {
    let mut redis = RedisServer::start();
    let mut p = pair_in_lobby(&redis).await;

    // Redis dies. Joins cannot be answered; the connections themselves stay up.
    redis.crash();
    p.alice_ws.send(json!({"type": "join", "room": "second"})).await;
    p.alice_ws.expect_error("unavailable").await;
    p.alice_ws.sync().await;

    // It comes back empty (no persistence): the nodes resubscribe, find their liveness gone and
    // put their peers back, and signals cross nodes again.
    redis.start_again();
    let to_bob = p.bob_ws.peer_id.clone();
    signal_until_accepted(&mut p.alice_ws, &to_bob, json!("after"), Duration::from_secs(20)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match try_next_event(&mut p.bob_ws.ws, left).await {
            Some(Event::Frame(frame)) if frame["type"] == "signal" && frame["data"] == "after" => break,
            Some(Event::Frame(_)) => {}
            Some(other) => panic!("bob's connection: {other:?}"),
            None => {
                // Signals sent while the nodes were still reconnecting are lost; try again.
                signal_until_accepted(&mut p.alice_ws, &to_bob, json!("after"), Duration::from_secs(5)).await;
            }
        }
    }
    // Rosters are whole again: a newcomer to the room on node B sees Alice on node A.
    let joined = p.bob_ws.join("lobby-2").await;
    assert_eq!(joined["peers"], json!([]));
    p.alice_ws.send(json!({"type": "join", "room": "lobby-2"})).await;
    let roster = p.alice_ws.wait_for("joined").await;
    assert_eq!(peer_ids(&roster["peers"]), vec![p.bob_ws.peer_id.clone()]);
}

#[tokio::test]
async fn nodes_subscribe_again_when_redis_drops_their_subscriptions() {
    let redis = RedisServer::start();
    let mut p = pair_in_lobby(&redis).await;

    // Redis closes every subscriber connection (as on a failover or `CLIENT KILL`); the nodes'
    // other connections stay.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let killed: u64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(killed, 2, "one subscription per node");

    // Each node resubscribes and refreshes its rooms; then presence and signals cross again.
    let to_bob = p.bob_ws.peer_id.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        signal_until_accepted(&mut p.alice_ws, &to_bob, json!("again"), Duration::from_secs(5)).await;
        match try_next_event(&mut p.bob_ws.ws, Duration::from_millis(500)).await {
            Some(Event::Frame(frame)) if frame["type"] == "signal" && frame["data"] == "again" => break,
            Some(Event::Frame(_)) | None => {}
            Some(other) => panic!("bob's connection: {other:?}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "signals did not cross nodes again"
        );
    }
    let subscribers: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(subscribers.lines().count(), 2, "{subscribers}");
    p.bob_ws.send(json!({"type": "leave", "room": "lobby"})).await;
    assert_eq!(p.alice_ws.wait_for("peer-left").await["peer_id"], to_bob.as_str());
}
