//! The key the history is encrypted with: made once per profile, kept in the OS keyring like
//! the session token, and shown to the person as a recovery code so that a lost keyring does
//! not mean a lost history.
//!
//! Rules, after what other messengers' users lost: a missing or wrong key never makes a new key
//! over an existing history and never deletes it; the history stays locked until the recovery
//! code (or the old keyring) is back.

use std::path::Path;

use parley_history::{History, HistoryError, HistoryKey};

use crate::error::CoreError;
use crate::secrets::SecretStore;

/// The keyring entry's name, beside the session token of the same profile.
const KEYRING_NAME: &str = "history-key";

/// What opening the history found.
pub(crate) struct Opened {
    pub history: History,
    /// The history was encrypted just now (a new profile, or a plaintext history of an earlier
    /// version): the person has not seen its recovery code yet.
    pub newly_encrypted: bool,
}

/// Opens the profile's history at `path` with the key in the keyring: creates the key for a new
/// history, encrypts a plaintext one (atomically), and refuses — without touching anything —
/// when the history exists but the keyring has no key for it, or the wrong one.
///
/// With a `recovery_code` (the history was locked), the code's key opens it instead and, once it
/// has, goes back into the keyring; a code that does not fit changes nothing.
pub(crate) fn open(
    path: &Path,
    secrets: &SecretStore,
    profile_id: &str,
    recovery_code: Option<&str>,
) -> Result<Opened, CoreError> {
    if let Some(code) = recovery_code {
        let key = HistoryKey::from_recovery_code(code).map_err(|_| CoreError::InvalidRecoveryCode)?;
        let history = match History::open(path, &key) {
            Ok(history) => history,
            Err(HistoryError::WrongKey { .. }) => return Err(CoreError::WrongRecoveryCode),
            Err(e) => return Err(e.into()),
        };
        secrets.save_secret(profile_id, KEYRING_NAME, &key.to_hex())?;
        tracing::info!("history key restored from the recovery code");
        return Ok(Opened {
            history,
            newly_encrypted: false,
        });
    }
    let stored = secrets.load_secret(profile_id, KEYRING_NAME)?;
    let exists = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    let plaintext = parley_history::is_plaintext(path).map_err(|source| HistoryError::Io {
        path: path.to_owned(),
        source,
    })?;
    let (key, newly_encrypted) = match stored {
        Some(hex) => match HistoryKey::from_hex(&hex) {
            Ok(key) => (key, !exists || plaintext),
            // Something else wrote the entry: the history's own key is gone from the keyring.
            Err(_) if exists && !plaintext => return Err(CoreError::HistoryLocked { missing: false }),
            Err(_) => (new_key(secrets, profile_id)?, true),
        },
        None if exists && !plaintext => return Err(CoreError::HistoryLocked { missing: true }),
        // Saved before anything is encrypted with it: a crash after this finds the key.
        None => (new_key(secrets, profile_id)?, true),
    };
    if plaintext {
        tracing::info!(path = %path.display(), "encrypting the history of an earlier version");
        parley_history::encrypt_plaintext(path, &key)?;
    }
    match History::open(path, &key) {
        Ok(history) => Ok(Opened {
            history,
            newly_encrypted,
        }),
        Err(HistoryError::WrongKey { .. }) => Err(CoreError::HistoryLocked { missing: false }),
        Err(e) => Err(e.into()),
    }
}

fn new_key(secrets: &SecretStore, profile_id: &str) -> Result<HistoryKey, CoreError> {
    let key = HistoryKey::generate();
    secrets.save_secret(profile_id, KEYRING_NAME, &key.to_hex())?;
    Ok(key)
}

/// The key in the keyring, for showing its recovery code again.
pub(crate) fn stored(secrets: &SecretStore, profile_id: &str) -> Result<HistoryKey, CoreError> {
    let hex = secrets
        .load_secret(profile_id, KEYRING_NAME)?
        .ok_or(CoreError::HistoryLocked { missing: true })?;
    HistoryKey::from_hex(&hex).map_err(|_| CoreError::HistoryLocked { missing: false })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::StoreKind;

    #[tokio::test]
    async fn a_lost_key_locks_the_history_until_the_recovery_code_puts_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let secrets = SecretStore::open(StoreKind::Memory).unwrap();
        let opened = open(&path, &secrets, "p1", None).unwrap();
        assert!(opened.newly_encrypted);
        opened.history.upsert_conversation("bob", "Bob").await.unwrap();
        drop(opened);
        let code = stored(&secrets, "p1").unwrap().to_recovery_code();
        assert!(!open(&path, &secrets, "p1", None).unwrap().newly_encrypted);

        // The keyring is lost (a new, empty one): locked, and nothing changed on disk.
        let bytes = std::fs::read(&path).unwrap();
        let fresh = SecretStore::open(StoreKind::Memory).unwrap();
        assert!(matches!(
            open(&path, &fresh, "p1", None),
            Err(CoreError::HistoryLocked { missing: true })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "no new key, no new database");
        // A wrong code changes nothing; the right one opens it again, with its contents.
        let other = HistoryKey::generate().to_recovery_code();
        assert!(matches!(
            open(&path, &fresh, "p1", Some(&other)),
            Err(CoreError::WrongRecoveryCode)
        ));
        assert!(matches!(
            open(&path, &fresh, "p1", Some("not a code")),
            Err(CoreError::InvalidRecoveryCode)
        ));
        assert!(matches!(
            open(&path, &fresh, "p1", None),
            Err(CoreError::HistoryLocked { .. })
        ));
        let unlocked = open(&path, &fresh, "p1", Some(&code)).unwrap();
        assert_eq!(unlocked.history.conversations().await.unwrap().len(), 1);
        drop(unlocked);
        // The key is back in the keyring: the next start needs no code.
        let again = open(&path, &fresh, "p1", None).unwrap();
        assert_eq!(again.history.conversations().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_plaintext_history_of_an_earlier_version_is_encrypted_on_first_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        {
            let old = History::open_unencrypted(&path).unwrap();
            old.upsert_conversation("bob", "Bob").await.unwrap();
        }
        let secrets = SecretStore::open(StoreKind::Memory).unwrap();
        let opened = open(&path, &secrets, "p1", None).unwrap();
        assert!(opened.newly_encrypted, "its recovery code is shown once");
        assert_eq!(opened.history.conversations().await.unwrap()[0].title, "Bob");
        assert!(!parley_history::is_plaintext(&path).unwrap());
    }
}
