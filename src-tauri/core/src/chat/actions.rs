//! Replies, edits, deletions and reactions: the rules for what a person may do to a message, on
//! both ends. Ours are applied to the history at once and queued as frames in the action outbox
//! (sent like messages, until acknowledged); a peer's are checked against the same rules before
//! they touch anything.

use parley_history::{Direction, History, Message};
use parley_protocol::User;
use tracing::warn;

use super::protocol::{check_body, valid_id, valid_reaction, ChatFrame};
use super::ChatError;

/// How long after sending the author may still edit a message or delete it for everyone (as
/// Signal and Telegram allow, a day). Checked on the author's clock on both ends.
pub const EDIT_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// Something the person does to a message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// New text for one of our messages.
    Edit { body: String },
    /// Delete one of our messages for everyone.
    Delete,
    /// Our reaction, or none any more.
    React { emoji: Option<String> },
}

/// Applies our `action` on message `target` of `conversation_id` to the history and queues its
/// frame for the other person. Returns the message as it now is.
pub(crate) async fn apply_own(
    history: &History,
    me: &User,
    conversation_id: &str,
    target: &str,
    action: Action,
    now: i64,
) -> Result<Message, ChatError> {
    let message = history
        .message(target)
        .await?
        .filter(|m| m.conversation_id == conversation_id)
        .ok_or_else(|| ChatError::UnknownMessage(target.to_owned()))?;
    if message.deleted {
        return Err(ChatError::Deleted);
    }
    let id = crate::ids::random_id();
    let (changed, frame) = match action {
        Action::Edit { body } => {
            check_body(&body)?;
            check_ours(&message, now)?;
            let changed = history
                .edit_message(conversation_id, target, Direction::Outgoing, &body, now)
                .await?;
            let frame = ChatFrame::Edit {
                id: id.clone(),
                target: target.to_owned(),
                body,
                at: now,
            };
            (changed, frame)
        }
        Action::Delete => {
            check_ours(&message, now)?;
            let changed = history
                .delete_for_everyone(conversation_id, target, Direction::Outgoing)
                .await?;
            let frame = ChatFrame::Delete {
                id: id.clone(),
                target: target.to_owned(),
                at: now,
            };
            (changed, frame)
        }
        Action::React { emoji } => {
            if emoji.as_deref().is_some_and(|e| !valid_reaction(e)) {
                return Err(ChatError::InvalidReaction);
            }
            let changed = history
                .set_reaction(conversation_id, target, &me.id, emoji.as_deref())
                .await?;
            let frame = ChatFrame::React {
                id: id.clone(),
                target: target.to_owned(),
                emoji,
                at: now,
            };
            (changed, frame)
        }
    };
    let changed = changed.ok_or_else(|| ChatError::UnknownMessage(target.to_owned()))?;
    // A message never sent needs no action: it goes out as it now is, or not at all.
    let never_sent = message.direction == Direction::Outgoing
        && message.state == parley_history::DeliveryState::Pending
        && !matches!(frame, ChatFrame::React { .. });
    if !never_sent {
        let json = String::from_utf8(frame.encode().to_vec()).expect("frames are JSON");
        history.queue_action(conversation_id, &id, &json).await?;
    }
    Ok(changed)
}

/// Edits and deletions for everyone: our own messages, within the window.
fn check_ours(message: &Message, now: i64) -> Result<(), ChatError> {
    if message.direction != Direction::Outgoing {
        return Err(ChatError::NotYours);
    }
    if now.saturating_sub(message.sent_at) > EDIT_WINDOW_MS {
        return Err(ChatError::TooLate);
    }
    Ok(())
}

/// Checks the reply a message quotes exists in its conversation; a reply to something unknown is
/// refused rather than stored pointing nowhere.
pub(crate) async fn check_reply(history: &History, conversation_id: &str, reply_to: &str) -> Result<(), ChatError> {
    let known = valid_id(reply_to)
        && history
            .message(reply_to)
            .await?
            .is_some_and(|m| m.conversation_id == conversation_id && !m.deleted);
    if known {
        Ok(())
    } else {
        Err(ChatError::UnknownMessage(reply_to.to_owned()))
    }
}

/// Applies an edit, deletion or reaction `frame` from `user` (in the conversation with them) if
/// the rules allow it: edits and deletions of their own messages within the window, reactions
/// to messages of this conversation. Returns the changed message; a refusal is logged and
/// changes nothing.
pub(crate) async fn apply_remote(history: &History, user: &User, frame: &ChatFrame) -> Option<Message> {
    let conversation = user.id.as_str();
    let outcome = match frame {
        ChatFrame::Edit { target, body, at, .. } => match authored_by_them(history, conversation, target, *at).await {
            Ok(()) => history
                .edit_message(conversation, target, Direction::Incoming, body, *at)
                .await
                .map_err(|e| e.to_string()),
            Err(why) => Err(why.to_owned()),
        },
        ChatFrame::Delete { target, at, .. } => match authored_by_them(history, conversation, target, *at).await {
            Ok(()) => history
                .delete_for_everyone(conversation, target, Direction::Incoming)
                .await
                .map_err(|e| e.to_string()),
            Err(why) => Err(why.to_owned()),
        },
        ChatFrame::React { target, emoji, .. } => history
            .set_reaction(conversation, target, &user.id, emoji.as_deref())
            .await
            .map_err(|e| e.to_string()),
        _ => return None,
    };
    match outcome {
        Ok(Some(message)) => Some(message),
        Ok(None) => {
            warn!(user = %user.username, "refused an action on a message that is not in this conversation, not theirs or deleted");
            None
        }
        Err(why) => {
            warn!(user = %user.username, %why, "refused an action");
            None
        }
    }
}

async fn authored_by_them(history: &History, conversation: &str, target: &str, at: i64) -> Result<(), &'static str> {
    let message = match history.message(target).await {
        Ok(Some(m)) if m.conversation_id == conversation => m,
        Ok(_) => return Err("no such message in this conversation"),
        Err(_) => return Err("history unreadable"),
    };
    if message.direction != Direction::Incoming {
        return Err("not their message");
    }
    if at.saturating_sub(message.sent_at) > EDIT_WINDOW_MS {
        return Err("past the edit window");
    }
    Ok(())
}
