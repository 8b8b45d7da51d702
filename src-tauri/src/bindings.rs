//! The window's IPC contract in TypeScript, generated from the Rust types it is made of, so the
//! UI and the core cannot drift apart: `ui/src/types.ts` is this module's output. A test fails
//! when the file is stale; `PARLEY_UPDATE_BINDINGS=1 cargo test -p parley bindings` rewrites it.

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ts_rs::{Config, TS};

    use crate::models::{AppInfo, MediaCaps, Numbered};
    use crate::settings::{IceCredential, IceServerSetting, Settings, Theme};
    use crate::startup::StartupStatus;

    /// Where the UI imports its types from.
    const TYPES_TS: &str = "../ui/src/types.ts";

    /// `export type …` for `T`.
    fn export<T: TS>(config: &Config) -> String {
        format!("export {}\n", T::decl(config))
    }

    fn typescript() -> String {
        // Times and sequence numbers are i64 in Rust and well inside a double's 53 bits: plain
        // numbers, not bigint.
        let config = Config::new().with_large_int("number");
        let commands: &[&str] = with_commands!(command_names);
        let quoted: Vec<String> = commands.iter().map(|c| format!("'{c}'")).collect();
        let mut out = String::from(
            "// Generated from the Rust types by src-tauri/src/bindings.rs: do not edit.\n\
             // `PARLEY_UPDATE_BINDINGS=1 cargo test -p parley bindings` writes it again.\n\n",
        );
        out += "// The signaling server's types (parley-protocol).\n";
        out += &export::<parley_core::User>(&config);
        out += &export::<parley_core::Peer>(&config);
        out += &export::<parley_core::RoomSummary>(&config);
        out += "\n// The history (parley-history).\n";
        out += &export::<parley_core::Direction>(&config);
        out += &export::<parley_core::DeliveryState>(&config);
        out += &export::<parley_core::Reaction>(&config);
        out += &export::<parley_core::ReplyPreview>(&config);
        out += &export::<parley_core::TransferState>(&config);
        out += &export::<parley_core::FileTransfer>(&config);
        out += &export::<parley_core::CallOutcome>(&config);
        out += &export::<parley_core::CallRecord>(&config);
        out += &export::<parley_core::Message>(&config);
        out += &export::<parley_core::Conversation>(&config);
        out += &export::<parley_core::Page>(&config);
        out += "\n// The core's front door (parley-core).\n";
        out += &export::<parley_core::ServerChoice>(&config);
        out += &export::<parley_core::Connection>(&config);
        out += &export::<parley_core::ErrorInfo>(&config);
        out += &export::<parley_core::RoomState>(&config);
        out += &export::<parley_core::Snapshot>(&config);
        out += &export::<parley_core::Contact>(&config);
        out += &export::<parley_core::SearchResult>(&config);
        out += &export::<parley_core::SafetyNumber>(&config);
        out += &export::<parley_core::Sharing>(&config);
        out += &export::<parley_core::Route>(&config);
        out += &export::<parley_core::DiscoveredServer>(&config);
        out += &export::<parley_core::Party>(&config);
        out += &export::<parley_core::CallPhase>(&config);
        out += &export::<parley_core::CallEnd>(&config);
        out += &export::<parley_core::CallView>(&config);
        out += &export::<parley_core::SdpKind>(&config);
        out += &export::<parley_core::CallIceServer>(&config);
        out += &export::<parley_core::CallSignal>(&config);
        out += &export::<parley_core::MediaConnectionState>(&config);
        out += &export::<parley_core::CallMicrophone>(&config);
        out += &export::<parley_core::CallSpeaker>(&config);
        out += &export::<parley_core::MediaEvent>(&config);
        out += &export::<parley_core::CoreEvent>(&config);
        out += &export::<parley_core::StoreKind>(&config);
        out += "\n// The app (src-tauri).\n";
        out += &export::<Numbered<()>>(&config).replace("Numbered<T = ()>", "Numbered<T>");
        out += &export::<Theme>(&config);
        out += &export::<IceServerSetting>(&config);
        out += &export::<Settings>(&config);
        out += &export::<IceCredential>(&config);
        out += &export::<MediaCaps>(&config);
        out += &export::<AppInfo>(&config);
        out += &export::<StartupStatus>(&config);
        out += "\n// Every command the page may call (src-tauri/src/command_list.rs).\n";
        out += &format!("export const COMMANDS = [{}] as const;\n", quoted.join(", "));
        out += "export type Command = (typeof COMMANDS)[number];\n";
        out += "\n// Bounds the core and the server enforce, counted in characters (Unicode scalar values:\n";
        out += "// `[...text].length` in JavaScript, not `text.length`).\n";
        out += "export const LIMITS = {\n";
        for (name, value) in [
            ("message", parley_core::MAX_BODY_CHARS),
            ("username", parley_protocol::validate::USERNAME_MAX),
            ("usernameMin", parley_protocol::validate::USERNAME_MIN),
            ("displayName", parley_protocol::validate::DISPLAY_NAME_MAX),
            ("bio", parley_protocol::validate::BIO_MAX),
            ("status", parley_protocol::validate::STATUS_MAX),
            ("room", parley_protocol::validate::ROOM_MAX),
            ("passwordMin", parley_protocol::validate::PASSWORD_MIN),
            // Milliseconds, not characters: how long after sending a message can be edited or
            // deleted for everyone.
            ("editWindowMs", parley_core::EDIT_WINDOW_MS as usize),
        ] {
            out += &format!("  {name}: {value},\n");
        }
        out += "} as const;\n";
        out
    }

    #[test]
    fn the_ui_types_are_generated_from_the_rust_types() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(TYPES_TS);
        let wanted = typescript();
        if std::env::var_os("PARLEY_UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &wanted).unwrap();
            return;
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == wanted,
            "{} is stale: run `PARLEY_UPDATE_BINDINGS=1 cargo test -p parley bindings` and commit it",
            path.display()
        );
    }
}
