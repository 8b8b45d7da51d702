//! The SQL behind [`super::History`], as plain functions on a connection so they run inside
//! `spawn_blocking` and share transactions.

use std::collections::HashSet;
use std::fmt::Write as _;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::query::fts_query;
use super::types::{
    Conversation, Cursor, DeliveryState, Direction, InsertOutcome, Message, NewMessage, Page, SearchHit,
    SNIPPET_ELLIPSIS, SNIPPET_MATCH_END, SNIPPET_MATCH_START,
};
use super::HistoryError;

/// Columns read by [`message_from_row`], in order, from a `messages` table aliased `m`.
macro_rules! message_columns {
    () => {
        "m.seq, m.id, m.conversation_id, m.outgoing, m.sender_id, m.body, m.sent_at, m.received_at, m.state, \
         m.reply_to, m.edited_at, m.removed"
    };
    // RETURNING clauses do not accept table-qualified names.
    (unqualified) => {
        "seq, id, conversation_id, outgoing, sender_id, body, sent_at, received_at, state, reply_to, edited_at, removed"
    };
}
const MESSAGE_COLUMN_COUNT: usize = 12;

/// Page and search sizes are clamped: zero would make a pager loop forever, and a huge limit
/// would let one call hold the read connection for seconds.
pub const MAX_PAGE: usize = 1000;

fn clamp_limit(limit: usize) -> i64 {
    limit.clamp(1, MAX_PAGE) as i64
}

fn message_from_row(row: &Row<'_>, offset: usize) -> rusqlite::Result<Message> {
    let direction = if row.get::<_, bool>(offset + 3)? {
        Direction::Outgoing
    } else {
        Direction::Incoming
    };
    let rank: i64 = row.get(offset + 8)?;
    let state = DeliveryState::from_rank(direction, rank).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            offset + 8,
            rusqlite::types::Type::Integer,
            format!("delivery state {rank} is not valid for {direction:?}").into(),
        )
    })?;
    Ok(Message {
        seq: row.get(offset)?,
        id: row.get(offset + 1)?,
        conversation_id: row.get(offset + 2)?,
        direction,
        sender_id: row.get(offset + 4)?,
        body: row.get(offset + 5)?,
        sent_at: row.get(offset + 6)?,
        received_at: row.get(offset + 7)?,
        state,
        reply_to: row.get(offset + 9)?,
        edited_at: row.get(offset + 10)?,
        deleted: row.get::<_, i64>(offset + 11)? == 1,
        reactions: Vec::new(),
        reply: None,
        file: None,
        call: None,
    })
}

pub(crate) fn message(conn: &Connection, id: &str) -> Result<Option<Message>, HistoryError> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m WHERE m.id = ?1"
    ))?;
    Ok(stmt.query_row([id], |row| message_from_row(row, 0)).optional()?)
}

/// One message by id, if it belongs to `conversation_id`.
pub(crate) fn message_in(conn: &Connection, conversation_id: &str, id: &str) -> Result<Option<Message>, HistoryError> {
    Ok(message(conn, id)?.filter(|m| m.conversation_id == conversation_id))
}

/// Creates a conversation or renames it. A title change is not activity: updated_at only moves
/// for creation and new messages. An unchanged title matches no row, so nothing is written.
const UPSERT_CONVERSATION: &str = "INSERT INTO conversations (id, title, updated_at) VALUES (?1, ?2, ?3)
     ON CONFLICT (id) DO UPDATE SET title = excluded.title WHERE title IS NOT excluded.title";

