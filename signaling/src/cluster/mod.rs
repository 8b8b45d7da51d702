//! Scale-out: several `parley-signal` nodes behind one address, sharing presence and relaying
//! signals to each other through Redis (`--redis`). Design and keyspace: `docs/scale-out.md`.
//!
//! Each node keeps its own connections and an in-memory mirror of the rooms its peers are in
//! (the [`Hub`]); Redis holds every room's members, hands every node the presence events in one
//! order, and carries signals to the node that holds the target. A relayed signal costs one
//! `PUBLISH` and no lookup in Redis: the sender's node already knows, from its mirror, whether the
//! target shares a room and where it is connected.

mod protocol;
mod scripts;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSub};
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::config::ClusterConfig;
use crate::hub::{Forwards, Hub, JoinError, JoinStart, Outbox, PeerId, RemoteMember, RoomEvent, Roster};
use crate::redis_conn::TIMEOUT as REDIS_TIMEOUT;
use parley_protocol::{Peer, RoomSummary, ServerFrame, User};

use protocol::{node_channel, Envelope, Event, Member, NodeSignal, EVENTS, PING, PREFIX};

/// Bytes of signals waiting to be published to other nodes; beyond this a sender gets "busy".
pub const FORWARD_BYTES: usize = 32 * 1024 * 1024;
/// A full reconciliation with Redis at least every this many heartbeats, even when nothing
/// failed: the safety net under the targeted repairs.
const RECONCILE_EVERY: u32 = 12;
/// Attempts to get a roster at least as new as what a mirror applied.
const RESYNC_TRIES: usize = 3;
/// Maintenance rounds without this node's own ping coming back before its subscription is taken
/// for hung (a half-open connection delivers nothing and reports no error).
const PING_ROUNDS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("unexpected data in Redis: {0}")]
    BadData(String),
}

/// This node's handle on the deployment.
pub struct Cluster {
    node: Arc<str>,
    client: redis::Client,
    conn: ConnectionManager,
    config: ClusterConfig,
    peers_per_room: usize,
    /// Stops the background tasks once the node has said goodbye.
    stop: CancellationToken,
    tasks: TaskTracker,
    /// Set when Redis may no longer hold exactly this node's memberships (a write failed or its
    /// answer was lost, this node was taken for dead, a resync failed): the next maintenance
    /// round reconciles.
    dirty: AtomicBool,
    /// The maintenance round whose ping last came back through the subscription.
    echoed: AtomicU32,
    /// Asks the subscriber to drop its connection and subscribe again.
    resubscribe: tokio::sync::Notify,
}

impl Cluster {
    /// Connects to Redis with a fresh node id.
    pub async fn connect(config: &ClusterConfig, peers_per_room: usize) -> Result<Cluster, ClusterError> {
        let client = redis::Client::open(config.redis_url.as_str())?;
        let conn = crate::redis_conn::manager(&client).await?;
        Ok(Cluster {
            node: crate::auth::random_id(8).into(),
            client,
            conn,
            config: config.clone(),
            peers_per_room,
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
            dirty: AtomicBool::new(false),
            echoed: AtomicU32::new(0),
            resubscribe: tokio::sync::Notify::new(),
        })
    }

    /// Stops the background tasks without a goodbye (the server is being dropped).
    pub fn abandon(&self) {
        self.stop.cancel();
    }

    fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Subscribes (before returning, so no event of this node's life is missed), registers the
    /// node and starts its background tasks: the subscriber, the publisher of outgoing signals,
    /// the heartbeat, and the maintenance that removes dead nodes' peers and repairs this node's
    /// memberships in Redis.
    pub async fn start(self: &Arc<Self>, hub: Arc<Hub>, forwards: Forwards) -> Result<(), ClusterError> {
        let pubsub = self.subscribe().await?;
        self.heartbeat().await?;
        let span = tracing::info_span!("cluster", node = %self.node);
        self.tasks
            .spawn(self.clone().subscriber(pubsub, hub.clone()).instrument(span.clone()));
        self.tasks
            .spawn(self.clone().publisher(forwards).instrument(span.clone()));
        self.tasks.spawn(self.clone().beating().instrument(span.clone()));
        self.tasks.spawn(self.clone().maintenance(hub).instrument(span));
        tracing::info!(node = %self.node, "joined the cluster");
        Ok(())
    }

    /// Leaves the cluster: what this node still had in Redis is removed (and announced) now
    /// rather than when its liveness runs out. Call after the connections have closed.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        let mut conn = self.conn.clone();
        let alive = format!("{PREFIX}node:{}:alive", self.node);
        let goodbye = async {
            redis::cmd("DEL").arg(&alive).query_async::<()>(&mut conn).await?;
            scripts::REAP.arg(PREFIX).invoke_async::<u64>(&mut conn).await
        };
        if let Err(e) = timed(goodbye).await {
            tracing::warn!(error = %e, "could not say goodbye to the cluster; the other nodes will time this one out");
        }
    }

