//! Shared server state, cloned into every handler.

use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth;
#[cfg(feature = "redis")]
use crate::cluster::{Cluster, FORWARD_BYTES};
use crate::config::Config;
use crate::error::{ApiError, StartError};
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::outbox::QueueLimits;
use crate::ratelimit::KeyedLimiter;
use crate::store::Store;
use parley_protocol::{Peer, RoomSummary, User};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: Store,
    pub hub: Arc<Hub>,
    /// Set when this server is one node of several (`--redis`).
    #[cfg(feature = "redis")]
    pub cluster: Option<Arc<Cluster>>,
    pub metrics: Arc<Metrics>,
    pub auth_limiter: KeyedLimiter<IpAddr>,
    /// Argon2 takes 19 MiB and tens of milliseconds per hash: bounding concurrent hashes keeps a
    /// burst of sign-ins from exhausting memory or starving the blocking pool.
    pub hash_permits: Semaphore,
    /// Cancelled when the server shuts down; every WebSocket task watches it.
    pub shutdown: CancellationToken,
    /// Every WebSocket task, so shutdown can wait for their close frames to go out.
    pub tasks: TaskTracker,
}

#[cfg(feature = "redis")]
impl Drop for Inner {
    /// A server dropped without [`crate::Server::run_until`] finishing must not leave its cluster
    /// tasks beating for a node that is gone.
    fn drop(&mut self) {
        if let Some(cluster) = &self.cluster {
            cluster.abandon();
        }
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// An authenticated session: who, and which token (to end it on sign-out).
pub struct Session {
    pub user: User,
    pub token_hash: auth::TokenHash,
}

impl AppState {
    pub async fn open(config: Config) -> Result<AppState, StartError> {
        let store = Store::open(&config.database).await?;
        match store.purge_expired_sessions().await {
            Ok(n) if n > 0 => tracing::info!(purged = n, "removed expired sessions"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not purge expired sessions"),
        }
        let hashers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) * 2;
        let limits = &config.limits;
        let queue = QueueLimits {
            frames: limits.ws_send_queue,
            bytes: limits.ws_send_queue_bytes,
        };
        #[cfg(not(feature = "redis"))]
        let hub = Arc::new(Hub::new(limits.rooms_per_peer, limits.peers_per_room, queue));
        #[cfg(feature = "redis")]
        let (hub, cluster) = match &config.cluster {
            None => (
                Arc::new(Hub::new(limits.rooms_per_peer, limits.peers_per_room, queue)),
                None,
            ),
            Some(cluster_config) => {
                let (forward, forwards) = crate::hub::Forwarder::new(FORWARD_BYTES);
                let hub = Arc::new(Hub::clustered(
                    limits.rooms_per_peer,
                    limits.peers_per_room,
                    queue,
                    forward,
                ));
                let cluster = Arc::new(Cluster::connect(cluster_config, limits.peers_per_room).await?);
                cluster.start(hub.clone(), forwards).await?;
                (hub, Some(cluster))
            }
        };
        Ok(AppState(Arc::new(Inner {
            hub,
            #[cfg(feature = "redis")]
            cluster,
            auth_limiter: KeyedLimiter::per_minute(config.limits.auth_per_minute),
            hash_permits: Semaphore::new(hashers),
            config,
            store,
            metrics: Arc::new(Metrics::default()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        })))
    }

    pub async fn wait_for_connections(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// The session a bearer token belongs to.
    pub async fn authenticate(&self, token: &str) -> Result<Session, ApiError> {
        let token_hash = auth::token_hash(token);
        let user = self
            .store
            .session_user(token_hash.to_vec())
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Session { user, token_hash })
    }

    /// Runs a password hash or verification on the blocking pool, a bounded number at a time.
    pub async fn hash_work<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let _permit = self.hash_permits.acquire().await.map_err(|_| ApiError::Unavailable)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// Every room with someone in it (on every node).
    pub async fn rooms(&self) -> Result<Vec<RoomSummary>, ApiError> {
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            return cluster.rooms().await.map_err(cluster_unavailable);
        }
        Ok(self.hub.rooms())
    }

    /// Everyone in a room (on every node); empty for an empty room.
    pub async fn room_peers(&self, room: &str) -> Result<Vec<Peer>, ApiError> {
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            return cluster.room_peers(room).await.map_err(cluster_unavailable);
        }
        Ok(self.hub.room_peers(room).unwrap_or_default())
    }

    /// A session was signed out: its connections close, here and on every other node.
    pub async fn signed_out(&self, token_hash: &auth::TokenHash) {
        self.hub.sign_out(token_hash);
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            if let Err(e) = cluster.signed_out(token_hash).await {
                // The token is already dead in the store: those connections cannot come back,
                // they only stay open until they drop.
                tracing::warn!(error = %e, "could not tell the other nodes about a sign-out");
            }
        }
    }

    /// A user's profile changed: their room-mates hear of it, here and on every other node.
    pub async fn user_updated(&self, user: &User) {
        self.hub.update_user(user);
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            if let Err(e) = cluster.user_updated(&self.hub, user).await {
                tracing::warn!(error = %e, "could not tell the other nodes about a profile change");
            }
        }
    }

    pub fn check_auth_rate(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.auth_limiter.check(&ip).map_err(|wait| {
            Metrics::inc(&self.metrics.http_rate_limited);
            ApiError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }
}

#[cfg(feature = "redis")]
fn cluster_unavailable(e: crate::cluster::ClusterError) -> ApiError {
    tracing::warn!(error = %e, "presence store unavailable");
    ApiError::Unavailable
}
