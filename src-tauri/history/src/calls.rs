//! Calls as entries of their conversation: a message row (so they page, search and count as
//! unread like messages) plus a `calls` row with what happened. Written by this device only,
//! once a call is over; never sent anywhere.

use std::collections::HashMap;

use rusqlite::{params, params_from_iter, Connection, Transaction};
use serde::{Deserialize, Serialize};

use crate::types::{DeliveryState, Direction, Message, SearchHit};
use crate::HistoryError;

/// How a call ended, as its conversation keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CallOutcome {
    /// Answered and talked ([`CallRecord::duration_ms`] says how long).
    Answered,
    /// Incoming and not answered here (also: it came while another call was on).
    Missed,
    /// Declined, by whoever was called.
    Declined,
    /// Outgoing: they were in another call.
    Busy,
    /// Outgoing: nobody answered.
    NoAnswer,
    /// Outgoing: stopped before anyone answered.
    Cancelled,
    /// Outgoing: none of their devices could be reached.
    Unreachable,
    /// Their device, or this one, cannot take calls.
    Unsupported,
    /// The connection could not be made or broke before an answer.
    Failed,
    /// Incoming: answered on another of this person's devices.
    AnsweredElsewhere,
    /// Incoming: declined on another of this person's devices.
    DeclinedElsewhere,
}

impl CallOutcome {
    fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Answered => "answered",
            CallOutcome::Missed => "missed",
            CallOutcome::Declined => "declined",
            CallOutcome::Busy => "busy",
            CallOutcome::NoAnswer => "no-answer",
            CallOutcome::Cancelled => "cancelled",
            CallOutcome::Unreachable => "unreachable",
            CallOutcome::Unsupported => "unsupported",
            CallOutcome::Failed => "failed",
            CallOutcome::AnsweredElsewhere => "answered-elsewhere",
            CallOutcome::DeclinedElsewhere => "declined-elsewhere",
        }
    }

    fn parse(s: &str) -> Option<CallOutcome> {
        ALL.iter().copied().find(|o| o.as_str() == s)
    }
}

const ALL: [CallOutcome; 11] = [
    CallOutcome::Answered,
    CallOutcome::Missed,
    CallOutcome::Declined,
    CallOutcome::Busy,
    CallOutcome::NoAnswer,
    CallOutcome::Cancelled,
    CallOutcome::Unreachable,
    CallOutcome::Unsupported,
    CallOutcome::Failed,
    CallOutcome::AnsweredElsewhere,
    CallOutcome::DeclinedElsewhere,
];

/// A call entry of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallRecord {
    /// A video call (false: sound only).
    pub video: bool,
    /// How it ended.
    pub outcome: CallOutcome,
    /// How long it went on once answered, in milliseconds.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub duration_ms: Option<i64>,
}

impl CallRecord {
    /// The state its message row takes: a missed call (also one this device could not take)
    /// is unread until the person sees it; every other call was seen as it happened.
    pub(crate) fn state(&self, direction: Direction) -> DeliveryState {
        let missed = matches!(self.outcome, CallOutcome::Missed | CallOutcome::Unsupported);
        if direction == Direction::Incoming && missed {
            DeliveryState::Received
        } else {
            DeliveryState::Read
        }
    }
}

pub(crate) fn insert(tx: &Transaction<'_>, message: &Message, call: &CallRecord) -> Result<CallRecord, HistoryError> {
    tx.prepare_cached("INSERT INTO calls (id, video, outcome, duration_ms) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![message.id, call.video, call.outcome.as_str(), call.duration_ms])?;
    Ok(call.clone())
}

fn calls_for<'a>(
    conn: &Connection,
    ids: impl ExactSizeIterator<Item = &'a String>,
) -> Result<HashMap<String, CallRecord>, HistoryError> {
    let mut calls = HashMap::new();
    if ids.len() == 0 {
        return Ok(calls);
    }
    let sql = format!(
        "SELECT id, video, outcome, duration_ms FROM calls WHERE id IN ({})",
        vec!["?"; ids.len()].join(",")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(ids), |row| {
        let outcome: String = row.get(2)?;
        let outcome = CallOutcome::parse(&outcome).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("call outcome {outcome:?} is not known").into(),
            )
        })?;
        Ok((
            row.get::<_, String>(0)?,
            CallRecord {
                video: row.get(1)?,
                outcome,
                duration_ms: row.get(3)?,
            },
        ))
    })?;
    for row in rows {
        let (id, call) = row?;
        calls.insert(id, call);
    }
    Ok(calls)
}

