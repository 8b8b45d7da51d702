//! A small W3C WebDriver client (just what the end-to-end tests use) and the processes it talks
//! to: a virtual X server ([`Xvfb`]) and `tauri-driver` ([`TauriDriver`]).
//!
//! `tauri-driver` takes the app's path and arguments in the `tauri:options` capability (see
//! [`Session::start_app`]) and hands them to WebKitWebDriver, which starts the app. It forwards
//! no environment variables of its own: the app inherits the environment of `tauri-driver`, so
//! each app instance that needs its own environment (profile directory, keyring, …) gets its own
//! `tauri-driver` ([`TauriDriver::start`] takes the variables).
//!
//! Waiting is always polling a condition until a deadline ([`Session::wait_until`]); nothing
//! sleeps for a fixed time and hopes.

use std::fmt;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The key W3C WebDriver uses for an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How often the wait helpers poll.
pub const POLL: Duration = Duration::from_millis(50);

/// What went wrong talking to the WebDriver server.
#[derive(Debug)]
pub enum Error {
    /// The HTTP request failed (server not running, connection reset, …).
    Http(reqwest::Error),
    /// The server answered with a WebDriver error (`error` is its code, e.g. `no such element`).
    WebDriver {
        status: u16,
        error: String,
        message: String,
    },
    /// The answer was not what the protocol says.
    Protocol(String),
    /// A wait helper's condition did not hold before its deadline.
    Timeout(String),
    /// Starting or talking to a helper process (Xvfb, tauri-driver).
    Process(String),
}

