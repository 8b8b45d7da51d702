//! Integration tests of the app core against the real signaling server, started in-process on a
//! free port. One test binary for all modules: every extra binary costs a link of the whole
//! dependency graph.

mod account;
mod presence;
mod profile;
mod secrets;
mod support;
