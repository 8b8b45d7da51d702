//! The server driven from outside, over real HTTP and WebSockets on loopback: one test binary,
//! one module per area (linking one binary instead of eight saves minutes per build).

mod accounts;
mod avatars;
#[cfg(all(unix, feature = "redis"))]
mod cluster;
mod common;
mod durability;
mod meta;
mod peerjs;
#[cfg(all(unix, feature = "redis"))]
mod redis_accounts;
mod rooms_ws;
mod tls;
