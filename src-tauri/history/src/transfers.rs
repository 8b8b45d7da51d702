//! File transfers: the file a message carries, and how far its bytes have come. Both sides keep
//! a row per transfer (keyed by the message id), so a restart on either side resumes rather
//! than starts over, and a file message browses offline like any other.
//!
//! A finished transfer (`complete`, `declined`, `cancelled`, `failed`) never changes again: the
//! guard is in every update, so a late or hostile state frame cannot revive or overwrite it.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::types::{Direction, Message, SearchHit};
use super::{now_ms, History, HistoryError};

/// Where a transfer is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum TransferState {
    /// Accepted (or offered, on the sender), waiting until both devices are online and it is
    /// its turn.
    Waiting,
    /// Over the receiver's auto-accept size: waiting for the person to accept or decline.
    AwaitingAccept,
    /// Bytes are moving.
    Transferring,
    /// Stopped on the receiver by something the person must fix (full disk, missing download
    /// folder); the partial file is kept and Resume continues it.
    Paused,
    /// Every byte arrived and matched the sender's SHA-256.
    Complete,
    /// The receiver declined it.
    Declined,
    /// Either person cancelled it.
    Cancelled,
    /// It cannot complete (`error` says why).
    Failed,
}

impl TransferState {
    /// The name it is stored and sent under.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Waiting => "waiting",
            TransferState::AwaitingAccept => "awaiting-accept",
            TransferState::Transferring => "transferring",
            TransferState::Paused => "paused",
            TransferState::Complete => "complete",
            TransferState::Declined => "declined",
            TransferState::Cancelled => "cancelled",
            TransferState::Failed => "failed",
        }
    }

    /// Parses [`TransferState::as_str`].
    pub fn parse(s: &str) -> Option<TransferState> {
        Some(match s {
            "waiting" => TransferState::Waiting,
            "awaiting-accept" => TransferState::AwaitingAccept,
            "transferring" => TransferState::Transferring,
            "paused" => TransferState::Paused,
            "complete" => TransferState::Complete,
            "declined" => TransferState::Declined,
            "cancelled" => TransferState::Cancelled,
            "failed" => TransferState::Failed,
            _ => return None,
        })
    }

    /// Whether the transfer is over for good.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TransferState::Complete | TransferState::Declined | TransferState::Cancelled | TransferState::Failed
        )
    }
}

/// The file a message carries, as both people see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileTransfer {
    /// The file's name: the sender's own, or on the receiver the offered one made safe.
    pub name: String,
    /// Bytes.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub size: u64,
    /// The sender's MIME type (a hint; previews never trust it).
    pub mime: String,
    /// Lowercase hex SHA-256 of the whole file, from the offer.
    pub sha256: String,
    /// Image dimensions, when it is a picture.
    pub width: Option<u32>,
    /// See `width`.
    pub height: Option<u32>,
    /// A small JPEG preview, base64 (made by the sender; re-encoded by the receiver).
    pub thumbnail: Option<String>,
    /// Where it is.
    pub state: TransferState,
    /// Bytes the receiver has durably stored (what a resume starts from).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes_done: u64,
    /// Why it failed or paused: a code from `docs/file-protocol.md`.
    pub error: Option<String>,
    /// The sender's file, or where the receiver saved it once complete.
    pub path: Option<String>,
    /// `path` no longer exists (moved or deleted since).
    pub missing: bool,
}

/// A transfer to store with its message ([`crate::NewMessage::with_file`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFile {
    /// See [`FileTransfer::name`].
    pub name: String,
    /// See [`FileTransfer::size`].
    pub size: u64,
    /// See [`FileTransfer::mime`].
    pub mime: String,
    /// See [`FileTransfer::sha256`].
    pub sha256: String,
    /// See [`FileTransfer::width`].
    pub width: Option<u32>,
    /// See [`FileTransfer::height`].
    pub height: Option<u32>,
    /// The preview's JPEG bytes.
    pub thumbnail: Option<Vec<u8>>,
    /// The state it starts in.
    pub state: TransferState,
    /// Sender: the file offered.
    pub path: Option<String>,
    /// Sender: the file's size and modification time (ns) when offered, to notice a change.
    pub source_stamp: Option<(u64, i64)>,
}

