//! The person's settings: validated here, persisted with tauri-plugin-store in the profile
//! directory. Secrets never go there: TURN credentials are kept in the OS keyring, keyed by the
//! profile and the server's URLs.

use std::path::{Path, PathBuf};

use parley_core::{FileSettings, IceServer, Invite, Parley, ServerChoice, ServerUrl, StoreKind};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime};
use tauri_plugin_store::StoreExt;

use crate::error::{AppError, Result};

pub const FILE: &str = "settings.json";
const KEY: &str = "settings";
const MAX_ICE_SERVERS: usize = 16;
const MAX_FIELD: usize = 512;
const DEFAULT_AUTO_ACCEPT_MIB: u32 = 100;
/// 1 TiB: past that the setting means "everything", which `u32::MAX` MiB also says.
const MAX_AUTO_ACCEPT_MIB: u32 = 1024 * 1024;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Theme {
    /// Follows the OS.
    #[default]
    System,
    Light,
    Dark,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct IceServerSetting {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Whether a credential for these URLs is in the keyring (the credential itself never is
    /// in the settings).
    #[serde(default)]
    pub has_credential: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Settings {
    pub server: ServerChoice,
    pub ice_servers: Vec<IceServerSetting>,
    pub download_dir: Option<String>,
    /// Files up to this many MiB from people we chat with are received without asking.
    pub auto_accept_mib: u32,
    pub theme: Theme,
    pub notifications: bool,
    /// Where the session token and the history's key are kept: the OS keyring, or the Linux
    /// kernel keyring (chosen on the start-up screen when there is no OS keyring).
    pub keyring: StoreKind,
    /// "Let others join": this device's server open to the local network (changed through the
    /// `set_sharing` command, which opens or closes the port).
    pub let_others_join: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            server: ServerChoice::Embedded,
            ice_servers: Vec::new(),
            download_dir: None,
            auto_accept_mib: DEFAULT_AUTO_ACCEPT_MIB,
            theme: Theme::System,
            notifications: true,
            keyring: StoreKind::Os,
            let_others_join: false,
        }
    }
}

/// A TURN credential typed in the settings form, for the ICE server at `index`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct IceCredential {
    pub index: usize,
    pub credential: String,
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::InvalidSettings(message.into())
}

impl Settings {
    /// Checks every field; the message names the one at fault.
    pub fn validate(&mut self) -> Result<()> {
        if let ServerChoice::Url { url } = &mut self.server {
            if Invite::looks_like(url) {
                // Kept whole: signing in with it pins the certificate it names.
                url.parse::<Invite>().map_err(|e| invalid(format!("server: {e}")))?;
                *url = url.trim().to_owned();
            } else {
                let parsed = ServerUrl::parse(url).map_err(|e| invalid(format!("server: {e}")))?;
                *url = parsed.to_string();
            }
        }
        if self.ice_servers.len() > MAX_ICE_SERVERS {
            return Err(invalid(format!("at most {MAX_ICE_SERVERS} STUN/TURN servers")));
        }
        for (i, server) in self.ice_servers.iter_mut().enumerate() {
            let n = i + 1;
            server.urls.retain(|u| !u.trim().is_empty());
            if server.urls.is_empty() {
                return Err(invalid(format!("STUN/TURN server {n}: give at least one URL")));
            }
            for url in &mut server.urls {
                *url = url.trim().to_owned();
                let scheme_ok = ["stun:", "stuns:", "turn:", "turns:"]
                    .iter()
                    .any(|s| url.starts_with(s));
                if !scheme_ok || url.len() > MAX_FIELD || url.chars().any(char::is_whitespace) {
                    return Err(invalid(format!(
                        "STUN/TURN server {n}: {url:?} is not a stun:, stuns:, turn: or turns: URL"
                    )));
                }
            }
            if let Some(name) = &server.username {
                if name.len() > MAX_FIELD {
                    return Err(invalid(format!("STUN/TURN server {n}: the username is too long")));
                }
            }
        }
        if self.auto_accept_mib > MAX_AUTO_ACCEPT_MIB {
            return Err(invalid(format!(
                "files received without asking: at most {MAX_AUTO_ACCEPT_MIB} MiB"
            )));
        }
        if self.keyring == StoreKind::Memory {
            return Err(invalid(
                "keyring: choose os or keyutils (memory forgets everything at exit)",
            ));
        }
        if let Some(dir) = &self.download_dir {
            let trimmed = dir.trim();
            if trimmed.is_empty() {
                self.download_dir = None;
            } else if !Path::new(trimmed).is_absolute() {
                return Err(invalid(
                    "download folder: give a full path (for example /home/me/Downloads)",
                ));
            } else {
                self.download_dir = Some(trimmed.to_owned());
            }
        }
        Ok(())
    }
}

/// Reads and writes the settings of one profile.
pub struct SettingsStore {
    path: PathBuf,
}

impl SettingsStore {
    pub fn new(profile_dir: &Path) -> SettingsStore {
        SettingsStore {
            path: profile_dir.join(FILE),
        }
    }

