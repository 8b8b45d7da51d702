//! End to end: the real desktop app (`parley`), driven through WebDriver (`tauri-driver` and
//! WebKitWebDriver) on a private virtual X display, finding elements by the ids of
//! `docs/app-ipc.md` ("Stable element ids").
//!
//! Needs the app binary with the UI embedded, `tauri-driver`, WebKitWebDriver and Xvfb;
//! `scripts/e2e.sh` builds the binary and runs this file with everything in place:
//!
//! ```sh
//! scripts/e2e.sh                                        # build + run (what ./test.sh does)
//! PARLEY_SCREENSHOTS=docs/screenshots scripts/e2e.sh    # also save window screenshots
//! ```
//!
//! Without `PARLEY_E2E` the tests skip (with the reason) when a piece is missing; with
//! `PARLEY_E2E=1` a missing piece is a failure; `PARLEY_E2E=0` skips them.
//!
//! The chat scenario keeps the apps' session tokens in the kernel keyring
//! (`PARLEY_KEYRING=keyutils`), so that a restarted app restores its session; like
//! `tests/integration/cli.rs` it runs only with `PARLEY_TEST_KEYUTILS=1`, inside `keyctl session -`.

// Tests report what they skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use parley_tests::app::{gate, AppInstance, Desktop, Gate, Step};
use parley_tests::pulse_mic::PulseMic;
use parley_tests::webdriver::{free_port, Session};
use serde_json::{json, Value};

fn should_run(test: &str) -> bool {
    match gate() {
        Gate::Run => true,
        Gate::Skip(why) => {
            eprintln!("{test}: skipped: {why}");
            false
        }
    }
}

/// The harness itself: two app instances at once on one display, each with its own session,
/// environment, scripts and screenshots; closing one ends its process while the other runs on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_start_screenshot_and_close() {
    if !should_run("two_instances_start_screenshot_and_close") {
        return;
    }
    let desktop = Desktop::start();
    let port = free_port();
    let env = |name: &str| desktop.app_env(name, port, "memory");
    let mut a = AppInstance::launch(&desktop, "a", &env("a")).await;
    let mut b = AppInstance::launch(&desktop, "b", &env("b")).await;

    for app in [&a, &b] {
        let session = app.session();
        let url = session.url().await.expect("url");
        assert!(
            url.starts_with("tauri://") || url.starts_with("http://tauri.localhost"),
            "{}: the page comes from the embedded UI, not {url}",
            app.name
        );
        let tauri = session
            .execute("return typeof window.__TAURI_INTERNALS__", vec![])
            .await
            .expect("script");
        assert_eq!(tauri, "object", "{}: the Tauri IPC bridge is in the page", app.name);
        let png = session.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{}: a PNG screenshot", app.name);
        let pids = app.app_pids();
        assert_eq!(pids.len(), 1, "{}: one app process", app.name);
        // The app inherits its tauri-driver's environment: each instance has its own profile.
        let environ = std::fs::read(format!("/proc/{}/environ", pids[0])).expect("environ");
        let profile = format!(
            "PARLEY_PROFILE={}",
            desktop.dir().join(&app.name).join("profile").display()
        );
        assert!(
            environ.split(|&b| b == 0).any(|var| var == profile.as_bytes()),
            "{}: the app got {profile}",
            app.name
        );
    }

    // One instance per profile: starting a's profile again hands over to the running app (which
    // brings its window forward) and exits at once; a runs on.
    let second = tokio::time::timeout(
        parley_tests::DEADLINE,
        tokio::process::Command::new(&desktop.app)
            .envs(env("a"))
            .env("DISPLAY", desktop.xvfb.display())
            .output(),
    )
    .await
    .expect("a second launch of the same profile ends by itself")
    .expect("the app binary starts");
    // Logs go to stdout, errors to stderr.
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&second.stdout),
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(second.status.success(), "second launch: {:?}\n{output}", second.status);
    assert!(output.contains("already running"), "second launch said: {output}");
    assert_eq!(a.app_pids().len(), 1, "a keeps running");

    // Typing into a field of the sign-in screen reaches it.
    a.session().type_into("#signin-login", "hello").await.expect("typing");
    let field = a.session().find("#signin-login").await.expect("the field");
    assert_eq!(field.property("value").await.expect("value"), "hello");

    b.close().await;
    assert!(b.app_pids().is_empty(), "b's app process ended with its session");
    assert_eq!(a.app_pids().len(), 1, "a keeps running");
    b.reopen().await;
    assert_eq!(b.app_pids().len(), 1, "b runs again");
    // b's keyring was a memory store, gone with its process: the history's key with it. The
    // window still opens, on the screen that asks for the recovery code; nothing is deleted.
    let locked = b
        .session()
        .wait_for_script(
            "the locked-history screen",
            "const s = document.querySelector('#startup'); return s !== null && s.dataset.code === 'history_locked'",
        )
        .await;
    if let Err(e) = locked {
        panic!("{e}\n{}", b.describe().await);
    }
    assert!(
        b.session().find("#recovery-code-input").await.is_ok(),
        "the recovery code field"
    );
    b.screenshot("history-locked").await;
    a.close().await;
    b.close().await;
}

