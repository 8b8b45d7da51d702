//! Trust on first use: the identity key each contact's device first proved is pinned here, and
//! every later connection is checked against it. The keys are opaque bytes to the history (the
//! peer layer proves them; the core decides what a change means to the person).

use rusqlite::{params, OptionalExtension};

use super::{now_ms, History, HistoryError};

/// What a key a device just proved means, against the pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityCheck {
    /// The first device of this contact ever seen: pinned.
    FirstContact,
    /// The pinned key of this device.
    Known,
    /// Another device of a contact already known: pinned, worth an informational notice.
    NewDevice,
    /// This device proved a different key than the pinned one. For a contact the person had
    /// verified (`verified`), the new key waits for acceptance ([`History::accept_identity`])
    /// and nothing is sent until then; otherwise it replaces the pin, with a notice.
    Changed {
        /// The contact was verified: sending is blocked until the change is accepted.
        verified: bool,
    },
}

/// What [`History::observe_identity`] found: the check, and whether sending to the contact
/// waits for the person (this change, or another device's still pending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The key against the pins.
    pub check: IdentityCheck,
    /// Some device of the contact has a changed key waiting for acceptance.
    pub held: bool,
}

/// A pinned device key of a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedIdentity {
    /// The contact's user id.
    pub user_id: String,
    /// The device id it proved.
    pub device: String,
    /// The pinned key.
    pub key: [u8; 32],
    /// A changed key waiting for the person's acceptance.
    pub pending: Option<[u8; 32]>,
    /// The person compared safety numbers and marked the contact verified.
    pub verified: bool,
    /// When the key was first pinned (Unix ms).
    pub first_seen: i64,
    /// When it was last proved (Unix ms).
    pub last_seen: i64,
}

fn key_of(bytes: Vec<u8>) -> Result<[u8; 32], HistoryError> {
    bytes
        .try_into()
        .map_err(|_| HistoryError::Corrupt("identity key is not 32 bytes".into()))
}

/// Whether some device of `user_id` has a changed key waiting for acceptance.
fn pending_change(conn: &rusqlite::Connection, user_id: &str) -> Result<bool, HistoryError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM identities WHERE user_id = ?1 AND pending IS NOT NULL)",
        [user_id],
        |r| r.get(0),
    )?)
}

