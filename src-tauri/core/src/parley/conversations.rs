//! Contacts and conversations: who there is to talk to, and talking to them.

use std::collections::HashMap;

use parley_history::{Conversation, Message};
use parley_protocol::User;

use super::Parley;
use crate::chat::{apply_own, queue_message, Action, ChatEngine, ChatError};
use crate::error::CoreError;
use crate::events::CoreEvent;
use crate::models::Contact;

impl Parley {
    /// Everyone met in a room or written to, online or not: unread first, then the most recent
    /// conversation, then by name. Works offline.
    pub async fn contacts(&self) -> Result<Vec<Contact>, CoreError> {
        let history = self.history();
        let mut conversations: HashMap<String, Conversation> = history
            .conversations()
            .await?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        let online: Vec<User> = self.engine().as_ref().map(ChatEngine::online_users).unwrap_or_default();
        let me = self.current_user().map(|u| u.id);
        let mut known = history.contacts().await?;
        // Someone online right now may not be stored yet; the fresher profile wins.
        for user in &online {
            match known.iter_mut().find(|k| k.id == user.id) {
                Some(k) => *k = user.clone(),
                None => known.push(user.clone()),
            }
        }
        let mut contacts: Vec<Contact> = known
            .into_iter()
            .filter(|user| Some(&user.id) != me.as_ref())
            .map(|user| Contact {
                online: online.iter().any(|u| u.id == user.id),
                route: self.engine().as_ref().and_then(|e| e.route_to(&user.id)),
                conversation: conversations.remove(&user.id),
                user,
            })
            .collect();
        contacts.sort_by(|a, b| {
            let unread = |c: &Contact| c.conversation.as_ref().is_some_and(|c| c.unread > 0);
            let updated = |c: &Contact| c.conversation.as_ref().map_or(i64::MIN, |c| c.updated_at);
            unread(b)
                .cmp(&unread(a))
                .then(updated(b).cmp(&updated(a)))
                .then_with(|| {
                    a.user
                        .display_name
                        .to_lowercase()
                        .cmp(&b.user.display_name.to_lowercase())
                })
        });
        Ok(contacts)
    }

    /// A contact by username (any case): someone online now, else one the history knows. Works
    /// offline.
    pub async fn find_contact(&self, username: &str) -> Result<User, CoreError> {
        let online = self.engine().map(|e| e.online_users()).unwrap_or_default();
        if let Some(user) = online.into_iter().find(|u| u.username.eq_ignore_ascii_case(username)) {
            return Ok(user);
        }
        self.history()
            .contact_by_username(username)
            .await?
            .ok_or_else(|| CoreError::UnknownContact(username.to_owned()))
    }

    /// The conversation with a contact, created if new; opens a direct channel ahead of the
    /// first message when they are online.
    pub async fn open_conversation(&self, user_id: &str) -> Result<Conversation, CoreError> {
        let user = self.contact(user_id).await?;
        let history = self.history();
        let conversation = match history.conversation(&user.id).await? {
            Some(c) => c,
            None => history.upsert_conversation(&user.id, &user.display_name).await?,
        };
        if let Some(engine) = self.engine() {
            let id = user.id.clone();
            tokio::spawn(async move { engine.connect_to(&id).await });
        }
        Ok(conversation)
    }

    /// Stores a message to a contact and sends it as soon as one of their devices is reachable;
    /// while offline it waits in the history (the outbox) and goes out once the server and the
    /// contact are back. Nothing lost, nothing doubled.
    /// With `reply_to`, the message answers (quotes) that message of the conversation.
    pub async fn send_message(&self, user_id: &str, body: &str, reply_to: Option<&str>) -> Result<Message, CoreError> {
        let me = self.current_user().ok_or(CoreError::NotSignedIn)?;
        if user_id == me.id {
            return Err(ChatError::ToSelf.into());
        }
        let user = self.contact(user_id).await?;
        if let Some(engine) = self.engine() {
            if engine.me().is_some() {
                return Ok(engine.send_message(&user, body, reply_to).await?);
            }
        }
        let (message, _) = queue_message(self.history(), &me, &user, body, reply_to).await?;
        self.emit(CoreEvent::Message {
            message: message.clone(),
        });
        Ok(message)
    }

    /// Replaces the text of one of our messages, here and (as soon as reachable) on the
    /// contact's device; within [`crate::chat::EDIT_WINDOW_MS`] of sending. Works offline.
    pub async fn edit_message(&self, conversation_id: &str, id: &str, body: &str) -> Result<Message, CoreError> {
        self.act(conversation_id, id, Action::Edit { body: body.to_owned() })
            .await
    }

    /// Deletes a message. For everyone: one of our own, within the edit window; it becomes a
    /// "deleted" placeholder on both devices. Otherwise only here: any message, hidden from this
    /// device's history and search.
    pub async fn delete_message(&self, conversation_id: &str, id: &str, for_everyone: bool) -> Result<(), CoreError> {
        if for_everyone {
            self.act(conversation_id, id, Action::Delete).await?;
        } else if self.history().delete_for_me(conversation_id, id).await? {
            self.emit(CoreEvent::MessageRemoved {
                id: id.to_owned(),
                conversation_id: conversation_id.to_owned(),
            });
        } else {
            return Err(ChatError::UnknownMessage(id.to_owned()).into());
        }
        Ok(())
    }

    /// Sets our reaction to a message of the conversation (one per person; another replaces it),
    /// or removes it with `None`.
    pub async fn react(&self, conversation_id: &str, id: &str, emoji: Option<&str>) -> Result<Message, CoreError> {
        self.act(
            conversation_id,
            id,
            Action::React {
                emoji: emoji.map(str::to_owned),
            },
        )
        .await
    }

    async fn act(&self, conversation_id: &str, id: &str, action: Action) -> Result<Message, CoreError> {
        let me = self.current_user().ok_or(CoreError::NotSignedIn)?;
        let message = apply_own(
            self.history(),
            &me,
            conversation_id,
            id,
            action,
            parley_history::now_ms(),
        )
        .await?;
        self.emit(CoreEvent::MessageChanged {
            message: message.clone(),
        });
        if let Some(engine) = self.engine() {
            let conversation_id = conversation_id.to_owned();
            tokio::spawn(async move { engine.flush(&conversation_id).await });
        }
        Ok(message)
    }

    /// Marks a conversation read; the receipts follow as soon as the sender is reachable.
    pub async fn mark_read(&self, conversation_id: &str) -> Result<usize, CoreError> {
        match self.engine() {
            Some(engine) => Ok(engine.mark_read(conversation_id).await?),
            None => Ok(self.history().mark_conversation_read(conversation_id).await?.len()),
        }
    }

    /// Tells the contact's open device that we are (or stopped) typing. Best effort by nature.
    pub async fn set_typing(&self, user_id: &str, active: bool) {
        if let Some(engine) = self.engine() {
            engine.set_typing(user_id, active).await;
        }
    }

    /// A contact by id: someone online now, else one the history knows. Works offline.
    pub async fn contact(&self, user_id: &str) -> Result<User, CoreError> {
        if let Some(user) = self
            .engine()
            .and_then(|e| e.online_users().into_iter().find(|u| u.id == user_id))
        {
            return Ok(user);
        }
        self.history()
            .contact(user_id)
            .await?
            .ok_or_else(|| CoreError::UnknownContact(user_id.to_owned()))
    }
}
