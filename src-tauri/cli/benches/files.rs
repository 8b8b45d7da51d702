//! File transfer benchmark: Parley → Parley as two real `parley-cli online` processes on
//! loopback (so CPU time and memory are measured per side), next to the same file sent between
//! two Chromium pages over an `RTCDataChannel` (Debian's `chromium`, driven by playwright-core:
//! `src-tauri/cli/benches/chromium/`), in the same run.
//!
//! Figures: MB/s, CPU seconds per GiB on each side, the receiver's RSS growth, the chat round
//! trip (a message until its "delivered" receipt) while a 1 GiB transfer runs against idle, and
//! the time to resume after the receiver is killed (from its restart to the first byte of the
//! resumed run, and to the verified file).
//!
//! `keyctl session - sh -c 'cargo bench -p parley-cli --bench files'` (the processes share their
//! session tokens through the kernel keyring). Knobs: `SIZES_MIB` ("256,1024"), `CHROMIUM`
//! ("1"; "0" skips the anchor). Goals: at least 4× Chromium's throughput, aiming at 100 MB/s;
//! receiver RSS growth under 64 MiB for 1 GiB; chat round trip p99 under 50 ms during a
//! transfer. Run without `--bench` (as `cargo test --all-targets` does) it sends 96 MiB once.

// A benchmark prints its figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use parley_signal::test_utils::bench::{is_real_run, ms, percentile, runtime};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

const PASSWORD: &str = "correct horse battery staple";
const MIB: u64 = 1024 * 1024;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
/// Longest any single step may take before the benchmark gives up.
const STEP: Duration = Duration::from_secs(600);

fn cli() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_parley-cli"))
}

fn command(profile: &Path, server: &str) -> Command {
    let mut c = Command::new(cli());
    c.arg("--profile")
        .arg(profile)
        .args(["--server", server, "--keyring", "keyutils"])
        .env("PARLEY_PASSWORD", PASSWORD)
        .env("PARLEY_LOOPBACK_ONLY", "1")
        .env(
            "PARLEY_LOG",
            std::env::var("BENCH_LOG").unwrap_or_else(|_| "error".into()),
        )
        .kill_on_drop(true);
    c
}

/// A running `parley-cli online`, its output lines stamped as they arrive.
struct Online {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<(Instant, Value)>,
    seen: Vec<(Instant, Value)>,
}

impl Online {
    async fn start(profile: &Path, server: &str, downloads: &Path) -> Online {
        std::fs::create_dir_all(downloads).unwrap();
        let mut child = command(profile, server)
            .args([
                "online",
                "--room",
                "bench",
                "--auto-accept",
                &u64::MAX.to_string(),
                "--downloads",
            ])
            .arg(downloads)
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
                if let Ok(value) = serde_json::from_str(&line) {
                    let _ = tx.send((Instant::now(), value));
                }
            }
        });
        let mut online = Online {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        };
        online.wait("joining", |v| v["event"] == "room-joined").await;
        online
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    async fn say(&mut self, line: &str) {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The first line (seen or to come) `pick` accepts, with when it arrived; removed.
    async fn wait(&mut self, what: &str, pick: impl Fn(&Value) -> bool) -> (Instant, Value) {
        if let Some(i) = self.seen.iter().position(|(_, v)| pick(v)) {
            return self.seen.remove(i);
        }
        loop {
            let (at, value) = tokio::time::timeout(STEP, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                .unwrap_or_else(|| panic!("parley-cli ended waiting for {what}"));
            assert_ne!(value["event"], "error", "waiting for {what}: {value}");
            if pick(&value) {
                return (at, value);
            }
            self.seen.push((at, value));
        }
    }

    /// Takes every line that arrived so far into `seen`.
    fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
    }
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0.0);
    // CLK_TCK is 100 on Linux everywhere this runs.
    ticks / 100.0
}

/// Resident memory of a process, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn random_file(path: &Path, len: u64) {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for chunk in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    out.flush().unwrap();
    // On disk before timing starts, so writing it back does not compete with the transfer.
    out.get_ref().sync_all().unwrap();
}

