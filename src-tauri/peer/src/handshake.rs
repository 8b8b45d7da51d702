//! The identity handshake: the first frames on every new channel, before anything else is
//! accepted. Each side proves that the DTLS certificate this channel runs through belongs to
//! the identity key it claims, by signing both certificates' fingerprints as it sees them, both
//! sides' fresh nonces, both keys and its own role. A relay that terminated DTLS on both sides
//! (a man in the middle) gives each side a different view of the fingerprints, so the
//! signatures do not verify; fresh nonces make a signature of an earlier session useless.
//!
//! webrtc-rs checks the certificate the remote presents in the DTLS handshake against the
//! `a=fingerprint` of the remote description (that check is never disabled here), so the
//! fingerprints in the descriptions are those of the certificates in use.
//!
//! Frames (JSON, documented in `docs/peer-protocol.md`): each side sends `id-hello` when its
//! end opens, and on the first `id-hello` from the remote sends `id-hello` again (the first may
//! have reached the remote before its end was open, which webrtc 0.21 drops) and then
//! `id-proof`; until the remote's `id-hello` arrives, it repeats its own with a growing pause
//! (a relay in between may have lost both first ones). A side is done when the remote's
//! `id-proof` verifies.

use serde::{Deserialize, Serialize};

use crate::identity::{Identity, IdentityKey, RemoteIdentity, MAX_DEVICE_ID_LEN};
use crate::session::Role;

/// The handshake's version; a remote speaking another is refused.
pub const HANDSHAKE_VERSION: u32 = 1;

/// Domain separation: these signatures can never be mistaken for any other Parley signature.
const CONTEXT: &[u8] = b"parley identity handshake v1";

/// A handshake frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum HandshakeFrame {
    /// Who the sender claims to be, and its fresh nonce.
    IdHello {
        v: u32,
        /// The identity key, 64 hex digits.
        key: String,
        /// The device id.
        device: String,
        /// 32 random bytes, 64 hex digits.
        nonce: String,
    },
    /// The sender's signature over the transcript, 128 hex digits.
    IdProof { sig: String },
}

impl HandshakeFrame {
    pub(crate) fn encode(&self) -> bytes::Bytes {
        serde_json::to_vec(self).expect("handshake frames serialize").into()
    }
}

/// Why a handshake failed. Every failure ends the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The remote's proof does not verify against what this side sees: someone between the
    /// two ends (the server?) terminated the encrypted connection, or the remote replayed an
    /// old proof.
    #[error("the peer's identity proof does not match this connection: someone may be intercepting it")]
    Mismatch,
    /// Not a handshake frame, or a malformed one.
    #[error("invalid identity handshake: {0}")]
    Invalid(String),
    /// The remote claimed a second, different identity on the same channel.
    #[error("the peer changed its claimed identity during the handshake")]
    Changed,
    /// The descriptions carry no DTLS fingerprint to bind to.
    #[error("no DTLS fingerprint in the session descriptions")]
    NoFingerprint,
}

/// The DTLS fingerprints of both ends, as this side sees them (`algorithm value`, from the
/// first `a=fingerprint` line of each description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprints {
    pub(crate) local: String,
    pub(crate) remote: String,
}

/// The first `a=fingerprint:` value of an SDP, normalised (algorithm lower case, hex upper case).
pub(crate) fn sdp_fingerprint(sdp: &str) -> Option<String> {
    let value = sdp
        .lines()
        .find_map(|line| line.trim().strip_prefix("a=fingerprint:"))?
        .trim();
    let (algorithm, hex) = value.split_once(' ')?;
    Some(format!(
        "{} {}",
        algorithm.to_ascii_lowercase(),
        hex.trim().to_ascii_uppercase()
    ))
}

fn decode_hex<const N: usize>(text: &str, what: &str) -> Result<[u8; N], HandshakeError> {
    let invalid = || HandshakeError::Invalid(format!("{what} must be {} hex digits", 2 * N));
    if text.len() != 2 * N || !text.is_ascii() {
        return Err(invalid());
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| invalid())?;
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One side's claim, from its `id-hello`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Claim {
    key: IdentityKey,
    device: String,
    nonce: [u8; 32],
}

/// What to do after a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send these frames (in order) and wait for more.
    Send(Vec<HandshakeFrame>),
    /// Nothing to send; wait for more.
    Wait,
    /// The remote proved its identity.
    Done(RemoteIdentity),
}

/// One side of one channel's handshake.
pub(crate) struct Handshake {
    started: std::time::Instant,
    role: Role,
    /// Read once when the channel opens: the descriptions are final by then.
    fingerprints: Fingerprints,
    local: Claim,
    remote: Option<Claim>,
}

