use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::calls::CallRecord;
use super::transfers::{FileTransfer, NewFile};

/// Who wrote a message, from this device's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Direction {
    /// Written here.
    Outgoing,
    /// Arrived from the contact.
    Incoming,
}

/// Where a message is in its life. Outgoing messages move pending → sent → delivered → read;
/// incoming ones received → read. States only ever move forward, so receipts that arrive out of
/// order (a late "sent" after "delivered") cannot undo progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum DeliveryState {
    /// Stored locally, not yet handed to a peer connection.
    Pending,
    /// Handed to the peer connection; no acknowledgement yet.
    Sent,
    /// The recipient's device acknowledged storing it.
    Delivered,
    /// An incoming message the user has not seen yet.
    Received,
    /// Seen by the recipient (outgoing) or by the user (incoming).
    Read,
}

impl DeliveryState {
    /// Position on the forward-only ladder; also the value stored in the database. Delivered and
    /// Received share a rank because they never apply to the same direction.
    pub(crate) fn rank(self) -> i64 {
        match self {
            DeliveryState::Pending => 0,
            DeliveryState::Sent => 1,
            DeliveryState::Delivered | DeliveryState::Received => 2,
            DeliveryState::Read => 3,
        }
    }

    pub(crate) fn from_rank(direction: Direction, rank: i64) -> Option<DeliveryState> {
        Some(match (direction, rank) {
            (Direction::Outgoing, 0) => DeliveryState::Pending,
            (Direction::Outgoing, 1) => DeliveryState::Sent,
            (Direction::Outgoing, 2) => DeliveryState::Delivered,
            (Direction::Incoming, 2) => DeliveryState::Received,
            (_, 3) => DeliveryState::Read,
            _ => return None,
        })
    }

    /// Whether a message travelling in `direction` can ever be in this state.
    pub fn applies_to(self, direction: Direction) -> bool {
        match self {
            DeliveryState::Pending | DeliveryState::Sent | DeliveryState::Delivered => direction == Direction::Outgoing,
            DeliveryState::Received => direction == Direction::Incoming,
            DeliveryState::Read => true,
        }
    }

    /// The name it is stored and serialized under.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Received => "received",
            DeliveryState::Read => "read",
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Message {
    /// Chosen by the sender and globally unique, so resends can be recognised.
    pub id: String,
    /// The remote user's id.
    pub conversation_id: String,
    /// Written here or arrived.
    pub direction: Direction,
    /// The author's user id.
    pub sender_id: String,
    /// The text, as written.
    pub body: String,
    /// Unix milliseconds on the sender's clock, which may disagree with ours.
    pub sent_at: i64,
    /// Unix milliseconds on this device's clock; None for outgoing messages.
    pub received_at: Option<i64>,
    /// Where it is in its life.
    pub state: DeliveryState,
    /// Local insertion order: the order messages are shown in and paged by, immune to clock skew.
    pub seq: i64,
    /// The message this one answers, if any.
    pub reply_to: Option<String>,
    /// When the author last edited it (Unix milliseconds, author's clock); None if never.
    pub edited_at: Option<i64>,
    /// Deleted for everyone by its author: the body is gone, the place in the conversation stays.
    pub deleted: bool,
    /// Reactions, one per person at most, oldest first.
    pub reactions: Vec<Reaction>,
    /// What the quoted message ([`Message::reply_to`]) says, for showing the quote; None when it
    /// is not stored here (older than this device's history) or there is no quote.
    pub reply: Option<ReplyPreview>,
    /// The file this message carries, if it is a file message (its `body` is then the name).
    pub file: Option<FileTransfer>,
    /// The call this entry records, if it is one (its `body` then says which kind).
    pub call: Option<CallRecord>,
}

/// One person's reaction to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reaction {
    /// Who reacted.
    pub user_id: String,
    /// The emoji.
    pub emoji: String,
}

/// The start of a quoted message, shown above a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReplyPreview {
    /// The quoted message's id (to jump to it).
    pub id: String,
    /// Its author.
    pub sender_id: String,
    /// Its first characters; empty when it was deleted.
    pub text: String,
    /// Deleted for everyone since.
    pub deleted: bool,
}

/// Characters of a quoted message shown above a reply.
pub(crate) const REPLY_PREVIEW_CHARS: usize = 140;

impl Message {
    /// A cursor that continues a page or a search right after (older than) this message.
    pub fn cursor(&self) -> Cursor {
        Cursor { seq: self.seq }
    }
}

/// A message to store; `insert_many` takes a batch of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    /// See [`Message::id`].
    pub id: String,
    /// See [`Message::conversation_id`].
    pub conversation_id: String,
    /// Outgoing ones start pending, incoming ones received.
    pub direction: Direction,
    /// See [`Message::sender_id`].
    pub sender_id: String,
    /// See [`Message::body`].
    pub body: String,
    /// See [`Message::sent_at`].
    pub sent_at: i64,
    /// Ignored for outgoing messages.
    pub received_at: Option<i64>,
    /// See [`Message::reply_to`].
    pub reply_to: Option<String>,
    /// The file it carries, stored with it.
    pub file: Option<NewFile>,
    /// The call it records (stored read, or unread when missed; never sent).
    pub call: Option<CallRecord>,
}

