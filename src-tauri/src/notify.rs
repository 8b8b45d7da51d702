//! Desktop notifications for messages that arrive while the window is not focused (and the
//! person has not turned them off). Sent from Rust, so the page is granted no notification
//! permission at all.

use parley_core::{CoreEvent, Direction, Message};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::state::AppState;

/// Long enough to read in a notification bubble.
const PREVIEW_CHARS: usize = 160;

/// The message to tell the person about, if any: one that arrived (not one we sent, nor a state
/// change) while the window is not focused and notifications are on.
fn worth_notifying(event: &CoreEvent, focused: bool, enabled: impl FnOnce() -> bool) -> Option<&Message> {
    match event {
        CoreEvent::Message { message } if message.direction == Direction::Incoming && !focused && enabled() => {
            Some(message)
        }
        _ => None,
    }
}

pub async fn on_event<R: Runtime>(app: &AppHandle<R>, event: &CoreEvent) {
    // Most events are not messages: ask the window and the settings only for those that are.
    if !matches!(event, CoreEvent::Message { .. }) {
        return;
    }
    let focused = app
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false);
    let state = app.state::<AppState>();
    let Some(message) = worth_notifying(event, focused, || state.settings.load(app).notifications) else {
        return;
    };
    let contact = match state.parley() {
        Ok(parley) => parley.contact(&message.sender_id).await.ok(),
        Err(_) => None,
    };
    let title = contact.map_or_else(|| "New message".to_owned(), |user| user.display_name);
    if let Err(e) = app
        .notification()
        .builder()
        .title(title)
        .body(preview(&message.body))
        .show()
    {
        tracing::warn!(error = %e, "notification not shown");
    }
}

fn preview(body: &str) -> String {
    let mut chars = body.chars();
    let mut text: String = chars.by_ref().take(PREVIEW_CHARS).collect();
    if chars.next().is_some() {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_core::DeliveryState;

    fn message(direction: Direction) -> CoreEvent {
        CoreEvent::Message {
            message: Message {
                id: "m1".into(),
                conversation_id: "bob".into(),
                direction,
                sender_id: "bob".into(),
                body: "hi".into(),
                sent_at: 1,
                received_at: Some(2),
                state: DeliveryState::Received,
                seq: 1,
                reply_to: None,
                edited_at: None,
                deleted: false,
                reactions: Vec::new(),
                reply: None,
            },
        }
    }

    #[test]
    fn only_arrivals_while_unfocused_with_notifications_on() {
        let incoming = message(Direction::Incoming);
        assert!(worth_notifying(&incoming, false, || true).is_some());
        assert!(
            worth_notifying(&incoming, true, || true).is_none(),
            "the window is focused"
        );
        assert!(worth_notifying(&incoming, false, || false).is_none(), "turned off");
        assert!(
            worth_notifying(&message(Direction::Outgoing), false, || true).is_none(),
            "our own"
        );
        let state = CoreEvent::MessageState {
            id: "m1".into(),
            conversation_id: "bob".into(),
            state: DeliveryState::Read,
        };
        assert!(worth_notifying(&state, false, || true).is_none());
    }

    #[test]
    fn previews_are_cut_on_characters() {
        assert_eq!(preview("hi"), "hi");
        let long = "é".repeat(200);
        let cut = preview(&long);
        assert_eq!(cut.chars().count(), 161);
        assert!(cut.ends_with('…'));
    }
}