/// No Secret Service at all (no D-Bus session, as on a desktop without a keyring daemon): the
/// window still opens, on the screen that says what is missing; the kernel keyring is offered
/// and, chosen, takes the person on to signing in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keyring_the_window_says_so_and_offers_the_kernel_keyring() {
    if !should_run("without_a_keyring_the_window_says_so_and_offers_the_kernel_keyring") {
        return;
    }
    if std::env::var_os("PARLEY_TEST_KEYUTILS").is_none() {
        eprintln!("skipped: needs PARLEY_TEST_KEYUTILS=1 inside `keyctl session -` (the kernel keyring is chosen)");
        return;
    }
    let desktop = Desktop::start();
    let mut env = desktop.app_env("nokeyring", free_port(), "");
    env.retain(|(k, _)| k != "PARLEY_KEYRING");
    env.push((
        "DBUS_SESSION_BUS_ADDRESS".to_owned(),
        "unix:path=/nonexistent/parley-test-bus".to_owned(),
    ));
    let app = AppInstance::launch(&desktop, "nokeyring", &env).await;
    let session = app.session();
    let shown = session
        .wait_for_script(
            "the keyring screen",
            "const s = document.querySelector('#startup'); return s !== null && s.dataset.code === 'keyring_unavailable'",
        )
        .await;
    if let Err(e) = shown {
        panic!("{e}\n{}\n{}", app.describe().await, app.log_tail());
    }
    let message = session.find("#startup-message").await.on(&app, "the explanation");
    let text = message.text().await.on(&app, "its text");
    assert!(text.contains("gnome-keyring"), "says how to fix it: {text}");
    app.screenshot("keyring-unavailable").await;
    session
        .find("#startup-kernel-keyring")
        .await
        .on(&app, "the kernel keyring button")
        .click()
        .await
        .on(&app, "clicking it");
    session
        .wait_for_script(
            "the sign-in screen",
            "return document.querySelector('#signin-login') !== null",
        )
        .await
        .on(&app, "going on with the kernel keyring");
}

/// `#contacts` entry of `username` (its button is what a person clicks).
/// Whether the apps can keep their tokens in the kernel keyring (`PARLEY_TEST_KEYUTILS=1`
/// inside `keyctl session -`). Under `scripts/e2e.sh` (`PARLEY_E2E=1`) its absence fails the
/// test; a plain `cargo test` skips it, saying why.
/// Whether an end-to-end test whose apps keep their tokens in the kernel keyring runs here.
fn ready(test: &str) -> bool {
    should_run(test) && keyutils_ready(test)
}

fn keyutils_ready(test: &str) -> bool {
    if std::env::var("PARLEY_TEST_KEYUTILS").as_deref() == Ok("1") {
        return true;
    }
    let why =
        "needs PARLEY_TEST_KEYUTILS=1 inside `keyctl session -` (the apps keep their tokens in the kernel keyring)";
    assert!(std::env::var("PARLEY_E2E").as_deref() != Ok("1"), "{test}: {why}");
    eprintln!("{test}: skipped: {why}");
    false
}

fn contact(username: &str) -> String {
    format!("#contacts [data-username=\"{username}\"]")
}

/// The `data-state` of the message in `#messages` going `direction` whose text contains `text`
/// (`null` when there is none).
const MESSAGE_STATE: &str = r#"
    const [direction, text] = arguments;
    for (const m of document.querySelectorAll(`#messages .message[data-direction="${direction}"]`)) {
        const body = m.querySelector('.body');
        if (body !== null && body.textContent.includes(text)) return m.dataset.state ?? '';
    }
    return null;"#;

