//! The history: conversations page by page, single messages, search and the outbox. All of it
//! answers from this device, with no network at all.

use std::collections::HashMap;

use parley_history::{Cursor, Message, Page};

use super::Parley;
use crate::error::CoreError;
use crate::models::SearchResult;

/// How many messages a page or a search answers with unless asked otherwise.
pub const DEFAULT_PAGE: usize = 50;

impl Parley {
    /// Up to `limit` messages of a conversation older than `before` (the newest when `None`),
    /// newest first; the page's `next` continues further back.
    pub async fn history_page(
        &self,
        conversation_id: &str,
        before: Option<Cursor>,
        limit: Option<usize>,
    ) -> Result<Page, CoreError> {
        Ok(self
            .history()
            .page(conversation_id, before, limit.unwrap_or(DEFAULT_PAGE))
            .await?)
    }

    /// Up to `limit` messages newer than `after`, **oldest first**: with
    /// [`Parley::history_page`] this opens a conversation around any message (a search hit).
    pub async fn history_after(
        &self,
        conversation_id: &str,
        after: Cursor,
        limit: Option<usize>,
    ) -> Result<Page, CoreError> {
        Ok(self
            .history()
            .page_after(conversation_id, after, limit.unwrap_or(DEFAULT_PAGE))
            .await?)
    }

    /// One message by id.
    pub async fn message(&self, message_id: &str) -> Result<Message, CoreError> {
        self.history()
            .message(message_id)
            .await?
            .ok_or_else(|| CoreError::UnknownMessage(message_id.to_owned()))
    }

    /// Messages containing every word of `query` (the last as a prefix), newest first, older
    /// than `before`; in one conversation or all of them.
    pub async fn search(
        &self,
        query: &str,
        conversation_id: Option<&str>,
        before: Option<Cursor>,
        limit: Option<usize>,
    ) -> Result<Vec<SearchResult>, CoreError> {
        let history = self.history();
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        let hits = match conversation_id {
            Some(id) => history.search_in(id, query, limit, before).await?,
            None => history.search(query, limit, before).await?,
        };
        let titles: HashMap<String, String> = history
            .conversations()
            .await?
            .into_iter()
            .map(|c| (c.id, c.title))
            .collect();
        Ok(hits
            .into_iter()
            .map(|hit| SearchResult {
                conversation_title: titles.get(&hit.message.conversation_id).cloned().unwrap_or_default(),
                message: hit.message,
                snippet: hit.snippet,
            })
            .collect())
    }

    /// Messages written here that their recipient has not acknowledged yet (waiting to go, or
    /// gone and unconfirmed), oldest first; in one conversation or all of them.
    pub async fn outbox(&self, conversation_id: Option<&str>) -> Result<Vec<Message>, CoreError> {
        Ok(self.history().unacknowledged_outgoing(conversation_id).await?)
    }
}
