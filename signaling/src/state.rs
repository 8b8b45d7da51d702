//! Shared server state, cloned into every handler.

use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth;
use crate::config::Config;
use crate::error::{ApiError, StartError};
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::outbox::QueueLimits;
use crate::protocol::User;
use crate::ratelimit::KeyedLimiter;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: Store,
    pub hub: Hub,
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
        Ok(AppState(Arc::new(Inner {
            hub: Hub::new(
                config.limits.rooms_per_peer,
                config.limits.peers_per_room,
                QueueLimits {
                    frames: config.limits.ws_send_queue,
                    bytes: config.limits.ws_send_queue_bytes,
                },
            ),
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

    pub fn check_auth_rate(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.auth_limiter.check(&ip).map_err(|wait| {
            Metrics::inc(&self.metrics.http_rate_limited);
            ApiError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }
}
