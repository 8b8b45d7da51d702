//! Black box: the real `parley-cli` binary, as separate processes. A server (`parley-cli serve`),
//! two users registering and chatting through `parley-cli online`, then the server killed and
//! the history read back with `parley-cli history` and `search`.
//!
//! Each command is its own process, so the session token must outlive them: it is kept in the
//! Linux kernel keyring (`--keyring keyutils`). That needs a session keyring this test may
//! write to, so it only runs with `PARLEY_TEST_KEYUTILS=1`, meant for running the tests inside
//! `keyctl session -` (a fresh session keyring, thrown away afterwards):
//!
//! ```sh
//! keyctl session - sh -c 'PARLEY_TEST_KEYUTILS=1 cargo test -p parley-cli'
//! ```
//!
//! Cargo builds the binary for this test (`CARGO_BIN_EXE_parley-cli`).

// Tests report what they skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use parley_signal::test_utils::DEADLINE;

const PASSWORD: &str = "correct horse battery staple";

fn cli_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_parley-cli"))
}

/// One user's side: a profile directory, and the flags every command gets.
struct User {
    name: &'static str,
    profile: PathBuf,
    server: String,
    logs: PathBuf,
}

fn keyutils_allowed() -> bool {
    if std::env::var("PARLEY_TEST_KEYUTILS").as_deref() == Ok("1") {
        return true;
    }
    eprintln!(
        "skipped: set PARLEY_TEST_KEYUTILS=1 and run inside `keyctl session -` (parley-cli keeps its token in \
         the kernel keyring between processes)"
    );
    false
}

impl User {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(cli_binary());
        command
            .arg("--profile")
            .arg(&self.profile)
            .args(["--server", &self.server, "--keyring", "keyutils"])
            .args(args)
            .env("PARLEY_PASSWORD", PASSWORD)
            .env("PARLEY_LOOPBACK_ONLY", "1")
            .env("PARLEY_LOG", "warn")
            .env_remove("PARLEY_KEYRING")
            .env_remove("PARLEY_PROFILE")
            .env_remove("PARLEY_SERVER")
            .kill_on_drop(true);
        command
    }

    /// Runs a command to completion; its stdout as JSON lines. Panics (with stderr) on failure.
    async fn run(&self, args: &[&str]) -> Vec<Value> {
        let output = tokio::time::timeout(DEADLINE, self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("{} {args:?} did not finish within {DEADLINE:?}", self.name))
            .expect("parley-cli runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{} {args:?} failed ({}):\nstdout: {stdout}\nstderr: {}",
            self.name,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
            .collect()
    }

    /// Starts `online` in the background.
    fn online(&self, room: &str) -> Online {
        self.online_with(room, &[])
    }

    /// [`User::online`] with more flags.
    fn online_with(&self, room: &str, flags: &[&str]) -> Online {
        let stderr_path = self.logs.join(format!("{}-online.stderr", self.name));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_path)
            .unwrap();
        let mut args = vec!["online", "--room", room];
        args.extend_from_slice(flags);
        let mut child = self
            .command(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("parley-cli online starts");
        Online {
            name: self.name,
            stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().unwrap()).lines(),
            child,
            seen: Vec::new(),
            stderr_path,
        }
    }
}

/// A running `parley-cli online`: commands in on stdin, JSON events out on stdout.
struct Online {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    seen: Vec<Value>,
    stderr_path: PathBuf,
}

