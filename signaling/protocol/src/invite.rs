//! How a device learns to trust a server with a self-signed certificate: the certificate's
//! SHA-256 [`Fingerprint`], and the [`Invite`] that carries it together with the server's
//! address (`parley://join?server=…&fp=…`, as text and as a QR code).
//!
//! A client that has a fingerprint checks the certificate the server presents against it and
//! nothing else (no certificate authority, no host name): a LAN server has neither a public name
//! nor a CA-signed certificate, and the fingerprint, handed over by its owner, is a stronger
//! statement than either. See `docs/networks.md`.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The SHA-256 of a certificate's DER encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

/// Why a fingerprint or invite was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInvite(String);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_certificate(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }

    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compact form for invites: unpadded base64url (43 characters).
    pub fn to_base64url(&self) -> String {
        base64url_encode(&self.0)
    }

    /// What people compare by eye: 16 groups of four hex digits (`3F2A 91BC …`), the same
    /// wherever Parley shows one.
    pub fn grouped(&self) -> String {
        let hex: String = self.0.iter().map(|b| format!("{b:02X}")).collect();
        hex.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).expect("hex is ASCII"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for Fingerprint {
    /// `sha256:` and the grouped hex form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.grouped())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = InvalidInvite;

    /// Accepts every form Parley or a certificate viewer prints: hex with or without `:`,
    /// spaces or a `sha256:`/`SHA256 ` prefix (`openssl x509 -fingerprint -sha256`), or the
    /// invite's base64url.
    fn from_str(input: &str) -> Result<Fingerprint, InvalidInvite> {
        let trimmed = input.trim();
        let lower = trimmed.to_ascii_lowercase();
        let body = ["sha256 fingerprint=", "sha256:", "sha256=", "sha256 "]
            .iter()
            .find_map(|p| lower.strip_prefix(p).map(|_| &trimmed[p.len()..]))
            .unwrap_or(trimmed);
        let hex: String = body.chars().filter(|c| !matches!(c, ':' | ' ' | '-' | '\t')).collect();
        let bytes = if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex"))
                .collect::<Vec<_>>()
        } else {
            base64url_decode(body.trim()).ok_or_else(|| {
                InvalidInvite(format!(
                    "{trimmed:?} is not a certificate fingerprint: expected 64 hex digits (SHA-256)"
                ))
            })?
        };
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| InvalidInvite(format!("{trimmed:?} is not a SHA-256 fingerprint: it must be 32 bytes")))?;
        Ok(Fingerprint(bytes))
    }
}

/// A server's address and the fingerprint of its certificate, as its owner hands them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The server's base URL, `https://192.168.1.20:7890`.
    pub server: String,
    /// Its certificate's fingerprint.
    pub fingerprint: Fingerprint,
}

/// The scheme and path of an invite link.
pub const INVITE_PREFIX: &str = "parley://join?";

impl Invite {
    /// Whether `input` looks like an invite (rather than a plain address).
    pub fn looks_like(input: &str) -> bool {
        input.trim().to_ascii_lowercase().starts_with(INVITE_PREFIX)
    }
}

impl fmt::Display for Invite {
    /// `parley://join?server=<percent-encoded URL>&fp=<base64url>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{INVITE_PREFIX}server={}&fp={}",
            percent_encode(&self.server),
            self.fingerprint.to_base64url()
        )
    }
}

impl FromStr for Invite {
    type Err = InvalidInvite;

    fn from_str(input: &str) -> Result<Invite, InvalidInvite> {
        let trimmed = input.trim();
        if !Invite::looks_like(trimmed) {
            return Err(InvalidInvite(format!(
                "an invite starts with {INVITE_PREFIX:?}; this is {trimmed:?}"
            )));
        }
        let query = &trimmed[INVITE_PREFIX.len()..];
        let (mut server, mut fingerprint) = (None, None);
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "server" => {
                    server = Some(
                        percent_decode(value)
                            .ok_or_else(|| InvalidInvite("the invite's server address is garbled".into()))?,
                    )
                }
                "fp" => fingerprint = Some(value.parse::<Fingerprint>()?),
                // Later versions may add fields; an older app ignores them.
                _ => {}
            }
        }
        let fingerprint =
            fingerprint.ok_or_else(|| InvalidInvite("the invite has no certificate fingerprint (fp=…)".into()))?;
        let server = server
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| InvalidInvite("the invite has no server address (server=…)".into()))?;
        // A fingerprint only means something over TLS.
        if !server.trim().to_ascii_lowercase().starts_with("https://") {
            return Err(InvalidInvite(format!(
                "the invite names {server}, which is not an https:// address"
            )));
        }
        Ok(Invite { server, fingerprint })
    }
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(BASE64URL[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    out
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Fingerprint {
        Fingerprint::of_certificate(b"not really DER, but any bytes hash")
    }

    #[test]
    fn a_fingerprint_reads_back_from_every_printed_form() {
        let fp = sample();
        let colon_hex: String = fp
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        for form in [
            fp.to_string(),
            fp.grouped(),
            fp.to_base64url(),
            colon_hex.clone(),
            colon_hex.to_lowercase(),
            format!("SHA256 Fingerprint={colon_hex}"),
            format!("  sha256:{}  ", fp.grouped()),
        ] {
            assert_eq!(form.parse::<Fingerprint>(), Ok(fp), "{form}");
        }
        assert_eq!(fp.to_base64url().len(), 43);
        assert_eq!(fp.grouped().split(' ').count(), 16);
    }

    #[test]
    fn wrong_fingerprints_are_refused_with_a_reason() {
        for bad in ["", "sha256:", "ABCD", &"A".repeat(63), &"G".repeat(64), "aGVsbG8"] {
            let e = bad.parse::<Fingerprint>().unwrap_err();
            assert!(e.to_string().contains("fingerprint"), "{bad}: {e}");
        }
    }

    #[test]
    fn an_invite_round_trips_and_survives_odd_addresses() {
        for server in [
            "https://192.168.1.20:7890",
            "https://[fe80::1%25eth0]:7890",
            "https://chat.example.org/parley path/&x=1",
        ] {
            let invite = Invite {
                server: server.to_owned(),
                fingerprint: sample(),
            };
            let text = invite.to_string();
            assert!(text.starts_with(INVITE_PREFIX));
            assert!(!text.contains(' '), "{text}");
            assert_eq!(text.parse::<Invite>(), Ok(invite));
        }
    }

    #[test]
    fn broken_invites_say_what_is_missing() {
        let fp = sample().to_base64url();
        let cases = [
            ("https://x".to_owned(), "starts with"),
            ("parley://join?server=https%3A%2F%2Fx".to_owned(), "fingerprint"),
            (format!("parley://join?fp={fp}"), "server address"),
            (format!("parley://join?server=%ZZ&fp={fp}"), "garbled"),
            (format!("parley://join?server=http%3A%2F%2Fx&fp={fp}"), "not an https"),
            (
                "parley://join?server=https%3A%2F%2Fx&fp=short".to_owned(),
                "fingerprint",
            ),
        ];
        for (text, says) in cases {
            let e = text.parse::<Invite>().unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
        let later = format!("parley://join?v=2&server=https%3A%2F%2Fx&fp={fp}&name=Kim");
        assert_eq!(later.parse::<Invite>().unwrap().server, "https://x");
    }
}