impl NewMessage {
    /// A message written here, to the user `conversation_id`.
    pub fn outgoing(conversation_id: &str, id: &str, sender_id: &str, body: &str, sent_at: i64) -> NewMessage {
        NewMessage {
            id: id.to_owned(),
            conversation_id: conversation_id.to_owned(),
            direction: Direction::Outgoing,
            sender_id: sender_id.to_owned(),
            body: body.to_owned(),
            sent_at,
            received_at: None,
            reply_to: None,
            file: None,
            call: None,
        }
    }

    /// The same message, answering message `id`.
    pub fn replying_to(self, id: Option<&str>) -> NewMessage {
        NewMessage {
            reply_to: id.map(str::to_owned),
            ..self
        }
    }

    /// The same entry, recording a call.
    pub fn with_call(self, call: CallRecord) -> NewMessage {
        NewMessage {
            call: Some(call),
            ..self
        }
    }

    /// The same message, carrying `file`.
    pub fn with_file(self, file: NewFile) -> NewMessage {
        NewMessage {
            file: Some(file),
            ..self
        }
    }

    /// A message that arrived from the user `conversation_id`.
    pub fn incoming(
        conversation_id: &str,
        id: &str,
        sender_id: &str,
        body: &str,
        sent_at: i64,
        received_at: i64,
    ) -> NewMessage {
        NewMessage {
            id: id.to_owned(),
            conversation_id: conversation_id.to_owned(),
            direction: Direction::Incoming,
            sender_id: sender_id.to_owned(),
            body: body.to_owned(),
            sent_at,
            received_at: Some(received_at),
            reply_to: None,
            file: None,
            call: None,
        }
    }
}

/// What storing a message did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "message", rename_all = "lowercase")]
pub enum InsertOutcome {
    /// Stored now.
    Inserted(Message),
    /// The id was already stored; this is the stored copy, left untouched.
    Duplicate(Message),
}

impl InsertOutcome {
    /// The message, stored now or before.
    pub fn message(&self) -> &Message {
        match self {
            InsertOutcome::Inserted(m) | InsertOutcome::Duplicate(m) => m,
        }
    }

    /// The message, stored now or before.
    pub fn into_message(self) -> Message {
        match self {
            InsertOutcome::Inserted(m) | InsertOutcome::Duplicate(m) => m,
        }
    }

    /// Stored now (not a duplicate).
    pub fn is_inserted(&self) -> bool {
        matches!(self, InsertOutcome::Inserted(_))
    }
}

/// The conversation with one remote user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conversation {
    /// The remote user's id.
    pub id: String,
    /// Their display name, as last known.
    pub title: String,
    /// The newest message, if any.
    pub last_message: Option<Message>,
    /// Incoming messages not yet marked read.
    pub unread: u32,
    /// Unix milliseconds on this device's clock of the last activity (creation or a new message).
    pub updated_at: i64,
}

/// Position in a message list, handed back to continue a page or a search. Serialized as a
/// string so the UI treats it as a token rather than doing arithmetic on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Cursor {
    pub(crate) seq: i64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.seq)
    }
}

/// A string that is not a cursor this history handed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a history cursor: {0:?}")]
pub struct InvalidCursor(String);

impl FromStr for Cursor {
    type Err = InvalidCursor;

    fn from_str(s: &str) -> Result<Cursor, InvalidCursor> {
        s.strip_prefix('s')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|seq| *seq > 0)
            .map(|seq| Cursor { seq })
            .ok_or_else(|| InvalidCursor(s.to_owned()))
    }
}

impl From<Cursor> for String {
    fn from(c: Cursor) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for Cursor {
    type Error = InvalidCursor;

    fn try_from(s: String) -> Result<Cursor, InvalidCursor> {
        s.parse()
    }
}

/// Messages of one conversation, and where to go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Page {
    /// Newest first.
    pub messages: Vec<Message>,
    /// Pass back as `before` for the next (older) page; None once the conversation's start is reached.
    #[cfg_attr(feature = "ts", ts(as = "Option<String>"))]
    pub next: Option<Cursor>,
}

/// Marks around matched terms in [`SearchHit::snippet`]. Control characters rather than markup,
/// so the UI can split on them and render everything else as plain text: a message body can
/// never inject HTML into the results view.
pub const SNIPPET_MATCH_START: char = '\u{2}';
/// See [`SNIPPET_MATCH_START`].
pub const SNIPPET_MATCH_END: char = '\u{3}';
/// Stands for text cut from either end of a snippet.
pub const SNIPPET_ELLIPSIS: &str = "…";

/// A message found by a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The whole message.
    pub message: Message,
    /// The body around the match, matched terms wrapped in [`SNIPPET_MATCH_START`] and
    /// [`SNIPPET_MATCH_END`].
    pub snippet: String,
}
