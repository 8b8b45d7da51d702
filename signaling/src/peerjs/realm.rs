//! Who is connected under which id, and messages waiting for ids that are not (yet).
//!
//! The map is split into shards so that relays between unrelated peers rarely touch the same
//! lock; a client and the messages queued for its id live in the same shard, which makes
//! "register, then deliver what was queued" atomic with respect to senders. No lock here is
//! ever held across an `.await`, and the only nesting is shard → outbox.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use serde_json::value::RawValue;
use tokio::sync::futures::Notified;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::protocol::{self, ClientType, MessageType};
use super::Limits;
use crate::config::PeerJsConfig;
use crate::metrics::Metrics;
use crate::outbox::{CloseCause, Outbox, QueueLimits};

const SHARDS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("{}", protocol::msgs::ID_TAKEN)]
    IdTaken,
    #[error("{}", protocol::msgs::CONNECTION_LIMIT_EXCEED)]
    LimitReached,
    #[error("Server is shutting down")]
    ShuttingDown,
}

/// Why the realm asked a connection to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The same id and token connected again; the newer socket wins.
    Replaced,
    /// Its outbound queue overflowed: the consumer is not reading.
    Stuck,
    Shutdown,
}

/// One connected id. Other connections' tasks push frames into its outbox; the owning task
/// drains it.
pub struct Client {
    id: Arc<str>,
    token: Box<str>,
    outbox: Outbox<CloseReason>,
}

impl CloseCause for CloseReason {
    const OVERFLOW: Self = CloseReason::Stuck;
}

impl Client {
    fn new(id: Arc<str>, token: &str) -> Self {
        Client {
            id,
            token: token.into(),
            outbox: Outbox::default(),
        }
    }

    pub fn id(&self) -> &Arc<str> {
        &self.id
    }

    /// Queues a frame for this client's socket. `false` means the client is going away and the
    /// frame was dropped.
    pub fn push(&self, frame: Utf8Bytes, limits: &Limits) -> bool {
        let queue = QueueLimits {
            frames: limits.send_queue_frames,
            bytes: limits.send_queue_bytes,
        };
        self.outbox.push(frame, &queue)
    }

    /// Everything queued so far, and whether the connection was asked to close.
    pub fn take(&self) -> (VecDeque<Utf8Bytes>, Option<CloseReason>) {
        self.outbox.take()
    }

    fn close(&self, reason: CloseReason) {
        self.outbox.close(reason)
    }

    pub fn closing(&self) -> Option<CloseReason> {
        self.outbox.closing()
    }

    /// Resolves once something was pushed or a close was requested since the last `take`.
    pub fn woken(&self) -> Notified<'_> {
        self.outbox.woken()
    }
}

struct Pending {
    frame: Utf8Bytes,
    src: Arc<str>,
    queued_at: Instant,
}

#[derive(Default)]
struct Shard {
    clients: HashMap<Arc<str>, Arc<Client>>,
    pending: HashMap<Arc<str>, VecDeque<Pending>>,
}

pub struct Realm {
    config: PeerJsConfig,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    clients: AtomicUsize,
    pending_frames: AtomicUsize,
    pending_bytes: AtomicUsize,
    /// The expiry sweeper runs only while something is queued, so an idle server sets no timer.
    sweeper_running: AtomicBool,
    /// The task that closes every client on shutdown starts with the first client, because
    /// `router` may be called outside a runtime.
    shutdown_watched: AtomicBool,
}

/// What happened to a relayed frame, for tests and tracing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    Queued,
    /// LEAVE or EXPIRE for an id that is not connected: PeerServer drops these too.
    Dropped,
    /// The destination's socket is going away; the sender was told with LEAVE.
    Gone,
    /// The wait queue is full; the sender was told with EXPIRE straight away.
    Refused,
}

impl Realm {
    pub fn new(
        config: PeerJsConfig,
        limits: Limits,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        Realm {
            config,
            limits,
            metrics,
            shutdown,
            tasks,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            clients: AtomicUsize::new(0),
            pending_frames: AtomicUsize::new(0),
            pending_bytes: AtomicUsize::new(0),
            sweeper_running: AtomicBool::new(false),
            shutdown_watched: AtomicBool::new(false),
        }
    }

