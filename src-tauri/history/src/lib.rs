//! Parley's on-device message history: one SQLite database per profile holding conversations,
//! messages and their delivery state, with full-text search. Everything is local, so the history
//! opens, pages and searches with no network at all.
//!
//! Messages are ordered by `seq`, the local insertion order, never by the sender's clock: peers'
//! clocks disagree, and a message resent after a reconnect belongs where it arrived. Pages and
//! searches use keyset cursors on `seq`, so their cost does not grow with depth and concurrent
//! inserts cannot make a pager skip or repeat messages.
//!
//! SQLite is blocking, so every method runs on tokio's blocking pool. Writes go through one
//! connection; reads (pages, search, lists) use separate read connections, which WAL lets run
//! alongside a write: a long search never delays storing an arriving message.

#![warn(missing_docs, unreachable_pub)]

mod actions;
mod calls;
mod checkpoint;
mod contacts;
mod encryption;
mod identities;
mod query;
mod schema;
mod store;
mod transfers;
mod types;

use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};

pub use actions::PendingAction;
pub use calls::{CallOutcome, CallRecord};
pub use encryption::{encrypt_plaintext, is_plaintext, HistoryKey, InvalidKey};
pub use identities::{IdentityCheck, Observation, PinnedIdentity};
pub use store::MAX_PAGE;
pub use transfers::{FileTransfer, NewFile, TransferRecord, TransferState};

use encryption::Encryption;
pub use types::{
    Conversation, Cursor, DeliveryState, Direction, InsertOutcome, InvalidCursor, Message, NewMessage, Page, Reaction,
    ReplyPreview, SearchHit, SNIPPET_ELLIPSIS, SNIPPET_MATCH_END, SNIPPET_MATCH_START,
};

/// Why the history could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// SQLite failed.
    #[error("history database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database's directory could not be created.
    #[error("cannot create history directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Written by a newer Parley.
    #[error("history database has schema version {found}; this build of Parley supports up to {supported}")]
    UnsupportedSchema {
        /// The database's schema version.
        found: i64,
        /// The newest this build reads.
        supported: i64,
    },
    /// An outgoing message with an id already stored.
    #[error("message id {0} is already stored")]
    DuplicateId(String),
    /// The history is encrypted and this key does not open it.
    #[error("the history at {path} cannot be opened with this key")]
    WrongKey {
        /// The database file.
        path: PathBuf,
    },
    /// The history is not encrypted yet: encrypt it first ([`encrypt_plaintext`]).
    #[error("the history at {path} is not encrypted yet")]
    Plaintext {
        /// The database file.
        path: PathBuf,
    },
    /// This build's SQLite cannot encrypt: refusing to keep messages in plain text.
    #[error("this build of Parley cannot encrypt its history (SQLCipher is missing), so it stores none")]
    CannotEncrypt,
    /// A file of the history could not be written, synced or renamed.
    #[error("history file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The blocking task running the query failed.
    #[error("history task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A stored record this build cannot read.
    #[error("history database holds a record this build cannot read: {0}")]
    Corrupt(String),
    /// The background checkpoint thread did not start.
    #[error("cannot start the history checkpoint thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Two readers let a page load while a slow search runs; more would mostly add memory, since
/// the machine's cores are shared with the UI and networking.
const READERS: usize = 2;

/// The message history of one profile. Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct History {
    inner: Arc<Inner>,
}

struct Inner {
    /// Checkpoints the WAL in the background; None in memory or when WAL is unavailable, where
    /// SQLite's own (automatic) checkpointing stays on.
    checkpointer: Option<checkpoint::Checkpointer>,
    /// Empty for in-memory databases, whose data a second connection could not see.
    /// Declared before `writer` so readers close first: the last connection to close checkpoints
    /// and removes the WAL, which a read-only connection cannot do, leaving the next start to
    /// replay it.
    readers: Vec<Mutex<Connection>>,
    /// Shared with the checkpoint thread, which briefly takes it to restart an oversized WAL.
    writer: Arc<Mutex<Connection>>,
    next_reader: AtomicUsize,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    /// A clean close leaves no WAL behind: stop the background checkpoints, then copy everything
    /// back and truncate the WAL (the last connection to close then deletes it).
    fn drop(&mut self) {
        if self.checkpointer.take().is_some() {
            if let Err(e) = checkpoint::checkpoint(&self.writer.lock(), "TRUNCATE") {
                tracing::debug!(error = %e, "final history checkpoint failed");
            }
        }
    }
}

