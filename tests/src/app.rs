//! Driving the real desktop app (`parley`, the Tauri binary) through WebDriver.
//!
//! - [`Desktop`]: a private X display ([`Xvfb`]) and a temporary directory for profiles, the
//!   embedded server's data and logs.
//! - [`AppInstance`]: one person's app — its own `tauri-driver` (so its own environment:
//!   `PARLEY_PROFILE`, `PARLEY_EMBEDDED_DIR`, `PARLEY_EMBEDDED_PORT`, `PARLEY_KEYRING`), and the
//!   WebDriver [`Session`] of the running app. [`AppInstance::close`] ends the session (and so
//!   the app process); [`AppInstance::reopen`] starts the app again on the same profile.
//!
//! The app binary must embed the UI: `npm run build` in `ui/`, then `cargo build -p parley
//! --features tauri/custom-protocol` (`scripts/e2e.sh` does both). A debug build without that
//! feature loads the Vite dev server (`devUrl`) instead, which is not running in tests.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::webdriver::{self, descendant_pids, find_tauri_driver, find_webkit_webdriver, Session, TauriDriver, Xvfb};

/// Why the end-to-end tests cannot run here, or `None` when they can. `PARLEY_E2E=1` turns a
/// reason into a failure (`./test.sh`), `PARLEY_E2E=0` skips them, unset skips them with the
/// reason printed.
pub fn missing_pieces() -> Option<String> {
    let mut missing = Vec::new();
    if app_binary().is_none() {
        missing.push(
            "the app binary (build it: `cd ui && npm run build && cd .. && cargo build -p parley --features \
             tauri/custom-protocol`, or set PARLEY_APP)"
                .to_owned(),
        );
    }
    if find_tauri_driver().is_none() {
        missing.push("tauri-driver (`cargo install tauri-driver --version '^2' --locked`)".to_owned());
    }
    if find_webkit_webdriver().is_none() {
        missing.push("WebKitWebDriver (Debian package webkit2gtk-driver)".to_owned());
    }
    if !in_path("Xvfb") {
        missing.push("Xvfb (Debian package xvfb)".to_owned());
    }
    (!missing.is_empty()).then(|| missing.join("; "))
}

/// What the end-to-end tests should do in this environment (see [`missing_pieces`]).
pub enum Gate {
    Run,
    Skip(String),
}

/// Decides whether to run; panics when `PARLEY_E2E=1` and something is missing.
pub fn gate() -> Gate {
    match std::env::var("PARLEY_E2E").as_deref() {
        Ok("0") => return Gate::Skip("PARLEY_E2E=0".to_owned()),
        Ok("1") => {
            if let Some(missing) = missing_pieces() {
                panic!("PARLEY_E2E=1 but the end-to-end tests cannot run; missing: {missing}");
            }
            return Gate::Run;
        }
        _ => {}
    }
    match missing_pieces() {
        Some(missing) => Gate::Skip(format!("missing: {missing}; set PARLEY_E2E=1 to make this a failure")),
        None => Gate::Run,
    }
}

/// Whether `program` is on the PATH.
pub(crate) fn in_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// The app binary: `$PARLEY_APP`, else `parley` in the directory above the running test binary
/// (`target/<profile>/parley`, the same profile as the tests).
pub fn app_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PARLEY_APP") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let exe = std::env::current_exe().ok()?;
    let name = format!("parley{}", std::env::consts::EXE_SUFFIX);
    exe.ancestors().skip(1).map(|dir| dir.join(&name)).find(|p| p.is_file())
}

/// A private X display and a scratch directory, shared by the app instances of one test.
pub struct Desktop {
    pub xvfb: Xvfb,
    /// Kept (not deleted) when the test fails, for its logs.
    dir: Option<tempfile::TempDir>,
    pub app: PathBuf,
    /// When set (`PARLEY_SCREENSHOTS=DIR`), [`AppInstance::screenshot`] saves PNGs there.
    pub screenshots: Option<PathBuf>,
}

impl Desktop {
    pub fn start() -> Desktop {
        let app = app_binary().expect("the app binary (see e2e::missing_pieces)");
        let xvfb = Xvfb::start().expect("Xvfb starts");
        let dir = tempfile::Builder::new()
            .prefix("parley-e2e-")
            .tempdir()
            .expect("temp dir");
        let screenshots = std::env::var_os("PARLEY_SCREENSHOTS").map(PathBuf::from);
        Desktop {
            xvfb,
            dir: Some(dir),
            app,
            screenshots,
        }
    }

