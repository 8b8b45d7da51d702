//! Desktop notifications for messages that arrive while the window is not focused (and the
//! person has not turned them off), with the sender's avatar; a click brings the window forward
//! on that conversation. Sent from Rust, so the page is granted no notification permission at
//! all.

use std::path::PathBuf;

use parley_core::{CallOutcome, CallPhase, CoreEvent, Direction, Parley, User};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::state::AppState;

/// The event the page gets when a notification was clicked: the conversation id to open.
pub const OPEN_CONVERSATION_EVENT: &str = "open-conversation";
/// Where a notification keeps which conversation it is about.
const CONVERSATION_KEY: &str = "conversation_id";

/// Reacts to clicks on notifications: shows the window on the conversation. Once, at start.
pub fn handle_clicks<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    let registered = app.notification().on_action(move |performed| {
        if performed.action_id() != "tap" {
            return;
        }
        let conversation = performed
            .notification()
            .and_then(|n| n.extra().get(CONVERSATION_KEY))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        if let Some(window) = handle.get_webview_window("main") {
            let _ = window.unminimize();
            let _ = window.show();
            let _ = window.set_focus();
        }
        if let Some(conversation) = conversation {
            if let Err(e) = handle.emit_to("main", OPEN_CONVERSATION_EVENT, conversation) {
                tracing::warn!(error = %e, "the clicked conversation was not opened");
            }
        }
    });
    if let Err(e) = registered {
        tracing::warn!(error = %e, "clicks on notifications will not open conversations");
    }
}

/// Long enough to read in a notification bubble.
const PREVIEW_CHARS: usize = 160;

/// What a notification is about.
#[derive(Debug, PartialEq, Eq)]
struct Notice {
    /// Who it is from (for the title and the avatar), and the conversation a click opens.
    user_id: String,
    /// The title when their name is not known.
    fallback_title: &'static str,
    text: String,
}

/// What to tell the person about, if anything: a message that arrived (not one we sent, nor
/// a state change), a call ringing here, or a call missed — while the window is not focused
/// and notifications are on.
fn worth_notifying(event: &CoreEvent, focused: bool, enabled: impl FnOnce() -> bool) -> Option<Notice> {
    let notice = match event {
        CoreEvent::Message { message } if message.direction == Direction::Incoming => match &message.call {
            // Calls answered or declined here were seen as they happened.
            Some(call) if !matches!(call.outcome, CallOutcome::Missed | CallOutcome::Unsupported) => return None,
            _ => Notice {
                user_id: message.conversation_id.clone(),
                fallback_title: "New message",
                text: notification_text(message),
            },
        },
        CoreEvent::Call { call } if call.phase == CallPhase::RingingHere => Notice {
            user_id: call.user_id.clone(),
            fallback_title: "Incoming call",
            text: if call.video {
                "Incoming video call"
            } else {
                "Incoming audio call"
            }
            .to_owned(),
        },
        _ => return None,
    };
    (!focused && enabled()).then_some(notice)
}

pub async fn on_event<R: Runtime>(app: &AppHandle<R>, event: &CoreEvent) {
    // Most events are not about anything new: ask the window and the settings only for those.
    if !matches!(event, CoreEvent::Message { .. } | CoreEvent::Call { .. }) {
        return;
    }
    let focused = app
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false);
    let state = app.state::<AppState>();
    let Some(notice) = worth_notifying(event, focused, || state.settings.load(app).notifications) else {
        return;
    };
    let parley = state.parley().ok();
    let contact = match &parley {
        Some(parley) => parley.contact(&notice.user_id).await.ok(),
        None => None,
    };
    let icon = match (&parley, &contact) {
        (Some(parley), Some(user)) => avatar_file(parley, &state.paths.profile, user).await,
        _ => None,
    };
    let title = contact.map_or_else(|| notice.fallback_title.to_owned(), |user| user.display_name);
    let mut notification = app
        .notification()
        .builder()
        .title(title)
        .body(preview(&notice.text))
        .extra(CONVERSATION_KEY, &notice.user_id);
    if let Some(icon) = icon {
        notification = notification.icon(icon.to_string_lossy());
    }
    if let Err(e) = notification.show() {
        tracing::warn!(error = %e, "notification not shown");
    }
}