async fn message_state(session: &Session, direction: &str, text: &str) -> Option<String> {
    match session
        .execute(MESSAGE_STATE, vec![json!(direction), json!(text)])
        .await
        .expect("reading the messages")
    {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// Waits until `app` shows a message going `direction` with `text`.
async fn wait_for_message(app: &AppInstance, direction: &str, text: &str) {
    let session = app.session();
    let what = format!("{}: a {direction} message with {text:?}", app.name);
    let found = session
        .wait_for(&what, || async { Ok(message_state(session, direction, text).await) })
        .await;
    if let Err(e) = found {
        panic!("{e}\npage text:\n{}", app.describe_short().await);
    }
}

/// Creates the account `name` on "This device" in the sign-up tab; waits for the main screen.
async fn sign_up(app: &AppInstance, name: &str) {
    let s = app.session();
    s.wait_displayed("#auth").await.on(app, "the sign-in screen");
    s.click("#tab-signup").await.on(app, "the create-account tab");
    s.click("#server-embedded").await.on(app, "\"This device\"");
    s.type_into("#signup-username", name).await.on(app, "username");
    s.type_into("#signup-email", &format!("{name}@example.org"))
        .await
        .on(app, "email");
    s.type_into("#signup-password", PASSWORD).await.on(app, "password");
    let display = format!("{}{}", name[..1].to_uppercase(), &name[1..]);
    s.type_into("#signup-display-name", &display)
        .await
        .on(app, "display name");
    s.click("#signup-submit").await.on(app, "creating the account");
    let me = format!("#me[data-username=\"{name}\"]");
    if let Err(e) = s.wait_for_element(&me).await {
        let error = match s.find_now("#auth-error").await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        panic!(
            "{}: not signed in after creating the account: {e}; #auth-error: {error:?}\nlog:\n{}",
            app.name,
            app.log_tail()
        );
    }
    wait_connection(app, "online").await;
}

async fn join_room(app: &AppInstance, room: &str) {
    let s = app.session();
    s.type_into("#room-name", room).await.on(app, "typing the room name");
    s.click("#room-join").await.on(app, "joining");
    s.wait_for_element(&format!("#rooms [data-room=\"{room}\"]"))
        .await
        .on(app, "the room in the joined list");
}

/// Opens the conversation with `username` from the contacts list.
async fn open_conversation(app: &AppInstance, username: &str) {
    let s = app.session();
    s.click(&format!("{} button", contact(username)))
        .await
        .unwrap_or_else(|e| panic!("{}: opening the conversation with {username}: {e}", app.name));
    s.wait_displayed("#conversation")
        .await
        .unwrap_or_else(|e| panic!("{}: the conversation with {username}: {e}", app.name));
}

async fn send(app: &AppInstance, text: &str) {
    let s = app.session();
    s.type_into("#composer", text)
        .await
        .unwrap_or_else(|e| panic!("{}: typing a message: {e}", app.name));
    s.click("#send")
        .await
        .unwrap_or_else(|e| panic!("{}: sending: {e}", app.name));
    wait_for_message(app, "outgoing", text).await;
}

/// Waits until `#main` says the app's connection is `state`; on failure shows what it says.
async fn wait_connection(app: &AppInstance, state: &str) {
    let s = app.session();
    if let Err(e) = s.wait_for_attribute("#main", "data-connection", state).await {
        let now = match s.find_now("#main").await {
            Ok(main) => main.attribute("data-connection").await.ok().flatten(),
            Err(_) => None,
        };
        panic!(
            "{}: not {state}: {e}; data-connection is {now:?}\npage text:\n{}\n{}",
            app.name,
            app.describe_short().await,
            app.log_tail()
        );
    }
}

const PASSWORD: &str = "correct horse battery staple";
const HELLO: &str = "Hello Bob, the lighthouse opens at nine";
const REPLY: &str = "Hi Alice, see you at the harbour";
const AFTER_SIGN_IN: &str = "Signed out and back, still here";
const AFTER_TAKEOVER: &str = "Your app hosts the server now";

/// Two people on one machine through the "This device" server: Alice's app hosts it, Bob's uses
/// it. They meet in a room and chat (unread badge, delivery states); Alice signs out and in
/// again and is back in the room with no action, a message going out at once; Bob's app
/// restarts and restores its session from the keyring with the history intact; Alice's app
/// (the host) quits and Bob's takes over hosting, so Bob stays reachable and Alice, started
/// again, chats with him; finally Bob with no server at all still reads and searches the
/// history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_restart_and_search_offline() {
    const TEST: &str = "two_people_chat_restart_and_search_offline";
    if !ready(TEST) {
        return;
    }
    let started = std::time::Instant::now();
    let desktop = Desktop::start();
    let port = free_port();
    let env = |name: &str| desktop.app_env(name, port, "keyutils");

    // Alice starts first and creates her account: her app hosts the "This device" server.
    let mut alice = AppInstance::launch(&desktop, "alice", &env("alice")).await;
    alice
        .session()
        .wait_displayed("#signin-login")
        .await
        .expect("the sign-in screen");
    alice.screenshot("sign-in").await;
    sign_up(&alice, "alice").await;

    // Bob's app finds the port served by Parley and uses Alice's server.
    let mut bob = AppInstance::launch(&desktop, "bob", &env("bob")).await;
    sign_up(&bob, "bob").await;

    join_room(&alice, "lobby").await;
    join_room(&bob, "lobby").await;

    // Alice sees Bob online and writes to him.
    alice
        .session()
        .wait_for_attribute(&contact("bob"), "data-online", "true")
        .await
        .expect("alice: bob online in her contacts");
    open_conversation(&alice, "bob").await;
    send(&alice, HELLO).await;

    // Bob has an unread message from Alice, opens it and replies.
    bob.session()
        .wait_for_text(&format!("{} .unread", contact("alice")), "1")
        .await
        .expect("bob: an unread badge on alice");
    open_conversation(&bob, "alice").await;
    wait_for_message(&bob, "incoming", HELLO).await;
    send(&bob, REPLY).await;

    // Alice gets the reply, and her message reached Bob.
    wait_for_message(&alice, "incoming", REPLY).await;
    let a = alice.session();
    let delivered = a
        .wait_for("alice: her message delivered or read", || async {
            let state = message_state(a, "outgoing", HELLO).await;
            Ok(state.filter(|s| s == "delivered" || s == "read"))
        })
        .await
        .expect("alice's message delivered");
    eprintln!("alice's message is {delivered}");
    alice.screenshot("conversation").await;

    // Alice signs out and in again: the room comes back by itself, Bob shows online, and a
    // message goes out at once (it once sat at ◷ until the room was joined again by hand).
    let a = alice.session();
    a.click("#sign-out").await.on(&alice, "signing out");
    a.wait_displayed("#sign-out-dialog")
        .await
        .on(&alice, "the sign-out dialog");
    a.click("#sign-out-confirm").await.on(&alice, "confirming the sign-out");
    a.wait_displayed("#auth").await.on(&alice, "the sign-in screen");
    a.click("#tab-signin").await.on(&alice, "the sign-in tab");
    a.click("#server-embedded").await.on(&alice, "\"This device\"");
    // The sign-in form remembers who signed in last.
    let login = a
        .execute("return document.querySelector('#signin-login').value", vec![])
        .await
        .on(&alice, "the login field");
    assert_eq!(login, json!("alice"), "alice: the login field offers the last username");
    a.type_into("#signin-password", PASSWORD).await.on(&alice, "password");
    a.click("#signin-submit").await.on(&alice, "signing in");
    a.wait_for_element("#me[data-username=\"alice\"]")
        .await
        .on(&alice, "signed in again");
    a.wait_for_element("#rooms [data-room=\"lobby\"]")
        .await
        .on(&alice, "the lobby back without joining it by hand");
    a.wait_for_attribute(&contact("bob"), "data-online", "true")
        .await
        .on(&alice, "bob online again");
    open_conversation(&alice, "bob").await;
    send(&alice, AFTER_SIGN_IN).await;
    a.wait_for("alice: the message after signing in delivered", || async {
        let state = message_state(a, "outgoing", AFTER_SIGN_IN).await;
        Ok(state.filter(|s| s == "delivered" || s == "read"))
    })
    .await
    .expect("the message after signing in delivered");
    wait_for_message(&bob, "incoming", AFTER_SIGN_IN).await;

    // Bob quits and starts again: signed in from the keyring, no sign-in screen, history there.
    bob.close().await;
    bob.open().await;
    let b = bob.session();
    b.wait_for_element("#me[data-username=\"bob\"]")
        .await
        .unwrap_or_else(|e| {
            panic!(
                "bob: session not restored after the restart: {e}\nlog:\n{}",
                bob.log_tail()
            )
        });
    assert!(
        !b.exists("#auth").await.expect("query"),
        "bob: no sign-in screen after the restart"
    );
    wait_connection(&bob, "online").await;
    open_conversation(&bob, "alice").await;
    wait_for_message(&bob, "incoming", HELLO).await;
    wait_for_message(&bob, "outgoing", REPLY).await;

    // Alice's app quits, and the server with it: Bob's app takes over hosting at once, so he is
    // back online in the lobby, and Alice, started again, finds her session and chats with him.
    alice.close().await;
    wait_connection(&bob, "online").await;
    let b = bob.session();
    b.wait_for_element("#rooms [data-room=\"lobby\"]")
        .await
        .on(&bob, "the lobby still listed");
    alice.open().await;
    let a = alice.session();
    a.wait_for_element("#me[data-username=\"alice\"]")
        .await
        .on(&alice, "the session restored from Bob's server");
    wait_connection(&alice, "online").await;
    a.wait_for_attribute(&contact("bob"), "data-online", "true")
        .await
        .on(&alice, "bob online on the server his app now hosts");
    open_conversation(&alice, "bob").await;
    send(&alice, AFTER_TAKEOVER).await;
    wait_for_message(&bob, "incoming", AFTER_TAKEOVER).await;

    // No server at all: both quit, and Bob starts with another port for "This device", so
    // nothing answers at the address his session is on. He is offline but keeps his history.
    bob.close().await;
    alice.close().await;
    let mut bob = AppInstance::launch(
        &desktop,
        "bob-offline",
        &desktop.app_env("bob", free_port(), "keyutils"),
    )
    .await;
    let b = bob.session();
    b.wait_for_element("#me[data-username=\"bob\"]")
        .await
        .on(&bob, "bob's profile, offline");
    b.wait_displayed("#offline-banner")
        .await
        .expect("bob: the offline banner");
    wait_connection(&bob, "offline").await;
    open_conversation(&bob, "alice").await;
    wait_for_message(&bob, "incoming", HELLO).await;
    bob.screenshot("offline").await;

    // Search works offline: the hit opens the conversation at that message.
    b.click("#nav-search").await.expect("bob: search");
    b.type_into("#search-input", "lighthouse")
        .await
        .expect("bob: typing a search");
    b.wait_displayed("#search-results [data-message-id]")
        .await
        .expect("bob: a search result");
    bob.screenshot("search-offline").await;
    b.click("#search-results [data-message-id]")
        .await
        .expect("bob: opening the hit");
    b.wait_for_text("#messages .message.highlight .body", "lighthouse")
        .await
        .expect("bob: the found message highlighted");
    assert!(b.exists("#offline-banner").await.expect("query"), "still offline");

    bob.close().await;
    eprintln!("{TEST}: scenario took {:?}", started.elapsed());
}

/// A picture: a gradient with a circle, so the preview visibly is one.
fn write_picture(path: &std::path::Path) {
    let image = image::RgbImage::from_fn(1200, 800, |x, y| {
        let (dx, dy) = (x as i32 - 600, y as i32 - 400);
        if dx * dx + dy * dy < 250 * 250 {
            image::Rgb([250, 200, 40])
        } else {
            image::Rgb([(x / 5) as u8, (y / 4) as u8, 160])
        }
    });
    image.save(path).expect("writing the picture");
}

/// Calls a command of the app from its page, as the UI does; the answer's JSON.
async fn invoke(app: &AppInstance, command: &str, args: Value) -> Value {
    app.session()
        .execute_async(
            "const [command, args, done] = arguments; \
             window.__TAURI_INTERNALS__.invoke(command, args).then((r) => done({ ok: r }), (e) => done({ err: e }));",
            vec![json!(command), args],
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {command}: {e}", app.name))
}

/// The `data-file-state` of the file message named `name` going `direction`, if shown.
async fn file_state(app: &AppInstance, direction: &str, name: &str) -> Option<String> {
    let script = r#"
        const [direction, name] = arguments;
        for (const m of document.querySelectorAll(`#messages .message[data-direction="${direction}"]`)) {
            const bubble = m.querySelector('[data-file-state]');
            const title = m.querySelector('.file-name');
            if (bubble !== null && title !== null && title.title === name) return bubble.dataset.fileState;
        }
        return null;"#;
    match app.session().execute(script, vec![json!(direction), json!(name)]).await {
        Ok(Value::String(s)) => Some(s),
        _ => None,
    }
}

async fn wait_file_state(app: &AppInstance, direction: &str, name: &str, state: &str) {
    let s = app.session();
    let what = format!("{}: the {direction} file {name} {state}", app.name);
    let found = s
        .wait_for(&what, || async {
            Ok(file_state(app, direction, name).await.filter(|st| st == state))
        })
        .await;
    if let Err(e) = found {
        panic!("{e}\npage text:\n{}\n{}", app.describe_short().await, app.log_tail());
    }
}

/// Two windows: Alice sends a picture and a document to Bob, who sees the picture's preview,
/// then both files verified in his download folder, and opens the picture in the viewer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_send_a_picture_and_a_file() {
    const TEST: &str = "two_people_send_a_picture_and_a_file";
    if !ready(TEST) {
        return;
    }
    let desktop = Desktop::start();
    let port = free_port();
    let env = |name: &str| desktop.app_env(name, port, "keyutils");
    let alice = AppInstance::launch(&desktop, "alice", &env("alice")).await;
    sign_up(&alice, "alice").await;
    let bob = AppInstance::launch(&desktop, "bob", &env("bob")).await;
    sign_up(&bob, "bob").await;
    join_room(&alice, "lobby").await;
    join_room(&bob, "lobby").await;

    // Bob's files go to a folder of the test's (set as Settings would).
    let downloads = desktop.dir().join("bob-downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let mut settings = invoke(&bob, "get_settings", json!({})).await["ok"].clone();
    settings["download_dir"] = json!(downloads.display().to_string());
    let saved = invoke(&bob, "set_settings", json!({ "settings": settings })).await;
    assert!(saved.get("ok").is_some(), "bob: saving the download folder: {saved}");

    let picture = desktop.dir().join("harbour.png");
    write_picture(&picture);
    let notes = desktop.dir().join("trip notes.txt");
    std::fs::write(&notes, "Ferry at 9:10, lighthouse at 11.\n".repeat(20_000)).unwrap();

    alice
        .session()
        .wait_for_attribute(&contact("bob"), "data-online", "true")
        .await
        .on(&alice, "bob online");
    open_conversation(&alice, "bob").await;
    let bob_id = alice
        .session()
        .execute(
            "return document.querySelector('#contacts [data-username=\"bob\"]').closest('li').dataset.userId",
            vec![],
        )
        .await
        .on(&alice, "bob's id");
    let sent = invoke(
        &alice,
        "send_files",
        json!({ "userId": bob_id, "paths": [picture.display().to_string(), notes.display().to_string()] }),
    )
    .await;
    assert_eq!(sent["ok"].as_array().map(Vec::len), Some(2), "alice: sending: {sent}");

    open_conversation(&bob, "alice").await;
    // The picture's preview, made by Alice's app and checked by Bob's, shows in Bob's window.
    bob.session()
        .wait_for_element("#messages .message[data-direction=\"incoming\"] .file-preview img")
        .await
        .on(&bob, "the picture's preview");
    wait_file_state(&bob, "incoming", "harbour.png", "complete").await;
    wait_file_state(&bob, "incoming", "trip notes.txt", "complete").await;
    wait_file_state(&alice, "outgoing", "harbour.png", "complete").await;
    wait_file_state(&alice, "outgoing", "trip notes.txt", "complete").await;
    assert_eq!(
        std::fs::read(downloads.join("harbour.png")).unwrap(),
        std::fs::read(&picture).unwrap()
    );
    assert_eq!(
        std::fs::read(downloads.join("trip notes.txt")).unwrap(),
        std::fs::read(&notes).unwrap()
    );
    alice.screenshot("files-sent").await;
    bob.screenshot("files-received").await;

    // The viewer shows the picture as Bob's app decoded it.
    let b = bob.session();
    let preview = "#messages .message[data-direction=\"incoming\"] .file-preview";
    b.execute(
        "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
        vec![json!(preview)],
    )
    .await
    .on(&bob, "scrolling to the picture");
    b.click(preview).await.on(&bob, "opening the picture");
    b.wait_for_script(
        "the full picture",
        "const img = document.querySelector('#picture-viewer-image'); \
         return img !== null && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0;",
    )
    .await
    .on(&bob, "the full picture loaded");
    bob.screenshot("files-viewer").await;
}

/// Two people on two devices, the way the README tells them to start: Alice's app lets others
/// join its "This device" server (Settings → Let others join) and shows an invite; Bob's app
/// signs up on "Another server" with nothing but that invite — reaching Alice's server over
/// HTTPS at this machine's network address, its certificate pinned — and they chat. Turning the
/// switch off closes the port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_lets_others_join_and_another_joins_by_invite() {
    const TEST: &str = "one_person_lets_others_join_and_another_joins_by_invite";
    if !ready(TEST) {
        return;
    }
    let desktop = Desktop::start();
    let (port, share_port) = (free_port(), free_port());
    let env = |name: &str| {
        let mut env = desktop.app_env(name, port, "keyutils");
        env.push(("PARLEY_SHARE_PORT".to_owned(), share_port.to_string()));
        // No multicast from a test: the invite is the way in here.
        env.push(("PARLEY_ANNOUNCE".to_owned(), "0".to_owned()));
        env
    };
    let alice = AppInstance::launch(&desktop, "alice", &env("alice")).await;
    sign_up(&alice, "alice").await;

    let s = alice.session();
    s.click("#nav-settings").await.on(&alice, "opening Settings");
    s.wait_displayed("#settings-let-others-join")
        .await
        .on(&alice, "the Let others join switch");
    s.click("#settings-let-others-join")
        .await
        .on(&alice, "letting others join");
    s.wait_displayed("#settings-sharing-details")
        .await
        .on(&alice, "the invites");
    s.wait_for_text("#settings-sharing-port", &share_port.to_string())
        .await
        .on(&alice, "the port to open in the firewall");
    s.execute(
        "document.getElementById('settings-sharing-details').scrollIntoView()",
        vec![],
    )
    .await
    .on(&alice, "scrolling to the invites");
    alice.screenshot("settings-let-others-join").await;
    let sharing = invoke(&alice, "sharing", json!({})).await["ok"].clone();
    let invite = sharing["invites"][0].as_str().expect("an invite").to_owned();
    let shown = s
        .find_now("#settings-sharing-invites")
        .await
        .on(&alice, "the invite list");
    assert!(
        shown.text().await.unwrap_or_default().contains(&invite),
        "the window shows the invite it hands out"
    );

    let bob = AppInstance::launch(&desktop, "bob", &env("bob")).await;
    let b = bob.session();
    b.wait_displayed("#auth").await.on(&bob, "the sign-in screen");
    b.click("#tab-signup").await.on(&bob, "the create-account tab");
    b.click("#server-url").await.on(&bob, "\"Another server\"");
    b.type_into("#server-url-input", &invite)
        .await
        .on(&bob, "pasting the invite");
    b.type_into("#signup-username", "bob").await.on(&bob, "username");
    b.type_into("#signup-email", "bob@example.org").await.on(&bob, "email");
    b.type_into("#signup-password", PASSWORD).await.on(&bob, "password");
    b.click("#signup-submit").await.on(&bob, "creating the account");
    if let Err(e) = b.wait_for_element("#me[data-username=\"bob\"]").await {
        let error = match b.find_now("#auth-error").await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        panic!(
            "bob: not signed up through the invite: {e}; #auth-error: {error:?}\nlog:\n{}",
            bob.log_tail()
        );
    }
    wait_connection(&bob, "online").await;
    let snapshot = invoke(&bob, "snapshot", json!({})).await;
    let server = snapshot["ok"]["snapshot"]["server_url"]
        .as_str()
        .or_else(|| snapshot["ok"]["server_url"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        server.starts_with("https://") && !server.contains("127.0.0.1"),
        "bob's server: {snapshot}"
    );

    s.click("#nav-chats").await.on(&alice, "back to the chats");
    join_room(&alice, "harbour").await;
    join_room(&bob, "harbour").await;
    open_conversation(&alice, "bob").await;
    send(&alice, HELLO).await;
    open_conversation(&bob, "alice").await;
    wait_for_message(&bob, "incoming", HELLO).await;
    bob.screenshot("joined-by-invite").await;

    // Narrow and dark, as on a phone at night: the route label, the sharing details and the
    // invite still fit.
    for (app, name) in [(&alice, "alice"), (&bob, "bob")] {
        let s = app.session();
        s.click("#nav-settings").await.on(app, "opening Settings");
        s.click("#settings-theme-dark").await.on(app, "choosing the dark theme");
        s.click("#settings-save").await.on(app, "saving the dark theme");
        s.wait_for_attribute("html", "data-theme", "dark")
            .await
            .on(app, "the dark theme");
        s.set_window_size(400, 760).await.on(app, "narrowing the window");
        if name == "alice" {
            s.execute(
                "document.getElementById('settings-sharing-details').scrollIntoView()",
                vec![],
            )
            .await
            .on(app, "scrolling to the invites");
            app.screenshot("settings-let-others-join-dark-narrow").await;
            assert!(
                !s.overflows_horizontally().await.on(app, "measuring"),
                "{name}: Settings wider than a narrow window"
            );
        }
        s.click("#nav-chats").await.on(app, "back to the chats");
        open_conversation(app, if name == "alice" { "bob" } else { "alice" }).await;
        s.wait_displayed("#conversation-route")
            .await
            .on(app, "how the conversation is connected");
        app.screenshot(&format!("conversation-dark-narrow-{name}")).await;
        assert!(
            !s.overflows_horizontally().await.on(app, "measuring"),
            "{name}: the conversation wider than a narrow window"
        );
    }

    let off = invoke(&alice, "set_sharing", json!({ "on": false })).await;
    assert_eq!(off["ok"], Value::Null, "sharing off: {off}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", share_port)).is_err(),
        "the shared port is closed"
    );
}

