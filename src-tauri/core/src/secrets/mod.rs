//! The session token lives in the OS credential store, never in a file.
//!
//! keyring 4 splits the OS stores into separate crates; [`SecretStore`] picks one by
//! configuration ([`StoreKind`], or `PARLEY_KEYRING` via [`StoreKind::from_env`]) and builds
//! entries on it directly instead of through keyring-core's process-wide default store, so two
//! stores can coexist in one process (tests) and a failed first attempt is not cached forever.
//!
//! There is deliberately no fallback: when the chosen store cannot be reached the caller gets a
//! [`SecretError`] whose message says how to fix the machine. A token silently written to disk
//! would outlive the user's belief that they signed out, and be readable by any backup.
//!
//! All calls block (D-Bus round trips, possibly an unlock prompt); async code should run them
//! with `tokio::task::spawn_blocking`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

use crate::server_url::ServerUrl;

/// The keyring service name of every Parley entry.
pub(crate) const SERVICE: &str = "parley";

/// Environment variable that selects the store: `os` (default), `keyutils` or `memory`.
pub(crate) const KEYRING_ENV: &str = "PARLEY_KEYRING";

/// Where tokens are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum StoreKind {
    /// The platform's own store: Secret Service on Linux and BSD, Keychain on macOS,
    /// Credential Manager on Windows.
    #[default]
    Os,
    /// The Linux kernel keyring: always present on Linux, needs no daemon, and forgets
    /// everything at reboot. For headless machines.
    Keyutils,
    /// A private in-memory store, gone when the process exits. For tests and throwaway runs;
    /// only ever used when asked for by name.
    Memory,
}

impl StoreKind {
    /// The store named by `PARLEY_KEYRING`, or [`StoreKind::Os`] when it is unset or empty.
    pub fn from_env() -> Result<StoreKind, SecretError> {
        match std::env::var(KEYRING_ENV) {
            Ok(value) => value.parse(),
            Err(std::env::VarError::NotPresent) => Ok(StoreKind::Os),
            Err(std::env::VarError::NotUnicode(value)) => {
                Err(SecretError::UnknownKind(value.to_string_lossy().into_owned()))
            }
        }
    }

    /// What people call this store, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            StoreKind::Os if cfg!(target_os = "macos") => "macOS Keychain",
            StoreKind::Os if cfg!(windows) => "Windows Credential Manager",
            StoreKind::Os if cfg!(target_os = "ios") => "iOS Keychain",
            StoreKind::Os if cfg!(target_os = "android") => "Android Keystore",
            StoreKind::Os => "Secret Service (GNOME Keyring, KWallet, KeePassXC)",
            StoreKind::Keyutils => "Linux kernel keyring (keyutils)",
            StoreKind::Memory => "in-memory store",
        }
    }
}

impl FromStr for StoreKind {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "os" | "default" => Ok(StoreKind::Os),
            "keyutils" => Ok(StoreKind::Keyutils),
            "memory" => Ok(StoreKind::Memory),
            _ => Err(SecretError::UnknownKind(s.to_owned())),
        }
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::Os => "os",
            StoreKind::Keyutils => "keyutils",
            StoreKind::Memory => "memory",
        })
    }
}

/// Whether [`StoreKind::Os`] is the Secret Service here (the same condition keyring uses).
const OS_IS_SECRET_SERVICE: bool = cfg!(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
));

/// Why a token could not be stored, read or removed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No store to talk to (no Secret Service on the session bus, no D-Bus session at all,
    /// keyctl blocked by a container).
    #[error("cannot keep your sign-in and keys: the {store} is not reachable ({reason}). {hint}")]
    Unavailable {
        /// What people call the store.
        store: &'static str,
        /// What the store said.
        reason: String,
        /// How to fix the machine.
        hint: &'static str,
    },
    /// The store is there but refused: locked, or an unlock prompt was dismissed.
    #[error("cannot keep your sign-in and keys: the {store} refused access ({reason}). {hint}")]
    Locked {
        /// What people call the store.
        store: &'static str,
        /// What the store said.
        reason: String,
        /// How to unlock it.
        hint: &'static str,
    },
    /// The store chosen does not exist on this platform (keyutils outside Linux).
    #[error("the {store} does not exist on this platform; {hint}")]
    Unsupported {
        /// What people call the store.
        store: &'static str,
        /// What to choose instead.
        hint: &'static str,
    },
    /// Any other failure of the store.
    #[error("the {store} failed: {source}")]
    Store {
        /// What people call the store.
        store: &'static str,
        /// What the store said.
        #[source]
        source: keyring_core::Error,
    },
    /// `PARLEY_KEYRING` names no store.
    #[error("{KEYRING_ENV}={0:?} names no credential store; use os, keyutils or memory")]
    UnknownKind(String),
}

