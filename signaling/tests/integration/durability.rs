//! Accounts and sessions survive restarts: in-process on the same SQLite file, and the real
//! binary killed with SIGKILL. SIGTERM stops the binary cleanly.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use parley_signal::{Config, Database};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[tokio::test]
async fn restart_on_the_same_database_keeps_accounts_and_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::Path(dir.path().join("nested/x.db"));
    let first = start_with(Config {
        database: db.clone(),
        ..config()
    })
    .await;
    let ada = first.register_as("ada").await;
    first
        .put("/api/v1/me", &json!({"bio": "still here"}), Some(&ada.token))
        .await
        .expect(200);
    let before = first.me(&ada.token).await.expect(200);
    first.shutdown().await;

    let second = start_with(Config {
        database: db,
        ..config()
    })
    .await;
    assert_eq!(
        second.me(&ada.token).await.expect(200),
        before,
        "the old token still works"
    );
    second.expect_account("ADA", "ada", &before).await;
}

/// The real `parley-signal` binary, with its bound address read from its first stdout line.
struct Binary {
    child: Child,
    api: Api,
}

async fn spawn_binary(args: &[&str]) -> Binary {
    let mut command = Command::new(env!("CARGO_BIN_EXE_parley-signal"));
    // The flags have environment equivalents; make sure none leak in from the test runner.
    for (key, _) in std::env::vars() {
        if key.starts_with("PARLEY_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .args(["--listen", "127.0.0.1:0", "--log", "warn"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(DEADLINE * 2, BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("the binary announces its address in time")
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("parley-signal listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"), "{base}");
    Binary {
        child,
        api: Api::new(base),
    }
}

fn db_args(path: &Path) -> Vec<&str> {
    vec!["--db", path.to_str().unwrap()]
}

#[tokio::test]
async fn kill_9_loses_no_committed_account_or_session() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signal.db");
    let mut server = spawn_binary(&db_args(&path)).await;
    let bea = server.api.register_as("bea").await;
    let second_session = server.api.login("bea", PASSWORD).await.expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = server
        .api
        .put("/api/v1/me", &json!({"status": "about to crash"}), Some(&bea.token))
        .await
        .expect(200);

    server.child.kill().await.expect("SIGKILL"); // kill() sends SIGKILL and reaps the child
    server
        .api
        .http
        .get(server.api.url("/healthz"))
        .send()
        .await
        .expect_err("the server is dead");

    let server = spawn_binary(&db_args(&path)).await;
    for token in [&bea.token, &second_session] {
        assert_eq!(
            server.api.me(token).await.expect(200),
            before,
            "session lost in the crash"
        );
    }
    assert_eq!(
        server.api.login("bea@example.org", PASSWORD).await.expect(200)["user"],
        before
    );
}

#[tokio::test]
async fn sigterm_closes_websockets_and_exits_cleanly() {
    let mut server = spawn_binary(&["--memory-db"]).await;
    let cal = server.api.register_as("cal").await;
    let mut peer = connect(&ws_url(&server.api.base), &cal.token).await;
    peer.join("room").await;

    let pid = server.child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let started = Instant::now();
    assert_eq!(
        expect_close(&mut peer.ws).await,
        Some(1001),
        "sockets are closed with going-away"
    );
    drop(peer);
    let exit = tokio::time::timeout(Duration::from_secs(5), server.child.wait())
        .await
        .expect("the binary exits promptly after SIGTERM")
        .unwrap();
    assert!(exit.success(), "exit status {exit}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}