impl Online {
    async fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// The next `error` event.
    async fn expect_error(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let line = match tokio::time::timeout_at(deadline, self.stdout.next_line()).await {
                Ok(Ok(Some(line))) => line,
                _ => self.fail("an error", "no error line").await,
            };
            let event: Value = serde_json::from_str(&line).unwrap();
            if event["event"] == "error" {
                return event;
            }
            self.seen.push(event);
        }
    }

    /// The first event (seen before or still to come) that `pick` accepts.
    async fn expect<T>(&mut self, what: &str, mut pick: impl FnMut(&Value) -> Option<T>) -> T {
        if let Some(found) = self.seen.iter().find_map(&mut pick) {
            return found;
        }
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let line = match tokio::time::timeout_at(deadline, self.stdout.next_line()).await {
                Ok(Ok(Some(line))) => line,
                Ok(Ok(None)) => self.fail(what, "stdout closed").await,
                Ok(Err(e)) => self.fail(what, &format!("reading stdout: {e}")).await,
                Err(_) => self.fail(what, &format!("nothing within {DEADLINE:?}")).await,
            };
            let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            assert_ne!(event["event"], "error", "{}: {event}", self.name);
            let found = pick(&event);
            self.seen.push(event);
            if let Some(found) = found {
                return found;
            }
        }
    }

    async fn fail(&mut self, what: &str, why: &str) -> ! {
        let _ = self.child.start_kill();
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let seen: Vec<String> = self.seen.iter().map(Value::to_string).collect();
        panic!(
            "{}: waiting for {what}: {why}\nevents:\n{}\nstderr:\n{stderr}",
            self.name,
            seen.join("\n")
        );
    }

    /// Kills the process at once (no clean shutdown: what a crash or a power cut leaves).
    async fn kill(mut self) {
        self.child.kill().await.expect("kill");
    }

    async fn quit(mut self) {
        self.say("quit").await;
        drop(self.stdin.take());
        let status = tokio::time::timeout(DEADLINE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not quit", self.name))
            .unwrap();
        assert!(status.success(), "{} exited with {status}", self.name);
    }
}

fn state_event(id: &str, state: &str) -> impl FnMut(&Value) -> Option<()> {
    let (id, state) = (id.to_owned(), state.to_owned());
    move |e| (e["event"] == "message-state" && e["id"] == id.as_str() && e["state"] == state.as_str()).then_some(())
}

fn message_event(body: &str) -> impl FnMut(&Value) -> Option<Value> {
    let body = body.to_owned();
    move |e| (e["event"] == "message" && e["message"]["body"] == body.as_str()).then(|| e["message"].clone())
}

