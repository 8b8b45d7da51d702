//! Where this process keeps its data: the profile directory and the "this device" server's.
//!
//! - Profile: `--profile DIR` or `PARLEY_PROFILE=DIR`, else `<app data>/profiles/default`.
//! - "This device" server data: `PARLEY_EMBEDDED_DIR`, else `<app data>/server` (one per
//!   machine, shared by every profile); port `PARLEY_EMBEDDED_PORT`, else 7890; the port others
//!   join it on ("Let others join") `PARLEY_SHARE_PORT`, else 7891; `PARLEY_ANNOUNCE=0` keeps it
//!   off multicast DNS (tests).

use std::path::PathBuf;

use tauri::{AppHandle, Manager, Runtime};

#[derive(Debug, Clone)]
pub struct Paths {
    pub profile: PathBuf,
    pub embedded_dir: PathBuf,
    pub embedded_port: u16,
    pub share_port: u16,
    pub announce: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("no app data directory on this system: {0}")]
    NoDataDir(tauri::Error),
    #[error("{0} must be a port number (1–65535), not {1:?}")]
    BadPort(&'static str, String),
    #[error("--profile needs a directory")]
    MissingProfile,
}

impl Paths {
    pub fn resolve<R: Runtime>(app: &AppHandle<R>) -> Result<Paths, PathsError> {
        let data = app.path().app_data_dir().map_err(PathsError::NoDataDir)?;
        Paths::from(data, std::env::args().skip(1), |k| std::env::var(k).ok())
    }

    fn from(
        data: PathBuf,
        args: impl Iterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Paths, PathsError> {
        let mut profile = env("PARLEY_PROFILE").filter(|p| !p.is_empty()).map(PathBuf::from);
        let mut args = args;
        while let Some(arg) = args.next() {
            if arg == "--profile" {
                profile = Some(args.next().ok_or(PathsError::MissingProfile)?.into());
            } else if let Some(dir) = arg.strip_prefix("--profile=") {
                profile = Some(dir.into());
            }
        }
        let port = |name: &'static str, default: u16| match env(name).filter(|p| !p.is_empty()) {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or(PathsError::BadPort(name, p)),
            None => Ok(default),
        };
        let embedded_port = port("PARLEY_EMBEDDED_PORT", parley_core::ThisDevice::DEFAULT_PORT)?;
        let share_port = port("PARLEY_SHARE_PORT", parley_core::ThisDevice::DEFAULT_SHARE_PORT)?;
        let announce = env("PARLEY_ANNOUNCE").as_deref() != Some("0");
        Ok(Paths {
            profile: profile.unwrap_or_else(|| data.join("profiles").join("default")),
            embedded_dir: env("PARLEY_EMBEDDED_DIR")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| data.join("server")),
            embedded_port,
            share_port,
            announce,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: &[&str], env: &[(&str, &str)]) -> Result<Paths, PathsError> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Paths::from(PathBuf::from("/data"), args.iter().map(|s| s.to_string()), move |k| {
            env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_live_in_the_app_data_directory() {
        let p = resolve(&[], &[]).unwrap();
        assert_eq!(p.profile, PathBuf::from("/data/profiles/default"));
        assert_eq!(p.embedded_dir, PathBuf::from("/data/server"));
        assert_eq!(p.embedded_port, 7890);
    }

    #[test]
    fn flags_beat_the_environment() {
        let p = resolve(
            &["--profile", "/tmp/b"],
            &[("PARLEY_PROFILE", "/tmp/a"), ("PARLEY_EMBEDDED_PORT", "9000")],
        )
        .unwrap();
        assert_eq!(p.profile, PathBuf::from("/tmp/b"));
        assert_eq!(p.embedded_port, 9000);
        assert_eq!(resolve(&["--profile=/x"], &[]).unwrap().profile, PathBuf::from("/x"));
        assert_eq!(
            resolve(&[], &[("PARLEY_PROFILE", "/tmp/a")]).unwrap().profile,
            PathBuf::from("/tmp/a")
        );
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(matches!(resolve(&["--profile"], &[]), Err(PathsError::MissingProfile)));
        for port in ["0", "70000", "abc"] {
            let err = resolve(&[], &[("PARLEY_EMBEDDED_PORT", port)]).unwrap_err();
            assert!(err.to_string().contains(port), "{err}");
        }
    }
}
