//! The link to the signaling server: one WebSocket per profile that stays up by itself.
//!
//! [`ServerLink`] owns a background task that connects to `/api/v1/ws`, reconnects with
//! exponential backoff and jitter whenever the link drops (server restart, network change,
//! laptop sleep), re-joins the rooms the user is in, and keeps a live roster of each room from
//! the server's frames. Callers see the result as [`LinkEvent`]s and through
//! [`ServerLink::roster`]; they never deal with the socket.
//!
//! The user's intent (which rooms to be in) lives in the handle and survives reconnects; the
//! rosters are facts from the server and are dropped the moment the link is lost, because a
//! roster from a dead connection would show people as online who may not be.

mod connection;
mod joins;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use parley_protocol::{Peer, ServerFrame, User};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::options::Timing;
use crate::server_tls::ServerTls;
use crate::server_url::ServerUrl;
use connection::Runner;
use joins::sorted_roster;

/// What happened, in the order it happened. Rosters are updated before the matching event is
/// sent, so [`ServerLink::roster`] already agrees with any event received.
#[derive(Debug, Clone)]
pub(crate) enum LinkEvent {
    /// Online as `peer_id` (a new one after every reconnect).
    Connected { peer_id: String, user: User },
    /// The link is down; every roster is now empty. Reconnecting goes on in the background.
    Disconnected { reason: String },
    /// A frame from the server, passed on as it came once the rosters reflect it: `joined`
    /// (also after a reconnect), `left`, `peer-joined`, `peer-left`, `peer-updated`, `signal`
    /// and `error` (a refused frame: a join of a full room, a signal to a peer that left…).
    /// `welcome` and `pong` are the link's own business.
    Frame(ServerFrame),
    /// The token is no longer valid (signed out, expired): no more reconnecting. Sign in
    /// again and start a new [`ServerLink`].
    SessionEnded,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LinkError {
    #[error("not connected to the signaling server right now")]
    NotConnected,
    #[error("the signaling client has stopped (shut down, or the session ended)")]
    Stopped,
}

enum Command {
    Join(String),
    Leave(String),
    Signal { to: String, data: serde_json::Value },
}

#[derive(Default)]
struct State {
    /// Rooms the user asked to be in; re-joined after every reconnect.
    wanted: BTreeSet<String>,
    /// Rooms the server confirmed, with who is in them (never ourselves).
    rosters: HashMap<String, HashMap<String, User>>,
    local: Option<(String, User)>,
    stopped: bool,
}

/// The signaling connection of one profile. Dropping it stops the background task.
pub(crate) struct ServerLink {
    shared: Arc<Mutex<State>>,
    commands: mpsc::UnboundedSender<Command>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for ServerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLink")
            .field("local_peer_id", &self.local_peer_id())
            .field("rooms", &self.rooms())
            .finish()
    }
}

impl ServerLink {
    /// Starts connecting in the background (inside the current Tokio runtime).
    pub(crate) fn start(
        server: &ServerUrl,
        tls: &ServerTls,
        token: &str,
        timing: Timing,
    ) -> (ServerLink, mpsc::UnboundedReceiver<LinkEvent>) {
        let shared = Arc::new(Mutex::new(State::default()));
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        let runner = Runner {
            url: server.clone(),
            tls: tls.clone(),
            token: token.to_owned(),
            timing,
            shared: shared.clone(),
            commands: command_rx,
            events,
            stop: stop_rx,
        };
        let span = tracing::info_span!("presence", server = %server);
        let task = tokio::spawn(runner.run().instrument(span));
        let presence = ServerLink {
            shared,
            commands,
            stop,
            task: Mutex::new(Some(task)),
        };
        (presence, event_rx)
    }

    /// Joins a room now if connected, and after every reconnect until [`ServerLink::leave`].
    /// The outcome arrives as a `joined` or an `error` [`LinkEvent::Frame`].
    pub(crate) fn join(&self, room: &str) -> Result<(), LinkError> {
        let mut state = self.shared.lock();
        if state.stopped {
            return Err(LinkError::Stopped);
        }
        state.wanted.insert(room.to_owned());
        self.commands
            .send(Command::Join(room.to_owned()))
            .map_err(|_| LinkError::Stopped)
    }

    pub(crate) fn leave(&self, room: &str) -> Result<(), LinkError> {
        let mut state = self.shared.lock();
        if state.stopped {
            return Err(LinkError::Stopped);
        }
        if !state.wanted.remove(room) {
            return Ok(());
        }
        self.commands
            .send(Command::Leave(room.to_owned()))
            .map_err(|_| LinkError::Stopped)
    }

    /// Relays `data` (an SDP offer or answer, an ICE candidate) to a peer sharing a room.
    /// Peer ids die with their connection, so there is no queueing while disconnected.
    pub(crate) fn signal(&self, to: &str, data: serde_json::Value) -> Result<(), LinkError> {
        let state = self.shared.lock();
        if state.stopped {
            return Err(LinkError::Stopped);
        }
        if state.local.is_none() {
            return Err(LinkError::NotConnected);
        }
        self.commands
            .send(Command::Signal {
                to: to.to_owned(),
                data,
            })
            .map_err(|_| LinkError::Stopped)
    }

    /// Who is in a room right now, without ourselves; empty while disconnected. Sorted by
    /// display name so a UI list does not jump around.
    pub(crate) fn roster(&self, room: &str) -> Vec<Peer> {
        sorted_roster(&self.shared.lock(), room)
    }

    /// The rooms we are in or joining, sorted.
    pub(crate) fn rooms(&self) -> Vec<String> {
        self.shared.lock().wanted.iter().cloned().collect()
    }

    /// Our peer id on the current connection, `None` while disconnected.
    pub(crate) fn local_peer_id(&self) -> Option<String> {
        self.shared.lock().local.as_ref().map(|(id, _)| id.clone())
    }

    /// Our own user as the server last described it, `None` while disconnected.
    #[cfg(test)]
    pub(crate) fn local_user(&self) -> Option<User> {
        self.shared.lock().local.as_ref().map(|(_, user)| user.clone())
    }

    /// Whether the task has stopped for good (shut down, or the session ended).
    #[cfg(test)]
    pub(crate) fn is_stopped(&self) -> bool {
        self.shared.lock().stopped
    }

    /// Closes the connection politely and waits for the background task to end.
    pub(crate) async fn shutdown(&self) {
        self.stop.send_replace(true);
        let task = self.task.lock().take();
        if let Some(task) = task {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "presence task failed");
            }
        }
    }
}

#[cfg(test)]
mod tests;
