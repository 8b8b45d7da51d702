//! Declares the app's own commands to Tauri's access control, so the page may call only those
//! its capability (`capabilities/default.json`) grants.

/// Every `#[tauri::command]` in `src/commands.rs`. A command missing here cannot be granted.
const COMMANDS: &[&str] = &[
    "app_info",
    "snapshot",
    "restore_session",
    "sign_in",
    "sign_up",
    "sign_out",
    "room_directory",
    "join_room",
    "leave_room",
    "contacts",
    "open_conversation",
    "history_page",
    "history_after",
    "message_cursor",
    "send_message",
    "mark_read",
    "set_typing",
    "search",
    "update_profile",
    "upload_avatar",
    "avatar",
    "get_settings",
    "set_settings",
    "report_media_caps",
    "ui_ready",
];

fn main() {
    let attributes = tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build failed: {e:#}");
    }
}
