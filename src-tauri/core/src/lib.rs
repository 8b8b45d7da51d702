//! Parley's app core: everything a user does except drawing pixels. Plain Rust with no Tauri
//! types, so it runs headless: the desktop app's commands are a thin adapter over it, and
//! `parley-cli` drives the same code for scripting, bots and black-box tests.

pub mod account;
pub mod chat;
pub mod client;
pub mod embedded;
pub mod events;
pub mod history;
pub mod peer;
pub mod presence;
pub mod profile;
pub mod secrets;

mod app;
pub use app::{Core, CoreError, CoreOptions};
