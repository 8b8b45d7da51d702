//! One-to-one calls: the signaling protocol ([`wire`]), each call's state machine
//! ([`machine`]) and what the page sees ([`models`]). The media itself runs in the page's own
//! WebRTC (or, where the webview has none, a bridge to Rust media tracks); the core only
//! carries its negotiation, over the peers' proven data channel.

mod book;
mod bridge;
mod machine;
mod models;
mod relay;
mod wire;

pub use book::CallError;
pub(crate) use book::{Action, CallBook, Ended};
pub(crate) use bridge::MediaBridge;
pub(crate) use machine::Timeouts;
pub use models::{
    CallEnd, CallIceServer, CallMicrophone, CallPhase, CallSignal, CallSpeaker, CallView, MediaConnectionState,
    MediaEvent, Party, SdpKind,
};
pub(crate) use relay::{RelayError, Relayed};
pub(crate) use wire::CallFrame;
