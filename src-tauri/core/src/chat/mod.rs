//! Chat over peer-to-peer channels: the engine that turns the server link, peer connections and
//! the local history into "send a message to a person, exactly once, whenever they are
//! reachable".
//!
//! Delivery works like this. A message is stored (state `pending`) before anything is sent, so
//! the history itself is the persistent outbox. Whenever a channel to one of the recipient's
//! devices is open, every unacknowledged message for them is sent, oldest first (`sent`). The
//! receiver stores it — a message id it already has is not stored again — and acknowledges it
//! either way; the ack moves it to `delivered`. Lost acks and restarts on either side only cause
//! resends, which the receiver absorbs: nothing lost, nothing doubled.

mod engine;
mod protocol;

pub use engine::ChatError;
pub(crate) use engine::{queue_message, ChatEngine};
pub use protocol::{FrameError, MAX_BODY_CHARS};
