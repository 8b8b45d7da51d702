//! Helpers for the core's own tests: servers, accounts, and waiting for events with deadlines.

use std::net::SocketAddr;
use std::time::Duration;

use crate::api_client::ApiClient;
use crate::options::Timing;
use crate::server_link::{LinkEvent, ServerLink};
use crate::server_url::ServerUrl;
use parley_protocol::{AuthResponse, RegisterRequest};
use parley_signal::{Config, Database, ServerHandle};
use tokio::sync::mpsc::UnboundedReceiver;

pub(crate) use parley_signal::test_utils::{init_tracing, unique, DEADLINE};

pub(crate) async fn server() -> ServerHandle {
    server_with(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: Database::InMemory,
        ..Default::default()
    })
    .await
}

pub(crate) async fn server_at(listen: SocketAddr, database: Database) -> ServerHandle {
    server_with(Config {
        listen,
        database,
        ..Default::default()
    })
    .await
}

pub(crate) async fn server_with(config: Config) -> ServerHandle {
    init_tracing();
    parley_signal::Server::bind(config).await.expect("server binds").spawn()
}

pub(crate) fn register_request(username: &str) -> RegisterRequest {
    RegisterRequest {
        username: username.to_owned(),
        email: format!("{username}@example.org"),
        password: "correct horse battery".to_owned(),
        display_name: None,
    }
}

/// A signed-in client for a new account.
pub(crate) async fn signed_in(server: &ServerHandle, prefix: &str) -> (ApiClient, AuthResponse) {
    let client = ApiClient::new(&server.url()).unwrap();
    let auth = client
        .register(&register_request(&unique(prefix)))
        .await
        .expect("register");
    (client, auth)
}

/// Server-link timings for tests: quick retries so a restart is survived in well under a second.
pub(crate) fn fast_timing() -> Timing {
    Timing {
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(500),
        connect_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

pub(crate) fn start_link(server: &ServerUrl, token: &str) -> (ServerLink, UnboundedReceiver<LinkEvent>) {
    ServerLink::start(server, &crate::server_tls::ServerTls::new(None), token, fast_timing())
}

/// Waits for the first event `pick` accepts, skipping others; panics after [`DEADLINE`].
pub(crate) async fn wait_for<T>(
    events: &mut UnboundedReceiver<LinkEvent>,
    what: &str,
    mut pick: impl FnMut(&LinkEvent) -> Option<T>,
) -> T {
    let search = async {
        loop {
            let event = events
                .recv()
                .await
                .unwrap_or_else(|| panic!("events ended waiting for {what}"));
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    };
    tokio::time::timeout(DEADLINE, search)
        .await
        .unwrap_or_else(|_| panic!("timed out after {DEADLINE:?} waiting for {what}"))
}

/// Waits until `condition` holds, re-checking after every event.
pub(crate) async fn wait_until(events: &mut UnboundedReceiver<LinkEvent>, what: &str, condition: impl Fn() -> bool) {
    if condition() {
        return;
    }
    wait_for(events, what, |_| condition().then_some(())).await
}

pub(crate) async fn connected(events: &mut UnboundedReceiver<LinkEvent>) -> String {
    wait_for(events, "Connected", |event| match event {
        LinkEvent::Connected { peer_id, .. } => Some(peer_id.clone()),
        _ => None,
    })
    .await
}
