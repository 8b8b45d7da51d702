//! The cross-crate tests, in one binary (one link of the whole dependency graph instead of
//! three): people chatting through the front door and a real signaling server, the session's life
//! cycle as the app runs it, and a hostile peer. (`parley-cli` is tested as a black box in its own
//! crate, `src-tauri/cli/tests/`, where cargo builds the binary for the test.)

// Tests report what they waited for and what they skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bridged_calls;
mod calls;
mod chat;
mod files;
mod hostile_peer;
mod message_actions;
mod servers;
mod sessions;
mod trust;
