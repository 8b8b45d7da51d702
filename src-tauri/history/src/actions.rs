//! What happens to a message after it is stored: replies are read back with their quote,
//! authors edit and delete, anyone in the conversation reacts, and a person hides a message
//! from their own view. Also the outbox of these actions, which reach the other device with
//! the same guarantees as messages.
//!
//! Every change names the conversation and, for edits and deletions, whose message it must be,
//! and the check is part of the update: a peer can never touch a message that is not theirs.

use std::collections::HashMap;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::store::{message, message_in};
use super::types::{Direction, Message, Reaction, ReplyPreview, REPLY_PREVIEW_CHARS};
use super::{now_ms, History, HistoryError};

/// An action waiting for the other device's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAction {
    /// Chosen by us; the acknowledgement names it.
    pub id: String,
    /// The chat frame to send, as JSON (the chat layer's business).
    pub frame: String,
}

/// Fills in what a stored row alone does not hold: reactions and the quoted message. Two queries
/// for a whole page rather than two per message.
pub(crate) fn decorate(conn: &Connection, messages: &mut [Message]) -> Result<(), HistoryError> {
    if messages.is_empty() {
        return Ok(());
    }
    let placeholders = vec!["?"; messages.len()].join(",");
    let mut reactions: HashMap<String, Vec<Reaction>> = HashMap::new();
    {
        let sql = format!(
            "SELECT message_id, user_id, emoji FROM reactions WHERE message_id IN ({placeholders}) ORDER BY at, user_id"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(messages.iter().map(|m| &m.id)), |row| {
            Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?))
        })?;
        for row in rows {
            let (message_id, user_id, emoji) = row?;
            reactions
                .entry(message_id)
                .or_default()
                .push(Reaction { user_id, emoji });
        }
    }
    let quoted: Vec<&String> = messages.iter().filter_map(|m| m.reply_to.as_ref()).collect();
    let mut previews: HashMap<String, ReplyPreview> = HashMap::new();
    if !quoted.is_empty() {
        let sql = format!(
            "SELECT id, sender_id, substr(body, 1, {REPLY_PREVIEW_CHARS}), removed FROM messages WHERE id IN ({})",
            vec!["?"; quoted.len()].join(",")
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(quoted), |row| {
            let removed: i64 = row.get(3)?;
            Ok(ReplyPreview {
                id: row.get(0)?,
                sender_id: row.get(1)?,
                text: if removed == 0 { row.get(2)? } else { String::new() },
                deleted: removed != 0,
            })
        })?;
        for preview in rows {
            let preview = preview?;
            previews.insert(preview.id.clone(), preview);
        }
    }
    for message in messages.iter_mut() {
        message.reactions = reactions.remove(&message.id).unwrap_or_default();
        message.reply = message.reply_to.as_ref().and_then(|id| previews.get(id).cloned());
    }
    super::transfers::decorate(conn, messages)
}

/// One message, decorated.
fn decorated(conn: &Connection, id: &str) -> Result<Option<Message>, HistoryError> {
    let Some(mut found) = message(conn, id)? else {
        return Ok(None);
    };
    decorate(conn, std::slice::from_mut(&mut found))?;
    Ok(Some(found))
}