/// The other side's picture in a call window (ui/tests/shared/remote-picture.js): its width, how
/// varied it is (blank is 0) and how much it changed over up to 3.5 s (5 looks; a key frame
/// comes every 2 s, so a frozen moment recovers).
fn remote_picture_script() -> String {
    const READ: &str = include_str!("../../ui/tests/shared/remote-picture.js");
    format!(
        "const done = arguments[arguments.length - 1];\n({READ})({{ waitMs: 15000, looks: 5, presented: false }}).then(done, (e) => done({{ error: String(e) }}));"
    )
}

/// Notes the bridged call's playback worklet as the page makes it (`parley-playback`,
/// ui/src/calls/bridged/audio-receiver.ts), so that the other side's sound can be read where the
/// page plays it: an AnalyserNode in the call's own AudioContext. (Read through a second
/// AudioContext from the <audio>'s stream, WebKitGTK's levels were not reliable.)
const SOUND_TAP: &str = r#"
    if (window.__playback === undefined) {
        window.__playback = null;
        const Worklet = window.AudioWorkletNode;
        window.AudioWorkletNode = class extends Worklet {
            constructor(context, name, options) {
                super(context, name, options);
                if (name === 'parley-playback') window.__playback = this;
            }
        };
    }"#;

/// The loudest sample of the other side's sound over 2 s (silence: 0), or -1 without a player.
const SOUND_PEAK: &str = r#"
    const done = arguments[arguments.length - 1];
    (async () => {
        const node = window.__playback;
        if (node === null || node.context.state === 'closed') return -1;
        const analyser = node.context.createAnalyser();
        analyser.fftSize = 2048;
        node.connect(analyser);
        const samples = new Float32Array(analyser.fftSize);
        let peak = 0;
        const started = performance.now();
        while (performance.now() - started < 2000) {
            await new Promise((r) => setTimeout(r, 40));
            analyser.getFloatTimeDomainData(samples);
            for (const v of samples) peak = Math.max(peak, Math.abs(v));
        }
        node.disconnect(analyser);
        return peak;
    })().then(done, (e) => done(String(e)));"#;