/// Now on the clock the history stamps with: Unix milliseconds (0 before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl History {
    /// Opens (creating if needed) the history database at `path`, encrypted with `key`, and
    /// brings its schema up to date. A plaintext database is refused ([`HistoryError::Plaintext`]:
    /// encrypt it first), as is the wrong key ([`HistoryError::WrongKey`], the file untouched).
    /// Blocking: call it from a blocking context, or at start-up before the runtime is busy.
    pub fn open(path: &Path, key: &HistoryKey) -> Result<History, HistoryError> {
        History::open_with(path, Encryption::Key(key.clone()))
    }

    /// A history kept in plain text: the control runs of the tests and the benchmark only.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn open_unencrypted(path: &Path) -> Result<History, HistoryError> {
        History::open_with(path, Encryption::None)
    }

    fn open_with(path: &Path, encryption: Encryption) -> Result<History, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer = encryption::connect(path, flags, &encryption)?;
        let wal = schema::configure_writer(&writer, true)?;
        schema::migrate(&mut writer)?;
        let writer = Arc::new(Mutex::new(writer));
        let checkpointer = if wal {
            // From here on commits never checkpoint (nor fsync) inline; the thread does.
            checkpoint::install_wal_hook(&writer.lock())?;
            Some(checkpoint::Checkpointer::start(path, &encryption, writer.clone())?)
        } else {
            None
        };
        let readers = (0..READERS)
            .map(|_| {
                // Read-only at the SQLite level: a bug in a read path cannot write.
                let reader = encryption::connect(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    &encryption,
                )?;
                schema::configure_reader(&reader)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<Vec<_>, HistoryError>>()?;
        tracing::debug!(path = %path.display(), "history opened");
        Ok(History::from_parts(
            writer,
            readers,
            checkpointer,
            Some(path.to_owned()),
        ))
    }

    /// A plain SQLite connection to the history at `path`, unlocked with `key` (none for a
    /// plaintext one): for tests and the benchmark to reach behind the history's back.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn raw_connection(path: &Path, key: Option<&HistoryKey>) -> Result<Connection, HistoryError> {
        let encryption = key.map_or(Encryption::None, |key| Encryption::Key(key.clone()));
        encryption::connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE, &encryption)
    }

    /// A history that lives only as long as this value and its clones; for tests and guests.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn open_in_memory() -> Result<History, HistoryError> {
        let mut writer = Connection::open_in_memory()?;
        schema::configure_writer(&writer, false)?;
        schema::migrate(&mut writer)?;
        Ok(History::from_parts(
            Arc::new(Mutex::new(writer)),
            Vec::new(),
            None,
            None,
        ))
    }

    fn from_parts(
        writer: Arc<Mutex<Connection>>,
        readers: Vec<Mutex<Connection>>,
        checkpointer: Option<checkpoint::Checkpointer>,
        path: Option<PathBuf>,
    ) -> History {
        History {
            inner: Arc::new(Inner {
                checkpointer,
                writer,
                readers,
                next_reader: AtomicUsize::new(0),
                path,
            }),
        }
    }

    /// The database file, or None in memory.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    async fn write<T, F>(&self, f: F) -> Result<T, HistoryError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, HistoryError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut writer = inner.writer.lock();
            match &inner.checkpointer {
                Some(checkpointer) => checkpointer.write(&mut writer, f),
                None => f(&mut writer),
            }
        })
        .await?
    }

    async fn read<T, F>(&self, f: F) -> Result<T, HistoryError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, HistoryError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            if inner.readers.is_empty() {
                return f(&inner.writer.lock());
            }
            // Take any idle reader; if all are busy, queue on one in turn.
            for reader in &inner.readers {
                if let Some(conn) = reader.try_lock() {
                    return f(&conn);
                }
            }
            let turn = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            f(&inner.readers[turn].lock())
        })
        .await?
    }

    /// Creates the conversation with the remote user `id`, or renames it.
    pub async fn upsert_conversation(&self, id: &str, title: &str) -> Result<Conversation, HistoryError> {
        let (id, title) = (id.to_owned(), title.to_owned());
        self.write(move |conn| store::upsert_conversation(conn, &id, &title, now_ms()))
            .await
    }

    /// The conversation with the remote user `id`, if there is one.
    pub async fn conversation(&self, id: &str) -> Result<Option<Conversation>, HistoryError> {
        let id = id.to_owned();
        self.read(move |conn| store::conversation(conn, &id)).await
    }

    /// All conversations, most recent activity first.
    pub async fn conversations(&self) -> Result<Vec<Conversation>, HistoryError> {
        self.read(store::conversations).await
    }

    /// Stores a message the user just wrote, as Pending: it stays in the outbox
    /// ([`History::unacknowledged_outgoing`]) until the recipient acknowledges it.
    /// Fails with [`HistoryError::DuplicateId`] if `id` is already stored.
    #[cfg(any(test, feature = "test-utils"))]
    pub async fn insert_outgoing(
        &self,
        conversation_id: &str,
        id: &str,
        sender_id: &str,
        body: &str,
        sent_at: i64,
    ) -> Result<Message, HistoryError> {
        let new = NewMessage::outgoing(conversation_id, id, sender_id, body, sent_at);
        match self.insert_one(new).await? {
            InsertOutcome::Inserted(message) => Ok(message),
            InsertOutcome::Duplicate(message) => Err(HistoryError::DuplicateId(message.id)),
        }
    }

    /// Stores a message from a peer, unless its id was seen before: a resent message is reported
    /// as [`InsertOutcome::Duplicate`] (acknowledge it again, don't show it again).
    #[cfg(any(test, feature = "test-utils"))]
    pub async fn insert_incoming(
        &self,
        conversation_id: &str,
        id: &str,
        sender_id: &str,
        body: &str,
        sent_at: i64,
        received_at: i64,
    ) -> Result<InsertOutcome, HistoryError> {
        self.insert_one(NewMessage::incoming(
            conversation_id,
            id,
            sender_id,
            body,
            sent_at,
            received_at,
        ))
        .await
    }

    #[cfg(any(test, feature = "test-utils"))]
    async fn insert_one(&self, new: NewMessage) -> Result<InsertOutcome, HistoryError> {
        let mut outcomes = self
            .write(move |conn| store::insert_many(conn, &[new], None, now_ms()))
            .await?;
        Ok(outcomes.pop().expect("one outcome per message"))
    }

    /// Stores one message (same rules as [`History::insert_many`]) and, in the same transaction,
    /// creates its conversation titled `title` or renames it: one commit where
    /// [`History::upsert_conversation`] then an insert take two.
    pub async fn insert_titled(&self, new: NewMessage, title: &str) -> Result<InsertOutcome, HistoryError> {
        let title = title.to_owned();
        let mut outcomes = self
            .write(move |conn| {
                let conversation = Some((new.conversation_id.as_str(), title.as_str()));
                store::insert_many(conn, std::slice::from_ref(&new), conversation, now_ms())
            })
            .await?;
        Ok(outcomes.pop().expect("one outcome per message"))
    }

    /// Stores a batch in one transaction, with the same rules as the single inserts (outgoing
    /// messages start Pending, incoming Received, known ids are Duplicates). Outcomes are in
    /// input order.
    #[cfg(any(test, feature = "test-utils"))]
    pub async fn insert_many(&self, messages: Vec<NewMessage>) -> Result<Vec<InsertOutcome>, HistoryError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        self.write(move |conn| store::insert_many(conn, &messages, None, now_ms()))
            .await
    }

    /// Moves message `id` forward to `state`. Returns the updated message, or None when nothing
    /// changed: unknown id, a state not ahead of the current one, or a state that does not apply
    /// to the message's direction.
    #[cfg(any(test, feature = "test-utils"))]
    pub async fn advance_state(&self, id: &str, state: DeliveryState) -> Result<Option<Message>, HistoryError> {
        let id = id.to_owned();
        self.write(move |conn| store::advance_state(conn, &id, state)).await
    }

    /// [`History::insert_titled`] for a message the user just wrote (fails with
    /// [`HistoryError::DuplicateId`] if its id is stored), also telling whether it is the only
    /// message of its conversation never handed to a channel: no older outgoing message there is
    /// still Pending. Then sending just this one is enough to flush the outbox; otherwise the
    /// older ones go first ([`History::unacknowledged_outgoing`]).
    pub async fn insert_outgoing_titled(&self, new: NewMessage, title: &str) -> Result<(Message, bool), HistoryError> {
        debug_assert_eq!(new.direction, Direction::Outgoing);
        let title = title.to_owned();
        self.write(move |conn| {
            let conversation = Some((new.conversation_id.as_str(), title.as_str()));
            let outcome = store::insert_many(conn, std::slice::from_ref(&new), conversation, now_ms())?
                .pop()
                .expect("one outcome per message");
            let message = match outcome {
                InsertOutcome::Inserted(message) => message,
                InsertOutcome::Duplicate(message) => return Err(HistoryError::DuplicateId(message.id)),
            };
            // Right after the commit, on the writer: nothing can have been inserted in between.
            let alone = !store::pending_before(conn, &message.conversation_id, message.seq)?;
            Ok((message, alone))
        })
        .await
    }

    /// [`History::advance_state`] for one of our messages in conversation `conversation_id`
    /// only; None as well when `id` is incoming or belongs to another conversation. Checking who
    /// may move a message and moving it are one statement, for receipts from peers.
    pub async fn advance_outgoing_state(
        &self,
        conversation_id: &str,
        id: &str,
        state: DeliveryState,
    ) -> Result<Option<Message>, HistoryError> {
        let (conversation_id, id) = (conversation_id.to_owned(), id.to_owned());
        self.write(move |conn| store::advance_outgoing_state(conn, &conversation_id, &id, state))
            .await
    }

    /// The outbox: outgoing messages not yet delivered (Pending or Sent), oldest first, in one
    /// conversation or all of them. Survives restarts, since it is just a query.
    pub async fn unacknowledged_outgoing(&self, conversation_id: Option<&str>) -> Result<Vec<Message>, HistoryError> {
        let conversation_id = conversation_id.map(str::to_owned);
        self.read(move |conn| {
            let mut messages = store::unacknowledged_outgoing(conn, conversation_id.as_deref())?;
            // File messages carry their offer.
            transfers::decorate(conn, &mut messages)?;
            Ok(messages)
        })
        .await
    }

    /// Marks every unread incoming message of the conversation read and returns their ids,
    /// oldest first, for the read receipts.
    pub async fn mark_conversation_read(&self, conversation_id: &str) -> Result<Vec<String>, HistoryError> {
        let conversation_id = conversation_id.to_owned();
        self.write(move |conn| store::mark_conversation_read(conn, &conversation_id))
            .await
    }

    /// Up to `limit` (1..=[`MAX_PAGE`]) messages older than `before` (the newest when None),
    /// newest first.
    pub async fn page(
        &self,
        conversation_id: &str,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Page, HistoryError> {
        let conversation_id = conversation_id.to_owned();
        self.read(move |conn| {
            let mut page = store::page(conn, &conversation_id, before, limit)?;
            actions::decorate(conn, &mut page.messages)?;
            Ok(page)
        })
        .await
    }

    /// Up to `limit` messages newer than `after`, **oldest first**; `next` continues forward.
    /// With [`History::page`] this opens a conversation around any message (a search hit).
    pub async fn page_after(&self, conversation_id: &str, after: Cursor, limit: usize) -> Result<Page, HistoryError> {
        let conversation_id = conversation_id.to_owned();
        self.read(move |conn| {
            let mut page = store::page_after(conn, &conversation_id, after, limit)?;
            actions::decorate(conn, &mut page.messages)?;
            Ok(page)
        })
        .await
    }

    /// Messages containing every word of `query` (the last word as a prefix, unless followed by
    /// a space), newest first, older than `before`. Any string is a valid query; one with no
    /// letters or digits finds nothing. Continue with `before: Some(last_hit.message.cursor())`.
    pub async fn search(
        &self,
        query: &str,
        limit: usize,
        before: Option<Cursor>,
    ) -> Result<Vec<SearchHit>, HistoryError> {
        let query = query.to_owned();
        self.read(move |conn| {
            let mut hits = store::search(conn, None, &query, limit, before)?;
            transfers::decorate_hits(conn, &mut hits)?;
            Ok(hits)
        })
        .await
    }

    /// [`History::search`] within one conversation.
    pub async fn search_in(
        &self,
        conversation_id: &str,
        query: &str,
        limit: usize,
        before: Option<Cursor>,
    ) -> Result<Vec<SearchHit>, HistoryError> {
        let (conversation_id, query) = (conversation_id.to_owned(), query.to_owned());
        self.read(move |conn| {
            let mut hits = store::search(conn, Some(&conversation_id), &query, limit, before)?;
            transfers::decorate_hits(conn, &mut hits)?;
            Ok(hits)
        })
        .await
    }

    /// Deletes every conversation, message, contact and pinned identity (and the search index) and shrinks the
    /// file, so not even encrypted pages of them are left: what signing out with "delete my
    /// history on this device" does. The database stays, empty, with its key.
    pub async fn delete_everything(&self) -> Result<(), HistoryError> {
        self.write(|conn| {
            conn.execute_batch(
                "DELETE FROM reactions; DELETE FROM messages; DELETE FROM conversations; DELETE FROM contacts;
                 DELETE FROM identities; DELETE FROM pending_actions; DELETE FROM avatars;
                 INSERT INTO messages_fts(messages_fts) VALUES ('optimize');
                 VACUUM;
                 PRAGMA wal_checkpoint(TRUNCATE);",
            )?;
            Ok(())
        })
        .await
    }

    /// One message by id.
    pub async fn message(&self, id: &str) -> Result<Option<Message>, HistoryError> {
        let id = id.to_owned();
        self.read(move |conn| {
            let mut found = store::message(conn, &id)?;
            if let Some(message) = found.as_mut() {
                actions::decorate(conn, std::slice::from_mut(message))?;
            }
            Ok(found)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn test_key() -> HistoryKey {
        HistoryKey::from_bytes([7; 32])
    }

    /// A connection of the test's own, unlocked like the history's.
    fn raw(path: &Path) -> Connection {
        encryption::connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE, &Encryption::Key(test_key())).unwrap()
    }

    /// FTS5 compares every index entry against the content table (rank 1 = also check content).
    fn index_matches_table(h: &History) -> Result<(), rusqlite::Error> {
        h.inner.writer.lock().execute(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )?;
        Ok(())
    }

    #[tokio::test]
    async fn the_search_index_follows_inserts_duplicates_edits_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite3"), &test_key()).unwrap();
        let batch = (0..500)
            .map(|i| NewMessage::incoming("bob", &format!("m{}", i % 400), "bob", &format!("word{i} shared"), 0, 0))
            .collect();
        h.insert_many(batch).await.unwrap();
        h.insert_outgoing("carol", "o1", "me", "single path", 0).await.unwrap();
        h.advance_state("o1", DeliveryState::Sent).await.unwrap().unwrap();
        h.mark_conversation_read("bob").await.unwrap();
        index_matches_table(&h).unwrap();
        assert_eq!(h.search("shared", MAX_PAGE, None).await.unwrap().len(), 400);

        {
            let conn = h.inner.writer.lock();
            conn.execute("UPDATE messages SET body = 'edited text' WHERE id = 'm7'", [])
                .unwrap();
            conn.execute("DELETE FROM conversations WHERE id = 'carol'", [])
                .unwrap();
        }
        index_matches_table(&h).unwrap();
        assert_eq!(h.search("edited", 10, None).await.unwrap()[0].message.id, "m7");
        assert!(h.search("word7 ", 10, None).await.unwrap().is_empty());
        assert!(
            h.search("single", 10, None).await.unwrap().is_empty(),
            "cascade delete left the index"
        );
        assert_eq!(h.message("o1").await.unwrap(), None);

        // The check itself must be able to fail: corrupt the index behind the table's back.
        h.inner
            .writer
            .lock()
            .execute("DELETE FROM messages_fts_data WHERE id > 10", [])
            .unwrap();
        assert!(index_matches_table(&h).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clones_write_and_read_concurrently() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite3"), &test_key()).unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|t| {
                let h = h.clone();
                tokio::spawn(async move {
                    for i in 0..50 {
                        let id = format!("t{t}-{i}");
                        // Every message twice, racing with the other tasks: still stored once.
                        h.insert_incoming(&format!("peer{}", t % 3), &id, "x", "racing words", 0, 0)
                            .await
                            .unwrap();
                        h.insert_incoming(&format!("peer{}", t % 3), &id, "x", "racing words", 0, 0)
                            .await
                            .unwrap();
                        h.search("racing", 5, None).await.unwrap();
                        h.conversations().await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let unread: u32 = h.conversations().await.unwrap().iter().map(|c| c.unread).sum();
        assert_eq!(unread, 400);
        assert_eq!(h.search("racing", MAX_PAGE, None).await.unwrap().len(), 400);
        index_matches_table(&h).unwrap();
    }

    fn file_len(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    #[tokio::test]
    async fn the_wal_is_checkpointed_in_the_background_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite3");
        let wal = dir.path().join("h.sqlite3-wal");
        const MESSAGES: usize = 3000;
        {
            let h = History::open(&path, &test_key()).unwrap();
            let autocheckpoint: i64 = h
                .inner
                .writer
                .lock()
                .pragma_query_value(None, "wal_autocheckpoint", |row| row.get(0))
                .unwrap();
            assert_eq!(autocheckpoint, 0, "commits must not checkpoint inline");
            let mut max_wal = 0;
            for i in 0..MESSAGES {
                let body = format!("message {i} with a few words to index");
                h.insert_outgoing("bob", &format!("o{i}"), "me", &body, i as i64)
                    .await
                    .unwrap();
                max_wal = max_wal.max(file_len(&wal));
            }
            // Every commit appends its pages to the WAL (about a dozen per message here: table,
            // indexes, full-text segment), some 150 MB in all; with no gap between the writes for
            // a PASSIVE checkpoint to catch up in, only the size limits keep it bounded: the
            // thread's, or failing that (a slow disk) the writer's own. A frame is a page plus
            // its 24-byte header; the last commit may go a little past the limit.
            let limit = (checkpoint::WAL_HARD_LIMIT_FRAMES as u64 + 100) * (4096 + 24);
            assert!(max_wal > 0);
            assert!(max_wal < limit, "WAL grew to {max_wal} bytes over {MESSAGES} messages");
            // Idle: the pending frames reach the database file without any further write.
            tokio::time::sleep(checkpoint::INTERVAL * 4).await;
            let check = raw(&path);
            let (log, done) = checkpoint::checkpoint(&check, "PASSIVE").unwrap();
            assert_eq!(log, done);
            assert!(file_len(&path) > 100 * 4096, "messages never reached the database file");
            drop(check);
            assert_eq!(h.unacknowledged_outgoing(None).await.unwrap().len(), MESSAGES);
        }
        // Closed cleanly: the final TRUNCATE checkpoint leaves no WAL to replay.
        assert_eq!(file_len(&wal), 0);
        let h = History::open(&path, &test_key()).unwrap();
        assert_eq!(h.unacknowledged_outgoing(None).await.unwrap().len(), MESSAGES);
        assert_eq!(h.search("index", MAX_PAGE, None).await.unwrap().len(), MAX_PAGE);
    }

    #[tokio::test]
    async fn reads_see_writes_at_once_on_separate_connections() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite3"), &test_key()).unwrap();
        assert_eq!(h.inner.readers.len(), READERS);
        for i in 0..20 {
            h.insert_outgoing("bob", &format!("o{i}"), "me", "hello", 0)
                .await
                .unwrap();
            assert_eq!(h.page("bob", None, 1).await.unwrap().messages[0].id, format!("o{i}"));
            assert_eq!(h.search("hello", 1, None).await.unwrap()[0].message.id, format!("o{i}"));
        }
        // The read connections cannot write, whatever a bug might send them.
        let reader = h.inner.readers[0].lock();
        assert!(reader.execute("DELETE FROM messages", []).is_err());
    }
}
