//! The processes of the network lab driven from tests and benchmarks: a `parley-signal` in a
//! namespace, people's `parley-cli` (one-shot commands and `online` sessions reading their
//! JSON lines), coturn, and the set-ups they share (`docs/testing-networks.md`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

use crate::netlab::{Coturn, Host, LabOptions, NetLab};

pub const PASSWORD: &str = "correct horse battery staple";
pub const SECRET: &str = "lab-turn-secret";
/// Longest wait for one step: ICE through a relay and a reconnect after a cut link included.
pub const STEP: Duration = Duration::from_secs(90);
/// The port servers listen on in the lab.
pub const PORT: u16 = 7891;

/// A binary of this workspace, built beside this test (`cargo test --workspace` builds them).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo build -p parley-signal -p parley-cli`, or run the whole workspace's tests)",
        path.display()
    );
    path
}

/// One lab at a time: each runs a dozen processes whose ICE and TCP timers must not starve on a
/// 2-core machine; serially the whole file takes about two minutes.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn lab(options: LabOptions) -> (NetLab, tokio::sync::MutexGuard<'static, ()>) {
    let turn = ONE_AT_A_TIME.lock().await;
    assert_eq!(
        std::env::var("PARLEY_TEST_KEYUTILS").as_deref(),
        Ok("1"),
        "the network tests keep each parley-cli's session in the kernel keyring: run them inside \
         `keyctl session -` with PARLEY_TEST_KEYUTILS=1 (as ./test.sh does)"
    );
    (NetLab::build(options).unwrap_or_else(|e| panic!("{e}")), turn)
}

/// A `parley-signal` in a namespace, with a self-signed certificate.
pub struct Signal {
    child: Child,
    pub url: String,
    pub invite: String,
}

impl Signal {
    pub async fn start(host: &Host, tls_dir: &Path, extra: &[String]) -> Signal {
        let listen = format!("{}:{PORT}", host.addr);
        let mut child = host
            .command(binary("parley-signal"))
            .args(["--listen", &listen, "--memory-db", "--auth-per-minute", "10000"])
            .arg("--tls-self-signed")
            .arg(tls_dir)
            .args(extra)
            .env("PARLEY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("parley-signal starts");
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut url, mut invite) = (None, None);
        while invite.is_none() {
            let line = tokio::time::timeout(STEP, out.next_line())
                .await
                .expect("parley-signal prints its address")
                .unwrap()
                .expect("parley-signal exited at start");
            if let Some(u) = line.strip_prefix("parley-signal listening on ") {
                url = Some(u.to_owned());
            }
            if let Some(i) = line.strip_prefix("invite: ") {
                invite = Some(i.to_owned());
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
        Signal {
            child,
            url: url.expect("a URL line before the invite"),
            invite: invite.unwrap(),
        }
    }

    /// Stops the server and waits until it has exited, so that its port is free again (a
    /// killed process keeps its listening socket until it is reaped).
    pub async fn stop(mut self) {
        self.child.kill().await.expect("parley-signal stops");
    }
}

/// One person's `parley-cli` in a namespace.
pub struct Person {
    pub host: Host,
    pub name: String,
    pub profile: PathBuf,
    pub downloads: PathBuf,
    pub server: String,
}

impl Person {
    pub async fn register(host: &Host, dir: &Path, name: &str, server: &str) -> Person {
        let person = Person {
            host: host.clone(),
            name: name.to_owned(),
            profile: dir.join(name),
            downloads: dir.join(format!("{name}-downloads")),
            server: server.to_owned(),
        };
        person
            .run(&["register", name, &format!("{name}@example.org")])
            .await
            .unwrap_or_else(|e| panic!("{name} registering: {e}"));
        person
    }

    pub fn command(&self) -> tokio::process::Command {
        std::fs::create_dir_all(&self.downloads).expect("a download folder");
        let mut c = self.host.command(binary("parley-cli"));
        c.arg("--profile")
            .arg(&self.profile)
            .args(["--server", &self.server, "--keyring", "keyutils", "--downloads"])
            .arg(&self.downloads)
            .env("PARLEY_PASSWORD", PASSWORD)
            // NETWORK_LOG=rtc_ice=debug shows how the peers found their path.
            .env(
                "PARLEY_LOG",
                std::env::var("NETWORK_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env_remove("PARLEY_LOOPBACK_ONLY");
        c
    }

    /// Runs a one-shot command: its last JSON line, or its error line.
    pub async fn run(&self, args: &[&str]) -> Result<Value, Value> {
        let output = tokio::time::timeout(STEP, self.command().args(args).stdin(Stdio::null()).output())
            .await
            .expect("parley-cli finishes")
            .expect("parley-cli runs");
        let last = |bytes: &[u8]| {
            String::from_utf8_lossy(bytes)
                .lines()
                .rev()
                .find_map(|l| serde_json::from_str::<Value>(l).ok())
                .unwrap_or(Value::Null)
        };
        if output.status.success() {
            Ok(last(&output.stdout))
        } else {
            Err(last(&output.stderr))
        }
    }

    /// `parley-cli online` in `room`, once it has joined it.
    pub async fn online(&self, room: &str) -> Online {
        let mut online = self.start_online(room).await;
        online.joined().await;
        online
    }

    /// `parley-cli online` in `room`, just started.
    pub async fn start_online(&self, room: &str) -> Online {
        let mut child = self
            .command()
            .args(["online", "--room", room])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("parley-cli online starts");
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(value);
                }
            }
        });
        Online {
            name: self.name.clone(),
            _child: child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }
}

/// A running `parley-cli online`.
pub struct Online {
    name: String,
    _child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
}

impl Online {
    /// Waits until it joined its room; when that was seen.
    pub async fn joined(&mut self) -> std::time::Instant {
        self.wait("joining the room", |v| v["event"] == "room-joined").await;
        std::time::Instant::now()
    }

