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
//!
//! Edits, deletions and reactions (`actions.rs`) travel the same way through a second outbox in
//! the history, sent after the messages on every flush and dropped by their acknowledgement.

mod actions;
mod engine;
mod protocol;

pub use actions::EDIT_WINDOW_MS;
pub(crate) use actions::{apply_own, check_reply, Action};
pub use engine::ChatError;
pub(crate) use engine::{queue_file, queue_message, ChatEngine};
pub(crate) use protocol::{file_fetch_frame, file_state_frame};
pub use protocol::{FrameError, MAX_BODY_CHARS};
