//! Call latency and CPU (issue 13's benchmark): glass-to-glass video latency and mouth-to-ear
//! audio latency on loopback, and CPU per call on each side, for three pairs in one run:
//!
//! 1. Linux app ↔ Linux app: two real app windows (WebKitGTK under Xvfb, through
//!    `tauri-driver`, [`parley_tests::app`]), their media through the bridge to Rust
//!    (docs/call-media-bridge.md);
//! 2. Linux app ↔ Chromium: an app window and a Chromium page of Parley's UI using Chromium's
//!    WebRTC over a real core (`parley-bridge`, as in the browser tests' real cores);
//! 3. Chromium ↔ Chromium, both with WebRTC: the anchor.
//!
//! Every page gets the same probe (`ui/tests/bench/call-probe.js`): its `getUserMedia` answers
//! with a synthetic 640×480, 30 fps picture stamped with the wall clock in big binary cells,
//! and a tone burst at every whole second; the receiving page decodes each frame the remote
//! <video> presents (the bridged path's canvas: each frame drawn) and finds the bursts' onsets in
//! the sound it plays; with `CALL_BENCH_MIC=pulse` an app's sound is heard instead at the monitor
//! of a sink of its own on the private sound server (`PulseMic::listen`), where the app plays it. The Chromium side runs
//! in `ui/tests/bench/calls.mjs` (one browser per side), which this starts and talks to in lines;
//! every side shares one signaling server (`parley-signal`, started there).
//!
//! CPU per call: CPU seconds per second of a side's processes while measuring — for the app,
//! `parley` and its WebKit processes; for Chromium, its browser's processes and its
//! `parley-bridge` (that side's core). Xvfb's own share (drawing the windows) is shown apart.
//!
//! Needs what `scripts/e2e.sh` needs (the app built with the UI embedded: `cd ui && npm run
//! build`, then `cargo build --workspace --features tauri/custom-protocol --bin parley`; or
//! `PARLEY_APP=target/release/parley`), and Chromium with `npm ci` in `ui/`:
//! `cargo bench -p parley-tests --bench calls`. `CALL_BENCH_SECONDS` (60) is each pair's
//! measuring time, `CALL_BENCH_WARMUP` (5) the seconds after the call is up before it.
//! Without `--bench` (a test run) it does nothing.

// A benchmark prints its figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::time::Duration;

use parley_signal::test_utils::bench::{env_usize, is_real_run, runtime};
use parley_tests::app::{missing_pieces, AppInstance, Desktop, Step};
use parley_tests::pulse_mic::{Listener, PulseMic};
use parley_tests::webdriver::{descendant_pids, free_port, process_name, ProcessGroup};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const PASSWORD: &str = "correct horse battery staple";
const ROOM: &str = "bench";

/// What one page measured of the other side's media (the probe's `stop()`).
#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct Received {
    seconds: f64,
    video: VideoStats,
    audio: AudioStats,
    /// Filled in for Chromium's sides by calls.mjs; for the app's here.
    #[serde(default)]
    cpu_seconds: f64,
    #[serde(default)]
    sent: Sent,
}

