//! Trust between people: this device's identity key, safety numbers to compare with a
//! contact, marking them verified, and accepting a key that changed.

use parley_history::PinnedIdentity;

use super::Parley;
use crate::error::CoreError;
use crate::models::SafetyNumber;
use crate::safety_number::{grouped, safety_number, ITERATIONS};

impl Parley {
    /// This device's identity key (public half), as 64 hex digits.
    pub fn identity_key(&self) -> String {
        self.inner.identity.public().to_string()
    }

    /// The safety numbers to compare with `user_id`: one per device of theirs this device has
    /// met (none before the first direct connection). Both sides see the same digits as long
    /// as no one is in between; they change when either side's key changes. No network.
    pub async fn safety_numbers(&self, user_id: &str) -> Result<Vec<SafetyNumber>, CoreError> {
        let me = self.current_user().ok_or(CoreError::NotSignedIn)?;
        let user = self.contact(user_id).await?;
        let mine = self.inner.identity.public();
        let pins = self.history().identities(&user.id).await?;
        // A few milliseconds of hashing per device, on a person's request: not worth a thread.
        Ok(pins
            .into_iter()
            .map(|pin: PinnedIdentity| {
                let theirs = pin.pending.unwrap_or(pin.key);
                let number = safety_number((&mine.0, &me.id), (&theirs, &pin.user_id), ITERATIONS);
                SafetyNumber {
                    qr_svg: crate::qr::svg(&number),
                    number: grouped(&number),
                    user_id: pin.user_id,
                    device: pin.device,
                    verified: pin.verified,
                    changed: pin.pending.is_some(),
                }
            })
            .collect())
    }

    /// The person compared safety numbers with `user_id` and they matched: the contact is
    /// verified, so a later key change blocks sending until accepted. Fails when no device of
    /// theirs has been met yet (there is nothing to compare).
    pub async fn verify_contact(&self, user_id: &str) -> Result<usize, CoreError> {
        let user = self.contact(user_id).await?;
        match self.history().verify_identity(&user.id).await? {
            0 => Err(CoreError::NothingToVerify(user.username)),
            devices => Ok(devices),
        }
    }

    /// The person accepts `user_id`'s changed key (after comparing the new safety number, one
    /// hopes): it is pinned, unverified, and messages waiting for them go out.
    pub async fn accept_identity(&self, user_id: &str) -> Result<usize, CoreError> {
        let user = self.contact(user_id).await?;
        let changed = self.history().accept_identity(&user.id).await?;
        if let Some(engine) = self.engine() {
            engine.identity_accepted(&user.id).await;
        }
        Ok(changed)
    }
}