/// Everything stored about one transfer, for the engine that moves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    /// The message id.
    pub id: String,
    /// The other person.
    pub conversation_id: String,
    /// Sending or receiving.
    pub direction: Direction,
    /// What both people see.
    pub file: FileTransfer,
    /// See [`NewFile::source_stamp`].
    pub source_stamp: Option<(u64, i64)>,
    /// Receiver: where the verified file is being moved ([`History::set_transfer_placing`]).
    pub placing: Option<String>,
}

const FINAL_STATES: &str = "('complete','declined','cancelled','failed')";

fn file_from_row(row: &Row<'_>, offset: usize) -> rusqlite::Result<FileTransfer> {
    let state: String = row.get(offset + 7)?;
    let thumbnail: Option<Vec<u8>> = row.get(offset + 6)?;
    let path: Option<String> = row.get(offset + 10)?;
    let state = TransferState::parse(&state).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            offset + 7,
            rusqlite::types::Type::Text,
            format!("transfer state {state} is not known").into(),
        )
    })?;
    // A stat per file message shown: what makes a moved or deleted file show as missing
    // instead of an Open that fails.
    let missing = path.as_deref().is_some_and(|p| !Path::new(p).exists());
    Ok(FileTransfer {
        name: row.get(offset)?,
        size: row.get::<_, i64>(offset + 1)? as u64,
        mime: row.get(offset + 2)?,
        sha256: row.get(offset + 3)?,
        width: row.get(offset + 4)?,
        height: row.get(offset + 5)?,
        thumbnail: thumbnail.map(|t| base64_encode(&t)),
        state,
        bytes_done: row.get::<_, i64>(offset + 8)? as u64,
        error: row.get(offset + 9)?,
        path,
        missing,
    })
}

const FILE_COLUMNS: &str = "name, size, mime, sha256, width, height, thumbnail, state, bytes_done, error, path";

fn record_from_row(row: &Row<'_>) -> rusqlite::Result<TransferRecord> {
    let outgoing: bool = row.get(2)?;
    let size: Option<i64> = row.get(3)?;
    let mtime: Option<i64> = row.get(4)?;
    let placing: Option<String> = row.get(5)?;
    Ok(TransferRecord {
        id: row.get(0)?,
        conversation_id: row.get(1)?,
        direction: if outgoing {
            Direction::Outgoing
        } else {
            Direction::Incoming
        },
        source_stamp: size.zip(mtime).map(|(s, m)| (s as u64, m)),
        placing,
        file: file_from_row(row, 6)?,
    })
}

fn record_sql(filter: &str) -> String {
    format!(
        "SELECT id, conversation_id, outgoing, source_size, source_mtime, placing, {FILE_COLUMNS} FROM transfers WHERE {filter}"
    )
}

/// Stores the transfer of a message just inserted (same transaction).
pub(crate) fn insert(
    conn: &Connection,
    message: &Message,
    file: &NewFile,
    now: i64,
) -> Result<FileTransfer, HistoryError> {
    conn.prepare_cached(
        "INSERT INTO transfers (id, conversation_id, outgoing, name, size, mime, sha256, width, height, thumbnail,
                                state, bytes_done, path, source_size, source_mtime, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        message.id,
        message.conversation_id,
        message.direction == Direction::Outgoing,
        file.name,
        file.size as i64,
        file.mime,
        file.sha256,
        file.width,
        file.height,
        file.thumbnail,
        file.state.as_str(),
        file.path,
        file.source_stamp.map(|(s, _)| s as i64),
        file.source_stamp.map(|(_, m)| m),
        now,
    ])?;
    Ok(FileTransfer {
        name: file.name.clone(),
        size: file.size,
        mime: file.mime.clone(),
        sha256: file.sha256.clone(),
        width: file.width,
        height: file.height,
        thumbnail: file.thumbnail.as_deref().map(base64_encode),
        state: file.state,
        bytes_done: 0,
        error: None,
        path: file.path.clone(),
        missing: false,
    })
}

