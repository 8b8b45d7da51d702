//! The cross-crate tests, in one binary (one link of the whole dependency graph instead of
//! four): people chatting through the front door and a real signaling server, the session's life
//! cycle as the app runs it, a hostile peer, and the `parley-cli` binary as a black box.

// Tests report what they waited for and what they skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod chat;
mod cli;
mod hostile_peer;
mod sessions;
