use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::HistoryError;

/// Schema migrations, applied in order; `PRAGMA user_version` holds how many have run. Append
/// only: an edited migration would never reach databases that already ran it.
const MIGRATIONS: &[&str] = &[
    // 1: conversations, messages, full-text index.
    r#"
    CREATE TABLE conversations (
        id          TEXT PRIMARY KEY NOT NULL,
        title       TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    );

    -- seq is the rowid: pages and the full-text index key on it. AUTOINCREMENT so a seq is never
    -- reused after a delete, which would let a stale cursor or index entry point at a new message.
    CREATE TABLE messages (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        outgoing        INTEGER NOT NULL CHECK (outgoing IN (0, 1)),
        sender_id       TEXT NOT NULL,
        body            TEXT NOT NULL,
        sent_at         INTEGER NOT NULL,
        received_at     INTEGER,
        -- rank of DeliveryState: 0 pending, 1 sent, 2 delivered/received, 3 read
        state           INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3 AND (outgoing = 1 OR state >= 2)),
        -- The conversation as one full-text token (hex, so any id is a single alphanumeric word),
        -- so a search within a conversation is an index intersection instead of a walk over every
        -- match of a common word in all conversations. Computed, so it costs no storage.
        conversation_token TEXT GENERATED ALWAYS AS ('c' || hex(conversation_id)) VIRTUAL
    );

    CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
    -- Partial indexes stay as small as the outbox and the unread set, not the whole history.
    CREATE INDEX messages_outbox ON messages(seq) WHERE outgoing = 1 AND state < 2;
    CREATE INDEX messages_unread ON messages(conversation_id, seq) WHERE outgoing = 0 AND state = 2;

    -- External content: bodies are stored once, in messages. Prefix indexes make search-as-you-type
    -- ("h", "he", "hel") a single index lookup instead of a merge over every matching term.
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        body,
        conversation_token,
        content = 'messages',
        content_rowid = 'seq',
        tokenize = 'unicode61 remove_diacritics 2',
        prefix = '1 2 3'
    );

    -- No insert trigger: store::insert_many indexes new rows itself, in bulk after the rows, which
    -- an FTS5 write inside a trigger cannot do (see there). Deletes and edits are rare enough for
    -- triggers, which keep them from ever forgetting the index.
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, body, conversation_token)
            VALUES ('delete', old.seq, old.body, old.conversation_token);
    END;
    -- Only on body changes: delivery-state updates must not rewrite the index.
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, conversation_id ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, body, conversation_token)
            VALUES ('delete', old.seq, old.body, old.conversation_token);
        INSERT INTO messages_fts(rowid, body, conversation_token) VALUES (new.seq, new.body, new.conversation_token);
    END;
    "#,
    // 2: the people conversations are with, so names resolve with no network.
    r#"
    CREATE TABLE contacts (
        user_id     TEXT PRIMARY KEY NOT NULL,
        username    TEXT NOT NULL,
        -- The server's user object as last seen (display name, status, avatar URL…).
        user_json   TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE INDEX contacts_by_username ON contacts(username COLLATE NOCASE);
    "#,
    // 3: the identity keys of contacts' devices, pinned on first use (`identities.rs`).
    r#"
    CREATE TABLE identities (
        user_id     TEXT NOT NULL,
        device      TEXT NOT NULL,
        -- The pinned Ed25519 public key, 32 bytes.
        key         BLOB NOT NULL,
        -- A different key this device proved since, waiting for the person to accept it (only
        -- for a verified contact; an unverified one's pin is replaced with a notice).
        pending     BLOB,
        verified    INTEGER NOT NULL DEFAULT 0,
        first_seen  INTEGER NOT NULL,
        last_seen   INTEGER NOT NULL,
        PRIMARY KEY (user_id, device)
    ) WITHOUT ROWID;
    "#,
    // 4: replies, edits, deletions and reactions (`actions.rs`); avatars kept for offline use.
    r#"
    ALTER TABLE messages ADD COLUMN reply_to TEXT;
    ALTER TABLE messages ADD COLUMN edited_at INTEGER;
    -- 0 shown; 1 deleted for everyone (body emptied, the place stays); 2 deleted for me only
    -- (hidden, kept as a tombstone so a resend of the same id is recognised, not stored anew).
    ALTER TABLE messages ADD COLUMN removed INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1, 2));

    CREATE TABLE reactions (
        message_id  TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        user_id     TEXT NOT NULL,
        emoji       TEXT NOT NULL,
        at          INTEGER NOT NULL,
        PRIMARY KEY (message_id, user_id)
    ) WITHOUT ROWID;

    -- Edits, deletions and reactions on their way to the other person: an outbox like the
    -- pending messages, emptied by their acknowledgements.
    CREATE TABLE pending_actions (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL,
        -- The chat frame as sent, JSON.
        frame           TEXT NOT NULL,
        created_at      INTEGER NOT NULL
    );
    CREATE INDEX pending_actions_by_conversation ON pending_actions(conversation_id, seq);

    -- The pictures behind contacts' avatar URLs, so they show after a restart and offline.
    CREATE TABLE avatars (
        user_id     TEXT PRIMARY KEY NOT NULL,
        avatar_url  TEXT NOT NULL,
        bytes       BLOB NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 5: files. One row per file message on each side, so transfers resume after restarts.
    r#"
    CREATE TABLE transfers (
        id              TEXT PRIMARY KEY NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        conversation_id TEXT NOT NULL,
        outgoing        INTEGER NOT NULL CHECK (outgoing IN (0, 1)),
        name            TEXT NOT NULL,
        size            INTEGER NOT NULL CHECK (size >= 0),
        mime            TEXT NOT NULL,
        sha256          TEXT NOT NULL,
        width           INTEGER,
        height          INTEGER,
        -- The preview, JPEG.
        thumbnail       BLOB,
        state           TEXT NOT NULL,
        -- Bytes the receiver has durably written: where a resume starts.
        bytes_done      INTEGER NOT NULL DEFAULT 0,
        error           TEXT,
        -- Sender: the file offered. Receiver: where it was saved, once complete.
        path            TEXT,
        -- Sender: the file's size and modification time when offered, to notice a change.
        source_size     INTEGER,
        source_mtime    INTEGER,
        updated_at      INTEGER NOT NULL
    );
    CREATE INDEX transfers_by_conversation ON transfers(conversation_id, outgoing, state);
    "#,
    // 6: calls, as entries of their conversation (the message row holds who and when).
    r#"
    CREATE TABLE calls (
        id          TEXT PRIMARY KEY NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        video       INTEGER NOT NULL CHECK (video IN (0, 1)),
        outcome     TEXT NOT NULL,
        duration_ms INTEGER CHECK (duration_ms >= 0)
    ) WITHOUT ROWID;
    "#,
    // 7: receiver: the name reserved in the download folder for a verified file while it is
    // moved there, so a restart between the move and `complete` finishes the move instead of
    // receiving the file a second time under another name.
    r#"
    ALTER TABLE transfers ADD COLUMN placing TEXT;
    "#,
];

pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Another process (a second app instance on the same profile) may hold the write lock briefly.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Returns whether the database is in WAL mode.
pub(crate) fn configure_writer(conn: &Connection, wal: bool) -> Result<bool, HistoryError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mut in_wal = false;
    if wal {
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        in_wal = mode.eq_ignore_ascii_case("wal");
        if !in_wal {
            // Some file systems (network mounts) refuse WAL; the history still works, just with
            // readers and the writer taking turns.
            tracing::warn!(mode, "history database is not in WAL mode");
        }
    }
    // NORMAL in WAL mode cannot corrupt the database; a power cut may lose the last commits, which
    // the sender's outbox resends and the duplicate check absorbs.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Message ids are random, so each insert lands on an arbitrary page of the id index; with the
    // default 2 MB cache a large history rereads those pages on every batch.
    conn.pragma_update(None, "cache_size", -32_768)?;
    Ok(in_wal)
}

/// The background checkpoint connection: it only ever runs `PRAGMA wal_checkpoint`.
pub(crate) fn configure_checkpointer(conn: &Connection) -> Result<(), HistoryError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // As on the writer: the checkpoint syncs the WAL, then the database file.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

pub(crate) fn configure_reader(conn: &Connection) -> Result<(), HistoryError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Searches over large doclists reread the same index pages; the default 2 MB cache thrashes.
    conn.pragma_update(None, "cache_size", -32_768)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), HistoryError> {
    // IMMEDIATE takes the write lock before reading the version, so two processes opening the
    // same fresh profile cannot both run migration 1.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if !(0..=SCHEMA_VERSION).contains(&found) {
        return Err(HistoryError::UnsupportedSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        tracing::info!(version, "migrating history database");
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(())
}
