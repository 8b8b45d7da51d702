//! A microphone for the call benchmark that goes through the webview's real capture path: a
//! private PulseAudio server whose default source (`module-pipe-source`) is fed tone bursts at
//! every whole wall-clock second, the same bursts the probe's synthetic microphone makes
//! (`ui/tests/bench/call-probe.js`), written in real time. The default sink is a null sink
//! (`speakers`), so what the apps play goes nowhere.
//!
//! How late the bursts themselves come out of the source (its buffering, and the recorder's) is
//! measured by recording it here too ([`PulseMic::self_onsets`]), like the probe's "self" figure.
//! What an app plays is heard the same way, at the monitor of a sink of its own
//! ([`PulseMic::add_sink`], [`PulseMic::listen`]): the whole way to the ear, the sound server's
//! buffering included.
//!
//! Needs `pulseaudio`, `parec`/`pactl` (pulseaudio-utils) and WebKit's GStreamer PulseAudio
//! plugin (gstreamer1.0-pulseaudio); nothing of it is used by the tests.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::webdriver::ProcessGroup;

const RATE: u32 = 48_000;
const TONE_HZ: f64 = 1000.0;
const BURST_MS: u64 = 100;
/// Written ahead of the wall clock, in ms: the player's buffer stays about this full.
const CHUNK_MS: u64 = 10;
const THRESHOLD: f32 = 0.08;
/// A room's hiss under the bursts (about −66 dBFS): a real microphone never gives exact zeros.
const HISS: f64 = 0.0005;

/// The server, the burst player and the self-check recorder; stopped when dropped.
pub struct PulseMic {
    _daemon: ProcessGroup,
    own: Listener,
    dir: tempfile::TempDir,
}

/// What a recording of a source (or a sink's monitor) heard: the bursts' onsets (wall ms) and
/// the loudest sample of each read, for the last few seconds.
#[derive(Default)]
struct Heard {
    onsets: Vec<f64>,
    peaks: VecDeque<(f64, f32)>,
}

/// Peaks kept, in wall ms.
const PEAKS_FOR_MS: f64 = 10_000.0;

/// A recording that notes what it hears; stops when dropped.
pub struct Listener {
    _recorder: ProcessGroup,
    heard: Arc<Mutex<Heard>>,
}

impl Listener {
    pub fn onset_count(&self) -> usize {
        self.heard.lock().unwrap().onsets.len()
    }

    /// Onsets of the bursts heard, from index `from` to `to` (of [`Listener::onset_count`]), in
    /// ms within their second.
    pub fn onsets(&self, from: usize, to: usize) -> Vec<f64> {
        let heard = self.heard.lock().unwrap();
        heard.onsets.iter().take(to).skip(from).map(|&w| in_second(w)).collect()
    }

    /// The loudest sample heard in the last `within`.
    pub fn peak(&self, within: Duration) -> f32 {
        let since = wall_ms() - within.as_secs_f64() * 1000.0;
        let heard = self.heard.lock().unwrap();
        heard
            .peaks
            .iter()
            .filter(|(at, _)| *at >= since)
            .map(|(_, p)| *p)
            .fold(0.0, f32::max)
    }
}

fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

/// Where in its second a wall-clock time is, in ms: −100 to 900 (as the probe counts).
pub fn in_second(wall: f64) -> f64 {
    let ms = wall - (wall / 1000.0).floor() * 1000.0;
    if ms > 900.0 {
        ms - 1000.0
    } else {
        ms
    }
}