/// The transfers of the messages `ids` that are file messages (one query).
fn files_for<'a>(
    conn: &Connection,
    ids: impl ExactSizeIterator<Item = &'a String>,
) -> Result<HashMap<String, FileTransfer>, HistoryError> {
    let mut files = HashMap::new();
    if ids.len() == 0 {
        return Ok(files);
    }
    let sql = format!(
        "SELECT id, {FILE_COLUMNS} FROM transfers WHERE id IN ({})",
        vec!["?"; ids.len()].join(",")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(ids), |row| {
        Ok((row.get::<_, String>(0)?, file_from_row(row, 1)?))
    })?;
    for row in rows {
        let (id, file) = row?;
        files.insert(id, file);
    }
    Ok(files)
}

/// Adds the transfers of a page's file messages.
pub(crate) fn decorate(conn: &Connection, messages: &mut [Message]) -> Result<(), HistoryError> {
    let mut files = files_for(conn, messages.iter().map(|m| &m.id))?;
    for message in messages.iter_mut() {
        message.file = files.remove(&message.id);
    }
    super::calls::decorate(conn, messages)
}

/// [`decorate`] for search results: a file message is found by its name and shown as a file.
pub(crate) fn decorate_hits(conn: &Connection, hits: &mut [SearchHit]) -> Result<(), HistoryError> {
    let mut files = files_for(conn, hits.iter().map(|h| &h.message.id))?;
    for hit in hits.iter_mut() {
        hit.message.file = files.remove(&hit.message.id);
    }
    super::calls::decorate_hits(conn, hits)
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decorated(conn: &Connection, id: &str) -> Result<Option<Message>, HistoryError> {
    let Some(mut found) = super::store::message(conn, id)? else {
        return Ok(None);
    };
    super::actions::decorate(conn, std::slice::from_mut(&mut found))?;
    Ok(Some(found))
}

impl History {
    /// Everything stored about transfer `id`.
    pub async fn transfer(&self, id: &str) -> Result<Option<TransferRecord>, HistoryError> {
        let id = id.to_owned();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(&record_sql("id = ?1"))?
                .query_row([id], record_from_row)
                .optional()?)
        })
        .await
    }

    /// Transfers from or to `conversation_id` that are not finished, oldest first.
    pub async fn unfinished_transfers(
        &self,
        conversation_id: &str,
        direction: Direction,
    ) -> Result<Vec<TransferRecord>, HistoryError> {
        let conversation_id = conversation_id.to_owned();
        self.read(move |conn| {
            let sql = record_sql(&format!(
                "conversation_id = ?1 AND outgoing = ?2 AND state NOT IN {FINAL_STATES} ORDER BY rowid"
            ));
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(
                params![conversation_id, direction == Direction::Outgoing],
                record_from_row,
            )?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Moves transfer `id` of `conversation_id` (in `direction`) to `state`, unless it is
    /// finished or not in one of `from` (any unfinished state when empty). `error` replaces the
    /// stored code. Returns the message, decorated, when something changed.
    pub async fn set_transfer_state(
        &self,
        conversation_id: &str,
        id: &str,
        direction: Direction,
        from: &[TransferState],
        state: TransferState,
        error: Option<&str>,
    ) -> Result<Option<Message>, HistoryError> {
        let (conversation_id, id, error) = (conversation_id.to_owned(), id.to_owned(), error.map(str::to_owned));
        let from: Vec<&'static str> = from.iter().map(|s| s.as_str()).collect();
        self.write(move |conn| {
            let allowed = if from.is_empty() {
                String::new()
            } else {
                format!(
                    " AND state IN ({})",
                    from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(",")
                )
            };
            let sql = format!(
                "UPDATE transfers SET state = ?1, error = ?2, updated_at = ?3
                 WHERE id = ?4 AND conversation_id = ?5 AND outgoing = ?6 AND state NOT IN {FINAL_STATES}{allowed}"
            );
            let changed = conn.prepare_cached(&sql)?.execute(params![
                state.as_str(),
                error,
                now_ms(),
                id,
                conversation_id,
                direction == Direction::Outgoing
            ])?;
            if changed == 0 {
                return Ok(None);
            }
            decorated(conn, &id)
        })
        .await
    }

    /// Records that the receiver has `bytes_done` bytes of transfer `id` durably stored (or,
    /// on the sender, that it said so).
    pub async fn set_transfer_progress(&self, id: &str, bytes_done: u64) -> Result<(), HistoryError> {
        let id = id.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "UPDATE transfers SET bytes_done = ?1, updated_at = ?2 WHERE id = ?3 AND state NOT IN {FINAL_STATES}"
            ))?
            .execute(params![bytes_done as i64, now_ms(), id])?;
            Ok(())
        })
        .await
    }

    /// The receiver is about to move verified transfer `id` to `path` (a name it reserved
    /// there): recorded first, so a restart before [`History::complete_transfer`] finishes that
    /// move rather than starting over.
    pub async fn set_transfer_placing(&self, id: &str, path: &str) -> Result<(), HistoryError> {
        let (id, path) = (id.to_owned(), path.to_owned());
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "UPDATE transfers SET placing = ?1, updated_at = ?2 WHERE id = ?3 AND state NOT IN {FINAL_STATES}"
            ))?
            .execute(params![path, now_ms(), id])?;
            Ok(())
        })
        .await
    }

    /// The receiver verified and saved transfer `id` at `path`: complete. In the same
    /// transaction `tell` (an action id and frame) joins the outbox to `conversation_id`, so
    /// the sender is told even if the app stops right after.
    pub async fn complete_transfer(
        &self,
        id: &str,
        path: &str,
        size: u64,
        tell: (&str, &str),
    ) -> Result<Option<Message>, HistoryError> {
        let (id, path) = (id.to_owned(), path.to_owned());
        let (action_id, frame) = (tell.0.to_owned(), tell.1.to_owned());
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let changed = tx
                .prepare_cached(&format!(
                    "UPDATE transfers SET state = 'complete', error = NULL, path = ?1, placing = NULL,
                                          bytes_done = ?2, updated_at = ?3
                     WHERE id = ?4 AND state NOT IN {FINAL_STATES}"
                ))?
                .execute(params![path, size as i64, now_ms(), id])?;
            if changed == 0 {
                return Ok(None);
            }
            let conversation_id: String =
                tx.query_row("SELECT conversation_id FROM transfers WHERE id = ?1", [&id], |row| {
                    row.get(0)
                })?;
            super::actions::queue(&tx, &conversation_id, &action_id, &frame)?;
            let message = decorated(&tx, &id)?;
            tx.commit()?;
            Ok(message)
        })
        .await
    }

    /// After a restart nothing is moving: running transfers go back to waiting.
    pub async fn reset_running_transfers(&self) -> Result<usize, HistoryError> {
        self.write(|conn| {
            Ok(conn
                .prepare_cached("UPDATE transfers SET state = 'waiting' WHERE state = 'transferring'")?
                .execute([])?)
        })
        .await
    }

    /// Unfinished incoming transfers from `conversation_id` (the flood guard's count).
    pub async fn count_unfinished_incoming(&self, conversation_id: &str) -> Result<usize, HistoryError> {
        let conversation_id = conversation_id.to_owned();
        self.read(move |conn| {
            let n: i64 = conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM transfers WHERE conversation_id = ?1 AND outgoing = 0
                     AND state NOT IN {FINAL_STATES}"
                ))?
                .query_row([conversation_id], |row| row.get(0))?;
            Ok(n as usize)
        })
        .await
    }
}