/// Hides `app`'s window as minimizing it does, for the page (unmapped: WebKit marks the page
/// hidden and throttles its timers), and returns what to map again. No window manager runs on
/// the test's display, so the X windows are unmapped directly (xdotool).
fn hide_window(desktop: &Desktop, app: &AppInstance) -> Vec<String> {
    let xdotool = |args: &[&str]| {
        std::process::Command::new("xdotool")
            .args(args)
            .env("DISPLAY", desktop.xvfb.display())
            .output()
            .expect("running xdotool (scripts/setup.sh test installs it)")
    };
    let mut windows = Vec::new();
    for pid in app.app_pids() {
        let found = xdotool(&["search", "--onlyvisible", "--pid", &pid.to_string(), ""]);
        windows.extend(
            String::from_utf8_lossy(&found.stdout)
                .split_whitespace()
                .map(str::to_owned),
        );
    }
    assert!(!windows.is_empty(), "{}: no window to hide", app.name);
    for window in &windows {
        assert!(
            xdotool(&["windowunmap", "--sync", window]).status.success(),
            "{}: hiding {window}",
            app.name
        );
    }
    windows
}

fn show_window(desktop: &Desktop, windows: &[String]) {
    for window in windows {
        let shown = std::process::Command::new("xdotool")
            .args(["windowmap", "--sync", window])
            .env("DISPLAY", desktop.xvfb.display())
            .status()
            .expect("running xdotool");
        assert!(shown.success(), "showing {window} again");
    }
}