impl Error {
    /// The WebDriver error code, when the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::WebDriver { error, .. } => Some(error),
            _ => None,
        }
    }

    /// `true` for the errors a page that is still changing gives (the element is not there yet,
    /// or was replaced since it was found): the wait helpers retry on them.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code(),
            Some(
                "no such element"
                    | "stale element reference"
                    | "element not interactable"
                    | "element click intercepted"
            )
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Http(e) => write!(f, "WebDriver HTTP request failed: {e}"),
            Error::WebDriver { status, error, message } => {
                write!(f, "WebDriver error {status} {error}: {message}")
            }
            Error::Protocol(m) => write!(f, "unexpected WebDriver answer: {m}"),
            Error::Timeout(m) => write!(f, "timed out: {m}"),
            Error::Process(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        Error::Http(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One WebDriver session: one app instance (WebKitWebDriver starts it with the session and ends
/// it when the session is deleted).
pub struct Session {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    base: String,
    id: String,
    /// How long [`Session::find`] and the other `wait_*` helpers wait by default.
    pub timeout: Duration,
}

/// The capabilities that make `tauri-driver` start `application` with `args`.
pub fn tauri_capabilities(application: &Path, args: &[String]) -> Value {
    json!({
        "capabilities": {
            "alwaysMatch": {
                "tauri:options": { "application": application, "args": args }
            }
        }
    })
}

async fn decode(response: reqwest::Response) -> Result<Value> {
    let status = response.status();
    let text = response.text().await?;
    let body: Value =
        serde_json::from_str(&text).map_err(|e| Error::Protocol(format!("{e} in HTTP {status} body {text:?}")))?;
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    let field = |name: &str| value.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
    Err(Error::WebDriver {
        status: status.as_u16(),
        error: field("error"),
        message: field("message"),
    })
}

impl Session {
    /// Starts a session on the WebDriver server at `server` (`http://127.0.0.1:4444`).
    pub async fn start(server: &str, capabilities: Value) -> Result<Session> {
        let http = reqwest::Client::builder()
            // Starting a session starts the app; the rest answer in milliseconds.
            .timeout(Duration::from_secs(120))
            .build()?;
        let server = server.trim_end_matches('/');
        let value = decode(
            http.post(format!("{server}/session"))
                .json(&capabilities)
                .send()
                .await?,
        )
        .await?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Protocol(format!("no sessionId in {value}")))?
            .to_owned();
        Ok(Session {
            http,
            base: format!("{server}/session/{id}"),
            id,
            timeout: crate::DEADLINE,
        })
    }

    /// Starts the Tauri app `application` (with `args`) through `tauri-driver` at `server`.
    pub async fn start_app(server: &str, application: &Path, args: &[String]) -> Result<Session> {
        Session::start(server, tauri_capabilities(application, args)).await
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    async fn get(&self, path: &str) -> Result<Value> {
        decode(self.http.get(format!("{}{path}", self.base)).send().await?).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        decode(
            self.http
                .post(format!("{}{path}", self.base))
                .json(&body)
                .send()
                .await?,
        )
        .await
    }

    /// Ends the session; WebKitWebDriver closes the app.
    pub async fn delete(self) -> Result<()> {
        decode(self.http.delete(&self.base).send().await?).await.map(drop)
    }

    /// The current page's URL.
    pub async fn url(&self) -> Result<String> {
        as_string(self.get("/url").await?)
    }

    pub async fn title(&self) -> Result<String> {
        as_string(self.get("/title").await?)
    }

    /// The page's HTML (for failure reports).
    pub async fn source(&self) -> Result<String> {
        as_string(self.get("/source").await?)
    }

    /// The first element matching the CSS `selector` now (no waiting).
    pub async fn find_now(&self, selector: &str) -> Result<Element<'_>> {
        let value = self
            .post("/element", json!({"using": "css selector", "value": selector}))
            .await?;
        Element::from_json(self, &value, selector)
    }

    /// Every element matching the CSS `selector` now (possibly none).
    pub async fn find_all(&self, selector: &str) -> Result<Vec<Element<'_>>> {
        let value = self
            .post("/elements", json!({"using": "css selector", "value": selector}))
            .await?;
        let list = value
            .as_array()
            .ok_or_else(|| Error::Protocol(format!("elements: not an array: {value}")))?;
        list.iter().map(|v| Element::from_json(self, v, selector)).collect()
    }

    /// The first element matching `selector`, waiting up to [`Session::timeout`] for it.
    pub async fn find(&self, selector: &str) -> Result<Element<'_>> {
        self.wait_for(&format!("an element matching {selector:?}"), || async {
            match self.find_now(selector).await {
                Ok(element) => Ok(Some(element)),
                Err(e) if e.is_transient() => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Whether an element matches `selector` now.
    pub async fn exists(&self, selector: &str) -> Result<bool> {
        Ok(!self.find_all(selector).await?.is_empty())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page; its return value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// Runs `script` in the page; it reports its result by calling `arguments[arguments.length
    /// - 1]` (the callback WebDriver appends), e.g. when a promise settles.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/async", json!({"script": script, "args": args}))
            .await
    }

    /// Resizes the window (a person narrowing it, or a phone-sized one).
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await
            .map(|_| ())
    }

    /// Whether anything on the page is wider than the window (a layout that breaks when narrow
    /// shows a horizontal scroll bar).
    pub async fn overflows_horizontally(&self) -> Result<bool> {
        let wide = self
            .execute(
                "const d = document.documentElement; return d.scrollWidth > d.clientWidth + 1;",
                vec![],
            )
            .await?;
        Ok(wide.as_bool().unwrap_or(true))
    }

    /// A PNG of the window's page, as the base64 text the server sent.
    pub async fn screenshot_base64(&self) -> Result<String> {
        as_string(self.get("/screenshot").await?)
    }

    /// A PNG of the window's page.
    pub async fn screenshot(&self) -> Result<Vec<u8>> {
        let text = self.screenshot_base64().await?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| Error::Protocol(format!("screenshot is not base64: {e}")))
    }

    /// Saves a PNG of the page to `path` (creating its directory).
    pub async fn save_screenshot(&self, path: &Path) -> Result<()> {
        let png = self.screenshot().await?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::Process(format!("creating {}: {e}", dir.display())))?;
        }
        std::fs::write(path, png).map_err(|e| Error::Process(format!("writing {}: {e}", path.display())))
    }

    /// Polls `check` every [`POLL`] until it returns `Some`, for up to [`Session::timeout`].
    /// Errors from `check` end the wait at once.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, check: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        wait_for_within(self.timeout, what, check).await
    }

    /// Polls `condition` until it holds, for up to [`Session::timeout`].
    pub async fn wait_until<F, Fut>(&self, what: &str, mut condition: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool>>,
    {
        self.wait_for(what, || {
            let fut = condition();
            async move { fut.await.map(|ok| ok.then_some(())) }
        })
        .await
    }

    /// Waits until an element matches `selector`; returns it.
    pub async fn wait_for_element(&self, selector: &str) -> Result<Element<'_>> {
        self.find(selector).await
    }

    /// Waits until an element matching `selector` is displayed; returns it.
    pub async fn wait_displayed(&self, selector: &str) -> Result<Element<'_>> {
        self.wait_for(&format!("{selector:?} to be displayed"), || async {
            for element in self.find_all(selector).await? {
                match element.is_displayed().await {
                    Ok(true) => return Ok(Some(element)),
                    Ok(false) => {}
                    Err(e) if e.is_transient() => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(None)
        })
        .await
    }

    /// Waits until no element matching `selector` is displayed (absent or hidden).
    pub async fn wait_not_displayed(&self, selector: &str) -> Result<()> {
        self.wait_until(&format!("{selector:?} not to be displayed"), || async {
            for element in self.find_all(selector).await? {
                match element.is_displayed().await {
                    Ok(true) => return Ok(false),
                    Ok(false) => {}
                    Err(e) if e.is_transient() => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(true)
        })
        .await
    }

    /// Clicks the first element matching `selector`, waiting until it exists and takes the
    /// click (a list that re-renders may replace the element between finding and clicking).
    pub async fn click(&self, selector: &str) -> Result<()> {
        self.wait_for(&format!("a click on {selector:?}"), || async {
            let element = match self.find_now(selector).await {
                Ok(element) => element,
                Err(e) if e.is_transient() => return Ok(None),
                Err(e) => return Err(e),
            };
            match element.click().await {
                Ok(()) => Ok(Some(())),
                Err(e) if e.is_transient() => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Types `text` into the first element matching `selector` (waiting for it).
    pub async fn type_into(&self, selector: &str, text: &str) -> Result<()> {
        self.wait_for(&format!("typing into {selector:?}"), || async {
            let element = match self.find_now(selector).await {
                Ok(element) => element,
                Err(e) if e.is_transient() => return Ok(None),
                Err(e) => return Err(e),
            };
            match element.send_keys(text).await {
                Ok(()) => Ok(Some(())),
                Err(e) if e.is_transient() => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Waits until no element matches `selector`.
    pub async fn wait_for_absent(&self, selector: &str) -> Result<()> {
        self.wait_until(&format!("no element matching {selector:?}"), || async {
            Ok(!self.exists(selector).await?)
        })
        .await
    }

    /// Waits until the first element matching `selector` has `text` in its visible text.
    pub async fn wait_for_text(&self, selector: &str, text: &str) -> Result<Element<'_>> {
        self.wait_for(&format!("{selector:?} to contain the text {text:?}"), || async {
            for element in self.find_all(selector).await? {
                match element.text().await {
                    Ok(t) if t.contains(text) => return Ok(Some(element)),
                    Ok(_) => {}
                    Err(e) if e.is_transient() => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(None)
        })
        .await
    }

    /// Waits until the first element matching `selector` has the attribute `name` = `value`.
    pub async fn wait_for_attribute(&self, selector: &str, name: &str, value: &str) -> Result<Element<'_>> {
        let what = format!("{selector:?} to have {name}={value:?}");
        self.wait_for(&what, || async {
            for element in self.find_all(selector).await? {
                match element.attribute(name).await {
                    Ok(Some(v)) if v == value => return Ok(Some(element)),
                    Ok(_) => {}
                    Err(e) if e.is_transient() => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(None)
        })
        .await
    }

    /// Waits until `script` (a function body) returns something other than `null`, `undefined`
    /// or `false`; returns that value.
    pub async fn wait_for_script(&self, what: &str, script: &str) -> Result<Value> {
        self.wait_for(what, || async {
            let value = self.execute(script, vec![]).await?;
            Ok(match value {
                Value::Null | Value::Bool(false) => None,
                v => Some(v),
            })
        })
        .await
    }
}

/// Polls `check` every [`POLL`] until it returns `Some`, for up to `timeout`.
pub async fn wait_for_within<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(found) = check().await? {
            return Ok(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Timeout(format!("waited {timeout:?} for {what}")));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn as_string(value: Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(Error::Protocol(format!("expected a string, got {other}"))),
    }
}

/// An element of a [`Session`]'s page.
#[derive(Clone)]
pub struct Element<'s> {
    session: &'s Session,
    id: String,
    /// The selector it was found by (for messages).
    pub selector: String,
}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element({:?} {})", self.selector, self.id)
    }
}

impl<'s> Element<'s> {
    fn from_json(session: &'s Session, value: &Value, selector: &str) -> Result<Element<'s>> {
        let id = value
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Protocol(format!("not an element reference: {value}")))?;
        Ok(Element {
            session,
            id: id.to_owned(),
            selector: selector.to_owned(),
        })
    }

    /// This element as a script argument (`arguments[i]` in [`Session::execute`]).
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    pub async fn click(&self) -> Result<()> {
        self.session.post(&self.path("/click"), json!({})).await.map(drop)
    }

    /// Types `text` into the element (a field gets focus first). Special keys are the WebDriver
    /// code points, e.g. [`keys::ENTER`].
    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.session
            .post(&self.path("/value"), json!({"text": text}))
            .await
            .map(drop)
    }

    /// Empties a field.
    pub async fn clear(&self) -> Result<()> {
        self.session.post(&self.path("/clear"), json!({})).await.map(drop)
    }

    /// The visible text.
    pub async fn text(&self) -> Result<String> {
        as_string(self.session.get(&self.path("/text")).await?)
    }

    /// An HTML attribute (`None` when absent).
    pub async fn attribute(&self, name: &str) -> Result<Option<String>> {
        match self.session.get(&self.path(&format!("/attribute/{name}"))).await? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Ok(Some(other.to_string())),
        }
    }

    /// A DOM property (e.g. `value` of a field, `checked` of a radio).
    pub async fn property(&self, name: &str) -> Result<Value> {
        self.session.get(&self.path(&format!("/property/{name}"))).await
    }

    pub async fn is_displayed(&self) -> Result<bool> {
        match self.session.get(&self.path("/displayed")).await? {
            Value::Bool(b) => Ok(b),
            other => Err(Error::Protocol(format!("displayed: {other}"))),
        }
    }

    /// The first descendant matching `selector` now.
    pub async fn find_now(&self, selector: &str) -> Result<Element<'s>> {
        let value = self
            .session
            .post(
                &self.path("/element"),
                json!({"using": "css selector", "value": selector}),
            )
            .await?;
        Element::from_json(self.session, &value, &format!("{} {selector}", self.selector))
    }

    /// Every descendant matching `selector` now.
    pub async fn find_all(&self, selector: &str) -> Result<Vec<Element<'s>>> {
        let value = self
            .session
            .post(
                &self.path("/elements"),
                json!({"using": "css selector", "value": selector}),
            )
            .await?;
        let list = value
            .as_array()
            .ok_or_else(|| Error::Protocol(format!("elements: not an array: {value}")))?;
        let full = format!("{} {selector}", self.selector);
        list.iter()
            .map(|v| Element::from_json(self.session, v, &full))
            .collect()
    }
}

/// WebDriver's code points for special keys ([`Element::send_keys`]).
pub mod keys {
    pub const ENTER: &str = "\u{E007}";
    pub const TAB: &str = "\u{E004}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const BACKSPACE: &str = "\u{E003}";
}

// --- helper processes ----------------------------------------------------------------------

/// A child process in its own process group; the whole group gets SIGTERM (then SIGKILL) when
/// this is dropped, so what it started (WebKitWebDriver, the app) goes too.
pub struct ProcessGroup {
    child: Child,
    name: String,
}

impl ProcessGroup {
    /// Spawns `command` as the leader of a new process group.
    pub fn spawn(name: &str, mut command: Command) -> Result<ProcessGroup> {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        let child = command
            .spawn()
            .map_err(|e| Error::Process(format!("cannot start {name}: {e}")))?;
        Ok(ProcessGroup {
            child,
            name: name.to_owned(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Whether the leader is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Ends the group: SIGTERM, then SIGKILL to what is left after a grace period.
    #[allow(unsafe_code)]
    pub fn stop(&mut self) {
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group we created; no memory
        // is involved.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) && !group_alive(pgid) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Whether any process of group `pgid` is left.
#[allow(unsafe_code)]
fn group_alive(pgid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the group exists and may be signalled.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for ProcessGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (pid {})", self.name, self.child.id())
    }
}

/// A virtual X server on a display it picked itself (`-displayfd`), so parallel tests never
/// collide.
#[derive(Debug)]
pub struct Xvfb {
    process: ProcessGroup,
    display: String,
}

impl Xvfb {
    /// Starts `Xvfb` with one 1280×800 screen; returns once it accepts clients.
    pub fn start() -> Result<Xvfb> {
        let mut command = Command::new("Xvfb");
        command
            .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut process = ProcessGroup::spawn("Xvfb", command)?;
        let stdout = process.child().stdout.take().expect("stdout is piped");
        // Xvfb writes the display number once it is ready for clients.
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| Error::Process(format!("reading Xvfb's display number: {e}")))?;
        let number: u32 = line.trim().parse().map_err(|_| {
            Error::Process(format!(
                "Xvfb did not start (said {line:?}); is the xvfb package installed?"
            ))
        })?;
        Ok(Xvfb {
            process,
            display: format!(":{number}"),
        })
    }

    /// The `DISPLAY` value, e.g. `:1`.
    pub fn display(&self) -> &str {
        &self.display
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a loopback port")
}

/// Where `tauri-driver` is: `$TAURI_DRIVER`, then `PATH`, then `~/.cargo/bin`.
pub fn find_tauri_driver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return Some(PathBuf::from(path));
    }
    let in_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("tauri-driver"))
        .find(|p| p.is_file());
    in_path.or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        Some(home.join("bin/tauri-driver")).filter(|p| p.is_file())
    })
}

/// The native WebDriver server for WebKitGTK.
pub fn find_webkit_webdriver() -> Option<PathBuf> {
    ["/usr/bin/WebKitWebDriver", "/usr/local/bin/WebKitWebDriver"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// `tauri-driver` (and the WebKitWebDriver it starts) on free loopback ports, on an X display.
/// Apps started through it inherit its environment. Stopped, with everything it started, on drop.
#[derive(Debug)]
pub struct TauriDriver {
    process: ProcessGroup,
    port: u16,
}

impl TauriDriver {
    /// Starts `tauri-driver` on `display` with the extra environment `env`; its (and the apps')
    /// output goes to `log` (appended). Returns once it answers `/status`.
    pub async fn start(display: &str, env: &[(String, String)], log: &Path) -> Result<TauriDriver> {
        let driver = find_tauri_driver().ok_or_else(|| {
            Error::Process("tauri-driver not found: run `scripts/setup.sh test` (cargo install tauri-driver)".into())
        })?;
        let native = find_webkit_webdriver()
            .ok_or_else(|| Error::Process("WebKitWebDriver not found: install the webkit2gtk-driver package".into()))?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| Error::Process(format!("opening {}: {e}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::Process(format!("opening {}: {e}", log.display())))?;
        let port = free_port();
        let native_port = loop {
            let p = free_port();
            if p != port {
                break p;
            }
        };
        let mut command = Command::new(&driver);
        command
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .arg("--native-driver")
            .arg(&native)
            .env("DISPLAY", display)
            // No accessibility bus under Xvfb: keeps GTK from waiting for one.
            .env("NO_AT_BRIDGE", "1")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let mut process = ProcessGroup::spawn("tauri-driver", command)?;
        let status_url = format!("http://127.0.0.1:{port}/status");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let deadline = tokio::time::Instant::now() + crate::DEADLINE;
        loop {
            if !process.is_running() {
                return Err(Error::Process(format!(
                    "tauri-driver exited at start; see {}",
                    log.display()
                )));
            }
            if let Ok(r) = http.get(&status_url).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout(format!("tauri-driver did not answer {status_url}")));
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(TauriDriver { process, port })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Starts the app at `application` in a new session.
    pub async fn start_app(&self, application: &Path, args: &[String]) -> Result<Session> {
        Session::start_app(&self.url(), application, args).await
    }
}

/// Processes whose parent is `pid` (from `/proc`).
pub fn child_pids(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| parent_pid(child) == Some(pid))
        .collect()
}

/// Every process below `pid` (children, grandchildren, …).
pub fn descendant_pids(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for child in child_pids(p) {
            all.push(child);
            todo.push(child);
        }
    }
    all
}

/// The parent of `pid`, from `/proc/PID/stat`.
pub fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (2nd field) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The executable name of `pid` (`/proc/PID/comm`).
pub fn process_name(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_owned())
}