impl Handshake {
    pub(crate) fn new(role: Role, identity: &Identity, fingerprints: Fingerprints) -> Handshake {
        let mut nonce = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        Handshake {
            started: std::time::Instant::now(),
            role,
            fingerprints,
            local: Claim {
                key: identity.public(),
                device: identity.device().to_owned(),
                nonce,
            },
            remote: None,
        }
    }

    /// Whether the remote's `id-hello` has arrived (until then, ours is sent again now and
    /// then: a first one that reached the remote before its end was open is gone).
    pub(crate) fn heard_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// The `id-hello` to send when this end opens.
    pub(crate) fn hello(&self) -> HandshakeFrame {
        HandshakeFrame::IdHello {
            v: HANDSHAKE_VERSION,
            key: self.local.key.to_string(),
            device: self.local.device.clone(),
            nonce: hex(&self.local.nonce),
        }
    }

    /// Takes one frame from the remote.
    pub(crate) fn on_frame(&mut self, data: &[u8], identity: &Identity) -> Result<Step, HandshakeError> {
        let frame: HandshakeFrame =
            serde_json::from_slice(data).map_err(|e| HandshakeError::Invalid(format!("not a handshake frame: {e}")))?;
        match frame {
            HandshakeFrame::IdHello { v, key, device, nonce } => {
                if v != HANDSHAKE_VERSION {
                    return Err(HandshakeError::Invalid(format!("unsupported handshake version {v}")));
                }
                if device.is_empty() || device.len() > MAX_DEVICE_ID_LEN || device.chars().any(char::is_control) {
                    return Err(HandshakeError::Invalid("bad device id".into()));
                }
                let claim = Claim {
                    key: IdentityKey(decode_hex(&key, "key")?),
                    device,
                    nonce: decode_hex(&nonce, "nonce")?,
                };
                match &self.remote {
                    // The resend of a hello we already have.
                    Some(known) if *known == claim => Ok(Step::Wait),
                    Some(_) => Err(HandshakeError::Changed),
                    None => {
                        self.remote = Some(claim);
                        let transcript = self.transcript(self.role)?;
                        let sig = identity.sign(&transcript);
                        Ok(Step::Send(vec![
                            self.hello(),
                            HandshakeFrame::IdProof { sig: hex(&sig) },
                        ]))
                    }
                }
            }
            HandshakeFrame::IdProof { sig } => {
                let Some(remote) = self.remote.clone() else {
                    return Err(HandshakeError::Invalid("a proof before the hello".into()));
                };
                let sig: [u8; 64] = decode_hex(&sig, "signature")?;
                let transcript = self.transcript(self.role.other())?;
                if !remote.key.verifies(&transcript, &sig) {
                    return Err(HandshakeError::Mismatch);
                }
                Ok(Step::Done(RemoteIdentity {
                    key: remote.key,
                    device: remote.device,
                    proved_in: self.started.elapsed(),
                }))
            }
        }
    }