struct Transfer {
    mb_per_s: f64,
    sender_cpu_per_gib: f64,
    receiver_cpu_per_gib: f64,
    rss_growth_mib: f64,
    prepare: Duration,
}

/// Sends `path` from `alice` to `bob`, timing from the offer (after the sender hashed the
/// file) to the receiver's verified file, sampling the receiver's memory meanwhile. With
/// `pings`, alice also sends a chat message every 25 ms (once the previous one is delivered) and the round trips are returned.
async fn transfer(
    alice: &mut Online,
    bob: &mut Online,
    path: &Path,
    size: u64,
    pings: bool,
) -> (Transfer, Vec<Duration>) {
    let (a_pid, b_pid) = (alice.pid(), bob.pid());
    let rss_before = rss_mib(b_pid);
    let asked = Instant::now();
    alice.say(&format!("file bob {}", path.display())).await;
    let (offered_at, offer) = alice.wait("the offer", |v| v["type"] == "offered").await;
    let id = offer["id"].as_str().unwrap().to_owned();
    let (cpu_a, cpu_b) = (cpu_seconds(a_pid), cpu_seconds(b_pid));
    let mut peak = rss_before;
    let mut rtts = Vec::new();
    // 25 ms: a 1 GiB transfer now takes a few seconds, and a p99 wants a few hundred samples.
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0u32;
    let done = loop {
        tokio::select! {
            _ = tick.tick() => {
                peak = peak.max(rss_mib(b_pid));
                if pings {
                    n += 1;
                    let body = format!("ping {n}");
                    let sent = Instant::now();
                    alice.say(&format!("msg bob {body}")).await;
                    let (_, stored) = alice.wait("a ping stored", |v| v["event"] == "message" && v["message"]["body"] == body.as_str()).await;
                    let ping_id = stored["message"]["id"].as_str().unwrap().to_owned();
                    let (at, _) = alice.wait("a ping delivered", |v| {
                        v["event"] == "message-state" && v["id"] == ping_id.as_str() && v["state"] == "delivered"
                    }).await;
                    rtts.push(at - sent);
                }
                bob.drain();
                if let Some(i) = bob.seen.iter().position(|(_, v)| v["type"] == "complete" && v["id"] == id.as_str()) {
                    break bob.seen.remove(i).0;
                }
                if let Some((_, v)) = bob.seen.iter().find(|(_, v)| v["type"] == "failure") {
                    panic!("the transfer failed: {v}");
                }
            }
        }
    };
    let secs = (done - offered_at).as_secs_f64();
    let gib = size as f64 / GIB;
    let result = Transfer {
        mb_per_s: size as f64 / 1e6 / secs,
        sender_cpu_per_gib: (cpu_seconds(a_pid) - cpu_a) / gib,
        receiver_cpu_per_gib: (cpu_seconds(b_pid) - cpu_b) / gib,
        rss_growth_mib: peak - rss_before,
        prepare: offered_at - asked,
    };
    alice
        .wait("alice's complete", |v| {
            v["type"] == "complete" && v["id"] == id.as_str()
        })
        .await;
    (result, rtts)
}

