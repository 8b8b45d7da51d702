//! Shared server state, cloned into every handler.

use std::ops::Deref;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::error::StartError;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub metrics: Arc<Metrics>,
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

impl AppState {
    pub async fn open(config: Config) -> Result<AppState, StartError> {
        Ok(AppState(Arc::new(Inner {
            config,
            metrics: Arc::new(Metrics::default()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        })))
    }

    pub async fn wait_for_connections(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}