    /// What `signer` signs, built from this side's view: the offerer's and the answerer's
    /// fingerprint, nonce, key and device, then the signer's role.
    fn transcript(&self, signer: Role) -> Result<Vec<u8>, HandshakeError> {
        let fingerprints = &self.fingerprints;
        let remote = self.remote.as_ref().ok_or(HandshakeError::NoFingerprint)?;
        if fingerprints.local.is_empty() || fingerprints.remote.is_empty() {
            return Err(HandshakeError::NoFingerprint);
        }
        let local = (&self.local, fingerprints.local.as_str());
        let remote = (remote, fingerprints.remote.as_str());
        let (offerer, answerer) = match self.role {
            Role::Offerer => (local, remote),
            Role::Answerer => (remote, local),
        };
        let mut out = Vec::with_capacity(512);
        let mut field = |bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(bytes);
        };
        field(CONTEXT);
        for (claim, fingerprint) in [offerer, answerer] {
            field(fingerprint.as_bytes());
            field(&claim.nonce);
            field(&claim.key.0);
            field(claim.device.as_bytes());
        }
        field(match signer {
            Role::Offerer => b"offerer",
            Role::Answerer => b"answerer",
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprints(local: &str, remote: &str) -> Fingerprints {
        Fingerprints {
            local: local.into(),
            remote: remote.into(),
        }
    }

    /// Runs a handshake between two sides with the given views; returns what each concluded.
    fn run(a_view: Fingerprints, b_view: Fingerprints) -> (Result<Step, HandshakeError>, Result<Step, HandshakeError>) {
        let (alice, bob) = (Identity::generate("a-dev"), Identity::generate("b-dev"));
        let mut a = Handshake::new(Role::Offerer, &alice, a_view);
        let mut b = Handshake::new(Role::Answerer, &bob, b_view);
        let Step::Send(from_b) = b.on_frame(&a.hello().encode(), &bob).unwrap() else {
            panic!("b answers a's hello")
        };
        let Step::Send(from_a) = a.on_frame(&from_b[0].encode(), &alice).unwrap() else {
            panic!("a answers b's hello")
        };
        let a_done = a.on_frame(&from_b[1].encode(), &alice);
        assert_eq!(b.on_frame(&from_a[0].encode(), &bob), Ok(Step::Wait), "a resent hello");
        let b_done = b.on_frame(&from_a[1].encode(), &bob);
        (a_done, b_done)
    }

    #[test]
    fn matching_views_prove_both_identities() {
        let (a, b) = run(
            fingerprints("sha-256 AA", "sha-256 BB"),
            fingerprints("sha-256 BB", "sha-256 AA"),
        );
        assert!(
            matches!(a, Ok(Step::Done(RemoteIdentity { ref device, .. })) if device == "b-dev"),
            "{a:?}"
        );
        assert!(
            matches!(b, Ok(Step::Done(RemoteIdentity { ref device, .. })) if device == "a-dev"),
            "{b:?}"
        );
    }

    #[test]
    fn a_man_in_the_middle_makes_both_sides_fail() {
        // Each side talks DTLS with the relay: it sees the relay's certificate as the remote's.
        let (a, b) = run(
            fingerprints("sha-256 AA", "sha-256 M1"),
            fingerprints("sha-256 BB", "sha-256 M2"),
        );
        assert_eq!(a, Err(HandshakeError::Mismatch));
        assert_eq!(b, Err(HandshakeError::Mismatch));
    }

    #[test]
    fn an_old_proof_is_refused() {
        let view_a = fingerprints("sha-256 AA", "sha-256 BB");
        let view_b = fingerprints("sha-256 BB", "sha-256 AA");
        let (alice, bob) = (Identity::generate("a-dev"), Identity::generate("b-dev"));
        // A first session, recorded.
        let mut a1 = Handshake::new(Role::Offerer, &alice, view_a.clone());
        let mut b1 = Handshake::new(Role::Answerer, &bob, view_b);
        let Step::Send(old) = b1.on_frame(&a1.hello().encode(), &bob).unwrap() else {
            panic!()
        };
        assert!(matches!(a1.on_frame(&old[0].encode(), &alice), Ok(Step::Send(_))));
        assert!(matches!(a1.on_frame(&old[1].encode(), &alice), Ok(Step::Done(_))));
        // A second session: the recorder replays Bob's hello and proof; Alice's nonce is new.
        let mut a2 = Handshake::new(Role::Offerer, &alice, view_a);
        assert!(matches!(a2.on_frame(&old[0].encode(), &alice), Ok(Step::Send(_))));
        assert_eq!(a2.on_frame(&old[1].encode(), &alice), Err(HandshakeError::Mismatch));
    }

    #[test]
    fn bad_frames_are_refused() {
        let me = Identity::generate("d");
        let view = fingerprints("sha-256 AA", "sha-256 BB");
        let mut h = Handshake::new(Role::Offerer, &me, view);
        for bad in [
            &b"{\"t\":\"msg\",\"id\":\"x\"}"[..],
            b"not json",
            b"{\"t\":\"id-proof\",\"sig\":\"00\"}",
            b"{\"t\":\"id-hello\",\"v\":1,\"key\":\"zz\",\"device\":\"d\",\"nonce\":\"00\"}",
            b"{\"t\":\"id-hello\",\"v\":9,\"key\":\"\",\"device\":\"d\",\"nonce\":\"\"}",
        ] {
            assert!(h.on_frame(bad, &me).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let other = Identity::generate("x");
        let hello = Handshake::new(Role::Answerer, &other, fingerprints("", "")).hello();
        assert!(matches!(h.on_frame(&hello.encode(), &me), Ok(Step::Send(_))));
        let again = Handshake::new(Role::Answerer, &Identity::generate("y"), fingerprints("", "")).hello();
        assert_eq!(h.on_frame(&again.encode(), &me), Err(HandshakeError::Changed));
    }

    #[test]
    fn fingerprints_are_read_from_sdp() {
        let sdp = "v=0\r\na=group:BUNDLE 0\r\na=fingerprint:SHA-256 ab:cd:EF\r\nm=application 9\r\n";
        assert_eq!(sdp_fingerprint(sdp).as_deref(), Some("sha-256 AB:CD:EF"));
        assert_eq!(sdp_fingerprint("v=0\r\n"), None);
    }
}