/// Chat round trips with nothing else going on.
async fn idle_pings(alice: &mut Online, count: u32) -> Vec<Duration> {
    let mut rtts = Vec::new();
    for n in 0..count {
        let body = format!("idle {n}");
        let sent = Instant::now();
        alice.say(&format!("msg bob {body}")).await;
        let (_, stored) = alice
            .wait("stored", |v| {
                v["event"] == "message" && v["message"]["body"] == body.as_str()
            })
            .await;
        let id = stored["message"]["id"].as_str().unwrap().to_owned();
        let (at, _) = alice
            .wait("delivered", |v| {
                v["event"] == "message-state" && v["id"] == id.as_str() && v["state"] == "delivered"
            })
            .await;
        rtts.push(at - sent);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rtts
}

/// Kills the receiver once its `.part` file holds `kill_at` bytes and restarts it: time from the restart to the first
/// progress of the resumed run, and to the verified file.
async fn resume(
    alice: &mut Online,
    bob: Online,
    dirs: &Dirs,
    server: &str,
    path: &Path,
    kill_at: u64,
) -> (Duration, Duration, Online) {
    let mut bob = bob;
    alice.say(&format!("file bob {}", path.display())).await;
    let (_, offer) = alice.wait("the offer", |v| v["type"] == "offered").await;
    let id = offer["id"].as_str().unwrap().to_owned();
    // Watched on disk rather than through the progress lines, which come about once a second:
    // a whole smoke-run file can arrive within one.
    let part = dirs.bob.join("transfers").join(format!("{id}.part"));
    let watching = Instant::now();
    while std::fs::metadata(&part).map_or(0, |m| m.len()) < kill_at {
        assert!(
            watching.elapsed() < STEP,
            "{} never reached {kill_at} bytes",
            part.display()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bob.child.kill().await.unwrap();
    // Everything it printed before it died (its output ends there).
    while let Ok(Some(line)) = tokio::time::timeout(STEP, bob.lines.recv()).await {
        bob.seen.push(line);
    }
    assert!(
        !bob.seen
            .iter()
            .any(|(_, v)| v["type"] == "complete" && v["id"] == id.as_str()),
        "the file was complete before the receiver was killed: nothing to resume (use a larger file)"
    );
    let restarted = Instant::now();
    let mut bob = Online::start(&dirs.bob, server, &dirs.downloads).await;
    let (first, _) = bob
        .wait("the resumed run", |v| {
            v["type"] == "progress" && v["id"] == id.as_str() && !v["resumed_from"].is_null()
        })
        .await;
    let (done, _) = bob
        .wait("the file", |v| v["type"] == "complete" && v["id"] == id.as_str())
        .await;
    (first - restarted, done - restarted, bob)
}

struct Dirs {
    bob: PathBuf,
    downloads: PathBuf,
}

/// Chromium ↔ Chromium over an RTCDataChannel with the same file: its JSON line.
fn chromium(path: &Path, label: &str) -> Option<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/chromium/datachannel.mjs");
    let output = std::process::Command::new("node")
        .arg(&script)
        .arg("--file")
        .arg(path)
        .args(["--label", label])
        .stderr(Stdio::inherit())
        .output();
    match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok()),
        Ok(o) => {
            eprintln!("chromium anchor failed: {}", o.status);
            None
        }
        Err(e) => {
            eprintln!("chromium anchor not run: {e}");
            None
        }
    }
}

