//! A profile directory: one person's Parley data on this computer (what this device remembers of
//! their account, and their history). Several run side by side (two accounts, or a test driving
//! two people); one can be opened by one process only, because two writers would corrupt its
//! files and fight over its session.
//!
//! `profile.json` holds a stable random profile id and what is [`Remembered`]: nothing secret.
//! The session token lives in the OS credential store, keyed by the profile id (see
//! [`crate::secrets`]); the person's settings are the front end's (the app keeps them with
//! tauri-plugin-store).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use parley_protocol::User;
use serde::{Deserialize, Serialize};

use crate::server_url::ServerUrl;

const PROFILE_FILE: &str = "profile.json";
const LOCK_FILE: &str = "profile.lock";
const FORMAT_VERSION: u32 = 1;

/// What this device remembers of the account between starts; nothing secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Remembered {
    /// The server last signed in to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<ServerUrl>,
    /// The last username signed in with, to prefill the login form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The user last signed in here (not secret: their public profile), so the app knows who
    /// it is while the server is out of reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The history was encrypted and its recovery code not yet confirmed as saved: shown until
    /// it is (also after a crash before it could be shown).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovery_code_pending: bool,
    /// Rooms joined in the app, rejoined on every start until left.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<String>,
    /// What the person decided about servers' connections, by normalised server URL.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub servers: std::collections::BTreeMap<String, ServerTrust>,
    /// Keys this version does not know, written by a newer one (or an older one: STUN/TURN
    /// servers once lived here): kept, so that running another build once does not erase them.
    #[serde(flatten)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

/// How this profile trusts one server's connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServerTrust {
    /// The certificate accepted for it (from an invite, or compared by the person): only that
    /// one is accepted, whatever authorities say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// The person agreed, once, to sign in over plain HTTP to this server although it is not
    /// on this device.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plain_http: bool,
}

#[derive(Serialize, Deserialize)]
struct ProfileFile {
    version: u32,
    id: String,
    #[serde(flatten)]
    remembered: Remembered,
}

/// Why a profile directory could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum ProfileDirError {
    #[error(
        "the profile in {dir} is already in use by another Parley process{}; close that one first, or \
         choose another profile directory",
        holder(.pid)
    )]
    /// Another process has it open (a second launch of the same profile).
    InUse {
        /// The profile directory.
        dir: PathBuf,
        /// The holder's process id, when it could be read.
        pid: Option<u32>,
    },
    /// A file of the profile could not be read or written.
    #[error("cannot use the profile directory {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    #[error(
        "{path} is damaged ({reason}); repair it, or move it away to start the profile afresh (you will have to \
         sign in again)"
    )]
    /// `profile.json` is unreadable or from a newer Parley.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

fn holder(pid: &Option<u32>) -> String {
    pid.map(|pid| format!(" (process {pid})")).unwrap_or_default()
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ProfileDirError + '_ {
    move |source| ProfileDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// An open profile directory. It stays locked until this is dropped.
#[derive(Debug)]
pub(crate) struct ProfileDir {
    dir: PathBuf,
    id: String,
    remembered: Remembered,
    /// Holding the open, locked file is the lock; the OS releases it when the process dies,
    /// so a crash never leaves a profile stuck.
    _lock: File,
}

impl ProfileDir {
    /// Opens the profile in `dir`, creating the directory and a new profile id on first use.
    pub(crate) fn open(dir: impl AsRef<Path>) -> Result<ProfileDir, ProfileDirError> {
        let dir = std::path::absolute(dir.as_ref()).map_err(io_error(dir.as_ref()))?;
        let _span = tracing::debug_span!("profile_open", dir = %dir.display()).entered();
        create_private_dir(&dir).map_err(io_error(&dir))?;
        let lock = lock(&dir)?;
        let path = dir.join(PROFILE_FILE);
        let (id, remembered) = match std::fs::read(&path) {
            Ok(bytes) => parse(&path, &bytes)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let id = crate::ids::random_id();
                let remembered = Remembered::default();
                write_remembered(&dir, &id, &remembered)?;
                tracing::info!(profile_id = %id, "created a new profile");
                (id, remembered)
            }
            Err(e) => return Err(io_error(&path)(e)),
        };
        tracing::debug!(profile_id = %id, "profile open");
        Ok(ProfileDir {
            dir,
            id,
            remembered,
            _lock: lock,
        })
    }

    /// A random id that stays with the profile for life; it keys the keyring entries, so it
    /// must not change when the directory moves.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn remembered(&self) -> &Remembered {
        &self.remembered
    }

    /// Changes what is remembered and saves it; on a write error nothing changes, in memory or
    /// on disk.
    pub(crate) fn remember(&mut self, change: impl FnOnce(&mut Remembered)) -> Result<(), ProfileDirError> {
        let mut remembered = self.remembered.clone();
        change(&mut remembered);
        write_remembered(&self.dir, &self.id, &remembered)?;
        self.remembered = remembered;
        Ok(())
    }
}

fn lock(dir: &Path) -> Result<File, ProfileDirError> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let pid = std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| text.trim().parse().ok());
            return Err(ProfileDirError::InUse {
                dir: dir.to_owned(),
                pid,
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io_error(&path)(e)),
    }
    // The pid is only a hint for the error message of whoever comes second.
    let note = file.set_len(0).and_then(|()| write!(file, "{}", std::process::id()));
    if let Err(e) = note {
        tracing::debug!(error = %e, "could not note the pid in the lock file");
    }
    Ok(file)
}

fn parse(path: &Path, bytes: &[u8]) -> Result<(String, Remembered), ProfileDirError> {
    let corrupt = |reason: String| ProfileDirError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let file: ProfileFile = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    if file.version > FORMAT_VERSION {
        return Err(corrupt(format!(
            "it was written by a newer Parley (format {}, this one reads {FORMAT_VERSION})",
            file.version
        )));
    }
    let id_ok = (8..=64).contains(&file.id.len()) && file.id.bytes().all(|b| b.is_ascii_alphanumeric());
    if !id_ok {
        return Err(corrupt(format!("the profile id {:?} is not valid", file.id)));
    }
    Ok((file.id, file.remembered))
}

/// Write-then-rename, so a crash mid-write leaves the old file rather than half a new one
/// (losing the id would orphan the keyring entry and sign the user out).
fn write_remembered(dir: &Path, id: &str, remembered: &Remembered) -> Result<(), ProfileDirError> {
    let path = dir.join(PROFILE_FILE);
    let temp = dir.join(format!("{PROFILE_FILE}.tmp"));
    let file = ProfileFile {
        version: FORMAT_VERSION,
        id: id.to_owned(),
        remembered: remembered.clone(),
    };
    let mut text = serde_json::to_vec_pretty(&file).expect("profile.json serializes");
    text.push(b'\n');
    let write = || -> io::Result<()> {
        let mut out = File::create(&temp)?;
        out.write_all(&text)?;
        out.sync_all()
    };
    write().map_err(io_error(&temp))?;
    std::fs::rename(&temp, &path).map_err(io_error(&path))
}

/// A profile holds the chat history: readable by the owner only.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests;