/// What a page measured of its own media.
#[derive(Deserialize, Default, Clone)]
struct Sent {
    /// Its own microphone's bursts where the bridged path's audio context gets them.
    #[serde(default)]
    capture: Option<Capture>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct Capture {
    samples: Vec<f64>,
    base_latency: Option<f64>,
    output_latency: Option<f64>,
}

#[derive(Deserialize, Default, Clone)]
struct VideoStats {
    samples: Vec<f64>,
    /// Frames looked at; those whose cells did not read (blur, a frame torn); stamps outside
    /// 0–5 s (none is expected: a decoding error).
    looks: u64,
    /// Frames the <video> presented (every third is read).
    presented: u64,
    unreadable: u64,
    rejected: u64,
}

#[derive(Deserialize, Default, Clone)]
struct AudioStats {
    samples: Vec<f64>,
    tap: String,
}

/// A pair's figures: side A's and side B's pages (each receiving the other's media).
struct Pair {
    name: &'static str,
    a: Received,
    b: Received,
}

fn quantile(samples: &[f64], p: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Some(sorted[i])
}

/// p50 / p95 in ms, and the count.
fn p50_p95(samples: &[f64]) -> String {
    match (quantile(samples, 0.5), quantile(samples, 0.95)) {
        (Some(a), Some(b)) => format!("{a:.0} / {b:.0} ms ({})", samples.len()),
        _ => "none".to_owned(),
    }
}

// --- CPU time of process trees -------------------------------------------------------------

/// utime + stime of `pid` in clock ticks (USER_HZ: 100 on Linux).
fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Each process of a tree: its id, name and CPU ticks.
type CpuSnapshot = Vec<(u32, String, u64)>;

fn snapshot(roots: &[u32]) -> CpuSnapshot {
    roots
        .iter()
        .flat_map(|&root| std::iter::once(root).chain(descendant_pids(root)))
        .filter_map(|pid| Some((pid, process_name(pid).unwrap_or_default(), ticks(pid)?)))
        .collect()
}

/// CPU seconds between two snapshots by process name (a process started in between counts whole).
fn cpu_by_name(before: &CpuSnapshot, after: &CpuSnapshot) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for (pid, name, t) in after {
        let was = before.iter().find(|(p, _, _)| p == pid).map_or(0, |(_, _, t)| *t);
        let seconds = t.saturating_sub(was) as f64 / 100.0;
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, sum)) => *sum += seconds,
            None => out.push((name.clone(), seconds)),
        }
    }
    out
}

fn cpu_seconds(before: &CpuSnapshot, after: &CpuSnapshot) -> f64 {
    cpu_by_name(before, after).iter().map(|(_, s)| s).sum()
}

/// "parley 0.12, WebKitWebProcess 0.60, …" in CPU s per s.
fn breakdown(before: &CpuSnapshot, after: &CpuSnapshot, seconds: f64) -> String {
    cpu_by_name(before, after)
        .iter()
        .map(|(name, s)| format!("{name} {:.2}", s / seconds))
        .collect::<Vec<_>>()
        .join(", ")
}

// --- the Chromium side (calls.mjs) ---------------------------------------------------------

struct Chromium {
    // Its group (node, the browsers, parley-signal and the bridges) ends with it.
    _process: ProcessGroup,
    stdin: ChildStdin,
    lines: UnboundedReceiver<String>,
}