/// The sender's avatar as a file the notification server can read (it takes a path), kept in the
/// profile's `notification-icons` and named after the avatar's URL, so a new picture is a new
/// file. None when they have none or it cannot be had.
async fn avatar_file(parley: &Parley, profile: &std::path::Path, user: &User) -> Option<PathBuf> {
    let url = user.avatar_url.as_deref()?;
    let dir = profile.join("notification-icons");
    let version = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        url.hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    };
    let user_part: String = user.id.chars().filter(char::is_ascii_alphanumeric).take(40).collect();
    let path = dir.join(format!("{user_part}-{version}.img"));
    if path.exists() {
        return Some(path);
    }
    let bytes = parley.avatar(&user.id).await.ok()??;
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        // Older pictures of this user go.
        for old in std::fs::read_dir(&dir)?.flatten() {
            if old.file_name().to_string_lossy().starts_with(&format!("{user_part}-")) {
                let _ = std::fs::remove_file(old.path());
            }
        }
        std::fs::write(&path, bytes)
    });
    match written {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::debug!(error = %e, "no avatar file for the notification");
            None
        }
    }
}

/// The window title for `unread` messages waiting: "(3) Parley" (the page's `windowTitle` says
/// the same for the document title).
pub fn window_title(unread: u32) -> String {
    match unread {
        0 => "Parley".to_owned(),
        n => format!("({n}) Parley"),
    }
}

/// What a notification says: the text, for a file "📎 name" (and whether it waits for a
/// decision), for a call that it was missed.
fn notification_text(message: &parley_core::Message) -> String {
    if let Some(call) = &message.call {
        let kind = if call.video { "video" } else { "audio" };
        return match call.outcome {
            CallOutcome::Unsupported => format!("Missed {kind} call: calls are not available in this window yet"),
            _ => format!("Missed {kind} call"),
        };
    }
    match &message.file {
        Some(file) if file.state == parley_core::TransferState::AwaitingAccept => {
            format!("📎 {} — accept this file?", message.body)
        }
        Some(_) => format!("📎 {}", message.body),
        None => message.body.clone(),
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
    use parley_core::{DeliveryState, Message};

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
                file: None,
                call: None,
            },
        }
    }

    #[test]
    fn a_file_notification_names_the_file() {
        let CoreEvent::Message { mut message } = message(Direction::Incoming) else {
            unreachable!()
        };
        assert_eq!(notification_text(&message), "hi");
        message.body = "holiday.jpg".into();
        message.file = Some(parley_core::FileTransfer {
            name: "holiday.jpg".into(),
            size: 1,
            mime: "image/jpeg".into(),
            sha256: "0".repeat(64),
            width: None,
            height: None,
            thumbnail: None,
            state: parley_core::TransferState::AwaitingAccept,
            bytes_done: 0,
            error: None,
            path: None,
            missing: false,
        });
        assert_eq!(notification_text(&message), "📎 holiday.jpg — accept this file?");
    }

    #[test]
    fn calls_notify_when_they_ring_and_when_they_were_missed_only() {
        let CoreEvent::Message { mut message } = message(Direction::Incoming) else {
            unreachable!()
        };
        let with = |outcome| {
            let mut m = message.clone();
            m.call = Some(parley_core::CallRecord {
                video: true,
                outcome,
                duration_ms: None,
            });
            CoreEvent::Message { message: m }
        };
        let missed = worth_notifying(&with(CallOutcome::Missed), false, || true).unwrap();
        assert_eq!(missed.text, "Missed video call");
        assert!(worth_notifying(&with(CallOutcome::Answered), false, || true).is_none());
        assert!(worth_notifying(&with(CallOutcome::Declined), false, || true).is_none());
        message.call = None;

        let mut call = parley_core::CallView {
            id: "c".repeat(32),
            user_id: "bob".into(),
            outgoing: false,
            video: false,
            phase: CallPhase::RingingHere,
            end: None,
            remote_audio: true,
            remote_video: false,
            started_at: 1,
            answered_at: None,
        };
        let ringing = worth_notifying(&CoreEvent::Call { call: call.clone() }, false, || true).unwrap();
        assert_eq!(
            (ringing.user_id.as_str(), ringing.text.as_str()),
            ("bob", "Incoming audio call")
        );
        assert!(worth_notifying(&CoreEvent::Call { call: call.clone() }, true, || true).is_none());
        call.phase = CallPhase::Active;
        assert!(worth_notifying(&CoreEvent::Call { call }, false, || true).is_none());
    }

    #[test]
    fn the_title_counts_unread_messages() {
        assert_eq!(window_title(0), "Parley");
        assert_eq!(window_title(12), "(12) Parley");
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
