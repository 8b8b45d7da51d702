//! A device's long-term identity: an Ed25519 key pair, and what a connection proved about the
//! remote's. The private half never leaves this type except as [`Identity::secret_bytes`], for
//! the keyring.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

/// Longest device id accepted from a remote.
pub const MAX_DEVICE_ID_LEN: usize = 64;

/// This device's identity: its signing key and the device id it is known by.
pub struct Identity {
    key: SigningKey,
    device: String,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("public", &self.public())
            .field("device", &self.device)
            .finish()
    }
}

impl Identity {
    /// A new random identity for `device` (from the OS's random source).
    pub fn generate(device: &str) -> Identity {
        Identity {
            key: SigningKey::generate(&mut rand::rngs::OsRng),
            device: device.to_owned(),
        }
    }

    /// The identity kept as [`Identity::secret_bytes`].
    pub fn from_secret_bytes(secret: &[u8; 32], device: &str) -> Identity {
        Identity {
            key: SigningKey::from_bytes(secret),
            device: device.to_owned(),
        }
    }

    /// The private key, for the keyring (wiped from memory when dropped).
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The public key.
    pub fn public(&self) -> IdentityKey {
        IdentityKey(self.key.verifying_key().to_bytes())
    }

    /// The device id.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Signs `message` with this device's key. Callers put a context string of their own in
    /// front (the handshake does, relayed call frames do), so a signature made for one purpose
    /// never verifies for another.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// A public identity key: 32 bytes, shown as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey(pub [u8; 32]);

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey({self})")
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl IdentityKey {
    /// The key from its 64 hex digits.
    pub fn from_hex(text: &str) -> Option<IdentityKey> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(IdentityKey(bytes))
    }

    /// Whether `signature` is this key's over `message`. Strict: no malleable or small-order
    /// signatures and keys.
    pub fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        key.verify_strict(message, &Signature::from_bytes(signature)).is_ok()
    }
}

/// What a connection proved about the remote: the identity key that holds the DTLS certificate
/// this channel runs through, and the device id it claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteIdentity {
    /// The remote device's identity key.
    pub key: IdentityKey,
    /// The remote's device id (what pinning keys its key by).
    pub device: String,
    /// How long the handshake took, from this end's channel opening to the remote's proof
    /// verifying: what proving identities adds to a connection's set-up.
    pub proved_in: std::time::Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_sign() {
        let me = Identity::generate("laptop");
        let again = Identity::from_secret_bytes(&me.secret_bytes(), "laptop");
        assert_eq!(me.public(), again.public());
        let hex = me.public().to_string();
        assert_eq!(IdentityKey::from_hex(&hex), Some(me.public()));
        assert_eq!(IdentityKey::from_hex("zz"), None);
        let signature = me.sign(b"hello");
        assert!(me.public().verifies(b"hello", &signature));
        assert!(!me.public().verifies(b"hellO", &signature));
        assert!(!Identity::generate("x").public().verifies(b"hello", &signature));
        assert!(!format!("{me:?}").contains(&IdentityKey(*me.secret_bytes()).to_string()));
    }
}