impl Chromium {
    fn start(ui: &Path, seconds: usize, warmup: usize) -> Chromium {
        let mut command = Command::new("node");
        command
            .arg("tests/bench/calls.mjs")
            .current_dir(ui)
            .env("CALL_BENCH_SECONDS", seconds.to_string())
            .env("CALL_BENCH_WARMUP", warmup.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut process = ProcessGroup::spawn("node calls.mjs", command).unwrap_or_else(|e| panic!("{e}"));
        let stdin = process.child().stdin.take().expect("piped stdin");
        let stdout = process.child().stdout.take().expect("piped stdout");
        let (tx, lines) = unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Chromium {
            _process: process,
            stdin,
            lines,
        }
    }

    /// The rest of the next line starting with `word`; other lines (cargo's, say) are passed on.
    async fn next(&mut self, word: &str) -> String {
        loop {
            let line = self
                .lines
                .recv()
                .await
                .unwrap_or_else(|| panic!("calls.mjs ended before saying {word}"));
            match line.strip_prefix(word) {
                Some(rest) => return rest.trim().to_owned(),
                None => eprintln!("{line}"),
            }
        }
    }

    fn say(&mut self, line: &str) {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .expect("writing to calls.mjs");
    }
}

// --- the app windows -----------------------------------------------------------------------

fn contact(username: &str) -> String {
    format!("#contacts [data-username=\"{username}\"]")
}

/// `name` signs up on `server` ("Another server") and joins the benchmark's room.
async fn sign_up(app: &AppInstance, name: &str, server: &str) {
    let s = app.session();
    s.wait_displayed("#auth").await.on(app, "the sign-in screen");
    s.click("#tab-signup").await.on(app, "the create-account tab");
    s.click("#server-url").await.on(app, "\"Another server\"");
    s.type_into("#server-url-input", server).await.on(app, "the server");
    s.type_into("#signup-username", name).await.on(app, "username");
    s.type_into("#signup-email", &format!("{name}@example.org"))
        .await
        .on(app, "email");
    s.type_into("#signup-password", PASSWORD).await.on(app, "password");
    s.type_into("#signup-display-name", name).await.on(app, "display name");
    s.click("#signup-submit").await.on(app, "creating the account");
    s.wait_for_element(&format!("#me[data-username=\"{name}\"]"))
        .await
        .on(app, "signed in");
    s.wait_for_attribute("#main", "data-connection", "online")
        .await
        .on(app, "online");
    s.type_into("#room-name", ROOM).await.on(app, "the room name");
    s.click("#room-join").await.on(app, "joining");
    s.wait_for_element(&format!("#rooms [data-room=\"{ROOM}\"]"))
        .await
        .on(app, "in the room");
}

/// The probe in `app`'s page (before its first call: it replaces `getUserMedia`).
async fn install_probe(app: &AppInstance, probe: &str) {
    app.session()
        .execute(probe, vec![])
        .await
        .on(app, "installing the probe");
}

/// `caller` video-calls `callee` (a username); the call is up on the caller's side.
async fn call(caller: &AppInstance, callee: &str) {
    let s = caller.session();
    s.wait_for_attribute(&contact(callee), "data-online", "true")
        .await
        .on(caller, "the other side online");
    s.click(&format!("{} button", contact(callee)))
        .await
        .on(caller, "the conversation");
    s.click("#call-video").await.on(caller, "placing the call");
}

async fn answer(app: &AppInstance) {
    let s = app.session();
    s.wait_displayed("#incoming-call").await.on(app, "the call ringing");
    s.click("#incoming-call-answer").await.on(app, "answering");
}

async fn wait_active(app: &AppInstance) {
    app.session()
        .wait_for_element("#call-stage[data-phase=\"active\"]")
        .await
        .on(app, "the call active");
}

async fn hang_up(app: &AppInstance) {
    let s = app.session();
    s.click("#call-hang-up").await.on(app, "hanging up");
    s.wait_displayed("#call-outcome").await.on(app, "the call's outcome");
    s.click("#call-outcome-close").await.on(app, "closing the outcome");
}

/// The app's processes: `parley` and what it started (WebKit's web and network processes).
fn app_roots(app: &AppInstance) -> Vec<u32> {
    app.app_pids()
}

async fn probe_start(app: &AppInstance) -> Value {
    app.session()
        .execute("return window.__latency.start()", vec![])
        .await
        .on(app, "starting to measure")
}

async fn probe_stop(app: &AppInstance) -> Received {
    let value = app
        .session()
        .execute("return window.__latency.stop()", vec![])
        .await
        .on(app, "reading the measurements");
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{}: the probe's figures: {e}", app.name))
}

fn parse_sides(json: &str) -> Vec<Received> {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("calls.mjs's figures: {e}: {json}"))
}

// --- the table -----------------------------------------------------------------------------

