//! A profile is a data directory: one person's settings (and later their history) on this
//! computer. Several profiles can run side by side (two accounts, or a test driving two
//! clients); one profile can be opened by one process only, because two writers would corrupt
//! its files and fight over its session.
//!
//! `profile.json` holds a stable random profile id and the non-secret settings. The session
//! token is not among them: it lives in the OS credential store, keyed by the profile id
//! (see [`crate::secrets`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use parley_protocol::IceServer;
use serde::{Deserialize, Serialize};

use crate::account::ServerUrl;

const SETTINGS_FILE: &str = "profile.json";
const LOCK_FILE: &str = "profile.lock";
const FORMAT_VERSION: u32 = 1;

/// The settings a person chooses; nothing secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<ServerUrl>,
    /// The last username signed in with, to prefill the login form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The user last signed in here (not secret: their public profile), so the app knows who
    /// it is while the server is out of reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<parley_protocol::User>,
    /// STUN/TURN servers the user added on top of those the server hands out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ice_servers: Vec<IceServer>,
    /// Rooms joined in the app, rejoined on every start until left.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<String>,
    /// Keys this version does not know, written by a newer one: kept, so that running an older
    /// build once does not erase them.
    #[serde(flatten)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct SettingsFile {
    version: u32,
    id: String,
    #[serde(flatten)]
    settings: ProfileSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(
        "the profile in {dir} is already in use by another Parley process{}; close that one first, or \
         choose another profile directory",
        holder(.pid)
    )]
    InUse { dir: PathBuf, pid: Option<u32> },
    #[error("cannot use the profile directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path} is damaged ({reason}); repair it, or move it away to start the profile afresh (you will have to \
         sign in again)"
    )]
    Corrupt { path: PathBuf, reason: String },
}

fn holder(pid: &Option<u32>) -> String {
    pid.map(|pid| format!(" (process {pid})")).unwrap_or_default()
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ProfileError + '_ {
    move |source| ProfileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// An open profile. The directory stays locked until this is dropped.
#[derive(Debug)]
pub struct Profile {
    dir: PathBuf,
    id: String,
    settings: ProfileSettings,
    /// Holding the open, locked file is the lock; the OS releases it when the process dies,
    /// so a crash never leaves a profile stuck.
    _lock: File,
}

impl Profile {
    /// Opens the profile in `dir`, creating the directory and a new profile id on first use.
    pub fn open(dir: impl AsRef<Path>) -> Result<Profile, ProfileError> {
        let dir = std::path::absolute(dir.as_ref()).map_err(io_error(dir.as_ref()))?;
        let _span = tracing::debug_span!("profile_open", dir = %dir.display()).entered();
        create_private_dir(&dir).map_err(io_error(&dir))?;
        let lock = lock(&dir)?;
        let path = dir.join(SETTINGS_FILE);
        let (id, settings) = match std::fs::read(&path) {
            Ok(bytes) => parse(&path, &bytes)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let id = new_profile_id();
                let settings = ProfileSettings::default();
                write_settings(&dir, &id, &settings)?;
                tracing::info!(profile_id = %id, "created a new profile");
                (id, settings)
            }
            Err(e) => return Err(io_error(&path)(e)),
        };
        tracing::debug!(profile_id = %id, "profile open");
        Ok(Profile {
            dir,
            id,
            settings,
            _lock: lock,
        })
    }

    /// A random id that stays with the profile for life; it keys the keyring entries, so it
    /// must not change when the directory moves.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn settings(&self) -> &ProfileSettings {
        &self.settings
    }

    /// Changes settings and saves them; on a write error nothing changes, in memory or on disk.
    pub fn update_settings(&mut self, change: impl FnOnce(&mut ProfileSettings)) -> Result<(), ProfileError> {
        let mut settings = self.settings.clone();
        change(&mut settings);
        write_settings(&self.dir, &self.id, &settings)?;
        self.settings = settings;
        Ok(())
    }
}

fn lock(dir: &Path) -> Result<File, ProfileError> {
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
            return Err(ProfileError::InUse {
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

fn parse(path: &Path, bytes: &[u8]) -> Result<(String, ProfileSettings), ProfileError> {
    let corrupt = |reason: String| ProfileError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let file: SettingsFile = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
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
    Ok((file.id, file.settings))
}

/// Write-then-rename, so a crash mid-write leaves the old file rather than half a new one
/// (losing the id would orphan the keyring entry and sign the user out).
fn write_settings(dir: &Path, id: &str, settings: &ProfileSettings) -> Result<(), ProfileError> {
    let path = dir.join(SETTINGS_FILE);
    let temp = dir.join(format!("{SETTINGS_FILE}.tmp"));
    let file = SettingsFile {
        version: FORMAT_VERSION,
        id: id.to_owned(),
        settings: settings.clone(),
    };
    let mut text = serde_json::to_vec_pretty(&file).expect("settings serialize");
    text.push(b'\n');
    let write = || -> io::Result<()> {
        let mut out = File::create(&temp)?;
        out.write_all(&text)?;
        out.sync_all()
    };
    write().map_err(io_error(&temp))?;
    std::fs::rename(&temp, &path).map_err(io_error(&path))
}

fn new_profile_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Profiles will hold chat history: readable by the owner only.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