impl PulseMic {
    /// What is missing to run it, if anything.
    pub fn missing() -> Option<String> {
        let missing: Vec<&str> = ["pulseaudio", "parec", "pactl"]
            .into_iter()
            .filter(|tool| !crate::app::in_path(tool))
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "{} (apt-get install pulseaudio pulseaudio-utils gstreamer1.0-pulseaudio)",
                missing.join(", ")
            )
        })
    }

    pub fn start() -> Result<PulseMic, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let socket = dir.path().join("native");
        let fifo = dir.path().join("mic.fifo");
        let mut daemon = Command::new("pulseaudio");
        daemon
            .args(["-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no"])
            .arg(format!(
                "--load=module-native-protocol-unix socket={} auth-anonymous=1",
                socket.display()
            ))
            .arg("--load=module-null-sink sink_name=speakers")
            // A plain source (GStreamer's device monitor, which WebKit asks for microphones,
            // lists no monitor sources) fed by what is written to a FIFO: no sink's buffering
            // on the way.
            .arg(format!(
                "--load=module-pipe-source source_name=virtmic file={} format=float32le rate={RATE} channels=1 \
                 source_properties=device.description=Benchmark-microphone",
                fifo.display()
            ))
            .env("PULSE_RUNTIME_PATH", dir.path())
            .env("PULSE_STATE_PATH", dir.path())
            .env("HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let daemon = ProcessGroup::spawn("pulseaudio", daemon).map_err(|e| e.to_string())?;
        let server = format!("unix:{}", socket.display());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let ready = Command::new("pactl")
                .args(["-s", &server, "info"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready && fifo.exists() {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err("PulseAudio did not start".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for step in [["set-default-source", "virtmic"], ["set-default-sink", "speakers"]] {
            let done = Command::new("pactl")
                .args(["-s", &server])
                .args(step)
                .stdout(Stdio::null())
                .status()
                .map_err(|e| e.to_string())?;
            if !done.success() {
                return Err(format!("pactl {} failed", step.join(" ")));
            }
        }
        Self::play(&fifo)?;
        let own = Self::recorder(&server, "virtmic")?;
        Ok(PulseMic {
            _daemon: daemon,
            own,
            dir,
        })
    }

    fn server(&self) -> String {
        format!("unix:{}", self.dir.path().join("native").display())
    }

    /// A sink of its own for an app (`PULSE_SINK`, [`PulseMic::sink_env`]), going nowhere.
    pub fn add_sink(&self, name: &str) -> Result<(), String> {
        self.pactl(&["load-module", "module-null-sink", &format!("sink_name={name}")])
            .map(|_| ())
    }

    /// What makes an app's sound go to `sink` rather than the default one (libpulse reads it).
    pub fn sink_env(sink: &str) -> (String, String) {
        ("PULSE_SINK".to_owned(), sink.to_owned())
    }

    /// Records what plays on `sink` (its monitor). Start it before an app plays there: an idle
    /// null sink takes up to 2 s (its longest block) to take a new stream, one being recorded
    /// (at 10 ms) at once.
    pub fn listen(&self, sink: &str) -> Result<Listener, String> {
        Self::recorder(&self.server(), &format!("{sink}.monitor"))
    }

    /// Runs `pactl` on this server; its output, or why it failed.
    pub fn pactl(&self, args: &[&str]) -> Result<String, String> {
        let server = self.server();
        let out = Command::new("pactl")
            .args(["-s", &server])
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "pactl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The environment an app needs to use this server (and its microphone).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("PULSE_SERVER".to_owned(), self.server())]
    }

    /// Onsets of the bursts as recorded from the microphone here, from index `from` to `to`
    /// (of [`PulseMic::onset_count`]), in ms within their second.
    pub fn self_onsets(&self, from: usize, to: usize) -> Vec<f64> {
        self.own.onsets(from, to)
    }

    pub fn onset_count(&self) -> usize {
        self.own.onset_count()
    }

    /// Writes the bursts into the microphone's FIFO: every CHUNK_MS, the next CHUNK_MS of
    /// samples, each computed from the wall-clock time it is meant for.
    fn play(fifo: &std::path::Path) -> Result<(), String> {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .open(fifo)
            .map_err(|e| format!("{}: {e}", fifo.display()))?;
        std::thread::spawn(move || {
            let per_chunk = (RATE as u64 * CHUNK_MS / 1000) as usize;
            // Sample n is meant for start + n / RATE (wall ms).
            let start = (wall_ms() / CHUNK_MS as f64).ceil() * CHUNK_MS as f64;
            let mut n: u64 = 0;
            let mut bytes = Vec::with_capacity(per_chunk * 4);
            let mut noise: u32 = 0x2545_f491;
            loop {
                // A chunk goes once its last sample's time has come: never ahead of the clock.
                let due = start + ((n + per_chunk as u64) as f64) * 1000.0 / RATE as f64;
                let wait = due - wall_ms();
                if wait > 0.0 {
                    std::thread::sleep(Duration::from_secs_f64(wait / 1000.0));
                }
                bytes.clear();
                for i in 0..per_chunk as u64 {
                    let at = start + ((n + i) as f64) * 1000.0 / RATE as f64;
                    let in_burst = at.rem_euclid(1000.0) < BURST_MS as f64;
                    // xorshift32: hiss without a dependency.
                    noise ^= noise << 13;
                    noise ^= noise >> 17;
                    noise ^= noise << 5;
                    let hiss = HISS * (f64::from(noise) / f64::from(u32::MAX) * 2.0 - 1.0);
                    let tone = if in_burst {
                        0.5 * (2.0 * std::f64::consts::PI * TONE_HZ * at / 1000.0).sin()
                    } else {
                        0.0
                    };
                    let v = (tone + hiss) as f32;
                    bytes.extend_from_slice(&v.to_le_bytes());
                }
                if out.write_all(&bytes).is_err() {
                    return;
                }
                n += per_chunk as u64;
            }
        });
        Ok(())
    }

    /// Records `device` (a source, or a sink's monitor) and notes each burst's onset (wall ms):
    /// the sample that crossed the threshold, dated back from when its read returned.
    fn recorder(server: &str, device: &str) -> Result<Listener, String> {
        let heard = Arc::new(Mutex::new(Heard::default()));
        let into = heard.clone();
        let mut command = Command::new("parec");
        command
            .args([
                "-s",
                server,
                "-d",
                device,
                "--raw",
                "--format=float32le",
                "--channels=1",
            ])
            .arg(format!("--rate={RATE}"))
            .arg(format!("--latency-msec={CHUNK_MS}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut group = ProcessGroup::spawn("parec", command).map_err(|e| e.to_string())?;
        let mut stdout = group.child().stdout.take().ok_or("parec has no stdout")?;
        std::thread::spawn(move || {
            let mut buffer = vec![0u8; 4096];
            let mut carry = Vec::new();
            let mut last_loud = f64::NEG_INFINITY;
            loop {
                let n = match stdout.read(&mut buffer) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let now = wall_ms();
                carry.extend_from_slice(&buffer[..n]);
                let whole = carry.len() / 4 * 4;
                let samples: Vec<f32> = carry[..whole]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                carry.drain(..whole);
                let count = samples.len();
                let mut heard = into.lock().unwrap();
                let peak = samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                heard.peaks.push_back((now, peak));
                while heard.peaks.front().is_some_and(|(at, _)| now - at > PEAKS_FOR_MS) {
                    heard.peaks.pop_front();
                }
                for (i, v) in samples.into_iter().enumerate() {
                    if v.abs() < THRESHOLD {
                        continue;
                    }
                    let at = now - (count - i) as f64 * 1000.0 / RATE as f64;
                    if at - last_loud > 400.0 {
                        heard.onsets.push(at);
                    }
                    last_loud = at;
                }
            }
        });
        Ok(Listener {
            _recorder: group,
            heard,
        })
    }
}