    /// The saved settings; defaults for a new profile, and for a damaged file (logged: losing
    /// a theme choice must not stop the app from starting).
    pub fn load<R: Runtime>(&self, app: &AppHandle<R>) -> Settings {
        let store = match app.store(&self.path) {
            Ok(store) => store,
            Err(e) => {
                tracing::warn!(error = %e, "settings unreadable; using defaults");
                return Settings::default();
            }
        };
        match store.get(KEY).map(serde_json::from_value::<Settings>) {
            Some(Ok(settings)) => settings,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "settings damaged; using defaults");
                Settings::default()
            }
            None => Settings::default(),
        }
    }

    /// Validates and saves; nothing is written when a field is bad. New TURN credentials go to
    /// the keyring.
    pub fn save<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        parley: &Parley,
        mut settings: Settings,
        credentials: Vec<IceCredential>,
    ) -> Result<Settings> {
        settings.validate()?;
        for credential in &credentials {
            if credential.index >= settings.ice_servers.len() {
                return Err(invalid(format!(
                    "no STUN/TURN server {} for a credential",
                    credential.index + 1
                )));
            }
            if credential.credential.len() > MAX_FIELD {
                return Err(invalid(format!(
                    "STUN/TURN server {}: the credential is too long",
                    credential.index + 1
                )));
            }
        }
        for credential in credentials {
            let server = &mut settings.ice_servers[credential.index];
            let key = credential_key(&server.urls);
            if credential.credential.is_empty() {
                parley.delete_secret(&key)?;
                server.has_credential = false;
            } else {
                parley.save_secret(&key, &credential.credential)?;
                server.has_credential = true;
            }
        }
        self.save_local(app, settings)
    }

    /// Validates and saves settings that hold no secret (before the profile, and so the
    /// keyring, is open).
    pub fn save_local<R: Runtime>(&self, app: &AppHandle<R>, mut settings: Settings) -> Result<Settings> {
        settings.validate()?;
        let store = app.store(&self.path)?;
        let value = serde_json::to_value(&settings).map_err(tauri_plugin_store::Error::from)?;
        store.set(KEY, value);
        store.save()?;
        Ok(settings)
    }

    /// What the core needs to know about received files.
    pub fn file_settings(settings: &Settings) -> FileSettings {
        FileSettings {
            downloads: settings.download_dir.as_ref().map(PathBuf::from),
            auto_accept_bytes: u64::from(settings.auto_accept_mib) * 1024 * 1024,
        }
    }

    /// The ICE servers for the core, with their credentials from the keyring.
    pub fn ice_servers(&self, parley: &Parley, settings: &Settings) -> Vec<IceServer> {
        settings
            .ice_servers
            .iter()
            .map(|s| IceServer {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: if s.has_credential {
                    parley.secret(&credential_key(&s.urls)).unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "TURN credential unreadable");
                        None
                    })
                } else {
                    None
                },
            })
            .collect()
    }
}

fn credential_key(urls: &[String]) -> String {
    format!("ice:{}", urls.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_this_device_system_theme_and_notifications_on() {
        let s: Settings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.server, ServerChoice::Embedded);
        assert!(s.notifications);
    }

    #[test]
    fn bad_values_name_the_field() {
        let mut s = Settings {
            server: ServerChoice::Url {
                url: "not a url at all".into(),
            },
            ..Settings::default()
        };
        assert!(s.validate().unwrap_err().to_string().starts_with("server:"));

        let mut s = Settings {
            ice_servers: vec![IceServerSetting {
                urls: vec!["http://stun.example.org".into()],
                username: None,
                has_credential: false,
            }],
            ..Settings::default()
        };
        assert!(s.validate().unwrap_err().to_string().contains("STUN/TURN server 1"));

        let mut s = Settings {
            download_dir: Some("relative/dir".into()),
            ..Settings::default()
        };
        assert!(s.validate().unwrap_err().to_string().starts_with("download folder"));
    }

    #[test]
    fn valid_values_are_normalised() {
        let mut s = Settings {
            server: ServerChoice::Url {
                url: "chat.example.org".into(),
            },
            ice_servers: vec![IceServerSetting {
                urls: vec![" stun:stun.example.org:3478 ".into(), "".into()],
                username: None,
                has_credential: false,
            }],
            download_dir: Some("  ".into()),
            ..Settings::default()
        };
        s.validate().unwrap();
        assert_eq!(s.ice_servers[0].urls, ["stun:stun.example.org:3478"]);
        assert_eq!(s.download_dir, None);
        let ServerChoice::Url { url } = &s.server else { panic!() };
        assert!(url.starts_with("https://chat.example.org"), "{url}");
    }

    #[test]
    fn unknown_theme_is_rejected_at_the_boundary() {
        let err = serde_json::from_str::<Settings>(r#"{"theme":"neon"}"#).unwrap_err();
        assert!(err.to_string().contains("neon"));
    }
}