fn main() {
    if std::env::var("PARLEY_TEST_KEYUTILS").as_deref() != Ok("1") && !is_real_run() {
        eprintln!("files bench smoke run skipped: needs PARLEY_TEST_KEYUTILS=1 inside `keyctl session -`");
        return;
    }
    let real = is_real_run();
    let sizes: Vec<u64> = if real {
        std::env::var("SIZES_MIB")
            .unwrap_or_else(|_| "256,1024".into())
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    } else {
        // The resume step kills the receiver once a quarter is in its `.part` file (past the
        // first 16 MiB durable point): most of the file is still to come then.
        vec![96]
    };
    let with_chromium = real && std::env::var("CHROMIUM").as_deref() != Ok("0");
    runtime().block_on(async move {
        let tmp = tempfile::tempdir().unwrap();
        let mut server = Command::new(cli())
            .args(["serve", "--listen", "127.0.0.1:0", "--profile"])
            .arg(tmp.path().join("server"))
            .env("PARLEY_LOG", "error")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut out = BufReader::new(server.stdout.take().unwrap()).lines();
        let first = out.next_line().await.unwrap().unwrap();
        let url = first.strip_prefix("parley-signal listening on ").unwrap().to_owned();
        tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
        let (alice_dir, bob_dir) = (tmp.path().join("alice"), tmp.path().join("bob"));
        for (dir, name) in [(&alice_dir, "alice"), (&bob_dir, "bob")] {
            let status = command(dir, &url)
                .args(["register", name, &format!("{name}@example.org")])
                .stdout(Stdio::null())
                .status()
                .await
                .unwrap();
            assert!(status.success(), "registering {name}");
        }
        let dirs = Dirs {
            bob: bob_dir,
            downloads: tmp.path().join("downloads"),
        };
        std::fs::create_dir_all(&dirs.downloads).unwrap();
        let mut alice = Online::start(&alice_dir, &url, &tmp.path().join("alice-downloads")).await;
        let mut bob = Online::start(&dirs.bob, &url, &dirs.downloads).await;
        alice.wait("bob", |v| v["event"] == "peer-joined").await;

        println!("Parley file transfer, Parley → Parley (two parley-cli processes) and Chromium → Chromium, loopback");
        let idle = idle_pings(&mut alice, if real { 100 } else { 5 }).await;
        let mut sorted = idle.clone();
        sorted.sort();
        println!(
            "chat round trip, idle: p50 {} p99 {}",
            ms(percentile(&sorted, 0.5)),
            ms(percentile(&sorted, 0.99))
        );
        println!(
            "{:>9} | {:>12} {:>9} {:>9} {:>10} {:>9} | {:>13} {:>12} {:>10} | {:>6}",
            "size", "Parley MB/s", "send s/GiB", "recv s/GiB", "recv RSS+", "hash", "Chromium MB/s", "CPU s/GiB", "RSS MiB", "ratio"
        );
        let mut last_path = None;
        for &mib in &sizes {
            let path = tmp.path().join(format!("file-{mib}m.bin"));
            random_file(&path, mib * MIB);
            let pings = mib >= 1024 || !real;
            let (t, rtts) = transfer(&mut alice, &mut bob, &path, mib * MIB, pings).await;
            let anchor = with_chromium.then(|| chromium(&path, &format!("{mib} MiB"))).flatten();
            let (c_mbps, c_cpu, c_rss) = anchor.as_ref().map_or((f64::NAN, f64::NAN, f64::NAN), |a| {
                (
                    a["mb_per_s"].as_f64().unwrap_or(f64::NAN),
                    a["cpu_seconds_per_gib"].as_f64().unwrap_or(f64::NAN),
                    a["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
                )
            });
            println!(
                "{:>5} MiB | {:>12.1} {:>9.2} {:>9.2} {:>7.1} MiB {:>8.2}s | {:>13.1} {:>12.2} {:>10.0} | {:>5.1}×",
                mib,
                t.mb_per_s,
                t.sender_cpu_per_gib,
                t.receiver_cpu_per_gib,
                t.rss_growth_mib,
                t.prepare.as_secs_f64(),
                c_mbps,
                c_cpu,
                c_rss,
                t.mb_per_s / c_mbps
            );
            if !rtts.is_empty() {
                let mut sorted = rtts.clone();
                sorted.sort();
                println!(
                    "chat round trip during the {mib} MiB transfer: p50 {} p99 {} max {} ({} messages)",
                    ms(percentile(&sorted, 0.5)),
                    ms(percentile(&sorted, 0.99)),
                    ms(*sorted.last().unwrap()),
                    sorted.len()
                );
            }
            // Received copies go; the disk fills otherwise.
            for entry in std::fs::read_dir(&dirs.downloads).unwrap() {
                let _ = std::fs::remove_file(entry.unwrap().path());
            }
            if let Some(old) = last_path.replace(path) {
                let _ = std::fs::remove_file(old);
            }
        }
        let path = last_path.expect("at least one size");
        let size = std::fs::metadata(&path).unwrap().len();
        let kill_at = if real { size / 2 } else { size / 4 };
        let (first, done, bob) = resume(&mut alice, bob, &dirs, &url, &path, kill_at).await;
        println!(
            "resume after the receiver was killed {} through {} MiB: first byte {} after its restart, verified file {} after",
            if real { "half-way" } else { "a quarter of the way" },
            size / MIB,
            ms(first),
            ms(done)
        );
        drop(bob);
        drop(alice);
        let _ = server.kill().await;
    });
}