/// Adds the call records of a page's call entries.
pub(crate) fn decorate(conn: &Connection, messages: &mut [Message]) -> Result<(), HistoryError> {
    let mut calls = calls_for(conn, messages.iter().map(|m| &m.id))?;
    for message in messages {
        message.call = calls.remove(&message.id);
    }
    Ok(())
}

/// [`decorate`] for search results.
pub(crate) fn decorate_hits(conn: &Connection, hits: &mut [SearchHit]) -> Result<(), HistoryError> {
    let mut calls = calls_for(conn, hits.iter().map(|h| &h.message.id))?;
    for hit in hits {
        hit.message.call = calls.remove(&hit.message.id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{History, InsertOutcome, NewMessage, MAX_PAGE};

    fn call(outcome: CallOutcome, duration_ms: Option<i64>) -> CallRecord {
        CallRecord {
            video: true,
            outcome,
            duration_ms,
        }
    }

    #[tokio::test]
    async fn call_entries_page_and_search_like_messages_and_never_wait_in_the_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite3"), &crate::tests::test_key()).unwrap();
        let placed = NewMessage::outgoing("bob", "c1", "me", "Video call", 10)
            .with_call(call(CallOutcome::Answered, Some(65_000)));
        let missed = NewMessage::incoming("bob", "c2", "bob", "Audio call", 20, 21).with_call(CallRecord {
            video: false,
            ..call(CallOutcome::Missed, None)
        });
        let declined =
            NewMessage::incoming("bob", "c3", "bob", "Video call", 30, 31).with_call(call(CallOutcome::Declined, None));
        for entry in [placed, missed, declined] {
            assert!(matches!(
                h.insert_titled(entry, "Bob").await.unwrap(),
                InsertOutcome::Inserted(_)
            ));
        }
        // A resent record of the same call is the same entry.
        let again =
            NewMessage::outgoing("bob", "c1", "me", "Video call", 10).with_call(call(CallOutcome::Failed, None));
        assert!(matches!(
            h.insert_titled(again, "Bob").await.unwrap(),
            InsertOutcome::Duplicate(_)
        ));

        let page = h.page("bob", None, 10).await.unwrap();
        let calls: Vec<(&str, DeliveryState, Option<&CallRecord>)> = page
            .messages
            .iter()
            .map(|m| (m.id.as_str(), m.state, m.call.as_ref()))
            .collect();
        assert_eq!(
            calls,
            [
                ("c3", DeliveryState::Read, Some(&call(CallOutcome::Declined, None))),
                (
                    "c2",
                    DeliveryState::Received,
                    Some(&CallRecord {
                        video: false,
                        ..call(CallOutcome::Missed, None)
                    })
                ),
                (
                    "c1",
                    DeliveryState::Read,
                    Some(&call(CallOutcome::Answered, Some(65_000)))
                ),
            ]
        );
        assert!(h.unacknowledged_outgoing(None).await.unwrap().is_empty(), "never sent");
        let conversation = h.conversation("bob").await.unwrap().unwrap();
        assert_eq!(conversation.unread, 1, "only the missed call is unread");
        let hits = h.search("audio", MAX_PAGE, None).await.unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(
            hits[0].message.call.as_ref().map(|c| c.outcome),
            Some(CallOutcome::Missed)
        );
    }
}
