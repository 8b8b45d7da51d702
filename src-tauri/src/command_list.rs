// Every command the page may call, named once. `build.rs` includes this file too: the invoke
// handler (`lib.rs`), the permissions and the window's capability (`build.rs`) and the UI's
// TypeScript `Command` type (`bindings.rs`) all come from this one list, so a command is added
// here and in `commands.rs`, and nowhere else.

/// Calls `$then!` with the name of every command.
macro_rules! with_commands {
    ($then:ident) => {
        $then! {
            app_info,
            startup_status,
            retry_startup,
            unlock_history,
            recovery_code,
            recovery_code_saved,
            snapshot,
            restore_session,
            sign_in,
            sign_up,
            sign_out,
            room_directory,
            join_room,
            leave_room,
            contacts,
            open_conversation,
            history_page,
            history_after,
            message_cursor,
            send_message,
            edit_message,
            delete_message,
            react,
            mark_read,
            set_typing,
            search,
            update_profile,
            upload_avatar,
            avatar,
            safety_numbers,
            trust_server,
            allow_plain_http,
            set_sharing,
            sharing,
            discover_servers,
            verify_contact,
            accept_identity,
            get_settings,
            set_settings,
            report_media_caps,
            start_call,
            answer_call,
            decline_call,
            hang_up,
            call_signal,
            call_media_state,
            media_open,
            media_signal,
            media_send,
            media_receive,
            media_microphone,
            media_speaker,
            media_close,
            set_call_media,
            current_call,
            ui_ready,
            open_url,
            set_unread,
            pick_folder,
            pick_files,
            send_files,
            send_pasted_file,
            accept_file,
            decline_file,
            cancel_file,
            resume_file,
            open_file,
            show_file,
            save_file_as,
            picture,
        }
    };
}

/// The command names as strings.
#[allow(unused_macros)] // the app itself names them only in tests (`bindings.rs`)
macro_rules! command_names {
    ($($command:ident),* $(,)?) => {
        &[$(stringify!($command)),*]
    };
}
