//! How the server talks to Redis, for the account store and the cluster alike.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult};

/// Longest wait for a connection or an answer. The client library's own default (500 ms) would
/// report as failed a script that Redis is still running, and did run.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A connection that reconnects by itself, shared by clones.
pub async fn manager(client: &Client) -> RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(TIMEOUT))
        .set_connection_timeout(Some(TIMEOUT));
    client.get_connection_manager_with_config(config).await
}