    pub fn config(&self) -> &PeerJsConfig {
        &self.config
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    fn shard(&self, id: &str) -> &Mutex<Shard> {
        &self.shards[self.hasher.hash_one(id) as usize % SHARDS]
    }

    pub fn is_connected(&self, id: &str) -> bool {
        self.shard(id).lock().clients.contains_key(id)
    }

    /// A random id nobody holds, like PeerServer's uuid v4.
    pub fn generate_id(&self) -> String {
        loop {
            let id = uuid_v4();
            if !self.is_connected(&id) {
                return id;
            }
        }
    }

    /// Registers `id` for a new socket. The returned client's outbox already holds OPEN
    /// followed by whatever waited for this id, so nothing can overtake OPEN.
    pub fn attach(self: &Arc<Self>, id: &str, token: &str) -> Result<Arc<Client>, AttachError> {
        if !self.shutdown_watched.swap(true, Ordering::SeqCst) {
            let realm = self.clone();
            self.tasks.spawn(async move { realm.close_all_on_shutdown().await });
        }
        let mut shard = self.shard(id).lock();
        // Checked under the shard lock: `close_all_on_shutdown` takes every shard lock after
        // the token is cancelled, so a client is either refused here or closed there.
        if self.shutdown.is_cancelled() {
            return Err(AttachError::ShuttingDown);
        }
        if let Some(old) = shard.clients.get(id) {
            if *old.token != *token {
                return Err(AttachError::IdTaken);
            }
            // Same id and token: the client reconnected, most likely because its old socket
            // died without a close. Frames the old socket never wrote move to the new one.
            let old = old.clone();
            let client = Arc::new(Client::new(old.id.clone(), token));
            let unwritten = old.outbox.close_and_take(CloseReason::Replaced);
            client.outbox.fill(std::iter::once(protocol::open()).chain(unwritten));
            shard.clients.insert(client.id.clone(), client.clone());
            return Ok(client);
        }

        if self.clients.fetch_add(1, Ordering::SeqCst) >= self.config.concurrent_limit {
            self.clients.fetch_sub(1, Ordering::SeqCst);
            return Err(AttachError::LimitReached);
        }
        let id: Arc<str> = Arc::from(id);
        let client = Arc::new(Client::new(id.clone(), token));
        let waiting = shard.pending.remove(&id).unwrap_or_default();
        if !waiting.is_empty() {
            let (count, bytes) = (waiting.len(), waiting.iter().map(|p| p.frame.len()).sum::<usize>());
            self.pending_frames.fetch_sub(count, Ordering::SeqCst);
            self.pending_bytes.fetch_sub(bytes, Ordering::SeqCst);
            self.metrics
                .peerjs_messages_relayed
                .fetch_add(count as u64, Ordering::Relaxed);
        }
        client
            .outbox
            .fill(std::iter::once(protocol::open()).chain(waiting.into_iter().map(|p| p.frame)));
        shard.clients.insert(id, client.clone());
        Ok(client)
    }

    /// One task for the whole realm instead of a cancellation waiter in every connection.
    async fn close_all_on_shutdown(self: Arc<Self>) {
        self.shutdown.cancelled().await;
        for shard in self.shards.iter() {
            for client in shard.lock().clients.values() {
                client.close(CloseReason::Shutdown);
            }
        }
    }

    /// Unregisters `client` unless a newer socket already took its id over.
    pub fn detach(&self, client: &Arc<Client>) -> bool {
        let mut shard = self.shard(&client.id).lock();
        match shard.clients.get(&*client.id) {
            Some(current) if Arc::ptr_eq(current, client) => {
                shard.clients.remove(&*client.id);
                self.clients.fetch_sub(1, Ordering::SeqCst);
                true
            }
            _ => false,
        }
    }

    /// Relays a transmission frame from `sender` to `dst`, stamping the sender's id as `src`.
    pub fn relay(
        self: &Arc<Self>,
        sender: &Client,
        kind: ClientType,
        dst: &str,
        payload: Option<&RawValue>,
    ) -> Delivery {
        let frame = protocol::relayed(kind.into(), &sender.id, dst, payload);
        let target = {
            let mut shard = self.shard(dst).lock();
            match shard.clients.get(dst) {
                Some(target) => target.clone(),
                None if matches!(kind, ClientType::Leave | ClientType::Expire) => return Delivery::Dropped,
                None => {
                    if self.enqueue(&mut shard, &sender.id, dst, frame) {
                        return Delivery::Queued;
                    }
                    drop(shard);
                    sender.push(
                        protocol::relayed(MessageType::Expire, dst, &sender.id, None),
                        &self.limits,
                    );
                    return Delivery::Refused;
                }
            }
        };
        if target.push(frame, &self.limits) {
            Metrics::inc(&self.metrics.peerjs_messages_relayed);
            Delivery::Sent
        } else {
            // PeerServer answers a failed send with LEAVE so the sender stops trying.
            if kind != ClientType::Leave {
                sender.push(
                    protocol::relayed(MessageType::Leave, dst, &sender.id, None),
                    &self.limits,
                );
            }
            Delivery::Gone
        }
    }

    fn enqueue(self: &Arc<Self>, shard: &mut Shard, src: &Arc<str>, dst: &str, frame: Utf8Bytes) -> bool {
        let len = frame.len();
        if self.pending_frames.load(Ordering::SeqCst) >= self.limits.pending_frames
            || self.pending_bytes.load(Ordering::SeqCst) + len > self.limits.pending_bytes
        {
            return false;
        }
        let queue = match shard.pending.get_mut(dst) {
            Some(queue) => queue,
            None => shard.pending.entry(Arc::from(dst)).or_default(),
        };
        if queue.len() >= self.limits.pending_per_id {
            return false;
        }
        queue.push_back(Pending {
            frame,
            src: src.clone(),
            queued_at: Instant::now(),
        });
        self.pending_bytes.fetch_add(len, Ordering::SeqCst);
        if self.pending_frames.fetch_add(1, Ordering::SeqCst) == 0 && !self.sweeper_running.swap(true, Ordering::SeqCst)
        {
            let realm = self.clone();
            self.tasks.spawn(async move { realm.sweep_loop().await });
        }
        true
    }

    async fn sweep_loop(self: Arc<Self>) {
        // PeerServer sweeps every second against a 5 s timeout; scale that for short timeouts.
        let interval = (self.config.expire_timeout / 5).clamp(Duration::from_millis(5), Duration::from_secs(1));
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
            self.sweep(Instant::now());
            if self.pending_frames.load(Ordering::SeqCst) == 0 {
                self.sweeper_running.store(false, Ordering::SeqCst);
                // A frame queued between the load and the store saw the flag still set and did
                // not start a sweeper, so this one must carry on.
                if self.pending_frames.load(Ordering::SeqCst) == 0 || self.sweeper_running.swap(true, Ordering::SeqCst)
                {
                    return;
                }
            }
        }
    }

