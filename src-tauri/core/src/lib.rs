//! Parley's app core: everything a user does except drawing pixels. Plain Rust with no Tauri
//! types, so it runs headless: the desktop app's commands are a thin adapter over it, and
//! `parley-cli` drives the same code for scripting, bots and black-box tests.

pub mod account;
pub mod chat;
pub mod client;
pub mod embedded;
pub mod events;
pub mod presence;
pub mod profile;
pub mod secrets;

mod app;
pub use app::{Core, CoreError, CoreOptions};

// The layers the core is built on, until the core's own front door covers what its users need.
pub use parley_history as history;
pub use parley_peer as peer;
