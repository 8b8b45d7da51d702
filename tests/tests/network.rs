//! Parley between machines, proven on separate network stacks: real `parley-signal`,
//! `parley-cli` and coturn processes in the network namespaces of [`parley_tests::netlab`] (a
//! LAN, two homes behind NAT — one symmetric — and a server on "the internet"; see
//! `docs/testing-networks.md`). Every address is one the lab made; nothing leaves the machine.
//!
//! Needs root (namespaces) and a session keyring shared by the processes
//! (`keyctl session -`, `PARLEY_TEST_KEYUTILS=1`), as the test command runs it; anything missing
//! fails the test with what to do, never skips it.

// Tests report what they waited for.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use parley_tests::netlab::{Coturn, Host, LabOptions, NatKind, NetLab};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "lab-turn-secret";
/// Longest wait for one step: ICE through a relay and a reconnect after a cut link included.
const STEP: Duration = Duration::from_secs(90);
/// The port servers listen on in the lab.
const PORT: u16 = 7891;

/// A binary of this workspace, built beside this test (`cargo test --workspace` builds them).
fn binary(name: &str) -> PathBuf {
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
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn lab(options: LabOptions) -> (NetLab, tokio::sync::MutexGuard<'static, ()>) {
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
struct Signal {
    child: Child,
    url: String,
    invite: String,
}

impl Signal {
    async fn start(host: &Host, tls_dir: &Path, extra: &[String]) -> Signal {
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
    async fn stop(mut self) {
        self.child.kill().await.expect("parley-signal stops");
    }
}

/// One person's `parley-cli` in a namespace.
struct Person {
    host: Host,
    name: String,
    profile: PathBuf,
    downloads: PathBuf,
    server: String,
}

impl Person {
    async fn register(host: &Host, dir: &Path, name: &str, server: &str) -> Person {
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

    fn command(&self) -> tokio::process::Command {
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
    async fn run(&self, args: &[&str]) -> Result<Value, Value> {
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

    async fn online(&self, room: &str) -> Online {
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
        let mut online = Online {
            name: self.name.clone(),
            _child: child,
            stdin,
            lines,
            seen: Vec::new(),
        };
        online.wait("joining the room", |v| v["event"] == "room-joined").await;
        online
    }
}

/// A running `parley-cli online`.
struct Online {
    name: String,
    _child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
}

impl Online {
    async fn say(&mut self, line: &str) {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The first line (seen or to come) `pick` accepts; removed from what was seen.
    async fn wait(&mut self, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
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
    async fn send(&mut self, to: &str, body: &str) -> String {
        self.say(&format!("msg {to} {body}")).await;
        let stored = self
            .wait(&format!("{body:?} stored"), |v| {
                v["event"] == "message" && v["message"]["body"] == body
            })
            .await;
        stored["message"]["id"].as_str().expect("an id").to_owned()
    }

    async fn delivered(&mut self, id: &str) {
        self.wait(&format!("{id} delivered"), |v| {
            v["event"] == "message-state" && v["id"] == id && v["state"] == "delivered"
        })
        .await;
    }

    /// How the direct channel to the other side travels, from its `connected` line.
    async fn route(&mut self) -> String {
        let connected = self.wait("a direct channel", |v| v["event"] == "connected").await;
        connected["route"].as_str().unwrap_or("unknown").to_owned()
    }

    async fn received(&mut self, body: &str) {
        self.wait(&format!("{body:?} received"), |v| {
            v["event"] == "message" && v["message"]["body"] == body && v["message"]["direction"] == "incoming"
        })
        .await;
    }
}

/// Bodies of the text messages of the conversation with `with`, oldest first, from `person`'s
/// history.
async fn history(person: &Person, with: &str) -> Vec<String> {
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
fn random_file(path: &Path, len: usize) {
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
async fn send_file(from: &mut Online, to: &mut Online, to_name: &str, path: &Path) -> PathBuf {
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

fn same_bytes(a: &Path, b: &Path) -> bool {
    std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_lan_two_people_chat_through_a_tls_server_known_by_its_invite_and_an_impostor_is_refused() {
    let (mut lab, _turn) = lab(LabOptions::default()).await;
    let server_host = lab.add_lan_host("lan_srv").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let signal = Signal::start(&server_host, &dir.path().join("tls"), &[]).await;
    assert!(signal.url.starts_with("https://"), "{}", signal.url);

    let ann = Person::register(&lab.lan_a, dir.path(), "ann", &signal.invite).await;
    let bob = Person::register(&lab.lan_b, dir.path(), "bob", &signal.invite).await;
    let mut a = ann.online("lan").await;
    let mut b = bob.online("lan").await;
    let id = a.send("bob", "hello across the LAN").await;
    b.received("hello across the LAN").await;
    a.delivered(&id).await;
    assert_eq!(a.route().await, "direct", "two hosts on one LAN segment");
    drop((a, b));

    // The server goes and someone else answers at its address with another certificate: the
    // pinned client refuses it before sending the password.
    signal.stop().await;
    let impostor = Signal::start(&server_host, &dir.path().join("other-tls"), &[]).await;
    let refused = Person {
        server: impostor.url.clone(),
        ..ann
    }
    .run(&["login", "ann"])
    .await
    .expect_err("an impostor's certificate is refused");
    assert_eq!(refused["error"]["code"], "certificate_changed", "{refused}");
}

/// A server on the internet with STUN and TURN (coturn, shared secret), and two homes.
async fn internet(lab: &NetLab, dir: &Path) -> (Signal, Coturn) {
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
async fn two_homes(lab: &NetLab, dir: &Path, room: &str) -> (Person, Online, Person, Online, Signal, Coturn) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_two_home_nats_people_connect_directly_through_them() {
    let (lab, _turn) = lab(LabOptions {
        home_b: NatKind::Cone,
        ..LabOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (_ann, mut a, _bob, mut b, _signal, _coturn) = two_homes(&lab, dir.path(), "homes").await;
    assert_eq!(a.route().await, "through-nat");
    assert_eq!(b.route().await, "through-nat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_symmetric_nat_chat_and_a_file_go_through_turn() {
    let (lab, _turn) = lab(LabOptions::default()).await;
    assert!(matches!(lab.options().home_b, NatKind::Symmetric));
    let dir = tempfile::tempdir().unwrap();
    let (_ann, mut a, _bob, mut b, _signal, _coturn) = two_homes(&lab, dir.path(), "relay").await;
    assert_eq!(a.route().await, "relayed");
    assert_eq!(b.route().await, "relayed");

    let file = dir.path().join("relayed.bin");
    random_file(&file, 3 * 1024 * 1024 + 17);
    let got = send_file(&mut a, &mut b, "bob", &file).await;
    assert!(same_bytes(&file, &got), "the relayed file arrived intact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_loss_delay_and_a_cut_link_every_message_arrives_once_in_order_and_a_file_verifies() {
    let (lab, _turn) = lab(LabOptions {
        home_b: NatKind::Cone,
        ..LabOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (_ann, mut a, bob, mut b, _signal, _coturn) = two_homes(&lab, dir.path(), "faults").await;

    // 5% loss and 100 ms each way on ann's home uplink.
    lab.netem(&lab.nat_a, "delay 100ms loss 5%")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sent = vec!["hello from faults".to_owned()];
    let mut last = String::new();
    for n in 0..15 {
        let body = format!("lossy {n:02}");
        last = a.send("bob", &body).await;
        sent.push(body);
    }
    a.delivered(&last).await;
    let file = dir.path().join("lossy.bin");
    random_file(&file, 1024 * 1024 + 3);
    let got = send_file(&mut a, &mut b, "bob", &file).await;
    assert!(same_bytes(&file, &got), "the file verifies through loss and delay");

    // The line goes dead for 20 s; what is written meanwhile waits, then goes once.
    lab.cut(&lab.nat_a).unwrap();
    for n in 0..5 {
        let body = format!("during the cut {n}");
        last = a.send("bob", &body).await;
        sent.push(body);
    }
    tokio::time::sleep(Duration::from_secs(20)).await;
    lab.restore(&lab.nat_a).unwrap();
    for n in 0..3 {
        let body = format!("after the cut {n}");
        last = a.send("bob", &body).await;
        sent.push(body);
    }
    a.delivered(&last).await;
    for body in &sent[1..] {
        b.received(body).await;
    }
    lab.clear_netem(&lab.nat_a).unwrap();
    drop((a, b));

    let got = history(&bob, "ann").await;
    assert_eq!(got, sent, "every message once, in the order written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_server_is_found_on_its_lan_and_not_across_a_nat() {
    let (lab, _turn) = lab(LabOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let host = Person {
        host: lab.lan_a.clone(),
        name: "host".into(),
        profile: dir.path().join("host"),
        downloads: dir.path().join("host-downloads"),
        server: String::new(),
    };
    let mut share = host
        .command()
        .args(["share", "--port", &PORT.to_string(), "--local-port", "7890"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("parley-cli share starts");
    let mut out = BufReader::new(share.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(STEP, out.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let sharing: Value = serde_json::from_str(&line).unwrap();
    let invite = sharing["invites"][0].as_str().unwrap().to_owned();
    assert!(invite.contains(&lab.lan_a.addr.to_string()), "{invite}");

    let looker = |host: &Host, name: &str| Person {
        host: host.clone(),
        name: name.into(),
        profile: dir.path().join(name),
        downloads: dir.path().join(format!("{name}-downloads")),
        server: String::new(),
    };
    let on_lan = looker(&lab.lan_b, "neighbour")
        .run(&["discover", "--wait", "4"])
        .await
        .unwrap();
    assert_eq!(on_lan["invite"], invite.as_str(), "found on the same LAN: {on_lan}");
    assert_eq!(on_lan["fingerprint"], sharing["fingerprint"]);
    let far = looker(&lab.home_a, "stranger")
        .run(&["discover", "--wait", "4"])
        .await
        .unwrap();
    assert_eq!(far, Value::Null, "nothing found behind another NAT: {far}");

    // And the invite works from the LAN.
    let guest = Person::register(&lab.lan_b, dir.path(), "guest", &invite).await;
    assert_eq!(guest.run(&["whoami"]).await.unwrap()["username"], "guest");
    drop(share.stdin.take());
    let _ = tokio::time::timeout(STEP, share.wait()).await;
}
