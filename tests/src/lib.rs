//! Parley's cross-crate and end-to-end tests.
//!
//! Unit tests live next to the code in each crate. This package holds the tests that need more
//! than one of them at once: the app (`parley`) talking to a real signaling server
//! (`parley-signal`), several clients in one room, and the built app driven through WebDriver.
//! The tests go in `tests/tests/*.rs`; this library is the place for the helpers they share
//! (starting a server on a free port, temporary accounts, clients).