    pub async fn say(&mut self, line: &str) {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The first line (seen or to come) `pick` accepts; removed from what was seen.
    pub async fn wait(&mut self, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.seen.iter().position(&pick) {
            return self.seen.remove(i);
        }
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let value = match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(value)) => value,
                Ok(None) => panic!("{}'s parley-cli ended while waiting for {what}", self.name),
                Err(_) => panic!(
                    "{} saw no {what} within {STEP:?}; last lines: {:?}",
                    self.name,
                    self.seen.iter().rev().take(5).collect::<Vec<_>>()
                ),
            };
            if pick(&value) {
                return value;
            }
            self.seen.push(value);
        }
    }

    /// Sends `body` to `to` and returns the message id.
    pub async fn send(&mut self, to: &str, body: &str) -> String {
        self.say(&format!("msg {to} {body}")).await;
        let stored = self
            .wait(&format!("{body:?} stored"), |v| {
                v["event"] == "message" && v["message"]["body"] == body
            })
            .await;
        stored["message"]["id"].as_str().expect("an id").to_owned()
    }

    pub async fn delivered(&mut self, id: &str) {
        self.wait(&format!("{id} delivered"), |v| {
            v["event"] == "message-state" && v["id"] == id && v["state"] == "delivered"
        })
        .await;
    }

    /// How the direct channel to the other side travels, from its `connected` line.
    pub async fn route(&mut self) -> String {
        let connected = self.wait("a direct channel", |v| v["event"] == "connected").await;
        connected["route"].as_str().unwrap_or("unknown").to_owned()
    }

    pub async fn received(&mut self, body: &str) {
        self.wait(&format!("{body:?} received"), |v| {
            v["event"] == "message" && v["message"]["body"] == body && v["message"]["direction"] == "incoming"
        })
        .await;
    }
}

/// Bodies of the text messages of the conversation with `with`, oldest first, from `person`'s
/// history.
pub async fn history(person: &Person, with: &str) -> Vec<String> {
    let output = tokio::time::timeout(
        STEP,
        person
            .command()
            .args(["history", with, "--limit", "500"])
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["file"].is_null())
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect()
}

/// A file of `len` pseudo-random bytes.
pub fn random_file(path: &Path, len: usize) {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
}

/// Sends a file and waits until the receiver has it verified; returns the received copy.
pub async fn send_file(from: &mut Online, to: &mut Online, to_name: &str, path: &Path) -> PathBuf {
    from.say(&format!("file {to_name} {}", path.display())).await;
    let offered = from.wait("the file offered", |v| v["type"] == "offered").await;
    let id = offered["id"].as_str().unwrap().to_owned();
    let complete = to
        .wait("the file verified", |v| {
            v["type"] == "complete" && v["id"] == id.as_str()
        })
        .await;
    PathBuf::from(complete["path"].as_str().expect("a path"))
}

pub fn same_bytes(a: &Path, b: &Path) -> bool {
    std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
}

/// A server on the internet with STUN and TURN (coturn, shared secret), and two homes.
pub async fn internet(lab: &NetLab, dir: &Path) -> (Signal, Coturn) {
    let coturn = Coturn::start(&lab.server, SECRET, "lab.example").unwrap_or_else(|e| panic!("{e}"));
    let mut ice = vec!["--stun".to_owned(), coturn.stun_url()];
    for url in coturn.turn_urls() {
        ice.extend(["--turn".to_owned(), url]);
    }
    ice.extend(["--turn-secret".to_owned(), SECRET.to_owned()]);
    let signal = Signal::start(&lab.server, &dir.join("tls"), &ice).await;
    (signal, coturn)
}

/// Ann at home A and Bob at home B, through the internet's server, in `room`; Ann's first
/// message delivered. Returns both people, both running apps and what holds the lab up.
pub async fn two_homes(lab: &NetLab, dir: &Path, room: &str) -> (Person, Online, Person, Online, Signal, Coturn) {
    let (signal, coturn) = internet(lab, dir).await;
    let ann = Person::register(&lab.home_a, dir, "ann", &signal.invite).await;
    let bob = Person::register(&lab.home_b, dir, "bob", &signal.invite).await;
    let mut a = ann.online(room).await;
    let mut b = bob.online(room).await;
    let body = format!("hello from {room}");
    let id = a.send("bob", &body).await;
    b.received(&body).await;
    a.delivered(&id).await;
    (ann, a, bob, b, signal, coturn)
}