fn print_table(pairs: &[Pair], xvfb_cpu: f64, app: &Path, seconds: usize) {
    let anchor = &pairs[2];
    let worst_p95 = |p: &Pair| {
        [&p.a.video.samples, &p.b.video.samples]
            .into_iter()
            .filter_map(|s| quantile(s, 0.95))
            .fold(f64::NAN, f64::max)
    };
    let anchor_p95 = worst_p95(anchor);
    let chromium_cpu = (anchor.a.cpu_seconds / anchor.a.seconds + anchor.b.cpu_seconds / anchor.b.seconds) / 2.0;
    let cols: Vec<String> = pairs.iter().map(|p| p.name.to_owned()).collect();
    println!();
    println!(
        "Calls: {seconds} s per pair, 640×480 at 30 fps, loopback; app: {}",
        app.display()
    );
    println!();
    println!("| | {} | goal |", cols.join(" | "));
    println!("|---|{}---|", "---|".repeat(pairs.len()));
    let row = |label: &str, f: &dyn Fn(&Pair) -> String, goal: &str| {
        let cells: Vec<String> = pairs.iter().map(f).collect();
        println!("| {label} | {} | {goal} |", cells.join(" | "));
    };
    // Side A's page receives B's media: "B → A".
    row(
        "video p50 / p95, A → B",
        &|p| p50_p95(&p.b.video.samples),
        "p95 < 150 ms, ≤ anchor + 50 ms",
    );
    row("video p50 / p95, B → A", &|p| p50_p95(&p.a.video.samples), "");
    row("audio p50 / p95, A → B", &|p| p50_p95(&p.b.audio.samples), "< 150 ms");
    row("audio p50 / p95, B → A", &|p| p50_p95(&p.a.audio.samples), "");
    row(
        "audio: own microphone in the call's audio context, A / B",
        &|p| {
            let side = |r: &Received| match &r.sent.capture {
                Some(c) if !c.samples.is_empty() => format!(
                    "{} (context latency {:.0} + {:.0} ms)",
                    p50_p95(&c.samples),
                    c.base_latency.unwrap_or(f64::NAN) * 1000.0,
                    c.output_latency.unwrap_or(f64::NAN) * 1000.0
                ),
                _ => "–".to_owned(),
            };
            format!("{} / {}", side(&p.a), side(&p.b))
        },
        "",
    );
    row(
        "frames presented per s, A → B / B → A",
        &|p| {
            format!(
                "{:.1} / {:.1}",
                p.b.video.presented as f64 / p.b.seconds,
                p.a.video.presented as f64 / p.a.seconds
            )
        },
        "30",
    );
    row(
        "frames unreadable / rejected",
        &|p| {
            format!(
                "{} / {} of {}",
                p.a.video.unreadable + p.b.video.unreadable,
                p.a.video.rejected + p.b.video.rejected,
                p.a.video.looks + p.b.video.looks
            )
        },
        "",
    );
    row(
        "CPU per call, side A / side B (CPU s per s)",
        &|p| {
            format!(
                "{:.2} / {:.2}",
                p.a.cpu_seconds / p.a.seconds,
                p.b.cpu_seconds / p.b.seconds
            )
        },
        "≤ 1.5× Chromium's",
    );
    println!();
    println!("A / B: Linux app / Linux app; Linux app / Chromium; Chromium / Chromium. p95 over both directions:");
    for p in pairs {
        let p95 = worst_p95(p);
        let audio = [&p.a.audio.samples, &p.b.audio.samples]
            .into_iter()
            .filter_map(|s| quantile(s, 0.95))
            .fold(f64::NAN, f64::max);
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "- {}: video p95 {p95:.0} ms ({} < 150 ms; {} ≤ anchor {anchor_p95:.0} + 50 ms); audio p95 {audio:.0} ms ({}); \
             CPU A {:.2}×, B {:.2}× Chromium's {chromium_cpu:.2} ({})",
            p.name,
            verdict(p95 < 150.0),
            verdict(p95 <= anchor_p95 + 50.0),
            verdict(audio < 150.0),
            p.a.cpu_seconds / p.a.seconds / chromium_cpu,
            p.b.cpu_seconds / p.b.seconds / chromium_cpu,
            verdict(p.a.cpu_seconds / p.a.seconds <= 1.5 * chromium_cpu && p.b.cpu_seconds / p.b.seconds <= 1.5 * chromium_cpu),
        );
    }
    println!(
        "Xvfb (drawing both app windows) during Linux app ↔ Linux app: {xvfb_cpu:.2} CPU s per s, counted on neither side."
    );
    println!(
        "Audio taps: {}",
        pairs
            .iter()
            .map(|p| format!("{}: A {}, B {}", p.name, p.a.audio.tap, p.b.audio.tap))
            .collect::<Vec<_>>()
            .join("; ")
    );
}

// --- the run -------------------------------------------------------------------------------