    async fn subscribe(&self) -> Result<PubSub, ClusterError> {
        let mut pubsub = timed(self.client.get_async_pubsub()).await?;
        timed(pubsub.subscribe(EVENTS)).await?;
        timed(pubsub.subscribe(node_channel(&self.node))).await?;
        Ok(pubsub)
    }

    /// Joins a room: local checks, then Redis (room limit, membership, the event), then the
    /// mirror, which sends the peer its `joined` frame.
    pub async fn join(&self, hub: &Hub, peer_id: &PeerId, room: &str, outbox: &Outbox) -> Result<(), JoinError> {
        let me = match hub.begin_join(peer_id, room)? {
            JoinStart::Already(peers) => {
                let joined = ServerFrame::Joined {
                    room: room.to_owned(),
                    peers,
                };
                hub.send(
                    outbox,
                    Utf8Bytes::from(serde_json::to_string(&joined).expect("frames serialize")),
                );
                return Ok(());
            }
            JoinStart::Ask(me) => me,
        };
        let answer = match self.add_member(room, &me).await {
            Ok(Some(roster)) => Ok(roster),
            Ok(None) => Err(JoinError::RoomFull(self.peers_per_room)),
            Err(e) => {
                // The script may have run and only its answer been lost: reconciliation removes
                // the membership if Redis has it.
                tracing::warn!(error = %e, room, "join failed in Redis");
                self.mark_dirty();
                Err(JoinError::Unavailable)
            }
        };
        if !hub.finish_join(peer_id, room, answer)? {
            self.remove_member(room, peer_id).await;
        }
        Ok(())
    }

    /// Takes a peer out of a room in Redis (the hub already did it locally).
    pub async fn remove_member(&self, room: &str, peer_id: &str) {
        let event = Event::Left {
            room: room.to_owned(),
            peer_id: peer_id.to_owned(),
        };
        let mut conn = self.conn.clone();
        let mut call = scripts::LEAVE.prepare_invoke();
        call.arg(PREFIX)
            .arg(room)
            .arg(peer_id)
            .arg(&*self.node)
            .arg(serde_json::to_string(&event).expect("events serialize"));
        if let Err(e) = timed(call.invoke_async::<u64>(&mut conn)).await {
            tracing::warn!(error = %e, room, peer = peer_id, "leave failed in Redis; repaired at the next maintenance");
            self.mark_dirty();
        }
    }

    /// After a disconnect: the peer leaves its rooms in Redis, in the background (tracked, so a
    /// shutdown waits for it).
    pub fn disconnected(self: &Arc<Self>, tasks: &TaskTracker, peer_id: PeerId, rooms: Box<[Arc<str>]>) {
        if rooms.is_empty() {
            return;
        }
        let cluster = self.clone();
        tasks.spawn(async move {
            for room in rooms.iter() {
                cluster.remove_member(room, &peer_id).await;
            }
        });
    }

    /// A user's profile changed here: rewrite their peers' entries and tell the other nodes.
    pub async fn user_updated(&self, hub: &Hub, user: &User) -> Result<(), ClusterError> {
        self.rewrite_members(hub, &user.id).await?;
        let event = Envelope {
            seq: None,
            event: Event::UserUpdated {
                node: self.node.to_string(),
                user: crate::hub::public(user),
            },
        };
        self.publish(EVENTS, serde_json::to_string(&event).expect("events serialize"))
            .await
    }

    /// A session ended here: the other nodes close the connections that used it.
    pub async fn signed_out(&self, token_hash: &crate::auth::TokenHash) -> Result<(), ClusterError> {
        let event = Envelope {
            seq: None,
            event: Event::SignedOut {
                node: self.node.to_string(),
                token_hash: hex::encode(token_hash),
            },
        };
        self.publish(EVENTS, serde_json::to_string(&event).expect("events serialize"))
            .await
    }