async fn sound_peak(app: &AppInstance) -> f64 {
    let peak = app
        .session()
        .execute_async(SOUND_PEAK, vec![])
        .await
        .on(app, "listening to the other side");
    peak.as_f64()
        .unwrap_or_else(|| panic!("{}: the other side's sound: {peak}", app.name))
}

async fn remote_picture(app: &AppInstance) -> Value {
    app.session()
        .execute_async(&remote_picture_script(), vec![])
        .await
        .on(app, "sampling the other side's picture")
}

/// `caller` calls `callee` (video or sound only) from their conversation; `callee` answers;
/// both show the call active.
async fn call_and_answer(caller: &AppInstance, callee: &AppInstance, video: bool) {
    let button = if video { "#call-video" } else { "#call-audio" };
    caller.session().click(button).await.on(caller, "placing the call");
    callee
        .session()
        .wait_displayed("#incoming-call")
        .await
        .on(callee, "the call ringing");
    callee
        .session()
        .click("#incoming-call-answer")
        .await
        .on(callee, "answering");
    for app in [caller, callee] {
        app.session()
            .wait_for_element("#call-stage[data-phase=\"active\"]")
            .await
            .on(app, "the call active");
    }
}

/// With the call's sound tapped in both windows (`sound_peak`), Alice calls Bob from their
/// conversation and he answers.
async fn alice_calls_bob(alice: &AppInstance, bob: &AppInstance, video: bool) {
    for app in [alice, bob] {
        app.session()
            .execute(SOUND_TAP, vec![])
            .await
            .on(app, "tapping the call's sound");
    }
    open_conversation(alice, "bob").await;
    call_and_answer(alice, bob, video).await;
}