async fn run() {
    let seconds = env_usize("CALL_BENCH_SECONDS", 60);
    let warmup = Duration::from_secs(env_usize("CALL_BENCH_WARMUP", 5) as u64);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let ui = repo.join("ui");
    let probe = std::fs::read_to_string(ui.join("tests/bench/call-probe.js")).expect("reading the probe");

    // Chromium ↔ Chromium first, alone on the machine; the app windows start after it.
    let mut chromium = Chromium::start(&ui, seconds, warmup.as_secs() as usize);
    let server = chromium.next("SERVER").await;
    eprintln!("calls: signaling server {server}; Chromium ↔ Chromium measuring");
    let anchor = parse_sides(&chromium.next("RESULT3").await);

    // The apps' microphone: the probe's synthetic one, or (CALL_BENCH_MIC=pulse) a PulseAudio
    // source, which the app captures itself; then each app also plays to a sink of its own,
    // whose monitor is where its side's sound is heard (the whole way, the sound server's
    // buffering included), whether the app or the page plays it.
    let mic = (std::env::var("CALL_BENCH_MIC").as_deref() == Ok("pulse")).then(|| {
        if let Some(missing) = PulseMic::missing() {
            panic!("CALL_BENCH_MIC=pulse needs {missing}");
        }
        let mic = PulseMic::start().unwrap_or_else(|e| panic!("the PulseAudio microphone: {e}"));
        for name in ["linux-a", "linux-b"] {
            mic.add_sink(&sink_of(name))
                .unwrap_or_else(|e| panic!("a sink for {name}: {e}"));
        }
        mic
    });
    let listen = |name: &str| {
        mic.as_ref().map(|mic| {
            mic.listen(&sink_of(name))
                .unwrap_or_else(|e| panic!("recording {name}'s sink: {e}"))
        })
    };
    let (hears_a, hears_b) = (listen("linux-a"), listen("linux-b"));
    let app_probe = match mic {
        Some(_) => format!("window.__latencyRealMicrophone = true;\n{probe}"),
        None => probe.clone(),
    };
    let desktop = Desktop::start();
    let env = |name: &str| {
        let mut env = desktop.app_env(name, free_port(), "memory");
        match &mic {
            Some(mic) => {
                env.extend(mic.env());
                env.push(PulseMic::sink_env(&sink_of(name)));
            }
            None => env.push(("PARLEY_MOCK_MEDIA".to_owned(), "1".to_owned())),
        }
        env.push(("PARLEY_ANNOUNCE".to_owned(), "0".to_owned()));
        env
    };
    let a = AppInstance::launch(&desktop, "linux-a", &env("linux-a")).await;
    let mut b = AppInstance::launch(&desktop, "linux-b", &env("linux-b")).await;
    sign_up(&a, "linux-a", &server).await;
    sign_up(&b, "linux-b", &server).await;
    install_probe(&a, &app_probe).await;
    install_probe(&b, &app_probe).await;
    let mic_count = || mic.as_ref().map_or(0, PulseMic::onset_count);

    // Linux app ↔ Linux app.
    call(&a, "linux-b").await;
    answer(&b).await;
    wait_active(&a).await;
    wait_active(&b).await;
    eprintln!("calls: Linux app ↔ Linux app up, warming up");
    tokio::time::sleep(warmup).await;
    let (roots_a, roots_b) = (app_roots(&a), app_roots(&b));
    let xvfb = [desktop.xvfb.pid()];
    let cpu = (snapshot(&roots_a), snapshot(&roots_b), snapshot(&xvfb));
    let mic_linux = mic_count();
    eprintln!(
        "calls: audio taps: linux-a {}, linux-b {}",
        probe_start(&a).await,
        probe_start(&b).await
    );
    let heard = (heard_count(&hears_a), heard_count(&hears_b));
    tokio::time::sleep(Duration::from_secs(seconds as u64)).await;
    let mut linux_a = probe_stop(&a).await;
    let mut linux_b = probe_stop(&b).await;
    let mic_linux = (mic_linux, mic_count());
    heard_at_sink(&mut linux_a, &hears_a, heard.0);
    heard_at_sink(&mut linux_b, &hears_b, heard.1);
    let after = (snapshot(&roots_a), snapshot(&roots_b));
    linux_a.cpu_seconds = cpu_seconds(&cpu.0, &after.0);
    linux_b.cpu_seconds = cpu_seconds(&cpu.1, &after.1);
    eprintln!(
        "calls: Linux app ↔ Linux app, CPU s per s: linux-a {}; linux-b {}",
        breakdown(&cpu.0, &after.0, linux_a.seconds),
        breakdown(&cpu.1, &after.1, linux_b.seconds)
    );
    let xvfb_cpu = cpu_seconds(&cpu.2, &snapshot(&xvfb)) / linux_a.seconds;
    hang_up(&a).await;
    b.session()
        .wait_displayed("#call-outcome")
        .await
        .on(&b, "the call over");
    // The second window would only idle beside the next pair.
    b.close().await;

    // Linux app ↔ Chromium: the app calls the Chromium page, which answers.
    chromium.say("PAIR2");
    let callee = chromium.next("READY2").await;
    call(&a, &callee).await;
    wait_active(&a).await;
    eprintln!("calls: Linux app ↔ Chromium up, warming up");
    tokio::time::sleep(warmup).await;
    chromium.say("START");
    chromium.next("STARTED").await;
    let before = snapshot(&roots_a);
    let mic_chromium = mic_count();
    probe_start(&a).await;
    let heard = heard_count(&hears_a);
    tokio::time::sleep(Duration::from_secs(seconds as u64)).await;
    chromium.say("STOP");
    let mut app_side = probe_stop(&a).await;
    heard_at_sink(&mut app_side, &hears_a, heard);
    let mic_chromium = (mic_chromium, mic_count());
    let after = snapshot(&roots_a);
    app_side.cpu_seconds = cpu_seconds(&before, &after);
    eprintln!(
        "calls: Linux app ↔ Chromium, CPU s per s: linux-a {}",
        breakdown(&before, &after, app_side.seconds)
    );
    let chromium_side = parse_sides(&chromium.next("RESULT2").await)
        .into_iter()
        .next()
        .expect("the Chromium side's figures");
    hang_up(&a).await;
    chromium.say("END");

    let pairs = [
        Pair {
            name: "Linux app ↔ Linux app",
            a: linux_a,
            b: linux_b,
        },
        Pair {
            name: "Linux app ↔ Chromium",
            a: app_side,
            b: chromium_side,
        },
        Pair {
            name: "Chromium ↔ Chromium",
            a: anchor.first().cloned().unwrap_or_default(),
            b: anchor.get(1).cloned().unwrap_or_default(),
        },
    ];
    print_table(&pairs, xvfb_cpu, &desktop.app, seconds);
    match &mic {
        Some(mic) => println!(
            "Apps' microphone: a PulseAudio source, which the app captures (tests/src/pulse_mic.rs); recorded \
             from that source here, the bursts came out of it at {} during Linux app ↔ Linux app and {} during \
             Linux app ↔ Chromium (p50 / p95; included in the apps' audio rows). The apps' sound is heard at \
             the monitor of a sink of each app's own.",
            p50_p95(&mic.self_onsets(mic_linux.0, mic_linux.1)),
            p50_p95(&mic.self_onsets(mic_chromium.0, mic_chromium.1))
        ),
        None => println!("Apps' microphone: the probe's synthetic one (CALL_BENCH_MIC=pulse for a PulseAudio source)."),
    }
}

/// The sink an app plays to with CALL_BENCH_MIC=pulse.
fn sink_of(app: &str) -> String {
    format!("speakers-{app}")
}

fn heard_count(listener: &Option<Listener>) -> usize {
    listener.as_ref().map_or(0, Listener::onset_count)
}

/// With the sound server's sinks recorded, an app side's sound is what its sink played from
/// onset `from` on, not what the page's probe heard (nothing, where the app plays it).
fn heard_at_sink(side: &mut Received, listener: &Option<Listener>, from: usize) {
    if let Some(listener) = listener {
        side.audio.samples = listener.onsets(from, listener.onset_count());
        side.audio.tap = "the app's sink on the sound server".to_owned();
    }
}

fn main() {
    if !is_real_run() {
        eprintln!("calls: a benchmark; run it with `cargo bench -p parley-tests --bench calls`");
        return;
    }
    if let Some(missing) = missing_pieces() {
        panic!("the call benchmark cannot run here; missing: {missing}");
    }
    runtime().block_on(run());
}