    /// Every room with someone in it, on any node.
    pub async fn rooms(&self) -> Result<Vec<RoomSummary>, ClusterError> {
        let mut conn = self.conn.clone();
        let flat: Vec<redis::Value> = timed(scripts::ROOMS.arg(PREFIX).invoke_async(&mut conn)).await?;
        let mut rooms = Vec::with_capacity(flat.len() / 2);
        for pair in flat.chunks_exact(2) {
            let bad = |e: redis::ParsingError| ClusterError::BadData(e.to_string());
            let name: String = redis::from_redis_value_ref(&pair[0]).map_err(bad)?;
            let online: usize = redis::from_redis_value_ref(&pair[1]).map_err(bad)?;
            rooms.push(RoomSummary { name, online });
        }
        rooms.sort_by(|a, b| b.online.cmp(&a.online).then_with(|| a.name.cmp(&b.name)));
        Ok(rooms)
    }

    /// Everyone in a room, on any node.
    pub async fn room_peers(&self, room: &str) -> Result<Vec<Peer>, ClusterError> {
        let roster = self.roster(room).await?;
        let mut peers: Vec<Peer> = roster.members.into_iter().map(|m| m.peer).collect();
        peers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        Ok(peers)
    }

    async fn add_member(&self, room: &str, me: &Peer) -> Result<Option<Roster>, ClusterError> {
        let member = Member {
            node: self.node.to_string(),
            peer: me.clone(),
        };
        let event = Event::Joined {
            room: room.to_owned(),
            node: self.node.to_string(),
            peer: me.clone(),
        };
        let mut conn = self.conn.clone();
        let (seq, members): (i64, Vec<String>) = timed(
            scripts::JOIN
                .arg(PREFIX)
                .arg(room)
                .arg(&me.peer_id)
                .arg(serde_json::to_string(&member).expect("members serialize"))
                .arg(self.peers_per_room)
                .arg(serde_json::to_string(&event).expect("events serialize"))
                .arg(&*self.node)
                .invoke_async(&mut conn),
        )
        .await?;
        if seq < 0 {
            return Ok(None);
        }
        Ok(Some(roster_from(seq as u64, &members)))
    }

    async fn roster(&self, room: &str) -> Result<Roster, ClusterError> {
        let mut conn = self.conn.clone();
        let (seq, members): (u64, Vec<String>) =
            timed(scripts::ROSTER.arg(PREFIX).arg(room).invoke_async(&mut conn)).await?;
        Ok(roster_from(seq, &members))
    }

    async fn rewrite_members(&self, hub: &Hub, user_id: &str) -> Result<(), ClusterError> {
        let entries = hub.local_rooms_of_user(user_id);
        if entries.is_empty() {
            return Ok(());
        }
        let mut call = scripts::SET_MEMBERS.prepare_invoke();
        call.arg(PREFIX);
        for (peer, room) in entries {
            let member = Member {
                node: self.node.to_string(),
                peer: peer.clone(),
            };
            call.arg(room)
                .arg(&peer.peer_id)
                .arg(serde_json::to_string(&member).expect("members serialize"));
        }
        let mut conn = self.conn.clone();
        timed(call.invoke_async::<i64>(&mut conn)).await?;
        Ok(())
    }