pub(crate) fn upsert_conversation(
    conn: &Connection,
    id: &str,
    title: &str,
    now: i64,
) -> Result<Conversation, HistoryError> {
    conn.prepare_cached(UPSERT_CONVERSATION)?
        .execute(params![id, title, now])?;
    conversation(conn, id)?.ok_or_else(|| HistoryError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
}

/// Conversation columns plus its latest message (NULLs when it has none). The latest message is
/// found through `messages_by_conversation` (a MAX over an index prefix is one seek) and the
/// unread count through the partial index, so listing costs O(conversations), not O(messages).
const CONVERSATION_SELECT: &str = concat!(
    "SELECT c.id, c.title, c.updated_at,
            (SELECT COUNT(*) FROM messages u WHERE u.conversation_id = c.id AND u.outgoing = 0 AND u.state = 2),
            ",
    message_columns!(),
    " FROM conversations c
     LEFT JOIN messages m ON m.seq = (SELECT MAX(l.seq) FROM messages l WHERE l.conversation_id = c.id AND l.removed < 2)"
);

fn conversation_from_row(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    let last_message = match row.get::<_, Option<i64>>(4)? {
        Some(_) => Some(message_from_row(row, 4)?),
        None => None,
    };
    Ok(Conversation {
        id: row.get(0)?,
        title: row.get(1)?,
        updated_at: row.get(2)?,
        unread: row.get::<_, i64>(3)?.try_into().unwrap_or(u32::MAX),
        last_message,
    })
}

pub(crate) fn conversation(conn: &Connection, id: &str) -> Result<Option<Conversation>, HistoryError> {
    let sql = format!("{CONVERSATION_SELECT} WHERE c.id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt.query_row([id], conversation_from_row).optional()?)
}

pub(crate) fn conversations(conn: &Connection) -> Result<Vec<Conversation>, HistoryError> {
    // Ties within a millisecond fall back to the newest message, then the newest conversation.
    let sql = format!("{CONVERSATION_SELECT} ORDER BY c.updated_at DESC, m.seq DESC, c.rowid DESC");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], conversation_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stores a batch in one transaction: one commit instead of one per message is what makes bulk
/// arrival (a peer flushing its outbox, an import) fast.
///
/// The full-text index is written here, after all the rows, rather than by an insert trigger.
/// FTS5 flushes its in-memory pending index to disk at every statement savepoint once it has
/// been written in a transaction, and every `INSERT INTO messages` opens one (it can fail on the
/// unique id). Interleaved, each message became its own tiny index segment that later merges
/// rewrote over and over: bulk inserts ran 2-3x slower (measured at 100k messages).
///
/// `title`, as `(conversation id, title)`, creates or renames that conversation in the same
/// transaction (see [`upsert_conversation`]); an unchanged title writes nothing.
pub(crate) fn insert_many(
    conn: &mut Connection,
    messages: &[NewMessage],
    title: Option<(&str, &str)>,
    now: i64,
) -> Result<Vec<InsertOutcome>, HistoryError> {
    let tx = conn.transaction()?;
    let mut outcomes = Vec::with_capacity(messages.len());
    {
        if let Some((id, title)) = title {
            tx.prepare_cached(UPSERT_CONVERSATION)?
                .execute(params![id, title, now])?;
        }
        // Messages can arrive before the chat layer names the conversation; the title starts as
        // the user id and upsert_conversation replaces it.
        let mut ensure_conversation = tx.prepare_cached(
            "INSERT INTO conversations (id, title, updated_at) VALUES (?1, ?1, ?2) ON CONFLICT (id) DO NOTHING",
        )?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO messages (id, conversation_id, outgoing, sender_id, body, sent_at, received_at, state, reply_to)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO NOTHING
             RETURNING seq",
        )?;
        let mut known: HashSet<&str> = HashSet::new();
        let mut touched: HashSet<&str> = HashSet::new();

        for new in messages {
            if known.insert(new.conversation_id.as_str()) {
                ensure_conversation.execute(params![new.conversation_id, now])?;
            }
            let (state, received_at) = match new.direction {
                Direction::Outgoing => (DeliveryState::Pending, None),
                Direction::Incoming => (DeliveryState::Received, new.received_at),
            };
            // A call entry is never sent: it must not be in the outbox.
            let state = new.call.as_ref().map_or(state, |call| call.state(new.direction));
            let seq: Option<i64> = insert
                .query_row(
                    params![
                        new.id,
                        new.conversation_id,
                        new.direction == Direction::Outgoing,
                        new.sender_id,
                        new.body,
                        new.sent_at,
                        received_at,
                        state.rank(),
                        new.reply_to
                    ],
                    |row| row.get(0),
                )
                .optional()?;
            let outcome = match seq {
                Some(seq) => {
                    touched.insert(new.conversation_id.as_str());
                    let mut message = Message {
                        id: new.id.clone(),
                        conversation_id: new.conversation_id.clone(),
                        direction: new.direction,
                        sender_id: new.sender_id.clone(),
                        body: new.body.clone(),
                        sent_at: new.sent_at,
                        received_at,
                        state,
                        seq,
                        reply_to: new.reply_to.clone(),
                        edited_at: None,
                        deleted: false,
                        reactions: Vec::new(),
                        reply: None,
                        file: None,
                        call: None,
                    };
                    if let Some(file) = &new.file {
                        message.file = Some(super::transfers::insert(&tx, &message, file, now)?);
                    }
                    if let Some(call) = &new.call {
                        message.call = Some(super::calls::insert(&tx, &message, call)?);
                    }
                    InsertOutcome::Inserted(message)
                }
                None => {
                    tracing::debug!(id = %new.id, "message already stored; ignoring the copy");
                    let stored =
                        message(&tx, &new.id)?.ok_or(HistoryError::Sqlite(rusqlite::Error::QueryReturnedNoRows))?;
                    InsertOutcome::Duplicate(stored)
                }
            };
            outcomes.push(outcome);
        }

        let mut touch = tx.prepare_cached("UPDATE conversations SET updated_at = max(updated_at, ?2) WHERE id = ?1")?;
        for conversation_id in touched {
            touch.execute(params![conversation_id, now])?;
        }

        // Last, so no other statement of this transaction opens a savepoint after it (see above).
        let mut index = tx.prepare_cached(
            "INSERT INTO messages_fts (rowid, body, conversation_token) VALUES (?1, ?2, 'c' || hex(?3))",
        )?;
        for outcome in &outcomes {
            if let InsertOutcome::Inserted(m) = outcome {
                index.execute(params![m.seq, m.body, m.conversation_id])?;
            }
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

/// Whether conversation `conversation_id` has an outgoing message older than `seq` that was never
/// handed to a channel (still Pending).
pub(crate) fn pending_before(conn: &Connection, conversation_id: &str, seq: i64) -> Result<bool, HistoryError> {
    // Through the partial outbox index (its condition spelled out literally so it applies), so the
    // cost follows the outbox, not the conversation's history.
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM messages INDEXED BY messages_outbox
         WHERE outgoing = 1 AND state < 2 AND seq < ?2 AND state = 0 AND conversation_id = ?1)",
    )?;
    Ok(stmt.query_row(params![conversation_id, seq], |row| row.get(0))?)
}

#[cfg(any(test, feature = "test-utils"))]
pub(crate) fn advance_state(
    conn: &Connection,
    id: &str,
    state: DeliveryState,
) -> Result<Option<Message>, HistoryError> {
    advance_state_where(conn, id, state, None)
}

/// [`advance_state`] for an outgoing message of one conversation only: the ownership check of a
/// receipt and the update in one statement.
pub(crate) fn advance_outgoing_state(
    conn: &Connection,
    conversation_id: &str,
    id: &str,
    state: DeliveryState,
) -> Result<Option<Message>, HistoryError> {
    advance_state_where(conn, id, state, Some(conversation_id))
}

/// With `outgoing_in`, only an outgoing message of that conversation moves.
fn advance_state_where(
    conn: &Connection,
    id: &str,
    state: DeliveryState,
    outgoing_in: Option<&str>,
) -> Result<Option<Message>, HistoryError> {
    // One conditional UPDATE makes "only forward" atomic with respect to concurrent receipts, and
    // the direction check ignores a receipt naming a message of the other direction (a confused or
    // hostile peer) instead of corrupting it.
    let mut stmt = conn.prepare_cached(concat!(
        "UPDATE messages SET state = ?2
         WHERE id = ?1 AND state < ?2 AND ((outgoing = 1 AND ?3) OR (outgoing = 0 AND ?4))
           AND (?5 IS NULL OR (outgoing = 1 AND conversation_id = ?5))
         RETURNING ",
        message_columns!(unqualified)
    ))?;
    let updated = stmt
        .query_row(
            params![
                id,
                state.rank(),
                state.applies_to(Direction::Outgoing),
                state.applies_to(Direction::Incoming),
                outgoing_in
            ],
            |row| message_from_row(row, 0),
        )
        .optional()?;
    if updated.is_none() {
        tracing::trace!(id, %state, "state change ignored (unknown id, not forward, or wrong direction)");
    }
    Ok(updated)
}

pub(crate) fn unacknowledged_outgoing(
    conn: &Connection,
    conversation_id: Option<&str>,
) -> Result<Vec<Message>, HistoryError> {
    // The literal `outgoing = 1 AND state < 2` lets SQLite use the partial outbox index.
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m
         WHERE m.outgoing = 1 AND m.state < 2 AND (?1 IS NULL OR m.conversation_id = ?1) AND m.removed = 0
         ORDER BY m.seq"
    ))?;
    let rows = stmt.query_map([conversation_id], |row| message_from_row(row, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn mark_conversation_read(conn: &Connection, conversation_id: &str) -> Result<Vec<String>, HistoryError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE messages SET state = 3
         WHERE conversation_id = ?1 AND outgoing = 0 AND state = 2
         RETURNING seq, id",
    )?;
    let mut marked: Vec<(i64, String)> = stmt
        .query_map([conversation_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    // RETURNING order is unspecified; receipts go out oldest first.
    marked.sort_unstable_by_key(|(seq, _)| *seq);
    Ok(marked.into_iter().map(|(_, id)| id).collect())
}

pub(crate) fn page(
    conn: &Connection,
    conversation_id: &str,
    before: Option<Cursor>,
    limit: usize,
) -> Result<Page, HistoryError> {
    // Keyset: `seq < cursor` is one index seek however deep the page, and messages inserted while
    // paging get larger seqs, so they can neither shift nor repeat older pages.
    let sql = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m
         WHERE m.conversation_id = ?1 AND m.seq < ?2 AND m.removed < 2
         ORDER BY m.seq DESC
         LIMIT ?3"
    );
    keyset_page(conn, sql, conversation_id, before.map_or(i64::MAX, |c| c.seq), limit)
}

/// Messages newer than `after`, oldest first: the way forward from a search hit.
pub(crate) fn page_after(
    conn: &Connection,
    conversation_id: &str,
    after: Cursor,
    limit: usize,
) -> Result<Page, HistoryError> {
    let sql = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m
         WHERE m.conversation_id = ?1 AND m.seq > ?2 AND m.removed < 2
         ORDER BY m.seq ASC
         LIMIT ?3"
    );
    keyset_page(conn, sql, conversation_id, after.seq, limit)
}

fn keyset_page(
    conn: &Connection,
    sql: &str,
    conversation_id: &str,
    bound: i64,
    limit: usize,
) -> Result<Page, HistoryError> {
    let limit = clamp_limit(limit);
    let mut stmt = conn.prepare_cached(sql)?;
    // One extra row tells whether a further page exists without a second query.
    let mut messages: Vec<Message> = stmt
        .query_map(params![conversation_id, bound, limit + 1], |row| {
            message_from_row(row, 0)
        })?
        .collect::<Result<_, _>>()?;
    let next = if messages.len() as i64 > limit {
        messages.truncate(limit as usize);
        messages.last().map(Message::cursor)
    } else {
        None
    };
    Ok(Page { messages, next })
}

pub(crate) fn search(
    conn: &Connection,
    conversation_id: Option<&str>,
    query: &str,
    limit: usize,
    before: Option<Cursor>,
) -> Result<Vec<SearchHit>, HistoryError> {
    let Some(terms) = fts_query(query) else {
        return Ok(Vec::new());
    };
    // Column filters keep user words off the conversation tokens and vice versa.
    let fts = match conversation_id {
        None => format!("{{body}} : ({terms})"),
        Some(id) => format!(
            "{{body}} : ({terms}) AND {{conversation_token}} : \"{}\"",
            conversation_token(id)
        ),
    };
    let limit = clamp_limit(limit);
    let before = before.map_or(i64::MAX, |c| c.seq);
    // FTS5 walks its doclists in rowid (= seq) order and stops at LIMIT, so newest-first costs
    // the same for a word in every message as for a rare one; no ranking pass over all matches.
    // CROSS JOIN keeps the index as the outer loop whatever the planner's estimates.
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        message_columns!(),
        ", snippet(messages_fts, 0, ?4, ?5, ?6, 12)
         FROM messages_fts CROSS JOIN messages m ON m.seq = messages_fts.rowid
         WHERE messages_fts MATCH ?1 AND messages_fts.rowid < ?2
         ORDER BY messages_fts.rowid DESC
         LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![
            fts,
            before,
            limit,
            SNIPPET_MATCH_START.to_string(),
            SNIPPET_MATCH_END.to_string(),
            SNIPPET_ELLIPSIS
        ],
        |row| {
            Ok(SearchHit {
                message: message_from_row(row, 0)?,
                snippet: row.get(MESSAGE_COLUMN_COUNT)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Same as the `conversation_token` column: `'c' || hex(conversation_id)`.
fn conversation_token(conversation_id: &str) -> String {
    let mut token = String::with_capacity(1 + conversation_id.len() * 2);
    token.push('c');
    for byte in conversation_id.bytes() {
        let _ = write!(token, "{byte:02X}");
    }
    token
}