/// `app` hung up or was hung up on: the call's outcome shows, its stage is gone; closed.
async fn call_over(app: &AppInstance) {
    let s = app.session();
    s.wait_displayed("#call-outcome").await.on(app, "the call's outcome");
    s.wait_not_displayed("#call-stage").await.on(app, "the call stage gone");
    s.click("#call-outcome-close").await.on(app, "closing the outcome");
}

/// Alice and Bob, each in a window launched with `env(name)`, signed up, in the lobby, and each
/// seeing the other online.
async fn two_in_the_lobby(
    desktop: &Desktop,
    env: impl Fn(&str) -> Vec<(String, String)>,
) -> (AppInstance, AppInstance) {
    let alice = AppInstance::launch(desktop, "alice", &env("alice")).await;
    sign_up(&alice, "alice").await;
    let bob = AppInstance::launch(desktop, "bob", &env("bob")).await;
    sign_up(&bob, "bob").await;
    join_room(&alice, "lobby").await;
    join_room(&bob, "lobby").await;
    alice
        .session()
        .wait_for_attribute(&contact("bob"), "data-online", "true")
        .await
        .on(&alice, "bob online");
    bob.session()
        .wait_for_attribute(&contact("alice"), "data-online", "true")
        .await
        .on(&bob, "alice online");
    (alice, bob)
}

/// Calls in Debian's WebKitGTK, which has capture and WebCodecs but no WebRTC: the media goes
/// through Rust (docs/call-media-bridge.md). Two real windows with WebKit's mock camera and
/// microphone: Settings lists the devices with a preview and level; a video call, answered, each
/// side's picture arriving and moving; mute and camera off reach the other side (its picture
/// gives way to the avatar); each hears the other's sound, and nothing while the other is muted;
/// hang-up ends both; then a call with sound only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_webkitgtk_two_windows_call_each_other_through_the_media_bridge() {
    const TEST: &str = "in_webkitgtk_two_windows_call_each_other_through_the_media_bridge";
    if !ready(TEST) {
        return;
    }
    let desktop = Desktop::start();
    let port = free_port();
    let env = |name: &str| {
        let mut env = desktop.app_env(name, port, "keyutils");
        env.push(("PARLEY_MOCK_MEDIA".to_owned(), "1".to_owned()));
        env
    };
    let (alice, bob) = two_in_the_lobby(&desktop, env).await;
    let (a, b) = (alice.session(), bob.session());

    // Settings: WebKit's mock camera and microphone, their preview and level.
    a.click("#nav-settings").await.on(&alice, "opening Settings");
    a.execute("document.getElementById('settings-calls').scrollIntoView()", vec![])
        .await
        .on(&alice, "scrolling to Calls");
    a.click("#settings-media-test")
        .await
        .on(&alice, "checking camera and microphone");
    a.wait_for_script(
        "the camera preview playing",
        "const v = document.getElementById('settings-camera-preview'); return v.videoWidth > 0 && !v.paused",
    )
    .await
    .on(&alice, "the preview");
    a.wait_for_script(
        "the microphone level moving",
        "return Number(document.getElementById('settings-mic-level').getAttribute('aria-valuenow')) > 0",
    )
    .await
    .on(&alice, "the level meter");
    a.wait_for_script(
        "the mock devices listed by name",
        "return document.querySelectorAll('#settings-camera option').length > 1 \
         && document.querySelectorAll('#settings-microphone option').length > 1",
    )
    .await
    .on(&alice, "the named devices");
    alice.screenshot("settings-calls-webkitgtk").await;
    // What the microphone's processing is in this webview (docs/webview-media.md says it).
    let processing = a
        .execute_async(
            "const done = arguments[arguments.length - 1];
             navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } })
               .then((s) => { const t = s.getAudioTracks()[0]; const st = t.getSettings(); t.stop();
                              done({ echoCancellation: st.echoCancellation ?? null, noiseSuppression: st.noiseSuppression ?? null,
                                     autoGainControl: st.autoGainControl ?? null, sampleRate: st.sampleRate ?? null }); },
                     (e) => done({ error: String(e) }));",
            vec![],
        )
        .await
        .on(&alice, "reading the microphone's settings");
    eprintln!("alice: the microphone's processing in WebKitGTK: {processing}");
    a.click("#nav-chats").await.on(&alice, "back to the chats");

    // A video call: each window decodes the other's moving picture and hears its sound.
    alice_calls_bob(&alice, &bob, true).await;
    for app in [&alice, &bob] {
        let picture = remote_picture(app).await;
        let (width, variance, changed) = (
            picture["width"].as_f64().unwrap_or(0.0),
            picture["variance"].as_f64().unwrap_or(0.0),
            picture["changed"].as_f64().unwrap_or(0.0),
        );
        assert!(
            width > 0.0 && variance > 50.0 && changed > 0.5,
            "{}: the other side's picture {picture}",
            app.name
        );
    }
    alice.screenshot("call-webkitgtk").await;
    // WebKit's mock microphone plays a tone: each side hears the other's.
    for app in [&alice, &bob] {
        let peak = sound_peak(app).await;
        assert!(peak > 0.01, "{}: the other side's sound peaks at {peak}", app.name);
    }

    // Alice's window hidden (minimized): the call's sound goes on both ways, though WebKit
    // throttles a hidden page's timers (the sound is driven by the audio clock and the IPC).
    let hidden = hide_window(&desktop, &alice);
    a.wait_for_script("the page hidden", "return document.visibilityState === 'hidden'")
        .await
        .on(&alice, "her page hidden");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    for app in [&alice, &bob] {
        let peak = sound_peak(app).await;
        assert!(
            peak > 0.01,
            "{}: with alice's window hidden, the other side's sound peaks at {peak}",
            app.name
        );
    }
    show_window(&desktop, &hidden);
    a.wait_for_script("the page shown", "return document.visibilityState === 'visible'")
        .await
        .on(&alice, "her page shown again");

    // Mute and camera off: Bob's window says so, shows Alice's avatar instead of her picture,
    // and hears nothing from her.
    a.click("#call-mute").await.on(&alice, "muting");
    b.wait_for_text("#call-remote-media", "Alice’s microphone is off")
        .await
        .on(&bob, "told alice muted");
    // What was already under way plays out first: the jitter buffer's 60–200 ms, and up to
    // ~900 ms more where WebKit's compositing starves the codecs (no GPU: docs/webview-media.md).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let muted = sound_peak(&bob).await;
    assert!(muted < 0.001, "bob: alice muted, yet her sound peaks at {muted}");
    a.click("#call-mute").await.on(&alice, "unmuting");
    a.click("#call-camera").await.on(&alice, "camera off");
    b.wait_for_text("#call-remote-media", "Alice’s camera is off")
        .await
        .on(&bob, "told alice's camera is off");
    b.wait_displayed("#call-remote-placeholder")
        .await
        .on(&bob, "alice's avatar instead of her picture");
    a.click("#call-camera").await.on(&alice, "camera on");

    // Bob hangs up: both windows say so.
    b.click("#call-hang-up").await.on(&bob, "hanging up");
    call_over(&bob).await;
    call_over(&alice).await;

    // Sound only, the other way round.
    open_conversation(&bob, "alice").await;
    call_and_answer(&bob, &alice, false).await;
    a.click("#call-hang-up").await.on(&alice, "hanging up");
    call_over(&alice).await;
    call_over(&bob).await;
}