    async fn publish(&self, channel: &str, message: String) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        timed(
            redis::cmd("PUBLISH")
                .arg(channel)
                .arg(message)
                .query_async::<i64>(&mut conn),
        )
        .await?;
        Ok(())
    }

    /// Refreshes this node's liveness; false when it had run out (the node may have been reaped).
    async fn heartbeat(&self) -> Result<bool, ClusterError> {
        let mut conn = self.conn.clone();
        let ttl_ms = self.config.node_ttl.as_millis() as u64;
        let was: i64 = timed(
            scripts::HEARTBEAT
                .arg(PREFIX)
                .arg(&*self.node)
                .arg(ttl_ms)
                .invoke_async(&mut conn),
        )
        .await?;
        Ok(was == 1)
    }

    /// Makes Redis hold exactly this node's memberships, then refreshes every mirrored room.
    /// Joins under way are left alone (their script may not have run yet, or its answer is on
    /// its way); an entry put back is taken out again if its peer left meanwhile.
    async fn reconcile(&self, hub: &Hub) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let key = format!("{PREFIX}node:{}:members", self.node);
        let stored: HashSet<String> = timed(redis::cmd("SMEMBERS").arg(&key).query_async(&mut conn)).await?;
        let (settled, joining) = hub.memberships();
        let wanted: HashSet<&str> = settled.iter().map(|(key, _, _)| key.as_str()).collect();
        let mut repaired = 0;
        for (key, peer, room) in &settled {
            if stored.contains(key) {
                continue;
            }
            repaired += 1;
            if self.add_member(room, peer).await?.is_none() {
                tracing::warn!(room, peer = %peer.peer_id, "room filled up while this node's entry was missing");
            }
            if !hub.is_member(&peer.peer_id, room) {
                self.remove_member(room, &peer.peer_id).await;
            }
        }
        for entry in stored
            .iter()
            .filter(|e| !wanted.contains(e.as_str()) && !joining.contains(*e))
        {
            if let Some((room, peer_id)) = entry.split_once('\n') {
                repaired += 1;
                self.remove_member(room, peer_id).await;
            }
        }
        if repaired > 0 {
            tracing::info!(repaired, "memberships in Redis repaired");
        }
        self.resync(hub).await;
        Ok(())
    }

    /// Fetches a fresh roster for every mirrored room (events may have been missed).
    async fn resync(&self, hub: &Hub) {
        for room in hub.begin_resync() {
            let mut installed = false;
            for _ in 0..RESYNC_TRIES {
                match self.roster(&room).await {
                    Ok(roster) => {
                        if hub.finish_resync(&room, roster) {
                            installed = true;
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, room, "could not refresh a room from Redis");
                        break;
                    }
                }
            }
            if !installed {
                hub.abandon_resync(&room);
                self.mark_dirty();
            }
        }
    }

    async fn subscriber(self: Arc<Self>, pubsub: PubSub, hub: Arc<Hub>) {
        let mut pubsub = Some(pubsub);
        let mut backoff = Duration::from_millis(100);
        while !self.stop.is_cancelled() {
            let current = match pubsub.take() {
                Some(current) => current,
                None => match self.subscribe().await {
                    Ok(fresh) => {
                        tracing::info!("subscription to Redis restored");
                        backoff = Duration::from_millis(100);
                        self.resync(&hub).await;
                        fresh
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot subscribe to Redis; retrying");
                        tokio::select! {
                            () = self.stop.cancelled() => return,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                },
            };
            let mut messages = current.into_on_message();
            loop {
                let message = tokio::select! {
                    () = self.stop.cancelled() => return,
                    () = self.resubscribe.notified() => {
                        tracing::warn!("subscription to Redis silent; subscribing again");
                        break;
                    }
                    message = messages.next() => message,
                };
                let Some(message) = message else {
                    tracing::warn!("subscription to Redis lost");
                    break;
                };
                self.on_message(&hub, message.get_channel_name(), message.get_payload_bytes())
                    .await;
            }
        }
    }

    async fn on_message(self: &Arc<Self>, hub: &Arc<Hub>, channel: &str, payload: &[u8]) {
        let Ok(text) = std::str::from_utf8(payload) else {
            tracing::warn!(channel, "ignoring a message that is not UTF-8");
            return;
        };
        if channel != EVENTS {
            if let Some(round) = text.strip_prefix(PING) {
                if let Ok(round) = round.parse() {
                    self.echoed.fetch_max(round, Ordering::Relaxed);
                }
                return;
            }
            match serde_json::from_str::<NodeSignal<'_>>(text) {
                Ok(NodeSignal { to, frame }) => {
                    hub.deliver(to, Utf8Bytes::from(frame.get()));
                }
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed node message"),
            }
            return;
        }
        let envelope: Envelope = match serde_json::from_str(text) {
            Ok(envelope) => envelope,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a malformed cluster event");
                return;
            }
        };
        match (envelope.seq, envelope.event) {
            (Some(seq), Event::Joined { room, node, peer }) => {
                let member = RemoteMember {
                    node: node.into(),
                    peer,
                };
                hub.room_event(&room, seq, RoomEvent::Joined(member));
            }
            (Some(seq), Event::Left { room, peer_id }) => hub.room_event(&room, seq, RoomEvent::Left { peer_id }),
            (_, Event::UserUpdated { node, user }) if *node != *self.node => {
                hub.update_user(&user);
                // Only this node can rewrite its peers' entries; not awaited here, where it would
                // hold up every event and signal behind it.
                if !hub.local_rooms_of_user(&user.id).is_empty() {
                    let (cluster, hub) = (self.clone(), hub.clone());
                    self.tasks.spawn(async move {
                        if let Err(e) = cluster.rewrite_members(&hub, &user.id).await {
                            tracing::warn!(error = %e, "could not update a user's room entries in Redis");
                        }
                    });
                }
            }
            (_, Event::SignedOut { node, token_hash }) if *node != *self.node => {
                let mut hash = [0u8; 32];
                if hex::decode_to_slice(&token_hash, &mut hash).is_ok() {
                    hub.sign_out(&hash);
                }
            }
            _ => {}
        }
    }

    /// Publishes signals for other nodes' peers, as many per round trip as are waiting.
    async fn publisher(self: Arc<Self>, mut forwards: Forwards) {
        let mut batch = Vec::with_capacity(256);
        let mut conn = self.conn.clone();
        loop {
            let n = tokio::select! {
                () = self.stop.cancelled() => return,
                n = forwards.rx.recv_many(&mut batch, 256) => n,
            };
            if n == 0 {
                return;
            }
            let mut pipe = redis::pipe();
            let mut bytes = 0;
            for forward in batch.drain(..) {
                bytes += forward.frame.len();
                let Ok(frame) = RawValue::from_string(forward.frame.as_str().to_owned()) else {
                    continue;
                };
                let message = NodeSignal {
                    to: &forward.to,
                    frame: &frame,
                };
                pipe.cmd("PUBLISH")
                    .arg(node_channel(&forward.node))
                    .arg(serde_json::to_string(&message).expect("messages serialize"))
                    .ignore();
            }
            if let Err(e) = timed(pipe.query_async::<()>(&mut conn)).await {
                tracing::warn!(error = %e, signals = n, "signals to other nodes lost: Redis failed");
            }
            forwards.done(bytes);
        }
    }

    /// Keeps this node alive in Redis. Its own task, so that nothing slow (a reconciliation of
    /// many memberships) can delay it past the liveness TTL.
    async fn beating(self: Arc<Self>) {
        let mut ticker = tokio::time::interval(self.beat_interval());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            match self.heartbeat().await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("this node's liveness had run out in Redis; announcing its peers again");
                    self.mark_dirty();
                }
                Err(e) => tracing::warn!(error = %e, "heartbeat to Redis failed"),
            }
        }
    }

    /// Removes dead nodes' peers, and reconciles this node's memberships when something may
    /// have gone wrong (and every [`RECONCILE_EVERY`] rounds regardless).
    async fn maintenance(self: Arc<Self>, hub: Arc<Hub>) {
        let mut ticker = tokio::time::interval(self.beat_interval());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        let mut round: u32 = 0;
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            round = round.wrapping_add(1);
            self.check_subscription(round).await;
            let mut conn = self.conn.clone();
            match timed(scripts::REAP.arg(PREFIX).invoke_async::<u64>(&mut conn)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(nodes = n, "removed the peers of nodes that stopped answering"),
                Err(e) => tracing::warn!(error = %e, "reaping dead nodes failed"),
            }
            if self.dirty.swap(false, Ordering::Relaxed) || round % RECONCILE_EVERY == 0 {
                let result = tokio::select! {
                    () = self.stop.cancelled() => return,
                    result = self.reconcile(&hub) => result,
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "reconciling with Redis failed; retrying next round");
                    self.mark_dirty();
                }
            }
        }
    }

    /// Publishes this round's ping to the node's own channel; when several rounds' pings did
    /// not come back, the subscription is renewed.
    async fn check_subscription(&self, round: u32) {
        let echoed = self.echoed.load(Ordering::Relaxed);
        if round.saturating_sub(echoed) > PING_ROUNDS {
            self.resubscribe.notify_one();
            // Counted from now: the fresh subscription gets the same grace.
            self.echoed.store(round, Ordering::Relaxed);
        }
        if let Err(e) = self.publish(&node_channel(&self.node), format!("{PING}{round}")).await {
            tracing::debug!(error = %e, "ping to this node's own channel failed");
        }
    }

    fn beat_interval(&self) -> Duration {
        (self.config.node_ttl / 3).max(Duration::from_millis(200))
    }
}

fn roster_from(seq: u64, members: &[String]) -> Roster {
    let members = members
        .iter()
        .filter_map(|json| match serde_json::from_str::<Member>(json) {
            Ok(member) => Some(RemoteMember {
                node: member.node.into(),
                peer: member.peer,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a malformed room member in Redis");
                None
            }
        })
        .collect();
    Roster { seq, members }
}

async fn timed<T, E: Into<ClusterError>>(
    call: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ClusterError> {
    match tokio::time::timeout(REDIS_TIMEOUT, call).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(ClusterError::Timeout(REDIS_TIMEOUT)),
    }
}