const HINT_SECRET_SERVICE: &str = "Start and unlock a Secret Service provider: install gnome-keyring (or KWallet, \
or KeePassXC with its Secret Service integration) and sign in to a desktop session; on a headless machine run \
Parley inside `dbus-run-session` after `gnome-keyring-daemon --unlock`. Or set PARLEY_KEYRING=keyutils to keep \
the token in the Linux kernel keyring (forgotten at reboot).";
const HINT_SECRET_SERVICE_LOCKED: &str = "Unlock your keyring (for GNOME: the Passwords and Keys app) and try \
again, or set PARLEY_KEYRING=keyutils to keep the token in the Linux kernel keyring instead.";
const HINT_KEYUTILS: &str = "The kernel keyring needs a session keyring and the keyctl system call, which \
containers often block: run Parley in a login session or under `keyctl session -`, or set PARLEY_KEYRING=os to \
use the Secret Service.";
const HINT_KEYCHAIN: &str = "Allow Parley to use your login keychain (Keychain Access) and try again.";
const HINT_CREDENTIAL_MANAGER: &str = "Check that Windows Credential Manager is running for your account.";
const HINT_MOBILE: &str = "The device's secure storage refused Parley: unlock the device and start Parley again.";

fn hints(kind: StoreKind) -> (&'static str, &'static str) {
    match kind {
        StoreKind::Os if cfg!(target_os = "macos") => (HINT_KEYCHAIN, HINT_KEYCHAIN),
        StoreKind::Os if cfg!(windows) => (HINT_CREDENTIAL_MANAGER, HINT_CREDENTIAL_MANAGER),
        StoreKind::Os if cfg!(any(target_os = "ios", target_os = "android")) => (HINT_MOBILE, HINT_MOBILE),
        StoreKind::Os => (HINT_SECRET_SERVICE, HINT_SECRET_SERVICE_LOCKED),
        StoreKind::Keyutils => (HINT_KEYUTILS, HINT_KEYUTILS),
        StoreKind::Memory => ("", ""),
    }
}

/// Sorts keyring-core's errors into the ones a user can fix (with the fix) and the rest.
fn set(kind: StoreKind, entry: &Entry, secret: &str) -> Result<(), SecretError> {
    entry.set_password(secret).map_err(|e| classify(kind, e))
}

fn get(kind: StoreKind, entry: &Entry) -> Result<Option<String>, SecretError> {
    match entry.get_password() {
        Ok(secret) => Ok(Some(secret)),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(classify(kind, e)),
    }
}

fn delete(kind: StoreKind, entry: &Entry) -> Result<(), SecretError> {
    match entry.delete_credential() {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(classify(kind, e)),
    }
}

fn classify(kind: StoreKind, error: keyring_core::Error) -> SecretError {
    use keyring_core::Error as E;
    let store = kind.describe();
    let (unavailable, locked) = hints(kind);
    match error {
        E::PlatformFailure(source) => SecretError::Unavailable {
            store,
            reason: source.to_string(),
            hint: unavailable,
        },
        E::NoDefaultStore => SecretError::Unavailable {
            store,
            reason: "the platform store did not initialise".to_owned(),
            hint: unavailable,
        },
        E::NoStorageAccess(source) => SecretError::Locked {
            store,
            reason: source.to_string(),
            hint: locked,
        },
        other => SecretError::Store { store, source: other },
    }
}

/// An opened credential store.
#[derive(Clone)]
pub(crate) struct SecretStore {
    kind: StoreKind,
    store: Arc<CredentialStore>,
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretStore").field("kind", &self.kind).finish()
    }
}