/// The microphone and the speakers a person has are devices of the desktop's sound server, and
/// there the app captures the one and plays to the other itself rather than through WebKit
/// (docs/call-media-bridge.md, "The microphone", "Playing the other side's sound"). Two real
/// windows without mock devices, on a private PulseAudio server whose microphone plays a tone
/// burst every second and where each app plays to a sink of its own: a call with sound only,
/// each side's sink plays the other's bursts; muted, nothing; and each app's log says it
/// captured the microphone and played the sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_webkitgtk_the_app_captures_and_plays_the_call_sound_on_the_sound_server() {
    const TEST: &str = "in_webkitgtk_the_app_captures_and_plays_the_call_sound_on_the_sound_server";
    if !ready(TEST) {
        return;
    }
    if let Some(missing) = PulseMic::missing() {
        panic!("{TEST} needs a PulseAudio server: {missing}");
    }
    let mic = PulseMic::start().expect("a private PulseAudio server");
    // Each app plays to a sink of its own, recorded: what each hears is what its sink plays.
    for name in ["speakers-alice", "speakers-bob"] {
        mic.add_sink(name).expect("a sink for an app");
    }
    let hears = |name: &str| {
        mic.listen(&format!("speakers-{name}"))
            .expect("recording an app's sink")
    };
    let (alice_hears, bob_hears) = (hears("alice"), hears("bob"));
    let desktop = Desktop::start();
    let port = free_port();
    let env = |name: &str| {
        let mut env = desktop.app_env(name, port, "keyutils");
        env.extend(mic.env());
        env.push(PulseMic::sink_env(&format!("speakers-{name}")));
        env
    };
    let (alice, bob) = two_in_the_lobby(&desktop, env).await;
    alice_calls_bob(&alice, &bob, false).await;
    let heard = |listener: &parley_tests::pulse_mic::Listener| listener.peak(std::time::Duration::from_millis(1500));
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    for (app, listener) in [(&alice, &alice_hears), (&bob, &bob_hears)] {
        let peak = heard(listener);
        assert!(
            peak > 0.05,
            "{}: the other side's tone bursts peak at {peak} on its speakers",
            app.name
        );
        let log = std::fs::read_to_string(&app.app_log).unwrap_or_default();
        for said in [
            "the call's microphone is captured by the app",
            "the call's sound is played by the app",
        ] {
            assert!(
                log.contains(said),
                "{}: the app's log does not say \"{said}\"\n{}",
                app.name,
                app.log_tail()
            );
        }
    }
    alice.screenshot("call-sound-server-microphone").await;

    alice.session().click("#call-mute").await.on(&alice, "muting");
    bob.session()
        .wait_for_text("#call-remote-media", "Alice\u{2019}s microphone is off")
        .await
        .on(&bob, "told alice muted");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // The last second: what was on its way when the mute came has played out (in about 0.3 s).
    let muted = bob_hears.peak(std::time::Duration::from_millis(1000));
    assert!(muted < 0.001, "bob: alice muted, yet her sound peaks at {muted}");
    alice.session().click("#call-mute").await.on(&alice, "unmuting");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let back = heard(&bob_hears);
    assert!(back > 0.05, "bob: alice unmuted, her sound peaks at {back}");

    bob.session().click("#call-hang-up").await.on(&bob, "hanging up");
    call_over(&bob).await;
    call_over(&alice).await;
}
