//! This device's long-term identity key: made once per profile, its private half kept in the
//! OS keyring beside the session token (never in a file). The profile's id is the device id
//! contacts pin it under.

use parley_peer::Identity;

use crate::error::CoreError;
use crate::secrets::SecretStore;

/// The keyring entry's name.
const KEYRING_NAME: &str = "identity-key";

/// The identity in the keyring, or a new one saved there. A keyring that lost it means a new
/// identity: contacts see a changed key (and must compare safety numbers again), exactly as
/// they should when a device is reinstalled.
pub(crate) fn load_or_create(secrets: &SecretStore, profile_id: &str) -> Result<Identity, CoreError> {
    if let Some(text) = secrets.load_secret(profile_id, KEYRING_NAME)? {
        let mut secret = zeroize::Zeroizing::new([0u8; 32]);
        match hex::decode_to_slice(text.trim(), &mut secret[..]) {
            Ok(()) => return Ok(Identity::from_secret_bytes(&secret, profile_id)),
            Err(_) => tracing::warn!("the identity key in the keyring is unreadable: making a new one"),
        }
    }
    let identity = Identity::generate(profile_id);
    let secret = zeroize::Zeroizing::new(hex::encode(*identity.secret_bytes()));
    secrets.save_secret(profile_id, KEYRING_NAME, &secret)?;
    tracing::info!(key = %identity.public(), "new identity key");
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::StoreKind;

    #[test]
    fn the_identity_is_kept_in_the_keyring() {
        let secrets = SecretStore::open(StoreKind::Memory).unwrap();
        let first = load_or_create(&secrets, "p1").unwrap();
        let again = load_or_create(&secrets, "p1").unwrap();
        assert_eq!(first.public(), again.public());
        assert_eq!(again.device(), "p1");
        let other = load_or_create(&secrets, "p2").unwrap();
        assert_ne!(first.public(), other.public());
    }
}
