//! PeerServer's wire format: JSON text frames `{type, src?, dst?, payload?}`.
//!
//! Incoming frames are parsed borrowing from the received buffer, and the payload is kept as
//! raw JSON: the server never looks inside an SDP or ICE candidate, so decoding it into a
//! `Value` tree would only cost allocations.

use std::borrow::Cow;

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Every frame type PeerServer 1.x knows, in either direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum MessageType {
    Open,
    IdTaken,
    InvalidKey,
    Error,
    Heartbeat,
    Offer,
    Answer,
    Candidate,
    Leave,
    Expire,
}

/// The subset a client may send. A separate enum so that a client sending `OPEN` or `ERROR`
/// gets "unknown variant" from serde instead of needing a hand-written check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum ClientType {
    Heartbeat,
    Offer,
    Answer,
    Candidate,
    Leave,
    Expire,
}

impl From<ClientType> for MessageType {
    fn from(kind: ClientType) -> Self {
        match kind {
            ClientType::Heartbeat => MessageType::Heartbeat,
            ClientType::Offer => MessageType::Offer,
            ClientType::Answer => MessageType::Answer,
            ClientType::Candidate => MessageType::Candidate,
            ClientType::Leave => MessageType::Leave,
            ClientType::Expire => MessageType::Expire,
        }
    }
}

/// A frame as a client sends it. `src` is deliberately not read: the server always stamps the
/// sender's own id, so a client cannot impersonate another peer.
#[derive(Debug, Deserialize)]
pub struct ClientFrame<'a> {
    #[serde(rename = "type")]
    pub kind: ClientType,
    #[serde(borrow, default)]
    pub dst: Option<Id<'a>>,
    #[serde(borrow, default)]
    pub payload: Option<&'a RawValue>,
}

/// A peer id borrowed from the frame when possible. `Cow` because a JSON string containing
/// escapes cannot be borrowed as-is; the newtype exists because serde only borrows a `Cow`
/// that is a field itself, not one nested in an `Option`.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Id<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl<'a> ClientFrame<'a> {
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// A frame the server sends; serialized once per relay, then shared by reference count.
#[derive(Debug, Serialize)]
pub struct ServerFrame<'a> {
    #[serde(rename = "type")]
    pub kind: MessageType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<&'a RawValue>,
}

impl ServerFrame<'_> {
    pub fn encode(&self) -> Utf8Bytes {
        let hint = 48
            + self.src.map_or(0, str::len)
            + self.dst.map_or(0, str::len)
            + self.payload.map_or(0, |p| p.get().len());
        let mut bytes = Vec::with_capacity(hint);
        // Writing into a Vec cannot fail and serde_json only emits UTF-8.
        serde_json::to_writer(&mut bytes, self).expect("serializing to a Vec cannot fail");
        Utf8Bytes::try_from(bytes).expect("serde_json writes UTF-8")
    }
}

/// `{type, src, dst, payload}` as relayed to `dst`.
pub fn relayed(kind: MessageType, src: &str, dst: &str, payload: Option<&RawValue>) -> Utf8Bytes {
    ServerFrame {
        kind,
        src: Some(src),
        dst: Some(dst),
        payload,
    }
    .encode()
}

/// `{type, payload: {msg}}`, the shape of ERROR and ID-TAKEN.
pub fn with_msg(kind: MessageType, msg: &str) -> Utf8Bytes {
    #[derive(Serialize)]
    struct Msg<'a> {
        msg: &'a str,
    }
    #[derive(Serialize)]
    struct Frame<'a> {
        #[serde(rename = "type")]
        kind: MessageType,
        payload: Msg<'a>,
    }
    let text = serde_json::to_string(&Frame {
        kind,
        payload: Msg { msg },
    })
    .expect("serializing to a String cannot fail");
    Utf8Bytes::from(text)
}

pub fn error(msg: &str) -> Utf8Bytes {
    with_msg(MessageType::Error, msg)
}

pub fn open() -> Utf8Bytes {
    Utf8Bytes::from_static(r#"{"type":"OPEN"}"#)
}

/// PeerServer's own wording, which PeerJS clients surface to users.
pub mod msgs {
    pub const INVALID_KEY: &str = "Invalid key provided";
    pub const INVALID_WS_PARAMETERS: &str = "No id, token, or key supplied to websocket server";
    pub const CONNECTION_LIMIT_EXCEED: &str = "Server has reached its concurrent user limit";
    pub const ID_TAKEN: &str = "ID is taken";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offer_borrowing_payload() {
        let text = r#"{"type":"OFFER","dst":"bob","src":"forged","payload":{"sdp":"v=0\r\n","type":"offer"}}"#;
        let frame = ClientFrame::parse(text).unwrap();
        assert_eq!(frame.kind, ClientType::Offer);
        assert!(matches!(frame.dst, Some(Id(Cow::Borrowed("bob")))));
        assert_eq!(frame.payload.unwrap().get(), r#"{"sdp":"v=0\r\n","type":"offer"}"#);
    }

    #[test]
    fn rejects_server_only_and_unknown_types() {
        assert!(ClientFrame::parse(r#"{"type":"OPEN"}"#).is_err());
        assert!(ClientFrame::parse(r#"{"type":"NOPE"}"#).is_err());
        assert!(ClientFrame::parse(r#"{"dst":"x"}"#).is_err());
        assert!(ClientFrame::parse("not json").is_err());
    }

    #[test]
    fn relayed_frame_round_trips() {
        let payload = RawValue::from_string(r#"{"candidate":"a \"quoted\" one"}"#.into()).unwrap();
        let text = relayed(MessageType::Candidate, "al\"ice", "bob", Some(&payload));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["type"], "CANDIDATE");
        assert_eq!(value["src"], "al\"ice");
        assert_eq!(value["dst"], "bob");
        assert_eq!(value["payload"]["candidate"], "a \"quoted\" one");
    }

    #[test]
    fn type_names_match_peerserver() {
        for (kind, name) in [
            (MessageType::Open, "OPEN"),
            (MessageType::IdTaken, "ID-TAKEN"),
            (MessageType::InvalidKey, "INVALID-KEY"),
            (MessageType::Error, "ERROR"),
            (MessageType::Heartbeat, "HEARTBEAT"),
            (MessageType::Expire, "EXPIRE"),
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
            assert_eq!(serde_json::from_value::<MessageType>(name.into()).unwrap(), kind);
        }
        assert_eq!(&*error("x"), r#"{"type":"ERROR","payload":{"msg":"x"}}"#);
        assert_eq!(
            &*with_msg(MessageType::IdTaken, msgs::ID_TAKEN),
            r#"{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}"#
        );
    }
}