impl History {
    /// Checks the key `device` of `user_id` just proved against the pins, pinning it when it
    /// is the first (see [`IdentityCheck`]), in one transaction with whether the contact is held.
    pub async fn observe_identity(
        &self,
        user_id: &str,
        device: &str,
        key: [u8; 32],
    ) -> Result<Observation, HistoryError> {
        let (user_id, device) = (user_id.to_owned(), device.to_owned());
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let now = now_ms();
            let pinned: Option<(Vec<u8>, Option<Vec<u8>>, bool)> = tx
                .query_row(
                    "SELECT key, pending, verified FROM identities WHERE user_id = ?1 AND device = ?2",
                    params![user_id, device],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let check = match pinned {
                // The pinned key again: a change waiting for acceptance is moot.
                Some((pinned, _, _)) if key_of(pinned.clone())? == key => {
                    tx.execute(
                        "UPDATE identities SET last_seen = ?3, pending = NULL WHERE user_id = ?1 AND device = ?2",
                        params![user_id, device, now],
                    )?;
                    IdentityCheck::Known
                }
                Some((_, _, true)) => {
                    tx.execute(
                        "UPDATE identities SET pending = ?3, last_seen = ?4 WHERE user_id = ?1 AND device = ?2",
                        params![user_id, device, &key[..], now],
                    )?;
                    IdentityCheck::Changed { verified: true }
                }
                Some((_, _, false)) => {
                    tx.execute(
                        "UPDATE identities SET key = ?3, pending = NULL, first_seen = ?4, last_seen = ?4
                         WHERE user_id = ?1 AND device = ?2",
                        params![user_id, device, &key[..], now],
                    )?;
                    IdentityCheck::Changed { verified: false }
                }
                None => {
                    let known: bool = tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM identities WHERE user_id = ?1)",
                        [&user_id],
                        |r| r.get(0),
                    )?;
                    tx.execute(
                        "INSERT INTO identities (user_id, device, key, verified, first_seen, last_seen)
                         VALUES (?1, ?2, ?3, 0, ?4, ?4)",
                        params![user_id, device, &key[..], now],
                    )?;
                    if known {
                        IdentityCheck::NewDevice
                    } else {
                        IdentityCheck::FirstContact
                    }
                }
            };
            let held = pending_change(&tx, &user_id)?;
            tx.commit()?;
            Ok(Observation { check, held })
        })
        .await
    }

    /// Every pinned device of `user_id`, oldest first.
    pub async fn identities(&self, user_id: &str) -> Result<Vec<PinnedIdentity>, HistoryError> {
        let user_id = user_id.to_owned();
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT user_id, device, key, pending, verified, first_seen, last_seen FROM identities
                 WHERE user_id = ?1 ORDER BY first_seen, device",
            )?;
            let rows = statement.query_map([&user_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Option<Vec<u8>>>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (user_id, device, key, pending, verified, first_seen, last_seen) = row?;
                out.push(PinnedIdentity {
                    user_id,
                    device,
                    key: key_of(key)?,
                    pending: pending.map(key_of).transpose()?,
                    verified,
                    first_seen,
                    last_seen,
                });
            }
            Ok(out)
        })
        .await
    }

    /// The person compared safety numbers: every pinned device of `user_id` is verified.
    /// Returns how many devices that covers (0: no key of theirs is known yet).
    pub async fn verify_identity(&self, user_id: &str) -> Result<usize, HistoryError> {
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            Ok(conn.execute(
                "UPDATE identities SET verified = 1 WHERE user_id = ?1 AND pending IS NULL",
                [user_id],
            )?)
        })
        .await
    }

    /// The person accepts the changed keys of `user_id`: they become the pins, unverified
    /// (the new safety number has not been compared). Returns how many changed.
    pub async fn accept_identity(&self, user_id: &str) -> Result<usize, HistoryError> {
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            Ok(conn.execute(
                "UPDATE identities SET key = pending, pending = NULL, verified = 0, first_seen = ?2
                 WHERE user_id = ?1 AND pending IS NOT NULL",
                params![user_id, now_ms()],
            )?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn blocked(history: &History) -> bool {
        history
            .identities("bob")
            .await
            .unwrap()
            .iter()
            .any(|i| i.pending.is_some())
    }

    #[tokio::test]
    async fn keys_are_pinned_on_first_use_and_changes_are_caught() {
        let history = History::open_in_memory().unwrap();
        let (k1, k2, k3) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        assert_eq!(
            history.observe_identity("bob", "laptop", k1).await.unwrap().check,
            IdentityCheck::FirstContact
        );
        assert_eq!(
            history.observe_identity("bob", "laptop", k1).await.unwrap().check,
            IdentityCheck::Known
        );
        assert_eq!(
            history.observe_identity("bob", "phone", k2).await.unwrap().check,
            IdentityCheck::NewDevice
        );
        // Unverified: a changed key replaces the pin, with a notice; nothing blocks.
        assert_eq!(
            history.observe_identity("bob", "laptop", k3).await.unwrap(),
            Observation {
                check: IdentityCheck::Changed { verified: false },
                held: false
            }
        );
        assert!(!blocked(&history).await);
        assert_eq!(history.identities("bob").await.unwrap().len(), 2);

        // Verified: a changed key waits, and blocks, until accepted.
        assert_eq!(history.verify_identity("bob").await.unwrap(), 2);
        assert_eq!(
            history.observe_identity("bob", "laptop", k1).await.unwrap(),
            Observation {
                check: IdentityCheck::Changed { verified: true },
                held: true
            }
        );
        // Another device of theirs, unchanged, is held too: the contact waits as a whole.
        assert!(history.observe_identity("bob", "phone", k2).await.unwrap().held);
        assert!(blocked(&history).await);
        let laptop = |ids: Vec<PinnedIdentity>| ids.into_iter().find(|i| i.device == "laptop").unwrap();
        let pinned = laptop(history.identities("bob").await.unwrap());
        assert_eq!((pinned.key, pinned.pending, pinned.verified), (k3, Some(k1), true));
        assert_eq!(
            history.verify_identity("bob").await.unwrap(),
            1,
            "only the unchanged device"
        );
        assert_eq!(history.accept_identity("bob").await.unwrap(), 1);
        assert!(!blocked(&history).await);
        let pinned = laptop(history.identities("bob").await.unwrap());
        assert_eq!((pinned.key, pinned.pending, pinned.verified), (k1, None, false));
        assert_eq!(
            history.observe_identity("bob", "laptop", k1).await.unwrap().check,
            IdentityCheck::Known
        );

        history.delete_everything().await.unwrap();
        assert!(history.identities("bob").await.unwrap().is_empty());
    }
}