impl SecretStore {
    /// Opens the store and checks that it answers, so a missing Secret Service is reported
    /// when the app starts rather than at the first sign-in.
    pub(crate) fn open(kind: StoreKind) -> Result<SecretStore, SecretError> {
        let _span = tracing::debug_span!("secret_store_open", %kind).entered();
        let store = match kind {
            StoreKind::Memory => {
                let store: Arc<CredentialStore> = keyring_core::sample::Store::new().map_err(|e| classify(kind, e))?;
                store
            }
            StoreKind::Keyutils => open_keyutils()?,
            StoreKind::Os => open_os().map_err(|e| classify(kind, e))?,
        };
        let opened = SecretStore { kind, store };
        opened.probe()?;
        tracing::debug!("credential store ready");
        Ok(opened)
    }

    #[cfg(test)]
    pub(crate) fn kind(&self) -> StoreKind {
        self.kind
    }

    /// Stores (or replaces) the session token of a profile on a server.
    pub(crate) fn save_token(&self, profile_id: &str, server: &ServerUrl, token: &str) -> Result<(), SecretError> {
        let _span = tracing::debug_span!("save_token", kind = %self.kind, profile_id, %server).entered();
        set(self.kind, &self.token_entry(profile_id, server)?, token)
    }

    /// The stored token, or `None` when there is none (never signed in, or signed out).
    pub(crate) fn load_token(&self, profile_id: &str, server: &ServerUrl) -> Result<Option<String>, SecretError> {
        let _span = tracing::debug_span!("load_token", kind = %self.kind, profile_id, %server).entered();
        get(self.kind, &self.token_entry(profile_id, server)?)
    }

    /// Forgets the token; succeeds when there was none.
    pub(crate) fn delete_token(&self, profile_id: &str, server: &ServerUrl) -> Result<(), SecretError> {
        let _span = tracing::debug_span!("delete_token", kind = %self.kind, profile_id, %server).entered();
        delete(self.kind, &self.token_entry(profile_id, server)?)
    }

    /// Stores another secret of a profile (a TURN credential), named by `name`.
    pub(crate) fn save_secret(&self, profile_id: &str, name: &str, secret: &str) -> Result<(), SecretError> {
        let _span = tracing::debug_span!("save_secret", kind = %self.kind, profile_id, name).entered();
        set(self.kind, &self.secret_entry(profile_id, name)?, secret)
    }

    pub(crate) fn load_secret(&self, profile_id: &str, name: &str) -> Result<Option<String>, SecretError> {
        let _span = tracing::debug_span!("load_secret", kind = %self.kind, profile_id, name).entered();
        get(self.kind, &self.secret_entry(profile_id, name)?)
    }

    pub(crate) fn delete_secret(&self, profile_id: &str, name: &str) -> Result<(), SecretError> {
        let _span = tracing::debug_span!("delete_secret", kind = %self.kind, profile_id, name).entered();
        delete(self.kind, &self.secret_entry(profile_id, name)?)
    }

    fn token_entry(&self, profile_id: &str, server: &ServerUrl) -> Result<Entry, SecretError> {
        self.build(&entry_user(profile_id, server), &format!("Parley session for {server}"))
    }

    fn secret_entry(&self, profile_id: &str, name: &str) -> Result<Entry, SecretError> {
        self.build(&format!("{profile_id} {name}"), &format!("Parley: {name}"))
    }

    fn build(&self, user: &str, label: &str) -> Result<Entry, SecretError> {
        // Only the Secret Service knows labels (they are what its UIs list); other stores refuse
        // unknown modifiers.
        let modifiers = std::collections::HashMap::from([("label", label)]);
        let modifiers = (self.kind == StoreKind::Os && OS_IS_SECRET_SERVICE).then_some(&modifiers);
        self.store
            .build(SERVICE, user, modifiers)
            .map_err(|e| classify(self.kind, e))
    }

    /// A read of an entry that does not exist: answers `NoEntry` from a working store, and
    /// fails the way real use would from a broken one.
    fn probe(&self) -> Result<(), SecretError> {
        let entry = self.build("parley-probe", "Parley availability check")?;
        match entry.get_password() {
            Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(classify(self.kind, e)),
        }
    }
}

/// One entry per profile and server: a profile may have accounts on several servers, and two
/// profiles (two people on one computer account) may use the same server.
fn entry_user(profile_id: &str, server: &ServerUrl) -> String {
    format!("{profile_id}@{server}")
}