async fn start_server(dir: &Path) -> (Child, String) {
    let mut server = Command::new(cli_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--profile"])
        .arg(dir)
        .env("PARLEY_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("parley-cli serve starts");
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("the server announces itself")
        .unwrap()
        .expect("a first line");
    let url = first
        .strip_prefix("parley-signal listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .to_owned();
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (server, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cli_processes_chat_and_read_their_history_with_the_server_gone() {
    if !keyutils_allowed() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (mut server, url) = start_server(&tmp.path().join("server")).await;
    let user = |name| User {
        name,
        profile: tmp.path().join(name),
        server: url.clone(),
        logs: tmp.path().to_owned(),
    };
    let (alice, bob) = (user("alice"), user("bob"));

    let registered = alice.run(&["register", "alice", "alice@example.org"]).await;
    assert_eq!(registered[0]["username"], "alice");
    let alice_id = registered[0]["id"].as_str().unwrap().to_owned();
    let registered = bob
        .run(&["register", "bob", "bob@example.org", "--display-name", "Bob B."])
        .await;
    let bob_id = registered[0]["id"].as_str().unwrap().to_owned();
    // A new process finds the session in the keyring.
    assert_eq!(alice.run(&["whoami"]).await[0]["id"], alice_id.as_str());

    let mut alice_online = alice.online("tea");
    alice_online
        .expect("alice in the room", |e| (e["event"] == "room-joined").then_some(()))
        .await;
    let mut bob_online = bob.online("tea");
    let roster = bob_online
        .expect("bob in the room", |e| {
            (e["event"] == "room-joined").then(|| e["peers"].clone())
        })
        .await;
    assert_eq!(roster[0]["user"]["id"], alice_id.as_str(), "{roster}");
    alice_online
        .expect("bob arriving", |e| {
            (e["event"] == "peer-joined" && e["peer"]["user"]["id"] == bob_id.as_str()).then_some(())
        })
        .await;

    alice_online.say("msg bob hello from the command line").await;
    let sent = alice_online
        .expect("alice's message stored", message_event("hello from the command line"))
        .await;
    assert_eq!(sent["state"], "pending");
    let id = sent["id"].as_str().unwrap().to_owned();
    let got = bob_online
        .expect("the message at bob", message_event("hello from the command line"))
        .await;
    assert_eq!(
        (got["id"].as_str(), got["sender_id"].as_str()),
        (Some(id.as_str()), Some(alice_id.as_str()))
    );
    alice_online.expect("sent", state_event(&id, "sent")).await;
    alice_online.expect("delivered", state_event(&id, "delivered")).await;

    bob_online.say("msg alice hi alice, cli here too").await;
    let reply = alice_online
        .expect("bob's reply", message_event("hi alice, cli here too"))
        .await;
    bob_online.say("read alice").await;
    alice_online.expect("read", state_event(&id, "read")).await;
    alice_online.say("read bob").await;
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    bob_online
        .expect("bob's reply read", state_event(&reply_id, "read"))
        .await;

    // Message actions from the command line: a reply with its quote, an edit, a reaction.
    bob_online.say(&format!("reply alice {id} yes, loud and clear")).await;
    let quoted = alice_online
        .expect("bob's reply with a quote", message_event("yes, loud and clear"))
        .await;
    assert_eq!(quoted["reply_to"], id.as_str());
    alice_online
        .say(&format!("edit bob {id} hello from the terminal"))
        .await;
    let changed = |body: &'static str| {
        move |e: &Value| (e["event"] == "message-changed" && e["message"]["body"] == body).then(|| e["message"].clone())
    };
    let edited = bob_online
        .expect("the edit at bob", changed("hello from the terminal"))
        .await;
    assert!(edited["edited_at"].is_number());
    bob_online.say(&format!("react alice {id} 👍")).await;
    alice_online
        .expect("bob's reaction", |e| {
            (e["event"] == "message-changed" && e["message"]["reactions"][0]["emoji"] == "👍").then_some(())
        })
        .await;

    alice_online.quit().await;
    bob_online.quit().await;
    server.kill().await.unwrap();

    // No server now: the history is local.
    let history = alice.run(&["history", "bob"]).await;
    let lines: Vec<(&str, &str, &str)> = history
        .iter()
        .map(|m| {
            (
                m["direction"].as_str().unwrap(),
                m["body"].as_str().unwrap(),
                m["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("outgoing", "hello from the terminal", "read"),
            ("incoming", "hi alice, cli here too", "read"),
            ("incoming", "yes, loud and clear", "received"),
        ]
    );
    // Safety numbers, with no server: both sides compute the same 60 digits.
    let at_alice = alice.run(&["safety-number", "bob"]).await;
    let at_bob = bob.run(&["safety-number", "alice"]).await;
    assert_eq!(at_alice.len(), 1, "one device of bob met: {at_alice:?}");
    let number = at_alice[0]["safety_number"].as_str().unwrap();
    assert_eq!(number.chars().filter(char::is_ascii_digit).count(), 60, "{number}");
    assert_eq!(at_bob[0]["safety_number"], number, "the same on both sides");
    assert_eq!(at_alice[0]["verified"], false);
    assert_eq!(alice.run(&["verify", "bob"]).await[0]["devices"], 1);
    assert_eq!(alice.run(&["safety-number", "bob"]).await[0]["verified"], true);
    let hits = bob.run(&["search", "terminal"]).await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["message"]["id"], id.as_str());
    assert!(hits[0]["snippet"].as_str().unwrap().contains("terminal"));
    assert!(
        bob.run(&["search", "command"]).await.is_empty(),
        "the words before the edit are gone"
    );
    assert!(bob.run(&["search", "nothing-like-this"]).await.is_empty());

    // Sign out, so the kernel keyring keeps nothing of this test (the server is gone; the token
    // is dropped locally all the same).
    alice.run(&["logout"]).await;
    bob.run(&["logout"]).await;
    let output = alice.command(&["whoami"]).output().await.unwrap();
    assert!(!output.status.success(), "signed out, but whoami still works");
}

/// The `type` lines parley-cli prints for file transfers.
fn transfer_line(kind: &'static str, id: String) -> impl FnMut(&Value) -> Option<Value> {
    move |e| (e["type"] == kind && e["id"] == id.as_str()).then(|| e.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_between_two_cli_processes_survives_the_receiver_being_killed() {
    if !keyutils_allowed() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (_server, url) = start_server(&tmp.path().join("server")).await;
    let user = |name| User {
        name,
        profile: tmp.path().join(name),
        server: url.clone(),
        logs: tmp.path().to_owned(),
    };
    let (alice, bob) = (user("alice"), user("bob"));
    alice.run(&["register", "alice", "alice@example.org"]).await;
    bob.run(&["register", "bob", "bob@example.org"]).await;
    let downloads = tmp.path().join("bob-downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let downloads_arg = downloads.to_str().unwrap().to_owned();
    // 80 MiB of varied bytes, so a resume from the wrong place would not hash right.
    let source = tmp.path().join("holiday video.bin");
    let data: Vec<u8> = (0..80u32 * 1024 * 1024)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&source, &data).unwrap();

    let mut alice_online = alice.online("files");
    alice_online
        .expect("alice in the room", |e| (e["event"] == "room-joined").then_some(()))
        .await;
    let bob_online = |bob: &User| {
        let mut online = bob.online_with("files", &["--downloads", &downloads_arg]);
        async move {
            online
                .expect("bob in the room", |e| (e["event"] == "room-joined").then_some(()))
                .await;
            online
        }
    };
    let mut receiver = bob_online(&bob).await;
    alice_online
        .expect("bob arriving", |e| (e["event"] == "peer-joined").then_some(()))
        .await;
    alice_online.say(&format!("file bob {}", source.display())).await;
    let offered = alice_online
        .expect("the offer", |e| (e["type"] == "offered").then(|| e.clone()))
        .await;
    let id = offered["id"].as_str().unwrap().to_owned();
    assert_eq!(offered["name"], "holiday video.bin");
    assert_eq!(offered["size"], data.len());
    receiver
        .expect("bob's offer", transfer_line("offered", id.clone()))
        .await;
    // A kill once half the file is in Bob's `.part` (past two of its 16 MiB durable points).
    // Watched on disk, not through the progress lines: those come about once a second, and the
    // whole 80 MiB now arrives in less than that.
    let part = tmp.path().join("bob").join("transfers").join(format!("{id}.part"));
    let watching = std::time::Instant::now();
    while std::fs::metadata(&part).map_or(0, |m| m.len()) < 40 << 20 {
        assert!(
            watching.elapsed() < std::time::Duration::from_secs(60),
            "{} never reached 40 MiB",
            part.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    receiver.kill().await;

    // Bob starts again: the transfer resumes from what was stored, and completes verified.
    let mut receiver = bob_online(&bob).await;
    let resumed = receiver
        .expect("the resumed run", |e| {
            (e["type"] == "progress" && e["id"] == id.as_str()).then(|| e["resumed_from"].clone())
        })
        .await;
    assert!(
        resumed.as_u64().is_some_and(|r| r >= 16 << 20),
        "resumed from {resumed}"
    );
    let complete = receiver
        .expect("the file complete", transfer_line("complete", id.clone()))
        .await;
    let saved = PathBuf::from(complete["path"].as_str().unwrap());
    assert_eq!(saved, downloads.join("holiday video.bin"));
    assert_eq!(std::fs::read(&saved).unwrap(), data);
    assert_eq!(complete["sha256"], offered["sha256"]);
    alice_online
        .expect("alice told it is complete", transfer_line("complete", id.clone()))
        .await;
    receiver.quit().await;
    alice_online.quit().await;

    // The history lists the file, with no server running.
    let history = bob.run(&["history", "alice"]).await;
    let file = &history
        .iter()
        .find(|m| m["id"] == id.as_str())
        .expect("the file message")["file"];
    assert_eq!(file["state"], "complete");
    assert_eq!(file["name"], "holiday video.bin");
    assert_eq!(file["path"], saved.to_str().unwrap());

    // A bad command is answered with an error line, and the process goes on.
    let mut receiver = bob_online(&bob).await;
    receiver.say("file alice /no/such/file").await;
    let error = receiver.expect_error().await;
    assert_eq!(error["code"], "file_unreadable");
    receiver.quit().await;
}