    /// The scratch directory (profiles, embedded server data, logs).
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("the scratch directory").path()
    }

    /// The environment of app instance `name`: its own profile (and WebKit data and caches) in
    /// the scratch directory, the shared "This device" server on `port`, and the keyring `keyring`
    /// (`PARLEY_KEYRING`).
    pub fn app_env(&self, name: &str, port: u16, keyring: &str) -> Vec<(String, String)> {
        let home = self.dir().join(name);
        let path = |p: &Path| p.display().to_string();
        vec![
            ("PARLEY_PROFILE".to_owned(), path(&home.join("profile"))),
            ("PARLEY_EMBEDDED_DIR".to_owned(), path(&self.dir().join("server"))),
            ("PARLEY_EMBEDDED_PORT".to_owned(), port.to_string()),
            ("PARLEY_KEYRING".to_owned(), keyring.to_owned()),
            (
                "RUST_LOG".to_owned(),
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned()),
            ),
            // WebKit's own storage and caches stay in the test's directory too.
            ("XDG_DATA_HOME".to_owned(), path(&home.join("data"))),
            ("XDG_CACHE_HOME".to_owned(), path(&home.join("cache"))),
            ("XDG_CONFIG_HOME".to_owned(), path(&home.join("config"))),
        ]
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                eprintln!(
                    "the test failed: its logs and profiles are kept in {}",
                    dir.keep().display()
                );
            }
        }
    }
}

/// Writes the script WebKitWebDriver starts instead of the app: it `exec`s the app (same
/// process) with stdout and stderr appended to `log`.
fn write_launcher(path: &Path, app: &Path, log: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let script = format!("#!/bin/sh\nexec {} \"$@\" >>{} 2>&1\n", quote(app), quote(log));
    std::fs::write(path, script).expect("writing the launcher");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("making the launcher executable");
}

/// One app instance with its own environment; the app can be closed and started again.
pub struct AppInstance {
    pub name: String,
    driver: TauriDriver,
    session: Option<Session>,
    /// The app binary.
    app: PathBuf,
    /// What WebKitWebDriver starts: a script that runs the app with its output in `app_log`
    /// (WebKitWebDriver sends the browser's output to /dev/null).
    launcher: PathBuf,
    /// tauri-driver's and WebKitWebDriver's output.
    log: PathBuf,
    /// The app's output (its tracing log).
    pub app_log: PathBuf,
    screenshots: Option<PathBuf>,
}

impl AppInstance {
    /// Starts `tauri-driver` for `name` with `env` and the app through it.
    pub async fn launch(desktop: &Desktop, name: &str, env: &[(String, String)]) -> AppInstance {
        let log = desktop.dir().join(format!("{name}.driver.log"));
        let app_log = desktop.dir().join(format!("{name}.app.log"));
        let launcher = desktop.dir().join(format!("{name}.launch.sh"));
        write_launcher(&launcher, &desktop.app, &app_log);
        let driver = TauriDriver::start(desktop.xvfb.display(), env, &log)
            .await
            .unwrap_or_else(|e| panic!("{name}: starting tauri-driver: {e}"));
        let mut instance = AppInstance {
            name: name.to_owned(),
            driver,
            session: None,
            app: desktop.app.clone(),
            launcher,
            log,
            app_log,
            screenshots: desktop.screenshots.clone(),
        };
        instance.open().await;
        instance
    }