#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
fn open_os() -> Result<Arc<CredentialStore>, keyring_core::Error> {
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

/// iOS: the data-protection keychain, the only one there (keyring's facade has no iOS store).
#[cfg(target_os = "ios")]
fn open_os() -> Result<Arc<CredentialStore>, keyring_core::Error> {
    let store: Arc<CredentialStore> = apple_native_keyring_store::protected::Store::new()?;
    Ok(store)
}

/// Android: SharedPreferences encrypted with a key in the Android Keystore (keyring's facade has
/// no Android store).
#[cfg(target_os = "android")]
fn open_os() -> Result<Arc<CredentialStore>, keyring_core::Error> {
    let store: Arc<CredentialStore> = android_native_keyring_store::Store::new()?;
    Ok(store)
}

/// Elsewhere (macOS, Windows) keyring's `v1` facade already knows the platform's store; it
/// initialises once per process, which is what those always-present stores need.
#[cfg(not(any(
    all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))),
    target_os = "ios",
    target_os = "android"
)))]
fn open_os() -> Result<Arc<CredentialStore>, keyring_core::Error> {
    match keyring::Entry::store_status() {
        Ok(()) => keyring_core::get_default_store().ok_or(keyring_core::Error::NoDefaultStore),
        Err(e) => Err(keyring_core::Error::PlatformFailure(e.to_string().into())),
    }
}

#[cfg(target_os = "linux")]
fn open_keyutils() -> Result<Arc<CredentialStore>, SecretError> {
    let store: Arc<CredentialStore> =
        linux_keyutils_keyring_store::Store::new().map_err(|e| classify(StoreKind::Keyutils, e))?;
    Ok(store)
}

#[cfg(not(target_os = "linux"))]
fn open_keyutils() -> Result<Arc<CredentialStore>, SecretError> {
    Err(SecretError::Unsupported {
        store: StoreKind::Keyutils.describe(),
        hint: "unset PARLEY_KEYRING to use the platform's credential store.",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_configuration() {
        assert_eq!("".parse::<StoreKind>().unwrap(), StoreKind::Os);
        assert_eq!("OS".parse::<StoreKind>().unwrap(), StoreKind::Os);
        assert_eq!(" keyutils ".parse::<StoreKind>().unwrap(), StoreKind::Keyutils);
        assert_eq!("memory".parse::<StoreKind>().unwrap(), StoreKind::Memory);
        let error = "file".parse::<StoreKind>().unwrap_err().to_string();
        assert!(
            error.contains("PARLEY_KEYRING") && error.contains("keyutils"),
            "{error}"
        );
    }

    #[test]
    fn an_unreachable_secret_service_says_how_to_fix_it() {
        let failure = keyring_core::Error::PlatformFailure("no secret service provider or dbus session found".into());
        let message = classify(StoreKind::Os, failure).to_string();
        if cfg!(target_os = "linux") {
            for needle in ["gnome-keyring", "PARLEY_KEYRING=keyutils", "not reachable"] {
                assert!(message.contains(needle), "{needle:?} missing from: {message}");
            }
        }
        let locked = classify(StoreKind::Os, keyring_core::Error::NoStorageAccess("locked".into()));
        assert!(matches!(locked, SecretError::Locked { .. }), "{locked:?}");
    }

    #[test]
    fn other_secrets_live_beside_the_token_without_touching_it() {
        let store = SecretStore::open(StoreKind::Memory).unwrap();
        let server = ServerUrl::parse("https://chat.example.org/").unwrap();
        store.save_token("p1", &server, "token").unwrap();
        assert_eq!(store.load_secret("p1", "ice:turn:a").unwrap(), None);
        store.save_secret("p1", "ice:turn:a", "s3cret").unwrap();
        assert_eq!(
            store.load_secret("p1", "ice:turn:a").unwrap().as_deref(),
            Some("s3cret")
        );
        assert_eq!(store.load_secret("p2", "ice:turn:a").unwrap(), None, "per profile");
        store.delete_secret("p1", "ice:turn:a").unwrap();
        store.delete_secret("p1", "ice:turn:a").unwrap();
        assert_eq!(store.load_secret("p1", "ice:turn:a").unwrap(), None);
        assert_eq!(store.load_token("p1", &server).unwrap().as_deref(), Some("token"));
    }

    #[test]
    fn entries_are_keyed_by_profile_and_server() {
        let server = ServerUrl::parse("https://chat.example.org/").unwrap();
        assert_eq!(entry_user("0123abcd", &server), "0123abcd@https://chat.example.org");
    }
}

#[cfg(test)]
mod store_tests;
