//! End to end: the real desktop app (`parley`), driven through WebDriver (`tauri-driver` and
//! WebKitWebDriver) on a private virtual X display.
//!
//! Needs the app binary with the UI embedded, `tauri-driver`, WebKitWebDriver and Xvfb;
//! `scripts/e2e.sh` builds the binary and runs this file with everything in place:
//!
//! ```sh
//! scripts/e2e.sh                                  # build + run (what ./test.sh does)
//! PARLEY_SCREENSHOTS=docs/screenshots scripts/e2e.sh   # also save window screenshots
//! ```
//!
//! Without `PARLEY_E2E` the tests skip (with the reason) when a piece is missing; with
//! `PARLEY_E2E=1` a missing piece is a failure; `PARLEY_E2E=0` skips them.

use parley_tests::app::{gate, AppInstance, Desktop, Gate};

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
/// scripts, screenshots, and closing one ends its process while the other keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_start_screenshot_and_close() {
    if !should_run("two_instances_start_screenshot_and_close") {
        return;
    }
    let desktop = Desktop::start();
    let env = |name: &str| {
        vec![
            (
                "PARLEY_PROFILE".to_owned(),
                desktop.dir().join(name).display().to_string(),
            ),
            ("PARLEY_KEYRING".to_owned(), "memory".to_owned()),
        ]
    };
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
        let title = session.title().await.expect("title");
        assert!(title.contains("Parley"), "{}: title {title:?}", app.name);
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
        let profile = format!("PARLEY_PROFILE={}", desktop.dir().join(&app.name).display());
        assert!(
            environ.split(|&b| b == 0).any(|var| var == profile.as_bytes()),
            "{}: the app got {profile}",
            app.name
        );
    }

    // Typing into the page's first text field reaches it.
    let field = a
        .session()
        .find("input[type=text], input:not([type])")
        .await
        .expect("a text field");
    field.send_keys("hello").await.expect("typing");
    assert_eq!(field.property("value").await.expect("value"), "hello");

    b.close().await;
    assert!(b.app_pids().is_empty(), "b's app process ended with its session");
    assert_eq!(a.app_pids().len(), 1, "a keeps running");
    b.reopen().await;
    assert_eq!(b.app_pids().len(), 1, "b runs again");
    a.close().await;
    b.close().await;
}