    /// Drops queues whose oldest frame waited `expire_timeout` and tells each sender once per
    /// destination with `{type: EXPIRE, src: dst, dst: sender}`.
    pub fn sweep(&self, now: Instant) {
        let expire = self.config.expire_timeout;
        let mut notices: HashSet<(Arc<str>, Arc<str>)> = HashSet::new();
        let (mut frames, mut bytes) = (0usize, 0usize);
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            shard.pending.retain(|dst, queue| {
                // Like PeerServer, a queue expires as a whole once its oldest frame is due:
                // the destination is evidently not coming, and one EXPIRE per sender is enough.
                if queue
                    .front()
                    .is_none_or(|p| now.saturating_duration_since(p.queued_at) < expire)
                {
                    return true;
                }
                for p in queue.drain(..) {
                    frames += 1;
                    bytes += p.frame.len();
                    notices.insert((p.src, dst.clone()));
                }
                false
            });
        }
        if frames == 0 {
            return;
        }
        self.pending_frames.fetch_sub(frames, Ordering::SeqCst);
        self.pending_bytes.fetch_sub(bytes, Ordering::SeqCst);
        self.metrics
            .peerjs_messages_expired
            .fetch_add(frames as u64, Ordering::Relaxed);
        for (src, dst) in notices {
            let sender = self.shard(&src).lock().clients.get(&src).cloned();
            if let Some(sender) = sender {
                tracing::debug!(peer = %src, %dst, "queued messages expired");
                sender.push(protocol::relayed(MessageType::Expire, &dst, &src, None), &self.limits);
            }
        }
    }
}

fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn realm(config: PeerJsConfig) -> Arc<Realm> {
        Arc::new(Realm::new(
            config,
            Limits::default(),
            Arc::default(),
            CancellationToken::new(),
            TaskTracker::new(),
        ))
    }

    fn drain(client: &Client) -> Vec<String> {
        client.take().0.into_iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn uuid_shape() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }

    #[tokio::test]
    async fn attach_rules() {
        let mut config = PeerJsConfig::new("k");
        config.concurrent_limit = 1;
        let realm = realm(config);
        let a = realm.attach("a", "t1").unwrap();
        assert!(matches!(realm.attach("a", "t2"), Err(AttachError::IdTaken)));
        assert!(matches!(realm.attach("b", "t"), Err(AttachError::LimitReached)));
        let a2 = realm.attach("a", "t1").unwrap();
        assert_eq!(a.take().1, Some(CloseReason::Replaced));
        assert!(!realm.detach(&a), "a replaced socket must not unregister its successor");
        assert!(realm.detach(&a2));
        assert!(realm.attach("b", "t").is_ok());
    }

    #[tokio::test]
    async fn queue_then_deliver_or_expire() {
        let realm = realm(PeerJsConfig::new("k"));
        let alice = realm.attach("alice", "t").unwrap();
        drain(&alice);
        let payload = RawValue::from_string("{\"x\":1}".into()).unwrap();
        assert_eq!(
            realm.relay(&alice, ClientType::Offer, "bob", Some(&payload)),
            Delivery::Queued
        );
        assert_eq!(realm.relay(&alice, ClientType::Offer, "carol", None), Delivery::Queued);
        assert_eq!(realm.relay(&alice, ClientType::Leave, "carol", None), Delivery::Dropped);
        let bob = realm.attach("bob", "t").unwrap();
        assert_eq!(
            drain(&bob),
            [
                r#"{"type":"OPEN"}"#,
                r#"{"type":"OFFER","src":"alice","dst":"bob","payload":{"x":1}}"#
            ]
        );

        realm.sweep(Instant::now() + Duration::from_secs(6));
        assert_eq!(drain(&alice), [r#"{"type":"EXPIRE","src":"carol","dst":"alice"}"#]);
        assert_eq!(realm.pending_frames.load(Ordering::SeqCst), 0);
    }
}