    /// Starts the app (a new WebDriver session) and waits until its page has loaded.
    pub async fn open(&mut self) {
        assert!(self.session.is_none(), "{}: the app is already open", self.name);
        let started = Instant::now();
        let session = self
            .driver
            .start_app(&self.launcher, &[])
            .await
            .unwrap_or_else(|e| panic!("{}: starting the app: {e}\nlog:\n{}", self.name, self.log_tail()));
        let url = session.url().await.unwrap_or_default();
        assert!(
            !url.starts_with("http://localhost:1420"),
            "{}: the app loads the Vite dev server ({url}): build it with `cargo build -p parley --features \
             tauri/custom-protocol` so it embeds ui/dist",
            self.name
        );
        session
            .wait_for_script("the page to load", "return document.readyState === 'complete'")
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.name));
        eprintln!("{}: app started in {:?}", self.name, started.elapsed());
        self.session = Some(session);
    }

    /// The running app's WebDriver session.
    pub fn session(&self) -> &Session {
        self.session
            .as_ref()
            .unwrap_or_else(|| panic!("{}: the app is closed", self.name))
    }

    pub fn is_open(&self) -> bool {
        self.session.is_some()
    }

    /// The app's process ids (the `parley` processes below this instance's tauri-driver).
    pub fn app_pids(&self) -> Vec<u32> {
        let exe_name: String = self
            .app
            .file_name()
            .map(|n| n.to_string_lossy().chars().take(15).collect())
            .unwrap_or_default();
        descendant_pids(self.driver.pid())
            .into_iter()
            .filter(|&pid| webdriver::process_name(pid).as_deref() == Some(exe_name.as_str()))
            .collect()
    }

    /// Closes the app the way a person quitting it would end it: the session is deleted,
    /// WebKitWebDriver closes the browser (the app), and this waits until the process is gone.
    pub async fn close(&mut self) {
        let session = self
            .session
            .take()
            .unwrap_or_else(|| panic!("{}: the app is already closed", self.name));
        session
            .delete()
            .await
            .unwrap_or_else(|e| panic!("{}: deleting the session: {e}", self.name));
        webdriver::wait_for_within(
            crate::DEADLINE,
            &format!("{}'s app process to end", self.name),
            || async { Ok(self.app_pids().is_empty().then_some(())) },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}; still running: {:?}", self.app_pids()));
    }

    /// Closes (if open) and starts the app again on the same profile.
    pub async fn reopen(&mut self) {
        if self.session.is_some() {
            self.close().await;
        }
        self.open().await;
    }

    /// Saves a PNG of the window as `NAME.png` in the screenshot directory, if one is set
    /// (`PARLEY_SCREENSHOTS`); returns its path.
    pub async fn screenshot(&self, name: &str) -> Option<PathBuf> {
        let dir = self.screenshots.as_ref()?;
        let path = dir.join(format!("{name}.png"));
        // Let the page paint what it has just rendered (two frames; a hidden window's frames may
        // be throttled, so at most half a second).
        let _ = self
            .session()
            .execute_async(
                "const done = arguments[arguments.length - 1]; setTimeout(done, 500); \
                 requestAnimationFrame(() => requestAnimationFrame(() => done()));",
                vec![],
            )
            .await;
        self.session()
            .save_screenshot(&path)
            .await
            .unwrap_or_else(|e| panic!("{}: screenshot {name}: {e}", self.name));
        eprintln!("{}: saved {}", self.name, path.display());
        Some(path)
    }

    /// The end of this instance's logs (the app's, then tauri-driver's and WebKitWebDriver's).
    pub fn log_tail(&self) -> String {
        let tail = |path: &Path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        };
        format!(
            "--- {}\n{}\n--- {}\n{}",
            self.app_log.display(),
            tail(&self.app_log),
            self.log.display(),
            tail(&self.log)
        )
    }

    /// The page's visible text (the start of it), for a failure report.
    pub async fn describe_short(&self) -> String {
        match &self.session {
            Some(s) => match s.execute("return document.body.innerText.slice(0, 3000)", vec![]).await {
                Ok(serde_json::Value::String(text)) => text,
                Ok(other) => other.to_string(),
                Err(e) => format!("(no page text: {e})"),
            },
            None => "(closed)".to_owned(),
        }
    }

    /// The page's HTML, for a failure report.
    pub async fn describe(&self) -> String {
        match &self.session {
            Some(s) => s.source().await.unwrap_or_else(|e| format!("(no page source: {e})")),
            None => "(closed)".to_owned(),
        }
    }
}

/// Unwraps a WebDriver result, or fails naming the app, the step, and the end of the app's log.
pub trait Step<T> {
    fn on(self, app: &AppInstance, what: &str) -> T;
}

impl<T> Step<T> for webdriver::Result<T> {
    fn on(self, app: &AppInstance, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{}: {what}: {e}\n{}", app.name, app.log_tail()))
    }
}
