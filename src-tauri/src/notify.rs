//! Desktop notifications for messages that arrive while the window is not focused (and the
//! person has not turned them off). Sent from Rust, so the page is granted no notification
//! permission at all.

use parley_core::events::CoreEvent;
use parley_core::history::Direction;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::state::AppState;

/// Long enough to read in a notification bubble.
const PREVIEW_CHARS: usize = 160;

pub async fn on_event<R: Runtime>(app: &AppHandle<R>, event: &CoreEvent) {
    let CoreEvent::Message { message } = event else { return };
    if message.direction != Direction::Incoming {
        return;
    }
    let focused = app
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false);
    if focused {
        return;
    }
    let state = app.state::<AppState>();
    if !state.settings.load(app).notifications {
        return;
    }
    let title = match state.client.core().history().contact(&message.sender_id).await {
        Ok(Some(user)) => user.display_name,
        _ => "New message".to_owned(),
    };
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
    use super::preview;

    #[test]
    fn previews_are_cut_on_characters() {
        assert_eq!(preview("hi"), "hi");
        let long = "é".repeat(200);
        let cut = preview(&long);
        assert_eq!(cut.chars().count(), 161);
        assert!(cut.ends_with('…'));
    }
}