/// Puts an action frame in the outbox of `conversation_id` (inside the caller's transaction).
pub(crate) fn queue(conn: &Connection, conversation_id: &str, id: &str, frame: &str) -> Result<(), HistoryError> {
    conn.prepare_cached(
        "INSERT INTO pending_actions (id, conversation_id, frame, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, conversation_id, frame, now_ms()])?;
    Ok(())
}

impl History {
    /// Replaces the text of message `id` in `conversation_id`, written in `direction` (ours to
    /// edit are outgoing; a peer's edit applies to an incoming message of their conversation).
    /// Not to a deleted message, and not backwards: an edit older than the last one applied is
    /// ignored, so edits arriving out of order end on the newest. None when nothing changed.
    pub async fn edit_message(
        &self,
        conversation_id: &str,
        id: &str,
        direction: Direction,
        body: &str,
        edited_at: i64,
    ) -> Result<Option<Message>, HistoryError> {
        let (conversation_id, id, body) = (conversation_id.to_owned(), id.to_owned(), body.to_owned());
        self.write(move |conn| {
            let changed = conn
                .prepare_cached(
                    "UPDATE messages SET body = ?4, edited_at = ?5
                     WHERE id = ?1 AND conversation_id = ?2 AND outgoing = ?3 AND removed = 0
                       AND (edited_at IS NULL OR edited_at < ?5)",
                )?
                .execute(params![
                    id,
                    conversation_id,
                    direction == Direction::Outgoing,
                    body,
                    edited_at
                ])?;
            if changed == 0 {
                return Ok(None);
            }
            decorated(conn, &id)
        })
        .await
    }

    /// Deletes message `id` of `conversation_id`, written in `direction`, for everyone: the text
    /// and its reactions go (from the search index too), a "deleted" placeholder stays.
    pub async fn delete_for_everyone(
        &self,
        conversation_id: &str,
        id: &str,
        direction: Direction,
    ) -> Result<Option<Message>, HistoryError> {
        let (conversation_id, id) = (conversation_id.to_owned(), id.to_owned());
        self.write(move |conn| {
            let tx = conn.unchecked_transaction()?;
            let changed = tx
                .prepare_cached(
                    "UPDATE messages SET body = '', removed = 1
                     WHERE id = ?1 AND conversation_id = ?2 AND outgoing = ?3 AND removed = 0",
                )?
                .execute(params![id, conversation_id, direction == Direction::Outgoing])?;
            if changed == 0 {
                return Ok(None);
            }
            tx.prepare_cached("DELETE FROM reactions WHERE message_id = ?1")?
                .execute([&id])?;
            tx.commit()?;
            decorated(conn, &id)
        })
        .await
    }

    /// Hides message `id` of `conversation_id` on this device only; the other person's copy is
    /// untouched. Its text goes, and an unread one counts as read. True when it was shown.
    pub async fn delete_for_me(&self, conversation_id: &str, id: &str) -> Result<bool, HistoryError> {
        let (conversation_id, id) = (conversation_id.to_owned(), id.to_owned());
        self.write(move |conn| {
            let changed = conn
                .prepare_cached(
                    "UPDATE messages SET body = '', removed = 2, state = CASE WHEN outgoing = 0 THEN 3 ELSE state END
                     WHERE id = ?1 AND conversation_id = ?2 AND removed < 2",
                )?
                .execute(params![id, conversation_id])?;
            Ok(changed == 1)
        })
        .await
    }

    /// Sets (`Some`) or removes (`None`) `user_id`'s reaction to message `id` of
    /// `conversation_id`; one reaction per person. None when there is no such message, or it is
    /// deleted.
    pub async fn set_reaction(
        &self,
        conversation_id: &str,
        id: &str,
        user_id: &str,
        emoji: Option<&str>,
    ) -> Result<Option<Message>, HistoryError> {
        let (conversation_id, id, user_id) = (conversation_id.to_owned(), id.to_owned(), user_id.to_owned());
        let emoji = emoji.map(str::to_owned);
        self.write(move |conn| {
            let Some(target) = message_in(conn, &conversation_id, &id)? else {
                return Ok(None);
            };
            if target.deleted {
                return Ok(None);
            }
            match emoji {
                Some(emoji) => conn
                    .prepare_cached(
                        "INSERT INTO reactions (message_id, user_id, emoji, at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (message_id, user_id) DO UPDATE SET emoji = excluded.emoji, at = excluded.at",
                    )?
                    .execute(params![id, user_id, emoji, now_ms()])?,
                None => conn
                    .prepare_cached("DELETE FROM reactions WHERE message_id = ?1 AND user_id = ?2")?
                    .execute(params![id, user_id])?,
            };
            decorated(conn, &id)
        })
        .await
    }

    /// Puts an action (an edit, deletion or reaction frame) in the outbox of `conversation_id`.
    pub async fn queue_action(&self, conversation_id: &str, id: &str, frame: &str) -> Result<(), HistoryError> {
        let (conversation_id, id, frame) = (conversation_id.to_owned(), id.to_owned(), frame.to_owned());
        self.write(move |conn| queue(conn, &conversation_id, &id, &frame)).await
    }

    /// The actions still owed to `conversation_id`, oldest first.
    pub async fn pending_actions(&self, conversation_id: &str) -> Result<Vec<PendingAction>, HistoryError> {
        let conversation_id = conversation_id.to_owned();
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, frame FROM pending_actions WHERE conversation_id = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([conversation_id], |row| {
                Ok(PendingAction {
                    id: row.get(0)?,
                    frame: row.get(1)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// `conversation_id` acknowledged action `id`: it leaves the outbox. False if it was not in
    /// it (a message's acknowledgement, or someone else's action).
    pub async fn action_acknowledged(&self, conversation_id: &str, id: &str) -> Result<bool, HistoryError> {
        let (conversation_id, id) = (conversation_id.to_owned(), id.to_owned());
        self.write(move |conn| {
            let removed = conn
                .prepare_cached("DELETE FROM pending_actions WHERE id = ?1 AND conversation_id = ?2")?
                .execute(params![id, conversation_id])?;
            Ok(removed == 1)
        })
        .await
    }

    /// The avatar picture stored for `user_id` at `avatar_url` (the URL changes with the
    /// picture, so a stored one for another URL is stale).
    pub async fn cached_avatar(&self, user_id: &str, avatar_url: &str) -> Result<Option<Vec<u8>>, HistoryError> {
        let (user_id, avatar_url) = (user_id.to_owned(), avatar_url.to_owned());
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT bytes FROM avatars WHERE user_id = ?1 AND avatar_url = ?2")?
                .query_row(params![user_id, avatar_url], |row| row.get(0))
                .optional()?)
        })
        .await
    }

    /// Keeps `user_id`'s avatar picture, replacing an older one.
    pub async fn cache_avatar(&self, user_id: &str, avatar_url: &str, bytes: Vec<u8>) -> Result<(), HistoryError> {
        let (user_id, avatar_url) = (user_id.to_owned(), avatar_url.to_owned());
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO avatars (user_id, avatar_url, bytes) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id) DO UPDATE SET avatar_url = excluded.avatar_url, bytes = excluded.bytes",
            )?
            .execute(params![user_id, avatar_url, bytes])?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HistoryKey, NewMessage, MAX_PAGE};

    async fn history() -> (tempfile::TempDir, History) {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite3"), &HistoryKey::from_bytes([3; 32])).unwrap();
        (dir, h)
    }

    #[tokio::test]
    async fn edits_apply_to_the_authors_own_messages_only_and_never_backwards() {
        let (_dir, h) = history().await;
        h.insert_outgoing("bob", "mine", "me", "helo", 1).await.unwrap();
        h.insert_incoming("bob", "his", "bob", "hi there", 1, 2).await.unwrap();
        h.insert_incoming("carol", "hers", "carol", "hey", 1, 2).await.unwrap();

        let edited = h
            .edit_message("bob", "mine", Direction::Outgoing, "hello", 10)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((edited.body.as_str(), edited.edited_at), ("hello", Some(10)));
        // Bob may not edit my message as if it were his, nor Carol's.
        assert!(h
            .edit_message("bob", "mine", Direction::Incoming, "x", 11)
            .await
            .unwrap()
            .is_none());
        assert!(h
            .edit_message("bob", "hers", Direction::Incoming, "x", 11)
            .await
            .unwrap()
            .is_none());
        // A late, older edit does not undo a newer one.
        assert!(h
            .edit_message("bob", "mine", Direction::Outgoing, "old", 5)
            .await
            .unwrap()
            .is_none());
        assert_eq!(h.message("mine").await.unwrap().unwrap().body, "hello");
        // Search finds the new words, not the old.
        assert_eq!(h.search("hello", MAX_PAGE, None).await.unwrap().len(), 1);
        assert!(h.search("helo", MAX_PAGE, None).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn deleting_for_everyone_keeps_the_place_and_drops_the_text_everywhere() {
        let (_dir, h) = history().await;
        h.insert_incoming("bob", "his", "bob", "secret plan", 1, 2)
            .await
            .unwrap();
        h.set_reaction("bob", "his", "me", Some("👍")).await.unwrap().unwrap();
        assert!(h
            .delete_for_everyone("bob", "his", Direction::Outgoing)
            .await
            .unwrap()
            .is_none());
        let gone = h
            .delete_for_everyone("bob", "his", Direction::Incoming)
            .await
            .unwrap()
            .unwrap();
        assert!(gone.deleted && gone.body.is_empty() && gone.reactions.is_empty());
        assert!(h.search("secret", MAX_PAGE, None).await.unwrap().is_empty());
        assert_eq!(h.page("bob", None, 10).await.unwrap().messages.len(), 1);
        // Nothing more happens to a deleted message.
        assert!(h
            .edit_message("bob", "his", Direction::Incoming, "back", 9)
            .await
            .unwrap()
            .is_none());
        assert!(h.set_reaction("bob", "his", "me", Some("👍")).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn deleting_for_me_hides_it_here_and_a_resend_stays_hidden() {
        let (_dir, h) = history().await;
        h.insert_incoming("bob", "a", "bob", "first", 1, 2).await.unwrap();
        h.insert_incoming("bob", "b", "bob", "second", 1, 2).await.unwrap();
        assert!(h.delete_for_me("bob", "b").await.unwrap());
        assert!(!h.delete_for_me("bob", "b").await.unwrap());
        let page = h.page("bob", None, 10).await.unwrap();
        assert_eq!(page.messages.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["a"]);
        let conversation = h.conversation("bob").await.unwrap().unwrap();
        assert_eq!(conversation.last_message.unwrap().id, "a");
        assert_eq!(conversation.unread, 1, "the hidden one no longer counts as unread");
        let again = h.insert_incoming("bob", "b", "bob", "second", 1, 3).await.unwrap();
        assert!(!again.is_inserted());
        assert!(h.search("second", MAX_PAGE, None).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn reactions_one_per_person_on_messages_of_the_conversation() {
        let (_dir, h) = history().await;
        h.insert_outgoing("bob", "m", "me", "lunch?", 1).await.unwrap();
        h.set_reaction("bob", "m", "bob", Some("👍")).await.unwrap().unwrap();
        let m = h.set_reaction("bob", "m", "bob", Some("🎉")).await.unwrap().unwrap();
        assert_eq!(
            m.reactions,
            [Reaction {
                user_id: "bob".into(),
                emoji: "🎉".into()
            }]
        );
        assert!(h
            .set_reaction("carol", "m", "carol", Some("👍"))
            .await
            .unwrap()
            .is_none());
        assert!(h
            .set_reaction("bob", "nope", "bob", Some("👍"))
            .await
            .unwrap()
            .is_none());
        let m = h.set_reaction("bob", "m", "bob", None).await.unwrap().unwrap();
        assert!(m.reactions.is_empty());
    }

    #[tokio::test]
    async fn replies_come_back_with_their_quote() {
        let (_dir, h) = history().await;
        h.insert_incoming("bob", "q", "bob", "where shall we meet?", 1, 2)
            .await
            .unwrap();
        let reply = NewMessage::outgoing("bob", "r", "me", "at the station", 3).replying_to(Some("q"));
        h.insert_titled(reply, "Bob").await.unwrap();
        let orphan = NewMessage::outgoing("bob", "o", "me", "re: something old", 4).replying_to(Some("gone"));
        h.insert_titled(orphan, "Bob").await.unwrap();
        let page = h.page("bob", None, 10).await.unwrap();
        let reply = page.messages.iter().find(|m| m.id == "r").unwrap();
        let quote = reply.reply.as_ref().unwrap();
        assert_eq!(
            (quote.sender_id.as_str(), quote.text.as_str()),
            ("bob", "where shall we meet?")
        );
        let orphan = page.messages.iter().find(|m| m.id == "o").unwrap();
        assert_eq!(
            (orphan.reply_to.as_deref(), orphan.reply.as_ref()),
            (Some("gone"), None)
        );
    }

    #[tokio::test]
    async fn the_action_outbox_is_emptied_by_acknowledgements_from_its_conversation() {
        let (_dir, h) = history().await;
        h.queue_action("bob", "a1", "{}").await.unwrap();
        h.queue_action("bob", "a2", "{\"x\":1}").await.unwrap();
        assert!(!h.action_acknowledged("carol", "a1").await.unwrap());
        assert!(h.action_acknowledged("bob", "a1").await.unwrap());
        let left = h.pending_actions("bob").await.unwrap();
        assert_eq!(left.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["a2"]);
    }

    #[tokio::test]
    async fn avatars_are_kept_per_url() {
        let (_dir, h) = history().await;
        h.cache_avatar("bob", "/a?v=1", vec![1, 2]).await.unwrap();
        assert_eq!(h.cached_avatar("bob", "/a?v=1").await.unwrap(), Some(vec![1, 2]));
        h.cache_avatar("bob", "/a?v=2", vec![3]).await.unwrap();
        assert_eq!(h.cached_avatar("bob", "/a?v=1").await.unwrap(), None);
        assert_eq!(h.cached_avatar("bob", "/a?v=2").await.unwrap(), Some(vec![3]));
    }
}
